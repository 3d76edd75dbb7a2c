//! A real browser against the axum clock: headless Chromium, driven over WebDriver.
//!
//! The test starts the clock server in-process on `127.0.0.1:0`, a `chromedriver` on a free
//! port, and Chromium through it; loads `/`; waits until the page shows `readyState` 1, the
//! `connecttime` event and two messages; stops the server; waits until the browser has had a
//! reconnection attempt refused; starts a new server on the same port; and checks that the
//! browser came back by itself with `Last-Event-ID` set to the last id the page had received,
//! and that the ids went on from there.
//!
//! Needs `chromium` and `chromedriver` (Debian: `apt-get install chromium chromium-driver`;
//! `./test.sh` installs them). `CHROMIUM` and `CHROMEDRIVER` override the binaries' paths.
//! With `SSE_SKIP_BROWSER=1` the test is skipped; otherwise a missing browser is a failure.
//! `SSE_BROWSER_SCREENSHOT=/path/to/file.png` saves a screenshot of the page once it has
//! reconnected.
//!
//! The WebDriver client is the few commands the test needs (new session, navigate, execute
//! script, screenshot, delete session) over `std::net::TcpStream`, with a timeout on every
//! request; it keeps the browser test free of an HTTP client stack of its own.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::thread::sleep;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use examples::{Clock, ClockState, SeenIds, clock_axum};
use serde_json::{Value, json};

/// The whole test, start to end, stays under this.
const TEST_BUDGET: Duration = Duration::from_secs(60);
/// One wait for the page (or the driver) to reach a state.
const WAIT: Duration = Duration::from_secs(20);

const CHROMIUM_FLAGS: [&str; 8] = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
];

