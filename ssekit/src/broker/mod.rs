//! A broker of topics: one SSE connection follows many channels (a room per chat, a feed per
//! user), resumes all of them with one `Last-Event-ID`, and sees only what it is allowed to.
//!
//! ```
//! use futures_util::StreamExt;
//! use ssekit::{Broadcast, Event};
//! use ssekit::broker::{Broker, RequestInfo, Selection};
//!
//! # futures_util::FutureExt::now_or_never(async {
//! let broker = Broker::new();
//! // Who follows room 42 (every topic under it) and their own notifications:
//! let asked = Selection::new(["rooms/42/*", "users/7"]).unwrap();
//! let ticket = broker.admit(&RequestInfo::new(), &asked).unwrap(); // limits + authorization
//!
//! broker.publish(["rooms/42/messages"], Event::message("hi")).unwrap(); // id 1
//! broker.publish(["rooms/1/messages"], Event::message("elsewhere")).unwrap(); // not for us
//! broker.publish(["users/7", "users/8"], Event::message("ping")).unwrap(); // id 3, once
//!
//! // What an adapter does for `Sse::from_broadcast(&ticket, &last_event_id)`: a client that
//! // saw id 1 resumes with it and gets the rest of *all* its topics, in publish order.
//! let mut sub = ticket.subscribe(Some("1"));
//! assert_eq!(sub.next().await.unwrap(), &b"id: 3\ndata: ping\n\n"[..]);
//! # }).unwrap();
//! ```
//!
//! ## One sequence, one window
//!
//! Every event gets the next number of **one** sequence for the whole broker, which is its id
//! (`17`, or `epoch-17` with [`BrokerConfig::epoch`]; an id the event carried is replaced), and is encoded **once** into a [`Frame`] kept in one
//! shared replay window of entries (sequence, frame, topics), bounded by count
//! ([`BrokerConfig::capacity`]) and bytes ([`BrokerConfig::max_bytes`]), however many topics
//! it names and subscribers it reaches. A subscription is a cursor into that window plus its
//! [`Selection`]; it skips the entries of other topics. So one `Last-Event-ID` orders
//! everything: a client subscribed to several topics and patterns that comes back with the id
//! it last saw gets every later event of its topics exactly once, in publish order, then live
//! events. Replay and live part are decided under the lock `publish` takes, so there is no gap
//! and no duplicate at the seam.
//!
//! Losses are signalled in-band, as the [`Hub`](crate::hub::Hub) does: a reset frame (an event
//! named [`BrokerConfig::reset_event`], default `sse-reset`) when a resume id is unknown or
//! older than the window, or when events of a subscriber's topics were evicted before it took
//! them. A reset is sent only when an event of the subscriber's topics may really be lost: an
//! evicted id of a subscription to quiet topics (no event of theirs since) resumes without one.
//! The reset frame carries an `id:` (everything before it was delivered or reported lost), so
//! a client that reconnects right after it does not get a second one.
//!
//! ## Topics
//!
//! A topic is any name of 1 to [`BrokerConfig::max_topic_len`] bytes without control characters
//! or `*`; a subscription selects topics and prefix patterns ([`Selector`]: `rooms/42/*`, or `*`
//! for everything). The broker keeps a small state per topic or pattern in use (its
//! subscribers, its last sequence number), created when first used. A topic with no subscriber
//! and no retained event is *idle*: at most [`BrokerConfig::max_idle_topics`] idle topics are
//! kept (they let a quiet topic resume without a reset), the oldest is evicted first, and the
//! number of topics is bounded by [`BrokerConfig::max_topics`] (past it, a publish or subscribe
//! that needs a new one is refused).
//!
//! ## Admission, authorization, slow clients
//!
//! [`Broker::admit`] runs the [`Authorize`] hook (default [`PublicSubscribe`]) and the admission
//! limits before the stream starts, and returns a [`Ticket`] (it implements
//! [`Broadcast`](crate::Broadcast), so every adapter serves it with `Sse::from_broadcast`) or a [`Rejection`]
//! the handler answers with [`Rejection::status`] (400, 403, or 503 with `Retry-After`).
//!
//! A subscriber that stops draining is ended as the hub ends one (see
//! [`HubConfig::stall_timeout`](crate::hub::HubConfig::stall_timeout)): when it is more than
//! [`BrokerConfig::max_lag`] live events of its topics **or** [`BrokerConfig::max_pending_bytes`]
//! (default 1 MiB, as Centrifugo) of their frames behind, is not waiting to be scheduled, and
//! made no progress for [`BrokerConfig::stall_timeout`]. A subscriber holds no frames of its own,
//! so its memory is bounded either way; the budget bounds how far behind it may fall.
//!
//! ## Compared with Mercure and Centrifugo
//!
//! As in Mercure, a subscription names topics and patterns (here `/`-prefix patterns rather
//! than URI templates), a JWT may carry the selectors its bearer may subscribe and publish to
//! (`jwt`, feature `jwt`), and `Last-Event-ID` recovers what was missed. As in Centrifugo, the
//! history is bounded (here one window for all topics, by count and bytes, rather than one per
//! channel), a recovery that cannot be complete is said so, and a subscriber that falls too far
//! behind in bytes is disconnected (here only once it has also stopped draining). Unlike both,
//! ids are one broker-wide sequence, so one id resumes any set of topics. The sequence restarts
//! with the process: give each instance a [`BrokerConfig::epoch`] (ids become `epoch-seq`) so an
//! id from before a restart gets a reset frame; without one, as with the hub, such an id that
//! the new sequence has reached again is taken for a new event's.
//!
//! ## Metrics
//!
//! With the `metrics` feature, the broker reports through the `metrics` facade: see
//! [`metrics`] for the names.

