//! [`EventSourceBuilder`]: everything about the request an [`EventSource`] sends.

use core::time::Duration;

use bytes::Bytes;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{Client, Method, Url};
use ssekit_proto::{Limits, Parser};

use crate::{ClientError, EventSource, ReconnectPolicy, RedirectPolicy};

/// What an [`EventSource`] sends on every (re)connection.
#[derive(Debug, Clone)]
pub(crate) struct Request {
    pub(crate) url: Url,
    pub(crate) method: Method,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Option<Bytes>,
    pub(crate) client: Client,
}

/// How an [`EventSource`] behaves across connections.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Settings {
    pub(crate) reconnect: ReconnectPolicy,
    pub(crate) redirects: RedirectPolicy,
    /// `None`: no idle timeout.
    pub(crate) idle_timeout: Option<Duration>,
}

/// Configures an [`EventSource`]; made by [`EventSource::builder`].
///
/// Every setting applies to every connection the source makes: the first one and each
/// reconnection (headers, method and body are sent again, so the body is [`Bytes`], cheap to
/// re-send).
///
/// # Defaults that differ from a browser
///
/// | setting | default | browser |
/// |---|---|---|
/// | [`idle_timeout`](EventSourceBuilder::idle_timeout) | 60 s without a byte drops the connection and reconnects | waits forever |
/// | [`reconnect`](EventSourceBuilder::reconnect) | backoff after repeated failures and after the second connection in a row that ended without an event ([`ReconnectPolicy`]) | the reconnection time, every time |
/// | [`redirects`](EventSourceBuilder::redirects) | [`RedirectPolicy::Follow`]: as a browser; [`RedirectPolicy::SameOrigin`] keeps headers and body in one origin | follows |
///
/// ```no_run
/// # async fn run() -> Result<(), ssekit_client::ClientError> {
/// use std::time::Duration;
/// use ssekit_client::{EventSource, ReconnectPolicy};
///
/// let events = EventSource::builder("https://api.example.com/v1/chat")
///     .method(reqwest::Method::POST)
///     .header("Authorization", "Bearer sk-...")
///     .header("Content-Type", "application/json")
///     .body(r#"{"stream":true}"#)
///     .last_event_id("41")
///     .reconnect(ReconnectPolicy::new().max_retries(Some(5)))
///     .build()?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
#[must_use = "a builder does nothing until .build()"]
pub struct EventSourceBuilder {
    url: Result<Url, ClientError>,
    method: Method,
    headers: HeaderMap,
    body: Option<Bytes>,
    last_event_id: String,
    client: Option<Client>,
    #[cfg(feature = "rustls")]
    roots: Vec<reqwest::Certificate>,
    policy: ReconnectPolicy,
    redirects: RedirectPolicy,
    idle_timeout: Option<Duration>,
    limits: Limits,
    error: Option<ClientError>,
}

