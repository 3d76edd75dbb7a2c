//! The broadcast checks: replay, bursts, a client that never reads; [`EventStream`], a reader of events over HTTP.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use ssekit::hub::{Hub, HubConfig};
use ssekit_proto::{Event, MessageEvent};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use crate::events::{Decoder, message};
use crate::http::{Request, Response};

/// How long any single wait of the hub checks ([`check_hub_replay`],
/// [`check_hub_stuck_client`]) may take: they move far more data than the others.
pub const HUB_LIMIT: Duration = Duration::from_secs(10);

/// Awaits `future`, failing the test after [`HUB_LIMIT`] ([`crate::wait::within`] with the
/// hub checks' limit).
pub async fn within_hub<F: Future>(future: F) -> F::Output {
    crate::wait::within(HUB_LIMIT, "a hub check step", future).await
}

/// An open event stream, read event by event (through [`Decoder`]).
#[derive(Debug)]
pub struct EventStream {
    /// The response whose body is the stream.
    pub response: Response,
    decoder: Decoder,
}

impl EventStream {
    /// Sends `request` to `addr` and expects a 200 response (within [`HUB_LIMIT`]).
    pub async fn connect(addr: SocketAddr, request: Request) -> EventStream {
        let response = within_hub(request.send(addr)).await.expect("request");
        assert_eq!(response.status, 200);
        EventStream {
            response,
            decoder: Decoder::new(),
        }
    }

    /// The events of the next chunk (possibly none); a read that takes longer than
    /// [`HUB_LIMIT`], or the end of the stream, fails the test.
    pub async fn take_some(&mut self) -> Vec<MessageEvent> {
        let chunk = within_hub(self.response.chunk())
            .await
            .expect("read")
            .expect("the stream ended");
        self.decoder.feed(&chunk)
    }

    /// The next `n` events; more than `n` in the chunks read fails the test, and so does a
    /// read that takes longer than [`HUB_LIMIT`].
    pub async fn take(&mut self, n: usize) -> Vec<MessageEvent> {
        let mut out = Vec::new();
        while out.len() < n {
            out.extend(self.take_some().await);
        }
        assert_eq!(out.len(), n, "more events than expected: {out:?}");
        out
    }
}

fn ids(events: &[MessageEvent]) -> Vec<&str> {
    events.iter().map(MessageEvent::last_event_id).collect()
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
    assert_eq!(by_query.take(1).await, [message("m5", "5")]);
    // An id the hub does not have: the documented reset frame, then the whole window.
    let mut unknown = EventStream::connect(addr, Request::get("/events?lastEventId=nope")).await;
    let got = unknown.take(6).await;
    assert_eq!(got[0], MessageEvent::new("sse-reset", "nope", ""));
    assert_eq!(ids(&got[1..]), ["1", "2", "3", "4", "5"]);
    let mut live = EventStream::connect(addr, Request::get("/events")).await;
    hub_subscribers(hub, 4).await;

    hub.publish(Event::message("m6"));
    for client in [&mut by_header, &mut by_query, &mut unknown, &mut live] {
        assert_eq!(client.take(1).await, [message("m6", "6")]);
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
        let mut decoder = Decoder::new();
        while let Ok(Some(chunk)) = within_hub(response.chunk()).await {
            for e in decoder.feed(&chunk) {
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
            events.iter().map(|e| e.data().to_owned()).eq(expected),
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
                    .is_none_or(|e: &MessageEvent| e.last_event_id() != last.to_string())
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
        reset_clients += usize::from(events.iter().any(|e| e.event_type() == "sse-reset"));
        for event in &events {
            if event.event_type() == "sse-reset" {
                reset = true;
                continue;
            }
            let id: u64 = event.last_event_id().parse().expect("numeric id");
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
/// more than [`STUCK_CLIENT_MAX_BYTES`], and the stuck client, once it reads, finds its
/// connection aborted (not a completed body). The readers are `tokio::spawn`ed tasks (on actix's runtime too); the publisher yields
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

    // Once the stuck client reads after all, it finds its connection closed after what was
    // buffered (so it reconnects with its Last-Event-ID): a stream ended by the stall rule is
    // not completed as if it were over (no last chunk), the server aborts the connection
    // (`ssekit::Stalled`).
    let mut raw = Vec::new();
    within_hub(async {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match stuck.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => raw.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    assert!(
        !raw.ends_with(b"\r\n0\r\n\r\n"),
        "a stalled stream's body was completed instead of aborted"
    );
    eprintln!("the stuck client had {} bytes waiting for it", raw.len());
    drop((stuck, connections));
    hub_subscribers(hub, 0).await;
}
