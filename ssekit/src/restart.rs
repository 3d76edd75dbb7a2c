//! Rolling restarts: tell clients when to come back, and spread them out when an instance
//! stops.
//!
//! An `EventSource` reconnects by itself after its stream ends, waiting its *reconnection
//! time*, which the server sets with a `retry:` field (the browser's default is about 3 s).
//! A [`RestartPolicy`] wraps a subscriber's stream so that
//!
//! - its first frame is `retry: <retry>`: the reconnection time is the server's choice;
//! - when the [`Shutdown`] it watches is triggered, the stream ends cleanly, and its last frame
//!   is one more `retry:`, of `retry` plus a random part of `spread`: the clients of an
//!   instance that stops come back spread out over `spread`, not all in the same millisecond,
//!   and each resumes after its `Last-Event-ID` on whichever instance it reaches.
//!
//! The randomness is a [`Jitter`] ([`OsJitter`] by default); a test gives a fixed one.
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
//! use std::time::Duration;
//! use futures_util::StreamExt;
//! use ssekit::restart::RestartPolicy;
//! use ssekit::{Event, Shutdown, hub::Hub};
//!
//! let hub = Hub::new();
//! let shutdown = Shutdown::new();
//! let policy = RestartPolicy::new(Duration::from_secs(1))
//!     .spread(Duration::from_secs(3))
//!     .jitter(|_spread: Duration| Duration::from_millis(1500)); // a fixed draw, for the example
//! let mut frames = policy.wrap(hub.subscribe(None), &shutdown);
//! assert_eq!(frames.next().await.unwrap(), &b"retry: 1000\n\n"[..]);
//! hub.publish(Event::message("one"));
//! assert_eq!(frames.next().await.unwrap(), &b"id: 1\ndata: one\n\n"[..]);
//! shutdown.trigger();
//! assert_eq!(frames.next().await.unwrap(), &b"retry: 2500\n\n"[..]);
//! assert!(frames.next().await.is_none());
//! # });
//! ```
//!
//! An adapter serves the wrapped stream as any other (`Sse::new(policy.wrap(sub, &shutdown))`
//! in `ssekit-axum`), and the server stops with a graceful shutdown on the same handle.

use std::collections::hash_map::RandomState;
use std::fmt;
use std::future::Future;
use std::hash::BuildHasher;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_core::Stream;
use ssekit_proto::{Event, Frame};

use crate::Shutdown;
use crate::body::ShutdownSignal;

/// Where the random part of the last `retry:` comes from: a duration in `0..=spread`.
///
/// Any `Fn(Duration) -> Duration` is one (handy for a fixed draw in a test); a result above
/// `spread` is taken as `spread`.
pub trait Jitter: Send + Sync + 'static {
    /// A duration in `0..=spread`.
    fn pick(&self, spread: Duration) -> Duration;
}

impl<F> Jitter for F
where
    F: Fn(Duration) -> Duration + Send + Sync + 'static,
{
    fn pick(&self, spread: Duration) -> Duration {
        self(spread)
    }
}

/// Uniform jitter at millisecond resolution, seeded from the operating system for each draw
/// (through `std`'s `RandomState`: enough for spreading reconnections, no dependency). The
/// default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OsJitter;

impl Jitter for OsJitter {
    fn pick(&self, spread: Duration) -> Duration {
        let millis = u64::try_from(spread.as_millis()).unwrap_or(u64::MAX);
        if millis == 0 {
            return Duration::ZERO;
        }
        let random = RandomState::new().hash_one(0u8);
        Duration::from_millis(random % millis.saturating_add(1))
    }
}

/// How a subscriber's stream starts and ends around a rolling restart. See the
/// [module docs](self).
#[derive(Clone)]
#[must_use = "a policy does nothing until it wraps a stream"]
pub struct RestartPolicy {
    retry: Duration,
    spread: Duration,
    jitter: Arc<dyn Jitter>,
}

impl fmt::Debug for RestartPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RestartPolicy")
            .field("retry", &self.retry)
            .field("spread", &self.spread)
            .finish_non_exhaustive()
    }
}

impl Default for RestartPolicy {
    /// `retry` 2 s, `spread` 3 s, [`OsJitter`].
    fn default() -> Self {
        RestartPolicy::new(Duration::from_secs(2)).spread(Duration::from_secs(3))
    }
}

