//! Serve mode: `ssekit serve [--listen ADDR] [--format lines|sse|json] [--exit-on-eof]
//! [--engine edge|axum]` publishes stdin into a resumable [`Hub`]: its event stream on the edge
//! (`ssekit_axum::serve`, below the framework) or, with `--engine axum`, through axum's own
//! serving (`Sse::from_broadcast`), the page through axum either way (`ssekit serve --help` is
//! the manual).
//!
//! Both engines close a connection whose request head is not complete within
//! [`HEAD_TIMEOUT`] (`--head-timeout`), and, bound to a loopback address, answer only requests whose `Host` is a
//! loopback name ([`host_allowed`]): a DNS-rebinding page cannot read the stream.
//!
//! The readers ([`read_lines`], [`read_sse`], [`read_json`]) run on a thread of their own
//! (stdin is blocking) and publish straight into the hub, which needs no runtime.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::io::{self, BufRead, Read};
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use std::future::IntoFuture;

use axum::Router;
use axum::extract::State;
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use serde_json::Value;
use ssekit_axum::broker::{Denied, Rejection, RequestInfo};
use ssekit_axum::ssekit::edge::{Edge, EdgeConfig};
use ssekit_axum::{Event, Hub, HubSubscription, LastEventId, Shutdown, Sse};
use ssekit_proto::{Parsed, Parser};

/// The address `serve` listens on without `--listen`.
pub const DEFAULT_LISTEN: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(Ipv4Addr::LOCALHOST), 8845);

/// How long a stop waits for open connections to finish before exiting anyway.
const GRACE: Duration = Duration::from_secs(3);

/// How many ids of recent events are remembered to warn of a repeat: the hub's window (its
/// default capacity).
const RECENT_IDS: usize = 1024;

/// At most this many event types are remembered for the page's listeners.
const MAX_PAGE_TYPES: usize = 64;

/// How stdin is read into events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputFormat {
    /// Each line is the data of one `message` event.
    Lines,
    /// SSE wire text, parsed with [`ssekit_proto::Parser`].
    Sse,
    /// One JSON object per line: `{"event":..,"data":..,"id":..}` (see [`json_event`]).
    Json,
}

/// How long a connection may take to send its request head before it is closed, unless
/// [`ServeOptions::head_timeout`] says otherwise.
pub const HEAD_TIMEOUT: Duration = Duration::from_secs(10);

/// What serves the event stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Engine {
    /// The edge (`ssekit_axum::serve`): the stream below the framework, a cursor and a socket
    /// per client.
    #[default]
    Edge,
    /// axum's own serving (hyper-util's HTTP/1.1 + HTTP/2 server) of `Sse::from_broadcast`, for
    /// comparison.
    Axum,
}

/// The options of serve mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServeOptions {
    /// `--listen ADDR`.
    pub listen: SocketAddr,
    /// `--format`.
    pub format: InputFormat,
    /// `--exit-on-eof`.
    pub exit_on_eof: bool,
    /// `--engine`.
    pub engine: Engine,
    /// `--head-timeout`: how long a request head may take ([`HEAD_TIMEOUT`] by default).
    pub head_timeout: Duration,
}

/// Publishes events into the hub, deciding their ids and remembering their types for the
/// page.
#[derive(Debug)]
pub struct Publisher {
    hub: Hub,
    types: Arc<Mutex<BTreeSet<String>>>,
    /// The id the previous input event had (SSE ids persist: a repeat is no new id).
    previous_id: String,
    /// A `retry` waiting for the next event.
    retry: Option<Duration>,
    /// The ids of the last [`RECENT_IDS`] events, oldest first, and how often each occurs.
    recent: VecDeque<Arc<str>>,
    recent_count: HashMap<Arc<str>, usize>,
}

impl Publisher {
    /// A publisher into `hub`.
    pub fn new(hub: Hub) -> Self {
        Publisher {
            hub,
            types: Arc::default(),
            previous_id: String::new(),
            retry: None,
            recent: VecDeque::new(),
            recent_count: HashMap::new(),
        }
    }

    /// The event types published so far besides `message` (at most 64).
    pub fn types(&self) -> Vec<String> {
        lock(&self.types).iter().cloned().collect()
    }

    /// Sends `retry` with the next event.
    pub fn retry(&mut self, retry: Duration) {
        self.retry = Some(retry);
    }

