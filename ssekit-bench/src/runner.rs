use std::fmt;
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use ssekit_proto::{ParsedRef, Parser};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::Semaphore;

use crate::chunked::{ChunkedDecoder, ChunkedError};
use crate::latency::{send_time_us, unix_micros};

/// The largest response head accepted (status line and headers).
const MAX_HEAD: usize = 16 * 1024;

/// Connect attempts per connection before it counts as a failure.
const CONNECT_ATTEMPTS: u32 = 8;

/// The receive buffer asked for on `--stalled` connections, so the server's writes to them
/// block after a few KiB instead of filling the kernel's default buffers first.
const STALLED_RCVBUF: u32 = 4096;

thread_local! {
    /// The one read buffer of the runtime's thread: a connection reads into it when its socket
    /// is readable and parses what it read before it awaits again, so 10 000 connections
    /// need no 10 000 buffers.
    static READ_BUFFER: std::cell::RefCell<Vec<u8>> = std::cell::RefCell::new(vec![0; 64 * 1024]);
}

/// How long a stalled connection is drained at the end to learn whether the server ended it
/// (it may have megabytes in the kernel's buffers to read first).
pub const DRAIN: Duration = Duration::from_secs(4);

/// The event type a resumable hub sends when events were lost (counted apart).
const RESET_EVENT: &str = "sse-reset";

/// What a run does: where it connects, how many connections, for how long. [`Options::new`]
/// gives the defaults `ssekit bench` has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// The `http://HOST:PORT/PATH` URL (`https://` is not supported).
    pub url: String,
    /// How many connections to open (default 100).
    pub connections: usize,
    /// How long the run lasts, from its start (default 10 s).
    pub duration: Duration,
    /// At most this many connections between starting to connect and receiving the response
    /// head (default 64).
    pub connect_concurrency: usize,
    /// Sent as `Last-Event-ID` on every connection (default none).
    pub last_event_id: Option<String>,
    /// A connection closes after receiving this many events; the run ends when every
    /// connection is done (default none: no limit).
    pub events: Option<u64>,
    /// This many of the connections (the last ones) read the response head, then nothing
    /// until [`DRAIN`] before the end of the run (a client that does not drain); the report
    /// tells how many of them the server ended (default 0).
    pub stalled: usize,
    /// Local addresses the connections are made from, in turn (default none: the system
    /// picks). A client address has about 28 000 ports to connect from (the kernel's
    /// `ip_local_port_range`), so beyond that many connections to one server give several:
    /// on loopback `127.0.0.2`, `127.0.0.3`, ... all work without any setting.
    pub sources: Vec<std::net::IpAddr>,
}

impl Options {
    /// The defaults for `url`: 100 connections for 10 s, 64 connecting at once.
    pub fn new(url: impl Into<String>) -> Options {
        Options {
            url: url.into(),
            connections: 100,
            duration: Duration::from_secs(10),
            connect_concurrency: 64,
            last_event_id: None,
            events: None,
            stalled: 0,
            sources: Vec::new(),
        }
    }

