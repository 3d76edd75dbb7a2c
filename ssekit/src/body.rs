//! [`SseBody`]: the response body every framework adapter hands to its framework.
//!
//! - encoding each [`Event`] into one [`Frame`] (or passing frames through, from a broadcast
//!   that encoded them once);
//! - keep-alive comments after an idle interval ([`KeepAlive`], default 15 s), reset by every
//!   real event;
//! - ending every open stream on server shutdown ([`Shutdown`]), so a graceful shutdown is not
//!   held up by clients that never leave;
//! - dropping the user's stream as soon as the body is dropped (client gone), so the work
//!   behind it stops;
//! - handing the framework every frame that is ready at once as one chunk (up to
//!   [`SseBody::DEFAULT_MAX_BATCH`] bytes, see [`SseBody::max_batch`]), so a connection that
//!   is behind (a burst, a replay) costs one write and one HTTP/1.1 chunk header per batch,
//!   not per event.
//!
//! Per frame, the body does as little as it can: the keep-alive timer is not touched while
//! events flow (a flag records the activity; the deadline is set once the stream is idle and
//! the timer is re-armed only when it fires early), and a [`Shutdown`] signal is an atomic
//! load until it fires.

use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures_core::Stream;
use ssekit_proto::{Event, Frame};
use tokio::time::{Instant, Sleep};

/// What a response body can send: an [`Event`] (encoded here), a [`Frame`] (already encoded,
/// for example by a broadcast that encodes once), or a `Result` of either.
///
/// A stream of plain events or frames cannot fail (`Error = Infallible`), so it needs no `Ok`
/// wrapping; a stream of `Result<Event, E>` (what [`EventBuilder::build`] gives) ends the
/// response at its first `Err`.
///
/// [`EventBuilder::build`]: ssekit_proto::EventBuilder::build
pub trait IntoFrame {
    /// The error that ends the response (`Infallible` for events and frames).
    type Error;

    /// The wire bytes of this item, or the error that ends the stream.
    fn into_frame(self) -> Result<Frame, Self::Error>;
}

impl IntoFrame for Event {
    type Error = Infallible;

    fn into_frame(self) -> Result<Frame, Infallible> {
        Ok(self.to_frame())
    }
}

impl IntoFrame for Frame {
    type Error = Infallible;

    fn into_frame(self) -> Result<Frame, Infallible> {
        Ok(self)
    }
}

impl<T, E> IntoFrame for Result<T, E>
where
    T: IntoFrame<Error = Infallible>,
{
    type Error = E;

    fn into_frame(self) -> Result<Frame, E> {
        match self {
            Ok(item) => match item.into_frame() {
                Ok(frame) => Ok(frame),
                Err(never) => match never {},
            },
            Err(error) => Err(error),
        }
    }
}

/// Keep-alive settings: a comment frame sent when no event went out for `interval`.
///
/// ```
/// use std::time::Duration;
/// use ssekit::KeepAlive;
///
/// let keep_alive = KeepAlive::new().interval(Duration::from_secs(5)).text("ping");
/// assert_eq!(keep_alive.frame(), &b": ping\n\n"[..]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use = "settings do nothing until given to a response"]
pub struct KeepAlive {
    interval: Duration,
    frame: Frame,
}

impl Default for KeepAlive {
    fn default() -> Self {
        KeepAlive::new()
    }
}

impl KeepAlive {
    /// The default idle interval: 15 seconds.
    pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(15);

    /// Keep-alive every 15 s of idleness, with an empty comment (`:\n\n`).
    pub fn new() -> KeepAlive {
        KeepAlive {
            interval: KeepAlive::DEFAULT_INTERVAL,
            frame: Frame::keep_alive(),
        }
    }

    /// Sets the idle interval (a zero interval is raised to 1 ms).
    pub fn interval(mut self, interval: Duration) -> KeepAlive {
        self.interval = interval.max(Duration::from_millis(1));
        self
    }

