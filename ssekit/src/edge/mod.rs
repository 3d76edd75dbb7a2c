//! The edge: event streams served below the framework (feature `edge`).
//!
//! A framework keeps two 8 KiB buffers and a task per streaming response for the stream's whole
//! life, and formats every chunk. The edge takes the connection once its request head is read:
//! a subscriber is then a cursor into the broadcast's window and a registered socket, nothing
//! more, so an idle subscriber costs what the kernel charges for its socket and a few hundred
//! bytes of ours.
//!
//! - **Accept and route.** The request head is read into a bounded buffer (8 KiB by default,
//!   [`EdgeConfig::head_limit`]) within a deadline (10 s, [`EdgeConfig::head_timeout`]) and
//!   parsed with `httparse`. A `GET` of a stream route with no body and no `Upgrade` is the
//!   edge's; everything else goes to the application ([`Edge::serve`]: any hyper service, so
//!   the same axum `Router` or warp filter, HTTP/1.1 and HTTP/2 alike) with the bytes already
//!   read replayed first, so it is answered exactly as the framework alone answers it. On a
//!   stream-only listener ([`Edge::serve_streams`]) it gets `404`, `405` or `400`.
//! - **The same rules as the framework path.** A route serves any [`Broadcast`] (the
//!   [`Hub`](crate::hub::Hub), a broker [`Ticket`](crate::broker::Ticket), the Redis ones)
//!   with the `Last-Event-ID` rules of [`last_event_id`](crate::last_event_id) (header, else
//!   `?lastEventId=`); [`Edge::stream_route_with`] runs the broker's admission and authorization
//!   first, on the same [`RequestInfo`], and answers a [`Rejection`] with its status. The
//!   response carries [`RESPONSE_HEADERS`](crate::headers::RESPONSE_HEADERS); the broadcast's
//!   stall rule, byte budgets and metrics apply as they do under any framework, since the edge
//!   polls the same subscription.
//! - **One write per delivery.** A publish wakes the subscriber; its ready frames (the
//!   broadcast's shared bytes, encoded once) go out in one `writev`. The body is
//!   close-delimited (`Connection: close`, RFC 9112 section 6.3): an event stream is never
//!   followed by another response on its connection, so no chunk framing is needed, and none
//!   is written. A write the socket takes only partly parks the rest with the subscriber until
//!   the socket is writable.
//! - **Keep-alive, stalls and shutdown** come from one sweep for every subscriber: a comment
//!   frame after [`EdgeConfig::keep_alive`] without a write (15 s by default); a subscriber
//!   whose socket took nothing for [`EdgeConfig::stall_timeout`] (5 s) while bytes wait is
//!   closed with a reset, socket and all; on [`Edge::shutdown_on`] every stream ends and the
//!   listener stops.
//! - **TLS and HTTP/2 streams** stay on the framework path: terminate TLS at a proxy in front
//!   of the edge (see the README's nginx guide), or serve those streams through the adapter.
//!
//! ```no_run
//! use ssekit::edge::Edge;
//! use ssekit::hub::Hub;
//!
//! # async fn run() -> std::io::Result<()> {
//! let hub = Hub::new();
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! // Only event streams on this listener; `Edge::serve` puts an application beside them.
//! Edge::new().stream_route("/events", hub.clone()).serve_streams(listener).await
//! # }
//! ```

mod app;
mod head;
mod reactor;
mod rewind;

use std::error::Error as StdError;
use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use http_body::Body;
use hyper::body::Incoming;
use hyper::service::Service;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};

use crate::broker::{Rejection, RequestInfo};
use crate::{Broadcast, KeepAlive};
use head::{HeadError, Routed};
use reactor::{BoxSubscription, NewSubscriber, Reactors, Settings};
use rewind::Rewind;

/// The edge's settings. Every bound has a default.
#[derive(Debug, Clone)]
pub struct EdgeConfig {
    head_limit: usize,
    head_timeout: Duration,
    keep_alive: Option<KeepAlive>,
    stall_timeout: Duration,
    reactor_threads: usize,
}