    /// Checks the options [`run`] would refuse: the URL (`http://HOST[:PORT][/PATH]`), zero
    /// connections, duration or concurrency, more stalled connections than connections, a
    /// `last_event_id` with CR, LF or NUL.
    ///
    /// ```
    /// use ssekit_bench::Options;
    ///
    /// assert!(Options::new("http://127.0.0.1:8845/events").check().is_ok());
    /// assert!(Options::new("https://127.0.0.1/").check().is_err());
    /// let too_many = Options { stalled: 101, ..Options::new("http://h/") };
    /// assert!(too_many.check().is_err());
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Options`], saying what is wrong.
    pub fn check(&self) -> Result<(), Error> {
        Target::parse(&self.url).map_err(Error::Options)?;
        let bad = |what: &str| Err(Error::Options(what.to_owned()));
        if self.connections == 0 {
            return bad("connections: at least 1");
        }
        if self.connect_concurrency == 0 {
            return bad("connect concurrency: at least 1");
        }
        if self.duration.is_zero() {
            return bad("duration: above 0");
        }
        if self.events == Some(0) {
            return bad("events: at least 1");
        }
        if self
            .last_event_id
            .as_ref()
            .is_some_and(|id| id.contains(['\r', '\n', '\0']))
        {
            return bad("last event id: CR, LF and NUL cannot be sent");
        }
        if let Some(target) = Target::parse(&self.url).ok().and_then(|t| t.is_ipv4())
            && self.sources.iter().any(|source| source.is_ipv4() != target)
        {
            return bad("sources: of the server address's family (IPv4 or IPv6)");
        }
        if self.stalled > self.connections {
            return Err(Error::Options(format!(
                "{} stalled connections are more than the {} connections",
                self.stalled, self.connections
            )));
        }
        Ok(())
    }
}

/// Why a run could not happen.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The options are unusable ([`Options::check`]).
    Options(String),
    /// The URL's host could not be resolved to an address.
    Resolve(String),
    /// A connection's task failed (panicked or was cancelled).
    Task(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Options(what) | Error::Resolve(what) | Error::Task(what) => f.write_str(what),
        }
    }
}

impl std::error::Error for Error {}

/// Where the connections go: the parts of an `http://` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Target {
    host: String,
    port: u16,
    path: String,
}

impl Target {
    /// Whether the host is an IPv4 address (`Some(true)`), IPv6 (`Some(false)`) or a name.
    fn is_ipv4(&self) -> Option<bool> {
        let host = self.host.trim_start_matches('[').trim_end_matches(']');
        host.parse::<std::net::IpAddr>().ok().map(|ip| ip.is_ipv4())
    }

    fn parse(url: &str) -> Result<Target, String> {
        let rest = url
            .get(..7)
            .filter(|scheme| scheme.eq_ignore_ascii_case("http://"))
            .map(|_| &url[7..])
            .ok_or_else(|| format!("bench takes an http:// URL, got {url:?}"))?;
        let (authority, path) = match rest.find(['/', '?']) {
            Some(i) if rest[i..].starts_with('/') => (&rest[..i], rest[i..].to_owned()),
            Some(i) => (&rest[..i], format!("/{}", &rest[i..])),
            None => (rest, "/".to_owned()),
        };
        if authority.contains('@') || path.contains(char::is_whitespace) {
            return Err(format!("unsupported URL {url:?}"));
        }
        let (host, port) = match authority.rsplit_once(':') {
            Some((host, port)) if !host.ends_with(']') || authority.starts_with('[') => {
                let port = port
                    .parse::<u16>()
                    .map_err(|_| format!("bad port in {url:?}"))?;
                (host, port)
            }
            _ => (authority, 80),
        };
        if host.is_empty() {
            return Err(format!("no host in {url:?}"));
        }
        Ok(Target {
            host: host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_owned(),
            port,
            path,
        })
    }

    fn request(&self, last_event_id: Option<&str>) -> Vec<u8> {
        let host = if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        };
        let mut request = format!(
            "GET {} HTTP/1.1\r\nHost: {host}\r\nAccept: text/event-stream\r\nCache-Control: no-cache\r\n",
            self.path
        );
        if let Some(id) = last_event_id {
            request.push_str(&format!("Last-Event-ID: {id}\r\n"));
        }
        request.push_str("\r\n");
        request.into_bytes()
    }
}

/// Counters a run updates as it goes, for a caller watching it from another thread, and a
/// way to end the run early ([`Progress::stop`]).
#[derive(Debug)]
pub struct Progress {
    connected: AtomicUsize,
    done: AtomicUsize,
    events: AtomicU64,
    stop: tokio::sync::watch::Sender<bool>,
}

impl Default for Progress {
    fn default() -> Self {
        Progress {
            connected: AtomicUsize::new(0),
            done: AtomicUsize::new(0),
            events: AtomicU64::new(0),
            stop: tokio::sync::watch::channel(false).0,
        }
    }
}

impl Progress {
    /// Connections that received their response head so far.
    pub fn connected(&self) -> usize {
        self.connected.load(Ordering::Relaxed)
    }