impl EventSourceBuilder {
    /// The default [idle timeout](EventSourceBuilder::idle_timeout): 60 s, four times the
    /// usual 15 s keep-alive and twice a 30 s one.
    pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);

    pub(crate) fn new(url: &str) -> EventSourceBuilder {
        EventSourceBuilder {
            url: parse_url(url),
            method: Method::GET,
            headers: HeaderMap::new(),
            body: None,
            last_event_id: String::new(),
            client: None,
            #[cfg(feature = "rustls")]
            roots: Vec::new(),
            policy: ReconnectPolicy::new(),
            redirects: RedirectPolicy::Follow,
            idle_timeout: Some(EventSourceBuilder::DEFAULT_IDLE_TIMEOUT),
            limits: Limits::default(),
            error: None,
        }
    }

    /// Adds a request header (appended: repeat a name to send it several times). This is the
    /// place for what a browser's `withCredentials` would send: `Cookie`, `Authorization`.
    ///
    /// A header set here replaces the default of the same name (`Accept: text/event-stream`,
    /// `Cache-Control: no-cache`). `Last-Event-ID` is managed by the source; use
    /// [`last_event_id`](EventSourceBuilder::last_event_id) for its first value. An invalid
    /// name or value makes [`build`](EventSourceBuilder::build) fail.
    pub fn header<K, V>(mut self, name: K, value: V) -> EventSourceBuilder
    where
        K: TryInto<HeaderName>,
        K::Error: core::error::Error + Send + Sync + 'static,
        V: TryInto<HeaderValue>,
        V::Error: core::error::Error + Send + Sync + 'static,
    {
        match (name.try_into(), value.try_into()) {
            (Ok(name), Ok(value)) => {
                self.headers.append(name, value);
            }
            (Err(e), _) => self.fail(Box::new(e)),
            (_, Err(e)) => self.fail(Box::new(e)),
        }
        self
    }

    /// Adds all of `headers`, as [`header`](EventSourceBuilder::header) does for each.
    pub fn headers(mut self, headers: HeaderMap) -> EventSourceBuilder {
        for (name, value) in &headers {
            self.headers.append(name, value.clone());
        }
        self
    }

    /// Sets the request method (default `GET`), for the many streaming APIs that take a
    /// `POST`.
    pub fn method(mut self, method: Method) -> EventSourceBuilder {
        self.method = method;
        self
    }

    /// Sets the request body, sent on every connection (`String`, `&'static str`, `Vec<u8>`
    /// and [`Bytes`] all convert). Set a `Content-Type` header to match.
    ///
    /// A `301`/`302` redirect of a `POST` (or a `303` of anything but `GET`/`HEAD`) turns it
    /// into a body-less `GET`, as in Fetch and browsers, for that request and every
    /// reconnection after it; `307`/`308` keep the method and the body.
    pub fn body(mut self, body: impl Into<Bytes>) -> EventSourceBuilder {
        self.body = Some(body.into());
        self
    }

    /// Sets the last event ID sent as `Last-Event-ID` on the first connection (for example
    /// the one a previous run of the program saw). Empty (the default): no header. An ID that
    /// is no valid header value (a control character) is kept but never sent, see
    /// [`EventSource::last_event_id`].
    pub fn last_event_id(mut self, id: impl Into<String>) -> EventSourceBuilder {
        self.last_event_id = id.into();
        self
    }

    /// Uses this HTTP client (its connection pool, proxies, TLS and redirect settings).
    ///
    /// The default client is reqwest's with redirects left to the source (which follows them
    /// as Fetch does, see [`EventSource`]) and, with the `rustls` feature (on by default),
    /// TLS through rustls with the webpki roots plus any
    /// [`add_root_certificate`](EventSourceBuilder::add_root_certificate). Give your client
    /// [`redirect::Policy::none()`](reqwest::redirect::Policy::none) to keep that redirect
    /// behaviour; a client that follows redirects itself works too, but a reconnection after a
    /// `POST` turned into a `GET` by a redirect is then a `POST` again. Settings of the
    /// builder that shape the default client (root certificates) do not apply to yours.
    ///
    /// Do not give it a total [`timeout`](reqwest::ClientBuilder::timeout): that cuts every
    /// stream after that long. The source's own
    /// [`idle_timeout`](EventSourceBuilder::idle_timeout) detects a silent server with any
    /// client.
    pub fn client(mut self, client: Client) -> EventSourceBuilder {
        self.client = Some(client);
        self
    }

    /// Trusts `certificate` as a root, in addition to the webpki roots, for `https://` with the
    /// default client (for a server with a private CA or a self-signed certificate).
    ///
    /// ```no_run
    /// # fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let pem = std::fs::read("ca.pem")?;
    /// let events = ssekit_client::EventSource::builder("https://127.0.0.1:8443/events")
    ///     .add_root_certificate(reqwest::Certificate::from_pem(&pem)?)
    ///     .build()?;
    /// # Ok(()) }
    /// ```
    #[cfg(feature = "rustls")]
    #[cfg_attr(docsrs, doc(cfg(feature = "rustls")))]
    pub fn add_root_certificate(mut self, certificate: reqwest::Certificate) -> EventSourceBuilder {
        self.roots.push(certificate);
        self
    }

    /// Sets the [`ReconnectPolicy`] (default [`ReconnectPolicy::new`]).
    pub fn reconnect(mut self, policy: ReconnectPolicy) -> EventSourceBuilder {
        self.policy = policy;
        self
    }

    /// Sets the [`RedirectPolicy`]: which redirects are followed (default
    /// [`RedirectPolicy::Follow`], every one, as a browser does). See [`RedirectPolicy`] for
    /// what a redirect does to the method, body and headers, and when to choose
    /// [`RedirectPolicy::SameOrigin`].
    pub fn redirects(mut self, policy: RedirectPolicy) -> EventSourceBuilder {
        self.redirects = policy;
        self
    }

    /// Sets the idle read timeout (default 60 s, [`DEFAULT_IDLE_TIMEOUT`](Self::DEFAULT_IDLE_TIMEOUT)):
    /// when no byte arrives for this long, the connection is dropped and treated as a network
    /// error ([`ClientError::IdleTimeout`]): the source reconnects, with `Last-Event-ID`, after
    /// the reconnection delay. The clock restarts at every byte received (keep-alive comments
    /// count) and at every request sent; it covers the wait for the response head too.
    /// `None` or [`Duration::ZERO`] turns it off: the source then waits on a silent server
    /// forever, as a browser does.
    ///
    /// Keep it above the server's keep-alive interval (ssekit's default is 15 s; 30 s is
    /// common) with room for delays on the way. Browsers have no such timeout; a server that
    /// sends a huge `Content-Length` and then nothing would hold a browser's `EventSource`
    /// forever.
    ///
    /// ```
    /// use std::time::Duration;
    /// # fn run() -> Result<(), ssekit_client::ClientError> {
    /// let quick = ssekit_client::EventSource::builder("http://127.0.0.1:8844/events")
    ///     .idle_timeout(Duration::from_secs(20)) // the server sends a comment every 5 s
    ///     .build()?;
    /// let patient = ssekit_client::EventSource::builder("http://127.0.0.1:8844/events")
    ///     .idle_timeout(None)
    ///     .build()?;
    /// # Ok(()) }
    /// ```
    pub fn idle_timeout(mut self, timeout: impl Into<Option<Duration>>) -> EventSourceBuilder {
        self.idle_timeout = timeout.into().filter(|t| !t.is_zero());
        self
    }

    /// Sets the parser's line and event size [`Limits`] (on by default: 4 MiB lines, 8 MiB
    /// events).
    pub fn limits(mut self, limits: Limits) -> EventSourceBuilder {
        self.limits = limits;
        self
    }

    /// Makes the [`EventSource`]. It does no I/O: the first connection starts when the stream
    /// is first polled.
    ///
    /// # Errors
    ///
    /// [`ClientError::Config`] for a URL that does not parse or is not `http`/`https`, an
    /// invalid header, or an HTTP client that cannot be built.
    pub fn build(self) -> Result<EventSource, ClientError> {
        if let Some(error) = self.error {
            return Err(error);
        }
        let url = self.url?;
        let client = match self.client {
            Some(client) => client,
            None => {
                // Redirects are the source's: it follows them as Fetch does and remembers
                // where they led (and a method they changed) for every reconnection.
                let builder = Client::builder().redirect(reqwest::redirect::Policy::none());
                #[cfg(feature = "rustls")]
                let builder = self
                    .roots
                    .into_iter()
                    .fold(builder.use_rustls_tls(), |builder, root| {
                        builder.add_root_certificate(root)
                    });
                builder
                    .build()
                    .map_err(|e| ClientError::Config(Box::new(e)))?
            }
        };
        let mut parser = Parser::with_limits(self.limits);
        parser.set_last_event_id(&self.last_event_id);
        let request = Request {
            url,
            method: self.method,
            headers: self.headers,
            body: self.body,
            client,
        };
        let settings = Settings {
            reconnect: self.policy,
            redirects: self.redirects,
            idle_timeout: self.idle_timeout,
        };
        Ok(EventSource::from_parts(request, parser, settings))
    }

    fn fail(&mut self, error: Box<dyn core::error::Error + Send + Sync>) {
        if self.error.is_none() {
            self.error = Some(ClientError::Config(error));
        }
    }
}

fn parse_url(url: &str) -> Result<Url, ClientError> {
    let parsed = Url::parse(url).map_err(|e| ClientError::Config(Box::new(e)))?;
    match parsed.scheme() {
        "http" | "https" => Ok(parsed),
        other => Err(ClientError::Config(
            format!("URL scheme {other:?} is not http or https").into(),
        )),
    }
}
