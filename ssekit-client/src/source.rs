//! [`EventSource`]: the connection state machine of the HTML standard's EventSource.

use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll, ready};
use core::time::Duration;
use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};

use bytes::Bytes;
use futures_core::{FusedStream, Stream};
use futures_util::task::AtomicWaker;
use reqwest::header::{
    ACCEPT, AUTHORIZATION, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_LANGUAGE, CONTENT_LOCATION,
    CONTENT_TYPE, COOKIE, HeaderMap, HeaderName, HeaderValue, LOCATION, PROXY_AUTHORIZATION,
};
use reqwest::{Method, Response, StatusCode, Url};
use ssekit_proto::{MessageEvent, ParseError, Parsed, Parser};
use tokio::time::{Instant, Sleep};

use crate::builder::{Request, Settings};
use crate::policy::random_unit;
use crate::{ClientError, EventSourceBuilder, ReconnectPolicy, RedirectPolicy};

/// The connection state, as the browser's `EventSource.readyState` shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum ReadyState {
    /// `0`: connecting, or waiting to reconnect.
    Connecting = 0,
    /// `1`: the response was accepted; events are flowing.
    Open = 1,
    /// `2`: closed by [`EventSource::close`], by a failed connection, or because the
    /// [`ReconnectPolicy`] gave up. Final.
    Closed = 2,
}

impl ReadyState {
    fn from_u8(n: u8) -> ReadyState {
        match n {
            0 => ReadyState::Connecting,
            1 => ReadyState::Open,
            _ => ReadyState::Closed,
        }
    }
}

/// A successful item of an [`EventSource`]: the browser's `open` and `message` events (of
/// any type), plus the `retry` changes a Rust program may want to see.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SseItem {
    /// A connection was accepted (`200 OK`, `text/event-stream`): the browser's `open` event.
    /// The ready state is now [`ReadyState::Open`]; the backoff is reset.
    Open,
    /// An event was dispatched. Its [`event_type`](MessageEvent::event_type) is `"message"`
    /// unless the server named it with `event:`, the browser's custom event types.
    Message(MessageEvent),
    /// The server sent a valid `retry:` field: the reconnection time is now this long. It is
    /// already applied; most programs ignore this item.
    Retry(Duration),
}

/// State shared with [`Handle`]s.
#[derive(Debug)]
struct Shared {
    ready: AtomicU8,
    closed: AtomicBool,
    waker: AtomicWaker,
}

impl Shared {
    fn ready_state(&self) -> ReadyState {
        if self.closed.load(Ordering::Acquire) {
            ReadyState::Closed
        } else {
            ReadyState::from_u8(self.ready.load(Ordering::Acquire))
        }
    }

    fn set_ready(&self, state: ReadyState) {
        self.ready.store(state as u8, Ordering::Release);
    }

    fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.set_ready(ReadyState::Closed);
        self.waker.wake();
    }
}

/// A cloneable, `Send + Sync` handle to an [`EventSource`]: closes it and reads its ready state
/// from anywhere, while the source itself is being polled by another task.
///
/// ```no_run
/// # async fn run() -> Result<(), ssekit_client::ClientError> {
/// use futures_util::StreamExt;
/// use std::time::Duration;
///
/// let mut events = ssekit_client::EventSource::new("http://127.0.0.1:8844/events")?;
/// let handle = events.handle();
/// tokio::spawn(async move {
///     tokio::time::sleep(Duration::from_secs(60)).await;
///     handle.close(); // the loop below ends promptly
/// });
/// while let Some(item) = events.next().await {
///     println!("{item:?}");
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Handle {
    shared: Arc<Shared>,
}

impl Handle {
    /// Closes the source, as [`EventSource::close`] does.
    pub fn close(&self) {
        self.shared.close();
    }

    /// The source's current ready state.
    pub fn ready_state(&self) -> ReadyState {
        self.shared.ready_state()
    }
}

