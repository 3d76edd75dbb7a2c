//! End to end, per framework: the clock server on `127.0.0.1:0`, a raw HTTP/1.1 client over a
//! tokio `TcpStream`, and [`sse_core::Parser`] on what comes back.

use std::future::Future;
use std::io;
use std::net::{SocketAddr, TcpListener};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use examples::{Clock, ClockState, SeenIds};
use sse_core::{MessageEvent, Parsed, Parser};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
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

/// One HTTP/1.1 response, read incrementally.
struct Response {
    stream: TcpStream,
    status: u16,
    /// Lower-cased names.
    headers: Vec<(String, String)>,
    chunked: bool,
    /// Raw bytes read past what was decoded.
    pending: Vec<u8>,
    /// The chunked body's last chunk was read.
    complete: bool,
}

impl Response {
    async fn get(addr: SocketAddr, path: &str, extra_headers: &str) -> Response {
        let mut stream = timeout(WAIT, TcpStream::connect(addr))
            .await
            .expect("connect in time")
            .expect("connect");
        let request =
            format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nAccept: */*\r\n{extra_headers}\r\n");
        stream.write_all(request.as_bytes()).await.expect("send");
        let mut buf = Vec::new();
        let end = loop {
            if let Some(end) = find(&buf, b"\r\n\r\n") {
                break end;
            }
            let mut chunk = [0u8; 4096];
            let n = timeout(WAIT, stream.read(&mut chunk))
                .await
                .expect("response head in time")
                .expect("read");
            assert!(n > 0, "connection closed before the response head");
            buf.extend_from_slice(&chunk[..n]);
        };
        let head = String::from_utf8(buf[..end].to_vec()).expect("UTF-8 head");
        let mut lines = head.split("\r\n");
        let status = lines
            .next()
            .and_then(|line| line.split(' ').nth(1))
            .and_then(|code| code.parse().ok())
            .expect("status line");
        let headers: Vec<(String, String)> = lines
            .filter_map(|line| line.split_once(':'))
            .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        let chunked = headers
            .iter()
            .any(|(n, v)| n == "transfer-encoding" && v.contains("chunked"));
        Response {
            stream,
            status,
            headers,
            chunked,
            pending: buf[end + 4..].to_vec(),
            complete: false,
        }
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The next body bytes (de-chunked); empty at the end of the body.
    async fn next_bytes(&mut self) -> Vec<u8> {
        loop {
            if !self.chunked {
                if !self.pending.is_empty() {
                    return std::mem::take(&mut self.pending);
                }
            } else if let Some(line_end) = find(&self.pending, b"\r\n") {
                let size_text = std::str::from_utf8(&self.pending[..line_end]).expect("chunk size");
                let size =
                    usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
                        .expect("hex chunk size");
                if size == 0 {
                    self.complete = true;
                    return Vec::new();
                }
                if self.pending.len() >= line_end + 2 + size + 2 {
                    let data = self.pending[line_end + 2..line_end + 2 + size].to_vec();
                    self.pending.drain(..line_end + 2 + size + 2);
                    return data;
                }
            }
            let mut chunk = [0u8; 4096];
            let n = timeout(WAIT, self.stream.read(&mut chunk))
                .await
                .expect("body bytes in time")
                .expect("read");
            if n == 0 {
                assert!(!self.chunked || self.pending.is_empty(), "body cut short");
                return Vec::new();
            }
            self.pending.extend_from_slice(&chunk[..n]);
        }
    }

    /// Reads the whole body (for responses that end).
    async fn body(mut self) -> Vec<u8> {
        let mut body = Vec::new();
        loop {
            let bytes = self.next_bytes().await;
            if bytes.is_empty() {
                return body;
            }
            body.extend_from_slice(&bytes);
        }
    }

    /// Parses the event stream until `events` events were dispatched; returns them and the
    /// retry values seen, each item in order.
    async fn events(&mut self, parser: &mut Parser, events: usize) -> Vec<Parsed> {
        let mut out = Vec::new();
        while out.iter().filter(|p| matches!(p, Parsed::Event(_))).count() < events {
            let bytes = self.next_bytes().await;
            assert!(!bytes.is_empty(), "stream ended early: {out:?}");
            for item in parser.feed(&bytes) {
                out.push(item.expect("no limit errors"));
            }
        }
        out
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
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
    let page = Response::get(server.addr, "/", "Connection: close\r\n").await;
    assert_eq!(page.status, 200);
    assert!(
        page.header("content-type")
            .is_some_and(|t| t.starts_with("text/html")),
        "{:?}",
        page.headers
    );
    let html = String::from_utf8(page.body().await).expect("UTF-8 page");
    assert!(html.contains("new EventSource('/stream')"));
    assert_eq!(html, examples::CLOCK_HTML);

    // The stream, first connection.
    let mut stream = Response::get(server.addr, "/stream", "").await;
    assert_eq!(stream.status, 200);
    assert_eq!(stream.header("access-control-allow-origin"), Some("*"));
    assert!(
        stream
            .header("content-type")
            .is_some_and(|t| t.starts_with("text/event-stream")),
        "{:?}",
        stream.headers
    );
    assert_eq!(stream.header("cache-control"), Some("no-cache"));
    let mut parser = Parser::new();
    let items = stream.events(&mut parser, 3).await;
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
    let mut stream = Response::get(server.addr, "/stream", "Last-Event-ID: 41\r\n").await;
    let mut parser = Parser::new();
    let items = stream.events(&mut parser, 2).await;
    assert_eq!(event(&items[1]).event_type(), "connecttime");
    assert_eq!(event(&items[2]).last_event_id(), "42");
    drop(stream);

    // An id that is not a number starts over.
    let mut stream = Response::get(server.addr, "/stream", "Last-Event-ID: abc\r\n").await;
    let mut parser = Parser::new();
    let items = stream.events(&mut parser, 2).await;
    assert_eq!(event(&items[2]).last_event_id(), "1");

    assert_eq!(
        server.seen_ids(),
        [None, Some("41".to_owned()), Some("abc".to_owned())]
    );

    // Shutdown ends the open stream cleanly (its last chunk is sent) and the server stops.
    let stopping = tokio::spawn(server.stop());
    while !stream.next_bytes().await.is_empty() {}
    assert!(
        stream.complete,
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