mod admit;
mod auth;
mod config;
mod epoch;
mod error;
mod external;
#[cfg(feature = "jwt")]
#[cfg_attr(docsrs, doc(cfg(feature = "jwt")))]
pub mod jwt;
pub mod metrics;
mod publish;
mod state;
mod subscription;
mod ticket;
mod topic;

use std::sync::{Arc, Mutex, MutexGuard};
use std::task::Waker;

use ssekit_proto::{Event, Frame};

pub use auth::{Authorize, Denied, Grant, PublicSubscribe, RequestInfo};
pub use config::BrokerConfig;
pub use epoch::{Epoch, InvalidEpoch, MAX_EPOCH_LEN};
pub use error::{Limit, PublishError, Rejection};
pub use external::ExternalIds;
pub use subscription::{BrokerResume, BrokerSubscription};
pub use ticket::Ticket;
pub use topic::{MAX_SELECTORS, MAX_TOPIC_LEN, Selection, Selector, TopicError};

use self::state::{FrameId, State, Status};
use crate::window;

/// The query parameter [`Broker::admit_query`] reads the selectors from.
pub const TOPIC_PARAM: &str = "topic";

struct Shared {
    config: BrokerConfig,
    authorize: Box<dyn Authorize>,
    state: Mutex<State>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        window::lock(&self.state)
    }

    /// The frame that tells a subscriber events were lost: `id` is everything it has seen or
    /// been told it lost, `data` where it was.
    fn reset_frame(&self, id: &FrameId, data: &str) -> Frame {
        let reset = window::reset_event(self.config.window.reset_event, data);
        match id {
            FrameId::Seq(seq) => self.with_id(reset, *seq).to_frame(),
            // External ids were checked by `publish_with_id`, the origin by `ExternalIds::new`.
            FrameId::Text(id) => reset
                .with_id(&**id)
                .expect("external ids and the origin are checked SSE ids")
                .to_frame(),
        }
    }

    /// `event` with the id of sequence number `seq`.
    fn with_id(&self, event: Event, seq: u64) -> Event {
        match &self.config.epoch {
            None => event.with_sequence_id(seq),
            // An `Epoch` is ASCII letters and digits: `<epoch>-<seq>` is always a valid id.
            Some(_) => event
                .with_id(self.config.id(seq))
                .expect("an epoch and a number make a valid SSE id"),
        }
    }
}

/// The topic broker. Cheap to clone (clones share everything).
#[derive(Clone)]
pub struct Broker {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Broker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.shared.lock();
        f.debug_struct("Broker")
            .field("retained", &state.window.len())
            .field("retained_bytes", &state.window.bytes())
            .field("next_seq", &state.window.next_seq())
            .field("topics", &state.nodes.len())
            .field("subscriptions", &state.subscriptions)
            .finish()
    }
}

impl Default for Broker {
    fn default() -> Self {
        Broker::new()
    }
}

impl Broker {
    /// A broker with the default [`BrokerConfig`] and the [`PublicSubscribe`] hook.
    pub fn new() -> Broker {
        Broker::with_config(BrokerConfig::default())
    }

    /// A broker with the given settings and the [`PublicSubscribe`] hook.
    pub fn with_config(config: BrokerConfig) -> Broker {
        Broker::with_authorize(config, PublicSubscribe)
    }

    /// A broker with the given settings and authorization hook.
    pub fn with_authorize(config: BrokerConfig, authorize: impl Authorize) -> Broker {
        Broker {
            shared: Arc::new(Shared {
                state: Mutex::new(State::new(&config)),
                config,
                authorize: Box::new(authorize),
            }),
        }
    }