type Connecting = Pin<Box<dyn Future<Output = reqwest::Result<Response>> + Send>>;
type Body = Pin<Box<dyn Stream<Item = reqwest::Result<Bytes>> + Send>>;

enum State {
    /// Not connected yet: the first poll connects.
    Idle,
    /// The request is in flight.
    Connecting(Connecting),
    /// The response was accepted; `chunk[pos..]` is not parsed yet.
    Open {
        body: Body,
        chunk: Bytes,
        pos: usize,
    },
    /// Waiting out the reconnection delay.
    Waiting(Pin<Box<Sleep>>),
    /// Closed for good.
    Closed,
}

/// A client for a `text/event-stream` resource, like the browser's `EventSource`.
///
/// It is a [`Stream`] of `Result<SseItem, ClientError>`: [`SseItem::Open`] for each accepted
/// connection, [`SseItem::Message`] for each event, an `Err` for each of the browser's `error`
/// events. It follows the HTML standard's processing model:
///
/// - Every request has `Accept: text/event-stream` and `Cache-Control: no-cache`, your
///   headers, and `Last-Event-ID` once an event ID is known (never an empty one, and never one
///   that is no valid header value: see [`last_event_id`](EventSource::last_event_id)).
/// - Redirects (`301`, `302`, `303`, `307`, `308`) are followed as Fetch follows them, up to
///   20 in a row, and once the connection they led to opens they stick: every later
///   reconnection goes to the URL the last redirect led to
///   ([`current_url`](EventSource::current_url)), with the method and body it left
///   (a `301`/`302` of a `POST`, or a `303` of anything but `GET`/`HEAD`, makes a body-less
///   `GET`, without `Content-Type` and the other body headers). A redirect to another origin
///   drops `Authorization`, `Cookie` and `Proxy-Authorization` and keeps your other headers
///   (and a `307`/`308` body); [`RedirectPolicy::SameOrigin`] refuses it instead
///   ([`ClientError::RedirectBlocked`], the connection fails). A `Location` that does not
///   parse or is not `http`/`https`, or a 21st redirect, is a network error
///   ([`ClientError::Redirect`]). With a [`client`](EventSourceBuilder::client) of your own
///   that follows redirects itself, the source still reconnects to the final URL, but it
///   cannot see a method change, and the [`RedirectPolicy`] does not apply: build that client
///   with [`redirect::Policy::none()`](reqwest::redirect::Policy::none) to leave redirects to
///   the source.
/// - A response other than `200 OK`, or whose MIME type is not `text/event-stream` (parameters
///   and case ignored), *fails* the connection: an `Err`, ready state
///   [`Closed`](ReadyState::Closed), the stream ends, no retry.
/// - A network error or the end of the body *reestablishes* the connection: the partial
///   event is discarded, an `Err` is yielded with the ready state back at
///   [`Connecting`](ReadyState::Connecting), and after the reconnection delay (see
///   [`ReconnectPolicy`] for the formula; the server's `retry:` sets its base) a new request
///   goes out carrying the last event ID. The parser, its last event ID and the reconnection
///   time carry over.
/// - Unlike a browser, a connection on which nothing arrives for the
///   [idle timeout](EventSourceBuilder::idle_timeout) (60 s by default) is dropped and
///   reestablished the same way ([`ClientError::IdleTimeout`]), and a server that keeps
///   answering and closing without an event is backed off from (see [`ReconnectPolicy`]).
/// - [`close`](EventSource::close) (or a [`Handle`]) ends the stream promptly, with no error.
///
/// Nothing happens until the stream is polled. It needs a tokio runtime (reqwest and the
/// reconnection timer do).
///
/// ```no_run
/// # async fn run() -> Result<(), ssekit_client::ClientError> {
/// use futures_util::StreamExt;
/// use ssekit_client::{EventSource, SseItem};
///
/// let mut events = EventSource::new("http://127.0.0.1:8844/events")?;
/// while let Some(item) = events.next().await {
///     match item {
///         Ok(SseItem::Message(event)) => println!("{}: {}", event.event_type(), event.data()),
///         Ok(_) => {}
///         Err(error) => eprintln!("{error} (now {:?})", events.ready_state()),
///     }
/// }
/// # Ok(()) }
/// ```
pub struct EventSource {
    /// The request of every new connection attempt: the builder's, as the last redirects of
    /// an attempt that opened left it.
    request: Request,
    /// The request of the attempt in progress, which redirects change; it becomes `request`
    /// when the attempt opens.
    in_flight: Request,
    policy: ReconnectPolicy,
    redirect_policy: RedirectPolicy,
    /// `None`: no idle timeout.
    idle_timeout: Option<Duration>,
    /// The idle timer of the connection in progress (armed at each request sent); it fires
    /// at `last_bytes + idle_timeout`, re-armed lazily when bytes came in since.
    idle: Option<Pin<Box<Sleep>>>,
    /// When the connection in progress last sent or received something.
    last_bytes: Instant,
    /// Whether the open connection dispatched an event.
    dispatched: bool,
    /// Connections in a row that opened and ended without dispatching an event (`e` of the
    /// backoff formula).
    empty: u32,
    parser: Parser,
    state: State,
    /// Items to yield before driving the state machine again.
    queue: VecDeque<Result<SseItem, ClientError>>,
    /// The URL the source was made with (`request.url` is the current one, after redirects).
    url: Url,
    /// Redirects followed in the current connection attempt.
    redirects: u32,
    /// Reconnection attempts since the last successful open (`k` of the backoff formula).
    attempts: u32,
    reconnect_delay: Option<Duration>,
    shared: Arc<Shared>,
}