    /// Connections that finished (ended, failed or stopped).
    pub fn done(&self) -> usize {
        self.done.load(Ordering::Relaxed)
    }

    /// Events received so far, over all connections.
    pub fn events(&self) -> u64 {
        self.events.load(Ordering::Relaxed)
    }

    /// Ends the run now, as if its duration had run out (from any thread).
    pub fn stop(&self) {
        self.stop.send_replace(true);
    }
}

/// How one connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    /// The run's duration ran out (or `--events` was reached) with the stream still open.
    Open,
    /// The server ended the stream (or reset the connection) after the response head.
    Ended,
    /// No response: connect failures, a status other than 200, a bad head.
    Failed,
}

/// What one connection saw.
#[derive(Debug)]
struct ConnectionStats {
    end: End,
    error: Option<String>,
    stalled: bool,
    events: u64,
    resets: u64,
    connect: Option<Duration>,
    first_event: Option<Duration>,
    latencies_us: Vec<u64>,
}

/// The result of a run.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// Connections asked for.
    pub connections: usize,
    /// Of them, the ones that got a `200` response head.
    pub connected: usize,
    /// Connections that got no usable response (connect failed after retries, another
    /// status than 200, a bad response head).
    pub failures: usize,
    /// Connections the server ended (end of body, reset) before the run ended, not counting
    /// stalled ones.
    pub ended_by_server: usize,
    /// `--stalled` connections.
    pub stalled: usize,
    /// Of them, the ones the server had ended by the end of the run.
    pub stalled_ended: usize,
    /// Events received by the reading connections (reset events not included).
    pub events: u64,
    /// `sse-reset` events received (a hub signalling lost events).
    pub resets: u64,
    /// Reading connections that received at least one `sse-reset` event.
    pub reset_connections: usize,
    /// Reading connections that received fewer events than the most any connection
    /// received, and no `sse-reset` event: a loss nobody told them of, when every
    /// connection was sent the same events.
    pub short_without_reset: usize,
    /// Events per reading connection: min, mean, max.
    pub per_connection: (u64, f64, u64),
    /// How long the run took.
    pub elapsed: Duration,
    /// Delivery latency of the timed events (see [`crate::latency`]), in microseconds.
    pub latency_us: Option<Percentiles>,
    /// Time from the first connect attempt to the response head, in microseconds.
    pub connect_us: Option<Percentiles>,
    /// Time from the first connect attempt to the first event, in microseconds.
    pub first_event_us: Option<Percentiles>,
    /// The first few distinct errors, with how often each happened.
    pub errors: Vec<(String, usize)>,
}

/// p50, p99 and the maximum of a set of measurements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Percentiles {
    /// How many measurements.
    pub count: usize,
    /// The median.
    pub p50: u64,
    /// The 99th percentile.
    pub p99: u64,
    /// The largest.
    pub max: u64,
}

impl Percentiles {
    /// The percentiles of `values` (sorted in place); `None` when it is empty.
    pub fn of(values: &mut [u64]) -> Option<Percentiles> {
        if values.is_empty() {
            return None;
        }
        values.sort_unstable();
        let at =
            |q: f64| values[((values.len() as f64 * q).ceil() as usize).clamp(1, values.len()) - 1];
        Some(Percentiles {
            count: values.len(),
            p50: at(0.50),
            p99: at(0.99),
            max: values[values.len() - 1],
        })
    }

    fn json(this: &Option<Percentiles>) -> Value {
        match this {
            Some(p) => json!({"count": p.count, "p50": p.p50, "p99": p.p99, "max": p.max}),
            None => Value::Null,
        }
    }
}

