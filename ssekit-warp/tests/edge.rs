//! A warp filter behind the edge (`ssekit_warp::serve`): its stream route on the edge passes
//! the hub's end-to-end check, and other requests are answered as warp answers them.

use std::net::SocketAddr;
use std::time::Duration;

use conformance::e2e::check_hub_replay;
use ssekit_warp::{Hub, Shutdown};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use warp::Filter;

async fn behind_the_edge(hub: &Hub) -> (SocketAddr, Shutdown) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let shutdown = Shutdown::new();
    let hello = warp::path::end().map(|| "hello from warp");
    let serve = ssekit_warp::serve(listener, hello)
        .stream_route("/events", hub.clone())
        .with_graceful_shutdown(shutdown.signal());
    tokio::spawn(async move { serve.await });
    (addr, shutdown)
}

async fn exchange(addr: SocketAddr, request: &[u8]) -> String {
    let mut socket = TcpStream::connect(addr).await.expect("connect");
    socket.write_all(request).await.expect("write");
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout(Duration::from_millis(300), socket.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => got.extend_from_slice(&buf[..n]),
            _ => return String::from_utf8_lossy(&got).into_owned(),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stream_route_passes_the_hub_check_and_the_filter_answers_the_rest() {
    let hub = Hub::new();
    let (addr, _shutdown) = behind_the_edge(&hub).await;
    let hello = exchange(
        addr,
        b"GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
    )
    .await;
    assert!(hello.starts_with("HTTP/1.1 200 OK\r\n"), "{hello}");
    assert!(hello.ends_with("hello from warp"), "{hello}");
    let missing = exchange(
        addr,
        b"GET /nope HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
    )
    .await;
    assert!(
        missing.starts_with("HTTP/1.1 404 Not Found\r\n"),
        "{missing}"
    );
    check_hub_replay(addr, &hub).await;
}
