//! Every example server closes a connection whose request head is not complete within
//! `examples::server::HEAD_TIMEOUT` (10 s; actix-web: its `client_request_timeout`, set to the
//! same), while it goes on serving normal requests. (The rooms example is tested with a short
//! timeout in `rooms.rs`.)

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use examples::server::HEAD_TIMEOUT;
use examples::{ClockState, chat::ChatState, chat_axum, clock_actix, clock_axum, clock_warp};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Sends a request head one byte every 500 ms, never finishing it; returns how long the server
/// took to close the connection (or to answer it, with a 408), at most `give_up`.
async fn slowloris(addr: SocketAddr, give_up: Duration) -> Duration {
    let start = Instant::now();
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let head = b"GET / HTTP/1.1\r\nhost: x\r\nx-slow: ";
    for byte in head.iter().chain(std::iter::repeat(&b'a')) {
        if stream.write_all(&[*byte]).await.is_err() || start.elapsed() > give_up {
            break;
        }
        let mut buf = [0; 256];
        if let Ok(Ok(_)) =
            tokio::time::timeout(Duration::from_millis(500), stream.read(&mut buf)).await
        {
            break;
        }
    }
    start.elapsed()
}

/// A normal request's status line.
async fn get(addr: SocketAddr, target: &str) -> String {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let request = format!("GET {target} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut response = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut response)).await;
    String::from_utf8_lossy(&response)
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_example_server_closes_slow_request_heads() {
    let give_up = HEAD_TIMEOUT + Duration::from_secs(10);
    let mut servers = Vec::new();
    let mut shutdowns = Vec::new();
    let bind = || examples::bind("127.0.0.1:0".parse().expect("addr")).expect("bind");
    for name in ["clock-axum", "clock-warp", "clock-actix", "chat-axum"] {
        let listener = bind();
        let addr = listener.local_addr().expect("addr");
        let (served, shutdown) = match name {
            "chat-axum" => {
                let state = ChatState::new();
                let shutdown = state.shutdown.clone();
                (tokio::spawn(chat_axum::serve(listener, state)), shutdown)
            }
            _ => {
                let state = ClockState::new();
                let shutdown = state.shutdown.clone();
                let served = match name {
                    "clock-axum" => tokio::spawn(clock_axum::serve(listener, state)),
                    "clock-warp" => tokio::spawn(clock_warp::serve(listener, state)),
                    _ => tokio::spawn(clock_actix::serve(listener, state)),
                };
                (served, shutdown)
            }
        };
        servers.push((name, addr, served));
        shutdowns.push(shutdown);
    }
    let slow: Vec<_> = servers
        .iter()
        .map(|(name, addr, _)| (*name, tokio::spawn(slowloris(*addr, give_up))))
        .collect();
    tokio::time::sleep(Duration::from_secs(1)).await;
    for (name, addr, _) in &servers {
        let status = get(*addr, "/").await;
        assert!(status.starts_with("HTTP/1.1 200"), "{name}: {status:?}");
    }
    for (name, client) in slow {
        let closed_after = client.await.expect("client");
        assert!(
            closed_after >= HEAD_TIMEOUT - Duration::from_secs(1)
                && closed_after < HEAD_TIMEOUT + Duration::from_secs(3),
            "{name}: closed after {closed_after:?}, the head timeout is {HEAD_TIMEOUT:?}"
        );
    }
    for shutdown in shutdowns {
        shutdown.trigger();
    }
    for (name, _, served) in servers {
        tokio::time::timeout(Duration::from_secs(15), served)
            .await
            .unwrap_or_else(|_| panic!("{name} stops"))
            .expect("join")
            .expect("served");
    }
}
