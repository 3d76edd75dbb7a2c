//! End to end: a real actix-web server on 127.0.0.1, a real HTTP client (`conformance::http`,
//! and `h2` for HTTP/2), the event stream parsed back with `ssekit_proto::Parser`. The checks are
//! the ones every adapter shares (`conformance::e2e`); this file mounts their routes on actix.

#[allow(dead_code)]
mod common;

use std::time::Duration;

use actix_web::web;
use common::Server;
use conformance::e2e::{self, Live, Replays};
use ssekit_actix_web::{KeepAlive, LastEventId, Shutdown, Sse};

fn hello(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(|| async { Sse::new(e2e::hello()) }));
}

#[actix_web::test]
async fn headers_on_http_1_1() {
    let server = Server::start(hello);
    // actix-http writes `Connection` itself and leaves it out on a persistent HTTP/1.1
    // connection (see the crate docs): no `close`, and no `keep-alive` either.
    e2e::check_hello_on_http_1_1(server.addr, None).await;
    server.stop().await;
}

#[actix_web::test]
async fn connection_header_only_for_http_1_1() {
    use actix_web::Responder;
    use actix_web::http::Version;
    use actix_web::test::TestRequest;

    let request = TestRequest::default()
        .version(Version::HTTP_11)
        .to_http_request();
    let response = Sse::new(e2e::hello()).respond_to(&request);
    assert_eq!(response.headers().get("connection").unwrap(), "keep-alive");
    for (name, value) in ssekit::headers::RESPONSE_HEADERS {
        assert_eq!(response.headers().get(name).unwrap(), value, "{name}");
    }
    for version in [Version::HTTP_2, Version::HTTP_10] {
        let request = TestRequest::default().version(version).to_http_request();
        let response = Sse::new(e2e::hello()).respond_to(&request);
        assert!(
            response.headers().get("connection").is_none(),
            "{version:?}"
        );
    }
}

#[actix_web::test]
async fn http_1_0_gets_a_close_delimited_stream() {
    let server = Server::start(hello);
    // The body ends with the connection.
    e2e::check_http_1_0(server.addr).await;
    server.stop().await;
}

#[actix_web::test]
async fn no_connection_header_on_http_2() {
    let server = Server::start(hello);
    e2e::check_http_2(server.addr).await;
    server.stop().await;
}

#[actix_web::test]
async fn pre_encoded_frames_pass_through() {
    let server = Server::start(|cfg: &mut web::ServiceConfig| {
        cfg.route(
            "/",
            web::get().to(|| async { Sse::new(e2e::pre_encoded()) }),
        );
    });
    e2e::check_pre_encoded(server.addr).await;
    server.stop().await;
}

#[actix_web::test]
async fn every_conformance_vector_round_trips() {
    let replays = Replays::new();
    let server = Server::start(move |cfg: &mut web::ServiceConfig| {
        let replays = replays.clone();
        cfg.route(
            "/vector/{index}",
            web::get().to(move |index: web::Path<usize>| {
                let events = replays.stream(*index);
                async move { Sse::new(events).no_keep_alive() }
            }),
        );
    });
    e2e::check_every_vector(server.addr).await;
    server.stop().await;
}

/// An idle stream with a 50 ms keep-alive that ends on shutdown.
fn idle(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/",
        web::get().to(|shutdown: web::Data<Shutdown>| async move {
            Sse::new(e2e::idle())
                .keep_alive(KeepAlive::new().interval(Duration::from_millis(50)))
                .shutdown_on(shutdown.signal())
        }),
    );
}

#[actix_web::test]
async fn keep_alive_on_an_idle_stream() {
    let server = Server::start(idle);
    e2e::check_keep_alive(server.addr).await;
    server.stop().await;
}

#[actix_web::test]
async fn client_disconnect_drops_the_stream() {
    let live = Live::new();
    let server = Server::start({
        let live = live.clone();
        move |cfg: &mut web::ServiceConfig| {
            let live = live.clone();
            cfg.route(
                "/",
                web::get().to(move || {
                    let events = live.hold(e2e::idle());
                    async move {
                        Sse::new(events)
                            .keep_alive(KeepAlive::new().interval(Duration::from_millis(100)))
                    }
                }),
            );
        }
    });
    e2e::check_client_disconnect(server.addr, &live).await;
    server.stop().await;
}

#[actix_web::test]
async fn injected_event_name_ends_the_stream() {
    let server = Server::start(|cfg: &mut web::ServiceConfig| {
        cfg.route(
            "/",
            web::get().to(|| async { Sse::new(e2e::injected_event_name()) }),
        );
    });
    // actix closes the connection on the error: the client sees a cut stream.
    e2e::check_injected_event_name(server.addr).await;
    server.stop().await;
}

#[actix_web::test]
async fn last_event_id_from_header_or_query() {
    let server = Server::start(|cfg: &mut web::ServiceConfig| {
        cfg.route(
            "/id",
            web::get().to(|LastEventId(id): LastEventId| async move { format!("{id:?}") }),
        );
    });
    e2e::check_last_event_id(server.addr).await;
    server.stop().await;
}

#[actix_web::test]
async fn shutdown_ends_open_streams() {
    let server = Server::start(idle);
    let connected = e2e::check_shutdown_ends_the_stream(server.addr, &server.shutdown).await;
    // The graceful stop completes although the client is still connected.
    server.stop().await;
    drop(connected);
}
