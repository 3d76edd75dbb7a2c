//! What the deployment tests share: finding the real components (or skipping without them),
//! a real nginx of the test's own, the example binaries as child processes, and a Redis
//! (`conformance::redis_server`, shared with the `ssekit-redis` tests).
//!
//! A missing component (`nginx`, `redis-server`, `chromium`, `chromedriver`) fails the test
//! when `CI=true` and skips it with a message otherwise; `./test.sh` installs them all.

// Each test crate uses a part of this module.
#![allow(dead_code, unused_imports, unreachable_pub)]

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread::sleep;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

pub use conformance::http::{BodyEnd, Request};
pub use conformance::redis_server::{RedisServer, free_port};

/// Directories searched after `PATH` (nginx lives in `/usr/sbin`, not on every user's `PATH`).
const SBIN: [&str; 2] = ["/usr/sbin", "/usr/local/sbin"];

/// The path of `binary`, or `None` after printing why the test is skipped. With `CI=true` a
/// missing binary is a failure instead: CI must not pass by skipping.
pub fn require(binary: &str, debian_package: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let found = std::env::split_paths(&path)
        .chain(SBIN.iter().map(PathBuf::from))
        .map(|dir| dir.join(binary))
        .find(|candidate| candidate.is_file());
    if found.is_some() {
        return found;
    }
    missing(&format!(
        "`{binary}` is not installed: install it with `apt-get install {debian_package}` \
         (./test.sh does)"
    ));
    None
}

/// Something a test needs is missing (`why`): fails the test when `CI=true`, else prints that
/// the test is skipped (the caller returns).
pub fn missing(why: &str) {
    if std::env::var("CI").is_ok_and(|ci| ci == "true") {
        panic!("{why}; CI=true, so this is a failure, not a skip");
    }
    eprintln!("SKIPPED: {why}");
}

/// A fresh, empty directory under the system's temporary directory; removed by [`TempDir`]'s
/// drop.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(what: &str) -> TempDir {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        let dir = std::env::temp_dir().join(format!("sse-{what}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("create a temporary directory");
        TempDir(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Sends `signal` (`TERM`, `KILL`, ...) to process `pid` with `kill(1)`.
pub fn send_signal(pid: u32, signal: &str) {
    let _ = Command::new("kill")
        .args([format!("-{signal}"), pid.to_string()])
        .stderr(Stdio::null())
        .status();
}

/// Waits up to `limit` for `child` to exit; `None` if it is still running.
pub fn wait_exit(child: &mut Child, limit: Duration) -> Option<std::process::ExitStatus> {
    let until = Instant::now() + limit;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        if Instant::now() >= until {
            return None;
        }
        sleep(Duration::from_millis(20));
    }
}

/// Waits up to `limit` until something accepts connections on `addr`.
pub fn wait_listening(addr: SocketAddr, limit: Duration) -> bool {
    let until = Instant::now() + limit;
    while Instant::now() < until {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return true;
        }
        sleep(Duration::from_millis(20));
    }
    false
}

/// The nginx configuration the README's deployment guide shows, as checked in.
pub const NGINX_SITE: &str = include_str!("../../deploy/nginx-sse.conf");

/// A real nginx, run in the foreground by the test with a configuration of its own: pid file,
/// logs and temporary files in a temporary directory. Stopped (`SIGQUIT`, then `SIGKILL`) on
/// drop.
pub struct Nginx {
    child: Child,
    /// Where it listens.
    pub addr: SocketAddr,
    error_log: PathBuf,
    dir: TempDir,
}

