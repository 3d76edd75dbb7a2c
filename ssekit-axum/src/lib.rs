//! # ssekit-axum
//!
//! Server-Sent Events for [axum] 0.8, as thin glue over [`ssekit`]: a response type, [`Sse`],
//! and a `Last-Event-ID` extractor, [`LastEventId`]. Encoding, keep-alive, shutdown and the
//! resumable broadcast live in [`ssekit`], so every framework adapter behaves the same. This
//! crate re-exports what a handler touches: you need no other SSE crate in your `Cargo.toml`.
//!
//! ```no_run
//! use std::time::Duration;
//!
//! use axum::{Router, extract::State, routing::get};
//! use futures_util::stream::{self, Stream};
//! use ssekit_axum::{Event, EventError, KeepAlive, LastEventId, Shutdown, Sse};
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
//! ## Serving a broadcast
//!
//! [`Sse::from_broadcast`] serves anything that implements [`Broadcast`]: the in-memory
//! [`Hub`] (encode once, replay after `Last-Event-ID`, bounded slow subscribers), or
//! `ssekit_redis::RedisHub` when several instances share one stream.
//!
//! ```
//! use axum::{Router, extract::State, routing::get};
//! use ssekit_axum::{Hub, HubSubscription, LastEventId, Sse};
//!
//! async fn events(State(hub): State<Hub>, last: LastEventId) -> Sse<HubSubscription> {
//!     Sse::from_broadcast(&hub, &last)
//! }
//! let app: Router = Router::new().route("/events", get(events)).with_state(Hub::new());
//! # let _ = app;
//! ```
//!
//! ## Serving many connections
//!
//! An idle event stream costs what the HTTP server keeps per connection. `axum::serve` serves
//! every connection through hyper-util's `auto` builder (HTTP/1.1 and HTTP/2 detection, upgrade
//! support); for a server whose connections are mostly long-lived event streams, serving each
//! connection on hyper's HTTP/1 builder directly keeps less. Measured by the workspace's scale
//! benchmark (`scale/`, BENCHMARKS.md "Serving 10 000 connections"): about 12 KiB of RSS per
//! idle connection instead of about 20 KiB, and less CPU per delivered event. What it gives up:
//! HTTP/2 without TLS (h2c) and protocol upgrades (WebSocket) on that listener, and
//! `axum::serve`'s graceful shutdown (hyper-util's `server::graceful::GracefulShutdown` does it
//! for connections served this way).
//!
//! ```no_run
//! use std::time::Duration;
//!
//! use axum::{Router, extract::State, routing::get};
//! use hyper::server::conn::http1;
//! use hyper_util::rt::{TokioIo, TokioTimer};
//! use hyper_util::service::TowerToHyperService;
//! use ssekit_axum::{Hub, HubSubscription, LastEventId, Sse};
//!
//! async fn events(State(hub): State<Hub>, last: LastEventId) -> Sse<HubSubscription> {
//!     Sse::from_broadcast(&hub, &last)
//! }
//!
//! #[tokio::main]
//! async fn main() -> std::io::Result<()> {
//!     let app = Router::new().route("/events", get(events)).with_state(Hub::new());
//!     // A long listen queue for reconnect storms (std's and tokio's `bind` ask for 128).
//!     let socket = tokio::net::TcpSocket::new_v4()?;
//!     socket.set_reuseaddr(true)?;
//!     socket.bind(([0, 0, 0, 0], 3000).into())?;
//!     let listener = socket.listen(4096)?;
//!     let mut http = http1::Builder::new();
//!     http.timer(TokioTimer::new())
//!         .header_read_timeout(std::time::Duration::from_secs(10)); // slow heads are closed
//!     loop {
//!         let stream = match listener.accept().await {
//!             Ok((stream, _)) => stream,
//!             // Out of file descriptors (EMFILE) or an aborted connection: wait, go on.
//!             Err(_) => {
//!                 tokio::time::sleep(Duration::from_millis(10)).await;
//!                 continue;
//!             }
//!         };
//!         let service = TowerToHyperService::new(app.clone());
//!         let connection = http.serve_connection(TokioIo::new(stream), service);
//!         tokio::spawn(async move {
//!             let _ = connection.await;
//!         });
//!     }
//! }
//! ```
//!
//! What a user can set, and what it changes per idle connection (same benchmark):
//!
//! - `http1::Builder::max_buf_size` (minimum 8192, it panics below) and `writev(false)` change
//!   nothing measurable: hyper 1.x reserves an 8 KiB read buffer and an 8 KiB buffer for
//!   response heads on every connection whatever they are set to. Those two buffers (16 KiB of
//!   heap, of which about 8 KiB is resident) are most of what an idle connection costs;
//!   `ssekit-axum` keeps under 1 KiB of its own (the subscription, the body, the keep-alive timer)
//!   plus the response's header map, which hyper keeps to reuse.
//! - The allocator is a deployment setting, not a property of this crate: with jemalloc
//!   (`LD_PRELOAD=libjemalloc.so.2`, or a `#[global_allocator]`) an idle connection's RSS was
//!   9.1 KiB instead of 11.6 KiB with glibc's malloc at 10 000 connections; glibc's
//!   `MALLOC_ARENA_MAX` changed nothing.
//! - [`Sse::max_batch`]: how many bytes of ready frames go out as one chunk (default 16 KiB).
//!
//! ## What the response does
//!
//! - The stream's items are [`Event`]s (encoded by `ssekit-proto`; the builder refuses names and
//!   ids that would inject fields), [`Frame`]s (already encoded, from a broadcast that encodes
//!   once), or `Result`s of either (see [`IntoFrame`]): a stream that cannot fail needs no `Ok`
//!   wrapping. An `Err` item ends the response: hyper closes the connection without ending the
//!   body cleanly, so the client sees an aborted stream and reconnects.
//! - Keep-alive comments (`:\n\n`) go out after 15 s without an event ([`KeepAlive`]); change
//!   the interval with [`Sse::keep_alive`], or turn them off with [`Sse::no_keep_alive`].
//! - When the client goes away, hyper drops the body and with it your stream at once, so the
//!   work behind it stops.
//! - Headers: [`ssekit::headers::RESPONSE_HEADERS`] and `Connection: keep-alive`, which
//!   hyper removes from HTTP/2 responses (see [`ssekit::headers`] for why that is right).
//!
//! ## Features
//!
//! `ssekit`'s features, forwarded under the same names, so this crate is the only SSE
//! dependency of your `Cargo.toml`:
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `serde` | no | `Event::builder().json_data(&value)`: JSON event data |
//! | `jwt` | no | `broker::jwt`: a JWT (HS256/RS256) authorization hook with Mercure-style claims |
//! | `metrics` | no | the [`broker`] reports through the `metrics` facade (install any recorder, Prometheus's say) |
//! | `signal` | no | `Shutdown::trigger_on_signals`: Ctrl-C and `SIGTERM` trigger a [`Shutdown`] |
//!
//! [axum]: https://docs.rs/axum/0.8

