//! The rooms example end to end on `127.0.0.1:0`: tokens, rooms and private notifications
//! behind one connection, a 403 for another user's notifications (to subscribe or publish),
//! and the metrics page.

use std::net::SocketAddr;
use std::time::Duration;

use conformance::e2e::EventStream;
use conformance::http::Request;
use conformance::wait::within;
use examples::rooms_axum::{self, RoomsState};
use ssekit_proto::MessageEvent;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const WAIT: Duration = Duration::from_secs(10);

/// The status and body of a request sent over a raw HTTP/1.1 socket.
async fn send(addr: SocketAddr, method: &str, target: &str, body: &str) -> (u16, String) {
    send_with(addr, method, target, "", body).await
}

/// [`send`] with more header lines (`name: value\r\n` each).
async fn send_with(
    addr: SocketAddr,
    method: &str,
    target: &str,
    headers: &str,
    body: &str,
) -> (u16, String) {
    let mut stream = within(WAIT, "a step", TcpStream::connect(addr))
        .await
        .expect("connect");
    let request = format!(
        "{method} {target} HTTP/1.1\r\nhost: {addr}\r\n{headers}content-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    within(WAIT, "a step", stream.write_all(request.as_bytes()))
        .await
        .expect("write");
    let mut response = Vec::new();
    within(WAIT, "a step", stream.read_to_end(&mut response))
        .await
        .expect("read");
    let response = String::from_utf8_lossy(&response).into_owned();
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status line");
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

fn data(events: &[MessageEvent]) -> Vec<&str> {
    events.iter().map(MessageEvent::data).collect()
}

#[tokio::test]
async fn rooms_and_private_notifications_stay_private() {
    let listener = examples::bind("127.0.0.1:0".parse().expect("addr")).expect("bind");
    let addr = listener.local_addr().expect("local addr");
    let state =
        RoomsState::new(b"test secret", rooms_axum::install_metrics()).metrics_token("m-token");
    let server = tokio::spawn(rooms_axum::serve(listener, state.clone()));

    let seven = state.token(7).expect("a token");
    let eight = state.token(8).expect("a token");
    // Another user's notifications: refused before any stream, for subscribe and publish.
    let target = format!("/events?topic=users/7&authorization={eight}");
    let refused = within(WAIT, "a step", Request::get(&target).send(addr))
        .await
        .expect("request");
    assert_eq!(refused.status, 403);
    let publish = format!("/publish?topic=users/7&authorization={eight}");
    assert_eq!(send(addr, "POST", &publish, "spoof").await.0, 403);

    let target = format!("/events?topic=rooms/1/*&topic=users/7&authorization={seven}");
    let mut alice = EventStream::connect(addr, Request::get(&target)).await;
    let target = format!("/events?topic=rooms/1/*&topic=users/8&authorization={eight}");
    let mut bob = EventStream::connect(addr, Request::get(&target)).await;

    state
        .broker
        .publish(["users/7"], ssekit::Event::message("for 7 only"))
        .expect("publish");
    let publish = format!("/publish?topic=rooms/1/chat&authorization={eight}");
    let (status, body) = send(addr, "POST", &publish, "hi all").await;
    assert_eq!(status, 200, "{body}");
    let posted: serde_json::Value = serde_json::from_str(&body).expect("a JSON body");
    let posted = posted["id"].as_str().expect("a string id");
    assert!(
        posted.ends_with("-2"),
        "the second event, after the epoch: {posted}"
    );
    let to_alice = alice.take(2).await;
    assert_eq!(data(&to_alice), ["for 7 only", "hi all"]);
    let to_bob = bob.take(1).await;
    assert_eq!(data(&to_bob), ["hi all"], "nothing of users/7");
    // The POST answers the id subscribers see (and resume from), epoch included.
    assert_eq!(to_alice[1].last_event_id(), posted);
    assert_eq!(to_bob[0].last_event_id(), posted);

    // The metrics page wants its token, and names rooms but no user's topic.
    assert_eq!(send(addr, "GET", "/metrics", "").await.0, 401);
    let wrong = "authorization: Bearer m-tokeN\r\n";
    assert_eq!(send_with(addr, "GET", "/metrics", wrong, "").await.0, 401);
    let right = "authorization: Bearer m-token\r\n";
    let (status, metrics) = send_with(addr, "GET", "/metrics", right, "").await;
    assert_eq!(status, 200);
    assert!(
        metrics.contains("sse_broker_events_published_total"),
        "{metrics}"
    );
    assert!(metrics.contains("topic=\"rooms/1/*\""), "{metrics}");
    assert!(!metrics.contains("users/"), "{metrics}");

    drop((alice, bob));
    state.shutdown.trigger();
    within(WAIT, "a step", server)
        .await
        .expect("join")
        .expect("served");
}

#[tokio::test]
async fn metrics_without_a_token_configured_are_refused() {
    let listener = examples::bind("127.0.0.1:0".parse().expect("addr")).expect("bind");
    let addr = listener.local_addr().expect("local addr");
    let state = RoomsState::new(b"test secret", rooms_axum::install_metrics());
    let server = tokio::spawn(rooms_axum::serve(listener, state.clone()));
    assert_eq!(send(addr, "GET", "/metrics", "").await.0, 401);
    let empty = "authorization: Bearer \r\n";
    assert_eq!(send_with(addr, "GET", "/metrics", empty, "").await.0, 401);
    state.shutdown.trigger();
    within(WAIT, "a step", server)
        .await
        .expect("join")
        .expect("served");
}

#[tokio::test]
async fn a_cookie_authenticated_publish_must_come_from_the_servers_own_origin() {
    let listener = examples::bind("127.0.0.1:0".parse().expect("addr")).expect("bind");
    let addr = listener.local_addr().expect("local addr");
    let state = RoomsState::new(b"test secret", None);
    let server = tokio::spawn(rooms_axum::serve(listener, state.clone()));
    let token = state.token(7).expect("a token");
    let cookie = format!("cookie: mercureAuthorization={token}\r\n");
    let publish = "/publish?topic=rooms/1/chat";
    // A cross-site form POST carries the cookie: refused.
    for origin in [
        "origin: https://evil.example\r\n".to_owned(),
        "origin: null\r\n".to_owned(),
        "referer: https://evil.example/page\r\n".to_owned(),
        String::new(),
    ] {
        let headers =
            format!("{cookie}{origin}content-type: application/x-www-form-urlencoded\r\n");
        let (status, body) = send_with(addr, "POST", publish, &headers, "msg=pwned").await;
        assert_eq!(status, 403, "{origin:?}: {body}");
    }
    // The server's own page: published.
    for origin in [
        format!("origin: http://{addr}\r\n"),
        format!("origin: http://localhost:{}\r\n", addr.port()),
        format!("referer: http://{addr}/?user=7\r\n"),
    ] {
        let headers = format!("{cookie}{origin}");
        let (status, body) = send_with(addr, "POST", publish, &headers, "same site").await;
        assert_eq!(status, 200, "{origin:?}: {body}");
    }
    // A bearer token is not subject to the origin check (a cross-site page cannot send it).
    let bearer = format!("authorization: Bearer {token}\r\norigin: https://evil.example\r\n");
    assert_eq!(
        send_with(addr, "POST", publish, &bearer, "api").await.0,
        200
    );
    state.shutdown.trigger();
    within(WAIT, "a step", server)
        .await
        .expect("join")
        .expect("served");
}

/// Sends a publish head announcing `length` body bytes and a first byte of the body, then
/// waits for the answer without sending more: the status, and whether the server then closed
/// the connection.
async fn head_only_publish(
    addr: SocketAddr,
    target: &str,
    headers: &str,
    length: usize,
) -> (u16, bool) {
    let mut stream = within(WAIT, "a step", TcpStream::connect(addr))
        .await
        .expect("connect");
    let head = format!(
        "POST {target} HTTP/1.1\r\nhost: {addr}\r\n{headers}content-length: {length}\r\n\r\nx"
    );
    within(WAIT, "a step", stream.write_all(head.as_bytes()))
        .await
        .expect("write");
    let mut response = Vec::new();
    let mut buf = [0; 4096];
    let closed = loop {
        match within(WAIT, "a step", stream.read(&mut buf)).await {
            Ok(0) | Err(_) => break true,
            Ok(n) => response.extend_from_slice(&buf[..n]),
        }
        let text = String::from_utf8_lossy(&response);
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length: usize = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length: ")
                        .map(|v| v.trim().parse().expect("length"))
                })
                .unwrap_or(0);
            if body.len() >= length {
                // The whole answer is in: does the server close (it will not read the body)?
                break matches!(
                    tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf)).await,
                    Ok(Ok(0) | Err(_))
                );
            }
        }
    };
    let text = String::from_utf8_lossy(&response);
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status line");
    (status, closed)
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .expect("status")
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publish_bodies_are_refused_before_they_are_read() {
    let listener = examples::bind("127.0.0.1:0".parse().expect("addr")).expect("bind");
    let addr = listener.local_addr().expect("local addr");
    let state = RoomsState::new(b"test secret", None);
    let server = tokio::spawn(rooms_axum::serve(listener, state.clone()));
    let token = state.token(7).expect("a token");
    let publish = "/publish?topic=rooms/1/chat";
    let before = rss_kib();
    // 100 connections announcing 2 MB bodies without a token: each answered 403 on its head
    // (one body byte sent), and closed.
    let clients: Vec<_> = (0..100)
        .map(|_| tokio::spawn(async move { head_only_publish(addr, publish, "", 2_000_000).await }))
        .collect();
    for client in clients {
        assert_eq!(client.await.expect("client"), (403, true));
    }
    // With a token, a 2 MB body is refused on its declared length (413), before it is read.
    let bearer = format!("authorization: Bearer {token}\r\n");
    assert_eq!(
        head_only_publish(addr, publish, &bearer, 2_000_000).await,
        (413, true)
    );
    // A body past 16 KiB without a declared length (chunked) is cut off at the limit.
    let mut stream = within(WAIT, "a step", TcpStream::connect(addr))
        .await
        .expect("connect");
    let chunk = "a".repeat(20_000);
    let request = format!(
        "POST {publish} HTTP/1.1\r\nhost: {addr}\r\n{bearer}transfer-encoding: chunked\r\nconnection: close\r\n\r\n{:x}\r\n{chunk}\r\n0\r\n\r\n",
        chunk.len()
    );
    within(WAIT, "a step", stream.write_all(request.as_bytes()))
        .await
        .expect("write");
    let mut response = Vec::new();
    let _ = within(WAIT, "a step", stream.read_to_end(&mut response)).await;
    assert!(
        response.starts_with(b"HTTP/1.1 413"),
        "{}",
        String::from_utf8_lossy(&response)
    );
    // Nothing of the announced 200 MB was buffered.
    let grown = rss_kib().saturating_sub(before);
    assert!(grown < 50 * 1024, "RSS grew by {grown} KiB");
    // An authorized small publish still works.
    let (status, body) = send_with(addr, "POST", publish, &bearer, "small").await;
    assert_eq!(status, 200, "{body}");
    assert!(body.ends_with(r#"-1"}"#), "{body}");
    state.shutdown.trigger();
    within(WAIT, "a step", server)
        .await
        .expect("join")
        .expect("served");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_request_heads_are_closed_while_normal_requests_are_served() {
    let listener = examples::bind("127.0.0.1:0".parse().expect("addr")).expect("bind");
    let addr = listener.local_addr().expect("local addr");
    let state = RoomsState::new(b"test secret", None);
    let head_timeout = Duration::from_secs(1);
    let server = tokio::spawn(rooms_axum::serve_with(
        listener,
        state.clone(),
        head_timeout,
    ));
    // 50 slowloris connections: a byte every 200 ms, a head that never ends.
    let start = std::time::Instant::now();
    let slow: Vec<_> = (0..50)
        .map(|_| {
            tokio::spawn(async move {
                let mut stream = TcpStream::connect(addr).await.expect("connect");
                let head = b"GET /token?user=1 HTTP/1.1\r\nhost: x\r\nx-slow: ";
                for byte in head.iter().chain(std::iter::repeat(&b'a')) {
                    if stream.write_all(&[*byte]).await.is_err() {
                        break;
                    }
                    let mut buf = [0; 256];
                    // Closed (or answered 408) by the server: the read ends.
                    if let Ok(Ok(_)) =
                        tokio::time::timeout(Duration::from_millis(200), stream.read(&mut buf))
                            .await
                    {
                        break;
                    }
                    assert!(
                        start.elapsed() < Duration::from_secs(8),
                        "a slow head still open"
                    );
                }
                start.elapsed()
            })
        })
        .collect();
    // Meanwhile a normal request is served.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (status, _) = send(addr, "GET", "/token?user=7", "").await;
    assert_eq!(status, 200);
    for client in slow {
        let closed_after = client.await.expect("client");
        assert!(
            closed_after < Duration::from_secs(3),
            "closed after {closed_after:?}, the head timeout is {head_timeout:?}"
        );
    }
    state.shutdown.trigger();
    within(WAIT, "a step", server)
        .await
        .expect("join")
        .expect("served");
}
