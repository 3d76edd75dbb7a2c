//! Compression middleware in front of event streams: tower-http's `CompressionLayer` (axum) and
//! actix-web's `Compress`, each with a real server and a client that sends
//! `Accept-Encoding: gzip`.
//!
//! - the event stream is not compressed (no `Content-Encoding` but `identity`; the body is the
//!   plain event stream);
//! - events are not held back: the first frame and a later event each arrive within 1 s while
//!   the stream stays open (a gzip encoder would wait for a block to fill);
//! - another route (64 KiB of plain text) is still compressed, so the middleware is on;
//! - with actix's `Compress`, which compresses `text/event-stream` like any other type, the same
//!   stream without our `Content-Encoding: identity` is compressed and held back: the header is
//!   what keeps the middleware out.

mod support;

use std::net::SocketAddr;
use std::time::Duration;

use examples::deploy::{Events, StreamConfig, connection, large_text};
use ssekit::hub::Hub;
use ssekit_proto::Event;
use support::{Item, Next, Request, SseClient};

const PROMPT: Duration = Duration::from_secs(1);

fn gzip(target: &str) -> Request {
    Request::get(target).header("accept-encoding", "gzip")
}

/// `/big` is compressed: gzip's magic number, far fewer bytes than 64 KiB.
async fn check_large_text_is_compressed(addr: SocketAddr) {
    let mut big = SseClient::open(addr, gzip("/big")).await;
    assert_eq!(big.status, 200);
    assert_eq!(big.header("content-encoding"), Some("gzip"));
    while !matches!(big.next(PROMPT).await, Next::End(_)) {}
    assert!(big.raw.starts_with(&[0x1f, 0x8b]), "a gzip body");
    assert!(big.raw.len() < 8 * 1024, "{} bytes", big.raw.len());
}

/// `/events` (a fresh `hub`) is not compressed and not held back.
async fn check_stream_is_neither_compressed_nor_held_back(addr: SocketAddr, hub: &Hub) {
    let mut live = SseClient::open(addr, gzip("/events")).await;
    assert_eq!(live.status, 200);
    assert_eq!(live.header("content-type"), Some("text/event-stream"));
    let encoding = live.header("content-encoding");
    assert!(matches!(encoding, None | Some("identity")), "{encoding:?}");
    match live.next(PROMPT).await {
        Next::Item(Item::Retry(_)) => {}
        other => panic!("the first frame, `retry:`, within {PROMPT:?}: {other:?}"),
    }
    while hub.subscriber_count() == 0 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    hub.publish(Event::message("not held back"));
    assert_eq!(
        live.event(PROMPT).await,
        ("1".into(), "not held back".into())
    );
    assert!(live.raw.starts_with(b"retry: "), "a plain body");
    assert!(live.raw.ends_with(b"id: 1\ndata: not held back\n\n"));
    assert_eq!(
        live.next(Duration::from_millis(200)).await,
        Next::Timeout,
        "still open"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tower_http_compression_leaves_event_streams_alone() {
    use axum::routing::get;
    use tower_http::compression::CompressionLayer;

    let config = StreamConfig {
        keep_alive: Duration::from_secs(60),
        ..StreamConfig::default()
    };
    let hub = Hub::new();
    let app = Events::new(hub.clone(), config)
        .router()
        .route("/big", get(|| async { large_text(64 * 1024) }))
        .layer(CompressionLayer::new());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("address");
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    check_large_text_is_compressed(addr).await;
    check_stream_is_neither_compressed_nor_held_back(addr, &hub).await;
    server.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actix_compress_leaves_event_streams_alone() {
    use actix_web::http::header::CONTENT_ENCODING;
    use actix_web::middleware::Compress;
    use actix_web::web::{self, Data};
    use actix_web::{App, HttpRequest, HttpResponse, HttpServer, Responder};
    use ssekit_actix_web::{LastEventId, Sse};

    // The same stream as `Events` serves for axum: `retry:` first.
    async fn events(hub: Data<Hub>, last_event_id: LastEventId) -> impl Responder {
        let subscription = hub.subscribe(last_event_id.as_deref());
        Sse::new(connection(subscription, &StreamConfig::default()))
    }
    async fn unmarked(hub: Data<Hub>, request: HttpRequest) -> HttpResponse {
        let mut response = Sse::new(hub.subscribe(None))
            .respond_to(&request)
            .map_into_boxed_body();
        response.headers_mut().remove(CONTENT_ENCODING);
        response
    }
    async fn big() -> String {
        large_text(64 * 1024)
    }

    let hub = Hub::new();
    let data = Data::new(hub.clone());
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("address");
    let server = HttpServer::new(move || {
        App::new()
            .wrap(Compress::default())
            .app_data(data.clone())
            .route("/events", web::get().to(events))
            .route("/unmarked", web::get().to(unmarked))
            .route("/big", web::get().to(big))
    })
    .workers(1)
    .disable_signals()
    .listen(listener)
    .expect("listen")
    .run();
    let handle = server.handle();
    let running = tokio::spawn(server);

    check_large_text_is_compressed(addr).await;
    check_stream_is_neither_compressed_nor_held_back(addr, &hub).await;

    // The control: without `Content-Encoding: identity`, Compress compresses the stream and
    // its encoder holds the small event back.
    let mut unmarked = SseClient::open(addr, gzip("/unmarked")).await;
    assert_eq!(unmarked.status, 200);
    let encoding = unmarked.header("content-encoding").map(str::to_owned);
    while hub.subscriber_count() < 2 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    hub.publish(Event::message("held back?"));
    let next = unmarked.next(PROMPT).await;
    eprintln!(
        "without identity: content-encoding {encoding:?}, {} bytes, {next:?}",
        unmarked.raw.len()
    );
    assert_eq!(
        encoding.as_deref(),
        Some("gzip"),
        "Compress compresses event streams"
    );
    assert_eq!(next, Next::Timeout, "and holds the event back");

    handle.stop(false).await;
    let _ = running.await;
}
