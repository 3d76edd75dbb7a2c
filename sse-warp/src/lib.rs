//! # sse-warp
//!
//! Server-Sent Events for [warp] 0.4, as thin glue over [`sse_core`]: a reply type, [`Sse`]
//! (made with [`reply`] or [`Sse::new`]), and a `Last-Event-ID` filter, [`last_event_id`].
//! Encoding, keep-alive and shutdown live in [`sse_core::server`], so every framework adapter
//! behaves the same.
//!
//! ```no_run
//! use std::time::Duration;
//!
//! use futures_util::stream;
//! use sse_warp::{Event, KeepAlive, LastEventId, Shutdown};
//! use warp::Filter;
//!
//! #[tokio::main]
//! async fn main() {
//!     let shutdown = Shutdown::new();
//!     // A clock: one event a second, resuming after the id the client last saw.
//!     let clock = warp::path("clock")
//!         .and(warp::get())
//!         .and(sse_warp::last_event_id())
//!         .map({
//!             let shutdown = shutdown.clone();
//!             move |LastEventId(last): LastEventId| {
//!                 let next = last.and_then(|id| id.parse::<u64>().ok()).map_or(0, |n| n + 1);
//!                 let ticks = stream::unfold(next, |n| async move {
//!                     tokio::time::sleep(Duration::from_secs(1)).await;
//!                     let event = Event::builder().event("tick").id(n.to_string());
//!                     Some((event.data(n.to_string()).build(), n + 1))
//!                 });
//!                 sse_warp::reply(ticks)
//!                     .keep_alive(KeepAlive::new().interval(Duration::from_secs(10)))
//!                     .shutdown_on(shutdown.signal())
//!             }
//!         });
//!     // Call `shutdown.trigger()` (from a signal handler, say) to end every open stream; the
//!     // graceful shutdown then completes instead of waiting for clients that never leave.
//!     warp::serve(clock)
//!         .bind(([127, 0, 0, 1], 3030))
//!         .await
//!         .graceful(shutdown.signal())
//!         .run()
//!         .await;
//! }
//! ```
//!
//! ## What the reply does
//!
//! - The stream's items are [`Event`]s (encoded by [`sse_core`]; the builder refuses names and
//!   ids that would inject fields) or pre-encoded `Bytes` frames (see [`IntoFrame`]; from a
//!   broadcast that encodes once). An `Err` item ends the response: hyper closes the connection
//!   without ending the body cleanly, so the client sees an aborted stream and reconnects.
//! - The stream only has to be `Send` (warp's own `warp::sse::reply` also wants `Sync`).
//! - Keep-alive comments (`:\n\n`) go out after 15 s without an event ([`KeepAlive`]); change
//!   the interval with [`Sse::keep_alive`], or turn them off with [`Sse::no_keep_alive`].
//! - When the client goes away, hyper drops the body and with it your stream at once, so the
//!   work behind it stops.
//! - Headers: `Content-Type: text/event-stream`, `Cache-Control: no-cache`,
//!   `X-Accel-Buffering: no`, `Content-Encoding: identity` (see
//!   [`sse_core::server::RESPONSE_HEADERS`]) and `Connection: keep-alive`.
//!
//! ### `Connection: keep-alive` and HTTP/2
//!
//! [`Reply::into_response`] does not see the request, and warp has no filter for the HTTP
//! version, so [`Sse`] sets `Connection: keep-alive` always. That is correct because warp 0.4 is
//! served by hyper 1 (`warp::serve`, or `warp::service` under hyper-util), which treats the header
//! per version:
//!
//! - HTTP/1.1: hyper sends the header as given (it never adds one itself; persistence is the
//!   default there, the header is for proxies and old clients that look for it). When hyper
//!   decides to close the connection anyway it adds `close`.
//! - HTTP/2: connection-specific headers are illegal (RFC 9113, section 8.2.2); hyper removes
//!   `Connection` from every HTTP/2 response before it is encoded, so it never reaches the
//!   client.
//! - HTTP/1.0 (no browser's `EventSource` uses it): the body has no chunked framing, so it ends
//!   with the connection; hyper sends the header as given and closes the connection after the
//!   response all the same.
//!
//! [warp]: https://docs.rs/warp/0.4

use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Mutex, PoisonError};
use std::task::{Context, Poll};

use futures_core::Stream;
use sse_core::server::{IntoFrame, RESPONSE_HEADERS, SseBody};
use warp::Filter;
use warp::http::header::{CONNECTION, HeaderName, HeaderValue};
use warp::reply::{Reply, Response};

pub use sse_core::hub::{Hub, HubConfig, LagPolicy};
pub use sse_core::server::{KeepAlive, Shutdown};
pub use sse_core::{Event, EventError};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// An event stream reply: `sse_warp::reply(stream)` (or `Sse::new(stream)`), returned from a
/// filter.
///
/// `stream` yields `Result<T, E>` where `T` is an [`Event`] or a pre-encoded `bytes::Bytes`
/// frame ([`IntoFrame`]) and `E` converts into `Box<dyn Error + Send + Sync>`. Keep-alive is on
/// by default ([`KeepAlive::default`], every 15 s of idleness).
///
/// ```
/// use std::convert::Infallible;
/// use std::time::Duration;
///
/// use futures_util::stream;
/// use sse_warp::{Event, KeepAlive};
/// use warp::Filter;
///
/// let route = warp::path("hello").map(|| {
///     let events = stream::iter([Ok::<_, Infallible>(Event::message("hello"))]);
///     sse_warp::reply(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(5)))
/// });
/// # let _ = route;
/// ```
pub struct Sse<S> {
    body: SseBody<S>,
}

