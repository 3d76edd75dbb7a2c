//! A firehose stream to a client that stops reading: the server does not buffer without bound.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures_util::stream::{self, Stream};
use ssekit_proto::Event;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use crate::http::Request;

use super::{LIMIT, Live, fetch};

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
