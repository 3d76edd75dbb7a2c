//! End to end: a real warp server on 127.0.0.1, a real HTTP client (`conformance::http`, and
//! `h2` for HTTP/2), the event stream parsed back with `ssekit_proto::Parser`. The checks are the
//! ones every adapter shares (`conformance::e2e`); this file mounts their routes on warp.

#[allow(dead_code)]
mod common;

use std::time::Duration;

use common::Server;
use conformance::e2e::{self, Live, Replays};
use ssekit_warp::{KeepAlive, LastEventId, Shutdown};
use warp::Filter;
use warp::filters::BoxedFilter;
use warp::reply::Reply;

fn hello(_: Shutdown) -> BoxedFilter<(impl Reply,)> {
    warp::any().map(|| ssekit_warp::reply(e2e::hello())).boxed()
}

#[tokio::test]
async fn headers_on_http_1_1() {
    let server = Server::start(hello).await;
    e2e::check_hello_on_http_1_1(server.addr, Some("keep-alive")).await;
    server.stop().await;
}

#[tokio::test]
async fn http_1_0_gets_a_close_delimited_stream() {
    let server = Server::start(hello).await;
    // The body ends with the connection, which hyper closes after it.
    e2e::check_http_1_0(server.addr).await;
    server.stop().await;
}

#[tokio::test]
async fn no_connection_header_on_http_2() {
    let server = Server::start(hello).await;
    e2e::check_http_2(server.addr).await;
    server.stop().await;
}

#[tokio::test]
async fn pre_encoded_frames_pass_through() {
    let server = Server::start(|_| {
        warp::any()
            .map(|| ssekit_warp::reply(e2e::pre_encoded()))
            .boxed()
    })
    .await;
    e2e::check_pre_encoded(server.addr).await;
    server.stop().await;
}

#[tokio::test]
async fn every_conformance_vector_round_trips() {
    let replays = Replays::new();
    let server = Server::start(move |_| {
        warp::path!("vector" / usize)
            .map(move |index: usize| ssekit_warp::reply(replays.stream(index)).no_keep_alive())
            .boxed()
    })
    .await;
    e2e::check_every_vector(server.addr).await;
    server.stop().await;
}

/// An idle stream with a 50 ms keep-alive that ends on shutdown.
fn idle(shutdown: Shutdown) -> BoxedFilter<(impl Reply,)> {
    warp::any()
        .map(move || {
            ssekit_warp::reply(e2e::idle())
                .keep_alive(KeepAlive::new().interval(Duration::from_millis(50)))
                .shutdown_on(shutdown.signal())
        })
        .boxed()
}

#[tokio::test]
async fn keep_alive_on_an_idle_stream() {
    let server = Server::start(idle).await;
    e2e::check_keep_alive(server.addr).await;
    server.stop().await;
}

#[tokio::test]
async fn client_disconnect_drops_the_stream() {
    let live = Live::new();
    let server = Server::start({
        let live = live.clone();
        move |_| {
            warp::any()
                .map(move || {
                    ssekit_warp::reply(live.hold(e2e::idle()))
                        .keep_alive(KeepAlive::new().interval(Duration::from_millis(100)))
                })
                .boxed()
        }
    })
    .await;
    e2e::check_client_disconnect(server.addr, &live).await;
    server.stop().await;
}

#[tokio::test]
async fn injected_event_name_ends_the_stream() {
    let server = Server::start(|_| {
        warp::any()
            .map(|| ssekit_warp::reply(e2e::injected_event_name()))
            .boxed()
    })
    .await;
    // hyper aborts the body on the error: the client sees a cut stream.
    e2e::check_injected_event_name(server.addr).await;
    server.stop().await;
}

#[tokio::test]
async fn last_event_id_from_header_or_query() {
    let server = Server::start(|_| {
        warp::path("id")
            .and(ssekit_warp::last_event_id())
            .map(|LastEventId(id): LastEventId| format!("{id:?}"))
            .boxed()
    })
    .await;
    e2e::check_last_event_id(server.addr).await;
    server.stop().await;
}

#[tokio::test]
async fn shutdown_ends_open_streams() {
    let server = Server::start(idle).await;
    let connected = e2e::check_shutdown_ends_the_stream(server.addr, &server.shutdown).await;
    // The graceful shutdown completes although the client is still connected.
    server.stop().await;
    drop(connected);
}
