//! A client that connects and never reads, while the server's stream produces events as fast
//! as it can: the server stops pulling from the stream once the socket buffers are full
//! (backpressure, no unbounded queue), other clients keep receiving, and when the stuck client
//! disconnects its stream is dropped. The check is shared by every adapter
//! (`conformance::e2e::check_backpressure`); this file serves its firehose on actix-web.

use actix_web::{App, HttpServer, web};
use conformance::e2e::{self, Firehose, within};
use sse_actix::Sse;

#[actix_web::test]
async fn a_client_that_never_reads_is_held_by_backpressure() {
    let firehose = Firehose::new();
    let data = web::Data::new(firehose.clone());
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = HttpServer::new(move || {
        App::new().app_data(data.clone()).route(
            "/firehose",
            web::get()
                .to(|firehose: web::Data<Firehose>| async move { Sse::new(firehose.stream()) }),
        )
    })
    .workers(1)
    .disable_signals()
    .listen(listener)
    .unwrap()
    .run();
    let handle = server.handle();
    let task = actix_web::rt::spawn(server);

    e2e::check_backpressure(addr, "/firehose", &firehose).await;
    within(handle.stop(false)).await;
    within(task).await.unwrap().unwrap();
}
