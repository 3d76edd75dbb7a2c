//! `Sse::from_broadcast` end to end: a real axum server on 127.0.0.1 serving a [`Hub`] at `/events`.
//! This file keeps only the axum glue; the clients and the checks are `conformance::e2e`'s,
//! shared with every adapter.

#[allow(dead_code)]
mod common;

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use common::Server;
use conformance::e2e;
use ssekit_axum::{Hub, LastEventId, Shutdown, Sse};

/// `hub` at `/events` with the one-call wiring.
fn routes(hub: &Hub) -> Router<Shutdown> {
    let hub = hub.clone();
    Router::new().route(
        "/events",
        get(
            |last_event_id: LastEventId, State(shutdown): State<Shutdown>| async move {
                Sse::from_broadcast(&hub, &last_event_id).shutdown_on(shutdown.signal())
            },
        ),
    )
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