impl Default for EdgeConfig {
    fn default() -> Self {
        EdgeConfig {
            head_limit: 8 * 1024,
            head_timeout: Duration::from_secs(10),
            keep_alive: Some(KeepAlive::new()),
            stall_timeout: Duration::from_secs(5),
            reactor_threads: std::thread::available_parallelism().map_or(1, |n| n.get().min(8)),
        }
    }
}

impl EdgeConfig {
    /// The default settings.
    pub fn new() -> EdgeConfig {
        EdgeConfig::default()
    }

    /// The most bytes a request head may take (default 8 KiB, at least 256): a longer head is
    /// answered `431 Request Header Fields Too Large`.
    pub fn head_limit(mut self, bytes: usize) -> Self {
        self.head_limit = bytes.max(256);
        self
    }

    /// How long a request head may take to arrive, from the accept (default 10 s): a connection
    /// whose head is not complete by then is closed. The application's own requests on a
    /// kept-alive connection get the same deadline from hyper.
    pub fn head_timeout(mut self, timeout: Duration) -> Self {
        self.head_timeout = timeout;
        self
    }

    /// The keep-alive comment and its interval (default: [`KeepAlive::new`], every 15 s).
    pub fn keep_alive(mut self, keep_alive: KeepAlive) -> Self {
        self.keep_alive = Some(keep_alive);
        self
    }

    /// No keep-alive comments.
    pub fn no_keep_alive(mut self) -> Self {
        self.keep_alive = None;
        self
    }

    /// How long a subscriber's socket may take none of the bytes waiting for it before its
    /// connection is closed (default 5 s): a client that stopped reading loses its socket,
    /// with a reset, so neither its file descriptor nor its send queue stays pinned.
    pub fn stall_timeout(mut self, timeout: Duration) -> Self {
        self.stall_timeout = timeout;
        self
    }

    /// How many reactor threads hold the subscribers (default: the number of CPUs, at most 8;
    /// at least 1). Each is one epoll and one thread; a new subscriber goes to the next in turn,
    /// so a burst to many subscribers is written by all of them at once.
    pub fn reactor_threads(mut self, threads: usize) -> Self {
        self.reactor_threads = threads.max(1);
        self
    }

    /// The reactor threads ([`reactor_threads`](Self::reactor_threads)).
    pub fn get_reactor_threads(&self) -> usize {
        self.reactor_threads
    }

    /// The head limit ([`head_limit`](Self::head_limit)).
    pub fn get_head_limit(&self) -> usize {
        self.head_limit
    }

    /// The head deadline ([`head_timeout`](Self::head_timeout)).
    pub fn get_head_timeout(&self) -> Duration {
        self.head_timeout
    }

    /// The keep-alive, if on ([`keep_alive`](Self::keep_alive)).
    pub fn get_keep_alive(&self) -> Option<&KeepAlive> {
        self.keep_alive.as_ref()
    }

    /// The stall timeout ([`stall_timeout`](Self::stall_timeout)).
    pub fn get_stall_timeout(&self) -> Duration {
        self.stall_timeout
    }
}

/// How a route opens a subscription for a request.
type Open = dyn Fn(&RequestInfo, Option<&str>) -> Result<BoxSubscription, Rejection> + Send + Sync;

struct Route {
    path: String,
    open: Box<Open>,
}

struct Inner {
    config: EdgeConfig,
    routes: Vec<Arc<Route>>,
    /// The response head of every stream.
    stream_head: Bytes,
    reactor: OnceLock<Reactors>,
    /// Triggered when the edge stops: ends the streams served on the framework path too.
    stopped: crate::Shutdown,
}

/// Event-stream routes served below the framework (see the [module docs](self)).
///
/// Build it with [`Edge::new`] and [`Edge::stream_route`], then serve a listener with
/// [`Edge::serve`] (an application beside the streams) or [`Edge::serve_streams`]. Clones
/// share the routes and the subscribers.
#[derive(Clone)]
pub struct Edge {
    inner: Arc<Inner>,
    /// The shutdown signal, shared by clones (the first `serve` to end waits on it).
    shutdown: Option<Arc<tokio::sync::Mutex<ShutdownFuture>>>,
}

type ShutdownFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

