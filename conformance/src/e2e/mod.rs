//! The framework-independent half of the server adapters' end-to-end tests (feature `http`).
//!
//! Every adapter (`ssekit-axum`, `ssekit-warp`, `ssekit-actix-web`) is tested the same way: a real server on
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
//! | `/events`                              | `Sse::from_broadcast` of a [`Hub::new`](ssekit::hub::Hub::new) | [`check_hub_replay`], [`check_hub_burst`] |
//! | `/events`                              | `Sse::from_broadcast` of a [`stuck_client_hub`] | [`check_hub_stuck_client`] |
//!
//! The checks live in four files: this one (bounded waits, [`Live`] stream counting), `wire`
//! (headers, HTTP versions, vectors, keep-alive, disconnect, `Last-Event-ID`, shutdown),
//! `backpressure` ([`Firehose`]) and `hub` (the broadcast checks and [`EventStream`]); all are
//! re-exported here.
//!
//! Every wait is bounded by [`LIMIT`] ([`within`]; [`HUB_LIMIT`] for the hub checks): a server that hangs fails the test instead of
//! hanging it. The checks only use tokio's timers and sockets, so they run on any tokio-based
//! runtime (actix's included).

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures_util::stream::{Stream, StreamExt};

use crate::http::{Request, Response};

mod backpressure;
mod hub;
mod wire;

pub use backpressure::*;
pub use hub::*;
pub use wire::*;

/// How long any single wait of a test may take.
pub const LIMIT: Duration = Duration::from_secs(5);

/// Awaits `future`, failing the test after [`LIMIT`] ([`crate::wait::within`] with this
/// crate's limit).
pub async fn within<F: Future>(future: F) -> F::Output {
    crate::wait::within(LIMIT, "an end-to-end step", future).await
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