impl RestartPolicy {
    /// Sends `retry` first; on shutdown, `retry` again (no spread until [`spread`](Self::spread)
    /// sets one).
    pub fn new(retry: Duration) -> RestartPolicy {
        RestartPolicy {
            retry,
            spread: Duration::ZERO,
            jitter: Arc::new(OsJitter),
        }
    }

    /// On shutdown, the last `retry:` is `retry` plus a random part of `spread` (in
    /// `0..=spread`).
    pub fn spread(mut self, spread: Duration) -> RestartPolicy {
        self.spread = spread;
        self
    }

    /// Where the random part comes from (default [`OsJitter`]).
    pub fn jitter(mut self, jitter: impl Jitter) -> RestartPolicy {
        self.jitter = Arc::new(jitter);
        self
    }

    /// See [`new`](Self::new). Getters are the setters' names with `get_`.
    pub fn get_retry(&self) -> Duration {
        self.retry
    }

    /// See [`spread`](Self::spread).
    pub fn get_spread(&self) -> Duration {
        self.spread
    }

    /// The first frame of every connection: `retry: <retry>`.
    pub fn first_frame(&self) -> Frame {
        retry_frame(self.retry)
    }

    /// A last frame: `retry:` with `retry` plus a fresh draw in `0..=spread`.
    pub fn last_frame(&self) -> Frame {
        let jitter = self.jitter.pick(self.spread).min(self.spread);
        retry_frame(self.retry.saturating_add(jitter))
    }

    /// `subscription` with [`first_frame`](Self::first_frame) before it, ended when `shutdown`
    /// is triggered (or when it ends by itself), then a [`last_frame`](Self::last_frame).
    ///
    /// The stream watches `shutdown`'s [`signal`](Shutdown::signal) and holds no handle of its
    /// own: as for every stream that watches a [`Shutdown`], dropping every handle counts as a
    /// shutdown, so keep one for as long as the server runs.
    ///
    /// The last frame is drawn now, once per connection. The subscription is pinned in a box,
    /// so any stream will do (no `Unpin` needed).
    pub fn wrap<S>(&self, subscription: S, shutdown: &Shutdown) -> Restarting<S>
    where
        S: Stream<Item = Frame>,
    {
        Restarting {
            first: Some(self.first_frame()),
            inner: Some(Box::pin(subscription)),
            stop: shutdown.signal(),
            last: Some(self.last_frame()),
        }
    }
}

/// A frame with only a `retry:` field: the client's reconnection time, in whole milliseconds.
pub fn retry_frame(retry: Duration) -> Frame {
    Event::builder()
        .retry(retry)
        .build()
        .expect("a retry-only event has no field to refuse")
        .to_frame()
}

/// The stream of [`RestartPolicy::wrap`].
#[must_use = "streams do nothing unless polled"]
pub struct Restarting<S> {
    first: Option<Frame>,
    /// `None` once shut down or ended.
    inner: Option<Pin<Box<S>>>,
    stop: ShutdownSignal,
    last: Option<Frame>,
}

impl<S> fmt::Debug for Restarting<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Restarting")
            .field("started", &self.first.is_none())
            .field("running", &self.inner.is_some())
            .finish_non_exhaustive()
    }
}

impl<S: Stream<Item = Frame>> Stream for Restarting<S> {
    type Item = Frame;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Frame>> {
        let this = self.get_mut();
        if let Some(first) = this.first.take() {
            return Poll::Ready(Some(first));
        }
        if let Some(inner) = &mut this.inner {
            // The shutdown first, as `take_until` does: a triggered handle ends the stream
            // even when frames are ready.
            if Pin::new(&mut this.stop).poll(cx).is_ready() {
                this.inner = None;
            } else {
                match inner.as_mut().poll_next(cx) {
                    Poll::Ready(Some(frame)) => return Poll::Ready(Some(frame)),
                    Poll::Ready(None) => this.inner = None,
                    Poll::Pending => return Poll::Pending,
                }
            }
        }
        Poll::Ready(this.last.take())
    }

