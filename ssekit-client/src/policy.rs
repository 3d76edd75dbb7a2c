//! [`ReconnectPolicy`]: how long to wait before reconnecting, and when to give up.

use core::time::Duration;

/// How an [`EventSource`](crate::EventSource) waits between connections.
///
/// # The delay
///
/// Let `base` be the reconnection time: the server's last valid `retry:` value if it sent one,
/// otherwise [`reconnection_time`](ReconnectPolicy::reconnection_time) (3 s by default, as in
/// browsers). The source waits
///
/// ```text
/// k = 0:  delay = base
/// k ≥ 1:  delay = min(max(base, floor) · 2^k, max(max_delay, base)) · (1 − jitter · u),   u uniform in [0, 1)
/// ```
///
/// where `k` counts what went wrong since things last went right:
///
/// ```text
/// k = f + max(0, e − n)
/// ```
///
/// - `f`: the reconnection attempts since the last successful open (the `open` item) that did
///   not open (a network error, a failed redirect, no response within the
///   [idle timeout](crate::EventSourceBuilder::idle_timeout)); `f = 0` for the first
///   reconnection after a connection that was open.
/// - `e`: the *empty connections* in a row, the one that just ended included: connections
///   that opened and then ended (end of the body, network error, idle timeout) without
///   dispatching a single event (an [`SseItem::Message`](crate::SseItem::Message)). Comments,
///   `retry:` fields, an `id:` without `data:` and an event cut off by the end of the stream
///   deliver no event. A connection that dispatches an event resets `e` to 0; attempts that
///   never opened leave it as it is.
/// - `n`: [`backoff_after_empty`](ReconnectPolicy::backoff_after_empty), 1 by default: the
///   first empty connection is reconnected after `base` (a proxy that cut an idle stream), the
///   ones after it back off. `None` never counts empty connections (`e` is taken as 0).
///
/// So a server that drops a healthy stream gets the reconnection it asked for, exactly; a
/// server that keeps failing, or keeps answering `200 OK` and closing without an event, sees
/// the waits double (capped at `max_delay`, 60 s by default, but never below the server's own
/// `retry`), and with `jitter` (0.5 by default) many clients spread out instead of reconnecting
/// in lockstep. The doubling starts from at least
/// [`backoff_floor`](ReconnectPolicy::backoff_floor) (50 ms by default), so a server's
/// `retry: 0` cannot turn repeated failures into a busy loop. With the defaults, a wait is
/// never shorter than `base`.
///
/// ## A difference from browsers
///
/// Browsers reconnect after the reconnection time however often a server answers and closes:
/// a server that answers `200 OK` with `retry: 0` and closes at once gets a new request as
/// fast as the network allows (thousands a second). The standard allows backing off ("if the
/// previous attempt failed, then user agents might introduce an exponential backoff delay");
/// this client counts an empty connection like a failed attempt once there were more than `n`
/// in a row. [`backoff_after_empty(None)`](ReconnectPolicy::backoff_after_empty) gives the
/// browser's behaviour for empty connections (failed attempts still back off, which the
/// standard allows and browsers do not do either).
///
/// # Giving up
///
/// [`max_retries`](ReconnectPolicy::max_retries) bounds `f`: when `f` reconnection attempts in a
/// row have not reached `open`, the next network error or end of stream closes the source
/// instead (ready state `Closed`, that error is the last item). Empty connections opened, so
/// they do not count here. [`ReconnectPolicy::never`] is `max_retries(Some(0))`: never
/// reconnect. The default retries forever, like a browser.
///
/// ```
/// use std::time::Duration;
/// use ssekit_client::ReconnectPolicy;
///
/// let policy = ReconnectPolicy::new()
///     .reconnection_time(Duration::from_secs(1))
///     .max_delay(Duration::from_secs(30))
///     .jitter(0.0)
///     .max_retries(Some(10));
/// let base = Duration::from_secs(1);
/// assert_eq!(policy.backoff(base, 0, 0.7), Duration::from_secs(1));
/// assert_eq!(policy.backoff(base, 3, 0.7), Duration::from_secs(8));
/// assert_eq!(policy.backoff(base, 9, 0.7), Duration::from_secs(30)); // capped
/// // `retry: 0` still backs off, from the floor (50 ms).
/// assert_eq!(policy.backoff(Duration::ZERO, 0, 0.7), Duration::ZERO);
/// assert_eq!(policy.backoff(Duration::ZERO, 2, 0.7), Duration::from_millis(200));
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
#[must_use = "a policy does nothing until given to EventSourceBuilder::reconnect"]
pub struct ReconnectPolicy {
    reconnection_time: Duration,
    max_delay: Duration,
    jitter: f64,
    max_retries: Option<u32>,
    backoff_floor: Duration,
    backoff_after_empty: Option<u32>,
}

impl Default for ReconnectPolicy {
    fn default() -> ReconnectPolicy {
        ReconnectPolicy::new()
    }
}