impl fmt::Debug for Edge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Edge")
            .field("config", &self.inner.config)
            .field(
                "routes",
                &self
                    .inner
                    .routes
                    .iter()
                    .map(|r| &r.path)
                    .collect::<Vec<_>>(),
            )
            .field("subscribers", &self.subscribers())
            .finish()
    }
}

impl Default for Edge {
    fn default() -> Self {
        Edge::new()
    }
}

impl Edge {
    /// No routes yet, default settings.
    pub fn new() -> Edge {
        Edge::with_config(EdgeConfig::default())
    }

    /// No routes yet.
    pub fn with_config(config: EdgeConfig) -> Edge {
        let mut head = b"HTTP/1.1 200 OK\r\n".to_vec();
        for (name, value) in crate::headers::RESPONSE_HEADERS {
            head.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
        }
        head.extend_from_slice(b"connection: close\r\n\r\n");
        Edge {
            inner: Arc::new(Inner {
                config,
                routes: Vec::new(),
                stream_head: Bytes::from(head),
                reactor: OnceLock::new(),
                stopped: crate::Shutdown::new(),
            }),
            shutdown: None,
        }
    }

    fn inner_mut(&mut self) -> &mut Inner {
        // Routes are added before serving: a clone made earlier keeps the routes it had, and
        // this one goes on with a copy of them (not its subscribers, which are its own).
        if Arc::get_mut(&mut self.inner).is_none() {
            let inner = &*self.inner;
            self.inner = Arc::new(Inner {
                config: inner.config.clone(),
                routes: inner.routes.clone(),
                stream_head: inner.stream_head.clone(),
                reactor: OnceLock::new(),
                stopped: crate::Shutdown::new(),
            });
        }
        Arc::get_mut(&mut self.inner).expect("unique after the copy")
    }

    /// Serves `broadcast` at `path` (an exact path; the query is not part of it): every `GET`
    /// subscribes with the request's `Last-Event-ID`.
    pub fn stream_route<B>(mut self, path: impl Into<String>, broadcast: B) -> Edge
    where
        B: Broadcast + Send + Sync + 'static,
    {
        let open =
            move |_: &RequestInfo, last: Option<&str>| -> Result<BoxSubscription, Rejection> {
                Ok(Box::pin(broadcast.subscribe(last)))
            };
        self.inner_mut().routes.push(Arc::new(Route {
            path: path.into(),
            open: Box::new(open),
        }));
        self
    }

    /// Serves at `path` what `admit` lets the request subscribe to: it sees the request (its
    /// headers, cookies and query) and returns the broadcast (a broker
    /// [`Ticket`](crate::broker::Ticket), say) or the [`Rejection`] the client gets, with its
    /// status and `Retry-After`.
    ///
    /// ```no_run
    /// use ssekit::broker::Broker;
    /// use ssekit::edge::Edge;
    ///
    /// # async fn run(listener: tokio::net::TcpListener) -> std::io::Result<()> {
    /// let broker = Broker::new();
    /// Edge::new()
    ///     .stream_route_with("/events", move |request| broker.admit_query(request))
    ///     .serve_streams(listener)
    ///     .await
    /// # }
    /// ```
    pub fn stream_route_with<F, B>(mut self, path: impl Into<String>, admit: F) -> Edge
    where
        F: Fn(&RequestInfo) -> Result<B, Rejection> + Send + Sync + 'static,
        B: Broadcast,
    {
        let open = move |request: &RequestInfo,
                         last: Option<&str>|
              -> Result<BoxSubscription, Rejection> {
            let broadcast = admit(request)?;
            Ok(Box::pin(broadcast.subscribe(last)))
        };
        self.inner_mut().routes.push(Arc::new(Route {
            path: path.into(),
            open: Box::new(open),
        }));
        self
    }

    /// Ends every stream and stops serving when `signal` resolves, e.g.
    /// `shutdown.signal()` of a [`Shutdown`](crate::Shutdown).
    pub fn shutdown_on(mut self, signal: impl Future<Output = ()> + Send + 'static) -> Edge {
        self.shutdown = Some(Arc::new(tokio::sync::Mutex::new(Box::pin(signal))));
        self
    }

