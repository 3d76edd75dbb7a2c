//! A WebDriver client for the real-browser tests (the examples' pages, ssekit-client's
//! differential test against Chromium's `EventSource`): a `chromedriver` on a free port, one
//! headless Chromium session through it, and the few commands the tests need (new session,
//! navigate, execute script, tabs, screenshot, delete session) over `std::net::TcpStream`,
//! with a timeout on every request; it keeps the browser tests free of an HTTP client stack of
//! their own.
//!
//! Needs `chromium` and `chromedriver` (Debian: `apt-get install chromium chromium-driver`;
//! `./test.sh` installs them). `CHROMIUM` and `CHROMEDRIVER` override the binaries' paths.
//! With `SSE_SKIP_BROWSER=1` the tests are skipped ([`skipped`]); otherwise a missing browser
//! is a failure ([`Browser::start`]), or with [`Browser::start_or_skip`] a failure under
//! `CI=true` and a loud skip elsewhere.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use ssekit_bench::chunked::ChunkedDecoder;

/// The names Chromium goes by on `PATH`.
const CHROMIUM_NAMES: &[&str] = &["chromium", "chromium-browser", "google-chrome"];
/// The name of the driver on `PATH`.
const CHROMEDRIVER_NAMES: &[&str] = &["chromedriver"];

/// How long the driver may take to come up.
const WAIT: Duration = Duration::from_secs(20);

const CHROMIUM_FLAGS: [&str; 9] = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
];

/// True when `SSE_SKIP_BROWSER=1`: the caller prints that it skipped and returns.
pub fn skipped() -> bool {
    std::env::var_os("SSE_SKIP_BROWSER").is_some_and(|v| v == "1")
}

/// Whether this run is CI's (`CI=true`), where a missing browser must fail the test.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
}

/// A chromedriver process and one browser session; both go away on drop.
#[derive(Debug)]
pub struct Browser {
    driver: Child,
    driver_addr: SocketAddr,
    session: String,
    profile: PathBuf,
    driver_log: PathBuf,
}

impl Browser {
    /// Starts chromedriver and a headless Chromium session (fresh profile, no sandbox, no GPU,
    /// no QUIC, no background networking), giving up at `deadline`.
    ///
    /// # Errors
    ///
    /// A message when a binary is missing or the driver or the session does not come up.
    pub fn start(deadline: Instant) -> Result<Browser, String> {
        Browser::start_with_args(deadline, &[])
    }