impl ReconnectPolicy {
    /// The reconnection time until the server sends `retry:`: 3 s, as in browsers.
    pub const DEFAULT_RECONNECTION_TIME: Duration = Duration::from_secs(3);
    /// The default cap on the backoff: 60 s.
    pub const DEFAULT_MAX_DELAY: Duration = Duration::from_secs(60);
    /// The default jitter fraction: 0.5 (a repeated-failure wait is cut by up to half).
    pub const DEFAULT_JITTER: f64 = 0.5;
    /// The default floor of the backoff: 50 ms (the doubling starts from at least this).
    pub const DEFAULT_BACKOFF_FLOOR: Duration = Duration::from_millis(50);
    /// The default number of empty connections in a row reconnected without backoff: 1.
    pub const DEFAULT_BACKOFF_AFTER_EMPTY: Option<u32> = Some(1);

    /// The defaults: 3 s reconnection time, backoff from at least 50 ms capped at 60 s,
    /// jitter 0.5, backoff from the second empty connection in a row on, retry forever.
    pub const fn new() -> ReconnectPolicy {
        ReconnectPolicy {
            reconnection_time: ReconnectPolicy::DEFAULT_RECONNECTION_TIME,
            max_delay: ReconnectPolicy::DEFAULT_MAX_DELAY,
            jitter: ReconnectPolicy::DEFAULT_JITTER,
            max_retries: None,
            backoff_floor: ReconnectPolicy::DEFAULT_BACKOFF_FLOOR,
            backoff_after_empty: ReconnectPolicy::DEFAULT_BACKOFF_AFTER_EMPTY,
        }
    }

    /// Never reconnect: the first network error or end of stream closes the source.
    ///
    /// ```
    /// # use ssekit_client::ReconnectPolicy;
    /// assert_eq!(ReconnectPolicy::never().get_max_retries(), Some(0));
    /// ```
    pub const fn never() -> ReconnectPolicy {
        ReconnectPolicy::new().max_retries(Some(0))
    }

    /// Sets the reconnection time used until the server sends a valid `retry:` field.
    pub const fn reconnection_time(mut self, delay: Duration) -> ReconnectPolicy {
        self.reconnection_time = delay;
        self
    }

    /// Sets the cap on the exponential backoff (a server's `retry:` above it still wins).
    pub const fn max_delay(mut self, delay: Duration) -> ReconnectPolicy {
        self.max_delay = delay;
        self
    }

    /// Sets the jitter fraction, clamped to `0.0..=1.0` (NaN counts as 0): a repeated-failure
    /// wait is multiplied by a random factor in `(1 - jitter, 1]`.
    pub fn jitter(mut self, fraction: f64) -> ReconnectPolicy {
        self.jitter = unit_interval(fraction);
        self
    }

    /// Sets how many reconnection attempts in a row may fail to open before the source gives
    /// up; `None` (the default) retries forever.
    pub const fn max_retries(mut self, retries: Option<u32>) -> ReconnectPolicy {
        self.max_retries = retries;
        self
    }

    /// Sets the floor of the backoff: a wait with `k ≥ 1` doubles from `max(base, floor)`, so
    /// a tiny or zero `retry:` still backs off (default 50 ms). The first reconnection after an
    /// open (`k = 0`) waits `base`, whatever the floor.
    pub const fn backoff_floor(mut self, floor: Duration) -> ReconnectPolicy {
        self.backoff_floor = floor;
        self
    }

    /// Sets how many *empty connections* in a row (opened, then ended without dispatching an
    /// event) are reconnected after the plain reconnection time; each one after those counts
    /// like a failed attempt in the backoff (`n` in the [type docs](ReconnectPolicy)). Default
    /// `Some(1)`; `Some(0)` backs off from the first empty connection; `None` never backs off
    /// for empty connections, as browsers.
    ///
    /// ```
    /// # use ssekit_client::ReconnectPolicy;
    /// let browser_like = ReconnectPolicy::new().backoff_after_empty(None);
    /// assert_eq!(browser_like.get_backoff_after_empty(), None);
    /// ```
    pub const fn backoff_after_empty(mut self, connections: Option<u32>) -> ReconnectPolicy {
        self.backoff_after_empty = connections;
        self
    }

    /// The reconnection time used until the server sends `retry:` (set by
    /// [`reconnection_time`](Self::reconnection_time); getters are the setters' names with
    /// `get_`, as on `std::process::Command`).
    pub const fn get_reconnection_time(&self) -> Duration {
        self.reconnection_time
    }

    /// The cap on the backoff.
    pub const fn get_max_delay(&self) -> Duration {
        self.max_delay
    }

    /// The jitter fraction.
    pub const fn get_jitter(&self) -> f64 {
        self.jitter
    }

    /// How many failed reconnection attempts in a row are allowed; `None`: no limit.
    pub const fn get_max_retries(&self) -> Option<u32> {
        self.max_retries
    }

    /// The floor the backoff doubles from.
    pub const fn get_backoff_floor(&self) -> Duration {
        self.backoff_floor
    }

    /// How many empty connections in a row are reconnected without backoff; `None`: all.
    pub const fn get_backoff_after_empty(&self) -> Option<u32> {
        self.backoff_after_empty
    }