impl Report {
    /// Events per second over the run, over all reading connections.
    pub fn events_per_second(&self) -> f64 {
        self.events as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// The report as one JSON object (durations in microseconds).
    pub fn json(&self) -> Value {
        json!({
            "connections": self.connections,
            "connected": self.connected,
            "failures": self.failures,
            "ended_by_server": self.ended_by_server,
            "stalled": self.stalled,
            "stalled_ended": self.stalled_ended,
            "events": self.events,
            "resets": self.resets,
            "reset_connections": self.reset_connections,
            "short_without_reset": self.short_without_reset,
            "events_per_second": self.events_per_second(),
            "per_connection": {
                "min": self.per_connection.0,
                "avg": self.per_connection.1,
                "max": self.per_connection.2,
            },
            "elapsed_us": self.elapsed.as_micros() as u64,
            "latency_us": Percentiles::json(&self.latency_us),
            "connect_us": Percentiles::json(&self.connect_us),
            "first_event_us": Percentiles::json(&self.first_event_us),
            "errors": self.errors.iter().map(|(e, n)| json!({"error": e, "count": n})).collect::<Vec<_>>(),
        })
    }

    /// The report as a readable table.
    pub fn table(&self) -> String {
        fn row(out: &mut String, name: &str, p: &Option<Percentiles>) {
            match p {
                Some(p) => out.push_str(&format!(
                    "{name:<16} {:>10} {:>10} {:>10}   (n = {})\n",
                    ms(p.p50),
                    ms(p.p99),
                    ms(p.max),
                    p.count
                )),
                None => out.push_str(&format!("{name:<16} {:>10} {:>10} {:>10}\n", "-", "-", "-")),
            }
        }
        let mut out = String::new();
        out.push_str(&format!(
            "connections      {} asked, {} connected, {} failed, {} ended by the server\n",
            self.connections, self.connected, self.failures, self.ended_by_server
        ));
        if self.stalled > 0 {
            out.push_str(&format!(
                "stalled          {} never read, {} of them ended by the server\n",
                self.stalled, self.stalled_ended
            ));
        }
        out.push_str(&format!(
            "events           {} in {:.2} s: {:.0} events/s\n",
            self.events,
            self.elapsed.as_secs_f64(),
            self.events_per_second()
        ));
        out.push_str(&format!(
            "per connection   min {}  avg {:.1}  max {}\n",
            self.per_connection.0, self.per_connection.1, self.per_connection.2
        ));
        out.push_str(&format!(
            "resets           {} sse-reset events on {} connections; {} got fewer events than the most and no reset\n",
            self.resets, self.reset_connections, self.short_without_reset
        ));
        out.push_str(&format!(
            "{:<16} {:>10} {:>10} {:>10}\n",
            "(ms)", "p50", "p99", "max"
        ));
        row(&mut out, "latency", &self.latency_us);
        row(&mut out, "connect", &self.connect_us);
        row(&mut out, "first event", &self.first_event_us);
        for (error, count) in &self.errors {
            out.push_str(&format!("error ({count}x)     {error}\n"));
        }
        out
    }
}

fn ms(us: u64) -> String {
    format!("{:.3}", us as f64 / 1000.0)
}

/// Runs the benchmark described by `options` on the current tokio runtime (one connection a
/// task) and returns what was measured. The connections are opened in order, at most
/// [`Options::connect_concurrency`] at a time; the last [`Options::stalled`] of them
/// never read.
///
/// ```no_run
/// # async fn demo() -> Result<(), ssekit_bench::Error> {
/// use std::sync::Arc;
/// use std::time::Duration;
///
/// let options = ssekit_bench::Options {
///     connections: 1000,
///     duration: Duration::from_secs(5),
///     ..ssekit_bench::Options::new("http://127.0.0.1:8845/events")
/// };
/// let report = ssekit_bench::run(&options, Arc::default()).await?;
/// print!("{}", report.table());
/// println!("{}", report.json());
/// # Ok(())
/// # }
/// ```
///
/// # Errors
///
/// [`Error::Options`] when [`Options::check`] fails, [`Error::Resolve`] when the host has no
/// address, [`Error::Task`] when a connection's task failed. Connection failures are not
/// errors: they are in the [`Report`].
pub async fn run(options: &Options, progress: Arc<Progress>) -> Result<Report, Error> {
    options.check()?;
    let target = Target::parse(&options.url).map_err(Error::Options)?;
    let addrs: Vec<SocketAddr> = (target.host.as_str(), target.port)
        .to_socket_addrs()
        .map_err(|e| Error::Resolve(format!("resolving {}: {e}", target.host)))?
        .collect();
    let addr = *addrs
        .first()
        .ok_or_else(|| Error::Resolve(format!("{} has no address", target.host)))?;
    raise_fd_limit(options.connections);
    let request: Arc<[u8]> = target.request(options.last_event_id.as_deref()).into();
    let start = Instant::now();
    let deadline = tokio::time::Instant::from_std(start + options.duration);
    let permits = Arc::new(Semaphore::new(options.connect_concurrency));
    let reading = options.connections - options.stalled;
    let mut tasks = tokio::task::JoinSet::new();
    for index in 0..options.connections {
        let connection = Connection {
            addr,
            source: (!options.sources.is_empty())
                .then(|| options.sources[index % options.sources.len()]),
            request: request.clone(),
            permits: permits.clone(),
            progress: progress.clone(),
            deadline,
            stalled: index >= reading,
            events: options.events,
        };
        tasks.spawn(connection.run());
    }
    let mut all = Vec::with_capacity(options.connections);
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(stats) => all.push(stats),
            Err(e) => return Err(Error::Task(format!("a connection task failed: {e}"))),
        }
    }
    Ok(summarise(options.connections, start.elapsed(), all))
}

