//! # ssekit-warp
//!
//! Server-Sent Events for [warp] 0.4, as thin glue over [`ssekit`]: a reply type, [`Sse`]
//! (made with [`reply`] or [`Sse::new`]), and a `Last-Event-ID` filter, [`last_event_id`].
//! Encoding, keep-alive, shutdown and the resumable broadcast live in [`ssekit`], so every
//! framework adapter behaves the same. This crate re-exports what a filter touches: you need no
//! other SSE crate in your `Cargo.toml`.
//!
//! ```no_run
//! use std::time::Duration;
//!
//! use futures_util::stream;
//! use ssekit_warp::{Event, KeepAlive, LastEventId, Shutdown};
//! use warp::Filter;
//!
//! #[tokio::main]
//! async fn main() {
//!     let shutdown = Shutdown::new();
//!     // A clock: one event a second, resuming after the id the client last saw.
//!     let clock = warp::path("clock")
//!         .and(warp::get())
//!         .and(ssekit_warp::last_event_id())
//!         .map({
//!             let shutdown = shutdown.clone();
//!             move |LastEventId(last): LastEventId| {
//!                 let next = last.and_then(|id| id.parse::<u64>().ok()).map_or(0, |n| n + 1);
//!                 let ticks = stream::unfold(next, |n| async move {
//!                     tokio::time::sleep(Duration::from_secs(1)).await;
//!                     let event = Event::builder().event("tick").id(n.to_string());
//!                     Some((event.data(n.to_string()).build(), n + 1))
//!                 });
//!                 ssekit_warp::reply(ticks)
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
//! ## Serving a broadcast
//!
//! [`Sse::from_broadcast`] (or [`broadcast`]) serves anything that implements [`Broadcast`]:
//! the in-memory [`Hub`] (encode once, replay after `Last-Event-ID`, bounded slow
//! subscribers), or `ssekit_redis::RedisHub` when several instances share one stream.
//!
//! ```
//! use ssekit_warp::{Hub, LastEventId};
//! use warp::Filter;
//!
//! let hub = Hub::new();
//! let events = warp::path("events")
//!     .and(ssekit_warp::last_event_id())
//!     .map(move |last: LastEventId| ssekit_warp::broadcast(&hub, &last));
//! # let _ = events;
//! ```
//!
//! ## Serving many connections
//!
//! An idle event stream costs what the HTTP server keeps per connection. `warp::serve` serves
//! every connection through hyper-util's `auto` builder (HTTP/1.1 and HTTP/2 detection, upgrade
//! support); for a server whose connections are mostly long-lived event streams, serving the
//! filter as a service (`warp::service`) on hyper's HTTP/1 builder directly keeps less.
//! Measured by the workspace's scale benchmark (`scale/`, BENCHMARKS.md "Serving 10 000
//! connections"): about 12 KiB of RSS per idle connection instead of about 17.5 KiB. What it
//! gives up: HTTP/2 without TLS (h2c) and upgrades (WebSocket) on that listener, and
//! `warp::serve`'s graceful shutdown (hyper-util's `server::graceful::GracefulShutdown` does it
//! for connections served this way).
//!
//! ```no_run
//! use std::time::Duration;
//!
//! use hyper::server::conn::http1;
//! use hyper_util::rt::{TokioIo, TokioTimer};
//! use hyper_util::service::TowerToHyperService;
//! use ssekit_warp::{Hub, LastEventId};
//! use warp::Filter;
//!
//! #[tokio::main]
//! async fn main() -> std::io::Result<()> {
//!     let hub = Hub::new();
//!     let events = warp::path("events")
//!         .and(ssekit_warp::last_event_id())
//!         .map(move |last: LastEventId| ssekit_warp::broadcast(&hub, &last));
//!     let service = warp::service(events);
//!     // A long listen queue for reconnect storms (std's and tokio's `bind` ask for 128).
//!     let socket = tokio::net::TcpSocket::new_v4()?;
//!     socket.set_reuseaddr(true)?;
//!     socket.bind(([0, 0, 0, 0], 3030).into())?;
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
//!         let service = TowerToHyperService::new(service.clone());
//!         let connection = http.serve_connection(TokioIo::new(stream), service);
//!         tokio::spawn(async move {
//!             let _ = connection.await;
//!         });
//!     }
//! }
//! ```
//!
//! hyper's own settings (`http1::Builder::max_buf_size`, `writev`) change nothing measurable:
//! hyper 1.x reserves an 8 KiB read buffer and an 8 KiB buffer for response heads on every
//! connection, most of what an idle connection costs (see `ssekit-axum`'s docs for the heap
//! profile). The allocator is a deployment setting: with jemalloc an idle connection's RSS
//! was 11.0 KiB instead of 11.9 KiB with glibc's malloc at 10 000 connections.
//! [`Sse::max_batch`] bounds how many bytes of ready frames go out as one chunk (default 16
//! KiB).
//!
//! ## What the reply does
//!
//! - The stream's items are [`Event`]s (encoded by `ssekit-proto`; the builder refuses names and
//!   ids that would inject fields), [`Frame`]s (already encoded, from a broadcast that encodes
//!   once), or `Result`s of either (see [`IntoFrame`]): a stream that cannot fail needs no `Ok`
//!   wrapping. An `Err` item ends the response: hyper closes the connection without ending the
//!   body cleanly, so the client sees an aborted stream and reconnects.
//! - The stream only has to be `Send` (warp's own `warp::sse::reply` also wants `Sync`).
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
//! [warp]: https://docs.rs/warp/0.4

