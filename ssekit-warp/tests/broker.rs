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
