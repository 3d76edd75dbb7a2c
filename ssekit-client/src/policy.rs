//! [`ReconnectPolicy`]: how long to wait before reconnecting, and when to give up.

use core::time::Duration;

/// How an [`EventSource`](crate::EventSource) waits between connections.
///
/// # The delay
///
/// Let `base` be the reconnection time: the server's last valid `retry:` value if it sent one,
/// otherwise [`reconnection_time`](ReconnectPolicy::reconnection_time) (3 s by default, as in
/// browsers). Let `k` be the number of reconnection attempts since the last successful open
/// (the `open` item), so `k = 0` for the first reconnection after a connection that was open.
/// The source waits
///
/// ```text
/// k = 0:  delay = base
/// k ≥ 1:  delay = min(base · 2^k, max(max_delay, base)) · (1 − jitter · u),   u uniform in [0, 1)
/// ```
///
/// So a server that drops a healthy stream gets the reconnection it asked for, exactly; a
/// server that keeps failing sees the waits double (capped at `max_delay`, 60 s by default, but
/// never below the server's own `retry`), and with `jitter` (0.5 by default) many clients
/// spread out instead of reconnecting in lockstep. With the defaults, a wait is never shorter
/// than `base`. A successful open resets `k` to 0.
///
/// # Giving up
///
/// [`max_retries`](ReconnectPolicy::max_retries) bounds `k`: when `k` reconnection attempts in a
/// row have not reached `open`, the next network error or end of stream closes the source
/// instead (ready state `Closed`, that error is the last item). [`ReconnectPolicy::never`] is
/// `max_retries(Some(0))`: never reconnect. The default retries forever, like a browser.
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
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
#[must_use = "a policy does nothing until given to EventSourceBuilder::reconnect"]
pub struct ReconnectPolicy {
    reconnection_time: Duration,
    max_delay: Duration,
    jitter: f64,
    max_retries: Option<u32>,
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

    /// The defaults: 3 s reconnection time, backoff capped at 60 s, jitter 0.5, retry forever.
    pub const fn new() -> ReconnectPolicy {
        ReconnectPolicy {
            reconnection_time: ReconnectPolicy::DEFAULT_RECONNECTION_TIME,
            max_delay: ReconnectPolicy::DEFAULT_MAX_DELAY,
            jitter: ReconnectPolicy::DEFAULT_JITTER,
            max_retries: None,
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
        let grown = base.saturating_mul(1u32 << k.min(31)).min(cap);
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