    /// What is ready without waiting: the first frame, then what the subscription says is
    /// ready (so a body batches the same frames it would without the wrapper, and never polls
    /// a caught-up subscription on its own).
    fn size_hint(&self) -> (usize, Option<usize>) {
        let first = usize::from(self.first.is_some());
        match &self.inner {
            Some(inner) => (first + inner.size_hint().0, None),
            None => {
                let last = usize::from(self.last.is_some());
                (first + last, Some(first + last))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Polls `stream` once, with a waker that does nothing.
    fn poll<S: Stream + Unpin>(stream: &mut S) -> Poll<Option<S::Item>> {
        let mut cx = Context::from_waker(std::task::Waker::noop());
        Pin::new(stream).poll_next(&mut cx)
    }

    fn frames(items: &[&str]) -> impl Stream<Item = Frame> + Unpin {
        Iter(
            items
                .iter()
                .map(|d| Event::message(*d).to_frame())
                .collect::<Vec<_>>()
                .into_iter(),
        )
    }

    struct Iter(std::vec::IntoIter<Frame>);

    impl Stream for Iter {
        type Item = Frame;
        fn poll_next(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Frame>> {
            Poll::Ready(self.get_mut().0.next())
        }
        fn size_hint(&self) -> (usize, Option<usize>) {
            self.0.size_hint()
        }
    }

    /// A stream that never yields.
    struct Quiet;

    impl Stream for Quiet {
        type Item = Frame;
        fn poll_next(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Frame>> {
            Poll::Pending
        }
    }

    #[test]
    fn retry_first_then_the_stream_then_a_last_retry_when_it_ends() {
        let policy = RestartPolicy::new(Duration::from_secs(2));
        let shutdown = Shutdown::new(); // kept: dropping every handle counts as a shutdown
        let mut s = policy.wrap(frames(&["a"]), &shutdown);
        assert_eq!(s.size_hint().0, 2, "the first frame and `a` are ready");
        assert_eq!(
            poll(&mut s),
            Poll::Ready(Some(retry_frame(Duration::from_secs(2))))
        );
        assert_eq!(
            poll(&mut s),
            Poll::Ready(Some(Event::message("a").to_frame()))
        );
        assert_eq!(
            poll(&mut s),
            Poll::Ready(Some(retry_frame(Duration::from_secs(2))))
        );
        assert_eq!(poll(&mut s), Poll::Ready(None));
    }

    #[test]
    fn a_shutdown_ends_the_stream_with_a_spread_out_retry() {
        let shutdown = Shutdown::new();
        let policy = RestartPolicy::new(Duration::from_secs(1))
            .spread(Duration::from_secs(3))
            .jitter(|spread: Duration| spread / 2);
        let mut s = policy.wrap(Quiet, &shutdown);
        assert!(matches!(poll(&mut s), Poll::Ready(Some(_))));
        assert_eq!(poll(&mut s), Poll::Pending);
        shutdown.trigger();
        assert_eq!(
            poll(&mut s),
            Poll::Ready(Some(retry_frame(Duration::from_millis(2500))))
        );
        assert_eq!(poll(&mut s), Poll::Ready(None));
    }

    #[test]
    fn a_triggered_shutdown_wins_over_ready_frames() {
        let shutdown = Shutdown::new();
        let mut s = RestartPolicy::new(Duration::ZERO).wrap(frames(&["a", "b"]), &shutdown);
        assert!(matches!(poll(&mut s), Poll::Ready(Some(_))));
        shutdown.trigger();
        assert_eq!(poll(&mut s), Poll::Ready(Some(retry_frame(Duration::ZERO))));
        assert_eq!(poll(&mut s), Poll::Ready(None));
    }

    #[test]
    fn jitter_is_bounded_by_the_spread() {
        let spread = Duration::from_millis(300);
        let wild = RestartPolicy::new(Duration::from_secs(1))
            .spread(spread)
            .jitter(|_: Duration| Duration::from_secs(60));
        assert_eq!(wild.last_frame(), retry_frame(Duration::from_millis(1300)));
        for _ in 0..100 {
            assert!(OsJitter.pick(spread) <= spread);
        }
        assert_eq!(OsJitter.pick(Duration::ZERO), Duration::ZERO);
    }

    #[test]
    fn the_default_is_two_seconds_spread_over_three() {
        let policy = RestartPolicy::default();
        assert_eq!(
            (policy.get_retry(), policy.get_spread()),
            (Duration::from_secs(2), Duration::from_secs(3))
        );
        assert_eq!(
            &retry_frame(Duration::from_millis(1500))[..],
            b"retry: 1500\n\n"
        );
    }
}
