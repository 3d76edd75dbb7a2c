//! # ssekit-actix-web
//!
//! Server-Sent Events for [actix-web] 4, as thin glue over [`ssekit`]: a responder, [`Sse`],
//! and a `Last-Event-ID` extractor, [`LastEventId`]. Encoding, keep-alive, shutdown and the
//! resumable broadcast live in [`ssekit`], so every framework adapter behaves the same. This
//! crate re-exports what a handler touches: you need no other SSE crate in your `Cargo.toml`.
//!
//! ```no_run
//! use std::time::Duration;
//!
//! use actix_web::{App, HttpServer, get, web};
//! use futures_util::stream::{self, Stream};
//! use ssekit_actix_web::{Event, EventError, KeepAlive, LastEventId, Shutdown, Sse};
//!
//! // A clock: one event a second, resuming after the id the client last saw.
//! #[get("/clock")]
//! async fn clock(
//!     LastEventId(last): LastEventId,
//!     shutdown: web::Data<Shutdown>,
//! ) -> Sse<impl Stream<Item = Result<Event, EventError>>> {
//!     let next = last.and_then(|id| id.parse::<u64>().ok()).map_or(0, |n| n + 1);
//!     let ticks = stream::unfold(next, |n| async move {
//!         actix_web::rt::time::sleep(Duration::from_secs(1)).await;
//!         let event = Event::builder().event("tick").id(n.to_string()).data(n.to_string());
//!         Some((event.build(), n + 1))
//!     });
//!     Sse::new(ticks)
//!         .keep_alive(KeepAlive::new().interval(Duration::from_secs(10)))
//!         .shutdown_on(shutdown.signal())
//! }
//!
//! #[actix_web::main]
//! async fn main() -> std::io::Result<()> {
//!     let shutdown = Shutdown::new();
//!     let data = web::Data::new(shutdown.clone());
//!     let server = HttpServer::new(move || App::new().app_data(data.clone()).service(clock))
//!         .bind(("127.0.0.1", 8080))?
//!         .run();
//!     // To stop: `shutdown.trigger()` ends every open stream, then
//!     // `server.handle().stop(true)` completes instead of waiting for clients that never leave.
//!     server.await
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
//! use actix_web::web;
//! use ssekit_actix_web::{Hub, HubSubscription, LastEventId, Sse};
//!
//! async fn events(hub: web::Data<Hub>, last: LastEventId) -> Sse<HubSubscription> {
//!     Sse::from_broadcast(hub.get_ref(), &last)
//! }
//! # let _ = web::get().to(events);
//! ```
//!
//! ## Serving many connections
//!
//! actix-web has nothing to set that changes what an idle event stream costs: actix-http
//! allocates an 8 KiB read buffer and an 8 KiB write buffer per connection (fixed sizes, not
//! settings), most of the about 10.5 KiB of RSS an idle connection costs in the workspace's
//! scale benchmark (`scale/`, BENCHMARKS.md "Serving 10 000 connections"); `ssekit-actix-web` keeps
//! under 1 KiB of its own. What matters at scale is the deployment around it:
//!
//! - the listen backlog: `HttpServer::backlog` (default 1024, before `bind`), or a listener
//!   built with `tokio::net::TcpSocket::listen(4096)` and passed to `HttpServer::listen`, as
//!   the benchmark does; `net.core.somaxconn` caps either;
//! - `HttpServer::max_connections` (default 25 000 per worker): at the limit a worker stops
//!   accepting, so raise it for more open streams per worker (`max_connection_rate` is the
//!   same for TLS handshakes in progress);
//! - the allocator, a deployment setting: jemalloc and glibc's malloc gave the same RSS per
//!   idle connection here.
//!
//! [`Sse::max_batch`] bounds how many bytes of ready frames go out as one chunk (default 16
//! KiB).
//!
//! ## What the responder does
//!
//! - The stream's items are [`Event`]s (encoded by `ssekit-proto`; the builder refuses names and
//!   ids that would inject fields), [`Frame`]s (already encoded, from a broadcast that encodes
//!   once), or `Result`s of either (see [`IntoFrame`]): a stream that cannot fail needs no `Ok`
//!   wrapping. An `Err` item ends the response: actix logs the error and closes the connection
//!   without ending the body cleanly, so the client sees an aborted stream and reconnects. The
//!   stream need not be `Send` (actix runs each handler on one worker thread); a shutdown
//!   signal must be.
//! - Keep-alive comments (`:\n\n`) go out after 15 s without an event ([`KeepAlive`]); change
//!   the interval with [`Sse::keep_alive`], or turn them off with [`Sse::no_keep_alive`].
//! - When the client goes away, actix drops the response body and with it your stream, so the
//!   work behind it stops.
//! - Headers: [`ssekit::headers::RESPONSE_HEADERS`] (the `Content-Encoding: identity` also
//!   keeps actix's `Compress` middleware from buffering events), and `Connection: keep-alive`
//!   on HTTP/1.1 requests only, which actix-http replaces on the wire by its own (see
//!   [`ssekit::headers`]).
//!
//! ### HTTP/1.0
//!
//! actix-http would frame a streamed body with chunked encoding even for an HTTP/1.0 client,
//! which cannot decode it; the responder turns chunking off for HTTP/1.0 requests and closes
//! the connection after the response, so the body ends with the connection, as HTTP/1.0 wants.
//!
//! ### Graceful stop
//!
//! `ServerHandle::stop(true)` waits for every open connection, not only for open responses. Call
//! [`Shutdown::trigger`] first so event streams end; connections that stay open idle after that
//! are closed by actix's keep-alive timeout (`HttpServer::keep_alive`, 5 s by default), and in
//! any case after `HttpServer::shutdown_timeout`.
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
//! [actix-web]: https://docs.rs/actix-web/4

