//! `Sse::from_hub` end to end: a real warp server on 127.0.0.1 serving a [`Hub`] at `/events`.
//! This file keeps only the warp glue; the clients and the checks are `conformance::e2e`'s,
//! shared with every adapter.

use std::net::SocketAddr;

use conformance::e2e::{self, within_hub};
use sse_warp::{Hub, LastEventId, Shutdown, Sse};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use warp::Filter;

/// A server on 127.0.0.1, port 0, serving `hub` at `/events` with the one-call wiring.
struct Server {
    addr: SocketAddr,
    shutdown: Shutdown,
    task: JoinHandle<()>,
}

impl Server {
    async fn start(hub: Hub) -> Server {
        let shutdown = Shutdown::new();
        let events = warp::path("events")
            .and(warp::get())
            .and(sse_warp::last_event_id())
            .map({
                let shutdown = shutdown.clone();
                move |last_event_id: LastEventId| {
                    Sse::from_hub(&hub, &last_event_id).shutdown_on(shutdown.signal())
                }
            });
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local address");
        let server = warp::serve(events)
            .incoming(listener)
            .graceful(shutdown.signal());
        let task = tokio::spawn(server.run());
        Server {
            addr,
            shutdown,
            task,
        }
    }

    async fn stop(self) {
        self.shutdown.trigger();
        within_hub(self.task).await.expect("server task");
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
