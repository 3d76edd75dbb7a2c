//! End to end: a real axum server on 127.0.0.1, a real HTTP client (`conformance::http`, and
//! `h2` for HTTP/2), the event stream parsed back with `ssekit_proto::Parser`. The checks are the
//! ones every adapter shares (`conformance::e2e`); this file mounts their routes on axum.

#[allow(dead_code)]
mod common;

use std::time::Duration;

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::get;
use common::Server;
use conformance::e2e::{self, Live, Replays};
use ssekit_axum::{KeepAlive, LastEventId, Shutdown, Sse};

fn hello() -> Router<Shutdown> {
    Router::new().route("/", get(|| async { Sse::new(e2e::hello()) }))
}

#[tokio::test]
async fn headers_on_http_1_1() {
    let server = Server::start(hello()).await;
    e2e::check_hello_on_http_1_1(server.addr, Some("keep-alive")).await;
    server.stop().await;
}

#[tokio::test]
async fn http_1_0_gets_a_close_delimited_stream() {
    let server = Server::start(hello()).await;
    // The body ends with the connection, which hyper closes after it.
    e2e::check_http_1_0(server.addr).await;
    server.stop().await;
}

#[tokio::test]
async fn no_connection_header_on_http_2() {
    let server = Server::start(hello()).await;
    e2e::check_http_2(server.addr).await;
    server.stop().await;
}

#[tokio::test]
async fn pre_encoded_frames_pass_through() {
    let app = Router::new().route("/", get(|| async { Sse::new(e2e::pre_encoded()) }));
    let server = Server::start(app).await;
    e2e::check_pre_encoded(server.addr).await;
    server.stop().await;
}

#[tokio::test]
async fn every_conformance_vector_round_trips() {
    let replays = Replays::new();
    let app = Router::new().route(
        "/vector/{index}",
        get(move |Path(index): Path<usize>| {
            let events = replays.stream(index);
            async move { Sse::new(events).no_keep_alive() }
        }),
    );
    let server = Server::start(app).await;
    e2e::check_every_vector(server.addr).await;
    server.stop().await;
}

/// An idle stream with a 50 ms keep-alive that ends on shutdown.
fn idle() -> Router<Shutdown> {
    Router::new().route(
        "/",
        get(|State(shutdown): State<Shutdown>| async move {
            Sse::new(e2e::idle())
                .keep_alive(KeepAlive::new().interval(Duration::from_millis(50)))
                .shutdown_on(shutdown.signal())
        }),
    )
}

#[tokio::test]
async fn keep_alive_on_an_idle_stream() {
    let server = Server::start(idle()).await;
    e2e::check_keep_alive(server.addr).await;
    server.stop().await;
}

#[tokio::test]
async fn client_disconnect_drops_the_stream() {
    let live = Live::new();
    let app = Router::new().route(
        "/",
        get({
            let live = live.clone();
            move || async move {
                Sse::new(live.hold(e2e::idle()))
                    .keep_alive(KeepAlive::new().interval(Duration::from_millis(100)))
            }
        }),
    );
    let server = Server::start(app).await;
    e2e::check_client_disconnect(server.addr, &live).await;
    server.stop().await;
}

#[tokio::test]
async fn injected_event_name_ends_the_stream() {
    let app = Router::new().route("/", get(|| async { Sse::new(e2e::injected_event_name()) }));
    let server = Server::start(app).await;
    // hyper aborts the body on the error: the client sees a cut stream.
    e2e::check_injected_event_name(server.addr).await;
    server.stop().await;
}

#[tokio::test]
async fn last_event_id_from_header_or_query() {
    let app = Router::new().route(
        "/id",
        get(|LastEventId(id): LastEventId| async move { format!("{id:?}") }),
    );
    let server = Server::start(app).await;
    e2e::check_last_event_id(server.addr).await;
    server.stop().await;
}

#[tokio::test]
async fn shutdown_ends_open_streams() {
    let server = Server::start(idle()).await;
    let connected = e2e::check_shutdown_ends_the_stream(server.addr, &server.shutdown).await;
    // The graceful shutdown completes although the client is still connected.
    server.stop().await;
    drop(connected);
}