fn summarise(connections: usize, elapsed: Duration, all: Vec<ConnectionStats>) -> Report {
    let mut latencies = Vec::new();
    let mut connects = Vec::new();
    let mut firsts = Vec::new();
    let mut errors: Vec<(String, usize)> = Vec::new();
    let mut shares = Vec::new();
    let (mut min, mut max, mut sum, mut readers) = (u64::MAX, 0, 0u64, 0usize);
    let mut report = Report {
        connections,
        connected: 0,
        failures: 0,
        ended_by_server: 0,
        stalled: 0,
        stalled_ended: 0,
        events: 0,
        resets: 0,
        reset_connections: 0,
        short_without_reset: 0,
        per_connection: (0, 0.0, 0),
        elapsed,
        latency_us: None,
        connect_us: None,
        first_event_us: None,
        errors: Vec::new(),
    };
    for stats in all {
        if let Some(error) = stats.error {
            match errors.iter().position(|(e, _)| *e == error) {
                Some(i) => errors[i].1 += 1,
                None if errors.len() < 5 => errors.push((error, 1)),
                None => {}
            }
        }
        if stats.end == End::Failed {
            report.failures += 1;
            continue;
        }
        report.connected += 1;
        connects.extend(stats.connect.map(|d| d.as_micros() as u64));
        if stats.stalled {
            report.stalled += 1;
            report.stalled_ended += usize::from(stats.end == End::Ended);
            continue;
        }
        report.ended_by_server += usize::from(stats.end == End::Ended);
        report.events += stats.events;
        report.resets += stats.resets;
        report.reset_connections += usize::from(stats.resets > 0);
        firsts.extend(stats.first_event.map(|d| d.as_micros() as u64));
        shares.push((stats.events, stats.resets));
        latencies.extend_from_slice(&stats.latencies_us);
        readers += 1;
        sum += stats.events;
        min = min.min(stats.events);
        max = max.max(stats.events);
    }
    if readers > 0 {
        report.per_connection = (min, sum as f64 / readers as f64, max);
    }
    report.short_without_reset = shares
        .iter()
        .filter(|&&(events, resets)| events < max && resets == 0)
        .count();
    report.latency_us = Percentiles::of(&mut latencies);
    report.connect_us = Percentiles::of(&mut connects);
    report.first_event_us = Percentiles::of(&mut firsts);
    report.errors = errors;
    report
}

