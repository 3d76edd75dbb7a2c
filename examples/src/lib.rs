//! # examples
//!
//! Runnable programs, each one idea: the classic clock stream, served by each of the three
//! framework adapters with the same browser page, and a chat that resumes after
//! `Last-Event-ID` without losing a message ([`chat`], [`chat_axum`]; see
//! [below](#the-chat)). The clock:
//!
//! ```sh
//! cargo run -p examples --bin clock-axum    # or clock-actix, clock-warp
//! # listening on http://127.0.0.1:8844/     (PORT=0 picks any free port)
//! curl -sN http://127.0.0.1:8844/stream
//! # retry: 10000
//! # event: connecttime
//! # data: 2026-11-26 06:30:00 UTC
//! #
//! # id: 1
//! # data: 2026-11-26 06:30:01 UTC
//! # ...
//! ```
//!
//! Everything the three servers share lives here: the clock [`Clock`] and its event stream
//! ([`clock_stream`]), the page ([`CLOCK_HTML`]), the per-connection bookkeeping
//! ([`ClockState`]), and the start-up helpers ([`addr_from_env`], [`bind`]; the shutdown on
//! Ctrl-C or `SIGTERM` is [`ssekit::Shutdown::trigger_on_signals`]). The framework glue is one small module per framework
//! ([`clock_axum`], [`clock_actix`], [`clock_warp`]), so the three read side by side; the
//! binaries in `src/bin` only bind, print the address and serve.
//!
//! ## What the clock does
//!
//! - On connect, one event with `retry: 10000`, `event: connecttime` and the current time.
//! - Then a `message` event every second with the current time (`2026-11-26 06:30:01 UTC`) and
//!   an `id:` that counts up.
//! - A reconnecting browser sends `Last-Event-ID`; the count resumes after it (a value that is
//!   not a `u64` starts over at 0).
//! - When the client leaves, the server drops the stream and its timer with it (the Rust
//!   equivalent of `clearInterval` in a `close` handler); the drop is logged to stderr as
//!   `client left, timer stopped` (or `server shutting down, timer stopped`).
//! - Ctrl-C or `SIGTERM` ends every open stream ([`ssekit::Shutdown`]), so the graceful shutdown
//!   finishes at once.
//!
//! ## The chat
//!
//! ```sh
//! cargo run -p examples --bin chat-axum
//! # listening on http://127.0.0.1:8845/     (PORT=0 picks any free port)
//! curl -sN http://127.0.0.1:8845/events &
//! curl -s -d '{"user": "ada", "text": "hello"}' http://127.0.0.1:8845/send
//! # {"id":"1"}
//! # event: chat
//! # id: 1
//! # data: {"user":"ada","text":"hello","time":"2026-11-26 06:30:01 UTC"}
//! curl -sN -H 'Last-Event-ID: 1' http://127.0.0.1:8845/events   # or ?lastEventId=1
//! # (every message after 1, then live ones)
//! ```
//!
//! Open the page in two tabs: what one sends, both show. Press "disconnect", send from the
//! other tab, press "reconnect": the page opens `/events?lastEventId=<the last id it saw>` and
//! the missed messages arrive, once each, before the live ones. Every message goes through a
//! [`ssekit::hub::Hub`] ([`chat::ChatState`]), wired to the endpoint in one call,
//! [`ssekit_axum::Sse::from_broadcast`]; the same call exists in `ssekit-actix-web` and `ssekit-warp`.
//!
//! ## In production
//!
//! [`deploy`] is the event endpoint the deployment tests run behind nginx, under compression
//! middleware, over HTTP/2 and through rolling restarts (`retry:` on connect, a spread-out
//! `retry:` on shutdown, an explicit keep-alive). [`tls`] serves it over TLS with HTTP/2:
//! `cargo run -p examples --bin tls-h2`, a page with 10 streams on one origin. `news-redis` is
//! one instance of a feed on Redis Streams that stops gracefully on `SIGTERM`:
//!
//! ```sh
//! PORT=8846 cargo run -p examples --bin news-redis &     # REDIS_URL=redis://127.0.0.1:6379
//! PORT=8847 cargo run -p examples --bin news-redis &
//! curl -sN http://127.0.0.1:8846/events &
//! curl -s -d 'hello' http://127.0.0.1:8847/publish      # 1718000000000-0
//! ```

use std::convert::Infallible;
use std::fmt;
use std::io;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_core::Stream;
use ssekit::Shutdown;
use ssekit_proto::Event;
use tokio::time::{Instant, Interval, MissedTickBehavior};