    /// How many of `empty` empty connections in a row count in `k` (`max(0, e − n)`).
    pub(crate) fn empty_penalty(&self, empty: u32) -> u32 {
        self.backoff_after_empty
            .map_or(0, |free| empty.saturating_sub(free))
    }

    /// The wait before reconnection attempt `k + 1`, given the reconnection time `base` and a
    /// random `unit` in `[0, 1)` (clamped), by the formula in the [type docs](ReconnectPolicy).
    ///
    /// ```
    /// use std::time::Duration;
    /// use ssekit_client::ReconnectPolicy;
    ///
    /// let policy = ReconnectPolicy::new(); // jitter 0.5, cap 60 s
    /// let base = Duration::from_millis(100);
    /// assert_eq!(policy.backoff(base, 0, 0.99), base); // right after an open: no jitter
    /// assert_eq!(policy.backoff(base, 2, 0.0), Duration::from_millis(400));
    /// assert_eq!(policy.backoff(base, 2, 0.5), Duration::from_millis(300));
    /// ```
    pub fn backoff(&self, base: Duration, k: u32, unit: f64) -> Duration {
        if k == 0 {
            return base;
        }
        let cap = self.max_delay.max(base);
        let grown = base
            .max(self.backoff_floor)
            .saturating_mul(1u32 << k.min(31))
            .min(cap);
        // The factor is in [0, 1] and `grown` is a finite Duration: `mul_f64` cannot overflow.
        grown.mul_f64(1.0 - self.jitter * unit_interval(unit))
    }
}

fn unit_interval(x: f64) -> f64 {
    if x.is_nan() { 0.0 } else { x.clamp(0.0, 1.0) }
}

/// A uniform random number in `[0, 1)` for the jitter, from the standard library's randomly
/// keyed hasher (no RNG dependency; the quality needed here is "not in lockstep").
pub(crate) fn random_unit() -> f64 {
    use std::hash::{BuildHasher, RandomState};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let bits = RandomState::new().hash_one(COUNTER.fetch_add(1, Ordering::Relaxed));
    (bits >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn first_reconnect_after_open_waits_exactly_base() {
        let policy = ReconnectPolicy::new();
        for unit in [0.0, 0.5, 0.999] {
            assert_eq!(policy.backoff(50 * MS, 0, unit), 50 * MS);
        }
    }

    #[test]
    fn repeated_failures_double_and_cap() {
        let policy = ReconnectPolicy::new().jitter(0.0).max_delay(1000 * MS);
        let waits: Vec<_> = (0..8).map(|k| policy.backoff(100 * MS, k, 0.3)).collect();
        assert_eq!(
            waits,
            [100, 200, 400, 800, 1000, 1000, 1000, 1000].map(|n| n * MS)
        );
        // Huge k saturates instead of overflowing.
        assert_eq!(policy.backoff(100 * MS, u32::MAX, 0.3), 1000 * MS);
    }

    #[test]
    fn server_retry_above_the_cap_still_wins() {
        let policy = ReconnectPolicy::new().jitter(0.0).max_delay(MS);
        assert_eq!(policy.backoff(5000 * MS, 3, 0.0), 5000 * MS);
    }

    #[test]
    fn a_zero_retry_backs_off_from_the_floor() {
        let policy = ReconnectPolicy::new().jitter(0.0);
        let waits: Vec<_> = (0..4)
            .map(|k| policy.backoff(Duration::ZERO, k, 0.0))
            .collect();
        assert_eq!(waits, [0, 100, 200, 400].map(|n| n * MS));
        let no_floor = policy.backoff_floor(Duration::ZERO);
        assert_eq!(no_floor.backoff(Duration::ZERO, 5, 0.0), Duration::ZERO);
    }

    #[test]
    fn empty_connections_count_after_the_allowance() {
        let policy = ReconnectPolicy::new();
        assert_eq!(
            (0..4).map(|e| policy.empty_penalty(e)).collect::<Vec<_>>(),
            [0, 0, 1, 2]
        );
        let strict = policy.backoff_after_empty(Some(0));
        assert_eq!(strict.empty_penalty(1), 1);
        let browser = policy.backoff_after_empty(None);
        assert_eq!(browser.empty_penalty(u32::MAX), 0);
    }

    #[test]
    fn jitter_stays_within_its_fraction() {
        let policy = ReconnectPolicy::new().jitter(0.5);
        for _ in 0..1000 {
            let wait = policy.backoff(100 * MS, 1, random_unit());
            assert!(wait > 100 * MS && wait <= 200 * MS, "{wait:?}");
        }
        assert_eq!(ReconnectPolicy::new().jitter(f64::NAN).get_jitter(), 0.0);
        assert_eq!(ReconnectPolicy::new().jitter(7.0).get_jitter(), 1.0);
        assert_eq!(policy.backoff(100 * MS, 1, f64::NAN), 200 * MS);
    }

    #[test]
    fn random_unit_is_in_range_and_varies() {
        let draws: Vec<f64> = (0..100).map(|_| random_unit()).collect();
        assert!(draws.iter().all(|u| (0.0..1.0).contains(u)));
        assert!(draws.windows(2).any(|w| w[0] != w[1]));
    }
}
