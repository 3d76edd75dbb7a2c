//! The topic broker over warp: `Broker::admit_query` in a filter, a `Rejection` answered with
//! its status (and `Retry-After`) before any stream starts, `Sse::from_broadcast` of the ticket.
//! The checks are `conformance::broker`'s, shared with every adapter.

#[allow(dead_code)]
mod common;

use common::Server;
use conformance::broker;
use ssekit_warp::broker::Broker;
use ssekit_warp::{BrokerRequest, LastEventId, Rejected, Shutdown, Sse};
use warp::Filter;
use warp::filters::BoxedFilter;
use warp::reply::{Reply, Response};

fn routes(broker: &Broker) -> impl FnOnce(Shutdown) -> BoxedFilter<(Response,)> {
    let broker = broker.clone();
    move |shutdown| {
        warp::path("broker")
            .and(warp::get())
            .and(ssekit_warp::broker_request())
            .and(ssekit_warp::last_event_id())
            .map(move |BrokerRequest(request), last: LastEventId| {
                match broker.admit_query(&request) {
                    Ok(ticket) => Sse::from_broadcast(&ticket, &last)
                        .shutdown_on(shutdown.signal())
                        .into_response(),
                    Err(rejection) => Rejected(rejection).into_response(),
                }
            })
            .boxed()
    }
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

    use ssekit_warp::broker::{Limit, PublishError, Rejection};
    use ssekit_warp::{Event, PublishRejected};

    let error = Broker::new()
        .publish(["a*"], Event::message("x"))
        .unwrap_err();
    let response = PublishRejected::from(error.clone()).into_response();
    assert_eq!(response.status(), 400);
    let body = http_body_util::BodyExt::collect(response.into_body())
        .await
        .unwrap()
        .to_bytes();
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
