//! A client that connects and never reads, while the server's stream produces events as fast
//! as it can: the server stops pulling from the stream once the socket buffers are full
//! (backpressure, no unbounded queue), other clients keep receiving, and when the stuck client
//! disconnects its stream is dropped. The check is shared by every adapter
//! (`conformance::e2e::check_backpressure`); this file serves its firehose on warp.

use conformance::e2e::{self, Firehose};
use tokio::net::TcpListener;
use warp::Filter;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_reads_is_held_by_backpressure() {
    let firehose = Firehose::new();
    let routes = warp::path("firehose").map({
        let firehose = firehose.clone();
        move || ssekit_warp::reply(firehose.stream())
    });
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(warp::serve(routes).incoming(listener).run());

    e2e::check_backpressure(addr, "/firehose", &firehose).await;
    server.abort();
}
