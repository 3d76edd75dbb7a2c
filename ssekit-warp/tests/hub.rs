//! `Sse::from_broadcast` end to end: a real warp server on 127.0.0.1 serving a [`Hub`] at `/events`.
//! This file keeps only the warp glue; the clients and the checks are `conformance::e2e`'s,
//! shared with every adapter.

#[allow(dead_code)]
mod common;

use common::Server;
use conformance::e2e;
use ssekit::hub::HubSubscription;
use ssekit_warp::{Hub, LastEventId, Shutdown, Sse};
use warp::Filter;
use warp::filters::BoxedFilter;

/// `hub` at `/events` with the one-call wiring.
fn routes(hub: &Hub) -> impl FnOnce(Shutdown) -> BoxedFilter<(Sse<HubSubscription>,)> {
    let hub = hub.clone();
    move |shutdown| {
        warp::path("events")
            .and(warp::get())
            .and(ssekit_warp::last_event_id())
            .map(move |last_event_id: LastEventId| {
                Sse::from_broadcast(&hub, &last_event_id).shutdown_on(shutdown.signal())
            })
            .boxed()
    }
}

#[tokio::test]
async fn replay_after_the_header_or_the_query_parameter_then_live() {
    let hub = Hub::new();
    let server = Server::start(routes(&hub)).await;
    e2e::check_hub_replay(server.addr, &hub).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_reads_does_not_delay_the_others() {
    let hub = e2e::stuck_client_hub();
    let server = Server::start(routes(&hub)).await;
    e2e::check_hub_stuck_client(server.addr, &hub).await;
    server.stop().await;
}

/// Issue 17: bursts published in a tight loop to 1000 reading clients.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bursts_reach_every_reading_client_and_losses_are_signalled() {
    let hub = Hub::new();
    let server = Server::start(routes(&hub)).await;
    e2e::check_hub_burst(server.addr, &hub).await;
    server.stop().await;
}
