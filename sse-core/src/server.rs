//! Server-side machinery shared by every framework adapter (feature `server`).
//!
//! An adapter is glue: it takes the user's stream, wraps it in [`SseBody`], sets
//! [`RESPONSE_HEADERS`] (plus `Connection: keep-alive` on HTTP/1.1 only), and reads
//! `Last-Event-ID` with [`LastEventId::parse`]. Everything else lives here:
//!
//! - encoding each [`Event`] into one [`Bytes`] frame (or passing pre-encoded frames through);
//! - keep-alive comments after an idle interval ([`KeepAlive`], default 15 s), reset by every
//!   real event;
//! - ending every open stream on server shutdown ([`Shutdown`]), so a graceful shutdown is not
//!   held up by clients that never leave;
//! - dropping the user's stream as soon as the body is dropped (client gone), so the work
//!   behind it stops.

use alloc::boxed::Box;
use alloc::string::String;
use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};
use core::time::Duration;

use bytes::Bytes;
use futures_core::Stream;
use tokio::time::{Instant, Sleep};

use crate::Event;

/// Headers every SSE response carries.
///
/// `Content-Encoding: identity` keeps compression middleware from buffering events;
/// `X-Accel-Buffering: no` asks reverse proxies (nginx) not to buffer. Add
/// `Connection: keep-alive` yourself on HTTP/1.1 responses only; it is forbidden in HTTP/2.
pub const RESPONSE_HEADERS: [(&str, &str); 4] = [
    ("content-type", "text/event-stream"),
    ("cache-control", "no-cache"),
    ("x-accel-buffering", "no"),
    ("content-encoding", "identity"),
];

/// Anything the body can send: an [`Event`] (encoded here) or a pre-encoded frame.
pub trait IntoFrame {
    /// The wire bytes of this item.
    fn into_frame(self) -> Bytes;
}

impl IntoFrame for Event {
    fn into_frame(self) -> Bytes {
        self.to_bytes()
    }
}

impl IntoFrame for Bytes {
    fn into_frame(self) -> Bytes {
        self
    }
}

/// Keep-alive settings: a comment frame sent when no event went out for `interval`.
///
/// ```
/// use std::time::Duration;
/// use sse_core::server::KeepAlive;
///
/// let keep_alive = KeepAlive::new().interval(Duration::from_secs(5)).text("ping");
/// assert_eq!(keep_alive.frame(), &b": ping\n\n"[..]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeepAlive {
    interval: Duration,
    frame: Bytes,
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
            frame: Bytes::from_static(crate::KEEP_ALIVE),
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
        self.frame = Event::comment(text).to_bytes();
        self
    }

    /// The idle interval.
    pub fn idle_interval(&self) -> Duration {
        self.interval
    }

    /// The frame that is sent.
    pub fn frame(&self) -> &Bytes {
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
/// use sse_core::server::Shutdown;
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

    /// A future that resolves once the handle is triggered.
    pub fn signal(&self) -> impl Future<Output = ()> + Send + 'static {
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
    frame: Bytes,
    /// Armed on the first poll, so a body can be built outside a runtime.
    armed: Option<(Pin<Box<Sleep>>, Instant)>,
}

type BoxedSignal = Pin<Box<dyn Future<Output = ()> + Send>>;

/// The response body stream every adapter hands to its framework.
///
/// Wraps the user's `Stream<Item = Result<T, E>>` (`T` an [`Event`] or a pre-encoded
/// [`Bytes`] frame) into a `Stream<Item = Result<Bytes, E>>`, adding keep-alive frames on idle
/// and ending on shutdown. Dropping it drops the user's stream at once.
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
    /// Wraps a stream of results; no keep-alive until [`SseBody::keep_alive`] is called.
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

impl<S, T, E> Stream for SseBody<S>
where
    S: Stream<Item = Result<T, E>>,
    T: IntoFrame,
{
    type Item = Result<Bytes, E>;

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
                return Poll::Ready(Some(item.map(IntoFrame::into_frame)));
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
                    return Poll::Ready(Some(Ok(frame.clone())));
                }
                sleep.as_mut().reset(due);
            }
        }
        Poll::Pending
    }
}

/// The most bytes of a `Last-Event-ID` value that [`LastEventId::parse`] accepts.
pub const MAX_LAST_EVENT_ID_LEN: usize = 1024;

/// The `Last-Event-ID` a reconnecting client sent.
///
/// Every adapter's extractor uses [`LastEventId::parse`], so the rules are the same everywhere.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LastEventId(String);

impl LastEventId {
    /// The header's name.
    pub const HEADER: &'static str = "last-event-id";

    /// Parses a raw header (or query parameter) value.
    ///
    /// Returns `None` for an empty value (no id), for invalid UTF-8, for a value containing
    /// NUL, CR or LF (an id can never contain them), and for a value longer than
    /// [`MAX_LAST_EVENT_ID_LEN`] bytes. Nothing else is changed: the id is what the server sent.
    ///
    /// ```
    /// use sse_core::server::LastEventId;
    /// assert_eq!(LastEventId::parse(b"42").unwrap().as_str(), "42");
    /// assert_eq!(LastEventId::parse(b""), None);
    /// assert_eq!(LastEventId::parse(b"a\0b"), None);
    /// ```
    pub fn parse(value: &[u8]) -> Option<LastEventId> {
        if value.is_empty() || value.len() > MAX_LAST_EVENT_ID_LEN {
            return None;
        }
        if memchr::memchr3(0, b'\r', b'\n', value).is_some() {
            return None;
        }
        let text = core::str::from_utf8(value).ok()?;
        Some(LastEventId(String::from(text)))
    }