    /// Publishes one event. `event_type` `""` or `"message"` is a plain event. `id` is kept
    /// when it is not empty and differs from the previous event's; otherwise the hub numbers
    /// the event. An id kept that a recent event already has (one the hub numbered, say) is
    /// published all the same, with a warning on stderr: a client resuming with it goes on
    /// after the later event.
    pub fn publish(&mut self, event_type: &str, data: &str, id: &str) -> Result<(), String> {
        let mut builder = Event::builder().data(data);
        if !event_type.is_empty() && event_type != "message" {
            builder = builder.event(event_type);
        }
        if !id.is_empty() && id != self.previous_id {
            builder = builder.id(id);
        }
        if let Some(retry) = self.retry {
            builder = builder.retry(retry);
        }
        let event = builder.build().map_err(|e| e.to_string())?;
        self.previous_id = id.to_owned();
        self.retry = None;
        if let Some(name) = event.event_name() {
            let mut types = lock(&self.types);
            if types.len() < MAX_PAGE_TYPES {
                types.insert(name.to_owned());
            }
        }
        if let Some(id) = event.id().filter(|id| self.recent_count.contains_key(*id)) {
            eprintln!(
                "ssekit: warning: id {id:?} repeats a recent event's; a client resuming with it \
                 goes on after this event"
            );
        }
        let id = self.hub.publish(event);
        self.remember(id);
        Ok(())
    }

    fn remember(&mut self, id: Arc<str>) {
        if self.recent.len() == RECENT_IDS
            && let Some(old) = self.recent.pop_front()
            && let Some(count) = self.recent_count.get_mut(&old)
        {
            *count -= 1;
            if *count == 0 {
                self.recent_count.remove(&old);
            }
        }
        *self.recent_count.entry(id.clone()).or_default() += 1;
        self.recent.push_back(id);
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Calls `on_line` with each line of `input` (line number from 1, the text without its
/// `\n` or `\r\n`, invalid UTF-8 replaced by U+FFFD), a last line without a line end
/// included. A read error ends the input and is reported on stderr.
fn for_each_line(mut input: impl BufRead, mut on_line: impl FnMut(usize, &str)) {
    let mut line = Vec::new();
    let mut number = 0;
    loop {
        line.clear();
        match input.read_until(b'\n', &mut line) {
            Ok(0) => return,
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                eprintln!("ssekit: reading stdin: {e}");
                return;
            }
        }
        number += 1;
        let text = line.strip_suffix(b"\n").unwrap_or(&line);
        let text = text.strip_suffix(b"\r").unwrap_or(text);
        on_line(number, &String::from_utf8_lossy(text));
    }
}

/// `--format lines`: each line of `input` becomes the data of a `message` event.
pub fn read_lines(input: impl BufRead, publisher: &mut Publisher) {
    for_each_line(input, |_, line| {
        if let Err(e) = publisher.publish("", line, "") {
            eprintln!("ssekit: {e}");
        }
    });
}

/// `--format sse`: `input` is parsed as an event stream as it arrives; each event and
/// retry change is published. Limit errors are reported on stderr.
pub fn read_sse(mut input: impl Read, publisher: &mut Publisher) {
    let mut parser = Parser::new();
    let mut publish = |item: Result<Parsed, ssekit_proto::ParseError>| {
        let result = match item {
            Ok(Parsed::Event(event)) => {
                publisher.publish(event.event_type(), event.data(), event.last_event_id())
            }
            Ok(Parsed::Retry(retry)) => {
                publisher.retry(retry);
                Ok(())
            }
            Err(e) => Err(e.to_string()),
            // `Parsed` is non-exhaustive: an output this version does not know is skipped.
            Ok(_) => Ok(()),
        };
        if let Err(e) = result {
            eprintln!("ssekit: {e}");
        }
    };
    let mut chunk = vec![0; 16 * 1024];
    loop {
        match input.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => parser.feed(&chunk[..n]).for_each(&mut publish),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                eprintln!("ssekit: reading stdin: {e}");
                break;
            }
        }
    }
    parser.finish().for_each(publish);
}

/// `--format json`: each line of `input` is a JSON object; see [`json_event`].
pub fn read_json(input: impl BufRead, publisher: &mut Publisher) {
    for_each_line(input, |number, line| {
        if line.trim().is_empty() {
            return;
        }
        let result = json_event(line).and_then(|event| {
            if let Some(retry) = event.retry {
                publisher.retry(retry);
            }
            match &event.data {
                Some(data) => publisher.publish(&event.event_type, data, &event.id),
                None => Ok(()),
            }
        });
        if let Err(e) = result {
            eprintln!("ssekit: stdin line {number}: {e}");
        }
    });
}