    /// The settings.
    pub fn config(&self) -> &BrokerConfig {
        &self.shared.config
    }

    /// For a broker with [`BrokerConfig::external_ids`]: tells it that events may be missing
    /// between the last one it was given and the next one (their source lost some, as a Redis
    /// Stream that came back from a restart without its newest entries). No loss may go
    /// unsignalled, so every live subscription gets a reset frame before its next event; a
    /// resume from an id before this point gets one too (then goes on after its id); and a
    /// quiet topic no longer resumes without one from an id older than the window. Does
    /// nothing on a broker that numbers events itself: it is their only source.
    ///
    /// ```
    /// use ssekit::broker::{Broker, BrokerConfig, ExternalIds, BrokerResume, Selection};
    ///
    /// fn number(id: &str) -> Option<u128> {
    ///     ssekit::decimal::parse(id).map(u128::from)
    /// }
    /// let config = BrokerConfig::default().external_ids(ExternalIds::new("0", number));
    /// let broker = Broker::with_config(config);
    /// let ticket = broker.subscribe_to(&Selection::new(["t"]).unwrap()).unwrap();
    /// broker.publish_with_id(["t"], ssekit::Event::message("a"), "10").unwrap();
    /// broker.mark_gap(); // the source may have lost events after 10
    /// broker.publish_with_id(["t"], ssekit::Event::message("b"), "30").unwrap();
    /// assert_eq!(ticket.subscribe(Some("10")).resume(), BrokerResume::Reset);
    /// assert_eq!(ticket.subscribe(Some("30")).resume(), BrokerResume::Replayed);
    /// ```
    pub fn mark_gap(&self) {
        if self.shared.config.external.is_none() {
            return;
        }
        let mut state = self.shared.lock();
        state.gap_seq = state.window.next_seq();
        state.complete_from = u128::MAX;
        let mut wakers = Vec::new();
        for slot in state.slots.iter_mut().filter(|s| s.status == Status::Live) {
            slot.lost = true;
            if let Some(waker) = slot.waker.take() {
                // Caught up: woken to deliver the reset, not stalled.
                slot.progress.woken();
                wakers.push(waker);
            }
        }
        drop(state);
        wakers.into_iter().for_each(Waker::wake);
    }

    /// Starts the one task that ends subscriptions when their grant expires (a token's `exp`),
    /// if a tokio runtime is running; without one, an expired subscription ends at its next
    /// poll. The task sleeps until the next expiry (at least 250 ms between passes) and ends
    /// when the broker is dropped or no subscription has an expiry left.
    fn start_reaper(&self) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            self.shared.lock().reaper = false;
            return;
        };
        let shared = Arc::downgrade(&self.shared);
        runtime.spawn(async move {
            loop {
                let now = std::time::SystemTime::now();
                let (wakers, next) = {
                    let Some(strong) = shared.upgrade() else {
                        return;
                    };
                    let mut state = strong.lock();
                    let (wakers, next) = state.expire(now, &strong.config);
                    if next.is_none() {
                        state.reaper = false;
                    }
                    (wakers, next)
                };
                wakers.into_iter().for_each(Waker::wake);
                let Some(next) = next else {
                    return;
                };
                let wait = next.duration_since(now).unwrap_or_default();
                tokio::time::sleep(wait.max(std::time::Duration::from_millis(250))).await;
            }
        });
    }

    /// Ends every subscription once it has delivered what it has; later publishes are still
    /// retained for replay.
    pub fn close(&self) {
        let mut state = self.shared.lock();
        state.closed = true;
        let wakers: Vec<Waker> = state
            .slots
            .iter_mut()
            .filter_map(|s| s.waker.take())
            .collect();
        drop(state);
        wakers.into_iter().for_each(Waker::wake);
    }

    /// Live subscriptions plus admitted tickets not yet subscribed or dropped.
    pub fn subscription_count(&self) -> usize {
        self.shared.lock().subscriptions
    }

    /// Topics and patterns with state (in use, or idle and kept).
    pub fn topic_count(&self) -> usize {
        self.shared.lock().nodes.len()
    }

    /// How many events, and how many frame bytes, the replay window holds.
    pub fn retained(&self) -> (usize, usize) {
        let state = self.shared.lock();
        (state.window.len(), state.window.bytes())
    }

    /// The subscriptions of one topic or pattern (`rooms/42`, `rooms/*`).
    pub fn subscribers_of(&self, selector: &str) -> usize {
        let state = self.shared.lock();
        state.nodes.get(selector).map_or(0, |n| n.subscribers.len())
    }
}