    /// Sets the comment text (line ends in it start new comment lines; it cannot inject
    /// fields).
    pub fn text(mut self, text: impl Into<String>) -> KeepAlive {
        self.frame = Frame::comment(text);
        self
    }

    /// The idle interval (set by [`interval`](Self::interval)).
    pub fn get_interval(&self) -> Duration {
        self.interval
    }

    /// The frame that is sent.
    pub fn frame(&self) -> &Frame {
        &self.frame
    }
}

/// A handle that ends every [`SseBody`] it was given to, for graceful shutdown.
///
/// Clone it into each handler; call [`Shutdown::trigger`] when the server should stop. Open
/// event streams then end cleanly, so the server's graceful shutdown can complete.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
/// use ssekit::Shutdown;
/// let shutdown = Shutdown::new();
/// let signal = shutdown.signal();
/// shutdown.trigger();
/// signal.await; // resolves at once
/// assert!(shutdown.is_triggered());
/// # });
/// ```
#[derive(Debug, Clone)]
pub struct Shutdown {
    inner: Arc<ShutdownInner>,
}

/// What every clone of a [`Shutdown`] shares. When the last clone goes, the flag is set (nobody
/// can trigger any more: the streams end) and the channel closes, which wakes every signal.
#[derive(Debug)]
struct ShutdownInner {
    /// Set by [`Shutdown::trigger`] and when the last handle is dropped; what a
    /// [`ShutdownSignal`] reads on every poll instead of polling the channel.
    fired: Arc<AtomicBool>,
    tx: tokio::sync::watch::Sender<bool>,
}

impl Drop for ShutdownInner {
    fn drop(&mut self) {
        // Before `tx` is dropped (fields drop after this), so a signal woken by the closed
        // channel finds the flag set.
        self.fired.store(true, Ordering::Release);
    }
}

impl Default for Shutdown {
    fn default() -> Self {
        Shutdown::new()
    }
}

impl Shutdown {
    /// A new, untriggered handle.
    pub fn new() -> Shutdown {
        Shutdown {
            inner: Arc::new(ShutdownInner {
                fired: Arc::new(AtomicBool::new(false)),
                tx: tokio::sync::watch::Sender::new(false),
            }),
        }
    }

    /// Ends every stream watching this handle (now and later).
    pub fn trigger(&self) {
        self.inner.fired.store(true, Ordering::Release);
        self.inner.tx.send_replace(true);
    }

    /// True once [`Shutdown::trigger`] was called.
    pub fn is_triggered(&self) -> bool {
        self.inner.fired.load(Ordering::Acquire)
    }

    /// A future that resolves once the handle is triggered, or once every `Shutdown` handle
    /// (this one and its clones) has been dropped: nobody could trigger it any more, so
    /// dropping the last handle ends every stream that watches it. Keep a handle alive for as
    /// long as the server runs (store it in the application state).
    ///
    /// Polling it again before it fires costs an atomic load (it registers with the channel
    /// only on its first poll, and again only when polled from another task).
    pub fn signal(&self) -> ShutdownSignal {
        let mut rx = self.inner.tx.subscribe();
        ShutdownSignal {
            fired: self.inner.fired.clone(),
            wait: Box::pin(async move {
                // An error means every sender is gone: nobody can trigger any more, so that
                // counts as a shutdown too.
                let _ = rx.wait_for(|triggered| *triggered).await;
            }),
            registered: None,
        }
    }
}

/// The future of [`Shutdown::signal`]: resolves when the handle is triggered (or every handle
/// is dropped).
#[must_use = "futures do nothing unless polled"]
pub struct ShutdownSignal {
    fired: Arc<AtomicBool>,
    wait: Pin<Box<dyn Future<Output = ()> + Send>>,
    /// The waker `wait` was last polled with: while the task's waker is the same, `wait` is
    /// still registered (it holds a clone) and need not be polled again until it fires.
    registered: Option<WakerId>,
}

impl fmt::Debug for ShutdownSignal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ShutdownSignal")
            .field("fired", &self.fired.load(Ordering::Acquire))
            .finish()
    }
}