use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Mutex, PoisonError};
use std::task::{Context, Poll};

use futures_core::Stream;
use ssekit::SseBody;
use ssekit::headers::{CONNECTION_KEEP_ALIVE, RESPONSE_HEADERS};
use warp::Filter;
use warp::http::header::{HeaderName, HeaderValue};
use warp::reply::{Reply, Response};

#[cfg(feature = "edge")]
#[cfg_attr(docsrs, doc(cfg(feature = "edge")))]
mod edge;
#[cfg(feature = "edge")]
pub use edge::{Serve, serve};

/// The server crate this one is glue for: the body, headers, `Last-Event-ID` rules, the hub,
/// the broker and the protocol (`ssekit::proto`).
pub use ssekit;
/// The topic broker of `ssekit`: serve a [`broker::Ticket`] with [`Sse::from_broadcast`]
/// (or [`broadcast`]), refuse with [`Rejected`] (subscriptions) and [`PublishRejected`]
/// (publishes), read the request with [`broker_request`].
pub use ssekit::broker;
pub use ssekit::hub::{Hub, HubConfig, HubResume, HubSubscription, LagPolicy};
pub use ssekit::proto::{EventName, event_name};
pub use ssekit::{
    Broadcast, Event, EventBuilder, EventError, Frame, IntoFrame, KeepAlive, ReceiverStream,
    Shutdown,
};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// An event stream reply: `ssekit_warp::reply(stream)` (or `Sse::new(stream)`), returned from a
/// filter.
///
/// `stream` yields [`Event`]s, [`Frame`]s, or `Result`s of either whose error converts into
/// `Box<dyn Error + Send + Sync>` (see [`IntoFrame`]). Keep-alive is on by default
/// ([`KeepAlive::default`], every 15 s of idleness).
///
/// ```
/// use std::time::Duration;
///
/// use futures_util::stream;
/// use ssekit_warp::{Event, KeepAlive};
/// use warp::Filter;
///
/// let route = warp::path("hello").map(|| {
///     let events = stream::iter([Event::message("hello")]);
///     ssekit_warp::reply(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(5)))
/// });
/// # let _ = route;
/// ```
#[must_use = "a reply does nothing until it is returned from a filter"]
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

