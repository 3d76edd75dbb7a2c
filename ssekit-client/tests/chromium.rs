//! ssekit-client against the browser: every scenario below is a scripted HTTP server (per
//! connection attempt: a status and headers, body chunks with pauses, then a cut or a hold),
//! run once through headless Chromium's `EventSource` and once through [`EventSource`]; the
//! two runs must agree on
//!
//! - the dispatched events, in order, with `open` and `error` (type, data, lastEventId; the
//!   ready state at each `error`),
//! - the requests made (method, path, `Accept`, `Last-Event-ID`),
//! - the final ready state,
//! - the reconnection delays (from the end of one response to the next request), within
//!   [`DELAY_SLACK`] plus [`DELAY_SLACK_FRACTION`] of the larger one.
//!
//! Where the standard lets ssekit-client differ, the scenario says so ([`Allow`]) with the
//! reason; the allowed differences are:
//!
//! | scenario | what may differ | why |
//! |---|---|---|
//! | `cut before the response on a reconnect`, `storm of failures before the response` | delays | ssekit-client backs off after repeated failures (50 ms, then up to 100, 200, 400 ms, jittered, see `ReconnectPolicy`); the standard allows it ("if the previous attempt failed, then user agents might introduce an exponential backoff delay"), Chromium waits the plain reconnection time every time |
//! | `307 to a target that cuts`, `redirect loop on a reconnect` | delays | the same backoff after the failed attempt |
//! | `a response head cut by the end of the connection` | everything after that response | HTTP, not EventSource: Chromium takes a response head cut by the end of the connection (no blank line) as complete and opens the stream; hyper (under reqwest) rejects the incomplete message, a network error, and ssekit-client reconnects |
//! | `id holding U+0001` | the reconnection's `Last-Event-ID` | the ID is no valid HTTP header value (RFC 9110, section 5.5): Chromium sends the raw byte, ssekit-client sends the request without the header (documented on `EventSource::last_event_id`) |
//! | `charset other than UTF-8` | everything after the response | Chromium fails a `text/event-stream` response whose `charset` parameter is not `utf-8`; the standard ignores MIME type parameters (an event stream is always UTF-8), and so does ssekit-client |
//! | `an empty retry` | the reconnection delay (and so how many requests fit in the run) | Chromium resets the reconnection time to its 3 s default on a `retry` field with an empty value; the standard sets it only from ASCII digits (an empty value holds no integer) and otherwise ignores the field, as ssekit-proto's parser does |
//!
//! Every other scenario must agree in full. The test prints one line per scenario (and both
//! runs for the allowed differences); `SSE_SCENARIO=text` runs only the scenarios whose name
//! holds `text`.
//!
//! One Chromium (started like the examples' browser tests) serves all scenarios, one page
//! load each; everything listens on 127.0.0.1 port 0 and stops at the end. Without Chromium
//! and chromedriver the test is skipped with a message, except under `CI=true`, where it fails
//! (see [`conformance::webdriver::Browser::start_or_skip`]).

mod support;

use std::sync::{Arc, Mutex};
use std::thread::sleep;
use std::time::{Duration, Instant};

use conformance::webdriver::Browser;
use futures_util::StreamExt;
use serde_json::{Value, json};
use ssekit_client::{EventSource, ReadyState, SseItem};
use support::{Conn, Server};

/// The whole differential test stays under this.
const TEST_BUDGET: Duration = Duration::from_secs(110);
/// One run of one scenario gives up after this (and reports what it saw).
const RUN_LIMIT: Duration = Duration::from_secs(8);
/// A run is over when the ready state is `CLOSED`, or when the server has been idle (no
/// request, no reply being written) this long.
const QUIET: Duration = Duration::from_millis(400);
/// How often the browser's page is read.
const POLL: Duration = Duration::from_millis(15);
/// Reconnection delays agree when they differ by at most this plus [`DELAY_SLACK_FRACTION`]
/// of the larger: the browser is driven over WebDriver on a busy 2-core machine.
const DELAY_SLACK: Duration = Duration::from_millis(80);
/// See [`DELAY_SLACK`].
const DELAY_SLACK_FRACTION: f64 = 0.3;

/// See [`cut`]. Well under the 50 ms reconnection time of the scenarios with cuts.
const RESEND_WINDOW: Duration = Duration::from_millis(25);