pub mod chat;
pub mod chat_axum;
pub mod clock_actix;
pub mod clock_axum;
pub mod clock_warp;
pub mod deploy;
pub mod rooms_axum;
pub mod server;
pub mod tls;

/// The clock's browser page (`static/clock.html`), served at `/` by every clock server.
///
/// It opens `new EventSource('/stream')` and shows the `readyState`, the `connecttime` event,
/// the messages (newest first, with their `lastEventId`) and the errors.
pub const CLOCK_HTML: &str = include_str!("../static/clock.html");

/// The port the clock servers listen on unless `PORT` says otherwise.
pub const DEFAULT_PORT: u16 = 8844;

/// Formats a time as `2026-11-26 06:30:01 UTC` (UTC, whole seconds, proleptic Gregorian).
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
///
/// let t = UNIX_EPOCH + Duration::from_secs(1_795_674_601);
/// assert_eq!(examples::format_utc(t), "2026-11-26 06:30:01 UTC");
/// ```
pub fn format_utc(time: SystemTime) -> String {
    let secs: i64 = match time.duration_since(UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_secs()).unwrap_or(i64::MAX),
        // Before 1970: round down to the whole second.
        Err(before) => {
            let before = before.duration();
            let whole = i64::try_from(before.as_secs()).unwrap_or(i64::MAX);
            -whole - i64::from(before.subsec_nanos() > 0)
        }
    };
    let (days, secs_of_day) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        secs_of_day / 3600,
        secs_of_day / 60 % 60,
        secs_of_day % 60
    )
}

/// The current time, formatted by [`format_utc`].
pub fn now_utc() -> String {
    format_utc(SystemTime::now())
}

/// Days since 1970-01-01 to (year, month, day): Howard Hinnant's `civil_from_days`.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153; // March = 0
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// The clock's settings: how often it ticks, and the reconnection time it asks clients for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Clock {
    /// Time between two clock events (default 1 s).
    pub tick: Duration,
    /// The `retry:` sent in the `connecttime` event (default 10 s).
    pub retry: Duration,
}

impl Clock {
    /// The default tick: one second.
    pub const TICK: Duration = Duration::from_secs(1);
    /// The default reconnection time: ten seconds (`retry: 10000` on the wire).
    pub const RETRY: Duration = Duration::from_secs(10);

    /// The event stream of one connection: the `connecttime` event at once, then a clock event
    /// every [`Clock::tick`] with ids `start_id + 1`, `start_id + 2`, ...
    ///
    /// Needs a tokio runtime with time enabled when polled. Dropping the stream stops its timer
    /// and logs `client left, timer stopped` to stderr.
    pub fn stream(&self, start_id: u64) -> ClockStream {
        ClockStream {
            connect: Some(connect_event(self.retry)),
            tick: self.tick,
            interval: None,
            last_id: start_id,
            live: None,
            shutdown: None,
        }
    }
}

impl Default for Clock {
    fn default() -> Self {
        Clock {
            tick: Clock::TICK,
            retry: Clock::RETRY,
        }
    }
}

/// The clock event stream of one connection, with `retry: 10000`; see [`Clock::stream`].
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
/// use std::time::Duration;
/// use futures_util::StreamExt;
///
/// let mut clock = examples::clock_stream(41, Duration::from_millis(10));
/// let connect = clock.next().await.unwrap();
/// assert_eq!(connect.event_name(), Some("connecttime"));
/// assert_eq!(connect.retry(), Some(Duration::from_secs(10)));
/// assert_eq!(clock.next().await.unwrap().id(), Some("42"));
/// # });
/// ```
pub fn clock_stream(start_id: u64, tick: Duration) -> impl Stream<Item = Event> + Send + 'static {
    Clock {
        tick,
        ..Clock::default()
    }
    .stream(start_id)
}

fn connect_event(retry: Duration) -> Event {
    Event::builder()
        .retry(retry)
        .event("connecttime")
        .data(now_utc())
        .build()
        .expect("a constant event name without line ends is valid")
}

fn tick_event(id: u64) -> Event {
    Event::builder()
        .id(id.to_string())
        .data(now_utc())
        .build()
        .expect("a decimal id is valid")
}

/// The stream returned by [`Clock::stream`].
pub struct ClockStream {
    connect: Option<Event>,
    tick: Duration,
    /// Created on the first poll after the `connecttime` event, so building the stream needs
    /// no runtime.
    interval: Option<Interval>,
    last_id: u64,
    /// Decremented on drop; see [`ClockState::live_streams`].
    live: Option<Arc<AtomicUsize>>,
    /// Tells, on drop, a shutdown from a client that left.
    shutdown: Option<Shutdown>,
}

