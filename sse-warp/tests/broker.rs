//! The topic broker over warp: `Broker::admit_query` in a filter, a `Rejection` answered with
//! its status (and `Retry-After`) before any stream starts, `Sse::from_broadcast` of the ticket.
//! The checks are `conformance::broker`'s, shared with every adapter.

#[allow(dead_code)]
mod common;

use common::Server;
use conformance::broker;
use sse_server::broker::{Broker, Rejection};
use sse_warp::{LastEventId, Shutdown, Sse};
use warp::Filter;
use warp::filters::BoxedFilter;
use warp::http::{HeaderMap, StatusCode};
use warp::reply::{Reply, Response};

/// The answer to a refused subscribe.
fn refuse(rejection: &Rejection) -> Response {
    let status =
        StatusCode::from_u16(rejection.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let reply = warp::reply::with_status(rejection.to_string(), status);
    match rejection.retry_after_header() {
        Some(retry) => warp::reply::with_header(reply, "retry-after", retry).into_response(),
        None => reply.into_response(),
    }
}

fn routes(broker: &Broker) -> impl FnOnce(Shutdown) -> BoxedFilter<(Response,)> {
    let broker = broker.clone();
    move |shutdown| {
        let query = warp::query::raw().or(warp::any().map(String::new)).unify();
        warp::path("broker")
            .and(warp::get())
            .and(warp::header::headers_cloned())
            .and(query)
            .and(sse_warp::last_event_id())
            .map(
                move |headers: HeaderMap, query: String, last: LastEventId| {
                    let request = broker::request_info(&headers, Some(&query));
                    match broker.admit_query(&request) {
                        Ok(ticket) => Sse::from_broadcast(&ticket, &last)
                            .shutdown_on(shutdown.signal())
                            .into_response(),
                        Err(rejection) => refuse(&rejection),
                    }
                },
            )
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