/// `retry: 50`, as most scenarios start, so reconnections are quick.
const R50: &str = "retry: 50\n";

// ---------------------------------------------------------------------------------------------
// Scripts.

/// What the server does with one connection attempt.
#[derive(Debug, Clone)]
struct Reply {
    /// The response head, written at once; empty for a [`cut`].
    head: String,
    /// Body chunks, each after a pause.
    chunks: Vec<(Duration, Vec<u8>)>,
    /// Keep the connection open after the last chunk (until the client goes), instead of
    /// closing it.
    hold: bool,
}

impl Reply {
    /// `200 OK`, `Content-Type: {content_type}`, a body that runs until the connection closes.
    fn with_type(content_type: &str, body: impl AsRef<[u8]>) -> Reply {
        Reply {
            head: format!(
                "HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nCache-Control: no-cache\r\n\
                 Connection: close\r\n\r\n"
            ),
            chunks: vec![(Duration::ZERO, body.as_ref().to_vec())],
            hold: false,
        }
    }

    /// A response with no body: `status` (e.g. `"204 No Content"`) and extra header lines.
    fn status(status: &str, headers: &str) -> Reply {
        let length = if status.starts_with("204") {
            ""
        } else {
            "Content-Length: 0\r\n"
        };
        Reply {
            head: format!("HTTP/1.1 {status}\r\n{headers}{length}Connection: close\r\n\r\n"),
            chunks: Vec::new(),
            hold: false,
        }
    }

    /// Then `bytes`, after a pause of `ms` milliseconds.
    fn then(mut self, ms: u64, bytes: impl AsRef<[u8]>) -> Reply {
        self.chunks
            .push((Duration::from_millis(ms), bytes.as_ref().to_vec()));
        self
    }

    /// Whether this is a [`cut`].
    fn is_cut(&self) -> bool {
        self.head.is_empty()
    }

    /// Holds the connection open at the end.
    fn hold(mut self) -> Reply {
        self.hold = true;
        self
    }

    /// The `event:` names in the body, so the page listens for them.
    fn event_types(&self, into: &mut Vec<String>) {
        let body: Vec<u8> = self.chunks.iter().flat_map(|(_, c)| c.clone()).collect();
        let body = String::from_utf8_lossy(&body);
        for line in body.split(['\n', '\r']) {
            if let Some(name) = line.strip_prefix("event:") {
                let name = name.strip_prefix(' ').unwrap_or(name).to_owned();
                if !name.is_empty() && !into.contains(&name) {
                    into.push(name);
                }
            }
        }
    }
}

/// `200 OK` `text/event-stream` with `body`, then the end of the body.
fn sse(body: impl AsRef<[u8]>) -> Reply {
    Reply::with_type("text/event-stream", body)
}

/// A redirect with `status` (e.g. `"307 Temporary Redirect"`) to `location`.
fn redirect(status: &str, location: &str) -> Reply {
    Reply::status(status, &format!("Location: {location}\r\n"))
}

/// The connection is closed right after the request is read, with no response at all: a
/// network error.
///
/// Chromium's network stack sends a request again, once and at once, when a connection it
/// opened ahead of time closes with no response; the server answers such a copy (a request
/// within [`RESEND_WINDOW`] of a cut) with the same cut, and does not count it.
fn cut() -> Reply {
    Reply {
        head: String::new(),
        chunks: Vec::new(),
        hold: false,
    }
}

/// Where ssekit-client may differ from Chromium in a scenario, and why.
#[derive(Debug, Clone, Copy)]
enum Allow {
    /// Nothing: the runs must agree in every respect.
    Nothing,
    /// The reconnection delays may differ (everything else must agree).
    Delays(&'static str),
    /// The `Last-Event-ID` of the requests may differ (everything else must agree).
    LastEventId(&'static str),
    /// The runs may differ once this response is seen; ssekit-client's run must match its own
    /// expectation (`expected`, the log it dispatches).
    Outcome {
        reason: &'static str,
        expected: &'static [&'static str],
    },
}

#[derive(Debug, Clone)]
struct Scenario {
    name: &'static str,
    /// One reply per connection attempt to the stream (`/es...`), in order; attempts past the
    /// end get `204 No Content`, which closes the source for good.
    replies: Vec<Reply>,
    allow: Allow,
    /// How long the server must be idle before the run is over (unless the source is closed).
    quiet: Duration,
}

fn scenario(name: &'static str, replies: Vec<Reply>) -> Scenario {
    Scenario {
        name,
        replies,
        allow: Allow::Nothing,
        quiet: QUIET,
    }
}

impl Scenario {
    fn allow(mut self, allow: Allow) -> Scenario {
        self.allow = allow;
        self
    }

