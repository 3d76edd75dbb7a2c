//! URL mode: `sse-cli URL [--json] [--header 'Name: value']... [--last-event-id ID]
//! [--no-reconnect] [--cacert FILE]` watches an event stream with [`sse_client::EventSource`].
//! `https://` works out of the box (rustls, webpki roots); `--cacert FILE` trusts the PEM
//! certificates in `FILE` too (a private CA, a self-signed test server).

use std::error::Error;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use sse_client::reqwest::StatusCode;
use sse_client::{ClientError, EventSource, ReadyState, ReconnectPolicy, SseItem};
use sse_core::{MessageEvent, Parsed};

use crate::{Flags, JsonLines};

/// The flags that exist only in URL mode.
const URL_FLAGS: [&str; 5] = [
    "--json",
    "--header",
    "--last-event-id",
    "--no-reconnect",
    "--cacert",
];

/// The options of URL mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlOptions {
    /// The `http://` or `https://` URL.
    pub url: String,
    /// `--json`: JSON lines instead of the readable format.
    pub json: bool,
    /// `--header 'Name: value'`, in order.
    pub headers: Vec<(String, String)>,
    /// `--last-event-id ID`: sent on the first connection.
    pub last_event_id: Option<String>,
    /// False with `--no-reconnect`.
    pub reconnect: bool,
    /// `--cacert FILE`: PEM certificates to trust as roots, besides the built-in ones.
    pub cacert: Option<PathBuf>,
}

/// Whether `arg` looks like an `http://` or `https://` URL (scheme case-insensitive).
///
/// ```
/// assert!(sse_cli::url::is_url("http://127.0.0.1:8844/events"));
/// assert!(sse_cli::url::is_url("HTTPS://example.com"));
/// assert!(!sse_cli::url::is_url("--chunk-size"));
/// ```
pub fn is_url(arg: &str) -> bool {
    let lower = arg.get(..8).unwrap_or(arg).to_ascii_lowercase();
    lower.starts_with("http://") || lower.starts_with("https://")
}

/// Whether the command line asks for URL mode: it holds a URL or a URL-mode flag.
pub fn wants_url_mode(args: &[String]) -> bool {
    args.iter().any(|arg| {
        let flag = arg.split_once('=').map_or(arg.as_str(), |(flag, _)| flag);
        is_url(arg) || URL_FLAGS.contains(&flag)
    })
}