/// Raises the soft limit on open files toward the hard one when `connections` (plus 64)
/// need more
/// (on Linux, through `prlimit`, which needs no unsafe code here); a failure is left to show
/// up as connect errors.
pub fn raise_fd_limit(connections: usize) {
    #[cfg(target_os = "linux")]
    {
        let wanted = connections + 64;
        let Ok(limits) = std::fs::read_to_string("/proc/self/limits") else {
            return;
        };
        let Some(line) = limits.lines().find(|l| l.starts_with("Max open files")) else {
            return;
        };
        let fields: Vec<&str> = line.split_whitespace().collect();
        let (Some(soft), Some(hard)) = (fields.get(3), fields.get(4)) else {
            return;
        };
        let soft: usize = soft.parse().unwrap_or(usize::MAX);
        if soft >= wanted {
            return;
        }
        let hard = if *hard == "unlimited" {
            wanted
        } else {
            hard.parse().unwrap_or(soft)
        };
        let _ = std::process::Command::new("prlimit")
            .arg(format!("--pid={}", std::process::id()))
            .arg(format!("--nofile={}:{hard}", wanted.min(hard)))
            .status();
    }
    #[cfg(not(target_os = "linux"))]
    let _ = connections;
}

/// One connection's task.
struct Connection {
    addr: SocketAddr,
    source: Option<std::net::IpAddr>,
    request: Arc<[u8]>,
    permits: Arc<Semaphore>,
    progress: Arc<Progress>,
    deadline: tokio::time::Instant,
    stalled: bool,
    events: Option<u64>,
}

impl Connection {
    async fn run(self) -> ConnectionStats {
        let mut stats = ConnectionStats {
            end: End::Failed,
            error: None,
            stalled: self.stalled,
            events: 0,
            resets: 0,
            connect: None,
            first_event: None,
            latencies_us: Vec::new(),
        };
        let begin = Instant::now();
        let deadline = self.deadline;
        let mut stop = self.progress.stop.subscribe();
        let stopped = async move {
            let _ = stop.wait_for(|stop| *stop).await;
        };
        let outcome = tokio::select! {
            outcome = tokio::time::timeout_at(deadline, self.stream(begin, &mut stats)) => outcome.ok(),
            () = stopped => None,
        };
        let end = match outcome {
            Some(Ok(end)) => end,
            Some(Err(error)) => {
                stats.error = Some(error);
                if stats.connect.is_some() {
                    End::Ended
                } else {
                    End::Failed
                }
            }
            None if stats.connect.is_some() => End::Open,
            None => {
                let last = stats
                    .error
                    .take()
                    .map_or(String::new(), |e| format!(", last: {e}"));
                stats.error = Some(format!("no response before the end of the run{last}"));
                End::Failed
            }
        };
        stats.end = end;
        self.progress.done.fetch_add(1, Ordering::Relaxed);
        stats
    }

