//! The server-scale benchmark: `cargo run --release -p scale -- [--connections N]
//! [--case idle,connect,paced,burst,stalled] [--servers a,b,..] [--seconds S]`.
//!
//! Each server under test (see `scale/src/lib.rs`) runs as its own process, started here and
//! killed at the end of its case; the clients are `ssekit bench`'s machinery
//! (the ssekit-bench crate, [`ssekit_bench::run`]) on a thread of this process. The compared servers of a case run
//! back to back, in the same run. Server-side numbers come from `/proc/PID`: `status` (VmRSS),
//! `stat` (utime, stime); write-type system calls from `perf stat` on the syscall
//! tracepoints; listen-queue counters from `/proc/net/netstat` (system-wide). Prints one
//! markdown table per case.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use ssekit_bench::{DRAIN, Options, Progress, Report, raise_fd_limit, run};

/// The servers, in table order. `hub-axum` and `hub-warp` serve the way their adapter's docs
/// recommend for many connections; `hub-X-defaults` is the same binary with `--defaults`
/// (`axum::serve`, `warp::serve`, as most code has it). actix-web has nothing to set.
const SERVERS: [&str; 10] = [
    "hub-edge",
    "hub-axum",
    "hub-axum-defaults",
    "broker-axum",
    "hub-actix",
    "hub-warp",
    "hub-warp-defaults",
    "axum-sse",
    "node",
    "floor",
];

const CASES: [&str; 5] = ["idle", "connect", "paced", "burst", "stalled"];

/// Clock ticks per second of `/proc/PID/stat` (`getconf CLK_TCK`; 100 on Linux).
const TICKS: f64 = 100.0;