/// A reply sending `events`, with the default keep-alive; the same as [`Sse::new`].
pub fn reply<S>(events: S) -> Sse<S>
where
    S: Stream + Send + 'static,
    S::Item: IntoFrame,
    <S::Item as IntoFrame>::Error: Into<BoxError> + Send + 'static,
{
    Sse::new(events)
}

/// A reply serving a [`Broadcast`]; the same as [`Sse::from_broadcast`].
pub fn broadcast<B: Broadcast>(broadcast: &B, last_event_id: &LastEventId) -> Sse<B::Subscription> {
    Sse::from_broadcast(broadcast, last_event_id)
}

impl<S> Sse<S>
where
    S: Stream + Send + 'static,
    S::Item: IntoFrame,
    <S::Item as IntoFrame>::Error: Into<BoxError> + Send + 'static,
{
    /// A reply sending `events`, with the default keep-alive.
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
    T::Error: Into<BoxError> + Send + 'static,
{
    /// A response sending what arrives on `receiver` (events, frames, or results), until
    /// every sender is dropped. When the client goes away, the producer's next `send` fails.
    ///
    /// ```
    /// # use ssekit_warp::{Event, Sse};
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

    /// Bounds the chunks handed to the server: frames that are ready together (a replay, a
    /// burst, a connection that is behind) go out as one chunk of at least this many bytes
    /// when there are that many (default [`SseBody::DEFAULT_MAX_BATCH`], 16 KiB; `0`: one
    /// frame per chunk). See [`SseBody::max_batch`].
    pub fn max_batch(self, bytes: usize) -> Sse<S> {
        Sse {
            body: self.body.max_batch(bytes),
        }
    }
}

impl<S> Reply for Sse<S>
where
    S: Stream + Send + 'static,
    S::Item: IntoFrame,
    <S::Item as IntoFrame>::Error: Into<BoxError> + Send + 'static,
{
    fn into_response(self) -> Response {
        let mut response = warp::reply::stream(SyncStream(Mutex::new(self.body))).into_response();
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

/// Makes the `Send` body `Sync`, as warp's body wants: the stream is only ever reached through
/// `&mut`, so the mutex is never locked (and never contended). A stream ended by the stall
/// rule ends with the error [`ssekit::Stalled`], so hyper aborts the connection.
struct SyncStream<S>(Mutex<SseBody<S>>)
where
    S: Stream,
    S::Item: IntoFrame;

impl<S> Stream for SyncStream<S>
where
    S: Stream,
    S::Item: IntoFrame,
    <S::Item as IntoFrame>::Error: Into<BoxError>,
{
    type Item = Result<bytes::Bytes, BoxError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let body = self
            .get_mut()
            .0
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner);
        match Pin::new(&mut *body).poll_next(cx) {
            Poll::Ready(None) if body.is_stalled() => {
                Poll::Ready(Some(Err(Box::new(ssekit::Stalled))))
            }
            polled => polled.map(|item| item.map(|chunk| chunk.map_err(Into::into))),
        }
    }
}

/// The `Last-Event-ID` a reconnecting client sent, extracted by [`last_event_id`].
///
/// `Some(id)` when the request has a valid `Last-Event-ID` header or, without the header, a
/// valid `?lastEventId=` query parameter (for clients that cannot set headers); `None`
/// otherwise, also for an invalid value (empty, not UTF-8, containing NUL, CR or LF, longer
/// than [`ssekit::last_event_id::MAX_LEN`] bytes). The rules are
/// [`ssekit::last_event_id`]'s, the same in every adapter.
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
/// use ssekit_warp::LastEventId;
/// use warp::Filter;
///
/// let route = warp::path("resume")
///     .and(ssekit_warp::last_event_id())
///     .map(|LastEventId(last): LastEventId| format!("resuming after {last:?}"));
/// # let _ = route;
/// ```
pub fn last_event_id() -> impl Filter<Extract = (LastEventId,), Error = Infallible> + Clone {
    let header = warp::header::value(ssekit::last_event_id::HEADER)
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
            LastEventId(ssekit::last_event_id::from_request(
                header,
                query.as_deref(),
            ))
        })
}

