//! End to end, per framework: the clock server on `127.0.0.1:0`, the shared HTTP/1.1 test client
//! ([`conformance::http`]), and [`ssekit_proto::Parser`] on what comes back.

use std::future::Future;
use std::io;
use std::net::{SocketAddr, TcpListener};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use conformance::http::{BodyEnd, Request, Response};
use examples::{Clock, ClockState, SeenIds};
use ssekit_proto::{MessageEvent, Parsed, Parser};
use tokio::time::{Instant, timeout};

/// Every wait in these tests is bounded by this.
const WAIT: Duration = Duration::from_secs(10);

/// A framework's `serve`, boxed so the three fit one test.
type Serve = fn(TcpListener, ClockState) -> BoxFuture;
type BoxFuture = Pin<Box<dyn Future<Output = io::Result<()>> + Send>>;

fn axum(listener: TcpListener, state: ClockState) -> BoxFuture {
    Box::pin(examples::clock_axum::serve(listener, state))
}

fn warp(listener: TcpListener, state: ClockState) -> BoxFuture {
    Box::pin(examples::clock_warp::serve(listener, state))
}

fn actix(listener: TcpListener, state: ClockState) -> BoxFuture {
    Box::pin(examples::clock_actix::serve(listener, state))
}

/// A clock server on a free port, with a short tick (the wire format is the default one:
/// `retry: 10000`).
struct Server {
    addr: SocketAddr,
    state: ClockState,
    seen: SeenIds,
    task: tokio::task::JoinHandle<io::Result<()>>,
}

impl Server {
    fn start(serve: Serve) -> Server {
        let listener = examples::bind("127.0.0.1:0".parse().expect("addr")).expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let seen = SeenIds::default();
        let state = ClockState::new()
            .with_clock(Clock {
                tick: Duration::from_millis(100),
                ..Clock::default()
            })
            .record_ids(Arc::clone(&seen));
        let task = tokio::spawn(serve(listener, state.clone()));
        Server {
            addr,
            state,
            seen,
            task,
        }
    }

    fn seen_ids(&self) -> Vec<Option<String>> {
        self.seen.lock().expect("lock").clone()
    }

