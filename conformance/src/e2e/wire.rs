//! The wire checks: headers, HTTP/1.0, /1.1 and /2, vectors, keep-alive, disconnect, `Last-Event-ID`, shutdown.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures_util::future;
use futures_util::stream::{self, Stream, StreamExt};
use ssekit::Shutdown;
use ssekit::headers::RESPONSE_HEADERS;
use ssekit::last_event_id::MAX_LEN as MAX_LAST_EVENT_ID_LEN;
use ssekit_proto::{Event, EventError, Frame, KEEP_ALIVE};
use tokio::net::TcpStream;

use crate::http::{BodyEnd, Request, Response};
use crate::replay::{check_replay, replay_events};

use super::{Live, fetch, within};

/// One event, `data: hi`, as a stream of plain events (no `Result`: it cannot fail).
pub fn hello() -> impl Stream<Item = Event> + Send + 'static {
    stream::iter([Event::message("hi")])
}

/// A stream that never yields (only keep-alive comments, or a shutdown, go out).
pub fn idle() -> impl Stream<Item = Result<Event, Infallible>> + Send + 'static {
    stream::pending()
}

/// One frame encoded before the response was made, `id: 1\ndata: pre\n\n`.
pub fn pre_encoded() -> impl Stream<Item = Frame> + Send + 'static {
    let event = Event::builder().id("1").data("pre").build();
    stream::iter(event.map(|e| e.to_frame()))
}

/// `data: before`, then 50 ms later (so that the first event is on the wire) an event whose
/// name would inject a field — an `Err` item — then `data: after`, which must never be sent.
pub fn injected_event_name() -> impl Stream<Item = Result<Event, EventError>> + Send + 'static {
    let bad = async {
        tokio::time::sleep(Duration::from_millis(50)).await;
        Event::builder().event("a\nb").data("x").build()
    };
    stream::iter([Event::builder().data("before").build()])
        .chain(stream::once(bad))
        .chain(stream::iter([Event::builder().data("after").build()]))
}

/// The response to `GET /` is `hello`'s on HTTP/1.1: status, [`RESPONSE_HEADERS`], the
/// `Connection` header the framework writes (`connection`), chunked framing, the body.
pub async fn check_hello_on_http_1_1(addr: SocketAddr, connection: Option<&str>) {
    let mut response = fetch(addr, "/").await;
    assert_eq!(response.status, 200);
    assert_eq!(response.version, "HTTP/1.1");
    for (name, value) in RESPONSE_HEADERS {
        assert_eq!(response.header(name), Some(value), "{name}");
    }
    assert_eq!(response.header("connection"), connection);
    assert_eq!(response.header("transfer-encoding"), Some("chunked"));
    assert_eq!(
        within(response.read_to_end()).await,
        (b"data: hi\n\n".to_vec(), BodyEnd::Complete)
    );
}

/// An HTTP/1.0 `GET /` of [`hello`] gets a close-delimited stream: no chunked framing, the body
/// ends with the connection.
pub async fn check_http_1_0(addr: SocketAddr) {
    let mut response = within(Request::get("/").http_1_0().send(addr))
        .await
        .expect("request");
    assert_eq!(response.status, 200);
    assert_eq!(response.version, "HTTP/1.0");
    assert_eq!(response.header("content-type"), Some("text/event-stream"));
    assert_eq!(response.header("transfer-encoding"), None);
    assert_eq!(
        within(response.read_to_end()).await,
        (b"data: hi\n\n".to_vec(), BodyEnd::Complete)
    );
}