    /// The query parameter read by [`LastEventId::from_query`], for clients that cannot set
    /// headers (a polyfill reconnecting with `?lastEventId=...`).
    pub const QUERY_PARAM: &'static str = "lastEventId";

    /// Reads the first `lastEventId` parameter of a URL query string (without the leading `?`).
    ///
    /// The query is decoded as `application/x-www-form-urlencoded` (what `URLSearchParams`
    /// produces: `+` is a space, `%XX` a byte, a malformed `%` is kept as is), then the value goes
    /// through [`LastEventId::parse`], so the same rules apply as for the header.
    ///
    /// ```
    /// use sse_core::server::LastEventId;
    /// let id = LastEventId::from_query("stream=a&lastEventId=7%20b").unwrap();
    /// assert_eq!(id.as_str(), "7 b");
    /// assert_eq!(LastEventId::from_query("lastEventId="), None);
    /// assert_eq!(LastEventId::from_query("lastEventId=a%0Ab"), None);
    /// ```
    pub fn from_query(query: &str) -> Option<LastEventId> {
        let value = query.split('&').find_map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (form_decode(name, Self::QUERY_PARAM.len())? == Self::QUERY_PARAM.as_bytes())
                .then_some(value)
        })?;
        LastEventId::parse(&form_decode(value, MAX_LAST_EVENT_ID_LEN)?)
    }

    /// The id a request carries: the `Last-Event-ID` header when the request has one (valid or
    /// not), otherwise the `lastEventId` query parameter. This is the rule every adapter's
    /// extractor follows.
    ///
    /// ```
    /// use sse_core::server::LastEventId;
    /// let from = |header, query| LastEventId::from_request(header, query).map(LastEventId::into_string);
    /// assert_eq!(from(Some(&b"1"[..]), Some("lastEventId=2")), Some("1".into()));
    /// assert_eq!(from(None, Some("lastEventId=2")), Some("2".into()));
    /// assert_eq!(from(Some(&b""[..]), Some("lastEventId=2")), None);
    /// ```
    pub fn from_request(header: Option<&[u8]>, query: Option<&str>) -> Option<LastEventId> {
        match header {
            Some(value) => LastEventId::parse(value),
            None => LastEventId::from_query(query?),
        }
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The id, owned.
    pub fn into_string(self) -> String {
        self.0
    }
}

/// Decodes one `application/x-www-form-urlencoded` component; `None` once the result would be
/// longer than `max` bytes (so a huge parameter is never copied).
fn form_decode(text: &str, max: usize) -> Option<alloc::vec::Vec<u8>> {
    fn hex(digit: u8) -> Option<u8> {
        match digit {
            b'0'..=b'9' => Some(digit - b'0'),
            b'a'..=b'f' => Some(digit - b'a' + 10),
            b'A'..=b'F' => Some(digit - b'A' + 10),
            _ => None,
        }
    }
    let bytes = text.as_bytes();
    let mut out = alloc::vec::Vec::with_capacity(bytes.len().min(max));
    let mut i = 0;
    while i < bytes.len() {
        if out.len() == max {
            return None;
        }
        let byte = match bytes[i] {
            b'+' => b' ',
            b'%' => match (bytes.get(i + 1), bytes.get(i + 2)) {
                (Some(&high), Some(&low)) => match (hex(high), hex(low)) {
                    (Some(high), Some(low)) => {
                        i += 2;
                        (high << 4) | low
                    }
                    _ => b'%',
                },
                _ => b'%',
            },
            other => other,
        };
        out.push(byte);
        i += 1;
    }
    Some(out)
}

impl fmt::Display for LastEventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for LastEventId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;

    fn query(q: &str) -> Option<String> {
        LastEventId::from_query(q).map(LastEventId::into_string)
    }

    #[test]
    fn query_parameter_is_form_decoded() {
        assert_eq!(query("lastEventId=42"), Some("42".into()));
        assert_eq!(
            query("a=1&lastEventId=x+y%2Bz&lastEventId=2"),
            Some("x y+z".into())
        );
        assert_eq!(query("last%45ventId=%E2%82%AC"), Some("\u{20ac}".into()));
        assert_eq!(query("lastEventId=100%&b"), Some("100%".into()));
        assert_eq!(query("lastEventId=%zz%4"), Some("%zz%4".into()));
        assert_eq!(query("lasteventid=1"), None);
        assert_eq!(query("lastEventId"), None);
        assert_eq!(query(""), None);
        assert_eq!(query("lastEventId=%00"), None);
        assert_eq!(query("lastEventId=%FF"), None);
    }

    #[test]
    fn query_parameter_length_is_bounded() {
        let max = "%41".repeat(MAX_LAST_EVENT_ID_LEN);
        assert_eq!(
            query(&format!("lastEventId={max}")).map(|s| s.len()),
            Some(MAX_LAST_EVENT_ID_LEN)
        );
        assert_eq!(query(&format!("lastEventId={max}A")), None);
        assert_eq!(query(&format!("lastEventId={}", "a".repeat(1 << 20))), None);
    }

    #[test]
    fn header_wins_over_query() {
        assert_eq!(LastEventId::from_request(None, None), None);
        assert_eq!(
            LastEventId::from_request(Some(b"a\nb"), Some("lastEventId=1")),
            None
        );
        assert_eq!(
            LastEventId::from_request(None, Some("lastEventId=1")).map(LastEventId::into_string),
            Some("1".into())
        );
    }
}
