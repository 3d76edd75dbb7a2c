//! [`BrokerSubscription`]: a subscriber's stream of the frames of its topics, and [`BrokerResume`], how
//! it started.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_core::Stream;
use ssekit_proto::Frame;

use super::state::{Status, slot_matches};
use super::{Shared, metrics};

/// How a broker subscription started ([`BrokerSubscription::resume`]); the hub's is
/// [`HubResume`](crate::hub::HubResume), which also counts the replayed events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum BrokerResume {
    /// No `Last-Event-ID`: live events only.
    Live,
    /// The id was found (or nothing of its topics happened since): what followed it is
    /// replayed, then live events.
    Replayed,
    /// The id is unknown or too old: a reset frame first, then every retained event of its
    /// topics, then live events. (Or, with external ids, events after the id may be missing,
    /// see [`Broker::mark_gap`](crate::broker::Broker::mark_gap): a reset frame, then what follows the id.)
    Reset,
}

/// A subscriber's stream of frames: the replay, then live frames of its topics.
///
/// Ends when the broker is closed (after delivering what is retained), or when it stalls (see
/// the [module docs](crate::broker)). It holds no frames of its own: a cursor into the shared window.
pub struct BrokerSubscription {
    pub(super) shared: Arc<Shared>,
    /// None once ended (or never started).
    pub(super) slot: Option<usize>,
    /// A reset frame is due first; its data is the id asked for.
    pub(super) reset: Option<Arc<str>>,
    pub(super) resume: BrokerResume,
    /// The last event delivered.
    pub(super) last_seq: Option<u64>,
    /// Its id, with external ids.
    pub(super) last_id: Option<Arc<str>>,
    /// Live frames of its topics still ahead of it at its last poll (its slot's pending
    /// count then): a lower bound of what its next polls return without waiting, read by
    /// [`size_hint`](Stream::size_hint) without the lock. Later publishes only add to it; an
    /// eviction of one of them makes the next poll a reset frame (which counts it again);
    /// an end by the stall rule makes it `None`.
    pub(super) ready: u64,
    /// Ended by the stall rule (lag or byte budget), not by [`Broker::close`](super::Broker::close).
    pub(super) stalled: bool,
}

impl std::fmt::Debug for BrokerSubscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BrokerSubscription")
            .field("resume", &self.resume)
            .field("last_seq", &self.last_seq)
            .field("done", &self.slot.is_none())
            .finish()
    }
}

impl BrokerSubscription {
    /// How this subscription started.
    pub fn resume(&self) -> BrokerResume {
        self.resume
    }

    /// True once the stream has ended.
    pub fn is_done(&self) -> bool {
        self.slot.is_none()
    }

    /// True once the stream has ended because the subscriber stalled (the stall rule, see the
    /// [module docs](super)), not because the broker closed.
    pub fn is_stalled(&self) -> bool {
        self.stalled
    }

    fn finish(&mut self) -> Poll<Option<Frame>> {
        if let Some(slot) = self.slot.take() {
            let mut state = self.shared.lock();
            state.end(slot, &self.shared.config);
            state.slots[slot].status = Status::Free;
            state.slots.release(slot);
        }
        Poll::Ready(None)
    }
}

impl Stream for BrokerSubscription {
    type Item = Frame;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Frame>> {
        let this = self.get_mut();
        let Some(index) = this.slot else {
            return Poll::Ready(None);
        };
        let mut guard = this.shared.lock();
        let state = &mut *guard;
        let (next_seq, first) = (state.window.next_seq(), state.window.first_seq());
        let slot = &mut state.slots[index];
        slot.progress.polled();
        if slot.status == Status::Live
            && slot
                .expires
                .is_some_and(|expires| expires <= std::time::SystemTime::now())
        {
            // Its grant expired and the expiry task has not run (or cannot: no runtime).
            drop(guard);
            return this.finish();
        }
        if slot.status != Status::Live {
            // Ended by the stall rule, unless its grant expired (a clean end).
            this.stalled = slot.status == Status::Ended;
            drop(guard);
            return this.finish();
        }
        slot.cursor = slot.cursor.max(first);
        if std::mem::take(&mut slot.lost) || this.reset.is_some() {
            if this.reset.is_none() {
                metrics::resets(1);
            }
            let data = match (this.reset.take(), &this.last_id, this.last_seq) {
                (Some(asked), _, _) => asked.to_string(),
                (None, Some(id), _) => id.to_string(),
                (None, None, Some(seq)) => this.shared.config.id(seq),
                (None, None, None) => String::new(),
            };
            this.ready = slot.pending_events;
            let before = slot.cursor - 1;
            let id = state.id_of(before, this.shared.config.external.as_ref());
            drop(guard);
            return Poll::Ready(Some(this.shared.reset_frame(&id, &data)));
        }
        while slot.cursor < next_seq {
            let Some(entry) = state.window.get(slot.cursor) else {
                break;
            };
            slot.cursor += 1;
            if slot_matches(&slot.keys, &entry.meta.topics) {
                if entry.seq >= slot.start {
                    slot.pending_events = slot.pending_events.saturating_sub(1);
                    slot.pending_bytes = slot.pending_bytes.saturating_sub(entry.frame.len());
                }
                this.last_seq = Some(entry.seq);
                this.ready = slot.pending_events;
                if entry.meta.id.is_some() {
                    this.last_id.clone_from(&entry.meta.id);
                }
                metrics::frames_delivered(1);
                metrics::bytes_delivered(entry.frame.len() as u64);
                return Poll::Ready(Some(entry.frame.clone()));
            }
        }
        if state.closed {
            drop(guard);
            return this.finish();
        }
        this.ready = 0;
        match &mut slot.waker {
            Some(waker) if waker.will_wake(cx.waker()) => {}
            waker => *waker = Some(cx.waker().clone()),
        }
        Poll::Pending
    }

    /// The lower bound is how many frames the next polls return at once (counted at the
    /// last poll, read without the lock; the replay part of a resume is not counted), so
    /// that [`SseBody`](crate::SseBody) sends the frames of a burst as one chunk without ever
    /// polling a caught-up subscription on its own (see [`SseBody`](crate::SseBody)). A
    /// subscription ended by the stall rule yields `None` instead of what the bound counted.
    fn size_hint(&self) -> (usize, Option<usize>) {
        if self.slot.is_none() {
            return (0, Some(0));
        }
        let ready = self.ready + u64::from(self.reset.is_some());
        (usize::try_from(ready).unwrap_or(usize::MAX), None)
    }
}

impl Drop for BrokerSubscription {
    fn drop(&mut self) {
        let _ = self.finish();
    }
}