/// An HTTP/2 (prior knowledge) `GET /` of [`hello`]: [`RESPONSE_HEADERS`], no `Connection`
/// header, the body; the connection then ends cleanly.
pub async fn check_http_2(addr: SocketAddr) {
    let tcp = TcpStream::connect(addr).await.expect("connect");
    let (mut client, connection) = within(h2::client::handshake(tcp))
        .await
        .expect("h2 handshake");
    let exchange = async move {
        let request = http::Request::get(format!("http://{addr}/"))
            .body(())
            .expect("request");
        let (response, _) = client.send_request(request, true).expect("send");
        let response = within(response).await.expect("response");
        assert_eq!(response.version(), http::Version::HTTP_2);
        let headers = response.headers();
        for (name, value) in RESPONSE_HEADERS {
            assert_eq!(headers.get(name).expect(name), value, "{name}");
        }
        assert!(headers.get("connection").is_none());
        let mut body = response.into_body();
        let mut received = Vec::new();
        while let Some(data) = within(body.data()).await {
            let data = data.expect("data");
            let _ = body.flow_control().release_capacity(data.len());
            received.extend_from_slice(&data);
        }
        assert_eq!(received, b"data: hi\n\n");
        drop((body, client));
    };
    // The connection is driven alongside the exchange, and ends once the client is dropped.
    let (ended, ()) = future::join(within(connection), exchange).await;
    ended.expect("h2 connection");
}

/// `GET /` of [`pre_encoded`]: the frame passes through as it is.
pub async fn check_pre_encoded(addr: SocketAddr) {
    let mut response = fetch(addr, "/").await;
    assert_eq!(
        within(response.read_to_end()).await,
        (b"id: 1\ndata: pre\n\n".to_vec(), BodyEnd::Complete)
    );
}

/// The events of every conformance vector's replay ([`replay_events`]), by the vector's index.
#[derive(Debug, Clone)]
pub struct Replays(Arc<Vec<Option<Vec<Event>>>>);

impl Replays {
    /// The replays of [`crate::vectors`] (`None` for a vector that cannot be served).
    pub fn new() -> Replays {
        let replays = crate::vectors()
            .iter()
            .map(|vector| replay_events(vector).ok())
            .collect();
        Replays(Arc::new(replays))
    }

    /// Vector `index`'s events (none for a vector that cannot be served, or no vector).
    pub fn stream(&self, index: usize) -> impl Stream<Item = Result<Event, Infallible>> + use<> {
        let events = self.0.get(index).cloned().flatten().unwrap_or_default();
        stream::iter(events).map(Ok)
    }
}

impl Default for Replays {
    fn default() -> Replays {
        Replays::new()
    }
}