    /// [`Browser::start`] with more Chromium flags (for example `--ignore-certificate-errors`
    /// for a page served with a self-signed certificate).
    pub fn start_with_args(deadline: Instant, extra: &[&str]) -> Result<Browser, String> {
        let chromium = find_binary("CHROMIUM", CHROMIUM_NAMES)?;
        let chromedriver = find_binary("CHROMEDRIVER", CHROMEDRIVER_NAMES)?;
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
        args.extend(extra.iter().map(|flag| flag.to_string()));
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

    /// [`Browser::start`], or `None` (after printing `SKIPPED: ...` to stderr) when
    /// `SSE_SKIP_BROWSER=1` or when Chromium or chromedriver is not installed, except under
    /// `CI=true`, where a missing browser panics (and `SSE_SKIP_BROWSER` is ignored): CI must
    /// run the browser tests.
    ///
    /// # Panics
    ///
    /// When the browser is installed but does not start, or is missing under `CI=true`.
    pub fn start_or_skip(deadline: Instant, test: &str) -> Option<Browser> {
        if skipped() && !in_ci() {
            eprintln!("SKIPPED: SSE_SKIP_BROWSER=1, {test} did not run");
            return None;
        }
        let missing = ["CHROMIUM", "CHROMEDRIVER"]
            .into_iter()
            .zip([CHROMIUM_NAMES, CHROMEDRIVER_NAMES])
            .filter_map(|(var, names)| find_binary(var, names).err())
            .collect::<Vec<_>>();
        if !missing.is_empty() && !in_ci() {
            eprintln!(
                "SKIPPED: {test} needs Chromium and chromedriver: {}
                 install them (`apt-get install chromium chromium-driver`); under CI=true this                  is a failure",
                missing.join("; ")
            );
            return None;
        }
        match Browser::start(deadline) {
            Ok(browser) => Some(browser),
            Err(e) => panic!(
                "{test}: could not start headless Chromium through chromedriver: {e}
                 install them (`apt-get install chromium chromium-driver`), or set                  SSE_SKIP_BROWSER=1 to skip this test"
            ),
        }
    }

    /// Loads `url` in the current tab (waits for the page load).
    pub fn goto(&self, url: &str) {
        self.command("POST", "url", Some(&json!({ "url": url })));
    }

    /// Runs `script` (a function body; `arguments` are `args`) in the current tab and returns
    /// what it returns.
    pub fn execute(&self, script: &str, args: &[Value]) -> Value {
        let v = self.command(
            "POST",
            "execute/sync",
            Some(&json!({ "script": script, "args": args })),
        );
        v["value"].clone()
    }

    /// The current tab's handle.
    pub fn tab(&self) -> String {
        let v = self.command("GET", "window", None);
        v["value"].as_str().unwrap_or_default().to_owned()
    }

    /// Opens a new tab (not switching to it); returns its handle.
    ///
    /// # Panics
    ///
    /// When the driver gives no handle.
    pub fn new_tab(&self) -> String {
        let v = self.command("POST", "window/new", Some(&json!({ "type": "tab" })));
        v["value"]["handle"]
            .as_str()
            .unwrap_or_else(|| panic!("no handle for the new tab: {v}"))
            .to_owned()
    }

    /// Makes `handle` the current tab.
    pub fn switch_to(&self, handle: &str) {
        self.command("POST", "window", Some(&json!({ "handle": handle })));
    }

    ///
    /// # Panics
    ///
    /// When the screenshot cannot be decoded or written.
    pub fn screenshot(&self, path: &Path) {
        let v = self.command("GET", "screenshot", None);
        let png = decode_base64(v["value"].as_str().unwrap_or_default()).expect("base64 PNG");
        std::fs::write(path, png).expect("write screenshot");
    }

    /// The last lines of chromedriver's log, without the page polling's own commands.
    pub fn driver_log_tail(&self) -> String {
        let log = std::fs::read_to_string(&self.driver_log).unwrap_or_default();
        let lines: Vec<&str> = log
            .lines()
            .filter(|line| line.starts_with('['))
            .filter(|line| !line.contains("ExecuteScript") && !line.contains("pending navigations"))
            .collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    /// A command on the session.
    ///
    /// # Panics
    ///
    /// On a WebDriver error (every browser test wants to stop there).
    pub fn command(&self, method: &str, command: &str, body: Option<&Value>) -> Value {
        let path = format!("/session/{}/{command}", self.session);
        match self.request(method, &path, body) {
            Ok(v) if v["value"].get("error").is_none() => v,
            Ok(v) => panic!("WebDriver {method} {command}: {v}"),
            Err(e) => panic!("WebDriver {method} {command}: {e}"),
        }
    }

    /// One HTTP/1.1 request to chromedriver, on a connection of its own.
    ///
    /// # Errors
    ///
    /// A message when chromedriver cannot be reached or answers with something not JSON.
    pub fn request(&self, method: &str, path: &str, body: Option<&Value>) -> Result<Value, String> {
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
///
/// # Errors
///
/// A message naming what was looked for when none is found.
pub fn find_binary(var: &str, names: &[&str]) -> Result<PathBuf, String> {
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
    if header("transfer-encoding").is_some_and(|te| te.contains("chunked")) {
        let mut decoder = ChunkedDecoder::new();
        let mut body = Vec::new();
        let mut decode = |bytes: &[u8], body: &mut Vec<u8>| {
            decoder
                .decode(bytes, |data| body.extend_from_slice(data))
                .map_err(|e| format!("chunked body: {e}"))
        };
        let mut done = decode(&buf[body_start..], &mut body)?;
        while !done {
            let start = buf.len();
            if !read(&mut buf)? {
                return Err("connection closed inside the chunked body".into());
            }
            done = decode(&buf[start..], &mut body)?;
        }
        return Ok(body);
    }
    while read(&mut buf)? {}
    Ok(buf[body_start..].to_vec())
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
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

#[cfg(test)]
#[test]
fn helpers_decode() {
    assert_eq!(decode_base64("aGVsbG8=").unwrap(), b"hello");
    assert_eq!(decode_base64("aGk=").unwrap(), b"hi");
}