impl fmt::Debug for ClockStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClockStream")
            .field("tick", &self.tick)
            .field("last_id", &self.last_id)
            .finish_non_exhaustive()
    }
}

impl Stream for ClockStream {
    type Item = Event;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Event>> {
        let this = self.get_mut();
        if let Some(event) = this.connect.take() {
            return Poll::Ready(Some(event));
        }
        let tick = this.tick.max(Duration::from_millis(1));
        let interval = this.interval.get_or_insert_with(|| {
            let mut interval = tokio::time::interval_at(Instant::now() + tick, tick);
            interval.set_missed_tick_behavior(MissedTickBehavior::Delay);
            interval
        });
        match interval.poll_tick(cx) {
            Poll::Ready(_) => {
                // `wrapping_add`: a client may send `Last-Event-ID: 18446744073709551615`.
                this.last_id = this.last_id.wrapping_add(1);
                Poll::Ready(Some(tick_event(this.last_id)))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl Drop for ClockStream {
    fn drop(&mut self) {
        // The server drops the stream when the client goes away (or on shutdown): the timer
        // goes with it. This is the `clearInterval` of the classic Node.js example.
        let why = match &self.shutdown {
            Some(shutdown) if shutdown.is_triggered() => "server shutting down",
            _ => "client left",
        };
        eprintln!("{why}, timer stopped (last id {})", self.last_id);
        if let Some(live) = &self.live {
            live.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

/// Where each connection's `Last-Event-ID` is written down, in order (`None`: the request had
/// none). Tests use it to see what a reconnecting browser sent.
pub type SeenIds = Arc<Mutex<Vec<Option<String>>>>;

/// What every clock handler shares: the clock settings, the shutdown handle, and bookkeeping.
///
/// Cheap to clone (the handles inside are shared).
#[derive(Debug, Clone, Default)]
pub struct ClockState {
    /// The clock each connection gets.
    pub clock: Clock,
    /// Triggered on Ctrl-C; every stream ends on it and the server shuts down gracefully.
    pub shutdown: Shutdown,
    /// When set, each connection's `Last-Event-ID` is pushed here.
    pub seen_ids: Option<SeenIds>,
    live: Arc<AtomicUsize>,
}

impl ClockState {
    /// The default clock (1 s ticks, `retry: 10000`), a fresh shutdown handle, no id log.
    pub fn new() -> ClockState {
        ClockState::default()
    }

    /// Sets the clock.
    pub fn with_clock(mut self, clock: Clock) -> ClockState {
        self.clock = clock;
        self
    }

    /// Records every connection's `Last-Event-ID` in `seen_ids`.
    pub fn record_ids(mut self, seen_ids: SeenIds) -> ClockState {
        self.seen_ids = Some(seen_ids);
        self
    }

    /// The stream for a new connection whose request carried `last_event_id` (from the
    /// adapter's `LastEventId` extractor): ids continue after it when it is a `u64`, else start
    /// at 1.
    ///
    /// The items are `Result`s, as the adapters' `Sse::new` takes them; the clock never fails.
    pub fn connect(
        &self,
        last_event_id: Option<String>,
    ) -> impl Stream<Item = Result<Event, Infallible>> + Send + use<> {
        let start_id = start_id(last_event_id.as_deref());
        eprintln!("client connected (Last-Event-ID: {last_event_id:?}), ids from {start_id} + 1");
        if let Some(seen) = &self.seen_ids {
            seen.lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(last_event_id);
        }
        self.live.fetch_add(1, Ordering::SeqCst);
        let mut stream = self.clock.stream(start_id);
        stream.live = Some(Arc::clone(&self.live));
        stream.shutdown = Some(self.shutdown.clone());
        futures_util::StreamExt::map(stream, Ok)
    }

    /// How many clock streams are alive right now (connected and not yet dropped).
    pub fn live_streams(&self) -> usize {
        self.live.load(Ordering::SeqCst)
    }
}

/// The id a resumed clock counts on from: the `Last-Event-ID` as a `u64`, else 0.
///
/// ```
/// assert_eq!(examples::start_id(Some("41")), 41);
/// assert_eq!(examples::start_id(Some("abc")), 0);
/// assert_eq!(examples::start_id(None), 0);
/// ```
pub fn start_id(last_event_id: Option<&str>) -> u64 {
    last_event_id.and_then(|id| id.parse().ok()).unwrap_or(0)
}

/// The address to listen on: `127.0.0.1`, port from the `PORT` environment variable (`0` means
/// any free port), [`DEFAULT_PORT`] when it is not set.
pub fn addr_from_env() -> io::Result<SocketAddr> {
    addr_from_env_or(DEFAULT_PORT)
}

/// Like [`addr_from_env`], with `default_port` when `PORT` is not set.
pub fn addr_from_env_or(default_port: u16) -> io::Result<SocketAddr> {
    let port = match std::env::var("PORT") {
        Ok(port) => port.trim().parse::<u16>().map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("PORT={port:?} is not a port number: {e}"),
            )
        })?,
        Err(std::env::VarError::NotPresent) => default_port,
        Err(e) => return Err(io::Error::new(io::ErrorKind::InvalidInput, e)),
    };
    Ok(SocketAddr::from((Ipv4Addr::LOCALHOST, port)))
}

/// Binds a non-blocking listener (what every framework takes) on `addr`.
pub fn bind(addr: SocketAddr) -> io::Result<TcpListener> {
    let listener = TcpListener::bind(addr)?;
    listener.set_nonblocking(true)?;
    Ok(listener)
}

/// Binds [`addr_from_env`] and prints `listening on http://127.0.0.1:PORT/` on stdout.
pub fn bind_from_env() -> io::Result<TcpListener> {
    bind_from_env_or(DEFAULT_PORT)
}

/// Binds [`addr_from_env_or`]`(default_port)` and prints `listening on http://127.0.0.1:PORT/`
/// on stdout.
pub fn bind_from_env_or(default_port: u16) -> io::Result<TcpListener> {
    let listener = bind(addr_from_env_or(default_port)?)?;
    println!("listening on http://{}/", listener.local_addr()?);
    Ok(listener)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> String {
        let time = if secs >= 0 {
            UNIX_EPOCH + Duration::from_secs(secs.unsigned_abs())
        } else {
            UNIX_EPOCH - Duration::from_secs(secs.unsigned_abs())
        };
        format_utc(time)
    }

    #[test]
    fn formats_utc() {
        assert_eq!(at(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(at(-1), "1969-12-31 23:59:59 UTC");
        assert_eq!(at(951_868_799), "2000-02-29 23:59:59 UTC");
        assert_eq!(at(1_795_674_601), "2026-11-26 06:30:01 UTC");
        assert_eq!(at(4_107_542_400), "2100-03-01 00:00:00 UTC");
        let half_second_before = UNIX_EPOCH - Duration::from_millis(500);
        assert_eq!(format_utc(half_second_before), "1969-12-31 23:59:59 UTC");
    }

    #[test]
    fn every_day_round_trips() {
        // Walk four centuries day by day: the date advances by exactly one each time.
        let (mut y, mut m, mut d) = civil_from_days(-1);
        assert_eq!((y, m, d), (1969, 12, 31));
        for days in 0..146_097 {
            let next = civil_from_days(days);
            let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
            let month_len = match m {
                2 if leap => 29,
                2 => 28,
                4 | 6 | 9 | 11 => 30,
                _ => 31,
            };
            let expected = if d < month_len {
                (y, m, d + 1)
            } else if m < 12 {
                (y, m + 1, 1)
            } else {
                (y + 1, 1, 1)
            };
            assert_eq!(next, expected, "day {days}");
            (y, m, d) = next;
        }
    }

    #[tokio::test(start_paused = true)]
    async fn stream_sends_connecttime_then_counted_ticks_and_tracks_liveness() {
        use futures_util::StreamExt;

        let seen = SeenIds::default();
        let state = ClockState::new().record_ids(Arc::clone(&seen));
        let mut stream = Box::pin(state.connect(Some("7".into())));
        assert_eq!(state.live_streams(), 1);
        let Some(Ok(first)) = stream.next().await else {
            panic!("no connecttime event")
        };
        let wire = String::from_utf8(first.to_vec()).unwrap();
        assert!(
            wire.starts_with("retry: 10000\nevent: connecttime\ndata: "),
            "{wire:?}"
        );
        for id in ["8", "9"] {
            let Some(Ok(tick)) = stream.next().await else {
                panic!("no tick")
            };
            assert_eq!(tick.id(), Some(id));
            assert!(tick.data().unwrap().ends_with(" UTC"));
        }
        drop(stream);
        assert_eq!(state.live_streams(), 0);
        assert_eq!(*seen.lock().unwrap(), [Some("7".to_owned())]);
    }

    #[test]
    fn start_id_wraps_instead_of_overflowing() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .unwrap();
        rt.block_on(async {
            use futures_util::StreamExt;
            let mut clock = Clock::default().stream(u64::MAX);
            clock.next().await;
            assert_eq!(clock.next().await.unwrap().id(), Some("0"));
        });
    }
}

/// The workspace README: every Rust snippet in it is compiled and run as a doctest of this
/// crate, so the README cannot drift from the API.
#[doc = include_str!("../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