impl<S> fmt::Debug for Sse<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Sse").field(&self.body).finish()
    }
}

/// A reply sending `events`, with the default keep-alive; the same as [`Sse::new`].
pub fn reply<S, T, E>(events: S) -> Sse<S>
where
    S: Stream<Item = Result<T, E>> + Send + 'static,
    T: IntoFrame,
    E: Into<BoxError> + Send + 'static,
{
    Sse::new(events)
}

impl Sse<sse_core::hub::SubscriptionResults> {
    /// Serves a [`Hub`] in one call: first every retained event after the client's
    /// `Last-Event-ID` (header, or `?lastEventId=`), then live events; the frames were encoded
    /// once by the hub. See [`sse_core::hub`] for the replay window and slow subscribers.
    pub fn from_hub(hub: &Hub, last_event_id: &LastEventId) -> Self {
        Sse::new(hub.subscribe(last_event_id.as_deref()).into_results())
    }
}

impl<S, T, E> Sse<S>
where
    S: Stream<Item = Result<T, E>> + Send + 'static,
    T: IntoFrame,
    E: Into<BoxError> + Send + 'static,
{
    /// A reply sending `events`, with the default keep-alive.
    pub fn new(events: S) -> Sse<S> {
        Sse {
            body: SseBody::new(events).keep_alive(KeepAlive::default()),
        }
    }

    /// Sends keep-alive comments as configured (replaces the default).
    pub fn keep_alive(self, keep_alive: KeepAlive) -> Sse<S> {
        Sse {
            body: self.body.keep_alive(keep_alive),
        }
    }

    /// Sends no keep-alive comments.
    pub fn no_keep_alive(self) -> Sse<S> {
        Sse {
            body: self.body.no_keep_alive(),
        }
    }

    /// Ends the stream (cleanly, the body is complete) when `signal` resolves; pass
    /// [`Shutdown::signal`] so a graceful shutdown is not held up by open streams.
    pub fn shutdown_on(self, signal: impl Future<Output = ()> + Send + 'static) -> Sse<S> {
        Sse {
            body: self.body.shutdown_on(signal),
        }
    }
}

impl<S, T, E> Reply for Sse<S>
where
    S: Stream<Item = Result<T, E>> + Send + 'static,
    T: IntoFrame,
    E: Into<BoxError> + Send + 'static,
{
    fn into_response(self) -> Response {
        let body = self.body;
        let mut response = warp::reply::stream(SyncStream(Mutex::new(body))).into_response();
        let headers = response.headers_mut();
        for (name, value) in RESPONSE_HEADERS {
            headers.insert(
                HeaderName::from_static(name),
                HeaderValue::from_static(value),
            );
        }
        // See the crate docs: hyper strips it from HTTP/2 responses.
        headers.insert(CONNECTION, HeaderValue::from_static("keep-alive"));
        response
    }
}

/// Makes a `Send` stream `Sync`, as warp's body wants: the stream is only ever reached through
/// `&mut`, so the mutex is never locked (and never contended).
struct SyncStream<S>(Mutex<S>);

impl<S: Stream + Unpin> Stream for SyncStream<S> {
    type Item = S::Item;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        let stream = self
            .get_mut()
            .0
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner);
        Pin::new(stream).poll_next(cx)
    }
}

/// The `Last-Event-ID` a reconnecting client sent, extracted by [`last_event_id`].
///
/// `Some(id)` when the request has a valid `Last-Event-ID` header or, without the header, a
/// valid `?lastEventId=` query parameter (for clients that cannot set headers); `None`
/// otherwise, also for an invalid value (empty, not UTF-8, containing NUL, CR or LF, longer
/// than [`sse_core::server::MAX_LAST_EVENT_ID_LEN`] bytes). The rules are
/// [`sse_core::server::LastEventId::from_request`]'s, the same in every adapter.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct LastEventId(pub Option<String>);

impl LastEventId {
    /// The id, borrowed.
    pub fn as_deref(&self) -> Option<&str> {
        self.0.as_deref()
    }
}

/// A filter extracting the request's [`LastEventId`]; it never rejects.
///
/// ```
/// use sse_warp::LastEventId;
/// use warp::Filter;
///
/// let route = warp::path("resume")
///     .and(sse_warp::last_event_id())
///     .map(|LastEventId(last): LastEventId| format!("resuming after {last:?}"));
/// # let _ = route;
/// ```
pub fn last_event_id() -> impl Filter<Extract = (LastEventId,), Error = Infallible> + Clone {
    let header = warp::header::value(sse_core::server::LastEventId::HEADER)
        .map(Some)
        .or(warp::any().map(|| None))
        .unify();
    let query = warp::query::raw()
        .map(Some)
        .or(warp::any().map(|| None))
        .unify();
    header
        .and(query)
        .map(|header: Option<HeaderValue>, query: Option<String>| {
            let header = header.as_ref().map(HeaderValue::as_bytes);
            let id = sse_core::server::LastEventId::from_request(header, query.as_deref());
            LastEventId(id.map(sse_core::server::LastEventId::into_string))
        })
}
