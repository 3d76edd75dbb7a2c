//! `Sse::from_hub` end to end: a real actix-web server on 127.0.0.1 serving a [`Hub`] at
//! `/events`. This file keeps only the actix glue; the clients and the checks are
//! `conformance::e2e`'s, shared with every adapter.

use std::net::SocketAddr;
use std::time::Duration;

use actix_web::dev::ServerHandle;
use actix_web::{App, HttpServer, Responder, web};
use conformance::e2e::{self, HUB_LIMIT, within_hub};
use sse_actix::{Hub, KeepAlive, LastEventId, Shutdown, Sse};

/// A server on 127.0.0.1, port 0 (one worker), serving `hub` at `/events` with the one-call
/// wiring.
struct Server {
    addr: SocketAddr,
    shutdown: Shutdown,
    handle: ServerHandle,
    task: actix_web::rt::task::JoinHandle<std::io::Result<()>>,
}

async fn events(
    last_event_id: LastEventId,
    hub: web::Data<Hub>,
    shutdown: web::Data<Shutdown>,
) -> impl Responder {
    // actix notices a client that went away when it next writes to it: keep-alive comments
    // every 100 ms make that prompt in these tests (the default is every 15 s).
    Sse::from_hub(&hub, &last_event_id)
        .keep_alive(KeepAlive::new().interval(Duration::from_millis(100)))
        .shutdown_on(shutdown.signal())
}

impl Server {
    async fn start(hub: Hub) -> Server {
        let shutdown = Shutdown::new();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("local address");
        let (hub_data, shutdown_data) = (web::Data::new(hub), web::Data::new(shutdown.clone()));
        let server = HttpServer::new(move || {
            App::new()
                .app_data(hub_data.clone())
                .app_data(shutdown_data.clone())
                .route("/events", web::get().to(events))
        })
        .workers(1)
        .keep_alive(Duration::from_millis(500))
        .disable_signals()
        .shutdown_timeout(HUB_LIMIT.as_secs())
        .listen(listener)
        .expect("listen")
        .run();
        let handle = server.handle();
        let task = actix_web::rt::spawn(server);
        Server {
            addr,
            shutdown,
            handle,
            task,
        }
    }

    async fn stop(self) {
        self.shutdown.trigger();
        within_hub(self.handle.stop(true)).await;
        within_hub(self.task)
            .await
            .expect("server task")
            .expect("server");
    }
}

#[actix_web::test]
async fn replay_after_the_header_or_the_query_parameter_then_live() {
    let hub = Hub::new();
    let server = Server::start(hub.clone()).await;
    e2e::check_hub_replay(server.addr, &hub).await;
    server.stop().await;
}

#[actix_web::test]
async fn a_client_that_never_reads_does_not_delay_the_others() {
    let hub = e2e::stuck_client_hub();
    let server = Server::start(hub.clone()).await;
    e2e::check_hub_stuck_client(server.addr, &hub).await;
    server.stop().await;
}