impl Future for ShutdownSignal {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        if this.fired.load(Ordering::Acquire) {
            return Poll::Ready(());
        }
        // `wait` registered this task's waker when it was last polled; a trigger sets the flag
        // before it wakes that waker, so the load above sees it after the wake.
        if this.registered == Some(WakerId::of(cx.waker())) {
            return Poll::Pending;
        }
        match this.wait.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(()),
            Poll::Pending => {
                this.registered = Some(WakerId::of(cx.waker()));
                Poll::Pending
            }
        }
    }
}

/// A waker's identity, what [`Waker::will_wake`] compares, without holding a reference. Used
/// to skip re-polling a registration (a timer, a channel, the hub's waiting list) that holds a
/// clone of this very waker: while it does, the task it names stays allocated, so no other
/// task can have the same identity meanwhile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct WakerId(usize, usize);

impl WakerId {
    pub(crate) fn of(waker: &Waker) -> WakerId {
        WakerId(
            waker.data() as usize,
            std::ptr::from_ref(waker.vtable()) as usize,
        )
    }
}

struct KeepAliveTimer {
    interval: Duration,
    frame: Frame,
    /// Armed when the stream first goes idle, so a body can be built outside a runtime.
    sleep: Option<Pin<Box<Sleep>>>,
    /// The waker the armed timer was last polled with (it holds a clone while armed).
    polled_by: Option<WakerId>,
    /// When the last frame went out, set when the stream goes idle after activity.
    last_activity: Instant,
    /// A frame went out since the stream was last idle: `last_activity` is stale.
    active: bool,
}

impl KeepAliveTimer {
    /// The stream is idle (its poll returned `Pending`): the keep-alive frame if it is due,
    /// after making sure the timer will wake the task when it is.
    fn poll_idle(&mut self, cx: &mut Context<'_>) -> Option<Bytes> {
        if std::mem::take(&mut self.active) {
            self.last_activity = Instant::now();
        }
        if self.sleep.is_none() {
            self.last_activity = Instant::now();
            self.sleep = Some(Box::pin(tokio::time::sleep_until(
                self.last_activity + self.interval,
            )));
        }
        let sleep = self.sleep.as_mut()?;
        // Still armed, registered with this task's waker: it will wake the task when it fires,
        // and nothing is due before. (Activity never moves the timer, see below.)
        if self.polled_by == Some(WakerId::of(cx.waker())) && !sleep.is_elapsed() {
            return None;
        }
        // The deadline is moved lazily: activity only records its time, and a timer that
        // fires early (activity since it was armed) is re-armed for the real deadline.
        while sleep.as_mut().poll(cx).is_ready() {
            let due = self.last_activity + self.interval;
            let now = Instant::now();
            if due <= now {
                self.last_activity = now;
                sleep.as_mut().reset(now + self.interval);
                self.polled_by = None;
                return Some(self.frame.clone().into_bytes());
            }
            sleep.as_mut().reset(due);
        }
        self.polled_by = Some(WakerId::of(cx.waker()));
        None
    }
}

type BoxedSignal = Pin<Box<dyn Future<Output = ()> + Send>>;

/// The error a response ends with when its subscriber stalled (see [`SseBody::stall_check`]):
/// the framework answers an error from a body by aborting the connection, so a client that
/// stopped reading does not keep a finished response's connection open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stalled;

impl fmt::Display for Stalled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the subscriber stalled: its stream was ended and the connection is aborted")
    }
}

impl std::error::Error for Stalled {}

/// The error of a stream item (see [`IntoFrame`]).
type ItemError<S> = <<S as Stream>::Item as IntoFrame>::Error;