    /// Waits until every clock stream is dropped (the timer stopped).
    async fn streams_dropped(&self) {
        let until = Instant::now() + WAIT;
        while self.state.live_streams() > 0 {
            assert!(
                Instant::now() < until,
                "the clock stream was not dropped after the client left"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Triggers the shutdown; the server must stop and end its open streams.
    async fn stop(self) {
        self.state.shutdown.trigger();
        timeout(WAIT, self.task)
            .await
            .expect("graceful shutdown in time")
            .expect("server task")
            .expect("server");
        assert_eq!(self.state.live_streams(), 0);
    }
}

/// `GET path` with `headers`, its response head read, within [`WAIT`].
async fn get(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> Response {
    let request = headers
        .iter()
        .fold(Request::get(path), |request, (name, value)| {
            request.header(name, value)
        });
    timeout(WAIT, request.send(addr))
        .await
        .expect("response head in time")
        .expect("request")
}

/// Parses the event stream until `events` events were dispatched; returns them and the retry
/// values seen, each item in order.
async fn events(response: &mut Response, parser: &mut Parser, events: usize) -> Vec<Parsed> {
    let mut out = Vec::new();
    while out.iter().filter(|p| matches!(p, Parsed::Event(_))).count() < events {
        let chunk = timeout(WAIT, response.chunk())
            .await
            .expect("body bytes in time")
            .expect("read")
            .unwrap_or_else(|| panic!("stream ended early: {out:?}"));
        for item in parser.feed(&chunk) {
            out.push(item.expect("no limit errors"));
        }
    }
    out
}

fn event(parsed: &Parsed) -> &MessageEvent {
    match parsed {
        Parsed::Event(event) => event,
        other => panic!("expected an event, got {other:?}"),
    }
}

/// `2026-11-26 06:30:01 UTC`
fn looks_like_time(text: &str) -> bool {
    let b = text.as_bytes();
    b.len() == 23
        && text.ends_with(" UTC")
        && [4, 7].iter().all(|&i| b[i] == b'-')
        && b[10] == b' '
        && [13, 16].iter().all(|&i| b[i] == b':')
        && [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18]
            .iter()
            .all(|&i| b[i].is_ascii_digit())
}

async fn clock_end_to_end(serve: Serve) {
    let server = Server::start(serve);

    // The page.
    let mut page = get(server.addr, "/", &[("Connection", "close")]).await;
    assert_eq!(page.status, 200);
    let content_type = page.header("content-type");
    assert!(
        content_type.is_some_and(|t| t.starts_with("text/html")),
        "{content_type:?}"
    );
    let (body, end) = timeout(WAIT, page.read_to_end())
        .await
        .expect("page in time");
    assert_eq!(end, BodyEnd::Complete);
    let html = String::from_utf8(body).expect("UTF-8 page");
    assert!(html.contains("new EventSource('/stream')"));
    assert_eq!(html, examples::CLOCK_HTML);

    // The stream, first connection.
    let mut stream = get(server.addr, "/stream", &[]).await;
    assert_eq!(stream.status, 200);
    assert_eq!(stream.header("access-control-allow-origin"), Some("*"));
    let content_type = stream.header("content-type");
    assert!(
        content_type.is_some_and(|t| t.starts_with("text/event-stream")),
        "{content_type:?}"
    );
    assert_eq!(stream.header("cache-control"), Some("no-cache"));
    let mut parser = Parser::new();
    let items = events(&mut stream, &mut parser, 3).await;
    // The first frame: `retry: 10000`, `event: connecttime`, `data: <time>`.
    assert_eq!(
        items[0],
        Parsed::Retry(Duration::from_secs(10)),
        "{items:?}"
    );
    let connect = event(&items[1]);
    assert_eq!(connect.event_type(), "connecttime");
    assert!(looks_like_time(connect.data()), "{connect:?}");
    assert_eq!(connect.last_event_id(), "");
    for (item, id) in items[2..].iter().zip(["1", "2"]) {
        let tick = event(item);
        assert_eq!(tick.event_type(), "message");
        assert_eq!(tick.last_event_id(), id);
        assert!(looks_like_time(tick.data()), "{tick:?}");
    }

    // The client leaves: the server drops the stream, and its timer with it.
    drop(stream);
    server.streams_dropped().await;

    // A reconnecting client: ids go on after its Last-Event-ID.
    let mut stream = get(server.addr, "/stream", &[("Last-Event-ID", "41")]).await;
    let mut parser = Parser::new();
    let items = events(&mut stream, &mut parser, 2).await;
    assert_eq!(event(&items[1]).event_type(), "connecttime");
    assert_eq!(event(&items[2]).last_event_id(), "42");
    drop(stream);

    // An id that is not a number starts over.
    let mut stream = get(server.addr, "/stream", &[("Last-Event-ID", "abc")]).await;
    let mut parser = Parser::new();
    let items = events(&mut stream, &mut parser, 2).await;
    assert_eq!(event(&items[2]).last_event_id(), "1");

    assert_eq!(
        server.seen_ids(),
        [None, Some("41".to_owned()), Some("abc".to_owned())]
    );

    // Shutdown ends the open stream cleanly (its last chunk is sent) and the server stops.
    let stopping = tokio::spawn(server.stop());
    let (_, end) = timeout(WAIT, stream.read_to_end())
        .await
        .expect("the stream ends in time");
    assert_eq!(
        end,
        BodyEnd::Complete,
        "the body ended with its last chunk, not a cut connection"
    );
    // Let the connection go, as a browser would until it reconnects: servers may wait for idle
    // keep-alive connections during a graceful shutdown.
    drop(stream);
    stopping.await.expect("server stopped");
}

#[tokio::test]
async fn clock_axum() {
    clock_end_to_end(axum).await;
}

#[tokio::test]
async fn clock_warp() {
    clock_end_to_end(warp).await;
}

#[tokio::test]
async fn clock_actix() {
    clock_end_to_end(actix).await;
}
