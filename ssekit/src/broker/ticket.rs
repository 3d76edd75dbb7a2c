//! [`Ticket`]: an admitted subscription, not started yet.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use super::{Broker, BrokerResume, BrokerSubscription, Selection, Shared};
use crate::Broadcast;

/// An admitted subscription, not started yet: what [`Broker::admit`] returns. It implements
/// [`Broadcast`], so an adapter serves it with `Sse::from_broadcast(&ticket, &last_event_id)`.
///
/// It counts against the admission limits from admission until its subscription is dropped
/// (or, unused, until it is dropped). Subscribing a second time checks the limits again, and
/// gives a stream that ends at once when they are reached.
pub struct Ticket {
    pub(super) shared: Arc<Shared>,
    pub(super) keys: Box<[Arc<str>]>,
    pub(super) selection: Selection,
    pub(super) unused: AtomicBool,
    /// When its grant ends (see [`Authorize::grant`](super::Authorize::grant)).
    pub(super) expires: Option<std::time::SystemTime>,
}

impl std::fmt::Debug for Ticket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ticket")
            .field("selection", &self.selection)
            .finish()
    }
}

impl Ticket {
    /// When the grant ends: the subscription's stream ends then (a token's `exp`, from
    /// [`Authorize::grant`](crate::broker::Authorize::grant)); `None`: never.
    pub fn expires(&self) -> Option<std::time::SystemTime> {
        self.expires
    }

    /// What the subscription will receive (as the [`Authorize`](crate::broker::Authorize) hook granted it).
    pub fn selection(&self) -> &Selection {
        &self.selection
    }

    fn broker(&self) -> Broker {
        Broker {
            shared: self.shared.clone(),
        }
    }

    /// Starts the subscription, resuming after `last_event_id` when given (see
    /// [`BrokerResume`]).
    pub fn subscribe(&self, last_event_id: Option<&str>) -> BrokerSubscription {
        let broker = self.broker();
        if self.unused.swap(false, Ordering::AcqRel) {
            return broker.open(self.keys.clone(), last_event_id, self.expires);
        }
        match broker.reserve(self.selection.selectors()) {
            Ok(keys) => broker.open(keys, last_event_id, self.expires),
            Err(_) => BrokerSubscription {
                shared: self.shared.clone(),
                slot: None,
                reset: None,
                resume: BrokerResume::Live,
                last_seq: None,
                last_id: None,
                ready: 0,
                stalled: false,
            },
        }
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        if self.unused.swap(false, Ordering::AcqRel) {
            let mut state = self.shared.lock();
            state.subscriptions -= 1;
            state.release(&self.keys, &self.shared.config);
            state.report();
        }
    }
}

impl Broadcast for Ticket {
    type Subscription = BrokerSubscription;

    fn subscribe(&self, last_event_id: Option<&str>) -> BrokerSubscription {
        Ticket::subscribe(self, last_event_id)
    }

    fn stalled(subscription: &BrokerSubscription) -> bool {
        subscription.is_stalled()
    }
}
