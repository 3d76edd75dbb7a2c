//! The framework-independent half of the server adapters' end-to-end tests (feature `http`).
//!
//! Every adapter (`sse-axum`, `sse-warp`, `sse-actix`) is tested the same way: a real server on
//! 127.0.0.1, real clients ([`crate::http`], and `h2` for HTTP/2). An adapter's test file keeps
//! only its framework glue — starting and stopping the server, mounting the routes below with its
//! own `Sse` — and calls the shared checks here, so that every adapter is held to the same
//! expectations.
//!
//! | route (mounted by the adapter's test)  | stream                        | check                          |
//! | -------------------------------------- | ----------------------------- | ------------------------------ |
//! | `/`                                    | [`hello`]                     | [`check_hello_on_http_1_1`], [`check_http_1_0`], [`check_http_2`] |
//! | `/`                                    | [`pre_encoded`]               | [`check_pre_encoded`]          |
//! | `/vector/{index}`, no keep-alive       | [`Replays::stream`]           | [`check_every_vector`]         |
//! | `/`, 50 ms keep-alive, shutdown        | [`idle`]                      | [`check_keep_alive`], [`check_shutdown_ends_the_stream`] |
//! | `/`, 100 ms keep-alive                 | [`Live::hold`] of [`idle`]    | [`check_client_disconnect`]    |
//! | `/`                                    | [`injected_event_name`]       | [`check_injected_event_name`]  |
//! | `/id`, body `format!("{id:?}")` of the `Last-Event-ID` | —             | [`check_last_event_id`]        |
//! | `/firehose`                            | [`Firehose::stream`]          | [`check_backpressure`]         |
//! | `/events`                              | `Sse::from_broadcast` of a [`Hub::new`] | [`check_hub_replay`]       |
//! | `/events`                              | `Sse::from_broadcast` of a [`stuck_client_hub`] | [`check_hub_stuck_client`] |
//!
//! Every wait is bounded by [`LIMIT`] ([`within`]; [`HUB_LIMIT`] for the hub checks): a server that hangs fails the test instead of
//! hanging it. The checks only use tokio's timers and sockets, so they run on any tokio-based
//! runtime (actix's included).

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures_util::future;
use futures_util::stream::{self, Stream, StreamExt};
use sse_core::{Event, EventError, Frame, KEEP_ALIVE, Parsed, Parser};
use sse_server::Shutdown;
use sse_server::headers::RESPONSE_HEADERS;
use sse_server::hub::{Hub, HubConfig};
use sse_server::last_event_id::MAX_LEN as MAX_LAST_EVENT_ID_LEN;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use crate::http::{BodyEnd, Request, Response};
use crate::replay::{check_replay, replay_events};

/// How long any single wait of a test may take.
pub const LIMIT: Duration = Duration::from_secs(5);

/// Awaits `future`, failing the test after [`LIMIT`].
pub async fn within<F: Future>(future: F) -> F::Output {
    tokio::time::timeout(LIMIT, future)
        .await
        .expect("timed out")
}

/// A `GET` of `target` over HTTP/1.1, its response head read, within [`LIMIT`].
pub async fn fetch(addr: SocketAddr, target: &str) -> Response {
    within(Request::get(target).send(addr))
        .await
        .expect("request")
}

