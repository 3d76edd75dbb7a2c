//! `Sse::from_hub` end to end: a real axum server on 127.0.0.1 serving a [`Hub`] at `/events`.
//! This file keeps only the axum glue; the clients and the checks are `conformance::e2e`'s,
//! shared with every adapter.

use std::net::SocketAddr;

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use conformance::e2e::{self, within_hub};
use sse_axum::{Hub, LastEventId, Shutdown, Sse};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// A server on 127.0.0.1, port 0, serving `hub` at `/events` with the one-call wiring.
struct Server {
    addr: SocketAddr,
    shutdown: Shutdown,
    task: JoinHandle<std::io::Result<()>>,
}

async fn events(
    last_event_id: LastEventId,
    State((hub, shutdown)): State<(Hub, Shutdown)>,
) -> Sse<sse_core::hub::SubscriptionResults> {
    Sse::from_hub(&hub, &last_event_id).shutdown_on(shutdown.signal())
}

impl Server {
    async fn start(hub: Hub) -> Server {
        let shutdown = Shutdown::new();
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local address");
        let app = Router::new()
            .route("/events", get(events))
            .with_state((hub, shutdown.clone()));
        let signal = shutdown.signal();
        let task = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(signal)
                .await
        });
        Server {
            addr,
            shutdown,
            task,
        }
    }

    async fn stop(self) {
        self.shutdown.trigger();
        within_hub(self.task)
            .await
            .expect("server task")
            .expect("server");
    }
}

#[tokio::test]
async fn replay_after_the_header_or_the_query_parameter_then_live() {
    let hub = Hub::new();
    let server = Server::start(hub.clone()).await;
    e2e::check_hub_replay(server.addr, &hub).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_reads_does_not_delay_the_others() {
    let hub = e2e::stuck_client_hub();
    let server = Server::start(hub.clone()).await;
    e2e::check_hub_stuck_client(server.addr, &hub).await;
    server.stop().await;
}
