//! Telling a stalled subscriber from one that has not been scheduled yet: the rule the
//! [`Hub`](crate::hub::Hub) and the [`Broker`](crate::broker::Broker) share (see
//! [`HubConfig::stall_timeout`](crate::hub::HubConfig::stall_timeout)).

use std::time::{Duration, Instant};

/// A subscriber's progress as the sweeps see it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Progress {
    /// Woken by a publish (or never polled) and not polled since: it keeps up whenever it
    /// runs, so it cannot be stalled.
    woken: bool,
    /// Its cursor at the last sweep, to tell whether it moved since.
    mark: u64,
    /// The first sweep that found it behind without progress.
    stalled_since: Option<Instant>,
}

impl Progress {
    /// A new subscription at `cursor`. Not polled yet (the response has not started): it is
    /// not behind by its own doing.
    pub(crate) fn new(cursor: u64) -> Progress {
        Progress {
            woken: true,
            mark: cursor,
            stalled_since: None,
        }
    }

    /// A publish woke it.
    pub(crate) fn woken(&mut self) {
        self.woken = true;
    }

    /// It is being polled.
    pub(crate) fn polled(&mut self) {
        self.woken = false;
    }

    /// At a sweep at `now`: true when it has been stalled for `timeout`, that is `behind`,
    /// not woken, and its `cursor` unmoved at every sweep since the first that found it so,
    /// `timeout` ago or more.
    pub(crate) fn stalled(
        &mut self,
        behind: bool,
        cursor: u64,
        now: Instant,
        timeout: Duration,
    ) -> bool {
        if !behind || self.woken || cursor != self.mark {
            self.mark = cursor;
            self.stalled_since = None;
            return false;
        }
        let since = *self.stalled_since.get_or_insert(now);
        now.duration_since(since) >= timeout
    }

    /// Starts counting again (it was skipped ahead).
    pub(crate) fn restart(&mut self) {
        self.stalled_since = None;
    }
}