/// One line of `--format json`, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonEvent {
    /// `"event"` (or `"type"`); empty when absent.
    pub event_type: String,
    /// `"data"`: a string as it is, any other value as compact JSON; `None` when absent.
    pub data: Option<String>,
    /// `"id"`: a string or a number; empty when absent.
    pub id: String,
    /// `"retry"`: milliseconds.
    pub retry: Option<Duration>,
}

/// Decodes one line of `--format json`: an object with `"event"` (or `"type"`, as `--json`
/// prints it), `"data"`, `"id"` and `"retry"`, each optional; other keys are ignored.
///
/// ```
/// let event = ssekit_cli::serve::json_event(r#"{"type":"t","data":{"a":[1]},"id":7}"#).unwrap();
/// assert_eq!((event.event_type.as_str(), event.data.as_deref()), ("t", Some(r#"{"a":[1]}"#)));
/// assert_eq!(event.id, "7");
/// assert!(ssekit_cli::serve::json_event("[1]").is_err());
/// assert!(ssekit_cli::serve::json_event(r#"{"event":1}"#).is_err());
/// ```
pub fn json_event(line: &str) -> Result<JsonEvent, String> {
    let value: Value = serde_json::from_str(line).map_err(|e| format!("not JSON: {e}"))?;
    let Value::Object(object) = value else {
        return Err("expected a JSON object".into());
    };
    let text = |key: &str| -> Result<String, String> {
        match object.get(key) {
            None | Some(Value::Null) => Ok(String::new()),
            Some(Value::String(s)) => Ok(s.clone()),
            Some(Value::Number(n)) if key == "id" => Ok(n.to_string()),
            Some(_) => Err(format!("\"{key}\" must be a string")),
        }
    };
    let mut event_type = text("event")?;
    if event_type.is_empty() {
        event_type = text("type")?;
    }
    let data = match object.get("data") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(other) => Some(other.to_string()),
    };
    let retry = match object.get("retry") {
        None | Some(Value::Null) => None,
        Some(value) => Some(Duration::from_millis(
            value
                .as_u64()
                .ok_or("\"retry\" must be a whole number of milliseconds")?,
        )),
    };
    Ok(JsonEvent {
        event_type,
        data,
        id: text("id")?,
        retry,
    })
}

#[derive(Clone)]
struct AppState {
    hub: Hub,
    streams: Shutdown,
    types: Arc<Mutex<BTreeSet<String>>>,
}

async fn events(State(state): State<AppState>, last: LastEventId) -> Sse<HubSubscription> {
    Sse::from_broadcast(&state.hub, &last).shutdown_on(state.streams.signal())
}

/// The page: its listeners cover `message`, `sse-reset` and every type published before it
/// was loaded (a browser's EventSource only delivers the types it listens to).
async fn page(State(state): State<AppState>) -> Html<String> {
    let mut types = vec!["message".to_owned(), "sse-reset".to_owned()];
    types.extend(lock(&state.types).iter().cloned());
    let json = Value::from(types).to_string().replace('<', "\\u003c");
    Html(include_str!("page.html").replace("[/*TYPES*/]", &json))
}

