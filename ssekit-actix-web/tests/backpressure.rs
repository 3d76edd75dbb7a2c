//! A client that connects and never reads, while the server's stream produces events as fast
//! as it can: the server stops pulling from the stream once the socket buffers are full
//! (backpressure, no unbounded queue), other clients keep receiving, and when the stuck client
//! disconnects its stream is dropped. The check is shared by every adapter
//! (`conformance::e2e::check_backpressure`); this file serves its firehose on actix-web.

#[allow(dead_code)]
mod common;

use actix_web::web;
use common::Server;
use conformance::e2e::{self, Firehose};
use ssekit_actix_web::Sse;

#[actix_web::test]
async fn a_client_that_never_reads_is_held_by_backpressure() {
    let firehose = Firehose::new();
    let data = web::Data::new(firehose.clone());
    let server = Server::start(move |cfg| {
        cfg.app_data(data.clone()).route(
            "/firehose",
            web::get()
                .to(|firehose: web::Data<Firehose>| async move { Sse::new(firehose.stream()) }),
        );
    });

    e2e::check_backpressure(server.addr, "/firehose", &firehose).await;
    server.stop_now().await;
}