struct Args {
    connections: usize,
    cases: Vec<String>,
    servers: Vec<String>,
    seconds: f64,
    rate: f64,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        connections: 10_000,
        cases: CASES.map(String::from).to_vec(),
        servers: SERVERS.map(String::from).to_vec(),
        seconds: 10.0,
        rate: 10.0,
    };
    let mut argv = std::env::args().skip(1);
    while let Some(flag) = argv.next() {
        let mut value = || argv.next().ok_or(format!("{flag} needs a value"));
        let list = |v: String, known: &[&str]| -> Result<Vec<String>, String> {
            let items: Vec<String> = v.split(',').map(str::to_owned).collect();
            // A server may name an allocator to preload: `hub-axum+jemalloc`.
            let base = |i: &String| i.split_once('+').map_or(i.clone(), |(b, _)| b.to_owned());
            match items.iter().find(|i| !known.contains(&base(i).as_str())) {
                Some(bad) => Err(format!("unknown {bad:?}; known: {}", known.join(","))),
                None => Ok(items),
            }
        };
        match flag.as_str() {
            "--connections" => {
                args.connections = value()?.parse().map_err(|_| "--connections: a number")?;
            }
            "--seconds" => args.seconds = value()?.parse().map_err(|_| "--seconds: a number")?,
            "--rate" => args.rate = value()?.parse().map_err(|_| "--rate: a number")?,
            "--case" => args.cases = list(value()?, &CASES)?,
            "--servers" => args.servers = list(value()?, &SERVERS)?,
            "-h" | "--help" => {
                return Err(format!(
                    "usage: scale [--connections N] [--case {}] [--servers {}] [--seconds S] [--rate R]\n(a server name + `+jemalloc` or `+mimalloc` preloads that allocator)",
                    CASES.join(","),
                    SERVERS.join(",")
                ));
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if args.connections == 0 || args.seconds <= 0.0 || args.rate <= 0.0 {
        return Err("--connections, --seconds and --rate must be above 0".into());
    }
    Ok(args)
}

/// A server under test: its process, its control pipe, its address.
struct Server {
    name: String,
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    address: String,
}

impl Server {
    fn start(full_name: &str, backlog: u32) -> Result<Server, String> {
        let (name, allocator) = match full_name.split_once('+') {
            Some((name, allocator)) => (name, Some(allocator)),
            None => (full_name, None),
        };
        let mut command = if name == "node" {
            let mut node = Command::new("node");
            node.arg(concat!(env!("CARGO_MANIFEST_DIR"), "/node/server.js"))
                .arg(backlog.to_string());
            node
        } else {
            let exe = std::env::current_exe().map_err(|e| e.to_string())?;
            let (binary, defaults) = match name.strip_suffix("-defaults") {
                Some(binary) => (binary, true),
                None => (name, false),
            };
            let mut server = Command::new(exe.with_file_name(binary));
            server.args(["--backlog", &backlog.to_string()]);
            if defaults {
                server.arg("--defaults");
            }
            server
        };
        if let Some(allocator) = allocator {
            // A deployment setting, not the server's code: the same binary with another
            // malloc (Debian's `libjemalloc2`, `libmimalloc2.0`).
            let library = match allocator {
                "jemalloc" => "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2",
                "mimalloc" => "/usr/lib/x86_64-linux-gnu/libmimalloc.so.2",
                other => return Err(format!("unknown allocator {other:?} (jemalloc, mimalloc)")),
            };
            if !std::path::Path::new(library).exists() {
                return Err(format!("{full_name}: {library} is not installed"));
            }
            command.env("LD_PRELOAD", library);
        }
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("starting {name}: {e} (cargo build --release -p scale first)"))?;
        let stdin = child.stdin.take().ok_or("no stdin")?;
        let stdout = BufReader::new(child.stdout.take().ok_or("no stdout")?);
        let mut server = Server {
            name: full_name.to_owned(),
            child,
            stdin,
            stdout,
            address: String::new(),
        };
        let line = server.line()?;
        server.address = line
            .strip_prefix("listening ")
            .ok_or_else(|| format!("{name} said {line:?}"))?
            .trim()
            .to_owned();
        Ok(server)
    }

    fn line(&mut self) -> Result<String, String> {
        let mut line = String::new();
        match self.stdout.read_line(&mut line) {
            Ok(0) | Err(_) => Err(format!("{} exited", self.name)),
            Ok(_) => Ok(line),
        }
    }

    fn command(&mut self, line: &str) {
        let _ = writeln!(self.stdin, "{line}");
        let _ = self.stdin.flush();
    }

    /// Events published so far.
    fn published(&mut self) -> u64 {
        self.command("count");
        loop {
            match self.line() {
                Ok(line) => {
                    if let Some(n) = line.strip_prefix("published ") {
                        return n.trim().parse().unwrap_or(0);
                    }
                }
                Err(_) => return 0,
            }
        }
    }

    fn url(&self) -> String {
        format!("http://{}/events", self.address)
    }

    fn proc(&self, file: &str) -> String {
        std::fs::read_to_string(format!("/proc/{}/{file}", self.child.id())).unwrap_or_default()
    }

    /// Resident memory, KiB.
    fn rss_kib(&self) -> u64 {
        field(&self.proc("status"), "VmRSS:")
    }

    /// User and kernel CPU time, seconds.
    fn cpu(&self) -> (f64, f64) {
        let stat = self.proc("stat");
        // Fields after the `(comm)`: state is field 3; utime 14 and stime 15.
        let rest = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let tick = |i: usize| {
            fields
                .get(i)
                .and_then(|f| f.parse::<f64>().ok())
                .unwrap_or(0.0)
        };
        (tick(11) / TICKS, tick(12) / TICKS)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn field(text: &str, name: &str) -> u64 {
    text.lines()
        .find_map(|line| line.strip_prefix(name))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// The write-type system calls of a process over a window, and all its system calls, counted
/// by `perf stat` on the syscall tracepoints (`None` where perf or the tracepoints are not
/// available).
struct SyscallCount(Option<Child>);

const WRITE_CALLS: &str = "syscalls:sys_enter_write,syscalls:sys_enter_writev,syscalls:sys_enter_sendto,syscalls:sys_enter_sendmsg,raw_syscalls:sys_enter";

impl SyscallCount {
    fn start(pid: u32, seconds: f64) -> SyscallCount {
        let child = Command::new("perf")
            .args([
                "stat",
                "-x",
                ",",
                "-e",
                WRITE_CALLS,
                "-p",
                &pid.to_string(),
                "--",
            ])
            .args(["sleep", &seconds.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn();
        SyscallCount(child.ok())
    }

    /// (write-type calls, all calls).
    fn finish(self) -> Option<(u64, u64)> {
        let output = self.0?.wait_with_output().ok()?;
        let text = String::from_utf8_lossy(&output.stderr);
        let (mut writes, mut all, mut seen) = (0, None, 0);
        for line in text.lines() {
            let mut fields = line.split(',');
            let (Some(count), Some(event)) = (fields.next(), fields.nth(1)) else {
                continue;
            };
            let Ok(count) = count.parse::<u64>() else {
                continue;
            };
            if event == "raw_syscalls:sys_enter" {
                all = Some(count);
            } else if event.starts_with("syscalls:sys_enter_") {
                writes += count;
                seen += 1;
            }
        }
        (seen == 4).then_some((writes, all?))
    }
}

/// TcpExt counters of `/proc/net/netstat` (system-wide).
fn netstat(names: &[&str]) -> Vec<u64> {
    let text = std::fs::read_to_string("/proc/net/netstat").unwrap_or_default();
    let lines: Vec<&str> = text.lines().filter(|l| l.starts_with("TcpExt:")).collect();
    let (Some(keys), Some(values)) = (lines.first(), lines.get(1)) else {
        return vec![0; names.len()];
    };
    let keys: Vec<&str> = keys.split_whitespace().collect();
    let values: Vec<&str> = values.split_whitespace().collect();
    names
        .iter()
        .map(|name| {
            keys.iter()
                .position(|k| k == name)
                .and_then(|i| values.get(i))
                .and_then(|v| v.parse().ok())
                .unwrap_or(0)
        })
        .collect()
}

/// A bench run on its own thread and runtime.
struct Clients {
    progress: Arc<Progress>,
    thread: JoinHandle<Result<Report, String>>,
}

impl Clients {
    fn start(options: Options) -> Clients {
        let progress = Arc::new(Progress::default());
        let watched = progress.clone();
        let thread = thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?
                .block_on(run(&options, watched))
                .map_err(|e| e.to_string())
        });
        Clients { progress, thread }
    }

    /// Waits until every connection is connected or done, at most `limit`; the time it took.
    fn settled(&self, connections: usize, limit: Duration) -> Duration {
        let start = Instant::now();
        while self.progress.connected() + self.progress.done() < connections
            && start.elapsed() < limit
        {
            thread::sleep(Duration::from_millis(5));
        }
        start.elapsed()
    }

    fn finish(self) -> Result<Report, String> {
        self.progress.stop();
        self.wait()
    }

    fn wait(self) -> Result<Report, String> {
        self.thread
            .join()
            .map_err(|_| "the bench thread panicked".to_owned())?
    }
}

fn options(url: String, connections: usize, seconds: f64) -> Options {
    Options {
        connections,
        duration: Duration::from_secs_f64(seconds),
        connect_concurrency: 256,
        ..Options::new(url)
    }
}

fn ms(us: Option<u64>) -> String {
    us.map_or("-".into(), |us| format!("{:.2}", us as f64 / 1000.0))
}

fn mib(kib: u64) -> String {
    format!("{:.1}", kib as f64 / 1024.0)
}

fn idle(args: &Args) -> Result<(), String> {
    let n = args.connections;
    println!("\n### {n} idle connections: server memory\n");
    println!(
        "Server: VmRSS delta. Load generator: this process's VmRSS delta (the clients run on a \
         thread of it). Kernel: the slab caches' delta (`/proc/slabinfo`, sockets, epoll items, \
         file structures...) plus TCP buffer pages (`/proc/net/sockstat` `TCP mem`), for both ends \
         of every loopback connection.\n"
    );
    println!(
        "| server | connected | RSS before (MiB) | RSS with {n} (MiB) | per connection (KiB) | load generator per connection (KiB) | kernel per connection, both ends (KiB) |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for name in &args.servers {
        let server = Server::start(name, 4096)?;
        thread::sleep(Duration::from_millis(500));
        let before = server.rss_kib();
        let (own_before, kernel_before) = (own_rss_kib(), kernel_kib());
        let clients = Clients::start(options(server.url(), n, 120.0));
        clients.settled(n, Duration::from_secs(60));
        thread::sleep(Duration::from_secs(2));
        let after = server.rss_kib();
        let (own_after, kernel_after) = (own_rss_kib(), kernel_kib());
        let connected = clients.progress.connected();
        let report = clients.finish()?;
        let per = |delta: u64| delta as f64 / connected.max(1) as f64;
        println!(
            "| {name} | {connected}/{n} | {} | {} | {:.2} | {:.2} | {:.2} |",
            mib(before),
            mib(after),
            per(after.saturating_sub(before)),
            per(own_after.saturating_sub(own_before)),
            per(kernel_after.saturating_sub(kernel_before)),
        );
        if report.failures > 0 {
            eprintln!("{name}: {:?}", report.errors);
        }
    }
    Ok(())
}

/// This process's VmRSS in KiB (the load generator's side).
fn own_rss_kib() -> u64 {
    field(
        &std::fs::read_to_string("/proc/self/status").unwrap_or_default(),
        "VmRSS:",
    )
}

/// The kernel memory that grows with connections, in KiB: every slab cache's objects
/// (`/proc/slabinfo`: `num_objs * objsize`; root only, 0 otherwise) plus the pages of TCP
/// buffers (`/proc/net/sockstat`, `TCP: ... mem N`).
fn kernel_kib() -> u64 {
    let slab: u64 = std::fs::read_to_string("/proc/slabinfo")
        .unwrap_or_default()
        .lines()
        .skip(2)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let objects: u64 = fields.get(2)?.parse().ok()?;
            let size: u64 = fields.get(3)?.parse().ok()?;
            Some(objects * size)
        })
        .sum();
    let tcp_pages: u64 = std::fs::read_to_string("/proc/net/sockstat")
        .unwrap_or_default()
        .lines()
        .find(|line| line.starts_with("TCP:"))
        .and_then(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let at = fields.iter().position(|f| *f == "mem")?;
            fields.get(at + 1)?.parse().ok()
        })
        .unwrap_or(0);
    slab / 1024 + tcp_pages * 4
}

fn connect(args: &Args) -> Result<(), String> {
    let n = args.connections;
    const COUNTERS: [&str; 4] = [
        "TCPSynRetrans",
        "ListenOverflows",
        "ListenDrops",
        "TCPReqQFullDoCookies",
    ];
    println!("\n### {n} clients connecting at once\n");
    println!(
        "Connect concurrency {n}: every connect starts at once. Counters: TcpExt deltas (system-wide).\n"
    );
    println!(
        "| server | backlog | served | until all served (ms) | connect p50 / p99 / max (ms) | SYN retransmits | ListenOverflows | ListenDrops | SYN cookies |"
    );
    println!("|---|---:|---:|---:|---|---:|---:|---:|---:|");
    let mut runs: Vec<(String, u32)> = args.servers.iter().map(|s| (s.clone(), 4096)).collect();
    for name in ["hub-axum", "floor"] {
        if args.servers.iter().any(|s| s == name) {
            runs.push((name.to_owned(), 128));
        }
    }
    for (name, backlog) in runs {
        let server = Server::start(&name, backlog)?;
        thread::sleep(Duration::from_millis(300));
        let before = netstat(&COUNTERS);
        let mut bench = options(server.url(), n, 120.0);
        bench.connect_concurrency = n;
        let clients = Clients::start(bench);
        let took = clients.settled(n, Duration::from_secs(60));
        let after = netstat(&COUNTERS);
        let report = clients.finish()?;
        let connect = report.connect_us;
        let delta: Vec<u64> = after
            .iter()
            .zip(&before)
            .map(|(a, b)| a.saturating_sub(*b))
            .collect();
        println!(
            "| {name} | {backlog} | {}/{n} | {:.0} | {} / {} / {} | {} | {} | {} | {} |",
            report.connected,
            took.as_secs_f64() * 1000.0,
            ms(connect.map(|p| p.p50)),
            ms(connect.map(|p| p.p99)),
            ms(connect.map(|p| p.max)),
            delta[0],
            delta[1],
            delta[2],
            delta[3]
        );
        if report.failures > 0 {
            eprintln!("{name}: {:?}", report.errors);
        }
        drop(server);
        // Let the closed connections' TIME_WAIT and the listen queue settle between runs.
        thread::sleep(Duration::from_secs(1));
    }
    Ok(())
}

struct Paced {
    name: String,
    report: Report,
    expected: u64,
    user: f64,
    system: f64,
    writes: Option<f64>,
    syscalls: Option<f64>,
}

fn paced(args: &Args) -> Result<(), String> {
    let n = args.connections;
    let mut rows = Vec::new();
    for name in &args.servers {
        let mut server = Server::start(name, 4096)?;
        let clients = Clients::start(options(server.url(), n, 600.0));
        clients.settled(n, Duration::from_secs(60));
        thread::sleep(Duration::from_secs(1));
        let connected = clients.progress.connected() as u64;
        server.command(&format!("rate {}", args.rate));
        thread::sleep(Duration::from_secs(1));
        let (cpu0, published0) = (server.cpu(), server.published());
        let counting = SyscallCount::start(server.child.id(), args.seconds);
        thread::sleep(Duration::from_secs_f64(args.seconds));
        let (cpu1, published1) = (server.cpu(), server.published());
        let writes = counting.finish();
        server.command("rate 0");
        thread::sleep(Duration::from_secs(1));
        let published = server.published();
        let report = clients.finish()?;
        let deliveries = ((published1 - published0) * connected).max(1) as f64;
        rows.push(Paced {
            name: name.clone(),
            expected: published * connected,
            user: (cpu1.0 - cpu0.0) * 1e6 / deliveries,
            system: (cpu1.1 - cpu0.1) * 1e6 / deliveries,
            writes: writes.map(|(w, _)| w as f64 / deliveries),
            syscalls: writes.map(|(_, all)| all as f64 / deliveries),
            report,
        });
    }
    let floor = rows
        .iter()
        .find(|r| r.name == "floor")
        .map(|r| r.user + r.system);
    let axum_user = rows.iter().find(|r| r.name == "axum-sse").map(|r| r.user);
    println!(
        "\n### {n} connections at {} events/s: CPU per delivery, latency\n",
        args.rate
    );
    println!(
        "Steady window of {} s after all connected (1 s warm-up); CPU from /proc/PID/stat; writes: write, writev, sendto and sendmsg calls counted by `perf stat` on the server's tracepoints in the same window; syscalls: every system call in that window (epoll_wait, futex wake-ups, reads, writes).\n",
        args.seconds
    );
    println!(
        "| server | delivered / expected | user µs/delivery | kernel µs/delivery | total µs/delivery | total vs floor | user vs axum-sse | writes/delivery | syscalls/delivery | latency p50 / p99 / max (ms) |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|");
    for row in &rows {
        let latency = row.report.latency_us;
        let total = row.user + row.system;
        println!(
            "| {} | {}/{} | {:.2} | {:.2} | {:.2} | {} | {} | {} | {} | {} / {} / {} |",
            row.name,
            row.report.events,
            row.expected,
            row.user,
            row.system,
            total,
            floor.map_or("-".into(), |f| format!("{:.2}x", total / f)),
            axum_user.map_or("-".into(), |a| format!("{:.2}x", row.user / a)),
            row.writes.map_or("-".into(), |w| format!("{w:.2}")),
            row.syscalls.map_or("-".into(), |w| format!("{w:.2}")),
            ms(latency.map(|p| p.p50)),
            ms(latency.map(|p| p.p99)),
            ms(latency.map(|p| p.max)),
        );
    }
    Ok(())
}

fn burst(args: &Args) -> Result<(), String> {
    let n = args.connections.min(1000);
    println!("\n### Bursts to {n} connections\n");
    println!(
        "A tight loop of N events once all are connected; the window (hub, broadcast channel) is 1024.\n"
    );
    println!(
        "| server | burst | delivered / expected | per connection min / max | disconnects | connections told of a loss (sse-reset) | silent loss (fewer events, no reset) | took (ms) |"
    );
    println!("|---|---:|---:|---|---:|---:|---:|---:|");
    for size in [1000u64, 2048] {
        for name in &args.servers {
            let mut server = Server::start(name, 4096)?;
            let clients = Clients::start(options(server.url(), n, 120.0));
            clients.settled(n, Duration::from_secs(30));
            thread::sleep(Duration::from_millis(500));
            let connected = clients.progress.connected() as u64;
            let start = Instant::now();
            server.command(&format!("burst {size}"));
            let expected = size * connected;
            let (mut last, mut since) = (0, Instant::now());
            // Node's loop writes the whole burst before any of it goes out: allow 10 s without
            // progress before calling the burst delivered.
            while clients.progress.events() < expected && since.elapsed() < Duration::from_secs(10)
            {
                thread::sleep(Duration::from_millis(10));
                if clients.progress.events() != last {
                    last = clients.progress.events();
                    since = Instant::now();
                }
            }
            let took = start
                .elapsed()
                .saturating_sub(if clients.progress.events() < expected {
                    since.elapsed()
                } else {
                    Duration::ZERO
                });
            thread::sleep(Duration::from_millis(200));
            let report = clients.finish()?;
            println!(
                "| {name} | {size} | {}/{expected} | {} / {} | {} | {} | {} | {:.0} |",
                report.events,
                report.per_connection.0,
                report.per_connection.2,
                report.ended_by_server,
                report.reset_connections,
                silent(&report, size),
                took.as_secs_f64() * 1000.0
            );
        }
    }
    Ok(())
}

/// Connections that received fewer than `size` events and no reset. [`Report`] counts those
/// short of the best-served connection; when even that one is short of the burst, every
/// connection without a reset lost events silently.
fn silent(report: &Report, size: u64) -> usize {
    if report.per_connection.2 >= size {
        report.short_without_reset
    } else {
        report.connected - report.reset_connections
    }
}

fn stalled(args: &Args) -> Result<(), String> {
    let n = args.connections.min(1000);
    let stalled = n / 10;
    // Enough bytes that a connection that does not read fills the kernel's buffers (the
    // server's send buffer autotunes to about 4 MiB on loopback) and the server's own within
    // about 10 s, so the server has to decide about it well before the end.
    let (rate, pad, seconds) = (100, 4096, 35.0);
    println!("\n### {n} connections of which {stalled} never read\n");
    println!(
        "{rate} events/s of about {pad} bytes for {seconds:.0} s; publishing stops 6 s before the end; the stalled clients have a 4 KiB receive buffer and drain in the last 4 s to see whether the server ended them (the end of the body or of the connection).\n"
    );
    println!(
        "| server | stalled ended | readers ended | readers' events min / avg | RSS connected (MiB) | RSS max (MiB) | RSS end (MiB) |"
    );
    println!("|---|---:|---:|---|---:|---:|---:|");
    for name in &args.servers {
        let mut server = Server::start(name, 4096)?;
        server.command(&format!("pad {pad}"));
        let mut bench = options(server.url(), n, seconds);
        bench.stalled = stalled;
        let clients = Clients::start(bench);
        clients.settled(n, Duration::from_secs(30));
        let connected = server.rss_kib();
        server.command(&format!("rate {rate}"));
        let publishing = Instant::now();
        let quiet = Duration::from_secs_f64(seconds) - DRAIN - Duration::from_secs(2);
        let mut max = connected;
        let mut end = connected;
        while !clients.thread.is_finished() {
            thread::sleep(Duration::from_millis(250));
            end = server.rss_kib();
            max = max.max(end);
            if publishing.elapsed() >= quiet {
                // Publishing stops before the stalled clients drain, so the one client thread
                // reads them without the readers' traffic.
                server.command("rate 0");
            }
        }
        let report = clients.wait()?;
        println!(
            "| {name} | {}/{} | {} | {} / {:.0} | {} | {} | {} |",
            report.stalled_ended,
            report.stalled,
            report.ended_by_server,
            report.per_connection.0,
            report.per_connection.1,
            mib(connected),
            mib(max),
            mib(end)
        );
    }
    Ok(())
}

fn main() {
    let args = match parse_args() {
        Ok(args) => args,
        Err(message) => {
            eprintln!("scale: {message}");
            std::process::exit(2);
        }
    };
    // Room for the clients here and, inherited, for each server's sockets.
    raise_fd_limit(args.connections + 1024);
    println!(
        "## scale: {} connections, servers {}",
        args.connections,
        args.servers.join(", ")
    );
    for case in &args.cases {
        let result = match case.as_str() {
            "idle" => idle(&args),
            "connect" => connect(&args),
            "paced" => paced(&args),
            "burst" => burst(&args),
            _ => stalled(&args),
        };
        if let Err(e) = result {
            eprintln!("scale: {case}: {e}");
            std::process::exit(1);
        }
    }
}