/// Serves stdin as described by `options` until Ctrl-C, SIGTERM or (with `--exit-on-eof`)
/// the end of stdin. Needs a tokio runtime with I/O, timers and signals.
///
/// # Errors
///
/// The address cannot be bound, or the signal handlers cannot be installed.
pub async fn run(options: &ServeOptions) -> io::Result<()> {
    let listener = tokio::net::TcpListener::bind(options.listen)
        .await
        .map_err(|e| io::Error::new(e.kind(), format!("listening on {}: {e}", options.listen)))?;
    let address = listener.local_addr()?;
    let hub = Hub::new();
    let mut publisher = Publisher::new(hub.clone());
    let state = AppState {
        hub: hub.clone(),
        streams: Shutdown::new(),
        types: publisher.types.clone(),
    };
    let (eof_tx, eof_rx) = tokio::sync::oneshot::channel();
    let format = options.format;
    std::thread::spawn(move || {
        let stdin = io::stdin().lock();
        match format {
            InputFormat::Lines => read_lines(stdin, &mut publisher),
            InputFormat::Sse => read_sse(stdin, &mut publisher),
            InputFormat::Json => read_json(stdin, &mut publisher),
        }
        let _ = eof_tx.send(());
    });
    let server_stop = Shutdown::new();
    let loopback = options.listen.ip().is_loopback();
    let pages = Router::new().route("/", get(page));
    let server = match options.engine {
        Engine::Edge => {
            let stream_hub = hub.clone();
            let app = loopback_only(pages.with_state(state.clone()), loopback);
            let edge = Edge::with_config(EdgeConfig::new().head_timeout(options.head_timeout));
            let serve = ssekit_axum::serve(listener, app)
                .edge(edge)
                .stream_route_with("/events", move |request: &RequestInfo| {
                    if loopback && !host_allowed(request.header_value("host")) {
                        return Err(Rejection::Denied(Denied::NotAllowed(
                            "a Host that is not a loopback name".into(),
                        )));
                    }
                    Ok(stream_hub.clone())
                })
                .with_graceful_shutdown(server_stop.signal());
            tokio::spawn(serve.into_future())
        }
        Engine::Axum => {
            let app = pages
                .route("/events", get(events))
                .with_state(state.clone());
            let app = loopback_only(app, loopback);
            tokio::spawn(serve_axum(
                listener,
                app,
                options.head_timeout,
                server_stop.signal(),
            ))
        }
    };
    eprintln!("ssekit: serving on http://{address}/ (the event stream: http://{address}/events)");

    let exit_on_eof = options.exit_on_eof;
    let eof = async move {
        // The reader thread cannot fail to send unless it panicked: end of input either way.
        let _ = eof_rx.await;
        eprintln!("ssekit: end of stdin");
        if !exit_on_eof {
            eprintln!("ssekit: still serving the last events for resumption; Ctrl-C to stop");
            std::future::pending::<()>().await;
        }
    };
    let mut terminate = terminate_signal()?;
    tokio::select! {
        () = eof => {
            // Every stream delivers what the hub holds, then ends.
            hub.close();
        }
        result = tokio::signal::ctrl_c() => {
            result?;
            eprintln!("ssekit: interrupted");
            state.streams.trigger();
        }
        () = terminate.recv() => {
            eprintln!("ssekit: terminated");
            state.streams.trigger();
        }
    }
    server_stop.trigger();
    match tokio::time::timeout(GRACE, server).await {
        Ok(Ok(result)) => result,
        Ok(Err(join)) => Err(io::Error::other(join)),
        Err(_) => {
            eprintln!("ssekit: connections still open after {GRACE:?}; exiting");
            Ok(())
        }
    }
}

/// Serves `app` on hyper-util's HTTP/1.1 + HTTP/2 server, as `axum::serve` does, with a
/// `head_timeout` on request heads, until `stop` resolves.
async fn serve_axum(
    listener: tokio::net::TcpListener,
    app: Router,
    head_timeout: Duration,
    stop: impl std::future::Future<Output = ()>,
) -> io::Result<()> {
    let service = TowerToHyperService::new(app);
    let accept = async {
        loop {
            let Ok((socket, _)) = listener.accept().await else {
                // Out of descriptors: wait instead of spinning.
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            };
            let service = service.clone();
            tokio::spawn(async move {
                let mut builder = auto::Builder::new(TokioExecutor::new());
                builder
                    .http1()
                    .timer(TokioTimer::new())
                    .header_read_timeout(head_timeout);
                let _ = builder
                    .serve_connection_with_upgrades(TokioIo::new(socket), service)
                    .await;
            });
        }
    };
    tokio::select! {
        () = accept => {}
        () = stop => {}
    }
    Ok(())
}

/// Answers `403 Forbidden` to a request whose `Host` is not a loopback name, when `loopback`.
fn loopback_only(app: Router, loopback: bool) -> Router {
    if !loopback {
        return app;
    }
    app.layer(axum::middleware::from_fn(
        |request: axum::extract::Request, next: axum::middleware::Next| async move {
            let host = request
                .headers()
                .get(axum::http::header::HOST)
                .and_then(|v| v.to_str().ok());
            if host_allowed(host) {
                next.run(request).await
            } else {
                (
                    axum::http::StatusCode::FORBIDDEN,
                    "forbidden: a Host that is not a loopback name\n",
                )
                    .into_response()
            }
        },
    ))
}