impl fmt::Debug for EventSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventSource")
            .field("url", &self.url.as_str())
            .field("current_url", &self.request.url.as_str())
            .field("method", &self.request.method)
            .field("ready_state", &self.ready_state())
            .field("last_event_id", &self.last_event_id())
            .field("policy", &self.policy)
            .field("redirects", &self.redirect_policy)
            .field("idle_timeout", &self.idle_timeout)
            .finish_non_exhaustive()
    }
}

impl EventSource {
    /// A `GET` source for `url` with the defaults; the same as `EventSource::builder(url).build()`.
    ///
    /// # Errors
    ///
    /// [`ClientError::Config`] when `url` does not parse or is not `http`/`https`.
    pub fn new(url: impl AsRef<str>) -> Result<EventSource, ClientError> {
        EventSource::builder(url).build()
    }

    /// A builder for a source of `url`: headers, method and body, initial last event ID, HTTP
    /// client, reconnect policy, parser limits.
    pub fn builder(url: impl AsRef<str>) -> EventSourceBuilder {
        EventSourceBuilder::new(url.as_ref())
    }

    pub(crate) fn from_parts(request: Request, parser: Parser, settings: Settings) -> EventSource {
        EventSource {
            url: request.url.clone(),
            in_flight: request.clone(),
            redirects: 0,
            request,
            policy: settings.reconnect,
            redirect_policy: settings.redirects,
            idle_timeout: settings.idle_timeout,
            idle: None,
            last_bytes: Instant::now(),
            dispatched: false,
            empty: 0,
            parser,
            state: State::Idle,
            queue: VecDeque::new(),
            attempts: 0,
            reconnect_delay: None,
            shared: Arc::new(Shared {
                ready: AtomicU8::new(ReadyState::Connecting as u8),
                closed: AtomicBool::new(false),
                waker: AtomicWaker::new(),
            }),
        }
    }

    /// The URL the source was made with, as the browser's `EventSource.url` shows it.
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The URL the next (re)connection goes to: [`url`](EventSource::url) until a redirect
    /// leads elsewhere, then the last redirect's target (the request's *current URL*, as Fetch
    /// and the HTML standard call it), once the connection it led to opened. Redirects of an
    /// attempt that failed (a network error, a redirect loop) do not count, as in Chromium.
    pub fn current_url(&self) -> &Url {
        &self.request.url
    }

