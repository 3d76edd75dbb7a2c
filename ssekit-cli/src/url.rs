//! Watch mode: `ssekit [watch] URL [OPTIONS]` watches an event stream with
//! [`ssekit_client::EventSource`] and prints it in one [`Format`] (`ssekit watch --help` is
//! the manual).

use std::error::Error;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use ssekit_client::reqwest::Method;
use ssekit_client::{
    ClientError, EventSource, ReadyState, ReconnectPolicy, RedirectPolicy, SseItem,
};

use crate::output::{Escape, Format, Printer};

/// The options of watch mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlOptions {
    /// The `http://` or `https://` URL.
    pub url: String,
    /// `--json` or `--raw`; readable otherwise.
    pub format: Format,
    /// `--event NAME`, repeatable: print only events of these types (all when empty).
    pub events: Vec<String>,
    /// `--count N`: stop after printing N events.
    pub count: Option<u64>,
    /// `--timeout S`: stop after this long.
    pub timeout: Option<Duration>,
    /// `-X/--method`; `GET`, or `POST` when there is a body.
    pub method: Method,
    /// `-d/--data` (the bytes, `@FILE` already read): the request body.
    pub body: Option<Vec<u8>>,
    /// `-H/--header 'Name: value'`, in order.
    pub headers: Vec<(String, String)>,
    /// `--last-event-id ID`: sent on the first connection.
    pub last_event_id: Option<String>,
    /// False with `--no-reconnect`.
    pub reconnect: bool,
    /// `--cacert FILE`: PEM certificates to trust as roots, besides the built-in ones.
    pub cacert: Option<PathBuf>,
    /// `--escape always|auto|never`: whether readable output shows control characters
    /// visibly. [`run`] escapes only with [`Escape::Always`] (it does not know whether its
    /// writer is a terminal): the binary resolves `Auto` to `Always` on a terminal.
    pub escape: Escape,
    /// `--redirects follow|same-origin|never` (default follow, as browsers).
    pub redirects: RedirectPolicy,
    /// `--idle-timeout S`: `None` keeps the client's default (60 s), `Some(ZERO)` turns it
    /// off.
    pub idle_timeout: Option<Duration>,
}

/// Whether `arg` looks like an `http://` or `https://` URL (scheme case-insensitive).
///
/// ```
/// assert!(ssekit_cli::url::is_url("http://127.0.0.1:8844/events"));
/// assert!(ssekit_cli::url::is_url("HTTPS://example.com"));
/// assert!(!ssekit_cli::url::is_url("--chunk-size"));
/// ```
pub fn is_url(arg: &str) -> bool {
    let lower = arg.get(..8).unwrap_or(arg).to_ascii_lowercase();
    lower.starts_with("http://") || lower.starts_with("https://")
}

/// The [`EventSource`] that `options` describe: the one place watch mode sets up its
/// request and client.
pub fn event_source(options: &UrlOptions) -> Result<EventSource, ClientError> {
    let mut builder = EventSource::builder(&options.url).method(options.method.clone());
    for (name, value) in &options.headers {
        builder = builder.header(name.as_str(), value.as_str());
    }
    if let Some(body) = &options.body {
        let typed = options
            .headers
            .iter()
            .any(|(name, _)| name.eq_ignore_ascii_case("content-type"));
        if !typed {
            builder = builder.header("Content-Type", "application/json");
        }
        builder = builder.body(body.clone());
    }
    if let Some(id) = &options.last_event_id {
        builder = builder.last_event_id(id.as_str());
    }
    if !options.reconnect {
        builder = builder.reconnect(ReconnectPolicy::never());
    }
    builder = builder.redirects(options.redirects);
    if let Some(timeout) = options.idle_timeout {
        builder = builder.idle_timeout(timeout);
    }
    if let Some(path) = &options.cacert {
        builder = add_roots(builder, path).map_err(|message| {
            let message = format!("--cacert {}: {message}", path.display());
            ClientError::Config(message.into())
        })?;
    }
    builder.build()
}

/// Adds the PEM certificates in the file at `path` to the roots `builder` trusts.
#[cfg(feature = "rustls")]
fn add_roots(
    builder: ssekit_client::EventSourceBuilder,
    path: &Path,
) -> Result<ssekit_client::EventSourceBuilder, String> {
    use ssekit_client::reqwest::Certificate;
    let pem = std::fs::read(path).map_err(|e| e.to_string())?;
    let certificates = Certificate::from_pem_bundle(&pem).map_err(|e| describe(&e))?;
    if certificates.is_empty() {
        return Err("no PEM certificate in it".to_owned());
    }
    Ok(certificates
        .into_iter()
        .fold(builder, |builder, certificate| {
            builder.add_root_certificate(certificate)
        }))
}

/// Without TLS there is nothing to add roots to.
#[cfg(not(feature = "rustls"))]
fn add_roots(
    _builder: ssekit_client::EventSourceBuilder,
    _path: &Path,
) -> Result<ssekit_client::EventSourceBuilder, String> {
    Err("this build has no TLS support; build it with `--features rustls`".to_owned())
}