    /// The settings.
    pub fn config(&self) -> &EdgeConfig {
        &self.inner.config
    }

    /// Subscribers connected now.
    pub fn subscribers(&self) -> usize {
        self.inner.reactor.get().map_or(0, Reactors::subscribers)
    }

    fn reactor(&self) -> io::Result<&Reactors> {
        if let Some(reactor) = self.inner.reactor.get() {
            return Ok(reactor);
        }
        let config = &self.inner.config;
        let reactor = Reactors::start(
            config.reactor_threads,
            Settings {
                keep_alive: config
                    .keep_alive
                    .as_ref()
                    .map(|k| (k.get_interval(), k.frame().clone().into_bytes())),
                stall_timeout: config.stall_timeout,
            },
        )?;
        // Another task may have started one meanwhile: the loser's threads are stopped.
        if let Err(extra) = self.inner.reactor.set(reactor) {
            tokio::spawn(async move { extra.stop().await });
        }
        Ok(self.inner.reactor.get().expect("set above"))
    }

    /// Serves `listener` until the shutdown signal: stream routes on the edge, every other
    /// request (and every HTTP/2 connection) by `app`, a hyper service, through hyper-util's
    /// HTTP/1.1 + HTTP/2 server with the bytes the edge read replayed first. For axum,
    /// `ssekit_axum::serve` wraps the `Router`; any tower service works through
    /// `hyper_util::service::TowerToHyperService`.
    ///
    /// A `GET` of a stream route that arrives where the edge cannot take the connection (on a
    /// kept-alive connection that served the app first, as browsers reuse them, or over
    /// HTTP/2) is served on the framework path: the same subscription through hyper, with the
    /// edge's keep-alive and shutdown.
    pub async fn serve<S, B>(self, listener: TcpListener, app: S) -> io::Result<()>
    where
        S: Service<http::Request<Incoming>, Response = http::Response<B>>
            + Clone
            + Send
            + Sync
            + 'static,
        S::Future: Send + 'static,
        S::Error: Into<Box<dyn StdError + Send + Sync>>,
        B: Body<Data = Bytes> + Send + 'static,
        B::Error: Into<Box<dyn StdError + Send + Sync>>,
    {
        let head_timeout = self.inner.config.head_timeout;
        let app = app::EdgeApp {
            inner: self.inner.clone(),
            app,
        };
        self.accept_loop(listener, move |socket: TcpStream, read: Vec<u8>| {
            let app = app.clone();
            async move {
                let mut builder =
                    hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
                builder
                    .http1()
                    .timer(TokioTimer::new())
                    .header_read_timeout(head_timeout);
                // As `axum::serve` does (extended CONNECT, RFC 8441, for WebSockets over
                // HTTP/2), so that the app's HTTP/2 settings are the framework's own.
                builder.http2().enable_connect_protocol();
                let io = TokioIo::new(Rewind::new(read, socket));
                let _ = builder.serve_connection_with_upgrades(io, app).await;
            }
        })
        .await
    }

    /// Serves `listener` with the stream routes only: any other request gets `404 Not Found`
    /// (another path), `405 Method Not Allowed` (another method on a stream route) or
    /// `400 Bad Request` (a malformed head, or a body or `Upgrade` on a stream route).
    pub async fn serve_streams(self, listener: TcpListener) -> io::Result<()> {
        let inner = self.inner.clone();
        self.accept_loop(listener, move |mut socket: TcpStream, read: Vec<u8>| {
            let inner = inner.clone();
            async move {
                let answer = refusal(&read, &inner.routes);
                let _ = socket.write_all(answer).await;
                let _ = socket.shutdown().await;
            }
        })
        .await
    }

