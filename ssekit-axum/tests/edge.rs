//! An axum app behind the edge (`ssekit_axum::serve`): its stream route on the edge passes the
//! hub's end-to-end checks, and every other request is answered byte for byte as
//! `axum::serve` alone answers it (HTTP/1.1, HTTP/1.0, bodies, errors, HTTP/2 prior
//! knowledge), the `Date` header aside.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::routing::{get, post};
use conformance::e2e::{self, check_hub_burst, check_hub_replay};
use ssekit_axum::{Hub, Shutdown};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

fn app() -> Router {
    Router::new()
        .route("/", get(|| async { "hello from axum" }))
        .route(
            "/echo",
            post(|body: String| async move { format!("got {body}") }),
        )
        .route(
            "/events",
            post(|| async { "a POST to the stream path is the app's" }),
        )
}

async fn behind_the_edge(hub: &Hub) -> (SocketAddr, Shutdown) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let shutdown = Shutdown::new();
    let serve = ssekit_axum::serve(listener, app())
        .stream_route("/events", hub.clone())
        .with_graceful_shutdown(shutdown.signal());
    tokio::spawn(async move { serve.await });
    (addr, shutdown)
}

async fn axum_alone() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app()).await });
    addr
}

/// Sends `request` and collects what comes back until the server closes or is silent for
/// 300 ms.
async fn exchange(addr: SocketAddr, request: &[u8]) -> Vec<u8> {
    let mut socket = TcpStream::connect(addr).await.expect("connect");
    socket.write_all(request).await.expect("write");
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout(Duration::from_millis(300), socket.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => got.extend_from_slice(&buf[..n]),
            _ => return got,
        }
    }
}

/// The response without its `date:` line, which differs by the second.
fn without_date(response: &[u8]) -> String {
    String::from_utf8_lossy(response)
        .split("\r\n")
        .filter(|line| !line.to_ascii_lowercase().starts_with("date:"))
        .collect::<Vec<_>>()
        .join("\r\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_that_are_not_streams_are_answered_as_axum_alone_answers_them() {
    let hub = Hub::new();
    let (edge, _shutdown) = behind_the_edge(&hub).await;
    let alone = axum_alone().await;
    let requests: [&[u8]; 8] = [
        b"GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
        b"GET / HTTP/1.0\r\n\r\n",
        b"GET /missing HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
        b"POST /echo HTTP/1.1\r\nhost: x\r\ncontent-length: 5\r\nconnection: close\r\n\r\nhello",
        b"POST /events HTTP/1.1\r\nhost: x\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
        // Two requests on one connection, the second after the first's answer.
        b"GET / HTTP/1.1\r\nhost: x\r\n\r\nGET /missing HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
        b"GET / HTTP/1.1\r\nBad Header\r\n\r\n",
        // HTTP/2 with prior knowledge: the server's preface (its SETTINGS) is hyper's.
        b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
    ];
    for request in requests {
        let (through_edge, direct) = (
            exchange(edge, request).await,
            exchange(alone, request).await,
        );
        assert!(!direct.is_empty(), "{:?}", String::from_utf8_lossy(request));
        assert_eq!(
            without_date(&through_edge),
            without_date(&direct),
            "{:?}",
            String::from_utf8_lossy(request)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stream_route_passes_the_hub_checks() {
    let hub = Hub::new();
    let (addr, _shutdown) = behind_the_edge(&hub).await;
    check_hub_replay(addr, &hub).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_over_the_edge_reaches_every_reader() {
    let hub = Hub::new();
    let (addr, _shutdown) = behind_the_edge(&hub).await;
    check_hub_burst(addr, &hub).await;
}

#[tokio::test]
async fn the_app_is_served_beside_a_live_stream() {
    let hub = Hub::new();
    let (addr, _shutdown) = behind_the_edge(&hub).await;
    let _stream = e2e::fetch(addr, "/events").await;
    e2e::hub_subscribers(&hub, 1).await;
    let response = exchange(
        addr,
        b"GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
    )
    .await;
    assert!(without_date(&response).ends_with("hello from axum"));
}

#[tokio::test]
async fn a_stream_request_on_a_kept_alive_app_connection_is_served_on_the_framework_path() {
    let hub = Hub::new();
    let (addr, _shutdown) = behind_the_edge(&hub).await;
    let mut socket = TcpStream::connect(addr).await.expect("connect");
    // A browser asks for the page, then opens its EventSource on the same connection.
    socket
        .write_all(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .expect("write");
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    e2e::within(async {
        while !String::from_utf8_lossy(&got).ends_with("hello from axum") {
            let n = socket.read(&mut buf).await.expect("read");
            assert!(n > 0, "closed");
            got.extend_from_slice(&buf[..n]);
        }
    })
    .await;
    socket
        .write_all(b"GET /events HTTP/1.1\r\nhost: x\r\nlast-event-id: 0\r\n\r\n")
        .await
        .expect("write");
    e2e::hub_subscribers(&hub, 1).await;
    hub.publish(ssekit_axum::Event::message("on the same connection"));
    let mut stream = Vec::new();
    e2e::within(async {
        while !String::from_utf8_lossy(&stream).contains("data: on the same connection\n\n") {
            let n = socket.read(&mut buf).await.expect("read");
            assert!(n > 0, "closed");
            stream.extend_from_slice(&buf[..n]);
        }
    })
    .await;
    let text = String::from_utf8_lossy(&stream).to_ascii_lowercase();
    assert!(text.starts_with("http/1.1 200 ok\r\n"), "{text}");
    assert!(text.contains("content-type: text/event-stream"), "{text}");
    assert!(text.contains("transfer-encoding: chunked"), "{text}");
    // The id the hub does not know: the reset frame first, as on the edge.
    assert!(text.contains("event: sse-reset"), "{text}");
}