    /// The method the next (re)connection uses: the builder's, unless a redirect of a
    /// connection that opened turned it into a `GET` (see [`EventSource`]).
    pub fn current_method(&self) -> &Method {
        &self.request.method
    }

    /// The current ready state.
    pub fn ready_state(&self) -> ReadyState {
        self.shared.ready_state()
    }

    /// The last event ID, the standard's *last event ID string*: what the next connection
    /// sends as `Last-Event-ID`, and the [`last_event_id`](MessageEvent::last_event_id) of the
    /// next event (unless that event sets its own).
    ///
    /// As in the standard (and the browser), an `id:` line counts at the blank line that ends
    /// its block, whether or not the block had `data:` (so `id: 2` followed by a blank line
    /// moves the ID to `2` without dispatching anything), and an `id:` of a block cut off by
    /// the end of the stream never counts, so a resuming server sends that block again. An
    /// `id:` whose value holds NUL is ignored; an empty `id:` resets the ID (no
    /// `Last-Event-ID` is sent then).
    ///
    /// # IDs that cannot be sent
    ///
    /// An ID holding a control character other than tab (U+0001 to U+001F, U+007F; CR, LF and
    /// NUL cannot be in an ID) is no valid HTTP header value (RFC 9110, section 5.5). Such an
    /// ID is still the last event ID, here and in every event, but a reconnection then goes
    /// without a `Last-Event-ID` header (everything else of the request is sent as usual), so
    /// the server sees a fresh client. Servers that want resumption use IDs without control
    /// characters.
    pub fn last_event_id(&self) -> &str {
        self.parser.last_event_id()
    }

    /// The reconnection time: the server's last `retry:` value, or the policy's default.
    pub fn reconnection_time(&self) -> Duration {
        self.parser
            .reconnection_time()
            .unwrap_or(self.policy.get_reconnection_time())
    }

    /// While waiting to reconnect, the delay chosen for this wait (backoff and jitter
    /// included); `None` otherwise.
    pub fn reconnect_delay(&self) -> Option<Duration> {
        self.reconnect_delay
    }

    /// Closes the source: ready state [`Closed`](ReadyState::Closed), no more reconnections;
    /// the stream ends (its next poll, which this wakes, drops the connection and returns
    /// `None`).
    pub fn close(&self) {
        self.shared.close();
    }

    /// A handle that can close this source and read its ready state from elsewhere.
    pub fn handle(&self) -> Handle {
        Handle {
            shared: self.shared.clone(),
        }
    }

    /// Starts a new connection attempt (the first, or a reconnection).
    fn connect(&mut self) {
        self.redirects = 0;
        self.in_flight.clone_from(&self.request);
        self.send();
    }