    async fn accept_loop<A, F>(self, listener: TcpListener, application: A) -> io::Result<()>
    where
        A: Fn(TcpStream, Vec<u8>) -> F + Send + Sync + 'static,
        F: Future<Output = ()> + Send + 'static,
    {
        let reactor = self.reactor()?.clone();
        let application = Arc::new(application);
        let shutdown = self.shutdown.clone();
        let accept = async {
            loop {
                let socket = match listener.accept().await {
                    Ok((socket, _)) => socket,
                    Err(e) if is_connection_error(&e) => continue,
                    Err(_) => {
                        // Out of file descriptors or memory: wait, as hyper's and axum's
                        // accept loops do, instead of spinning.
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let inner = self.inner.clone();
                let reactor = reactor.clone();
                let application = application.clone();
                tokio::spawn(async move {
                    connection(inner, reactor, socket, &*application).await;
                });
            }
        };
        match shutdown {
            Some(signal) => {
                let mut signal = signal.lock().await;
                tokio::select! {
                    _ = accept => {}
                    _ = signal.as_mut() => {}
                }
                self.inner.stopped.trigger();
                reactor.stop().await;
            }
            None => accept.await,
        }
        Ok(())
    }
}

fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

/// One accepted connection until its head is routed.
async fn connection<A, F>(
    inner: Arc<Inner>,
    reactor: Reactors,
    mut socket: TcpStream,
    application: &A,
) where
    A: Fn(TcpStream, Vec<u8>) -> F,
    F: Future<Output = ()>,
{
    let config = &inner.config;
    let mut read = Vec::new();
    let route_of = |path: &str| inner.routes.iter().position(|r| r.path == path);
    let routed = head::read_head(
        &mut socket,
        &mut read,
        config.head_limit,
        config.head_timeout,
        &route_of,
    )
    .await;
    match routed {
        Ok(Routed::Stream(request)) => {
            let route = &inner.routes[request.route];
            match (route.open)(&request.info, request.last_event_id.as_deref()) {
                Ok(subscription) => {
                    let _ = socket.set_nodelay(true);
                    if let Ok(socket) = socket.into_std() {
                        reactor.add(NewSubscriber {
                            socket,
                            head: inner.stream_head.clone(),
                            subscription,
                        });
                    }
                }
                Err(rejection) => {
                    let _ = socket.write_all(&rejection_response(&rejection)).await;
                    let _ = socket.shutdown().await;
                }
            }
        }
        Ok(Routed::Application) => application(socket, read).await,
        Err(HeadError::TooLarge) => {
            let _ = socket.write_all(TOO_LARGE).await;
            let _ = socket.shutdown().await;
        }
        Err(HeadError::Gone) => {}
    }
}

const TOO_LARGE: &[u8] =
    b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\nconnection: close\r\n\r\n";

/// The answer of a stream-only listener to a request that is not a stream's.
fn refusal(read: &[u8], routes: &[Arc<Route>]) -> &'static [u8] {
    const NOT_FOUND: &[u8] =
        b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n";
    const NOT_ALLOWED: &[u8] = b"HTTP/1.1 405 Method Not Allowed\r\nallow: GET\r\ncontent-length: 0\r\nconnection: close\r\n\r\n";
    const BAD_REQUEST: &[u8] =
        b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n";
    let mut headers = [httparse::EMPTY_HEADER; head::MAX_HEADERS];
    let mut request = httparse::Request::new(&mut headers);
    match request.parse(read) {
        Ok(httparse::Status::Complete(_)) => {}
        _ => return BAD_REQUEST,
    }
    let path = request.path.unwrap_or("");
    let path = path.split_once('?').map_or(path, |(path, _)| path);
    if !routes.iter().any(|r| r.path == path) {
        NOT_FOUND
    } else if request.method != Some("GET") {
        NOT_ALLOWED
    } else {
        BAD_REQUEST
    }
}

/// A refused subscription's response: its status, `Retry-After` for a 503, the reason as text.
fn rejection_response(rejection: &Rejection) -> Vec<u8> {
    let status = rejection.status();
    let reason = match status {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        503 => "Service Unavailable",
        _ => "Error",
    };
    let body = rejection.to_string();
    let mut response = format!(
        "HTTP/1.1 {status} {reason}\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: {}\r\nconnection: close\r\n",
        body.len()
    );
    if let Some(seconds) = rejection.retry_after_header() {
        response.push_str(&format!("retry-after: {seconds}\r\n"));
    }
    response.push_str("\r\n");
    response.push_str(&body);
    response.into_bytes()
}