use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::extract::FromRequestParts;
use axum::http::header::{HeaderName, HeaderValue};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures_core::Stream;
use ssekit::SseBody;
use ssekit::headers::{CONNECTION_KEEP_ALIVE, RESPONSE_HEADERS};

#[cfg(feature = "edge")]
#[cfg_attr(docsrs, doc(cfg(feature = "edge")))]
mod edge;
#[cfg(feature = "edge")]
pub use edge::{Serve, serve};

/// The server crate this one is glue for: the body, headers, `Last-Event-ID` rules, the hub,
/// the broker and the protocol (`ssekit::proto`).
pub use ssekit;
/// The topic broker of `ssekit`: serve a [`broker::Ticket`] with [`Sse::from_broadcast`],
/// refuse with [`Rejected`] (subscriptions) and [`PublishRejected`] (publishes), read the
/// request with [`BrokerRequest`].
pub use ssekit::broker;
pub use ssekit::hub::{Hub, HubConfig, HubResume, HubSubscription, LagPolicy};
pub use ssekit::proto::{EventName, event_name};
pub use ssekit::{
    Broadcast, Event, EventBuilder, EventError, Frame, IntoFrame, KeepAlive, ReceiverStream,
    Shutdown,
};

/// An event stream response: `Sse::new(stream)`, returned from a handler.
///
/// `stream` yields [`Event`]s, [`Frame`]s, or `Result`s of either whose error converts into
/// `Box<dyn Error + Send + Sync>` (see [`IntoFrame`]). Keep-alive is on by default
/// ([`KeepAlive::default`], every 15 s of idleness).
///
/// ```
/// use std::time::Duration;
///
/// use futures_util::stream;
/// use ssekit_axum::{Event, KeepAlive, Sse};
///
/// let events = stream::iter([Event::message("hello")]);
/// let response = Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(5)));
/// # let _ = response;
/// ```
#[must_use = "a response does nothing until it is returned from a handler"]
pub struct Sse<S>
where
    S: Stream,
    S::Item: IntoFrame,
{
    body: SseBody<S>,
}

impl<S> fmt::Debug for Sse<S>
where
    S: Stream,
    S::Item: IntoFrame,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Sse").field(&self.body).finish()
    }
}

