//! [`ClientError`]: what an [`EventSource`](crate::EventSource) reports.

use core::fmt;

use reqwest::StatusCode;
use ssekit_proto::ParseError;

/// An error item of an [`EventSource`](crate::EventSource), the browser's `error` event.
///
/// The error itself tells what happens next ([`is_fatal`](ClientError::is_fatal)), and so does
/// [`EventSource::ready_state`](crate::EventSource::ready_state) right after the error was
/// yielded, as in the browser:
///
/// | variant | `is_fatal()` | ready state after it | what the source does |
/// |---|---|---|---|
/// | [`Transport`](ClientError::Transport), [`StreamEnded`](ClientError::StreamEnded), [`IdleTimeout`](ClientError::IdleTimeout), [`Redirect`](ClientError::Redirect) | `false` | `Connecting` | waits, then reconnects with `Last-Event-ID` |
/// | [`GaveUp`](ClientError::GaveUp) (one of those, once the [`ReconnectPolicy`](crate::ReconnectPolicy) gives up) | `true` | `Closed` | ends the stream |
/// | [`Status`](ClientError::Status), [`ContentType`](ClientError::ContentType), [`RedirectBlocked`](ClientError::RedirectBlocked), [`Config`](ClientError::Config) | `true` | `Closed` | ends the stream, never retries |
/// | [`Parse`](ClientError::Parse) | `false` | `Open` (unchanged) | drops that one event and reads on |
///
/// ```no_run
/// # async fn run() -> Result<(), ssekit_client::ClientError> {
/// use futures_util::StreamExt;
///
/// let mut events = ssekit_client::EventSource::new("http://127.0.0.1:8844/events")?;
/// while let Some(item) = events.next().await {
///     if let Err(error) = item {
///         if error.is_fatal() {
///             eprintln!("gave up: {error}"); // the stream ends after this item
///         } else {
///             eprintln!("{error}; reconnecting");
///         }
///     }
/// }
/// # Ok(()) }
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum ClientError {
    /// The source cannot be set up: a URL that does not parse or is not `http`/`https`, a
    /// header name or value that is not valid HTTP, an HTTP client that failed to build, or a
    /// request reqwest refuses to build. Returned by
    /// [`EventSourceBuilder::build`](crate::EventSourceBuilder::build), or (fatal) by the stream.
    Config(Box<dyn core::error::Error + Send + Sync>),
    /// A network error while connecting or reading the body (connection refused or reset, a
    /// truncated chunked body, too many redirects, a read timeout of a custom client, ...).
    Transport(reqwest::Error),
    /// The server ended the response body. The browser treats this like a network error: it
    /// reconnects.
    StreamEnded,
    /// No byte arrived for the [idle timeout](crate::EventSourceBuilder::idle_timeout) (holds
    /// it): no response head that long after the request, or a body silent that long. The
    /// connection is dropped and treated as a network error: the source reconnects. Browsers
    /// have no such timeout.
    IdleTimeout(core::time::Duration),
    /// The server answered with a status other than `200 OK` (`204 No Content` is how a
    /// server tells a client to stop). The connection is failed: no reconnection.
    Status(StatusCode),
    /// The response's MIME type is not `text/event-stream`; holds the `Content-Type` value
    /// (lossily decoded), `None` when there was none. The connection is failed: no
    /// reconnection.
    ContentType(Option<String>),
    /// An event exceeded the parser's [`Limits`](ssekit_proto::Limits); it was discarded and the
    /// stream goes on with the next event.
    Parse(ParseError),
    /// A redirect could not be followed: its `Location` does not parse or is not an `http` or
    /// `https` URL, or it was the 21st redirect in a row. Fetch makes this a network error, so
    /// the source reconnects, as Chromium does to the URL of its last connection that opened
    /// (the redirects of the failed attempt do not count).
    Redirect(String),
    /// The [`RedirectPolicy`](crate::RedirectPolicy) does not allow this redirect (for
    /// [`SameOrigin`](crate::RedirectPolicy::SameOrigin), one to another origin; for
    /// [`Never`](crate::RedirectPolicy::Never), any). Nothing was sent to `location`. As the
    /// same request would get the same redirect, the connection is failed: no reconnection.
    RedirectBlocked {
        /// The redirect's status (`301`, `302`, `303`, `307` or `308`).
        status: StatusCode,
        /// Where it pointed: the `Location` resolved against the URL that answered, or the raw
        /// `Location` value (lossily decoded) when it does not resolve to a URL.
        location: String,
    },
    /// The [`ReconnectPolicy`](crate::ReconnectPolicy) gave up: this error (a
    /// [`Transport`](ClientError::Transport), [`StreamEnded`](ClientError::StreamEnded),
    /// [`IdleTimeout`](ClientError::IdleTimeout) or [`Redirect`](ClientError::Redirect)) would
    /// have been followed by a reconnection, and
    /// the attempts allowed are used up. The source is closed.
    GaveUp(Box<ClientError>),
}

