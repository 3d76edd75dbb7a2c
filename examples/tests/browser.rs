//! A real browser against the axum clock: headless Chromium, driven over WebDriver.
//!
//! The test starts the clock server in-process on `127.0.0.1:0`, a `chromedriver` on a free
//! port, and Chromium through it; loads `/`; waits until the page shows `readyState` 1, the
//! `connecttime` event and two messages; stops the server; waits until the browser has had a
//! reconnection attempt refused; starts a new server on the same port; and checks that the
//! browser came back by itself with `Last-Event-ID` set to the last id the page had received,
//! and that the ids went on from there.
//!
//! Needs `chromium` and `chromedriver` (see the `webdriver` module, shared with the chat's
//! browser test). With `SSE_SKIP_BROWSER=1` the test is skipped; otherwise a missing browser
//! is a failure. `SSE_BROWSER_SCREENSHOT=/path/to/file.png` saves a screenshot of the page once
//! it has reconnected.

mod webdriver;

use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::sync::Arc;
use std::thread::sleep;
use std::time::{Duration, Instant};

use examples::{Clock, ClockState, SeenIds, clock_axum};
use serde_json::json;
use webdriver::Browser;

/// The whole test, start to end, stays under this.
const TEST_BUDGET: Duration = Duration::from_secs(60);
/// One wait for the page (or the driver) to reach a state.
const WAIT: Duration = Duration::from_secs(20);

#[test]
fn browser_shows_the_clock_and_resumes_with_last_event_id() {
    if webdriver::skipped() {
        eprintln!("SKIPPED: SSE_SKIP_BROWSER=1, the real-browser test did not run");
        return;
    }
    let deadline = Instant::now() + TEST_BUDGET;
    let started = Instant::now();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");

    // A short tick keeps the test quick; the wire format is the same as with the 1 s default.
    // The retry is 500 ms instead of the example's 10 s so the browser comes back quickly after
    // the restart (the page still sees a `retry:` field in the `connecttime` event).
    let clock = Clock {
        tick: Duration::from_millis(200),
        retry: Duration::from_millis(500),
    };
    let first = TestServer::start(&rt, "127.0.0.1:0".parse().expect("addr"), clock);
    let addr = first.addr;
    eprintln!("[{:?}] server on http://{addr}/", started.elapsed());

    let browser = Browser::start(deadline).unwrap_or_else(|e| {
        panic!(
            "could not start headless Chromium through chromedriver: {e}\n\
             install them (`apt-get install chromium chromium-driver`, or run ./test.sh), or \
             set SSE_SKIP_BROWSER=1 to skip this test"
        )
    });
    eprintln!("[{:?}] browser session up", started.elapsed());
    browser.goto(&format!("http://{addr}/"));

    let page = browser.wait_for(deadline, "readyState 1, connecttime, two messages", |p| {
        p.ready_state == 1 && !p.connecttime.is_empty() && p.message_ids.len() >= 2
    });
    eprintln!("[{:?}] connected: {page:?}", started.elapsed());
    assert_eq!(
        first.seen_ids(),
        [None],
        "a first connection has no Last-Event-ID"
    );
    assert!(page.connecttime.ends_with(" UTC"), "{page:?}");
    // Newest first, counting up by one from 1.
    let newest: u64 = page.message_ids[0].parse().expect("numeric id");
    let expected: Vec<String> = (1..=newest).rev().map(|n| n.to_string()).collect();
    assert_eq!(page.message_ids, expected, "{page:?}");
    assert_eq!(page.last_id, page.message_ids[0]);

    // Stop the server: its streams end, it stops listening, the browser starts reconnecting.
    first.stop(&rt, deadline);
    let page = browser.wait_for(deadline, "readyState 0 after the server went away", |p| {
        p.ready_state == 0 && p.errors >= 1
    });
    eprintln!("[{:?}] server stopped: {page:?}", started.elapsed());
    // Nothing can arrive any more: this is the id the browser will send.
    let last_id = page.last_id.clone();
    assert_eq!(Some(&last_id), page.message_ids.first(), "{page:?}");

    // While the port is closed the browser keeps trying (each refused attempt is one more
    // `error` event, readyState stays 0): wait for one such attempt, so the restart below is a
    // real "server was down" recovery and not a race with the first retry.
    let page = browser.wait_for(deadline, "a refused reconnection attempt", |p| {
        p.ready_state == 0 && p.errors >= 2
    });
    eprintln!("[{:?}] still down: {page:?}", started.elapsed());
    assert_eq!(page.last_id, last_id);

    // A new server on the same port: the browser reconnects on its own.
    let second = TestServer::start(&rt, addr, clock);
    let resumed_from: u64 = last_id.parse().expect("numeric id");
    let page = browser.wait_for(deadline, "reconnected, ids going on", |p| {
        p.ready_state == 1
            && p.message_ids
                .first()
                .and_then(|id| id.parse::<u64>().ok())
                .is_some_and(|id| id >= resumed_from + 2)
    });
    eprintln!("[{:?}] reconnected: {page:?}", started.elapsed());
    let seen = second.seen_ids();
    assert_eq!(
        seen.first(),
        Some(&Some(last_id.clone())),
        "the reconnecting browser must send Last-Event-ID: {last_id} (saw {seen:?})"
    );
    let resumed: Vec<String> = page
        .message_ids
        .iter()
        .filter(|id| id.parse::<u64>().is_ok_and(|id| id > resumed_from))
        .cloned()
        .collect();
    let expected: Vec<String> = (resumed_from + 1..=resumed_from + resumed.len() as u64)
        .rev()
        .map(|n| n.to_string())
        .collect();
    assert_eq!(resumed, expected, "ids go on after {last_id}: {page:?}");

    if let Some(path) = std::env::var_os("SSE_BROWSER_SCREENSHOT") {
        browser.screenshot(Path::new(&path));
        eprintln!("screenshot saved to {}", Path::new(&path).display());
    }
    drop(browser);
    second.stop(&rt, deadline);
    eprintln!("[{:?}] done", started.elapsed());
}