/// Polls `condition` every 10 ms until it holds, failing the test (naming `what`) after
/// [`LIMIT`].
pub async fn wait_until(mut condition: impl FnMut() -> bool, what: &str) {
    let deadline = tokio::time::Instant::now() + LIMIT;
    while !condition() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Counts live streams: each [`Guard`] counts one until it is dropped with the stream that owns
/// it. Clones share the count.
#[derive(Debug, Clone, Default)]
pub struct Live(Arc<AtomicUsize>);

/// One live stream of a [`Live`] count (see [`Live::guard`]).
#[derive(Debug)]
pub struct Guard(Arc<AtomicUsize>);

impl Live {
    /// A count at zero.
    pub fn new() -> Live {
        Live::default()
    }

    /// How many streams are live.
    pub fn count(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }

    /// Counts one more live stream, until the guard is dropped.
    pub fn guard(&self) -> Guard {
        self.0.fetch_add(1, Ordering::SeqCst);
        Guard(self.0.clone())
    }

    /// `stream`, counted as live until it is dropped.
    pub fn hold<S: Stream>(&self, stream: S) -> impl Stream<Item = S::Item> + use<S> {
        let guard = self.guard();
        stream.map(move |item| {
            let _owned = &guard;
            item
        })
    }

    /// Waits until exactly `n` streams are live.
    pub async fn wait_for(&self, n: usize, what: &str) {
        wait_until(|| self.count() == n, what).await;
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

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

/// The payload size of a [`Firehose`] event.
pub const FIREHOSE_EVENT_BYTES: usize = 1024;

/// An endless source of [`FIREHOSE_EVENT_BYTES`] events, produced as fast as the response body
/// pulls them; counts what it produced and the streams that are live. Clones share the counts.
#[derive(Debug, Clone, Default)]
pub struct Firehose {
    produced: Arc<AtomicU64>,
    live: Live,
}

impl Firehose {
    /// Counters at zero.
    pub fn new() -> Firehose {
        Firehose::default()
    }

    /// One more endless stream (live until dropped).
    pub fn stream(&self) -> impl Stream<Item = Result<Event, Infallible>> + Send + use<> {
        let guard = self.live.guard();
        let payload = "x".repeat(FIREHOSE_EVENT_BYTES);
        stream::unfold(
            (guard, self.produced.clone(), payload),
            |(guard, produced, payload)| async move {
                produced.fetch_add(1, Ordering::SeqCst);
                let event = Event::message(payload.clone());
                Some((Ok(event), (guard, produced, payload)))
            },
        )
    }

    /// How many events all the streams produced.
    pub fn produced(&self) -> u64 {
        self.produced.load(Ordering::SeqCst)
    }

    /// How many streams are live.
    pub fn live(&self) -> &Live {
        &self.live
    }
}

/// What [`check_backpressure`] measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stall {
    /// Events produced for the client that never reads when production stopped.
    pub events: u64,
    /// Roughly the bytes they took on the wire (what sits in the socket buffers).
    pub bytes: usize,
}

/// `GET target`, served by `firehose`'s [`Firehose::stream`], from a client that never reads:
/// production stalls once the socket buffers are full (under 64 MiB: no unbounded queue behind
/// the socket), another client still receives 1 MiB, and when the stuck client disconnects (in
/// the middle of an event) its stream is dropped. Prints and returns where production stalled.
pub async fn check_backpressure(addr: SocketAddr, target: &str, firehose: &Firehose) -> Stall {
    assert_eq!(firehose.live().count(), 0, "a fresh firehose");
    // The stuck client: sends its request, never reads a byte.
    let mut stuck = TcpStream::connect(addr).await.expect("connect");
    let request = Request::get(target).header("accept", "text/event-stream");
    stuck
        .write_all(&request.to_bytes(addr))
        .await
        .expect("send the request");
    firehose.live().wait_for(1, "the stuck stream").await;

    // Production stalls once the socket buffers are full: 8 samples 25 ms apart unchanged.
    let mut last = 0;
    let mut stalled_for = 0;
    for _ in 0..200 {
        tokio::time::sleep(Duration::from_millis(25)).await;
        let now = firehose.produced();
        if now == last {
            stalled_for += 1;
            if stalled_for == 8 {
                break;
            }
        } else {
            stalled_for = 0;
            last = now;
        }
    }
    let bytes = usize::try_from(last).unwrap_or(usize::MAX) * (FIREHOSE_EVENT_BYTES + 8);
    assert_eq!(
        stalled_for,
        8,
        "production never stalled ({last} events, ~{} KiB, after 5 s)",
        bytes >> 10
    );
    eprintln!(
        "stuck client: production stalled after {last} events (~{} KiB in socket buffers)",
        bytes >> 10
    );
    assert!(
        bytes < 64 << 20,
        "{bytes} bytes produced for a client that reads nothing"
    );

    // Another client still gets its events.
    let mut other = fetch(addr, target).await;
    let mut received = 0;
    while received < 1 << 20 {
        let chunk = tokio::time::timeout(LIMIT, other.chunk())
            .await
            .expect("the other client is not held up")
            .expect("body")
            .expect("body goes on");
        received += chunk.len();
    }
    drop(other);

    // The stuck client leaves mid-event: its stream is dropped, nothing stays behind.
    drop(stuck);
    firehose
        .live()
        .wait_for(0, "both streams to be dropped")
        .await;
    Stall {
        events: last,
        bytes,
    }
}

/// How long any single wait of the hub checks ([`check_hub_replay`],
/// [`check_hub_stuck_client`]) may take: they move far more data than the others.
pub const HUB_LIMIT: Duration = Duration::from_secs(10);

/// Awaits `future`, failing the test after [`HUB_LIMIT`].
pub async fn within_hub<F: Future>(future: F) -> F::Output {
    tokio::time::timeout(HUB_LIMIT, future)
        .await
        .expect("timed out")
}

/// An open event stream and its parser, read event by event.
#[derive(Debug)]
pub struct EventStream {
    /// The response whose body is the stream.
    pub response: Response,
    parser: Parser,
}

/// An event as [`EventStream::take`] returns it: (event type, last event id, data).
pub type Received = (String, String, String);

impl EventStream {
    /// Sends `request` to `addr` and expects a 200 response (within [`HUB_LIMIT`]).
    pub async fn connect(addr: SocketAddr, request: Request) -> EventStream {
        let response = within_hub(request.send(addr)).await.expect("request");
        assert_eq!(response.status, 200);
        EventStream {
            response,
            parser: Parser::new(),
        }
    }

    /// The events of the next chunk (possibly none); a read that takes longer than
    /// [`HUB_LIMIT`], or the end of the stream, fails the test.
    pub async fn take_some(&mut self) -> Vec<Received> {
        let chunk = within_hub(self.response.chunk())
            .await
            .expect("read")
            .expect("the stream ended");
        let mut out = Vec::new();
        for item in self.parser.feed(&chunk) {
            if let Ok(Parsed::Event(e)) = item {
                out.push((
                    e.event_type().to_owned(),
                    e.last_event_id().to_owned(),
                    e.data().to_owned(),
                ));
            }
        }
        out
    }

    /// The next `n` events; more than `n` in the chunks read fails the test, and so does a
    /// read that takes longer than [`HUB_LIMIT`].
    pub async fn take(&mut self, n: usize) -> Vec<Received> {
        let mut out = Vec::new();
        while out.len() < n {
            out.extend(self.take_some().await);
        }
        assert_eq!(out.len(), n, "more events than expected: {out:?}");
        out
    }
}

fn ids(events: &[Received]) -> Vec<&str> {
    events.iter().map(|(_, id, _)| id.as_str()).collect()
}

/// Waits until `hub` counts `n` subscribers (within [`HUB_LIMIT`]).
pub async fn hub_subscribers(hub: &Hub, n: usize) {
    within_hub(async {
        while hub.subscriber_count() != n {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
}

/// `GET /events`, served by `Sse::from_broadcast` of `hub` (a fresh [`Hub::new`]), resumes after the
/// `Last-Event-ID` header or else the `lastEventId` query parameter, answers an id the hub does
/// not have with the reset frame (`event: sse-reset`, the id as data) and the whole window, and
/// every stream then goes on live.
pub async fn check_hub_replay(addr: SocketAddr, hub: &Hub) {
    assert_eq!(hub.subscriber_count(), 0, "a fresh hub");
    for i in 1..=5 {
        hub.publish(Event::message(format!("m{i}")));
    }

    let mut by_header =
        EventStream::connect(addr, Request::get("/events").header("Last-Event-ID", "2")).await;
    assert_eq!(ids(&by_header.take(3).await), ["3", "4", "5"]);
    let mut by_query = EventStream::connect(addr, Request::get("/events?lastEventId=4")).await;
    assert_eq!(
        by_query.take(1).await[0],
        ("message".into(), "5".into(), "m5".into())
    );
    // An id the hub does not have: the documented reset frame, then the whole window.
    let mut unknown = EventStream::connect(addr, Request::get("/events?lastEventId=nope")).await;
    let got = unknown.take(6).await;
    assert_eq!(got[0], ("sse-reset".into(), String::new(), "nope".into()));
    assert_eq!(ids(&got[1..]), ["1", "2", "3", "4", "5"]);
    let mut live = EventStream::connect(addr, Request::get("/events")).await;
    hub_subscribers(hub, 4).await;

    hub.publish(Event::message("m6"));
    for client in [&mut by_header, &mut by_query, &mut unknown, &mut live] {
        assert_eq!(
            client.take(1).await[0],
            ("message".into(), "6".into(), "m6".into())
        );
    }
}

/// Reads `/events` until `total` events arrived, reconnecting with `Last-Event-ID` when the
/// server ends the stream (as a browser would); counts what it has received in `progress`;
/// returns the numbers received, how many times it reconnected, and the open connection.
async fn read_all(
    addr: SocketAddr,
    total: usize,
    progress: Arc<AtomicUsize>,
) -> (Vec<usize>, usize, Response) {
    let mut seen = Vec::with_capacity(total);
    let mut last_id: Option<String> = None;
    let mut reconnects = 0;
    loop {
        let mut request = Request::get("/events");
        if let Some(id) = &last_id {
            request = request.header("last-event-id", id);
            reconnects += 1;
        }
        let mut response = within_hub(request.send(addr)).await.expect("request");
        let mut parser = Parser::new();
        while let Ok(Some(chunk)) = within_hub(response.chunk()).await {
            for item in parser.feed(&chunk) {
                let Ok(Parsed::Event(e)) = item else { continue };
                assert_eq!(e.event_type(), "message", "events were lost: {}", e.data());
                let number = e.data().split(' ').next().and_then(|n| n.parse().ok());
                seen.push(number.expect("a numbered event"));
                last_id = Some(e.last_event_id().to_owned());
            }
            progress.store(seen.len(), Ordering::Relaxed);
            if seen.len() >= total {
                return (seen, reconnects, response);
            }
        }
    }
}

/// A client that sends its request and never reads. The receive buffer is small, so the
/// server's socket fills quickly.
async fn never_reads(addr: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().expect("socket");
    socket.set_recv_buffer_size(4096).expect("SO_RCVBUF");
    let mut stream = within_hub(socket.connect(addr)).await.expect("connect");
    let request = Request::get("/events").to_bytes(addr);
    stream.write_all(&request).await.expect("send");
    stream
}

/// The most bytes [`stuck_client_hub`] retains.
pub const STUCK_CLIENT_MAX_BYTES: usize = 2 << 20;

/// The hub [`check_hub_stuck_client`] expects: room for 4096 events or
/// [`STUCK_CLIENT_MAX_BYTES`]; a subscriber more than 1024 events behind that made no progress
/// over one sweep interval is dropped (`stall_timeout` zero: the check counts events, not time;
/// its readers are never more than 512 events behind, so they cannot be judged stalled).
pub fn stuck_client_hub() -> Hub {
    Hub::with_config(
        HubConfig::default()
            .capacity(4096)
            .max_bytes(STUCK_CLIENT_MAX_BYTES)
            .max_lag(1024)
            .stall_timeout(Duration::ZERO),
    )
}

/// How many clients [`check_hub_burst`] connects.
pub const BURST_CLIENTS: usize = 1000;

/// `GET /events`, served by `Sse::from_broadcast` of `hub` (a fresh [`Hub::new`], window 1024):
/// bursts published in a tight loop, without yielding, to [`BURST_CLIENTS`] reading clients.
///
/// 1. 1000 events (within the window): every client receives all of them, in order, and no
///    stream is ended (issue 17: a burst longer than 640 events used to end every subscriber).
/// 2. 2048 events (twice the window): nothing is lost silently. Every client receives a
///    strictly increasing sequence of ids ending with the last event, and wherever ids are
///    missing, an `sse-reset` event came first. Most clients see a reset (their tasks could
///    not run while the publisher held the CPU); the count is printed.
/// 3. Still no stream was ended.
pub async fn check_hub_burst(addr: SocketAddr, hub: &Hub) {
    assert_eq!(hub.subscriber_count(), 0, "a fresh hub");
    let mut clients = Vec::with_capacity(BURST_CLIENTS);
    for _ in 0..BURST_CLIENTS {
        clients.push(tokio::spawn(EventStream::connect(
            addr,
            Request::get("/events"),
        )));
    }
    let mut streams = Vec::with_capacity(BURST_CLIENTS);
    for client in clients {
        streams.push(within_hub(client).await.expect("client task"));
    }
    hub_subscribers(hub, BURST_CLIENTS).await;

    // 1. Within the window.
    for i in 1..=1000 {
        hub.publish(Event::message(format!("a{i}")));
    }
    let readers: Vec<_> = streams
        .into_iter()
        .map(|mut stream| {
            tokio::spawn(async move {
                let events = stream.take(1000).await;
                (stream, events)
            })
        })
        .collect();
    let mut streams = Vec::with_capacity(BURST_CLIENTS);
    for reader in readers {
        let (stream, events) = within_hub(reader).await.expect("reader");
        let expected = (1..=1000).map(|i| format!("a{i}"));
        assert!(
            events.iter().map(|(_, _, data)| data.clone()).eq(expected),
            "a client lost events"
        );
        streams.push(stream);
    }
    assert_eq!(hub.subscriber_count(), BURST_CLIENTS, "a stream was ended");

    // 2. Twice the window.
    let last = 1000 + 2048;
    for i in 1001..=last {
        hub.publish(Event::message(format!("b{i}")));
    }
    let readers: Vec<_> = streams
        .into_iter()
        .map(|mut stream| {
            tokio::spawn(async move {
                let mut events = Vec::new();
                while events
                    .last()
                    .is_none_or(|(_, id, _): &Received| id != &last.to_string())
                {
                    events.extend(stream.take_some().await);
                }
                (stream, events)
            })
        })
        .collect();
    let mut reset_clients = 0;
    let mut streams = Vec::with_capacity(BURST_CLIENTS);
    for reader in readers {
        let (stream, events) = within_hub(reader).await.expect("reader");
        let mut previous = 1000;
        let mut reset = false;
        reset_clients += usize::from(events.iter().any(|(t, _, _)| t == "sse-reset"));
        for (event_type, id, _) in &events {
            if event_type == "sse-reset" {
                reset = true;
                continue;
            }
            let id: u64 = id.parse().expect("numeric id");
            assert!(id > previous, "ids go back: {previous} then {id}");
            assert!(
                id == previous + 1 || reset,
                "a silent gap: {previous} then {id}"
            );
            previous = id;
            reset = false;
        }
        assert_eq!(previous, last);
        streams.push(stream);
    }
    eprintln!(
        "burst of 2048 into a window of 1024: {reset_clients} of {BURST_CLIENTS} clients got the reset"
    );
    assert_eq!(hub.subscriber_count(), BURST_CLIENTS, "a stream was ended");
    drop(streams);
    hub_subscribers(hub, 0).await;
}

/// `GET /events`, served by `Sse::from_broadcast` of `hub` (a fresh [`stuck_client_hub`]): a client
/// that never reads does not delay the others. Two readers get 20 000 events of 1 KiB, every
/// one exactly once, in order, without being disconnected, within 8 s; the stuck client's
/// subscription is ended by the lag policy (its connection still open), the hub never retains
/// more than [`STUCK_CLIENT_MAX_BYTES`], and the stuck client, once it reads, finds its body
/// ended. The readers are `tokio::spawn`ed tasks (on actix's runtime too); the publisher yields
/// to them every 100 events.
pub async fn check_hub_stuck_client(addr: SocketAddr, hub: &Hub) {
    const TOTAL: usize = 20_000;
    const READERS: usize = 2;
    const MAX_BYTES: usize = STUCK_CLIENT_MAX_BYTES;
    assert_eq!(hub.subscriber_count(), 0, "a fresh hub");
    let started = Instant::now();

    let mut stuck = never_reads(addr).await;
    hub_subscribers(hub, 1).await;
    let progress: Vec<Arc<AtomicUsize>> = (0..READERS).map(|_| Arc::default()).collect();
    let readers: Vec<_> = progress
        .iter()
        .map(|progress| tokio::spawn(read_all(addr, TOTAL, progress.clone())))
        .collect();
    hub_subscribers(hub, 1 + READERS).await;

    // 20 000 events of 1 KiB (about 20 MB to each client), as fast as the readers take them:
    // the publisher waits whenever it is more than `AHEAD` events ahead of the slowest reader
    // (never of the stuck client). Were the stuck client delaying the others, the publisher
    // would stall here.
    const AHEAD: usize = 512;
    let padding = "x".repeat(1024);
    let mut max_retained = 0;
    for i in 0..TOTAL {
        let slowest = || progress.iter().map(|p| p.load(Ordering::Relaxed)).min();
        within_hub(async {
            while slowest().is_some_and(|slowest| i > slowest + AHEAD) {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        })
        .await;
        hub.publish(Event::message(format!("{i} {padding}")));
        if i % 100 == 99 {
            max_retained = max_retained.max(hub.retained().1);
            tokio::task::yield_now().await;
        }
    }
    let published = started.elapsed();
    let mut connections = Vec::new();
    for reader in readers {
        let (seen, reconnects, response) = within_hub(reader).await.expect("reader");
        assert!(
            seen.iter().copied().eq(0..TOTAL),
            "every event exactly once, in order"
        );
        // Never more than `AHEAD` behind, so never lagging: the lag policy did not touch it.
        assert_eq!(reconnects, 0, "a reader was disconnected");
        connections.push(response);
    }
    // The stuck client's subscription was ended by the lag policy although its connection is
    // still open: only the readers count.
    hub_subscribers(hub, READERS).await;
    let elapsed = started.elapsed();
    eprintln!(
        "published in {published:?}, everything delivered in {elapsed:?}; most retained: \
         {max_retained} bytes (limit {MAX_BYTES})"
    );
    assert!(max_retained <= MAX_BYTES);
    assert!(elapsed < Duration::from_secs(8), "{elapsed:?}");

    // Once the stuck client reads after all, it finds its stream ended (so it would reconnect
    // with its Last-Event-ID): the body ends with the last chunk.
    let mut raw = Vec::new();
    within_hub(async {
        let mut buf = vec![0u8; 64 * 1024];
        while !raw.ends_with(b"\r\n0\r\n\r\n") {
            let n = stuck.read(&mut buf).await.expect("read");
            assert!(n > 0, "closed before the body ended");
            raw.extend_from_slice(&buf[..n]);
        }
    })
    .await;
    eprintln!("the stuck client had {} bytes waiting for it", raw.len());
    drop((stuck, connections));
    hub_subscribers(hub, 0).await;
}