    fn event_types(&self) -> Vec<String> {
        let mut types = vec!["message".to_owned()];
        for reply in &self.replies {
            reply.event_types(&mut types);
        }
        types
    }
}

fn scenarios() -> Vec<Scenario> {
    let backoff = "ssekit-client backs off after repeated failures (the standard allows \
                   exponential backoff after a failed attempt); Chromium waits the reconnection \
                   time each time";
    let mut all = vec![
        // The basics.
        scenario(
            "one event, end, reconnect, 204",
            vec![sse(format!("{R50}data: hello\n\n"))],
        ),
        scenario(
            "types, multi-line data, comments, empty data",
            vec![sse(format!(
                "{R50}: comment\nevent: tick\ndata: one\ndata: two\n\ndata\n\nevent: only-type\n\n\
                 data:  two spaces\n\ndata:no space\nunknown: x\nData: case\n\n"
            ))],
        ),
        scenario(
            "CR and CRLF line ends, a BOM",
            vec![sse(format!(
                "\u{feff}{R50}data: a\r\rdata: b\r\n\r\nevent: x\rdata: c\n\r\n"
            ))],
        ),
        scenario(
            "events held open, then a silent hold",
            vec![
                sse(format!("{R50}data: first\n\n"))
                    .then(150, "data: after a pause\n\n")
                    .hold(),
            ],
        ),
        scenario(
            "reconnect storm: six short streams",
            (1..=6)
                .map(|n| sse(format!("{R50}id: {n}\ndata: {n}\n\n")))
                .collect(),
        ),
        // More redirects.
        scenario(
            "307 to a target that cuts: the reconnection goes to the original URL",
            vec![
                sse(format!("{R50}data: a\n\n")),
                redirect("307 Temporary Redirect", "/es/moved"),
                cut(),
                sse("data: b\n\n"),
            ],
        )
        .allow(Allow::Delays(
            "the failed attempt makes ssekit-client back off the next one",
        )),
        scenario(
            "a chain: 301, then 307 to a relative URL",
            vec![
                redirect("301 Moved Permanently", "/es/one"),
                redirect("307 Temporary Redirect", "two?x=1"),
                sse(format!("{R50}data: here\n\n")),
            ],
        ),
        scenario("302 without Location", vec![Reply::status("302 Found", "")]),
        scenario(
            "redirect loop on a reconnect",
            std::iter::once(sse(format!("{R50}data: a\n\n")))
                .chain((0..21).map(|n| redirect("302 Found", &format!("/es/r{}", n + 1))))
                .collect(),
        )
        .allow(Allow::Delays(
            "after the failed 21st redirect ssekit-client backs off the next attempt like any \
             repeated failure",
        )),
        // Statuses.
        scenario(
            "204 on the first request",
            vec![Reply::status("204 No Content", "")],
        ),
        scenario("404", vec![Reply::status("404 Not Found", "")]),
        scenario(
            "500 on a reconnect",
            vec![
                sse(format!("{R50}data: a\n\n")),
                Reply::status("500 Internal Server Error", ""),
            ],
        ),
        scenario(
            "503 with Retry-After",
            vec![Reply::status(
                "503 Service Unavailable",
                "Retry-After: 0\r\n",
            )],
        ),
        // MIME types.
        scenario(
            "MIME type with charset=utf-8",
            vec![Reply::with_type(
                "text/event-stream; charset=utf-8",
                format!("{R50}data: a\n\n"),
            )],
        ),
        scenario(
            "MIME type in odd case, with parameters",
            vec![Reply::with_type(
                "Text/EVENT-Stream;foo=bar",
                format!("{R50}data: a\n\n"),
            )],
        ),
        scenario(
            "charset other than UTF-8",
            vec![Reply::with_type(
                "text/event-stream; charset=iso-8859-1",
                format!("{R50}data: a\n\n"),
            )],
        )
        .allow(Allow::Outcome {
            reason: "Chromium fails a response whose charset parameter is not utf-8; the \
                     standard ignores MIME type parameters (the stream is always UTF-8), and so \
                     does ssekit-client",
            expected: &["open", "message message a", "error 0", "error 2"],
        }),
        scenario(
            "text/plain",
            vec![Reply::with_type("text/plain", "data: a\n\n")],
        ),
        scenario(
            "no Content-Type",
            vec![Reply {
                head: "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n".to_owned(),
                ..sse("data: a\n\n")
            }],
        ),
        // IDs (issue 13, points 2 and 3).
        scenario(
            "an id in a block without data",
            vec![
                sse(format!("{R50}id: 1\ndata: a\n\nid: 2\n\n")),
                sse("data: b\n\n"),
            ],
        ),
        scenario(
            "an empty id resets",
            vec![
                sse(format!("{R50}id: 1\ndata: a\n\nid\ndata: b\n\n")),
                sse("data: c\n\n"),
            ],
        ),
        scenario(
            "an id with NUL is ignored",
            vec![sse(format!("{R50}id: 1\ndata: a\n\nid: x\0y\ndata: b\n\n"))],
        ),
        scenario(
            "an id in a cut-off event",
            vec![
                sse(format!("{R50}id: 1\ndata: a\n\nid: 2\ndata: cut")),
                sse("data: b\n\n"),
            ],
        ),
        scenario(
            "a non-ASCII id",
            vec![sse(format!("{R50}id: caf\u{e9} \u{2713}\ndata: a\n\n"))],
        ),
        scenario(
            "id holding U+0001",
            vec![
                sse(format!("{R50}id: a\u{1}b\ndata: a\n\n")),
                sse("data: b\n\n"),
            ],
        )
        .allow(Allow::LastEventId(
            "the id is no valid HTTP header value (RFC 9110, 5.5): ssekit-client reconnects \
             without Last-Event-ID (documented on EventSource::last_event_id)",
        )),
        // Retry.
        scenario(
            "retry invalid, then valid, then twice",
            vec![
                sse(format!(
                    "{R50}retry: 1x\ndata: a\n\nretry: -5\nretry: 60.5\n\n"
                )),
                sse("retry: 300\nretry: 80\ndata: b\n\n"),
                sse("retry:  70\nretry: 7 0\ndata: c\n\n"),
            ],
        ),
        scenario(
            "retry: 0 reconnects at once",
            vec![
                sse(format!("{R50}data: a\n\n")),
                sse("retry: 0\ndata: b\n\n"),
            ],
        ),
        scenario(
            "an empty retry",
            vec![sse(format!("{R50}data: a\n\n")), sse("retry\ndata: b\n\n")],
        )
        .allow(Allow::Outcome {
            reason: "Chromium resets the reconnection time to its default (3 s) on a `retry` \
                     field with an empty value; the standard sets it only from a value of ASCII \
                     digits (there is no integer in an empty one) and ignores the field \
                     otherwise, as ssekit-proto's parser does, so ssekit-client reconnects after the \
                     50 ms it had",
            expected: &[
                "open",
                "message message a",
                "error 0",
                "open",
                "message message b",
                "error 0",
                "error 2",
            ],
        }),
        scenario(
            "retry too large for u64 is ignored",
            vec![sse(format!(
                "{R50}retry: 99999999999999999999999\ndata: a\n\n"
            ))],
        ),
        Scenario {
            quiet: Duration::from_millis(600),
            ..scenario(
                "retry huge but valid: no reconnection in sight",
                vec![sse("retry: 86400000\ndata: a\n\n")],
            )
        },
        // Cuts.
        scenario(
            "a cut in the middle of an event",
            vec![
                sse(format!("{R50}data: whole\n\nevent: x\ndata: par")),
                sse("data: next\n\n"),
            ],
        ),
        scenario(
            "a UTF-8 sequence cut across chunks",
            vec![
                sse(format!("{R50}data: caf\u{c3}"))
                    .then(40, [0xa9, b'\n', b'\n'])
                    .then(0, [b'd', b'a', b't', b'a', b':', 0xe2, 0x82])
                    .then(30, [0xac, b'\r'])
                    .then(30, "\n\r\n"),
            ],
        ),
        scenario(
            "invalid UTF-8 and a sequence cut by the end of the stream",
            vec![
                sse([R50.as_bytes(), b"data: a\xff\xc3(\n\ndata: b\xe2\x82"].concat()),
                sse("data: c\n\n"),
            ],
        ),
        scenario(
            "a truncated chunked body",
            vec![Reply {
                head: "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\
                       Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                    .to_owned(),
                ..sse(format!(
                    "1d\r\n{R50}id: 1\ndata: chunk\n\n\r\n20\r\ndata: cu"
                ))
            }],
        ),
        scenario(
            "cut before the response on the first request",
            vec![cut(), sse(format!("{R50}data: a\n\n"))],
        ),
        scenario(
            "cut before the response on a reconnect",
            vec![
                sse(format!("{R50}id: 1\ndata: a\n\n")),
                cut(),
                cut(),
                sse("data: b\n\n"),
            ],
        )
        .allow(Allow::Delays(backoff)),
        scenario(
            "a response head cut by the end of the connection",
            vec![
                sse(format!("{R50}data: a\n\n")),
                Reply {
                    head: "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n".to_owned(),
                    ..cut()
                },
                sse("data: b\n\n"),
            ],
        )
        .allow(Allow::Outcome {
            reason: "HTTP, not EventSource: Chromium takes a response head cut by the end of \
                     the connection (no blank line) as complete and opens the stream; hyper \
                     (under reqwest) rejects the incomplete message, a network error, and \
                     ssekit-client reconnects",
            expected: &[
                "open",
                "message message a",
                "error 0",
                "error 0",
                "open",
                "message message b",
                "error 0",
                "error 2",
            ],
        }),
        scenario(
            "storm of failures before the response",
            vec![sse(format!("{R50}data: a\n\n")), cut(), cut(), cut()],
        )
        .allow(Allow::Delays(backoff)),
    ];
    // Redirects (issue 13, point 1), each status on the first request and on a reconnect: the
    // stream they led to ends, and the next reconnection goes where they led.
    for (status, first, again) in [
        (
            "301 Moved Permanently",
            "301 on the first request",
            "301 on a reconnect",
        ),
        (
            "302 Found",
            "302 on the first request",
            "302 on a reconnect",
        ),
        (
            "303 See Other",
            "303 on the first request",
            "303 on a reconnect",
        ),
        (
            "307 Temporary Redirect",
            "307 on the first request",
            "307 on a reconnect",
        ),
        (
            "308 Permanent Redirect",
            "308 on the first request",
            "308 on a reconnect",
        ),
    ] {
        all.push(scenario(
            first,
            vec![
                redirect(status, "/es/moved"),
                sse(format!("{R50}id: 1\ndata: a\n\n")),
            ],
        ));
        all.push(scenario(
            again,
            vec![
                sse(format!("{R50}id: 1\ndata: a\n\n")),
                redirect(status, "/es/b"),
                sse("id: 2\ndata: b\n\n"),
            ],
        ));
    }
    // Long streams cut at every other chunk boundary, mid-field.
    all.push(scenario(
        "many small chunks with pauses",
        vec![
            sse("ret")
                .then(10, "ry: 5")
                .then(10, "0\nid: 4")
                .then(10, "2\nevent: t")
                .then(10, "ick\nda")
                .then(10, "ta: x\n")
                .then(10, "\n"),
        ],
    ));
    all
}

// ---------------------------------------------------------------------------------------------
// The scripted server.

/// One stream request as the server saw it, with when its reply was done.
#[derive(Debug, Clone)]
struct Attempt {
    request: support::Request,
    /// When the reply was complete: the connection closed, or the held reply fully written.
    done: Option<Instant>,
}

#[derive(Debug, Default)]
struct Log {
    attempts: Vec<Attempt>,
    /// Replies being written right now.
    busy: usize,
    last_activity: Option<Instant>,
}

struct ScriptServer {
    server: Server,
    log: Arc<Mutex<Log>>,
}

const PAGE: &str = "<!doctype html><meta charset=utf-8><title>EventSource</title><body>es";

impl ScriptServer {
    async fn start(scenario: &Scenario) -> ScriptServer {
        let replies = Arc::new(scenario.replies.clone());
        let log = Arc::new(Mutex::new(Log::default()));
        let server = Server::start({
            let log = log.clone();
            move |conn: Conn| serve(conn, replies.clone(), log.clone())
        })
        .await;
        ScriptServer { server, log }
    }