    /// Sends the current request, carrying the last event ID.
    fn send(&mut self) {
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT, HeaderValue::from_static("text/event-stream"));
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        // Extending replaces the defaults by the user's headers of the same name.
        headers.extend(self.in_flight.headers.clone());
        let id = self.parser.last_event_id();
        if !id.is_empty() {
            // An ID with control characters (other than CR, LF, NUL, which it cannot hold)
            // is no valid header value; it cannot be sent (documented on `last_event_id`).
            if let Ok(value) = HeaderValue::from_bytes(id.as_bytes()) {
                headers.insert(HeaderName::from_static("last-event-id"), value);
            }
        }
        let mut builder = self
            .in_flight
            .client
            .request(self.in_flight.method.clone(), self.in_flight.url.clone())
            .headers(headers);
        if let Some(body) = &self.in_flight.body {
            builder = builder.body(body.clone());
        }
        self.reconnect_delay = None;
        self.shared.set_ready(ReadyState::Connecting);
        self.state = State::Connecting(Box::pin(builder.send()));
        if let Some(timeout) = self.idle_timeout {
            self.last_bytes = Instant::now();
            let deadline = self.last_bytes + timeout;
            match &mut self.idle {
                Some(sleep) => sleep.as_mut().reset(deadline),
                None => self.idle = Some(Box::pin(tokio::time::sleep_until(deadline))),
            }
        }
    }

    /// `Ready` when nothing arrived on the connection in progress for the idle timeout;
    /// `Pending` (with the waker registered) otherwise, and always without a timeout.
    fn poll_idle(&mut self, cx: &mut Context<'_>) -> Poll<Duration> {
        let (Some(timeout), Some(sleep)) = (self.idle_timeout, self.idle.as_mut()) else {
            return Poll::Pending;
        };
        loop {
            ready!(sleep.as_mut().poll(cx));
            // Bytes that came in since the timer was armed move the deadline; the timer is
            // re-armed here, not at every chunk.
            let deadline = self.last_bytes + timeout;
            if deadline <= Instant::now() {
                return Poll::Ready(timeout);
            }
            sleep.as_mut().reset(deadline);
        }
    }

    /// Checks a response: follows a redirect, opens the stream, or fails the connection.
    fn accept(&mut self, response: Response) {
        // A client that follows redirects itself answers with the final response: its URL is
        // the current URL from now on.
        if response.url() != &self.in_flight.url {
            self.in_flight.url = response.url().clone();
        }
        let status = response.status();
        if is_redirect(status) {
            if let Some(location) = response.headers().get(LOCATION) {
                return match self.redirect(status, location) {
                    Ok(()) => self.send(),
                    Err(error) if error.is_fatal() => self.fail(error),
                    Err(error) => self.reestablish(error),
                };
            }
            // Without a `Location` a redirect status is just a response that is not 200.
        }
        if status != StatusCode::OK {
            return self.fail(ClientError::Status(status));
        }
        let content_type = response.headers().get(CONTENT_TYPE);
        if !content_type.is_some_and(|value| is_event_stream(value.as_bytes())) {
            let value = content_type.map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
            return self.fail(ClientError::ContentType(value));
        }
        self.attempts = 0;
        self.dispatched = false;
        // The response head came in: the idle clock restarts.
        self.last_bytes = Instant::now();
        // Where the redirects led, and a method they changed, hold for every reconnection.
        self.request.clone_from(&self.in_flight);
        self.shared.set_ready(ReadyState::Open);
        self.state = State::Open {
            body: Box::pin(response.bytes_stream()),
            chunk: Bytes::new(),
            pos: 0,
        };
        self.queue.push_back(Ok(SseItem::Open));
    }

    /// Applies a redirect to the current request, as Fetch's "HTTP-redirect fetch" does, if
    /// the redirect policy allows it. `Err`: [`ClientError::Redirect`] when it is a network
    /// error, [`ClientError::RedirectBlocked`] when the policy refuses it.
    fn redirect(&mut self, status: StatusCode, location: &HeaderValue) -> Result<(), ClientError> {
        let text = String::from_utf8_lossy(location.as_bytes());
        // Relative to the URL that answered with the redirect.
        let resolved = self.in_flight.url.join(&text);
        let blocked = match (self.redirect_policy, &resolved) {
            (RedirectPolicy::Follow, _) => false,
            (RedirectPolicy::SameOrigin, Ok(next)) => next.origin() != self.in_flight.url.origin(),
            // A `Location` that does not parse is a network error, as under `Follow`.
            (RedirectPolicy::SameOrigin, Err(_)) => false,
            (RedirectPolicy::Never, _) => true,
        };
        if blocked {
            let location = match &resolved {
                Ok(url) => url.to_string(),
                Err(_) => text.into_owned(),
            };
            return Err(ClientError::RedirectBlocked { status, location });
        }
        if self.redirects >= MAX_REDIRECTS {
            return Err(ClientError::Redirect(format!(
                "more than {MAX_REDIRECTS} redirects (the last to {text:?})"
            )));
        }
        let mut next =
            resolved.map_err(|e| ClientError::Redirect(format!("redirect to {text:?}: {e}")))?;
        if !matches!(next.scheme(), "http" | "https") {
            return Err(ClientError::Redirect(format!(
                "redirect to {text:?}: not an http or https URL"
            )));
        }
        if next.fragment().is_none() {
            next.set_fragment(self.in_flight.url.fragment());
        }
        self.redirects += 1;
        let method = &self.in_flight.method;
        let to_get = match status {
            StatusCode::MOVED_PERMANENTLY | StatusCode::FOUND => method == Method::POST,
            StatusCode::SEE_OTHER => method != Method::GET && method != Method::HEAD,
            _ => false,
        };
        if to_get {
            self.in_flight.method = Method::GET;
            self.in_flight.body = None;
            for name in [
                CONTENT_ENCODING,
                CONTENT_LANGUAGE,
                CONTENT_LOCATION,
                CONTENT_TYPE,
            ] {
                self.in_flight.headers.remove(name);
            }
        }
        if next.origin() != self.in_flight.url.origin() {
            for name in [AUTHORIZATION, COOKIE, PROXY_AUTHORIZATION] {
                self.in_flight.headers.remove(name);
            }
        }
        self.in_flight.url = next;
        Ok(())
    }

    /// A network error or the end of the body: discard the partial event (and its `id:`),
    /// then reconnect (or give up, as the policy says).
    fn reestablish(&mut self, error: ClientError) {
        if matches!(self.state, State::Open { .. }) && !self.dispatched {
            self.empty = self.empty.saturating_add(1);
        }
        for item in self.parser.finish() {
            if let Some(item) = item_of(item) {
                self.queue.push_back(item);
            }
        }
        if self
            .policy
            .get_max_retries()
            .is_some_and(|max| self.attempts >= max)
        {
            return self.fail(ClientError::GaveUp(Box::new(error)));
        }
        let k = self
            .attempts
            .saturating_add(self.policy.empty_penalty(self.empty));
        let delay = self
            .policy
            .backoff(self.reconnection_time(), k, random_unit());
        self.attempts = self.attempts.saturating_add(1);
        self.reconnect_delay = Some(delay);
        self.shared.set_ready(ReadyState::Connecting);
        self.state = State::Waiting(Box::pin(tokio::time::sleep(delay)));
        self.queue.push_back(Err(error));
    }

    /// Fails the connection: a final error item, then the stream ends.
    fn fail(&mut self, error: ClientError) {
        self.reconnect_delay = None;
        self.shared.set_ready(ReadyState::Closed);
        self.state = State::Closed;
        self.queue.push_back(Err(error));
    }
}

