//! The topic broker over actix-web: `Broker::admit_query` in a handler, a `Rejection` answered
//! with its status (and `Retry-After`) before any stream starts, `Sse::from_broadcast` of the
//! ticket. The checks are `conformance::broker`'s, shared with every adapter.

#[allow(dead_code)]
mod common;

use std::time::Duration;

use actix_web::web;
use common::Server;
use conformance::broker;
use ssekit_actix_web::broker::{Broker, BrokerSubscription};
use ssekit_actix_web::{BrokerRequest, KeepAlive, LastEventId, Rejected, Shutdown, Sse};

async fn events(
    BrokerRequest(request): BrokerRequest,
    last: LastEventId,
    broker: web::Data<Broker>,
    shutdown: web::Data<Shutdown>,
) -> Result<Sse<BrokerSubscription>, Rejected> {
    let ticket = broker.admit_query(&request)?;
    // actix notices a client that went away when it next writes to it: keep-alive comments
    // every 100 ms make that prompt in these tests.
    Ok(Sse::from_broadcast(&ticket, &last)
        .keep_alive(KeepAlive::new().interval(Duration::from_millis(100)))
        .shutdown_on(shutdown.signal()))
}

#[actix_web::test]
async fn authorization_limits_and_one_id_resume_over_http() {
    let broker = broker::broker();
    let data = web::Data::new(broker.clone());
    let server = Server::start(move |cfg| {
        cfg.app_data(data.clone())
            .route("/broker", web::get().to(events));
    });
    broker::check_broker(server.addr, &broker).await;
    server.stop().await;
}

/// `Rejected` and `PublishRejected` answer with the status and reason `ssekit` decides
/// (`Rejection::status`, `PublishError::status`), and are errors of their own.
#[actix_web::test]
async fn refusals_answer_with_the_status_ssekit_decides() {
    use actix_web::ResponseError;
    use ssekit_actix_web::broker::{Limit, PublishError, Rejection};
    use ssekit_actix_web::{Event, PublishRejected};

    let error = Broker::new()
        .publish(["a*"], Event::message("x"))
        .unwrap_err();
    let response = PublishRejected::from(error.clone()).error_response();
    assert_eq!(response.status(), 400);
    let body = actix_web::body::to_bytes(response.into_body())
        .await
        .unwrap();
    assert_eq!(body, error.to_string());
    let response = PublishRejected(PublishError::TooManyTopics).error_response();
    assert_eq!(response.status(), 503);
    assert!(response.headers().get("retry-after").is_none());

    let rejection = Rejection::Unavailable {
        limit: Limit::Topics,
        retry_after: Duration::from_secs(3),
    };
    let rejected = Rejected(rejection.clone());
    let as_error: &dyn std::error::Error = &rejected;
    assert_eq!(as_error.to_string(), rejection.to_string());
    let response = rejected.error_response();
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers().get("retry-after").unwrap(), "3");
}