/// An axum clock server running on the test's runtime.
struct TestServer {
    addr: SocketAddr,
    state: ClockState,
    seen: SeenIds,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl TestServer {
    fn start(rt: &tokio::runtime::Runtime, addr: SocketAddr, clock: Clock) -> TestServer {
        let listener = bind_retrying(addr);
        let addr = listener.local_addr().expect("local addr");
        let seen = SeenIds::default();
        let state = ClockState::new()
            .with_clock(clock)
            .record_ids(Arc::clone(&seen));
        let task = rt.spawn(clock_axum::serve(listener, state.clone()));
        TestServer {
            addr,
            state,
            seen,
            task,
        }
    }

    fn seen_ids(&self) -> Vec<Option<String>> {
        self.seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Ends every stream, waits for the graceful shutdown (the listener is closed after it).
    fn stop(self, rt: &tokio::runtime::Runtime, deadline: Instant) {
        self.state.shutdown.trigger();
        let left = deadline.saturating_duration_since(Instant::now());
        rt.block_on(async {
            match tokio::time::timeout(left.min(WAIT), self.task).await {
                Ok(Ok(Ok(()))) => {}
                Ok(Ok(Err(e))) => panic!("server failed: {e}"),
                Ok(Err(e)) => panic!("server task failed: {e}"),
                Err(_) => panic!("server did not shut down within {WAIT:?}"),
            }
        });
        assert_eq!(self.state.live_streams(), 0, "every clock stream dropped");
    }
}

/// Binds `addr`; the same port again right after a shutdown may need a moment.
fn bind_retrying(addr: SocketAddr) -> TcpListener {
    let until = Instant::now() + Duration::from_secs(5);
    loop {
        match examples::bind(addr) {
            Ok(listener) => return listener,
            Err(e) if Instant::now() < until => {
                eprintln!("bind {addr}: {e}; retrying");
                sleep(Duration::from_millis(100));
            }
            Err(e) => panic!("cannot bind {addr}: {e}"),
        }
    }
}

/// What the page shows, read from its DOM.
#[derive(Clone, Default)]
struct PageState {
    ready_state: i64,
    connecttime: String,
    /// Newest first.
    message_ids: Vec<String>,
    last_id: String,
    errors: i64,
    text: String,
}

impl std::fmt::Debug for PageState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The whole text is only printed on failure.
        f.debug_struct("Page")
            .field("readyState", &self.ready_state)
            .field("connecttime", &self.connecttime)
            .field("message_ids", &self.message_ids)
            .field("last_id", &self.last_id)
            .field("errors", &self.errors)
            .finish()
    }
}

const READ_PAGE: &str = "
    const text = (sel) => (document.querySelector(sel) || {}).textContent || '';
    return {
        readyState: Number(document.querySelector('#state').dataset.readyState),
        connecttime: text('#connecttime'),
        messageIds: Array.from(document.querySelectorAll('#messages li'), (li) => li.dataset.id),
        lastId: text('#last-id'),
        errors: Number(text('#error-count')),
        text: document.body.innerText,
    };";

/// The clock page's reading of the DOM (the generic WebDriver client is in `webdriver`).
impl Browser {
    fn page(&self) -> PageState {
        let v = self.command(
            "POST",
            "execute/sync",
            Some(&json!({ "script": READ_PAGE, "args": [] })),
        );
        let v = &v["value"];
        let string = |key: &str| v[key].as_str().unwrap_or_default().to_owned();
        PageState {
            ready_state: v["readyState"].as_i64().unwrap_or(-1),
            connecttime: string("connecttime"),
            message_ids: v["messageIds"]
                .as_array()
                .map(|ids| {
                    ids.iter()
                        .map(|id| id.as_str().unwrap_or_default().to_owned())
                        .collect()
                })
                .unwrap_or_default(),
            last_id: string("lastId"),
            errors: v["errors"].as_i64().unwrap_or(-1),
            text: string("text"),
        }
    }

    /// Polls the page until `done` holds; panics (with what the page shows) after [`WAIT`].
    fn wait_for(
        &self,
        deadline: Instant,
        what: &str,
        done: impl Fn(&PageState) -> bool,
    ) -> PageState {
        let until = deadline.min(Instant::now() + WAIT);
        loop {
            let page = self.page();
            if done(&page) {
                return page;
            }
            if Instant::now() >= until {
                panic!(
                    "the page did not reach \"{what}\" in time: {page:?}\n\
                     its text:\n{}\nchromedriver log tail:\n{}",
                    page.text,
                    self.driver_log_tail()
                );
            }
            sleep(Duration::from_millis(100));
        }
    }
}
