//! [`EventSourceBuilder`]: everything about the request an [`EventSource`] sends.

use bytes::Bytes;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{Client, Method, Url};
use sse_core::{Limits, Parser};

use crate::{ClientError, EventSource, ReconnectPolicy};

/// What an [`EventSource`] sends on every (re)connection.
#[derive(Debug, Clone)]
pub(crate) struct Request {
    pub(crate) url: Url,
    pub(crate) method: Method,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Option<Bytes>,
    pub(crate) client: Client,
}

/// Configures an [`EventSource`]; made by [`EventSource::builder`].
///
/// Every setting applies to every connection the source makes: the first one and each
/// reconnection (headers, method and body are sent again, so the body is [`Bytes`], cheap to
/// re-send).
///
/// ```no_run
/// # async fn run() -> Result<(), sse_client::ClientError> {
/// use std::time::Duration;
/// use sse_client::{EventSource, ReconnectPolicy};
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
    policy: ReconnectPolicy,
    limits: Limits,
    error: Option<ClientError>,
}

impl EventSourceBuilder {
    pub(crate) fn new(url: &str) -> EventSourceBuilder {
        EventSourceBuilder {
            url: parse_url(url),
            method: Method::GET,
            headers: HeaderMap::new(),
            body: None,
            last_event_id: String::new(),
            client: None,
            policy: ReconnectPolicy::new(),
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
    /// A `301`/`302`/`303` redirect turns a `POST` into a body-less `GET` (reqwest's policy, as
    /// in browsers); `307`/`308` keep the method and the body.
    pub fn body(mut self, body: impl Into<Bytes>) -> EventSourceBuilder {
        self.body = Some(body.into());
        self
    }

    /// Sets the last event ID sent as `Last-Event-ID` on the first connection (for example
    /// the one a previous run of the program saw). Empty (the default): no header.
    pub fn last_event_id(mut self, id: impl Into<String>) -> EventSourceBuilder {
        self.last_event_id = id.into();
        self
    }

    /// Uses this HTTP client (its connection pool, proxies, TLS and redirect settings).
    ///
    /// Do not give it a total [`timeout`](reqwest::ClientBuilder::timeout): that cuts every
    /// stream after that long. A
    /// [`read_timeout`](reqwest::ClientBuilder::read_timeout) is the right tool to detect a
    /// silent server (a timeout counts as a network error: the source reconnects).
    pub fn client(mut self, client: Client) -> EventSourceBuilder {
        self.client = Some(client);
        self
    }

    /// Sets the [`ReconnectPolicy`] (default [`ReconnectPolicy::new`]).
    pub fn reconnect(mut self, policy: ReconnectPolicy) -> EventSourceBuilder {
        self.policy = policy;
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
            None => Client::builder()
                .build()
                .map_err(|e| ClientError::Config(Box::new(e)))?,
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
        Ok(EventSource::from_parts(request, parser, self.policy))
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
