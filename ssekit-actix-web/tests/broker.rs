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