/// How many redirects one connection attempt follows, as in Fetch (and browsers).
const MAX_REDIRECTS: u32 = 20;

/// Whether Fetch follows `status` as a redirect (given a `Location`).
fn is_redirect(status: StatusCode) -> bool {
    matches!(status.as_u16(), 301 | 302 | 303 | 307 | 308)
}

/// Maps a parser output to an item; `None`: an output this client does not know (`Parsed` is
/// non-exhaustive).
fn item_of(item: Result<Parsed, ParseError>) -> Option<Result<SseItem, ClientError>> {
    Some(match item {
        Ok(Parsed::Event(event)) => Ok(SseItem::Message(event)),
        Ok(Parsed::Retry(retry)) => Ok(SseItem::Retry(retry)),
        Err(error) => Err(ClientError::Parse(error)),
        Ok(_) => return None,
    })
}

/// Whether a `Content-Type` value's MIME type is `text/event-stream` (parameters, surrounding
/// whitespace and ASCII case ignored).
fn is_event_stream(value: &[u8]) -> bool {
    let essence = value.split(|&b| b == b';').next().unwrap_or_default();
    essence
        .trim_ascii()
        .eq_ignore_ascii_case(b"text/event-stream")
}

impl Stream for EventSource {
    type Item = Result<SseItem, ClientError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        this.shared.waker.register(cx.waker());
        if this.shared.closed.load(Ordering::Acquire) {
            // Dropping the state drops the connection or the timer.
            this.state = State::Closed;
            this.queue.clear();
            this.reconnect_delay = None;
            return Poll::Ready(None);
        }
        loop {
            if let Some(item) = this.queue.pop_front() {
                return Poll::Ready(Some(item));
            }
            match &mut this.state {
                State::Closed => return Poll::Ready(None),
                State::Idle => this.connect(),
                State::Waiting(sleep) => {
                    ready!(sleep.as_mut().poll(cx));
                    this.connect();
                }
                State::Connecting(pending) => match pending.as_mut().poll(cx) {
                    Poll::Ready(Ok(response)) => this.accept(response),
                    // reqwest refused to build the request: retrying is futile.
                    Poll::Ready(Err(error)) if error.is_builder() => {
                        this.fail(ClientError::Config(Box::new(error)));
                    }
                    Poll::Ready(Err(error)) => this.reestablish(ClientError::Transport(error)),
                    Poll::Pending => {
                        let timeout = ready!(this.poll_idle(cx));
                        // Dropping the request closes its connection.
                        this.reestablish(ClientError::IdleTimeout(timeout));
                    }
                },
                State::Open { body, chunk, pos } => {
                    if *pos < chunk.len() {
                        let mut rest = &chunk[*pos..];
                        let out = this.parser.parse_next(&mut rest);
                        *pos = chunk.len() - rest.len();
                        if let Some(item) = out.and_then(item_of) {
                            if let Ok(SseItem::Message(_)) = item {
                                this.dispatched = true;
                                this.empty = 0;
                            }
                            return Poll::Ready(Some(item));
                        }
                        continue;
                    }
                    match body.as_mut().poll_next(cx) {
                        Poll::Ready(Some(Ok(bytes))) => {
                            *chunk = bytes;
                            *pos = 0;
                            if this.idle_timeout.is_some() {
                                this.last_bytes = Instant::now();
                            }
                        }
                        Poll::Ready(Some(Err(error))) => {
                            this.reestablish(ClientError::Transport(error));
                        }
                        Poll::Ready(None) => this.reestablish(ClientError::StreamEnded),
                        Poll::Pending => {
                            let timeout = ready!(this.poll_idle(cx));
                            // Dropping the body (in `reestablish`) closes the connection.
                            this.reestablish(ClientError::IdleTimeout(timeout));
                        }
                    }
                }
            }
        }
    }
}

