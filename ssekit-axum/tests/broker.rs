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

/// `Rejected` and `PublishRejected` answer with the status and reason `ssekit` decides
/// (`Rejection::status`, `PublishError::status`), and are errors of their own.
#[tokio::test]
async fn refusals_answer_with_the_status_ssekit_decides() {
    use std::time::Duration;

    use axum::response::IntoResponse;
    use ssekit_axum::broker::{Limit, PublishError, Rejection};
    use ssekit_axum::{Event, PublishRejected};

    let error = Broker::new()
        .publish(["a*"], Event::message("x"))
        .unwrap_err();
    let response = PublishRejected::from(error.clone()).into_response();
    assert_eq!(response.status(), 400);
    let body = axum::body::to_bytes(response.into_body(), 1024)
        .await
        .unwrap();
    assert_eq!(body, error.to_string());
    let response = PublishRejected(PublishError::TooManyTopics).into_response();
    assert_eq!(response.status(), 503);
    assert!(response.headers().get("retry-after").is_none());

    let rejection = Rejection::Unavailable {
        limit: Limit::Topics,
        retry_after: Duration::from_secs(3),
    };
    let rejected = Rejected(rejection.clone());
    let as_error: &dyn std::error::Error = &rejected;
    assert_eq!(as_error.to_string(), rejection.to_string());
    let response = rejected.into_response();
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()["retry-after"], "3");
}
