//! The topic broker over axum: `Broker::admit_query` in a handler, a `Rejection` answered with
//! its status (and `Retry-After`) before any stream starts, `Sse::from_broadcast` of the ticket.
//! The checks are `conformance::broker`'s, shared with every adapter.

#[allow(dead_code)]
mod common;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use common::Server;
use conformance::broker;
use sse_axum::{LastEventId, Shutdown, Sse};
use sse_server::broker::{Broker, Rejection};

/// The answer to a refused subscribe.
fn refuse(rejection: &Rejection) -> Response {
    let status =
        StatusCode::from_u16(rejection.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, rejection.to_string()).into_response();
    if let Some(retry) = rejection.retry_after_header() {
        if let Ok(value) = HeaderValue::from_str(&retry) {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
    }
    response
}

fn routes(broker: &Broker) -> Router<Shutdown> {
    let broker = broker.clone();
    Router::new().route(
        "/broker",
        get(
            |uri: Uri, headers: HeaderMap, last: LastEventId, State(shutdown): State<Shutdown>| async move {
                let request = broker::request_info(&headers, uri.query());
                match broker.admit_query(&request) {
                    Ok(ticket) => Sse::from_broadcast(&ticket, &last)
                        .shutdown_on(shutdown.signal())
                        .into_response(),
                    Err(rejection) => refuse(&rejection),
                }
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