impl FusedStream for EventSource {
    fn is_terminated(&self) -> bool {
        self.queue.is_empty()
            && (matches!(self.state, State::Closed) || self.shared.closed.load(Ordering::Acquire))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mime_type_ignores_parameters_case_and_whitespace() {
        for ok in [
            &b"text/event-stream"[..],
            b"Text/Event-Stream",
            b"text/event-stream; charset=utf-8",
            b" text/event-stream ;x=y",
            b"TEXT/EVENT-STREAM;",
        ] {
            assert!(is_event_stream(ok), "{:?}", String::from_utf8_lossy(ok));
        }
        for bad in [
            &b"text/plain"[..],
            b"",
            b"text/event-stream-x",
            b"text/event",
            b"application/json; x=text/event-stream",
        ] {
            assert!(!is_event_stream(bad), "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn ready_state_numbers_match_the_browser() {
        assert_eq!(ReadyState::Connecting as u8, 0);
        assert_eq!(ReadyState::Open as u8, 1);
        assert_eq!(ReadyState::Closed as u8, 2);
    }

    #[test]
    fn source_and_handle_are_send_and_handle_is_sync() {
        fn send<T: Send>() {}
        fn sync<T: Sync>() {}
        send::<EventSource>();
        send::<Handle>();
        sync::<Handle>();
        sync::<ClientError>();
    }
}