    fn url(&self, path: &str) -> String {
        self.server.url(path)
    }

    /// How long the server has been idle; `None` while a reply is being written, and before
    /// the first request (every scenario has one; a run without stops at [`RUN_LIMIT`]).
    fn idle_for(&self) -> Option<Duration> {
        let log = lock(&self.log);
        match (log.busy, log.last_activity) {
            (0, Some(at)) => Some(at.elapsed()),
            _ => None,
        }
    }

    fn attempts(&self) -> Vec<Attempt> {
        lock(&self.log).attempts.clone()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

async fn serve(mut conn: Conn, replies: Arc<Vec<Reply>>, log: Arc<Mutex<Log>>) {
    if !conn.request.path.starts_with("/es") {
        // The page (and the favicon): not part of the scenario.
        if conn.request.path == "/page" {
            conn.respond("200 OK", "Content-Type: text/html\r\n", PAGE)
                .await;
        } else {
            conn.respond("404 Not Found", "", "").await;
        }
        return;
    }
    let index = {
        let mut log = lock(&log);
        let resent = log.attempts.last().is_some_and(|last| {
            replies
                .get(log.attempts.len() - 1)
                .is_some_and(Reply::is_cut)
                && last.done.is_some_and(|done| done.elapsed() < RESEND_WINDOW)
        });
        if resent {
            // The browser's own resend of the request just cut: cut it again.
            return;
        }
        log.busy += 1;
        log.last_activity = Some(Instant::now());
        log.attempts.push(Attempt {
            request: conn.request.clone(),
            done: None,
        });
        log.attempts.len() - 1
    };
    let reply = replies
        .get(index)
        .cloned()
        .unwrap_or_else(|| Reply::status("204 No Content", ""));
    conn.write(&reply.head).await;
    for (pause, chunk) in &reply.chunks {
        if !pause.is_zero() {
            tokio::time::sleep(*pause).await;
        }
        conn.write(chunk).await;
    }
    let finish = |log: &Mutex<Log>| {
        let mut log = lock(log);
        log.busy -= 1;
        log.last_activity = Some(Instant::now());
        log.attempts[index].done = Some(Instant::now());
    };
    if reply.hold {
        finish(&log);
        conn.hold().await;
    } else {
        // Closing the connection ends the body (or cuts the response).
        drop(conn);
        finish(&log);
    }
}

// ---------------------------------------------------------------------------------------------
// What a run shows.

/// What one run (browser or ssekit-client) showed.
#[derive(Debug, Clone, PartialEq)]
struct Observed {
    /// `open`, `message TYPE DATA ID` (as JSON strings for the odd bytes), `error READYSTATE`.
    log: Vec<String>,
    /// `METHOD PATH accept=... last-event-id=...` per stream request.
    requests: Vec<String>,
    ready_state: i64,
    /// From the end of each reply to the next request.
    delays: Vec<Duration>,
    /// The run hit [`RUN_LIMIT`].
    timed_out: bool,
}

fn message_entry(event_type: &str, data: &str, id: &str) -> String {
    let quoted = |s: &str| {
        if s.bytes().all(|b| b.is_ascii_graphic()) && !s.is_empty() {
            s.to_owned()
        } else {
            Value::from(s).to_string()
        }
    };
    format!(
        "message {} {} {}",
        quoted(event_type),
        quoted(data),
        quoted(id)
    )
    .trim_end_matches(" \"\"")
    .to_owned()
}

fn observed(
    server: &ScriptServer,
    log: Vec<String>,
    ready_state: i64,
    timed_out: bool,
) -> Observed {
    let attempts = server.attempts();
    let requests = attempts
        .iter()
        .map(|a| {
            let r = &a.request;
            format!(
                "{} {} accept={:?} last-event-id={:?}",
                r.method,
                r.path,
                r.header("accept").unwrap_or_default(),
                r.header("last-event-id"),
            )
        })
        .collect();
    let delays = attempts
        .windows(2)
        .map(|w| match w[0].done {
            Some(done) => w[1].request.at.saturating_duration_since(done),
            None => Duration::ZERO,
        })
        .collect();
    Observed {
        log,
        requests,
        ready_state,
        delays,
        timed_out,
    }
}

/// Whether a run is over: the source is closed, or the server has been idle for `quiet`.
fn over(server: &ScriptServer, ready_state: i64, quiet: Duration) -> bool {
    ready_state == 2 || server.idle_for().is_some_and(|idle| idle >= quiet)
}

// ---------------------------------------------------------------------------------------------
// The two runs.

/// Opens the EventSource in the page and logs what it dispatches.
const OPEN: &str = "
    const [url, types] = arguments;
    const log = [];
    const es = new EventSource(url);
    window.__sse = { es, log };
    es.onopen = () => log.push(['open']);
    es.onerror = () => log.push(['error', es.readyState]);
    for (const type of types) {
        es.addEventListener(type, (e) => log.push(['message', e.type, e.data, e.lastEventId]));
    }";

const READ: &str = "
    const { es, log } = window.__sse;
    return [log, es.readyState];";

fn run_chromium(browser: &Browser, rt: &tokio::runtime::Runtime, scenario: &Scenario) -> Observed {
    let server = rt.block_on(ScriptServer::start(scenario));
    browser.goto(&server.url("/page"));
    let start = Instant::now();
    browser.execute(OPEN, &[json!("/es"), json!(scenario.event_types())]);
    let (log, ready_state, timed_out) = loop {
        sleep(POLL);
        let v = browser.execute(READ, &[]);
        let ready_state = v[1].as_i64().unwrap_or(-1);
        let timed_out = start.elapsed() >= RUN_LIMIT;
        if over(&server, ready_state, scenario.quiet) || timed_out {
            break (v[0].clone(), ready_state, timed_out);
        }
    };
    browser.execute("window.__sse.es.close();", &[]);
    let log = log
        .as_array()
        .map(|entries| entries.iter().map(browser_entry).collect())
        .unwrap_or_default();
    observed(&server, log, ready_state, timed_out)
}

fn browser_entry(entry: &Value) -> String {
    let text = |i: usize| entry[i].as_str().unwrap_or_default().to_owned();
    match entry[0].as_str() {
        Some("open") => "open".to_owned(),
        Some("error") => format!("error {}", entry[1].as_i64().unwrap_or(-1)),
        Some("message") => message_entry(&text(1), &text(2), &text(3)),
        _ => format!("unexpected {entry}"),
    }
}

fn run_client(rt: &tokio::runtime::Runtime, scenario: &Scenario) -> Observed {
    rt.block_on(async {
        let server = ScriptServer::start(scenario).await;
        let types = scenario.event_types();
        let mut source = EventSource::new(server.url("/es")).expect("a valid URL");
        let handle = source.handle();
        let start = Instant::now();
        let mut log = Vec::new();
        let timed_out = loop {
            match tokio::time::timeout(POLL, source.next()).await {
                Ok(Some(Ok(SseItem::Open))) => log.push("open".to_owned()),
                Ok(Some(Ok(SseItem::Message(m)))) if types.iter().any(|t| t == m.event_type()) => {
                    log.push(message_entry(m.event_type(), m.data(), m.last_event_id()));
                }
                Ok(Some(Ok(_))) => {}
                Ok(Some(Err(error))) => {
                    let state = source.ready_state() as i64;
                    assert_eq!(
                        error.is_fatal(),
                        state == 2,
                        "{}: is_fatal() of {error:?} disagrees with the ready state {state}",
                        scenario.name
                    );
                    log.push(format!("error {state}"));
                }
                Ok(None) | Err(_) => {}
            }
            if over(&server, handle.ready_state() as i64, scenario.quiet) {
                break false;
            }
            if start.elapsed() >= RUN_LIMIT {
                break true;
            }
        };
        let ready_state = source.ready_state() as i64;
        source.close();
        assert_eq!(handle.ready_state(), ReadyState::Closed);
        observed(&server, log, ready_state, timed_out)
    })
}

// ---------------------------------------------------------------------------------------------
// Comparing.

fn delays_agree(browser: &[Duration], client: &[Duration]) -> bool {
    browser.len() == client.len()
        && browser.iter().zip(client).all(|(&b, &c)| {
            let slack = DELAY_SLACK + b.max(c).mul_f64(DELAY_SLACK_FRACTION);
            b.abs_diff(c) <= slack
        })
}

/// The differences between the runs that the scenario does not allow.
fn differences(scenario: &Scenario, browser: &Observed, client: &Observed) -> Vec<String> {
    let mut out = Vec::new();
    if client.timed_out {
        out.push(format!(
            "ssekit-client's run did not end within {RUN_LIMIT:?}"
        ));
    }
    if browser.timed_out {
        out.push(format!("Chromium's run did not end within {RUN_LIMIT:?}"));
    }
    if let Allow::Outcome { expected, .. } = scenario.allow {
        if client.log != expected {
            out.push(format!(
                "ssekit-client's log {:?}, expected {expected:?}",
                client.log
            ));
        }
        return out;
    }
    if browser.log != client.log {
        out.push(format!(
            "events: Chromium {:?}, ssekit-client {:?}",
            browser.log, client.log
        ));
    }
    let without_id = |requests: &[String]| -> Vec<String> {
        requests
            .iter()
            .map(|r| {
                r.split(" last-event-id=")
                    .next()
                    .unwrap_or_default()
                    .to_owned()
            })
            .collect()
    };
    let requests_differ = match scenario.allow {
        Allow::LastEventId(_) => without_id(&browser.requests) != without_id(&client.requests),
        _ => browser.requests != client.requests,
    };
    if requests_differ {
        out.push(format!(
            "requests: Chromium {:#?}, ssekit-client {:#?}",
            browser.requests, client.requests
        ));
    }
    if browser.ready_state != client.ready_state {
        out.push(format!(
            "final readyState: Chromium {}, ssekit-client {}",
            browser.ready_state, client.ready_state
        ));
    }
    let delays_ok = delays_agree(&browser.delays, &client.delays);
    match scenario.allow {
        Allow::Delays(_) => {
            // Backoff only ever waits longer than the browser.
            let sooner = browser
                .delays
                .iter()
                .zip(&client.delays)
                .any(|(&b, &c)| c + DELAY_SLACK < b);
            if sooner {
                out.push(format!(
                    "delays: ssekit-client reconnected sooner than Chromium: {:?} vs {:?}",
                    client.delays, browser.delays
                ));
            }
        }
        _ if !delays_ok => out.push(format!(
            "delays: Chromium {:?}, ssekit-client {:?}",
            browser.delays, client.delays
        )),
        _ => {}
    }
    out
}

#[test]
fn ssekit_client_matches_chromium_eventsource() {
    let test_start = Instant::now();
    let deadline = test_start + TEST_BUDGET;
    let Some(browser) = Browser::start_or_skip(deadline, "the Chromium differential test") else {
        return;
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let mut scenarios = scenarios();
    assert!(scenarios.len() >= 30, "{} scenarios", scenarios.len());
    // `SSE_SCENARIO=text` runs only the scenarios whose name holds `text` (for debugging).
    if let Ok(only) = std::env::var("SSE_SCENARIO") {
        scenarios.retain(|s| s.name.contains(&only));
    }
    let mut failures = Vec::new();
    for scenario in &scenarios {
        assert!(
            Instant::now() < deadline,
            "the differential test ran out of its {TEST_BUDGET:?} budget at {:?}",
            scenario.name
        );
        let started = Instant::now();
        let chromium = run_chromium(&browser, &rt, scenario);
        let client = run_client(&rt, scenario);
        let found = differences(scenario, &chromium, &client);
        let status = match (&found[..], scenario.allow) {
            ([_, ..], _) => "DIFFERS",
            ([], Allow::Nothing) => "same",
            ([], _) => "same, up to an allowed difference",
        };
        eprintln!(
            "[{:>6.2}s] {:<55} {status} ({:.2}s)",
            test_start.elapsed().as_secs_f64(),
            scenario.name,
            started.elapsed().as_secs_f64()
        );
        match scenario.allow {
            Allow::Nothing => {}
            Allow::Delays(reason) | Allow::LastEventId(reason) | Allow::Outcome { reason, .. } => {
                eprintln!("          allowed: {reason}");
                if chromium != client {
                    eprintln!(
                        "          Chromium:   {chromium:?}\n          ssekit-client: {client:?}"
                    );
                }
            }
        }
        if !found.is_empty() {
            failures.push(format!(
                "{}:\n  {}\n  Chromium:   {chromium:?}\n  ssekit-client: {client:?}",
                scenario.name,
                found.join("\n  ")
            ));
        }
    }
    drop(browser);
    rt.shutdown_timeout(Duration::from_secs(2));
    eprintln!(
        "{} scenarios in {:.1}s",
        scenarios.len(),
        test_start.elapsed().as_secs_f64()
    );
    assert!(
        failures.is_empty(),
        "{} of {} scenarios differ from Chromium:\n{}",
        failures.len(),
        scenarios.len(),
        failures.join("\n\n")
    );
}
