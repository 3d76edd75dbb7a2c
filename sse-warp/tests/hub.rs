//! `Sse::from_hub` end to end: a real warp server on 127.0.0.1 serving a [`Hub`], real HTTP
//! clients (`conformance::http`, and a raw socket for a client that never reads).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use conformance::http::{Request, Response};
use sse_core::{Parsed, Parser};
use sse_warp::{Event, Hub, HubConfig, LastEventId, Shutdown, Sse};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::task::JoinHandle;
use warp::Filter;

const LIMIT: Duration = Duration::from_secs(10);

/// Awaits `future`, failing the test after [`LIMIT`].
async fn within<F: std::future::Future>(future: F) -> F::Output {
    tokio::time::timeout(LIMIT, future)
        .await
        .expect("timed out")
}

/// A server on 127.0.0.1, port 0, serving `hub` at `/events` with the one-call wiring.
struct Server {
    addr: SocketAddr,
    shutdown: Shutdown,
    task: JoinHandle<()>,
}

impl Server {
    async fn start(hub: Hub) -> Server {
        let shutdown = Shutdown::new();
        let events = warp::path("events")
            .and(warp::get())
            .and(sse_warp::last_event_id())
            .map({
                let shutdown = shutdown.clone();
                move |last_event_id: LastEventId| {
                    Sse::from_hub(&hub, &last_event_id).shutdown_on(shutdown.signal())
                }
            });
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local address");
        let server = warp::serve(events)
            .incoming(listener)
            .graceful(shutdown.signal());
        let task = tokio::spawn(server.run());
        Server {
            addr,
            shutdown,
            task,
        }
    }

    async fn stop(self) {
        self.shutdown.trigger();
        within(self.task).await.expect("server task");
    }
}

/// An open event stream and its parser.
struct Client {
    response: Response,
    parser: Parser,
}

/// (event type, id, data)
type Received = (String, String, String);

impl Client {
    async fn connect(addr: SocketAddr, request: Request) -> Client {
        let response = within(request.send(addr)).await.expect("request");
        assert_eq!(response.status, 200);
        Client {
            response,
            parser: Parser::new(),
        }
    }

    /// The next `n` events.
    async fn take(&mut self, n: usize) -> Vec<Received> {
        let mut out = Vec::new();
        while out.len() < n {
            let chunk = within(self.response.chunk())
                .await
                .expect("read")
                .expect("the stream ended");
            for item in self.parser.feed(&chunk) {
                if let Ok(Parsed::Event(e)) = item {
                    out.push((
                        e.event_type().to_owned(),
                        e.last_event_id().to_owned(),
                        e.data().to_owned(),
                    ));
                }
            }
        }
        assert_eq!(out.len(), n, "more events than expected: {out:?}");
        out
    }
}

fn ids(events: &[Received]) -> Vec<&str> {
    events.iter().map(|(_, id, _)| id.as_str()).collect()
}

/// Waits until the hub counts `n` subscribers.
async fn subscribers(hub: &Hub, n: usize) {
    within(async {
        while hub.subscriber_count() != n {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
}

#[tokio::test]
async fn replay_after_the_header_or_the_query_parameter_then_live() {
    let hub = Hub::new();
    for i in 1..=5 {
        hub.publish(Event::message(format!("m{i}")));
    }
    let server = Server::start(hub.clone()).await;

    let mut by_header = Client::connect(
        server.addr,
        Request::get("/events").header("Last-Event-ID", "2"),
    )
    .await;
    assert_eq!(ids(&by_header.take(3).await), ["3", "4", "5"]);
    let mut by_query = Client::connect(server.addr, Request::get("/events?lastEventId=4")).await;
    assert_eq!(
        by_query.take(1).await[0],
        ("message".into(), "5".into(), "m5".into())
    );
    // An id the hub does not have: the documented reset frame, then the whole window.
    let mut unknown = Client::connect(server.addr, Request::get("/events?lastEventId=nope")).await;
    let got = unknown.take(6).await;
    assert_eq!(got[0], ("sse-reset".into(), String::new(), "nope".into()));
    assert_eq!(ids(&got[1..]), ["1", "2", "3", "4", "5"]);
    let mut live = Client::connect(server.addr, Request::get("/events")).await;
    subscribers(&hub, 4).await;

    hub.publish(Event::message("m6"));
    for client in [&mut by_header, &mut by_query, &mut unknown, &mut live] {
        assert_eq!(
            client.take(1).await[0],
            ("message".into(), "6".into(), "m6".into())
        );
    }
    server.stop().await;
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
        let mut response = within(request.send(addr)).await.expect("request");
        let mut parser = Parser::new();
        while let Ok(Some(chunk)) = within(response.chunk()).await {
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
    let mut stream = within(socket.connect(addr)).await.expect("connect");
    let request = Request::get("/events").to_bytes(addr);
    stream.write_all(&request).await.expect("send");
    stream
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_reads_does_not_delay_the_others() {
    const TOTAL: usize = 20_000;
    const READERS: usize = 2;
    const MAX_BYTES: usize = 2 << 20;
    let hub = Hub::with_config(
        HubConfig::default()
            .capacity(4096)
            .max_bytes(MAX_BYTES)
            .max_lag(1024),
    );
    let server = Server::start(hub.clone()).await;
    let started = Instant::now();

    let mut stuck = never_reads(server.addr).await;
    subscribers(&hub, 1).await;
    let progress: Vec<Arc<AtomicUsize>> = (0..READERS).map(|_| Arc::default()).collect();
    let readers: Vec<_> = progress
        .iter()
        .map(|progress| tokio::spawn(read_all(server.addr, TOTAL, progress.clone())))
        .collect();
    subscribers(&hub, 1 + READERS).await;

    // 20 000 events of 1 KiB (about 20 MB to each client), as fast as the readers take them:
    // the publisher waits whenever it is more than `AHEAD` events ahead of the slowest reader
    // (never of the stuck client). Were the stuck client delaying the others, the publisher
    // would stall here.
    const AHEAD: usize = 512;
    let padding = "x".repeat(1024);
    let mut max_retained = 0;
    for i in 0..TOTAL {
        let slowest = || progress.iter().map(|p| p.load(Ordering::Relaxed)).min();
        within(async {
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
        let (seen, reconnects, response) = within(reader).await.expect("reader");
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
    subscribers(&hub, READERS).await;
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
    within(async {
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
    subscribers(&hub, 0).await;
    server.stop().await;
}
