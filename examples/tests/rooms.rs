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
    let mut stream = within(WAIT, "a step", TcpStream::connect(addr))
        .await
        .expect("connect");
    let request = format!(
        "{method} {target} HTTP/1.1\r\nhost: {addr}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
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
    let state = RoomsState::new(b"test secret", rooms_axum::install_metrics());
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

    let (status, metrics) = send(addr, "GET", "/metrics", "").await;
    assert_eq!(status, 200);
    assert!(
        metrics.contains("sse_broker_events_published_total"),
        "{metrics}"
    );

    drop((alice, bob));
    state.shutdown.trigger();
    within(WAIT, "a step", server)
        .await
        .expect("join")
        .expect("served");
}
