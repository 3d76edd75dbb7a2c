//! The topic broker over axum: `Broker::admit_query` in a handler (`BrokerRequest`), a refusal
//! answered by `Rejected` with its status (and `Retry-After`) before any stream starts,
//! `Sse::from_broadcast` of the ticket.
//! The checks are `conformance::broker`'s, shared with every adapter.

#[allow(dead_code)]
mod common;

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use common::Server;
use conformance::broker;
use ssekit_axum::broker::{Broker, BrokerSubscription};
use ssekit_axum::{BrokerRequest, LastEventId, Rejected, Shutdown, Sse};

fn routes(broker: &Broker) -> Router<Shutdown> {
    let broker = broker.clone();
    Router::new().route(
        "/broker",
        get(
            |BrokerRequest(request): BrokerRequest,
             last: LastEventId,
             State(shutdown): State<Shutdown>| async move {
                let ticket = broker.admit_query(&request)?;
                Ok::<Sse<BrokerSubscription>, Rejected>(
                    Sse::from_broadcast(&ticket, &last).shutdown_on(shutdown.signal()),
                )
            },
        ),
    )
}

#[tokio::test]
async fn authorization_limits_and_one_id_resume_over_http() {
    let broker = broker::broker();
    let server = Server::start(routes(&broker)).await;
    broker::check_broker(server.addr, &broker).await;
    server.stop().await;
}
