//! The plumbing the `scale` benchmark's servers share (`src/bin/*.rs`), and the driver's
//! measurements of them (`src/main.rs`).
//!
//! Every server under test is its own process, started by the driver with stdin and stdout
//! piped. It listens on `127.0.0.1`, port 0, with the listen backlog of `--backlog N`
//! (default 4096: built with [`tokio::net::TcpSocket::listen`], not std's 128), prints
//! `listening ADDR` on stdout, serves its event stream at `/events`, and takes commands on
//! stdin ([`spawn_publisher`]); it exits when stdin ends, so it never outlives the driver.
//!
//! Event data is `{"t":T}` (or `{"t":T,"p":"xx.."}` with padding): `T` is the publisher's
//! Unix time in microseconds when it published the event, which `ssekit bench` turns into a
//! delivery latency.

use std::io::{self, BufRead, Write};
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::mpsc::{RecvTimeoutError, channel};
use std::time::{Duration, Instant};

/// The listen backlog the servers use unless `--backlog N` says otherwise.
pub const DEFAULT_BACKLOG: u32 = 4096;

/// A server's command line: `--backlog N`, `--defaults`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerArgs {
    /// The listen backlog.
    pub backlog: u32,
    /// Serve with the framework's defaults (`axum::serve`, `warp::serve`, actix-web's
    /// `HttpServer` as it comes) instead of the settings the adapter's docs recommend.
    pub defaults: bool,
}

impl ServerArgs {
    /// Reads the process's arguments; an unknown one is an error.
    pub fn from_env() -> io::Result<ServerArgs> {
        let mut args = ServerArgs {
            backlog: DEFAULT_BACKLOG,
            defaults: false,
        };
        let mut argv = std::env::args().skip(1);
        while let Some(arg) = argv.next() {
            match arg.as_str() {
                "--backlog" => {
                    let value = argv.next().unwrap_or_default();
                    args.backlog = value.parse().map_err(|_| {
                        io::Error::new(io::ErrorKind::InvalidInput, format!("--backlog {value:?}"))
                    })?;
                }
                "--defaults" => args.defaults = true,
                other => {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidInput,
                        format!("unknown argument {other:?}"),
                    ));
                }
            }
        }
        Ok(args)
    }
}

/// A listener on `127.0.0.1:0` with this listen backlog (call it inside a tokio runtime).
pub fn listen(backlog: u32) -> io::Result<tokio::net::TcpListener> {
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.set_reuseaddr(true)?;
    socket.bind(SocketAddr::new(Ipv4Addr::LOCALHOST.into(), 0))?;
    socket.listen(backlog)
}

/// Serves `service` (an axum `Router`, a `warp::service(filter)`, any tower service) on
/// `listener` the way `ssekit-axum`'s and `ssekit-warp`'s crate docs recommend for many long-lived
/// event streams: each connection on hyper's HTTP/1 builder directly (no `auto` version
/// detection, no upgrade support), one task per connection.
pub async fn serve_http1<S, B>(listener: tokio::net::TcpListener, service: S) -> io::Result<()>
where
    S: tower_service::Service<hyper::Request<hyper::body::Incoming>, Response = hyper::Response<B>>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let http = http1_builder();
    loop {
        let socket = match listener.accept().await {
            Ok((socket, _)) => socket,
            // Out of file descriptors, or a connection reset before it was accepted: go on.
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let service = hyper_util::service::TowerToHyperService::new(service.clone());
        let connection = http.serve_connection(hyper_util::rt::TokioIo::new(socket), service);
        tokio::spawn(async move {
            let _ = connection.await;
        });
    }
}

/// The HTTP/1 settings of [`serve_http1`] (`SCALE_HTTP1` overrides them for experiments:
/// `writev=0`, `max_buf=N`).
fn http1_builder() -> hyper::server::conn::http1::Builder {
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(hyper_util::rt::TokioTimer::new());
    let knobs = std::env::var("SCALE_HTTP1").unwrap_or_default();
    for knob in knobs.split(',').filter(|k| !k.is_empty()) {
        match knob.split_once('=') {
            Some(("writev", v)) => {
                http.writev(v == "1");
            }
            Some(("max_buf", v)) => {
                if let Ok(n) = v.parse() {
                    http.max_buf_size(n);
                }
            }
            _ => {}
        }
    }
    http
}

/// Prints `listening ADDR` on stdout, the line the driver waits for.
pub fn announce(address: SocketAddr) -> io::Result<()> {
    let mut stdout = io::stdout().lock();
    writeln!(stdout, "listening {address}")?;
    stdout.flush()
}

/// The multi-threaded runtime of the Rust HTTP servers: two workers, the machine's cores.
pub fn runtime() -> io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
}

/// The current Unix time in microseconds.
pub fn unix_micros() -> u64 {
    ssekit_bench::latency::unix_micros()
}

/// One event's data: the send time, and `pad` bytes of padding.
pub fn event_data(pad: usize) -> String {
    if pad == 0 {
        format!("{{\"t\":{}}}", unix_micros())
    } else {
        format!("{{\"t\":{},\"p\":\"{}\"}}", unix_micros(), "x".repeat(pad))
    }
}

/// A command on a server's stdin.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Command {
    /// `rate R`: publish R events a second, paced (0 stops).
    Rate(f64),
    /// `burst N`: publish N events in a tight loop.
    Burst(u64),
    /// `pad B`: pad each event's data with B bytes.
    Pad(usize),
    /// `count`: print `published N` (events published so far) on stdout.
    Count,
}

fn command(line: &str) -> Option<Command> {
    match line.trim().split_once(' ') {
        Some(("rate", value)) => value.parse().ok().map(Command::Rate),
        Some(("burst", value)) => value.parse().ok().map(Command::Burst),
        Some(("pad", value)) => value.parse().ok().map(Command::Pad),
        None if line.trim() == "count" => Some(Command::Count),
        _ => None,
    }
}

/// Starts the publisher: a thread that reads commands from stdin (`rate R`, `burst N`,
/// `pad B`, `count`) and calls `publish` with each event's data ([`event_data`]). When stdin
/// ends, the process exits.
pub fn spawn_publisher(mut publish: impl FnMut(String) + Send + 'static) {
    let (commands, received) = channel();
    std::thread::spawn(move || {
        for line in io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            if let Some(command) = command(&line)
                && commands.send(command).is_err()
            {
                break;
            }
        }
        std::process::exit(0);
    });
    std::thread::spawn(move || {
        let (mut rate, mut pad, mut published) = (0.0f64, 0usize, 0u64);
        let mut next = Instant::now();
        loop {
            let command = if rate > 0.0 {
                received.recv_timeout(next.saturating_duration_since(Instant::now()))
            } else {
                received.recv().map_err(|_| RecvTimeoutError::Disconnected)
            };
            match command {
                Ok(Command::Rate(r)) => {
                    rate = r;
                    next = Instant::now();
                }
                Ok(Command::Burst(n)) => {
                    for _ in 0..n {
                        publish(event_data(pad));
                    }
                    published += n;
                }
                Ok(Command::Pad(bytes)) => pad = bytes,
                Ok(Command::Count) => {
                    let mut stdout = io::stdout().lock();
                    let _ = writeln!(stdout, "published {published}");
                    let _ = stdout.flush();
                }
                Err(RecvTimeoutError::Timeout) => {
                    publish(event_data(pad));
                    published += 1;
                    next += Duration::from_secs_f64(1.0 / rate);
                }
                Err(RecvTimeoutError::Disconnected) => return,
            }
        }
    });
}