impl<S> Sse<S>
where
    S: Stream + Send + 'static,
    S::Item: IntoFrame,
    <S::Item as IntoFrame>::Error: Into<axum::BoxError> + Send,
{
    /// A response sending `events`, with the default keep-alive.
    pub fn new(events: S) -> Sse<S> {
        Sse {
            body: SseBody::new(events).keep_alive(KeepAlive::default()),
        }
    }

    /// Serves a [`Broadcast`] (a [`Hub`], a `RedisHub`, ...) in one call: first every retained
    /// event after the client's `Last-Event-ID` (header, or `?lastEventId=`), then live events;
    /// the frames were encoded once by the broadcast.
    pub fn from_broadcast<B>(broadcast: &B, last_event_id: &LastEventId) -> Self
    where
        B: Broadcast<Subscription = S>,
    {
        Sse {
            body: SseBody::new(broadcast.subscribe(last_event_id.as_deref()))
                .keep_alive(KeepAlive::default())
                .stall_check(B::stalled),
        }
    }
}

impl<T> Sse<ReceiverStream<T>>
where
    T: IntoFrame + Send + 'static,
    T::Error: Into<axum::BoxError> + Send,
{
    /// A response sending what arrives on `receiver` (events, frames, or results), until
    /// every sender is dropped. When the client goes away, the producer's next `send` fails.
    ///
    /// ```
    /// # use ssekit_axum::{Event, Sse};
    /// let (tx, rx) = tokio::sync::mpsc::channel::<Event>(16);
    /// let response = Sse::from_receiver(rx);
    /// # drop((tx, response));
    /// ```
    pub fn from_receiver(receiver: tokio::sync::mpsc::Receiver<T>) -> Self {
        Sse::new(ReceiverStream::new(receiver))
    }
}

impl<S> Sse<S>
where
    S: Stream,
    S::Item: IntoFrame,
{
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

    /// Bounds the chunks handed to hyper: frames that are ready together (a replay, a burst, a
    /// connection that is behind) go out as one chunk of at least this many bytes when there
    /// are that many, so one write and one chunk header carry them (default
    /// [`SseBody::DEFAULT_MAX_BATCH`], 16 KiB; `0`: one frame per chunk). See
    /// [`SseBody::max_batch`].
    pub fn max_batch(self, bytes: usize) -> Sse<S> {
        Sse {
            body: self.body.max_batch(bytes),
        }
    }
}

impl<S> IntoResponse for Sse<S>
where
    S: Stream + Send + 'static,
    S::Item: IntoFrame,
    <S::Item as IntoFrame>::Error: Into<axum::BoxError> + Send,
{
    fn into_response(self) -> Response {
        // Boxed as axum's own body type, so `Body::new` takes it as it is: hyper polls the
        // `SseBody` through one box, not through axum's stream adapter and error mapping too.
        let body = http_body_util::BodyExt::boxed_unsync(AxumBody(self.body));
        let mut response = Response::new(Body::new(body));
        let headers = response.headers_mut();
        // hyper strips `Connection` from HTTP/2 responses: see `ssekit::headers`.
        for (name, value) in RESPONSE_HEADERS.into_iter().chain([CONNECTION_KEEP_ALIVE]) {
            headers.insert(
                HeaderName::from_static(name),
                HeaderValue::from_static(value),
            );
        }
        response
    }
}

/// [`SseBody`] as an HTTP body, with axum's error type.
struct AxumBody<S>(SseBody<S>)
where
    S: Stream,
    S::Item: IntoFrame;