#[test]
fn browser_shows_the_clock_and_resumes_with_last_event_id() {
    if std::env::var_os("SSE_SKIP_BROWSER").is_some_and(|v| v == "1") {
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

/// A chromedriver process and one browser session; both go away on drop.
struct Browser {
    driver: Child,
    driver_addr: SocketAddr,
    session: String,
    profile: PathBuf,
    driver_log: PathBuf,
}

impl Browser {
    fn start(deadline: Instant) -> Result<Browser, String> {
        let chromium = find_binary(
            "CHROMIUM",
            &["chromium", "chromium-browser", "google-chrome"],
        )?;
        let chromedriver = find_binary("CHROMEDRIVER", &["chromedriver"])?;
        let unique = format!(
            "sse-browser-test-{}-{}",
            std::process::id(),
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default()
                .as_nanos()
        );
        let profile = std::env::temp_dir().join(&unique);
        let driver_log = std::env::temp_dir().join(format!("{unique}-chromedriver.log"));

        // A free port for chromedriver: bind port 0, note the port, let it go.
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("no free port: {e}"))?
            .port();
        let driver = {
            use std::os::unix::process::CommandExt;
            Command::new(&chromedriver)
                .arg(format!("--port={port}"))
                .arg(format!("--log-path={}", driver_log.display()))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                // Its own process group, so Drop can end the browser it starts too.
                .process_group(0)
                .spawn()
                .map_err(|e| format!("cannot run {}: {e}", chromedriver.display()))?
        };
        let mut browser = Browser {
            driver,
            driver_addr: SocketAddr::from(([127, 0, 0, 1], port)),
            session: String::new(),
            profile,
            driver_log,
        };
        // Created once `browser` exists, so its Drop removes it whatever happens next.
        std::fs::create_dir_all(&browser.profile)
            .map_err(|e| format!("{}: {e}", browser.profile.display()))?;

        // Wait until the driver answers /status with ready: true.
        let until = deadline.min(Instant::now() + WAIT);
        loop {
            if let Ok(Some(status)) = browser.driver.try_wait() {
                return Err(format!("chromedriver exited: {status}"));
            }
            match browser.request("GET", "/status", None) {
                Ok(v) if v["value"]["ready"] == Value::Bool(true) => break,
                _ if Instant::now() >= until => {
                    return Err(format!("chromedriver not ready on port {port}"));
                }
                _ => sleep(Duration::from_millis(100)),
            }
        }

        let mut args: Vec<String> = CHROMIUM_FLAGS.iter().map(|s| s.to_string()).collect();
        args.push(format!("--user-data-dir={}", browser.profile.display()));
        args.push("--window-size=900,700".into());
        let capabilities = json!({
            "capabilities": {
                "alwaysMatch": {
                    "browserName": "chrome",
                    "goog:chromeOptions": { "binary": chromium, "args": args },
                    "timeouts": { "script": 5000, "pageLoad": 20000 },
                }
            }
        });
        let response = browser.request("POST", "/session", Some(&capabilities))?;
        browser.session = response["value"]["sessionId"]
            .as_str()
            .ok_or_else(|| format!("no session: {response}"))?
            .to_owned();
        Ok(browser)
    }

    fn goto(&self, url: &str) {
        self.command("POST", "url", Some(&json!({ "url": url })));
    }

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

    fn screenshot(&self, path: &Path) {
        let v = self.command("GET", "screenshot", None);
        let png = decode_base64(v["value"].as_str().unwrap_or_default()).expect("base64 PNG");
        std::fs::write(path, png).expect("write screenshot");
    }

    /// The last lines of chromedriver's log, without the page polling's own commands.
    fn driver_log_tail(&self) -> String {
        let log = std::fs::read_to_string(&self.driver_log).unwrap_or_default();
        let lines: Vec<&str> = log
            .lines()
            .filter(|line| line.starts_with('['))
            .filter(|line| !line.contains("ExecuteScript") && !line.contains("pending navigations"))
            .collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    /// A command on the session; panics on a WebDriver error.
    fn command(&self, method: &str, command: &str, body: Option<&Value>) -> Value {
        let path = format!("/session/{}/{command}", self.session);
        match self.request(method, &path, body) {
            Ok(v) if v["value"].get("error").is_none() => v,
            Ok(v) => panic!("WebDriver {method} {command}: {v}"),
            Err(e) => panic!("WebDriver {method} {command}: {e}"),
        }
    }

    /// One HTTP/1.1 request to chromedriver, on a connection of its own.
    fn request(&self, method: &str, path: &str, body: Option<&Value>) -> Result<Value, String> {
        let body = body.map(Value::to_string).unwrap_or_default();
        let mut stream = TcpStream::connect_timeout(&self.driver_addr, Duration::from_secs(2))
            .map_err(|e| format!("connect to chromedriver: {e}"))?;
        let timeout = Some(Duration::from_secs(30));
        stream
            .set_read_timeout(timeout)
            .map_err(|e| e.to_string())?;
        stream
            .set_write_timeout(timeout)
            .map_err(|e| e.to_string())?;
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.driver_addr,
            body.len()
        );
        stream
            .write_all(request.as_bytes())
            .map_err(|e| format!("send {method} {path}: {e}"))?;
        let payload = read_response(&mut stream).map_err(|e| format!("{method} {path}: {e}"))?;
        serde_json::from_slice(&payload).map_err(|e| {
            format!(
                "{method} {path}: not JSON ({e}): {}",
                String::from_utf8_lossy(&payload)
            )
        })
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Ask politely (chromedriver quits Chromium), then make sure: the driver was started in
        // its own process group, which Chromium's processes inherit.
        if !self.session.is_empty() {
            let path = format!("/session/{}", self.session);
            let _ = self.request("DELETE", &path, None);
        }
        let pgid = self.driver.id();
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{pgid}")])
            .stderr(Stdio::null())
            .status();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
        let _ = std::fs::remove_file(&self.driver_log);
    }
}

/// `$VAR` if set, else the first of `names` found on `PATH`.
fn find_binary(var: &str, names: &[&str]) -> Result<PathBuf, String> {
    if let Some(path) = std::env::var_os(var) {
        return Ok(PathBuf::from(path));
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    names
        .iter()
        .flat_map(|name| std::env::split_paths(&path).map(move |dir| dir.join(name)))
        .find(|candidate| candidate.is_file())
        .ok_or_else(|| format!("none of {names:?} on PATH (or set {var})"))
}

/// Reads one response's body: `Content-Length` (what chromedriver sends), chunked, or up to
/// EOF.
fn read_response(stream: &mut TcpStream) -> Result<Vec<u8>, String> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let mut read = |buf: &mut Vec<u8>| -> Result<bool, String> {
        let n = stream.read(&mut chunk).map_err(|e| format!("read: {e}"))?;
        buf.extend_from_slice(&chunk[..n]);
        Ok(n > 0)
    };
    let split = loop {
        if let Some(split) = find(&buf, b"\r\n\r\n") {
            break split;
        }
        if !read(&mut buf)? {
            return Err("connection closed inside the headers".into());
        }
    };
    let head = String::from_utf8_lossy(&buf[..split]).to_ascii_lowercase();
    let body_start = split + 4;
    let header = |name: &str| {
        head.lines()
            .filter_map(|line| line.split_once(':'))
            .find(|(n, _)| n.trim() == name)
            .map(|(_, v)| v.trim().to_owned())
    };
    if let Some(length) = header("content-length") {
        let length: usize = length.parse().map_err(|_| "bad Content-Length")?;
        while buf.len() < body_start + length {
            if !read(&mut buf)? {
                return Err("connection closed inside the body".into());
            }
        }
        return Ok(buf[body_start..body_start + length].to_vec());
    }
    while read(&mut buf)? {
        if header("transfer-encoding").is_some_and(|te| te.contains("chunked"))
            && buf.ends_with(b"0\r\n\r\n")
        {
            break;
        }
    }
    let body = &buf[body_start..];
    if header("transfer-encoding").is_some_and(|te| te.contains("chunked")) {
        dechunk(body).ok_or_else(|| "bad chunked body".into())
    } else {
        Ok(body.to_vec())
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Decodes a complete chunked HTTP/1.1 body.
fn dechunk(mut body: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = find(body, b"\r\n")?;
        let size_text = std::str::from_utf8(&body[..line_end]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        body = &body[line_end + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(body.get(..size)?);
        body = body.get(size + 2..)?;
    }
}

/// Standard base64 (WebDriver screenshots).
fn decode_base64(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    let (mut acc, mut bits) = (0u32, 0u32);
    for byte in text
        .bytes()
        .filter(|b| !b.is_ascii_whitespace() && *b != b'=')
    {
        let value = match byte {
            b'A'..=b'Z' => byte - b'A',
            b'a'..=b'z' => byte - b'a' + 26,
            b'0'..=b'9' => byte - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        acc = ((acc << 6) | u32::from(value)) & 0xFFFF;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    Some(out)
}

#[test]
fn helpers_decode() {
    assert_eq!(decode_base64("aGVsbG8=").unwrap(), b"hello");
    assert_eq!(decode_base64("aGk=").unwrap(), b"hi");
    assert_eq!(
        dechunk(b"5\r\nhello\r\n1;x=y\r\n!\r\n0\r\n\r\n").unwrap(),
        b"hello!"
    );
}
