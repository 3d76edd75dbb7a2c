//! Where the hub and the broker read the time: a [`Clock`].
//!
//! Time matters to them in one place: the stall rule (see
//! [`HubConfig::stall_timeout`](crate::hub::HubConfig::stall_timeout)) ends a subscriber that
//! has been behind without progress for a while. By default they read
//! [`Instant::now`] ([`SystemClock`]); a test gives them a [`ManualClock`] and moves it itself,
//! so it asserts on what happens at a time, not on how long the machine took.
//!
//! ```
//! use std::time::Duration;
//! use ssekit::clock::ManualClock;
//! use ssekit::hub::{Hub, HubConfig};
//!
//! let clock = ManualClock::new();
//! let hub = Hub::with_config(HubConfig::default().clock(clock.clone()));
//! clock.advance(Duration::from_secs(5)); // what the hub's next sweep sees as now
//! # drop(hub);
//! ```

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A source of the current [`Instant`].
pub trait Clock: Send + Sync + 'static {
    /// The current instant.
    fn now(&self) -> Instant;
}

/// The real clock: [`Instant::now`]. The default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }
}

/// A clock that moves only when told to ([`ManualClock::advance`]), for tests. Clones share
/// one time.
#[derive(Clone)]
pub struct ManualClock {
    start: Instant,
    elapsed: Arc<Mutex<Duration>>,
}

impl ManualClock {
    /// A clock standing at the moment it is made.
    pub fn new() -> ManualClock {
        ManualClock {
            start: Instant::now(),
            elapsed: Arc::new(Mutex::new(Duration::ZERO)),
        }
    }

    /// Moves the clock (and every clone of it) `by` forward.
    pub fn advance(&self, by: Duration) {
        *crate::window::lock(&self.elapsed) += by;
    }

    /// How far it has been moved since it was made.
    pub fn elapsed(&self) -> Duration {
        *crate::window::lock(&self.elapsed)
    }
}

impl Default for ManualClock {
    fn default() -> Self {
        ManualClock::new()
    }
}

impl fmt::Debug for ManualClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ManualClock")
            .field("elapsed", &self.elapsed())
            .finish()
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Instant {
        self.start + self.elapsed()
    }
}

/// The clock a setting holds: none given is the [`SystemClock`]. Two are equal when they
/// are the same clock.
#[derive(Clone, Default)]
pub(crate) struct ClockSetting(Option<Arc<dyn Clock>>);

impl ClockSetting {
    pub(crate) fn new(clock: impl Clock) -> ClockSetting {
        ClockSetting(Some(Arc::new(clock)))
    }

    pub(crate) fn now(&self) -> Instant {
        match &self.0 {
            Some(clock) => clock.now(),
            None => Instant::now(),
        }
    }
}

impl PartialEq for ClockSetting {
    fn eq(&self, other: &ClockSetting) -> bool {
        match (&self.0, &other.0) {
            (None, None) => true,
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}

impl Eq for ClockSetting {}

impl fmt::Debug for ClockSetting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            None => f.write_str("SystemClock"),
            Some(_) => f.write_str("Clock"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_moves_only_when_told_and_its_clones_with_it() {
        let clock = ManualClock::new();
        let clone = clock.clone();
        let before = clock.now();
        assert_eq!(clock.now(), before);
        clone.advance(Duration::from_secs(3));
        assert_eq!(clock.now(), before + Duration::from_secs(3));
        assert_eq!(clock.elapsed(), Duration::from_secs(3));
    }

    #[test]
    fn settings_are_equal_when_they_hold_the_same_clock() {
        assert_eq!(ClockSetting::default(), ClockSetting::default());
        let one = ClockSetting::new(ManualClock::new());
        assert_eq!(one, one.clone());
        assert_ne!(one, ClockSetting::new(ManualClock::new()));
        assert_ne!(one, ClockSetting::default());
    }
}