/// Whether a request's `Host` header names this machine's loopback: `localhost` (or a name
/// under it), `127.x.y.z` or `[::1]`, with or without a port. A request without `Host` (HTTP/1.0)
/// passes: the check is against pages of another site that a DNS rebinding points at
/// 127.0.0.1, and browsers always send `Host`.
///
/// ```
/// use ssekit_cli::serve::host_allowed;
/// assert!(host_allowed(Some("localhost:8845")));
/// assert!(host_allowed(Some("127.0.0.1")));
/// assert!(host_allowed(Some("[::1]:8845")));
/// assert!(host_allowed(None));
/// assert!(!host_allowed(Some("attacker.example:8845")));
/// assert!(!host_allowed(Some("127.0.0.1.attacker.example")));
/// ```
pub fn host_allowed(host: Option<&str>) -> bool {
    let Some(host) = host else {
        return true;
    };
    let name = if let Some(rest) = host.strip_prefix('[') {
        // [v6]:port
        match rest.split_once(']') {
            Some((v6, _)) => {
                return v6
                    .parse::<std::net::Ipv6Addr>()
                    .is_ok_and(|ip| ip.is_loopback());
            }
            None => return false,
        }
    } else {
        host.rsplit_once(':').map_or(host, |(name, _)| name)
    };
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    name == "localhost"
        || name.ends_with(".localhost")
        || name
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// SIGTERM, where there is one.
struct Terminate {
    #[cfg(unix)]
    signal: tokio::signal::unix::Signal,
}

impl Terminate {
    async fn recv(&mut self) {
        #[cfg(unix)]
        self.signal.recv().await;
        #[cfg(not(unix))]
        std::future::pending::<()>().await;
    }
}

fn terminate_signal() -> io::Result<Terminate> {
    Ok(Terminate {
        #[cfg(unix)]
        signal: tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::StreamExt;

    fn published(hub: &Hub) -> Vec<String> {
        let mut subscription = hub.subscribe(Some("0"));
        hub.close();
        let frames = futures_util::FutureExt::now_or_never(async {
            let mut frames = Vec::new();
            while let Some(frame) = subscription.next().await {
                frames.push(String::from_utf8_lossy(&frame).into_owned());
            }
            frames
        });
        // The reset frame for "0" comes first.
        frames.expect("ready").split_off(1)
    }

    #[test]
    fn lines_become_message_events() {
        let hub = Hub::new();
        let mut publisher = Publisher::new(hub.clone());
        read_lines(&b"one\r\n\ntwo \xff\nlast"[..], &mut publisher);
        assert_eq!(
            published(&hub),
            [
                "id: 1\ndata: one\n\n",
                "id: 2\ndata: \n\n",
                "id: 3\ndata: two \u{fffd}\n\n",
                "id: 4\ndata: last\n\n"
            ]
        );
    }

    #[test]
    fn sse_keeps_types_new_ids_and_retry() {
        let hub = Hub::new();
        let mut publisher = Publisher::new(hub.clone());
        let input = "retry: 50\nevent: tick\nid: a\ndata: 1\ndata: 2\n\ndata: x\n\nid: b\ndata: y\n\ndata: cut";
        read_sse(input.as_bytes(), &mut publisher);
        assert_eq!(
            published(&hub),
            [
                "retry: 50\nevent: tick\nid: a\ndata: 1\ndata: 2\n\n",
                "id: 2\ndata: x\n\n",
                "id: b\ndata: y\n\n"
            ]
        );
        assert_eq!(publisher.types(), ["tick"]);
    }

    #[test]
    fn json_lines_take_data_of_any_kind_and_skip_bad_lines() {
        let hub = Hub::new();
        let mut publisher = Publisher::new(hub.clone());
        let input = concat!(
            "{\"event\":\"e\",\"data\":{\"k\":1},\"id\":7}\n",
            "not json\n",
            "{\"retry\":10}\n",
            "\n",
            "{\"type\":\"message\",\"data\":\"a\\nb\",\"id\":\"7\"}\n",
            "{\"event\":\"x\\ny\",\"data\":\"injected?\"}\n",
            "{\"last_event_id\":\"7\"}\n",
        );
        read_json(input.as_bytes(), &mut publisher);
        assert_eq!(
            published(&hub),
            [
                "event: e\nid: 7\ndata: {\"k\":1}\n\n",
                "retry: 10\nid: 2\ndata: a\ndata: b\n\n"
            ]
        );
    }
}
