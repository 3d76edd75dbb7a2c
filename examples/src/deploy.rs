//! The event endpoint of the deployment examples: what an SSE endpoint looks like in
//! production, behind a proxy, under compression middleware, over HTTP/2 and through restarts.
//!
//! [`Events`] serves any [`Broadcast`] (the in-memory [`Hub`](ssekit::hub::Hub), a
//! `RedisHub`) at `GET /events` with axum, and differs from the plain
//! `Sse::from_broadcast(&hub, &last_event_id)` in three ways ([`connection`], which is
//! `ssekit`'s [`RestartPolicy`] with these settings):
//!
//! - every connection starts with a `retry:` field ([`StreamConfig::retry`]): the client's
//!   reconnection time is the server's choice, not the browser's default (about 3 s);
//! - on [`Shutdown::trigger`] the stream ends cleanly, and its last frame is one more `retry:`
//!   with a random time in `retry ..= retry + spread` ([`StreamConfig::spread`]): the clients of
//!   an instance that stops come back spread out over `spread`, not all in the same
//!   millisecond, and each resumes after its `Last-Event-ID` on whichever instance it reaches;
//! - the keep-alive interval is explicit ([`StreamConfig::keep_alive`]): it must be shorter
//!   than every idle timeout between server and client (nginx's `proxy_read_timeout`, a load
//!   balancer's idle timeout, a CDN's origin read timeout).
//!
//! ```no_run
//! # async fn run() -> std::io::Result<()> {
//! use examples::deploy::{Events, StreamConfig};
//! use ssekit::hub::Hub;
//!
//! let config = StreamConfig::default();
//! let hub = Hub::new();
//! let events = Events::new(hub.clone(), config.clone());
//! tokio::spawn(config.shutdown.trigger_on_signals()?);
//! let listener = tokio::net::TcpListener::from_std(examples::bind_from_env()?)?;
//! axum::serve(listener, events.router())
//!     .with_graceful_shutdown(config.shutdown.signal())
//!     .await
//! # }
//! ```

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::Version;
use axum::response::IntoResponse;
use axum::routing::get;
use futures_core::Stream;
use futures_util::StreamExt;
use ssekit::restart::RestartPolicy;
use ssekit::{Broadcast, KeepAlive, Shutdown};
use ssekit_axum::{LastEventId, Sse};
use ssekit_proto::Frame;

/// How each event stream behaves: reconnection times, keep-alive, shutdown.
#[derive(Debug, Clone)]
pub struct StreamConfig {
    /// Sent as `retry:` at the start of every connection (default 2 s).
    pub retry: Duration,
    /// On shutdown, the last `retry:` is `retry` plus a random part of this (default 3 s).
    pub spread: Duration,
    /// The idle interval after which a keep-alive comment is sent (default 15 s).
    pub keep_alive: Duration,
    /// Triggered to stop: every stream ends, with the spread-out `retry:` last.
    pub shutdown: Shutdown,
}

impl Default for StreamConfig {
    fn default() -> Self {
        StreamConfig {
            retry: Duration::from_secs(2),
            spread: Duration::from_secs(3),
            keep_alive: KeepAlive::DEFAULT_INTERVAL,
            shutdown: Shutdown::new(),
        }
    }
}

/// The frames of one connection: `retry:` first, then `subscription` until `config.shutdown`
/// is triggered (or the subscription ends), then a last `retry:` spread out as
/// [`StreamConfig::spread`] says.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
/// use std::time::Duration;
/// use futures_util::StreamExt;
/// use examples::deploy::{StreamConfig, connection};
/// use ssekit::{Broadcast, Event, hub::Hub};
///
/// let hub = Hub::new();
/// hub.publish(Event::message("one"));
/// let config = StreamConfig { retry: Duration::from_secs(1), spread: Duration::ZERO, ..StreamConfig::default() };
/// let mut frames = Box::pin(connection(hub.subscribe(Some("0")), &config));
/// assert_eq!(frames.next().await.unwrap(), &b"retry: 1000\n\n"[..]);
/// frames.next().await; // the reset frame: "0" was never published
/// assert_eq!(frames.next().await.unwrap(), &b"id: 1\ndata: one\n\n"[..]);
/// config.shutdown.trigger();
/// assert_eq!(frames.next().await.unwrap(), &b"retry: 1000\n\n"[..]);
/// assert!(frames.next().await.is_none());
/// # });
/// ```
pub fn connection<S>(
    subscription: S,
    config: &StreamConfig,
) -> impl Stream<Item = Frame> + Send + 'static + use<S>
where
    S: Stream<Item = Frame> + Send + 'static,
{
    // The stream keeps a handle of its own, so it ends when the handle is triggered, not when
    // the caller drops its `StreamConfig` (the last handle gone counts as a shutdown).
    let handle = config.shutdown.clone();
    config
        .restart_policy()
        .wrap(subscription, &config.shutdown)
        .map(move |frame| {
            let _ = &handle;
            frame
        })
}

impl StreamConfig {
    /// The [`RestartPolicy`] of these settings.
    pub fn restart_policy(&self) -> RestartPolicy {
        RestartPolicy::new(self.retry).spread(self.spread)
    }
}

/// What one request to `GET /events` carried: the HTTP version and the `Last-Event-ID`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The HTTP version the request came over.
    pub version: Version,
    /// Its `Last-Event-ID` (header, or `?lastEventId=`).
    pub last_event_id: Option<String>,
}

/// `GET /events` for a [`Broadcast`], with [`connection`]'s stream; cheap to clone.
pub struct Events<B> {
    broadcast: B,
    config: StreamConfig,
    requests: Arc<Mutex<Vec<Request>>>,
}

impl<B: Clone> Clone for Events<B> {
    fn clone(&self) -> Self {
        Events {
            broadcast: self.broadcast.clone(),
            config: self.config.clone(),
            requests: Arc::clone(&self.requests),
        }
    }
}

impl<B> fmt::Debug for Events<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Events")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl<B> Events<B>
where
    B: Broadcast + Clone + Send + Sync + 'static,
{
    /// The endpoint for `broadcast`.
    pub fn new(broadcast: B, config: StreamConfig) -> Events<B> {
        Events {
            broadcast,
            config,
            requests: Arc::default(),
        }
    }

    /// The router: `GET /events`. Merge it into your own (`Router::merge`), or add routes.
    pub fn router(&self) -> Router {
        Router::new()
            .route("/events", get(events::<B>))
            .with_state(self.clone())
    }

    /// The broadcast it serves (to publish to).
    pub fn broadcast(&self) -> &B {
        &self.broadcast
    }

    /// The stream settings.
    pub fn config(&self) -> &StreamConfig {
        &self.config
    }

    /// Every request served so far, in order.
    pub fn requests(&self) -> Vec<Request> {
        self.requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

async fn events<B>(
    State(events): State<Events<B>>,
    version: Version,
    last_event_id: LastEventId,
) -> impl IntoResponse
where
    B: Broadcast + Clone + Send + Sync + 'static,
{
    events
        .requests
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(Request {
            version,
            last_event_id: last_event_id.0.clone(),
        });
    let subscription = events.broadcast.subscribe(last_event_id.as_deref());
    Sse::new(connection(subscription, &events.config))
        .keep_alive(KeepAlive::new().interval(events.config.keep_alive))
}

/// A plain-text response of `bytes` bytes of repetitive text: what compression is for. The
/// deployment tests serve it next to `/events` to show that compression is on for it.
pub fn large_text(bytes: usize) -> String {
    "All work and no play makes Jack a dull boy.\n"
        .chars()
        .cycle()
        .take(bytes)
        .collect()
}