/// An error and its chain of causes, `": "`-separated (reqwest's own message is terse; its
/// causes say what went wrong, such as "Connection refused").
pub fn describe(error: &dyn Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// How a watch ended; [`Outcome::exit_code`] is the exit status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The stream ended cleanly (the server ended it and there is no reconnection),
    /// `--count` was reached, or stdout was closed: exit status 0.
    Ended,
    /// The options could not make a request (an invalid header, say): exit status 2.
    BadArguments,
    /// The server closed the stream for good: `204 No Content`, another status than
    /// `200`, or a `Content-Type` other than `text/event-stream`: exit status 3.
    ClosedByServer,
    /// A network error, and no reconnection (`--no-reconnect`): exit status 4.
    NetworkError,
    /// A redirect that `--redirects` does not follow (another origin with `same-origin`,
    /// any with `never`): exit status 5.
    RedirectBlocked,
    /// `--timeout` ran out: exit status 124 (as `timeout(1)`).
    TimedOut,
}

impl Outcome {
    /// The exit status (`ssekit watch --help` documents it).
    pub fn exit_code(self) -> u8 {
        match self {
            Outcome::Ended => 0,
            Outcome::BadArguments => 2,
            Outcome::ClosedByServer => 3,
            Outcome::NetworkError => 4,
            Outcome::RedirectBlocked => 5,
            Outcome::TimedOut => 124,
        }
    }

    /// How a watch ends when `error` closed the source.
    pub fn of_error(error: &ClientError) -> Outcome {
        match error.cause() {
            ClientError::StreamEnded => Outcome::Ended,
            ClientError::Status(_) | ClientError::ContentType(_) => Outcome::ClosedByServer,
            ClientError::Config(_) => Outcome::BadArguments,
            ClientError::RedirectBlocked { .. } => Outcome::RedirectBlocked,
            _ => Outcome::NetworkError,
        }
    }
}

/// Connects and prints events to `out` as they arrive (in `colour` when readable), notices
/// and errors to stderr, until the stream ends for good, `--count` events were printed or
/// `--timeout` ran out. Needs a tokio runtime with I/O and timers.
pub async fn run<W: Write>(options: &UrlOptions, out: W, colour: bool) -> io::Result<Outcome> {
    if options
        .url
        .get(..8)
        .is_some_and(|s| s.eq_ignore_ascii_case("https://"))
        && !cfg!(feature = "rustls")
    {
        eprintln!(
            "ssekit: this build has no TLS support for https:// URLs; build it with `--features rustls`"
        );
        return Ok(Outcome::BadArguments);
    }
    let mut source = match event_source(options) {
        Ok(source) => source,
        Err(error) => {
            eprintln!("ssekit: {}", describe(&error));
            return Ok(Outcome::BadArguments);
        }
    };
    let start = Instant::now();
    // A timeout too far away to be an instant is no timeout.
    let deadline = options
        .timeout
        .and_then(|t| tokio::time::Instant::now().checked_add(t));
    let mut out =
        Printer::new(out, options.format, colour).escape(options.escape == Escape::Always);
    let mut printed = 0;
    let mut outcome = Outcome::Ended;
    loop {
        let next = match deadline {
            Some(deadline) => match tokio::time::timeout_at(deadline, source.next()).await {
                Ok(next) => next,
                Err(_) => {
                    eprintln!("ssekit: --timeout: stopped after {:.1?}", start.elapsed());
                    outcome = Outcome::TimedOut;
                    break;
                }
            },
            None => source.next().await,
        };
        let Some(item) = next else { break };
        match item {
            Ok(SseItem::Open) => eprintln!("ssekit: connected to {}", options.url),
            Ok(SseItem::Message(event)) => {
                let wanted = options.events.is_empty()
                    || options.events.iter().any(|name| name == event.event_type());
                if wanted {
                    out.event(start.elapsed(), event)?;
                    printed += 1;
                    if options.count == Some(printed) {
                        break;
                    }
                }
            }
            Ok(SseItem::Retry(retry)) => out.retry(retry)?,
            Ok(_) => {}
            Err(error) => {
                let text = describe(&error);
                match source.ready_state() {
                    ReadyState::Connecting => {
                        let delay = source.reconnect_delay().unwrap_or_default();
                        let id = source.last_event_id();
                        if id.is_empty() {
                            eprintln!("ssekit: {text}; reconnecting in {delay:?}");
                        } else {
                            eprintln!(
                                "ssekit: {text}; reconnecting in {delay:?} with Last-Event-ID {id:?}"
                            );
                        }
                    }
                    ReadyState::Open => eprintln!("ssekit: {text}"),
                    ReadyState::Closed => {
                        eprintln!("ssekit: {text}");
                        outcome = Outcome::of_error(&error);
                    }
                }
            }
        }
        out.flush()?;
    }
    out.finish(source.last_event_id())?;
    Ok(outcome)
}