/// `GET /vector/{index}` of every servable vector (served by [`Replays::stream`], without
/// keep-alive): each body is complete and parses back to the vector's expected outcome
/// ([`check_replay`]), and more than half the vectors are served.
pub async fn check_every_vector(addr: SocketAddr) {
    let vectors = crate::vectors();
    let mut served = 0;
    let mut failures = Vec::new();
    for (index, vector) in vectors.iter().enumerate() {
        if replay_events(vector).is_err() {
            continue;
        }
        let mut response = fetch(addr, &format!("/vector/{index}")).await;
        let (body, end) = within(response.read_to_end()).await;
        assert_eq!(end, BodyEnd::Complete, "{}", vector.name);
        if let Err(e) = check_replay(vector, &body) {
            failures.push(e);
        }
        served += 1;
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(
        served * 2 > vectors.len(),
        "served only {served} of {}",
        vectors.len()
    );
    eprintln!(
        "{served} of {} vectors served and parsed back",
        vectors.len()
    );
}

/// `GET /` of [`idle`] with a 50 ms keep-alive: the body is keep-alive comments, three of them
/// come in time.
pub async fn check_keep_alive(addr: SocketAddr) {
    let mut response = fetch(addr, "/").await;
    let mut received = Vec::new();
    while received.len() < 3 * KEEP_ALIVE.len() {
        let chunk = within(response.chunk())
            .await
            .expect("body")
            .expect("body goes on");
        received.extend_from_slice(&chunk);
    }
    assert_eq!(received, KEEP_ALIVE.repeat(3));
}

/// `GET /` of an [`idle`] stream held by `live` ([`Live::hold`]) with a 100 ms keep-alive: the
/// stream is live while the client is connected, and dropped soon after the client goes away.
pub async fn check_client_disconnect(addr: SocketAddr, live: &Live) {
    let mut response = fetch(addr, "/").await;
    let first = within(response.chunk())
        .await
        .expect("body")
        .expect("body goes on");
    assert_eq!(first, KEEP_ALIVE);
    assert_eq!(live.count(), 1);
    drop(response);
    live.wait_for(0, "the stream to be dropped").await;
}

/// `GET /` of [`injected_event_name`]: the builder refuses the name, the `Err` item cuts the body
/// after the first event (the client sees an aborted stream), and the server goes on serving.
pub async fn check_injected_event_name(addr: SocketAddr) {
    assert!(matches!(
        Event::builder().event("a\nb").build(),
        Err(EventError::EventNameContainsNewline)
    ));
    let mut response = fetch(addr, "/").await;
    let (body, end) = within(response.read_to_end()).await;
    assert_eq!(end, BodyEnd::Aborted);
    assert_eq!(body, b"data: before\n\n");
    // The server is still serving.
    let mut again = fetch(addr, "/").await;
    assert_eq!(within(again.read_to_end()).await.0, b"data: before\n\n");
}

/// `GET /id`, whose body is `format!("{id:?}")` of the `Last-Event-ID` the adapter extracted:
/// from the header or else the `lastEventId` query parameter, `None` when missing, empty, too
/// long, not UTF-8 or holding a newline.
pub async fn check_last_event_id(addr: SocketAddr) {
    let id = async |request: Request| {
        let mut response = within(request.send(addr)).await.expect("request");
        assert_eq!(response.status, 200);
        let (body, end) = within(response.read_to_end()).await;
        assert_eq!(end, BodyEnd::Complete);
        String::from_utf8(body).expect("UTF-8 body")
    };

    assert_eq!(
        id(Request::get("/id").header("Last-Event-ID", "42")).await,
        r#"Some("42")"#
    );
    assert_eq!(id(Request::get("/id")).await, "None");
    assert_eq!(
        id(Request::get("/id?lastEventId=7%20x")).await,
        r#"Some("7 x")"#
    );
    assert_eq!(
        id(Request::get("/id?lastEventId=7").header("last-event-id", "8")).await,
        r#"Some("8")"#
    );
    assert_eq!(
        id(Request::get("/id").header("last-event-id", "é€")).await,
        r#"Some("é€")"#
    );
    let too_long = "1".repeat(MAX_LAST_EVENT_ID_LEN + 1);
    assert_eq!(
        id(Request::get("/id").header("last-event-id", &too_long)).await,
        "None"
    );
    assert_eq!(
        id(Request::get(&format!("/id?lastEventId={too_long}"))).await,
        "None"
    );
    assert_eq!(
        id(Request::get("/id").header("last-event-id", b"\xff")).await,
        "None"
    );
    assert_eq!(
        id(Request::get("/id").header("last-event-id", "")).await,
        "None"
    );
    assert_eq!(id(Request::get("/id?lastEventId=a%0Ab")).await, "None");
}

/// `GET /` of [`idle`] with a 50 ms keep-alive, ended by `shutdown`: once the first keep-alive
/// has come, triggering `shutdown` ends the body cleanly. Returns the response, its connection
/// still open, so that the caller can check the server stops although the client is connected.
#[must_use = "dropping the response closes the connection"]
pub async fn check_shutdown_ends_the_stream(addr: SocketAddr, shutdown: &Shutdown) -> Response {
    let mut response = fetch(addr, "/").await;
    assert_eq!(
        within(response.chunk())
            .await
            .expect("body")
            .expect("body goes on"),
        KEEP_ALIVE
    );
    shutdown.trigger();
    let (_, end) = within(response.read_to_end()).await;
    assert_eq!(end, BodyEnd::Complete);
    response
}