use std::convert::Infallible;
use std::error::Error as StdError;
use std::fmt;
use std::future::{Future, Ready, ready};
use std::pin::Pin;
use std::task::{Context, Poll};

use actix_web::body::BoxBody;
use actix_web::dev::Payload;
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::http::{StatusCode, Version};
use actix_web::{FromRequest, HttpRequest, HttpResponse, Responder};
use bytes::Bytes;
use futures_core::Stream;
use ssekit::SseBody;
use ssekit::headers::{CONNECTION_KEEP_ALIVE, RESPONSE_HEADERS};

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

type BoxError = Box<dyn StdError + Send + Sync>;

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
/// use ssekit_actix_web::{Event, KeepAlive, Sse};
///
/// async fn hello() -> impl actix_web::Responder {
///     let events = stream::iter([Event::message("hello")]);
///     Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(5)))
/// }
/// # let _ = actix_web::web::get().to(hello);
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
    S: Stream + 'static,
    S::Item: IntoFrame,
    <S::Item as IntoFrame>::Error: Into<BoxError> + 'static,
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
    T: IntoFrame + 'static,
    T::Error: Into<BoxError> + 'static,
{
    /// A response sending what arrives on `receiver` (events, frames, or results), until
    /// every sender is dropped. When the client goes away, the producer's next `send` fails.
    ///
    /// ```
    /// # use ssekit_actix_web::{Event, Sse};
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

impl<S> Responder for Sse<S>
where
    S: Stream + 'static,
    S::Item: IntoFrame,
    <S::Item as IntoFrame>::Error: Into<BoxError> + 'static,
{
    type Body = BoxBody;

    fn respond_to(self, req: &HttpRequest) -> HttpResponse<BoxBody> {
        let body = self.body;
        let mut response = HttpResponse::Ok();
        for (name, value) in RESPONSE_HEADERS {
            response.insert_header((
                HeaderName::from_static(name),
                HeaderValue::from_static(value),
            ));
        }
        let version = req.version();
        if version == Version::HTTP_11 {
            // actix-http writes its own `Connection` header on the wire: see `ssekit::headers`.
            let (name, value) = CONNECTION_KEEP_ALIVE;
            response.insert_header((
                HeaderName::from_static(name),
                HeaderValue::from_static(value),
            ));
        } else if version < Version::HTTP_11 {
            // HTTP/1.0 has no chunked framing (actix would send it anyway): the body ends with
            // the connection.
            response.force_close();
        }
        let mut response = response.streaming(ActixBody(body));
        if version < Version::HTTP_11 {
            response.head_mut().no_chunking(true);
        }
        response
    }
}

/// [`SseBody`] with its errors as actix's body wants them (`Box<dyn Error>`).
struct ActixBody<S>(SseBody<S>)
where
    S: Stream,
    S::Item: IntoFrame;

impl<S> Stream for ActixBody<S>
where
    S: Stream,
    S::Item: IntoFrame,
    <S::Item as IntoFrame>::Error: Into<BoxError>,
{
    type Item = Result<Bytes, Box<dyn StdError>>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let body = &mut self.get_mut().0;
        match Pin::new(&mut *body).poll_next(cx) {
            // Ended by the stall rule: an error, so actix aborts the connection.
            Poll::Ready(None) if body.is_stalled() => {
                Poll::Ready(Some(Err(Box::new(ssekit::Stalled))))
            }
            polled => polled
                .map(|item| item.map(|frame| frame.map_err(|e| -> Box<dyn StdError> { e.into() }))),
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
/// use ssekit_actix_web::LastEventId;
///
/// async fn handler(LastEventId(last): LastEventId) -> String {
///     format!("resuming after {last:?}")
/// }
/// # let _ = actix_web::web::get().to(handler);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct LastEventId(pub Option<String>);

impl LastEventId {
    /// The id, borrowed.
    pub fn as_deref(&self) -> Option<&str> {
        self.0.as_deref()
    }
}

impl FromRequest for LastEventId {
    type Error = Infallible;
    type Future = Ready<Result<LastEventId, Infallible>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        let header = req
            .headers()
            .get(ssekit::last_event_id::HEADER)
            .map(HeaderValue::as_bytes);
        let id = ssekit::last_event_id::from_request(header, Some(req.query_string()));
        ready(Ok(LastEventId(id)))
    }
}

/// A subscription the [`broker`] refused, as a response: [`Rejection::status`] (400, 403, or
/// 503 with `Retry-After`), the reason as text. Return `Result<Sse<_>, Rejected>` from a
/// handler and use `?` on [`Broker::admit`](broker::Broker::admit).
///
/// [`Rejection::status`]: broker::Rejection::status
///
/// ```
/// use actix_web::web;
/// use ssekit_actix_web::broker::{Broker, BrokerSubscription};
/// use ssekit_actix_web::{BrokerRequest, LastEventId, Rejected, Sse};
///
/// // `GET /events?topic=rooms/42/*&topic=users/7`
/// async fn events(
///     broker: web::Data<Broker>,
///     BrokerRequest(request): BrokerRequest,
///     last: LastEventId,
/// ) -> Result<Sse<BrokerSubscription>, Rejected> {
///     let ticket = broker.admit_query(&request)?; // authorization and admission limits
///     Ok(Sse::from_broadcast(&ticket, &last))
/// }
/// # let _ = web::get().to(events);
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

impl StdError for Rejected {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        // Transparent: the message is the inner error's, so is its source.
        self.0.source()
    }
}

impl actix_web::ResponseError for Rejected {
    fn status_code(&self) -> StatusCode {
        status_code(self.0.status())
    }

    fn error_response(&self) -> HttpResponse {
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
/// use actix_web::web;
/// use ssekit_actix_web::broker::{Broker, TOPIC_PARAM};
/// use ssekit_actix_web::{BrokerRequest, Event, PublishRejected};
///
/// // `POST /publish?topic=rooms/42/chat`, the message as the body
/// async fn publish(
///     broker: web::Data<Broker>,
///     BrokerRequest(request): BrokerRequest,
///     message: String,
/// ) -> Result<String, PublishRejected> {
///     let topics = request.query_params(TOPIC_PARAM);
///     let id = broker.publish_as(&request, &topics, Event::message(message))?;
///     Ok(id.to_string())
/// }
/// # let _ = web::post().to(publish);
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

impl StdError for PublishRejected {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        // Transparent: the message is the inner error's, so is its source.
        self.0.source()
    }
}

impl actix_web::ResponseError for PublishRejected {
    fn status_code(&self) -> StatusCode {
        status_code(self.0.status())
    }

    fn error_response(&self) -> HttpResponse {
        refusal(self.0.status(), self.0.to_string(), None)
    }
}

fn status_code(status: u16) -> StatusCode {
    StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// A refusal as a plain-text response with its status and, for a 503, `Retry-After`.
fn refusal(status: u16, reason: String, retry_after: Option<String>) -> HttpResponse {
    let mut response = HttpResponse::build(status_code(status));
    if let Some(seconds) = retry_after {
        response.insert_header((actix_web::http::header::RETRY_AFTER, seconds));
    }
    response
        .content_type("text/plain; charset=utf-8")
        .body(reason)
}

/// The request as the [`broker`]'s authorization hook sees it (its headers and query string):
/// an extractor that never fails.
#[derive(Debug, Clone)]
pub struct BrokerRequest(pub broker::RequestInfo);

impl FromRequest for BrokerRequest {
    type Error = Infallible;
    type Future = Ready<Result<BrokerRequest, Infallible>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        let headers = req
            .headers()
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_bytes()));
        ready(Ok(BrokerRequest(broker::RequestInfo::from_parts(
            headers,
            Some(req.query_string()),
        ))))
    }
}

/// This crate's README: its examples are compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
