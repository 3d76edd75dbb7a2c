//! # sse-axum
//!
//! Server-Sent Events for [axum] 0.8, as thin glue over [`sse_core`]: a response type, [`Sse`],
//! and a `Last-Event-ID` extractor, [`LastEventId`]. Encoding, keep-alive and shutdown live in
//! [`sse_core::server`], so every framework adapter behaves the same.
//!
//! ```no_run
//! use std::time::Duration;
//!
//! use axum::{Router, extract::State, routing::get};
//! use futures_util::stream::{self, Stream};
//! use sse_axum::{Event, EventError, KeepAlive, LastEventId, Shutdown, Sse};
//!
//! // A clock: one event a second, resuming after the id the client last saw.
//! async fn clock(
//!     LastEventId(last): LastEventId,
//!     State(shutdown): State<Shutdown>,
//! ) -> Sse<impl Stream<Item = Result<Event, EventError>>> {
//!     let next = last.and_then(|id| id.parse::<u64>().ok()).map_or(0, |n| n + 1);
//!     let ticks = stream::unfold(next, |n| async move {
//!         tokio::time::sleep(Duration::from_secs(1)).await;
//!         let event = Event::builder().event("tick").id(n.to_string()).data(n.to_string());
//!         Some((event.build(), n + 1))
//!     });
//!     Sse::new(ticks)
//!         .keep_alive(KeepAlive::new().interval(Duration::from_secs(10)))
//!         .shutdown_on(shutdown.signal())
//! }
//!
//! #[tokio::main]
//! async fn main() -> std::io::Result<()> {
//!     let shutdown = Shutdown::new();
//!     let app = Router::new()
//!         .route("/clock", get(clock))
//!         .with_state(shutdown.clone());
//!     let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//!     // Call `shutdown.trigger()` (from a signal handler, say) to end every open stream; the
//!     // graceful shutdown then completes instead of waiting for clients that never leave.
//!     axum::serve(listener, app)
//!         .with_graceful_shutdown(shutdown.signal())
//!         .await
//! }
//! ```
//!
//! ## What the response does
//!
//! - The stream's items are [`Event`]s (encoded by [`sse_core`]; the builder refuses names and
//!   ids that would inject fields) or pre-encoded `Bytes` frames (see [`IntoFrame`]; from a
//!   broadcast that encodes once). An `Err` item ends the response: hyper closes the connection
//!   without ending the body cleanly, so the client sees an aborted stream and reconnects.
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
//! `IntoResponse` does not see the request, so [`Sse`] cannot ask which HTTP version it answers.
//! It sets `Connection: keep-alive` always, and that is correct because axum is served by hyper
//! (`axum::serve`, or hyper-util directly), which treats the header per version:
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
//! [axum]: https://docs.rs/axum/0.8

use std::convert::Infallible;
use std::fmt;
use std::future::Future;

use axum::body::Body;
use axum::extract::FromRequestParts;
use axum::http::header::{CONNECTION, HeaderName, HeaderValue};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use futures_core::Stream;
use sse_core::server::{IntoFrame, RESPONSE_HEADERS, SseBody};

pub use sse_core::hub::{Hub, HubConfig, LagPolicy};
pub use sse_core::server::{KeepAlive, Shutdown};
pub use sse_core::{Event, EventError};

/// An event stream response: `Sse::new(stream)`, returned from a handler.
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
/// use sse_axum::{Event, KeepAlive, Sse};
///
/// let events = stream::iter([Ok::<_, Infallible>(Event::message("hello"))]);
/// let response = Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(5)));
/// # let _ = response;
/// ```
pub struct Sse<S> {
    body: SseBody<S>,
}

impl<S> fmt::Debug for Sse<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Sse").field(&self.body).finish()
    }
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
    E: Into<axum::BoxError>,
{
    /// A response sending `events`, with the default keep-alive.
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

impl<S, T, E> IntoResponse for Sse<S>
where
    S: Stream<Item = Result<T, E>> + Send + 'static,
    T: IntoFrame,
    E: Into<axum::BoxError>,
{
    fn into_response(self) -> Response {
        let body = self.body;
        let mut response = Response::new(Body::from_stream(body));
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

/// The `Last-Event-ID` a reconnecting client sent; extracting it never fails.
///
/// `Some(id)` when the request has a valid `Last-Event-ID` header or, without the header, a
/// valid `?lastEventId=` query parameter (for clients that cannot set headers); `None`
/// otherwise, also for an invalid value (empty, not UTF-8, containing NUL, CR or LF, longer
/// than [`sse_core::server::MAX_LAST_EVENT_ID_LEN`] bytes). The rules are
/// [`sse_core::server::LastEventId::from_request`]'s, the same in every adapter.
///
/// ```
/// use sse_axum::LastEventId;
///
/// async fn handler(LastEventId(last): LastEventId) -> String {
///     format!("resuming after {last:?}")
/// }
/// let app: axum::Router = axum::Router::new().route("/resume", axum::routing::get(handler));
/// # let _ = app;
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct LastEventId(pub Option<String>);

impl LastEventId {
    /// The id, borrowed.
    pub fn as_deref(&self) -> Option<&str> {
        self.0.as_deref()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for LastEventId {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let header = parts
            .headers
            .get(sse_core::server::LastEventId::HEADER)
            .map(HeaderValue::as_bytes);
        let id = sse_core::server::LastEventId::from_request(header, parts.uri.query());
        Ok(LastEventId(
            id.map(sse_core::server::LastEventId::into_string),
        ))
    }
}