/// The response body stream every adapter hands to its framework.
///
/// Wraps the user's stream of [`IntoFrame`] items (events, frames, or results of either) into a
/// `Stream<Item = Result<Bytes, E>>`, adding keep-alive frames on idle and ending on shutdown.
/// Dropping it drops the user's stream at once.
///
/// Every frame that is ready when the body is polled goes out in one chunk (see
/// [`SseBody::max_batch`]); chunk boundaries mean nothing to an event stream's reader. "Ready"
/// is what the stream's `size_hint` promises (its lower bound): the hub's and the broker's
/// subscriptions and [`ReceiverStream`](crate::ReceiverStream) count their ready items, `futures`' `iter` knows
/// its length; a stream whose lower bound is 0 (`unfold`, most adapters) goes out one item
/// per chunk.
#[must_use = "streams do nothing unless polled"]
pub struct SseBody<S>
where
    S: Stream,
    S::Item: IntoFrame,
{
    events: Option<Pin<Box<S>>>,
    keep_alive: Option<KeepAliveTimer>,
    shutdown: Option<BoxedSignal>,
    /// An error met while batching, returned at the next poll (after the batch).
    held: Option<ItemError<S>>,
    max_batch: usize,
    /// Tells, when the stream ends, whether it ended because its subscriber stalled.
    stall_check: Option<fn(&S) -> bool>,
    stalled: bool,
}

// `held` is never pinned: the body moves it out by value.
impl<S> Unpin for SseBody<S>
where
    S: Stream,
    S::Item: IntoFrame,
{
}

impl<S> fmt::Debug for SseBody<S>
where
    S: Stream,
    S::Item: IntoFrame,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SseBody")
            .field("ended", &self.events.is_none())
            .field("keep_alive", &self.keep_alive.as_ref().map(|k| k.interval))
            .field("shutdown", &self.shutdown.is_some())
            .field("max_batch", &self.max_batch)
            .finish()
    }
}

impl<S> SseBody<S>
where
    S: Stream,
    S::Item: IntoFrame,
{
    /// The default bound of one chunk, 16 KiB (see [`SseBody::max_batch`]).
    pub const DEFAULT_MAX_BATCH: usize = 16 * 1024;

    /// Wraps a stream; no keep-alive until [`SseBody::keep_alive`] is called.
    pub fn new(events: S) -> SseBody<S> {
        SseBody {
            events: Some(Box::pin(events)),
            keep_alive: None,
            shutdown: None,
            held: None,
            max_batch: Self::DEFAULT_MAX_BATCH,
            stall_check: None,
            stalled: false,
        }
    }

    /// Sends keep-alive frames as configured (replacing any earlier setting). The idle time
    /// counts from the first time the stream has nothing to send; polling needs a tokio
    /// runtime with time enabled.
    pub fn keep_alive(mut self, keep_alive: KeepAlive) -> SseBody<S> {
        self.keep_alive = Some(KeepAliveTimer {
            interval: keep_alive.interval,
            frame: keep_alive.frame,
            sleep: None,
            polled_by: None,
            last_activity: Instant::now(),
            active: false,
        });
        self
    }

    /// Sends no keep-alive frames.
    pub fn no_keep_alive(mut self) -> SseBody<S> {
        self.keep_alive = None;
        self
    }

    /// Ends the stream when `signal` resolves (see [`Shutdown::signal`]).
    pub fn shutdown_on(mut self, signal: impl Future<Output = ()> + Send + 'static) -> SseBody<S> {
        self.shutdown = Some(Box::pin(signal));
        self
    }

    /// Bounds the chunks handed to the framework: when several frames are ready, they are
    /// concatenated into one chunk until it holds at least `bytes` (default
    /// [`SseBody::DEFAULT_MAX_BATCH`], 16 KiB; a frame is never split, so a chunk can exceed
    /// the bound by one frame). `0` sends every frame as its own chunk.
    ///
    /// A chunk is what the framework writes at once: one `write` and, on HTTP/1.1, one chunk
    /// header for all the frames in it. A single ready frame goes out as it is (no copy). Only
    /// items the stream's `size_hint` says are ready are taken (see [`SseBody`]).
    pub fn max_batch(mut self, bytes: usize) -> SseBody<S> {
        self.max_batch = bytes;
        self
    }

    /// True once the stream has ended (user stream finished, or shutdown).
    pub fn is_ended(&self) -> bool {
        self.events.is_none()
    }

    /// Asks `check` of the stream when it ends whether it ended because its subscriber
    /// stalled ([`Broadcast::stalled`](crate::Broadcast::stalled); every adapter's
    /// `Sse::from_broadcast` sets it). If so, [`is_stalled`](Self::is_stalled) turns true, and
    /// the adapter ends the response with the error [`Stalled`] instead of completing it, so
    /// the framework aborts the connection.
    ///
    /// A framework polls the body only while the connection drains: when the client reads
    /// nothing at all, the body is not polled again and only the socket can be closed (a
    /// send timeout, `TCP_USER_TIMEOUT`; the edge closes it itself).
    pub fn stall_check(mut self, check: fn(&S) -> bool) -> SseBody<S> {
        self.stall_check = Some(check);
        self
    }

    /// True once the stream has ended because its subscriber stalled (see
    /// [`stall_check`](Self::stall_check)): the stream then yields `None`, and the adapter
    /// must end the response with an error.
    pub fn is_stalled(&self) -> bool {
        self.stalled
    }

    fn end(&mut self) {
        if let (Some(check), Some(events)) = (self.stall_check, self.events.as_ref()) {
            self.stalled = check(events.as_ref().get_ref());
        }
        self.events = None;
        self.shutdown = None;
    }
}