impl ClientError {
    /// Whether the source has closed for good after this error (ready state `Closed`, the
    /// stream ends after this item); `false` when it will reconnect or, for
    /// [`Parse`](ClientError::Parse), reads on.
    ///
    /// ```
    /// use ssekit_client::ClientError;
    ///
    /// assert!(!ClientError::StreamEnded.is_fatal());
    /// assert!(ClientError::GaveUp(Box::new(ClientError::StreamEnded)).is_fatal());
    /// assert!(ClientError::Status(reqwest::StatusCode::NO_CONTENT).is_fatal());
    /// ```
    pub fn is_fatal(&self) -> bool {
        match self {
            ClientError::Transport(_)
            | ClientError::StreamEnded
            | ClientError::IdleTimeout(_)
            | ClientError::Redirect(_)
            | ClientError::Parse(_) => false,
            ClientError::Config(_)
            | ClientError::Status(_)
            | ClientError::ContentType(_)
            | ClientError::RedirectBlocked { .. }
            | ClientError::GaveUp(_) => true,
        }
    }

    /// The error itself, or for [`GaveUp`](ClientError::GaveUp) the error it gave up on.
    ///
    /// ```
    /// use ssekit_client::ClientError;
    ///
    /// let error = ClientError::GaveUp(Box::new(ClientError::StreamEnded));
    /// assert!(matches!(error.cause(), ClientError::StreamEnded));
    /// ```
    pub fn cause(&self) -> &ClientError {
        match self {
            ClientError::GaveUp(inner) => inner.cause(),
            other => other,
        }
    }
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientError::Config(e) => write!(f, "invalid EventSource configuration: {e}"),
            ClientError::Transport(e) => write!(f, "network error: {e}"),
            ClientError::StreamEnded => f.write_str("the server ended the event stream"),
            ClientError::IdleTimeout(timeout) => {
                write!(f, "nothing received from the server for {timeout:?}")
            }
            ClientError::Status(status) => {
                write!(f, "the server answered {status} instead of 200 OK")
            }
            ClientError::ContentType(Some(value)) => {
                write!(f, "Content-Type is {value:?}, not text/event-stream")
            }
            ClientError::ContentType(None) => {
                f.write_str("the response has no Content-Type (text/event-stream expected)")
            }
            ClientError::Parse(e) => e.fmt(f),
            ClientError::Redirect(reason) => write!(f, "redirect not followed: {reason}"),
            ClientError::RedirectBlocked { status, location } => write!(
                f,
                "the redirect policy does not allow the {status} redirect to {location}"
            ),
            ClientError::GaveUp(e) => write!(f, "{e}; giving up (no more reconnections)"),
        }
    }
}

impl core::error::Error for ClientError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            ClientError::Config(e) => Some(&**e),
            ClientError::Transport(e) => Some(e),
            ClientError::Parse(e) => Some(e),
            ClientError::GaveUp(e) => Some(&**e),
            ClientError::StreamEnded
            | ClientError::IdleTimeout(_)
            | ClientError::Redirect(_)
            | ClientError::RedirectBlocked { .. }
            | ClientError::Status(_)
            | ClientError::ContentType(_) => None,
        }
    }
}