    /// Connects (with retries), reads the head, then the events until the stream ends.
    async fn stream(&self, begin: Instant, stats: &mut ConnectionStats) -> Result<End, String> {
        let permit = self.permits.acquire().await.map_err(|e| e.to_string())?;
        let mut backoff = Duration::from_millis(50);
        let mut attempt = 1;
        let (mut socket, buffer, body_start) = loop {
            match self.open().await {
                Ok(opened) => break opened,
                Err(e) if attempt >= CONNECT_ATTEMPTS => {
                    return Err(format!("{e} ({attempt} attempts)"));
                }
                Err(e) => {
                    stats.error = Some(e);
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(1));
                    attempt += 1;
                }
            }
        };
        drop(permit);
        stats.error = None;
        let head = Head::parse(&buffer[..body_start])?;
        stats.connect = Some(begin.elapsed());
        self.progress.connected.fetch_add(1, Ordering::Relaxed);
        if self.stalled {
            let drain_at = self.deadline.checked_sub(DRAIN).unwrap_or(self.deadline);
            tokio::time::sleep_until(drain_at).await;
            return Ok(drain(&mut socket, Body::new(&head), &buffer[body_start..]).await);
        }
        let mut body = Body::new(&head);
        let mut parser = Parser::new();
        let mut reported = 0;
        let mut finished =
            self.receive(&mut body, &mut parser, &buffer[body_start..], begin, stats)?;
        drop(buffer);
        loop {
            self.progress
                .events
                .fetch_add(stats.events - reported, Ordering::Relaxed);
            reported = stats.events;
            if self.events.is_some_and(|n| stats.events >= n) {
                return Ok(End::Open);
            }
            if finished {
                return Ok(End::Ended);
            }
            socket.readable().await.map_err(|e| e.to_string())?;
            let read = READ_BUFFER.with_borrow_mut(|buffer| match socket.try_read(buffer) {
                Ok(0) => Ok(None),
                Ok(n) => self
                    .receive(&mut body, &mut parser, &buffer[..n], begin, stats)
                    .map(Some),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => Ok(Some(false)),
                Err(e) => Err(e.to_string()),
            })?;
            match read {
                Some(done) => finished = done,
                None => return Ok(End::Ended),
            }
        }
    }

    /// Decodes and parses received body bytes; `Ok(true)` once the body is complete.
    fn receive(
        &self,
        body: &mut Body,
        parser: &mut Parser,
        bytes: &[u8],
        begin: Instant,
        stats: &mut ConnectionStats,
    ) -> Result<bool, String> {
        let received_us = unix_micros();
        let now = begin.elapsed();
        let limit = self.events.unwrap_or(u64::MAX);
        let mut error = None;
        let finished = body
            .decode(bytes, |chunk| {
                parser.feed_with(chunk, |item| match item {
                    ParsedRef::Event(event) if event.event_type() == RESET_EVENT => {
                        stats.resets += 1
                    }
                    ParsedRef::Event(event) if stats.events < limit => {
                        stats.events += 1;
                        stats.first_event.get_or_insert(now);
                        if let Some(sent) = send_time_us(event.data()) {
                            stats.latencies_us.push(received_us.saturating_sub(sent));
                        }
                    }
                    ParsedRef::Error(e) => {
                        error.get_or_insert_with(|| e.to_string());
                    }
                    _ => {}
                });
            })
            .map_err(|e| e.to_string())?;
        if let Some(error) = error {
            stats.error.get_or_insert(error);
        }
        Ok(finished)
    }

    /// One connect attempt: the TCP connection, the request, the response head. Returns the
    /// socket, the bytes read and where the body starts in them.
    async fn open(&self) -> Result<(TcpStream, Vec<u8>, usize), String> {
        let socket = if self.addr.is_ipv4() {
            TcpSocket::new_v4()
        } else {
            TcpSocket::new_v6()
        }
        .map_err(|e| format!("socket: {e}"))?;
        if self.stalled {
            let _ = socket.set_recv_buffer_size(STALLED_RCVBUF);
        }
        if let Some(source) = self.source {
            socket
                .bind(SocketAddr::new(source, 0))
                .map_err(|e| format!("binding {source}: {e}"))?;
        }
        let mut stream = socket
            .connect(self.addr)
            .await
            .map_err(|e| format!("connect: {e}"))?;
        let _ = stream.set_nodelay(true);
        stream
            .write_all(&self.request)
            .await
            .map_err(|e| format!("sending the request: {e}"))?;
        let mut buffer = Vec::with_capacity(4096);
        loop {
            let searched = buffer.len().saturating_sub(3);
            buffer.reserve(4096);
            let n = stream
                .read_buf(&mut buffer)
                .await
                .map_err(|e| format!("reading the response: {e}"))?;
            if n == 0 {
                return Err("connection closed before the response head".into());
            }
            if let Some(at) = find(&buffer[searched..], b"\r\n\r\n") {
                let body_start = searched + at + 4;
                return Ok((stream, buffer, body_start));
            }
            if buffer.len() > MAX_HEAD {
                return Err("response head larger than 16 KiB".into());
            }
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Reads a stalled connection (its body framing `body`, of which `received` arrived with the
/// head) for at most [`DRAIN`]: `Ended` when the server had ended it (the end of the body,
/// of the connection, or a reset), `Open` when the stream went on.
async fn drain(socket: &mut TcpStream, mut body: Body, received: &[u8]) -> End {
    if let Ok(true) | Err(_) = body.decode(received, |_| {}) {
        return End::Ended;
    }
    let mut buffer = vec![0u8; 64 * 1024];
    let until = tokio::time::Instant::now() + DRAIN;
    loop {
        match tokio::time::timeout_at(until, socket.read(&mut buffer)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return End::Ended,
            Ok(Ok(n)) => {
                if let Ok(true) | Err(_) = body.decode(&buffer[..n], |_| {}) {
                    return End::Ended;
                }
            }
            Err(_) => return End::Open,
        }
    }
}

/// The parts of a response head bench mode looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Head {
    chunked: bool,
    content_length: Option<u64>,
}

impl Head {
    fn parse(head: &[u8]) -> Result<Head, String> {
        let text = std::str::from_utf8(head).map_err(|_| "response head is not UTF-8")?;
        let mut lines = text.split("\r\n");
        let status = lines.next().unwrap_or_default();
        let mut parts = status.splitn(3, ' ');
        let (version, code) = (
            parts.next().unwrap_or_default(),
            parts.next().unwrap_or_default(),
        );
        if !version.starts_with("HTTP/1.") {
            return Err(format!("not an HTTP/1 response: {status:?}"));
        }
        if code != "200" {
            return Err(format!("status {}", status.get(9..).unwrap_or(code)));
        }
        let mut head = Head {
            chunked: false,
            content_length: None,
        };
        let mut event_stream = false;
        for line in lines {
            let Some((name, value)) = line.split_once(':') else {
                continue;
            };
            let value = value.trim();
            if name.eq_ignore_ascii_case("transfer-encoding") {
                head.chunked = value.to_ascii_lowercase().ends_with("chunked");
            } else if name.eq_ignore_ascii_case("content-length") {
                head.content_length = value.parse().ok();
            } else if name.eq_ignore_ascii_case("content-type") {
                event_stream = value.to_ascii_lowercase().starts_with("text/event-stream");
            }
        }
        if !event_stream {
            return Err("Content-Type is not text/event-stream".into());
        }
        Ok(head)
    }
}

/// The response body's framing, decoded incrementally.
#[derive(Debug)]
enum Body {
    /// Up to the end of the connection.
    Close,
    /// This many bytes left.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked(ChunkedDecoder),
}

impl Body {
    fn new(head: &Head) -> Body {
        if head.chunked {
            Body::Chunked(ChunkedDecoder::new())
        } else if let Some(length) = head.content_length {
            Body::Length(length)
        } else {
            Body::Close
        }
    }

    /// Hands the body bytes in `input` to `out`; `Ok(true)` once the body is complete.
    fn decode<'a>(
        &mut self,
        input: &'a [u8],
        mut out: impl FnMut(&'a [u8]),
    ) -> Result<bool, ChunkedError> {
        match self {
            Body::Close => {
                if !input.is_empty() {
                    out(input);
                }
                Ok(false)
            }
            Body::Length(left) => {
                let take = (*left).min(input.len() as u64) as usize;
                if take > 0 {
                    out(&input[..take]);
                }
                *left -= take as u64;
                Ok(*left == 0)
            }
            Body::Chunked(decoder) => decoder.decode(input, out),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_heads() {
        let target = Target::parse("http://127.0.0.1:8845/events?x=1").unwrap();
        assert_eq!(
            (target.host.as_str(), target.port, target.path.as_str()),
            ("127.0.0.1", 8845, "/events?x=1")
        );
        assert_eq!(Target::parse("HTTP://[::1]:9").unwrap().host, "::1");
        assert_eq!(Target::parse("http://h?a").unwrap().path, "/?a");
        assert!(Target::parse("https://h/").is_err());
        let head = Head::parse(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n");
        assert_eq!(
            head,
            Ok(Head {
                chunked: true,
                content_length: None
            })
        );
        assert!(Head::parse(b"HTTP/1.1 404 Not Found\r\n\r\n").is_err());
        assert!(Head::parse(b"HTTP/1.1 200 OK\r\ncontent-type: text/html\r\n\r\n").is_err());
    }

    #[test]
    fn percentiles() {
        let mut values: Vec<u64> = (1..=100).rev().collect();
        let p = Percentiles::of(&mut values).unwrap();
        assert_eq!((p.p50, p.p99, p.max, p.count), (50, 99, 100, 100));
        assert_eq!(Percentiles::of(&mut []), None);
    }
}