impl<S> Stream for SseBody<S>
where
    S: Stream,
    S::Item: IntoFrame,
{
    type Item = Result<Bytes, ItemError<S>>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if let Some(error) = this.held.take() {
            return Poll::Ready(Some(Err(error)));
        }
        let Some(events) = this.events.as_mut() else {
            return Poll::Ready(None);
        };
        if let Some(signal) = this.shutdown.as_mut()
            && signal.as_mut().poll(cx).is_ready()
        {
            this.events = None;
            this.shutdown = None;
            return Poll::Ready(None);
        }
        let first = match events.as_mut().poll_next(cx) {
            Poll::Ready(Some(item)) => match item.into_frame() {
                Ok(frame) => frame.into_bytes(),
                Err(error) => return Poll::Ready(Some(Err(error))),
            },
            Poll::Ready(None) => {
                this.end();
                return Poll::Ready(None);
            }
            Poll::Pending => {
                if let Some(frame) = this.keep_alive.as_mut().and_then(|k| k.poll_idle(cx)) {
                    return Poll::Ready(Some(Ok(frame)));
                }
                return Poll::Pending;
            }
        };
        if let Some(timer) = this.keep_alive.as_mut() {
            timer.active = true;
        }
        if first.len() >= this.max_batch {
            return Poll::Ready(Some(Ok(first)));
        }
        // More frames go into the same chunk, but only those the stream says are ready (the
        // lower bound of its `size_hint`): a poll the framework did not ask for must not find
        // the stream empty, as it would register the task as waiting while the framework,
        // whose buffer this chunk may fill, stops polling the body until the connection
        // drains. (The hub counts such a subscriber as keeping up, never as stalled.)
        let mut batch: Option<BytesMut> = None;
        loop {
            let len = batch.as_ref().map_or(first.len(), BytesMut::len);
            if len >= this.max_batch || events.size_hint().0 == 0 {
                break;
            }
            match events.as_mut().poll_next(cx) {
                Poll::Ready(Some(item)) => match item.into_frame() {
                    Ok(frame) => {
                        let batch = batch.get_or_insert_with(|| {
                            let mut batch = BytesMut::with_capacity(
                                (first.len() + frame.len()).max(512).min(this.max_batch * 2),
                            );
                            batch.extend_from_slice(&first);
                            batch
                        });
                        batch.extend_from_slice(&frame);
                    }
                    Err(error) => {
                        this.held = Some(error);
                        break;
                    }
                },
                Poll::Ready(None) => {
                    // What was taken goes out; the next poll ends the body.
                    this.end();
                    break;
                }
                Poll::Pending => break,
            }
        }
        Poll::Ready(Some(Ok(batch.map_or(first, BytesMut::freeze))))
    }
}
