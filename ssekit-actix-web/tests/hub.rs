//! `Sse::from_broadcast` end to end: a real actix-web server on 127.0.0.1 serving a [`Hub`] at
//! `/events`. This file keeps only the actix glue; the clients and the checks are
//! `conformance::e2e`'s, shared with every adapter.

#[allow(dead_code)]
mod common;

use std::time::Duration;

use actix_web::{Responder, web};
use common::Server;
use conformance::e2e;
use ssekit_actix_web::{Hub, KeepAlive, LastEventId, Shutdown, Sse};

async fn events(
    last_event_id: LastEventId,
    hub: web::Data<Hub>,
    shutdown: web::Data<Shutdown>,
) -> impl Responder {
    // actix notices a client that went away when it next writes to it: keep-alive comments
    // every 100 ms make that prompt in these tests (the default is every 15 s).
    Sse::from_broadcast(hub.get_ref(), &last_event_id)
        .keep_alive(KeepAlive::new().interval(Duration::from_millis(100)))
        .shutdown_on(shutdown.signal())
}

/// The server, serving `hub` at `/events` with the one-call wiring.
fn serve(hub: &Hub) -> Server {
    let hub = web::Data::new(hub.clone());
    Server::start(move |cfg| {
        cfg.app_data(hub.clone())
            .route("/events", web::get().to(events));
    })
}

#[actix_web::test]
async fn replay_after_the_header_or_the_query_parameter_then_live() {
    let hub = Hub::new();
    let server = serve(&hub);
    e2e::check_hub_replay(server.addr, &hub).await;
    server.stop().await;
}

#[actix_web::test]
async fn a_client_that_never_reads_does_not_delay_the_others() {
    let hub = e2e::stuck_client_hub();
    let server = serve(&hub);
    e2e::check_hub_stuck_client(server.addr, &hub).await;
    server.stop().await;
}

/// Issue 17: bursts published in a tight loop to 1000 reading clients.
#[actix_web::test]
async fn bursts_reach_every_reading_client_and_losses_are_signalled() {
    let hub = Hub::new();
    let server = serve(&hub);
    e2e::check_hub_burst(server.addr, &hub).await;
    server.stop().await;
}
