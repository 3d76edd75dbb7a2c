//! [`SseBody`]: the response body every framework adapter hands to its framework.
//!
//! - encoding each [`Event`] into one [`Frame`] (or passing frames through, from a broadcast
//!   that encoded them once);
//! - keep-alive comments after an idle interval ([`KeepAlive`], default 15 s), reset by every
//!   real event;
//! - ending every open stream on server shutdown ([`Shutdown`]), so a graceful shutdown is not
//!   held up by clients that never leave;
//! - dropping the user's stream as soon as the body is dropped (client gone), so the work
//!   behind it stops.

use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures_core::Stream;
use sse_core::{Event, Frame};
use tokio::time::{Instant, Sleep};

/// What a response body can send: an [`Event`] (encoded here), a [`Frame`] (already encoded,
/// for example by a broadcast that encodes once), or a `Result` of either.
///
/// A stream of plain events or frames cannot fail (`Error = Infallible`), so it needs no `Ok`
/// wrapping; a stream of `Result<Event, E>` (what [`EventBuilder::build`] gives) ends the
/// response at its first `Err`.
///
/// [`EventBuilder::build`]: sse_core::EventBuilder::build
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
/// use sse_server::KeepAlive;
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
/// use sse_server::Shutdown;
/// let shutdown = Shutdown::new();
/// let signal = shutdown.signal();
/// shutdown.trigger();
/// signal.await; // resolves at once
/// assert!(shutdown.is_triggered());
/// # });
/// ```
#[derive(Debug, Clone)]
pub struct Shutdown {
    tx: tokio::sync::watch::Sender<bool>,
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
            tx: tokio::sync::watch::Sender::new(false),
        }
    }

    /// Ends every stream watching this handle (now and later).
    pub fn trigger(&self) {
        self.tx.send_replace(true);
    }

    /// True once [`Shutdown::trigger`] was called.
    pub fn is_triggered(&self) -> bool {
        *self.tx.borrow()
    }

    /// A future that resolves once the handle is triggered, or once every `Shutdown` handle
    /// (this one and its clones) has been dropped: nobody could trigger it any more, so
    /// dropping the last handle ends every stream that watches it. Keep a handle alive for as
    /// long as the server runs (store it in the application state).
    pub fn signal(&self) -> impl Future<Output = ()> + Send + 'static + use<> {
        let mut rx = self.tx.subscribe();
        async move {
            // An error means every sender is gone: nobody can trigger any more, so wait forever
            // is wrong too; treat it as a shutdown.
            let _ = rx.wait_for(|triggered| *triggered).await;
        }
    }
}

struct KeepAliveTimer {
    interval: Duration,
    frame: Frame,
    /// Armed on the first poll, so a body can be built outside a runtime.
    armed: Option<(Pin<Box<Sleep>>, Instant)>,
}

type BoxedSignal = Pin<Box<dyn Future<Output = ()> + Send>>;

/// The response body stream every adapter hands to its framework.
///
/// Wraps the user's stream of [`IntoFrame`] items (events, frames, or results of either) into a
/// `Stream<Item = Result<Bytes, E>>`, adding keep-alive frames on idle and ending on shutdown.
/// Dropping it drops the user's stream at once.
#[must_use = "streams do nothing unless polled"]
pub struct SseBody<S> {
    events: Option<Pin<Box<S>>>,
    keep_alive: Option<KeepAliveTimer>,
    shutdown: Option<BoxedSignal>,
}

impl<S> fmt::Debug for SseBody<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SseBody")
            .field("ended", &self.events.is_none())
            .field("keep_alive", &self.keep_alive.as_ref().map(|k| k.interval))
            .field("shutdown", &self.shutdown.is_some())
            .finish()
    }
}

impl<S> SseBody<S> {
    /// Wraps a stream; no keep-alive until [`SseBody::keep_alive`] is called.
    pub fn new(events: S) -> SseBody<S> {
        SseBody {
            events: Some(Box::pin(events)),
            keep_alive: None,
            shutdown: None,
        }
    }

    /// Sends keep-alive frames as configured (replacing any earlier setting). The idle time
    /// counts from the first poll; polling needs a tokio runtime with time enabled.
    pub fn keep_alive(mut self, keep_alive: KeepAlive) -> SseBody<S> {
        self.keep_alive = Some(KeepAliveTimer {
            interval: keep_alive.interval,
            frame: keep_alive.frame,
            armed: None,
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

    /// True once the stream has ended (user stream finished, or shutdown).
    pub fn is_ended(&self) -> bool {
        self.events.is_none()
    }
}

impl<S> Stream for SseBody<S>
where
    S: Stream,
    S::Item: IntoFrame,
{
    type Item = Result<Bytes, <S::Item as IntoFrame>::Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        let Some(events) = this.events.as_mut() else {
            return Poll::Ready(None);
        };
        if let Some(signal) = this.shutdown.as_mut() {
            if signal.as_mut().poll(cx).is_ready() {
                this.events = None;
                this.shutdown = None;
                return Poll::Ready(None);
            }
        }
        if let Some(timer) = this.keep_alive.as_mut() {
            if timer.armed.is_none() {
                let now = Instant::now();
                let sleep = Box::pin(tokio::time::sleep_until(now + timer.interval));
                timer.armed = Some((sleep, now));
            }
        }
        match events.as_mut().poll_next(cx) {
            Poll::Ready(Some(item)) => {
                if let Some((_, last_activity)) =
                    this.keep_alive.as_mut().and_then(|t| t.armed.as_mut())
                {
                    *last_activity = Instant::now();
                }
                return Poll::Ready(Some(item.into_frame().map(Frame::into_bytes)));
            }
            Poll::Ready(None) => {
                this.events = None;
                this.shutdown = None;
                return Poll::Ready(None);
            }
            Poll::Pending => {}
        }
        if let Some(KeepAliveTimer {
            interval,
            frame,
            armed: Some((sleep, last_activity)),
        }) = this.keep_alive.as_mut()
        {
            // The deadline is moved lazily: events only record their time, and a timer that
            // fires early (activity since it was armed) is re-armed for the real deadline.
            while sleep.as_mut().poll(cx).is_ready() {
                let due = *last_activity + *interval;
                let now = Instant::now();
                if due <= now {
                    *last_activity = now;
                    sleep.as_mut().reset(now + *interval);
                    return Poll::Ready(Some(Ok(frame.clone().into_bytes())));
                }
                sleep.as_mut().reset(due);
            }
        }
        Poll::Pending
    }
}
