//! [`ClientError`]: what an [`EventSource`](crate::EventSource) reports.

use core::fmt;

use reqwest::StatusCode;
use sse_core::ParseError;

/// An error item of an [`EventSource`](crate::EventSource), the browser's `error` event.
///
/// What happens next is told by [`EventSource::ready_state`](crate::EventSource::ready_state)
/// right after the error was yielded, as in the browser:
///
/// | variant | ready state after it | what the source does |
/// |---|---|---|
/// | [`Transport`](ClientError::Transport), [`StreamEnded`](ClientError::StreamEnded) | `Connecting` | waits, then reconnects with `Last-Event-ID` |
/// | the same, once the [`ReconnectPolicy`](crate::ReconnectPolicy) gives up | `Closed` | ends the stream |
/// | [`Status`](ClientError::Status), [`ContentType`](ClientError::ContentType), [`Config`](ClientError::Config) | `Closed` | ends the stream, never retries |
/// | [`Parse`](ClientError::Parse) | `Open` (unchanged) | drops that one event and reads on |
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
    /// The server answered with a status other than `200 OK` (`204 No Content` is how a
    /// server tells a client to stop). The connection is failed: no reconnection.
    Status(StatusCode),
    /// The response's MIME type is not `text/event-stream`; holds the `Content-Type` value
    /// (lossily decoded), `None` when there was none. The connection is failed: no
    /// reconnection.
    ContentType(Option<String>),
    /// An event exceeded the parser's [`Limits`](sse_core::Limits); it was discarded and the
    /// stream goes on with the next event.
    Parse(ParseError),
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientError::Config(e) => write!(f, "invalid EventSource configuration: {e}"),
            ClientError::Transport(e) => write!(f, "network error: {e}"),
            ClientError::StreamEnded => f.write_str("the server ended the event stream"),
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
        }
    }
}

impl core::error::Error for ClientError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            ClientError::Config(e) => Some(&**e),
            ClientError::Transport(e) => Some(e),
            ClientError::Parse(e) => Some(e),
            ClientError::StreamEnded | ClientError::Status(_) | ClientError::ContentType(_) => None,
        }
    }
}