impl Nginx {
    /// Starts `nginx` with `site` (the `http`-level configuration: upstreams and servers) and
    /// waits until `addr` accepts connections. `None`: nginx is not installed (see
    /// [`require`]).
    pub fn start(site: &str, addr: SocketAddr) -> Option<Nginx> {
        let nginx = require("nginx", "nginx")?;
        let dir = TempDir::new("nginx");
        let root = dir.path();
        for sub in ["logs", "client_body", "proxy", "fastcgi", "uwsgi", "scgi"] {
            std::fs::create_dir_all(root.join(sub)).expect("nginx directories");
        }
        let error_log = root.join("logs/error.log");
        let conf = format!(
            "worker_processes 1;\n\
             pid {root}/nginx.pid;\n\
             error_log {log} info;\n\
             events {{ worker_connections 256; }}\n\
             http {{\n\
             access_log {root}/logs/access.log;\n\
             client_body_temp_path {root}/client_body;\n\
             proxy_temp_path {root}/proxy;\n\
             fastcgi_temp_path {root}/fastcgi;\n\
             uwsgi_temp_path {root}/uwsgi;\n\
             scgi_temp_path {root}/scgi;\n\
             {site}\n\
             }}\n",
            root = root.display(),
            log = error_log.display(),
        );
        let conf_path = root.join("nginx.conf");
        std::fs::write(&conf_path, conf).expect("write nginx.conf");
        let child = Command::new(nginx)
            .arg("-e")
            .arg(&error_log)
            .arg("-p")
            .arg(root)
            .arg("-c")
            .arg(&conf_path)
            .args(["-g", "daemon off;"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start nginx");
        let mut nginx = Nginx {
            child,
            addr,
            error_log,
            dir,
        };
        if !wait_listening(addr, Duration::from_secs(10)) {
            let exited = nginx.child.try_wait();
            panic!(
                "nginx did not listen on {addr} within 10 s ({exited:?}); error log:\n{}",
                nginx.error_log()
            );
        }
        Some(nginx)
    }

    /// nginx's error log so far.
    pub fn error_log(&self) -> String {
        std::fs::read_to_string(&self.error_log).unwrap_or_default()
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // SIGQUIT is nginx's graceful stop; the worker goes with the master.
        send_signal(self.child.id(), "QUIT");
        if wait_exit(&mut self.child, Duration::from_secs(3)).is_none() {
            send_signal(self.child.id(), "TERM");
            if wait_exit(&mut self.child, Duration::from_secs(2)).is_none() {
                let _ = self.child.kill();
                let _ = self.child.wait();
            }
        }
        let _ = &self.dir;
    }
}

/// One of the example binaries, run as a child process with `PORT=0`: its address is read
/// from the `listening on http(s)://ADDR/` line it prints. Killed on drop.
pub struct Example {
    pub child: Child,
    pub addr: SocketAddr,
    pub name: String,
}

impl Example {
    /// Runs the binary at `path` with `env`, waits (up to 20 s) for its address.
    pub fn start(path: &str, env: &[(&str, String)]) -> Example {
        let name = Path::new(path)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut command = Command::new(path);
        command
            .env("PORT", "0")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for (key, value) in env {
            command.env(key, value);
        }
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("run {path}: {e}"));
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let _ = tx.send(line);
            }
        });
        let until = Instant::now() + Duration::from_secs(20);
        let addr = loop {
            let left = until.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => {
                    if let Some(addr) = listening_addr(&line) {
                        break addr;
                    }
                }
                Err(_) => {
                    let _ = child.kill();
                    panic!("{name} printed no `listening on` line within 20 s");
                }
            }
        };
        Example { child, addr, name }
    }

    /// Sends `SIGTERM` (what systemd, Docker, Kubernetes send) and waits up to `limit` for a
    /// successful exit.
    pub fn terminate(&mut self, limit: Duration) {
        send_signal(self.child.id(), "TERM");
        self.wait_success(limit);
    }

    /// Waits up to `limit` for the process to exit with success.
    pub fn wait_success(&mut self, limit: Duration) {
        match wait_exit(&mut self.child, limit) {
            Some(status) => assert!(status.success(), "{} exited with {status}", self.name),
            None => panic!("{} still running after {limit:?}", self.name),
        }
    }
}

impl Drop for Example {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn listening_addr(line: &str) -> Option<SocketAddr> {
    let rest = line.strip_prefix("listening on ")?;
    let rest = rest
        .strip_prefix("http://")
        .or_else(|| rest.strip_prefix("https://"))?;
    rest.split('/').next()?.parse().ok()
}

/// What an [`SseClient`] reads: an event, or a `retry:` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// A dispatched event: its last event id and its data.
    Event { id: String, data: String },
    /// A `retry:` field.
    Retry(Duration),
}