impl<S> http_body::Body for AxumBody<S>
where
    S: Stream,
    S::Item: IntoFrame,
    <S::Item as IntoFrame>::Error: Into<axum::BoxError>,
{
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, axum::Error>>> {
        let body = &mut self.get_mut().0;
        match Pin::new(&mut *body).poll_next(cx) {
            Poll::Ready(Some(Ok(chunk))) => Poll::Ready(Some(Ok(http_body::Frame::data(chunk)))),
            Poll::Ready(Some(Err(error))) => Poll::Ready(Some(Err(axum::Error::new(error)))),
            // Ended by the stall rule: an error, so hyper aborts the connection.
            Poll::Ready(None) if body.is_stalled() => {
                Poll::Ready(Some(Err(axum::Error::new(ssekit::Stalled))))
            }
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// The `Last-Event-ID` a reconnecting client sent; extracting it never fails.
///
/// `Some(id)` when the request has a valid `Last-Event-ID` header or, without the header, a
/// valid `?lastEventId=` query parameter (for clients that cannot set headers); `None`
/// otherwise, also for an invalid value (empty, not UTF-8, containing NUL, CR or LF, longer
/// than [`ssekit::last_event_id::MAX_LEN`] bytes). The rules are
/// [`ssekit::last_event_id`]'s, the same in every adapter.
///
/// ```
/// use ssekit_axum::LastEventId;
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
            .get(ssekit::last_event_id::HEADER)
            .map(HeaderValue::as_bytes);
        Ok(LastEventId(ssekit::last_event_id::from_request(
            header,
            parts.uri.query(),
        )))
    }
}

/// A subscription the [`broker`] refused, as a response: [`Rejection::status`] (400, 403, or
/// 503 with `Retry-After`), the reason as text. Return `Result<Sse<_>, Rejected>` from a
/// handler and use `?` on [`Broker::admit`](broker::Broker::admit).
///
/// [`Rejection::status`]: broker::Rejection::status
///
/// ```
/// use axum::extract::State;
/// use ssekit_axum::broker::{Broker, BrokerSubscription};
/// use ssekit_axum::{BrokerRequest, LastEventId, Rejected, Sse};
///
/// // `GET /events?topic=rooms/42/*&topic=users/7`
/// async fn events(
///     State(broker): State<Broker>,
///     BrokerRequest(request): BrokerRequest,
///     last: LastEventId,
/// ) -> Result<Sse<BrokerSubscription>, Rejected> {
///     let ticket = broker.admit_query(&request)?; // authorization and admission limits
///     Ok(Sse::from_broadcast(&ticket, &last))
/// }
/// let app: axum::Router = axum::Router::new()
///     .route("/events", axum::routing::get(events))
///     .with_state(Broker::new());
/// # let _ = app;
/// ```
#[derive(Debug)]
pub struct Rejected(pub broker::Rejection);

impl From<broker::Rejection> for Rejected {
    fn from(rejection: broker::Rejection) -> Rejected {
        Rejected(rejection)
    }
}

impl fmt::Display for Rejected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for Rejected {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        // Transparent: the message is the inner error's, so is its source.
        std::error::Error::source(&self.0)
    }
}

impl IntoResponse for Rejected {
    fn into_response(self) -> Response {
        refusal(
            self.0.status(),
            self.0.to_string(),
            self.0.retry_after_header(),
        )
    }
}

/// A publish the [`broker`] refused, as a response: [`PublishError::status`] (400, 403, 500 or
/// 503), the reason as text. Return `Result<_, PublishRejected>` from a handler and use `?` on
/// [`Broker::publish_as`](broker::Broker::publish_as).
///
/// [`PublishError::status`]: broker::PublishError::status
///
/// ```
/// use axum::extract::State;
/// use ssekit_axum::broker::{Broker, TOPIC_PARAM};
/// use ssekit_axum::{BrokerRequest, Event, PublishRejected};
///
/// // `POST /publish?topic=rooms/42/chat`, the message as the body
/// async fn publish(
///     State(broker): State<Broker>,
///     BrokerRequest(request): BrokerRequest,
///     message: String,
/// ) -> Result<String, PublishRejected> {
///     let topics = request.query_params(TOPIC_PARAM);
///     let id = broker.publish_as(&request, &topics, Event::message(message))?;
///     Ok(id.to_string())
/// }
/// let app: axum::Router = axum::Router::new()
///     .route("/publish", axum::routing::post(publish))
///     .with_state(Broker::new());
/// # let _ = app;
/// ```
#[derive(Debug)]
pub struct PublishRejected(pub broker::PublishError);

impl From<broker::PublishError> for PublishRejected {
    fn from(error: broker::PublishError) -> PublishRejected {
        PublishRejected(error)
    }
}

impl fmt::Display for PublishRejected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for PublishRejected {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        // Transparent: the message is the inner error's, so is its source.
        std::error::Error::source(&self.0)
    }
}

impl IntoResponse for PublishRejected {
    fn into_response(self) -> Response {
        refusal(self.0.status(), self.0.to_string(), None)
    }
}

/// A refusal as a plain-text response with its status and, for a 503, `Retry-After`.
fn refusal(status: u16, reason: String, retry_after: Option<String>) -> Response {
    let status = axum::http::StatusCode::from_u16(status)
        .unwrap_or(axum::http::StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, reason).into_response();
    if let Some(value) = retry_after.and_then(|v| HeaderValue::from_str(&v).ok()) {
        response
            .headers_mut()
            .insert(axum::http::header::RETRY_AFTER, value);
    }
    response
}

/// The request as the [`broker`]'s authorization hook sees it (its headers and query string):
/// an extractor that never fails.
#[derive(Debug, Clone)]
pub struct BrokerRequest(pub broker::RequestInfo);

impl<S: Send + Sync> FromRequestParts<S> for BrokerRequest {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let headers = parts
            .headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_bytes()));
        Ok(BrokerRequest(broker::RequestInfo::from_parts(
            headers,
            parts.uri.query(),
        )))
    }
}

/// This crate's README: its examples are compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