/// Parses a URL-mode command line (without the program name). `Ok(None)` means `--help`.
///
/// ```
/// let args: Vec<String> = ["http://h/e", "--json", "--header", "Cookie: a=b", "--no-reconnect"]
///     .map(String::from)
///     .into();
/// let options = sse_cli::url::parse_url_args(&args).unwrap().unwrap();
/// assert_eq!(options.headers, [("Cookie".to_owned(), "a=b".to_owned())]);
/// assert!(options.json && !options.reconnect);
/// ```
pub fn parse_url_args(args: &[String]) -> Result<Option<UrlOptions>, String> {
    let mut url = None;
    let mut options = UrlOptions {
        url: String::new(),
        json: false,
        headers: Vec::new(),
        last_event_id: None,
        reconnect: true,
        cacert: None,
    };
    let mut args = Flags::new(args);
    while let Some(flag) = args.next_arg() {
        match flag {
            "-h" | "--help" => return Ok(None),
            "--json" => options.json = true,
            "--no-reconnect" => options.reconnect = false,
            "--last-event-id" => options.last_event_id = Some(args.value()?),
            "--cacert" => options.cacert = Some(args.value()?.into()),
            "--header" => {
                let v = args.value()?;
                let (name, value) = v
                    .split_once(':')
                    .filter(|(name, _)| !name.trim().is_empty())
                    .ok_or_else(|| format!("--header: expected 'Name: value', got {v:?}"))?;
                options
                    .headers
                    .push((name.trim().to_owned(), value.trim().to_owned()));
            }
            _ if is_url(flag) && url.is_none() => url = Some(flag.to_owned()),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    options.url = url.ok_or("missing the http:// or https:// URL")?;
    Ok(Some(options))
}

/// The readable form of an event: `[+SECONDSs] TYPE id=ID  DATA`, where ` id=ID` is left out
/// while there is no last event ID, and each further data line is indented under the first.
///
/// ```
/// use std::time::Duration;
/// use sse_core::MessageEvent;
///
/// let event = MessageEvent::new("tick", "one\ntwo", "3");
/// assert_eq!(
///     sse_cli::url::format_event(Duration::from_millis(1500), &event),
///     "[+1.500s] tick id=3  one\n                     two\n"
/// );
/// ```
pub fn format_event(elapsed: Duration, event: &MessageEvent) -> String {
    let mut line = format!("[+{:.3}s] {}", elapsed.as_secs_f64(), event.event_type());
    if !event.last_event_id().is_empty() {
        line.push_str(" id=");
        line.push_str(event.last_event_id());
    }
    line.push_str("  ");
    let indent = " ".repeat(line.chars().count());
    for (i, data_line) in event.data().split('\n').enumerate() {
        if i > 0 {
            line.push('\n');
            line.push_str(&indent);
        }
        line.push_str(data_line);
    }
    line.push('\n');
    line
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

/// Adds the PEM certificates in the file at `path` to the roots `builder` trusts.
#[cfg(feature = "rustls")]
fn add_roots(
    builder: sse_client::EventSourceBuilder,
    path: &Path,
) -> Result<sse_client::EventSourceBuilder, String> {
    use sse_client::reqwest::Certificate;
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
    _builder: sse_client::EventSourceBuilder,
    _path: &Path,
) -> Result<sse_client::EventSourceBuilder, String> {
    Err("this build has no TLS support; build it with `--features rustls`".to_owned())
}

/// How a URL-mode run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The stream ended (with `--no-reconnect`), the server answered `204 No Content`, or
    /// stdout was closed: exit status 0.
    Ended,
    /// The connection failed or could not be made: exit status 1.
    Failed,
    /// The options could not make a request (an invalid header, say): exit status 2.
    BadArguments,
}

/// Connects and prints events to `out` as they arrive, notices and errors to stderr, until
/// the stream ends for good. Needs a tokio runtime with I/O and timers.
pub async fn run<W: Write>(options: &UrlOptions, out: W) -> io::Result<Outcome> {
    if options
        .url
        .get(..8)
        .is_some_and(|s| s.eq_ignore_ascii_case("https://"))
        && !cfg!(feature = "rustls")
    {
        eprintln!(
            "sse-cli: this build has no TLS support for https:// URLs; build it with `--features rustls`"
        );
        return Ok(Outcome::BadArguments);
    }
    let mut builder = EventSource::builder(&options.url);
    for (name, value) in &options.headers {
        builder = builder.header(name.as_str(), value.as_str());
    }
    if let Some(id) = &options.last_event_id {
        builder = builder.last_event_id(id.as_str());
    }
    if !options.reconnect {
        builder = builder.reconnect(ReconnectPolicy::never());
    }
    if let Some(path) = &options.cacert {
        builder = match add_roots(builder, path) {
            Ok(builder) => builder,
            Err(message) => {
                eprintln!("sse-cli: --cacert {}: {message}", path.display());
                return Ok(Outcome::BadArguments);
            }
        };
    }
    let mut source = match builder.build() {
        Ok(source) => source,
        Err(error) => {
            eprintln!("sse-cli: {}", describe(&error));
            return Ok(Outcome::BadArguments);
        }
    };
    let start = Instant::now();
    let mut out = JsonLines::new(out);
    let mut outcome = Outcome::Ended;
    while let Some(item) = source.next().await {
        match item {
            Ok(SseItem::Open) => eprintln!("sse-cli: connected to {}", options.url),
            Ok(SseItem::Message(event)) => {
                if options.json {
                    out.item(Ok(Parsed::Event(event)))?;
                } else {
                    out.get_mut()
                        .write_all(format_event(start.elapsed(), &event).as_bytes())?;
                }
            }
            Ok(SseItem::Retry(retry)) => {
                if options.json {
                    out.item(Ok(Parsed::Retry(retry)))?;
                } else {
                    eprintln!("sse-cli: the server set the reconnection time to {retry:?}");
                }
            }
            Ok(_) => {}
            Err(error) => {
                let text = describe(&error);
                match source.ready_state() {
                    ReadyState::Connecting => {
                        let delay = source.reconnect_delay().unwrap_or_default();
                        let id = source.last_event_id();
                        if id.is_empty() {
                            eprintln!("sse-cli: {text}; reconnecting in {delay:?}");
                        } else {
                            eprintln!(
                                "sse-cli: {text}; reconnecting in {delay:?} with Last-Event-ID {id:?}"
                            );
                        }
                    }
                    ReadyState::Open => eprintln!("sse-cli: {text}"),
                    ReadyState::Closed => {
                        eprintln!("sse-cli: {text}");
                        // The end of the stream, or a 204 (the server's "stop"), is no failure.
                        let stopped = matches!(error.cause(),
                            ClientError::Status(s) if *s == StatusCode::NO_CONTENT);
                        if !stopped && !matches!(error.cause(), ClientError::StreamEnded) {
                            outcome = Outcome::Failed;
                        }
                    }
                }
            }
        }
        out.get_mut().flush()?;
    }
    if options.json {
        out.last_event_id(source.last_event_id())?;
    }
    out.into_inner().flush()?;
    Ok(outcome)
}