/// A subscription the [`broker`] refused, as a reply: [`Rejection::status`] (400, 403, or 503
/// with `Retry-After`), the reason as text.
///
/// [`Rejection::status`]: broker::Rejection::status
///
/// ```
/// use ssekit_warp::broker::Broker;
/// use ssekit_warp::{BrokerRequest, LastEventId, Rejected};
/// use warp::{Filter, Reply};
///
/// let broker = Broker::new();
/// // `GET /events?topic=rooms/42/*&topic=users/7`
/// let events = warp::path("events")
///     .and(ssekit_warp::broker_request())
///     .and(ssekit_warp::last_event_id())
///     .map(move |BrokerRequest(request), last: LastEventId| {
///         match broker.admit_query(&request) {
///             Ok(ticket) => ssekit_warp::broadcast(&ticket, &last).into_response(),
///             Err(rejection) => Rejected(rejection).into_response(),
///         }
///     });
/// # let _ = events;
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

impl Reply for Rejected {
    fn into_response(self) -> Response {
        refusal(
            self.0.status(),
            self.0.to_string(),
            self.0.retry_after_header(),
        )
    }
}

/// A publish the [`broker`] refused, as a reply: [`PublishError::status`] (400, 403, 500 or
/// 503), the reason as text.
///
/// [`PublishError::status`]: broker::PublishError::status
///
/// ```
/// use ssekit_warp::broker::{Broker, TOPIC_PARAM};
/// use ssekit_warp::{BrokerRequest, Event, PublishRejected};
/// use warp::{Filter, Reply};
///
/// let broker = Broker::new();
/// // `POST /publish?topic=rooms/42/chat`, the message as the body
/// let publish = warp::path("publish")
///     .and(warp::post())
///     .and(ssekit_warp::broker_request())
///     .and(warp::body::bytes())
///     .map(move |BrokerRequest(request), body: warp::hyper::body::Bytes| {
///         let topics = request.query_params(TOPIC_PARAM);
///         let message = Event::message(String::from_utf8_lossy(&body));
///         match broker.publish_as(&request, &topics, message) {
///             Ok(id) => id.to_string().into_response(),
///             Err(error) => PublishRejected(error).into_response(),
///         }
///     });
/// # let _ = publish;
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

impl Reply for PublishRejected {
    fn into_response(self) -> Response {
        refusal(self.0.status(), self.0.to_string(), None)
    }
}

/// A refusal as a plain-text reply with its status and, for a 503, `Retry-After`.
fn refusal(status: u16, reason: String, retry_after: Option<String>) -> Response {
    let status = warp::http::StatusCode::from_u16(status)
        .unwrap_or(warp::http::StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = warp::reply::with_status(reason, status).into_response();
    if let Some(value) = retry_after.and_then(|v| HeaderValue::from_str(&v).ok()) {
        response
            .headers_mut()
            .insert(warp::http::header::RETRY_AFTER, value);
    }
    response
}

/// The request as the [`broker`]'s authorization hook sees it (its headers and query string),
/// extracted by [`broker_request`]: the same type as `ssekit-axum`'s and `ssekit-actix-web`'s
/// extractor.
#[derive(Debug, Clone)]
pub struct BrokerRequest(pub broker::RequestInfo);

/// A filter extracting the request as the [`broker`]'s authorization hook sees it, a
/// [`BrokerRequest`]; it never rejects.
pub fn broker_request() -> impl Filter<Extract = (BrokerRequest,), Error = Infallible> + Clone {
    let query = warp::query::raw()
        .map(Some)
        .or(warp::any().map(|| None))
        .unify();
    warp::header::headers_cloned().and(query).map(
        |headers: warp::http::HeaderMap, query: Option<String>| {
            let pairs = headers.iter().map(|(n, v)| (n.as_str(), v.as_bytes()));
            BrokerRequest(broker::RequestInfo::from_parts(pairs, query.as_deref()))
        },
    )
}

/// This crate's README: its examples are compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