/// What [`SseClient::next`] returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    Item(Item),
    /// The body ended: completely (the server ended the stream) or cut.
    End(BodyEnd),
    /// Nothing within the time given.
    Timeout,
}

/// An event stream read over HTTP/1.1 with `conformance::http` by a task of its own (so waiting
/// for it with a timeout never loses bytes), parsed with `ssekit_proto::Parser`.
pub struct SseClient {
    /// The response head.
    pub status: u16,
    pub headers: Vec<(String, Vec<u8>)>,
    chunks: tokio::sync::mpsc::UnboundedReceiver<Result<Vec<u8>, BodyEnd>>,
    parser: ssekit_proto::Parser,
    pending: std::collections::VecDeque<Item>,
    ended: Option<BodyEnd>,
    /// Every body byte received so far.
    pub raw: Vec<u8>,
}

impl SseClient {
    /// Sends `request` to `addr`; fails the test when there is no response head within 5 s.
    pub async fn open(addr: SocketAddr, request: Request) -> SseClient {
        let mut response = tokio::time::timeout(Duration::from_secs(5), request.send(addr))
            .await
            .unwrap_or_else(|_| panic!("no response from {addr} within 5 s"))
            .unwrap_or_else(|e| panic!("request to {addr}: {e}"));
        let status = response.status;
        let headers = response.headers.clone();
        let (tx, chunks) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            loop {
                let message = match response.chunk().await {
                    Ok(Some(chunk)) => Ok(chunk),
                    Ok(None) => Err(BodyEnd::Complete),
                    Err(_) => Err(BodyEnd::Aborted),
                };
                let end = message.is_err();
                if tx.send(message).is_err() || end {
                    return;
                }
            }
        });
        SseClient {
            status,
            headers,
            chunks,
            parser: ssekit_proto::Parser::new(),
            pending: Default::default(),
            ended: None,
            raw: Vec::new(),
        }
    }

    /// The first value of response header `name` (lower case), if UTF-8.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .and_then(|(_, v)| std::str::from_utf8(v).ok())
    }

    /// The next event or `retry:`, the end of the body, or [`Next::Timeout`] after `limit`.
    pub async fn next(&mut self, limit: Duration) -> Next {
        let until = tokio::time::Instant::now() + limit;
        loop {
            if let Some(item) = self.pending.pop_front() {
                return Next::Item(item);
            }
            if let Some(end) = self.ended {
                return Next::End(end);
            }
            match tokio::time::timeout_at(until, self.chunks.recv()).await {
                Err(_) => return Next::Timeout,
                Ok(None) => self.ended = Some(BodyEnd::Aborted),
                Ok(Some(Err(end))) => self.ended = Some(end),
                Ok(Some(Ok(chunk))) => {
                    self.raw.extend_from_slice(&chunk);
                    for parsed in self.parser.feed(&chunk) {
                        match parsed {
                            Ok(ssekit_proto::Parsed::Event(event)) => {
                                self.pending.push_back(Item::Event {
                                    id: event.last_event_id().to_owned(),
                                    data: event.data().to_owned(),
                                })
                            }
                            Ok(ssekit_proto::Parsed::Retry(retry)) => {
                                self.pending.push_back(Item::Retry(retry));
                            }
                            _ => {}
                        }
                    }
                }
            }
        }
    }

    /// The next event (skipping `retry:` values); fails the test after `limit` or at the end
    /// of the body.
    pub async fn event(&mut self, limit: Duration) -> (String, String) {
        loop {
            match self.next(limit).await {
                Next::Item(Item::Event { id, data }) => return (id, data),
                Next::Item(Item::Retry(_)) => {}
                other => panic!("expected an event within {limit:?}, got {other:?}"),
            }
        }
    }

    /// How many keep-alive comments (`:` lines) were received.
    pub fn keep_alives(&self) -> usize {
        self.raw
            .split(|b| *b == b'\n')
            .filter(|line| *line == b":")
            .count()
    }

    /// The last event id the stream set.
    pub fn last_event_id(&self) -> &str {
        self.parser.last_event_id()
    }
}
