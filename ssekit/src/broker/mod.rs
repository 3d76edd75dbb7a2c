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
//! [`Broadcast`], so every adapter serves it with `Sse::from_broadcast`) or a [`Rejection`]
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

mod auth;
mod error;
mod external;
#[cfg(feature = "jwt")]
#[cfg_attr(docsrs, doc(cfg(feature = "jwt")))]
pub mod jwt;
pub mod metrics;
mod topic;

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use futures_core::Stream;
use ssekit_proto::{Event, Frame};

use crate::Broadcast;
use crate::stall::Progress;

pub use auth::{Authorize, Denied, PublicSubscribe, RequestInfo};
pub use error::{Limit, PublishError, Rejection};
pub use external::ExternalIds;
pub use topic::{MAX_SELECTORS, MAX_TOPIC_LEN, Selection, Selector, TopicError};

use self::metrics::TopicLabels;

/// The query parameter [`Broker::admit_query`] reads the selectors from.
pub const TOPIC_PARAM: &str = "topic";

/// Broker settings. Every bound has a default; all of them bound memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerConfig {
    capacity: usize,
    max_bytes: usize,
    max_topics: usize,
    max_idle_topics: usize,
    max_topic_len: usize,
    max_selectors: usize,
    max_topics_per_event: usize,
    max_subscriptions: usize,
    max_subscribers_per_topic: usize,
    max_lag: usize,
    max_pending_bytes: usize,
    stall_timeout: Duration,
    retry_after: Duration,
    reset_event: String,
    epoch: Option<String>,
    external: Option<ExternalIds>,
    metric_topic_labels: usize,
    metric_topic_prefixes: Vec<String>,
}

impl Default for BrokerConfig {
    fn default() -> Self {
        BrokerConfig {
            capacity: 4096,
            max_bytes: 16 << 20,
            max_topics: 1_000_000,
            max_idle_topics: 10_000,
            max_topic_len: 256,
            max_selectors: 32,
            max_topics_per_event: 32,
            max_subscriptions: 1_000_000,
            max_subscribers_per_topic: 1_000_000,
            max_lag: 512,
            max_pending_bytes: 1 << 20,
            stall_timeout: Duration::from_secs(5),
            retry_after: Duration::from_secs(5),
            reset_event: "sse-reset".into(),
            epoch: None,
            external: None,
            metric_topic_labels: 100,
            metric_topic_prefixes: Vec::new(),
        }
    }
}

impl BrokerConfig {
    /// Most events kept for replay, over all topics (default 4096; at least 1).
    pub fn capacity(mut self, events: usize) -> Self {
        self.capacity = events.max(1);
        self
    }

    /// Most frame bytes kept for replay (default 16 MiB). The newest event is always kept.
    pub fn max_bytes(mut self, bytes: usize) -> Self {
        self.max_bytes = bytes;
        self
    }

    /// Most topics and patterns with state at once (default 1 000 000; at least 1).
    pub fn max_topics(mut self, topics: usize) -> Self {
        self.max_topics = topics.max(1);
        self
    }

    /// Most idle topics kept (no subscriber, no retained event; default 10 000). They remember
    /// their last sequence number, so a subscriber of a quiet topic resumes without a reset.
    pub fn max_idle_topics(mut self, topics: usize) -> Self {
        self.max_idle_topics = topics;
        self
    }

    /// Longest topic name or selector, in bytes (default 256; at most [`MAX_TOPIC_LEN`]).
    pub fn max_topic_len(mut self, bytes: usize) -> Self {
        self.max_topic_len = bytes.clamp(1, MAX_TOPIC_LEN);
        self
    }

    /// Most selectors in one subscription (default 32; at most [`MAX_SELECTORS`]).
    pub fn max_selectors(mut self, selectors: usize) -> Self {
        self.max_selectors = selectors.clamp(1, MAX_SELECTORS);
        self
    }

    /// Most distinct topics one event is published to (default 32; a repeated topic counts once).
    pub fn max_topics_per_event(mut self, topics: usize) -> Self {
        self.max_topics_per_event = topics.max(1);
        self
    }

    /// Most subscriptions at once, admitted tickets included (default 1 000 000). Past it,
    /// [`Broker::admit`] answers [`Rejection::Unavailable`] (503).
    pub fn max_subscriptions(mut self, subscriptions: usize) -> Self {
        self.max_subscriptions = subscriptions;
        self
    }

    /// Most subscriptions of one topic or pattern (default 1 000 000). Past it, a subscribe
    /// that selects it is answered [`Rejection::Unavailable`] (503).
    pub fn max_subscribers_per_topic(mut self, subscriptions: usize) -> Self {
        self.max_subscribers_per_topic = subscriptions;
        self
    }

    /// How many live events of its topics a subscriber may be behind before it can count as
    /// stalled (default 512; at least 1). See the [module docs](self).
    pub fn max_lag(mut self, events: usize) -> Self {
        self.max_lag = events.max(1);
        self
    }

    /// How many bytes of live frames of its topics a subscriber may be behind before it can
    /// count as stalled (default 1 MiB).
    pub fn max_pending_bytes(mut self, bytes: usize) -> Self {
        self.max_pending_bytes = bytes;
        self
    }

    /// How long a subscriber that is behind may go without progress before it is ended
    /// (default 5 s), as [`HubConfig::stall_timeout`](crate::hub::HubConfig::stall_timeout).
    pub fn stall_timeout(mut self, timeout: Duration) -> Self {
        self.stall_timeout = timeout;
        self
    }

    /// The `Retry-After` of a 503 (default 5 s).
    pub fn retry_after(mut self, retry_after: Duration) -> Self {
        self.retry_after = retry_after;
        self
    }

    /// Prefixes every id with `epoch` and a dash (`k3x9-17`), so that ids survive a restart
    /// unambiguously: give each broker instance a new epoch (its start time, say), and an id
    /// from an earlier instance, whatever its number, is unknown here and gets a reset frame.
    /// Without it (the default) ids are the bare sequence number, which a restarted broker
    /// reuses. At most 32 ASCII letters and digits; anything else is ignored.
    ///
    /// ```
    /// use ssekit::broker::{Broker, BrokerConfig, Resume, Selection};
    ///
    /// let before = Broker::with_config(BrokerConfig::default().epoch("a1"));
    /// let after = Broker::with_config(BrokerConfig::default().epoch("b2")); // restarted
    /// let topics = Selection::new(["t"]).unwrap();
    /// for broker in [&before, &after] {
    ///     broker.publish(["t"], ssekit::Event::message("x")).unwrap();
    /// }
    /// let ticket = after.subscribe_to(&topics).unwrap();
    /// assert_eq!(ticket.subscribe(Some("a1-1")).resume(), Resume::Reset);
    /// assert_eq!(ticket.subscribe(Some("b2-1")).resume(), Resume::Replayed);
    /// ```
    pub fn epoch(mut self, epoch: impl Into<String>) -> Self {
        let epoch = epoch.into();
        if !epoch.is_empty()
            && epoch.len() <= 32
            && epoch.bytes().all(|b| b.is_ascii_alphanumeric())
        {
            self.epoch = Some(epoch);
        }
        self
    }

    /// Takes event ids from outside instead of numbering events: every event is published
    /// with its id ([`Broker::publish_with_id`]; [`Broker::publish`] is refused), in increasing
    /// order of [`ExternalIds::position`], and a resume id is looked up by its position. This
    /// is how a backend that orders events elsewhere (`ssekit-redis`'s `RedisBroker`: the entry
    /// ids of a Redis Stream) keeps one local window per instance with the broker's guarantees.
    /// It replaces [`epoch`](Self::epoch).
    ///
    /// ```
    /// use ssekit::broker::{Broker, BrokerConfig, ExternalIds, Resume, Selection};
    ///
    /// fn offset(id: &str) -> Option<u128> {
    ///     id.bytes().all(|b| b.is_ascii_digit()).then(|| id.parse().ok()).flatten()
    /// }
    /// let broker = Broker::with_config(BrokerConfig::default().external_ids(ExternalIds::new("0", offset)));
    /// broker.publish_with_id(["t"], ssekit::Event::message("a"), "100").unwrap();
    /// broker.publish_with_id(["t"], ssekit::Event::message("b"), "205").unwrap();
    /// assert!(broker.publish_with_id(["t"], ssekit::Event::message("c"), "150").is_err());
    ///
    /// let ticket = broker.subscribe_to(&Selection::new(["t"]).unwrap()).unwrap();
    /// assert_eq!(ticket.subscribe(Some("100")).resume(), Resume::Replayed);
    /// assert_eq!(ticket.subscribe(Some("150")).resume(), Resume::Reset); // never published
    /// ```
    pub fn external_ids(mut self, ids: ExternalIds) -> Self {
        self.external = Some(ids);
        self
    }

    /// The id of the event with sequence number `seq`.
    fn id(&self, seq: u64) -> String {
        match &self.epoch {
            Some(epoch) => format!("{epoch}-{seq}"),
            None => seq.to_string(),
        }
    }

    /// The sequence number an id names, if it is one of this broker's form.
    fn seq_of(&self, id: &str) -> Option<u64> {
        let id = id.trim();
        let digits = match &self.epoch {
            Some(epoch) => id.strip_prefix(epoch.as_str())?.strip_prefix('-')?,
            None => id,
        };
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        digits.parse().ok()
    }

    /// The event name of reset frames (default `sse-reset`). A name with CR or LF is ignored.
    pub fn reset_event(mut self, name: impl Into<String>) -> Self {
        let name = name.into();
        if memchr::memchr2(b'\r', b'\n', name.as_bytes()).is_none() {
            self.reset_event = name;
        }
        self
    }

    /// How many distinct `topic` label values the per-topic metrics use (default 100); the
    /// other topics are counted under `_other`.
    pub fn metric_topic_labels(mut self, labels: usize) -> Self {
        self.metric_topic_labels = labels;
        self
    }

    /// The topics the per-topic metrics name: those starting with one of these prefixes
    /// (`"rooms/"`; `""` names every topic). Default: none, every topic is counted under
    /// `_other`, so a private topic's name (`users/8`) never reaches a metrics page. See
    /// [`metrics`].
    pub fn metric_topic_prefixes<I, S>(mut self, prefixes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.metric_topic_prefixes = prefixes.into_iter().map(Into::into).collect();
        self
    }

    fn sweep_interval(&self) -> u64 {
        (self.max_lag as u64 / 4).max(1)
    }
}

/// An event in the window.
struct Entry {
    seq: u64,
    /// Its place in id order: `seq`, or its [`ExternalIds::position`].
    key: u128,
    /// Its id, with [`BrokerConfig::external_ids`] (otherwise it is made from `seq`).
    id: Option<Arc<str>>,
    frame: Frame,
    /// Its topics, sharing the names with their [`Node`]s.
    topics: Box<[Arc<str>]>,
    /// Some topic has no node (external ids with every topic slot in use): eviction checks
    /// which nodes counted it.
    untracked: bool,
}

/// The state of one topic or pattern in use.
struct Node {
    /// Slots of the live subscriptions that select it.
    subscribers: HashSet<usize>,
    /// Admitted tickets that will select it.
    reserved: usize,
    /// Entries in the window published to it.
    retained: usize,
    /// The key of the last event published to it (0: none since it was created).
    last_key: u128,
    /// The key of the newest event when it was created (0: none): publishes after that one
    /// are in `last_key`.
    created_after: u128,
    /// Its key in `State::idle` while idle.
    idle: Option<u64>,
}

impl Node {
    fn is_idle(&self) -> bool {
        self.subscribers.is_empty() && self.reserved == 0 && self.retained == 0
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Free,
    Live,
    Ended,
}

/// One subscription's state in the broker.
struct Slot {
    /// Its selectors (shared with their nodes).
    keys: Box<[Arc<str>]>,
    /// Sequence number of the next entry to look at.
    cursor: u64,
    /// `next_seq` when it started: entries before are its replay, which is not lag.
    start: u64,
    status: Status,
    /// Its waker, while caught up.
    waker: Option<Waker>,
    /// Whether it is stalled or just not scheduled yet (see the module docs).
    progress: Progress,
    /// Live events of its topics it has not delivered, and their bytes.
    pending_events: u64,
    pending_bytes: usize,
    /// An event of its topics was evicted before it took it: a reset frame is due.
    lost: bool,
    /// The last publish / eviction that counted it (an event with several of its topics
    /// counts once).
    visited: u64,
    evict_visited: u64,
}

struct State {
    window: VecDeque<Entry>,
    window_bytes: usize,
    next_seq: u64,
    /// The key of the newest event (0: none yet).
    last_key: u128,
    /// External ids: the key and id of the event just before the window (the last one
    /// evicted, or the origin).
    floor: Option<(u128, Arc<str>)>,
    /// Every event with a key from this one on was given to the broker (external ids: the
    /// first event's key, or the first one's after a gap; `u128::MAX` before it).
    complete_from: u128,
    /// The first event after the last [`Broker::mark_gap`] (0: none): a resume from before it
    /// may have lost events.
    gap_seq: u64,
    closed: bool,
    nodes: HashMap<Arc<str>, Node>,
    /// Idle nodes, oldest first.
    idle: BTreeMap<u64, Arc<str>>,
    idle_counter: u64,
    /// How many nodes are patterns (none: a publish looks up no prefix).
    patterns: usize,
    slots: Vec<Slot>,
    free_slots: Vec<usize>,
    /// Live subscriptions plus unused tickets.
    subscriptions: usize,
    /// A buffer for pattern look-ups.
    scratch: String,
    labels: TopicLabels,
}

fn selector_matches(selector: &str, topic: &str) -> bool {
    match selector.strip_suffix('*') {
        Some(prefix) => topic.len() > prefix.len() && topic.starts_with(prefix),
        None => selector == topic,
    }
}

fn slot_matches(keys: &[Arc<str>], topics: &[Arc<str>]) -> bool {
    topics.iter().any(|topic| {
        keys.iter()
            .any(|key| Arc::ptr_eq(key, topic) || selector_matches(key, topic))
    })
}

/// Calls `f` with every subscriber slot whose selection matches `topic` (a slot with several
/// matching selectors more than once).
fn for_each_subscriber(
    nodes: &HashMap<Arc<str>, Node>,
    scratch: &mut String,
    patterns: bool,
    topic: &str,
    mut f: impl FnMut(usize),
) {
    let mut visit = |key: &str| {
        if let Some(node) = nodes.get(key) {
            node.subscribers.iter().for_each(|&slot| f(slot));
        }
    };
    visit(topic);
    if !patterns {
        return;
    }
    visit("*");
    for (i, b) in topic.bytes().enumerate() {
        if b == b'/' && i + 1 < topic.len() {
            scratch.clear();
            scratch.push_str(&topic[..=i]);
            scratch.push('*');
            visit(scratch);
        }
    }
}

impl State {
    fn first_seq(&self) -> u64 {
        self.window.front().map_or(self.next_seq, |e| e.seq)
    }

    /// The node for `name`, created when missing (evicting the oldest idle node when full),
    /// taken out of the idle list. Call [`State::settle`] after changing it.
    fn node(&mut self, name: &str, config: &BrokerConfig) -> Result<Arc<str>, Limit> {
        if let Some(key) = self.nodes.get_key_value(name).map(|(k, _)| k.clone()) {
            if let Some(idle) = self.nodes.get_mut(name).and_then(|n| n.idle.take()) {
                self.idle.remove(&idle);
            }
            return Ok(key);
        }
        if self.nodes.len() >= config.max_topics && !self.evict_idle() {
            return Err(Limit::Topics);
        }
        let key: Arc<str> = Arc::from(name);
        if key.ends_with('*') {
            self.patterns += 1;
        }
        self.nodes.insert(
            key.clone(),
            Node {
                subscribers: HashSet::new(),
                reserved: 0,
                retained: 0,
                last_key: 0,
                created_after: self.last_key,
                idle: None,
            },
        );
        Ok(key)
    }

    /// Puts a node that became idle in the idle list (a pattern is dropped at once: it has
    /// no history), and evicts the oldest idle nodes past the bound.
    fn settle(&mut self, key: &Arc<str>, config: &BrokerConfig) {
        let Some(node) = self.nodes.get_mut(key) else {
            return;
        };
        if !node.is_idle() || node.idle.is_some() {
            return;
        }
        if key.ends_with('*') {
            self.remove_node(key);
            return;
        }
        self.idle_counter += 1;
        node.idle = Some(self.idle_counter);
        self.idle.insert(self.idle_counter, key.clone());
        while self.idle.len() > config.max_idle_topics && self.evict_idle() {}
    }

    /// Evicts the oldest idle node; false when none is idle.
    fn evict_idle(&mut self) -> bool {
        match self.idle.pop_first() {
            Some((_, key)) => {
                self.remove_node(&key);
                metrics::topics_evicted(1);
                true
            }
            None => false,
        }
    }

    fn remove_node(&mut self, key: &str) {
        if self.nodes.remove(key).is_some() && key.ends_with('*') {
            self.patterns -= 1;
        }
    }

    /// The nodes of an event's `topics`. When one cannot be made (every slot in use, none
    /// idle): the publish is refused, or with `untracked` the topic goes without a node (the
    /// `bool` says so).
    fn nodes_for<T: AsRef<str>>(
        &mut self,
        topics: &[T],
        config: &BrokerConfig,
        untracked: bool,
    ) -> Result<(Vec<Arc<str>>, bool), PublishError> {
        let mut keys = Vec::with_capacity(topics.len());
        let mut any_untracked = false;
        for topic in topics {
            match self.node(topic.as_ref(), config) {
                Ok(key) => keys.push(key),
                Err(_) if untracked => {
                    any_untracked = true;
                    keys.push(Arc::from(topic.as_ref()));
                }
                Err(_) => {
                    for key in &keys {
                        self.settle(key, config);
                    }
                    return Err(PublishError::TooManyTopics);
                }
            }
        }
        Ok((keys, any_untracked))
    }

    /// Appends an encoded event to the window (evicting what no longer fits), counts it for
    /// its topics' subscribers, and returns the wakers of those that were waiting.
    fn append(
        &mut self,
        config: &BrokerConfig,
        keys: Vec<Arc<str>>,
        frame: Frame,
        key: u128,
        id: Option<Arc<str>>,
        untracked: bool,
    ) -> Vec<Waker> {
        let seq = self.next_seq;
        self.next_seq = seq + 1;
        self.last_key = key;
        let len = frame.len();
        let mut wakers = Vec::new();
        {
            let State {
                nodes,
                scratch,
                slots,
                patterns,
                ..
            } = self;
            for topic in &keys {
                if let Some(node) = nodes.get_mut(topic) {
                    node.retained += 1;
                    node.last_key = key;
                }
                for_each_subscriber(nodes, scratch, *patterns > 0, topic, |index| {
                    let slot = &mut slots[index];
                    if slot.visited == seq || slot.status != Status::Live {
                        return;
                    }
                    slot.visited = seq;
                    slot.pending_events += 1;
                    slot.pending_bytes += len;
                    if let Some(waker) = slot.waker.take() {
                        // It was caught up and no event of its topics came since (the first
                        // one takes its waker): the entries before this one are not its own,
                        // its next poll need not look at them.
                        slot.cursor = slot.cursor.max(seq);
                        slot.progress.woken();
                        wakers.push(waker);
                    }
                });
            }
        }
        self.window_bytes += len;
        self.window.push_back(Entry {
            seq,
            key,
            id,
            frame,
            topics: keys.into_boxed_slice(),
            untracked,
        });
        while self.window.len() > config.capacity
            || (self.window_bytes > config.max_bytes && self.window.len() > 1)
        {
            self.evict_oldest(config);
        }
        if seq % config.sweep_interval() == 0 {
            self.sweep(config);
        }
        metrics::published(1);
        self.report();
        wakers
    }

    /// The id of the event `seq` for a reset frame (`seq` is at most one before the window).
    fn id_of(&self, seq: u64, external: Option<&ExternalIds>) -> FrameId {
        let Some(ids) = external else {
            return FrameId::Seq(seq);
        };
        let first = self.first_seq();
        let held = seq
            .checked_sub(first)
            .and_then(|i| self.window.get(usize::try_from(i).ok()?))
            .and_then(|e| e.id.clone());
        match (held, &self.floor) {
            (Some(id), _) => FrameId::Text(id),
            (None, Some((_, floor))) => FrameId::Text(floor.clone()),
            (None, None) => FrameId::Text(Arc::from(ids.origin())),
        }
    }

    /// True when no event of the topics `keys` came after the event with key `key`, as far
    /// as the broker knows for sure: each is a topic (not a pattern) whose history since is
    /// known (it was tracked from before then on, and every event since was given to the
    /// broker), and quiet.
    fn quiet_since(&self, keys: &[Arc<str>], key: u128) -> bool {
        self.complete_from <= key
            && keys.iter().all(|selector| {
                !selector.ends_with('*')
                    && self
                        .nodes
                        .get(selector)
                        .is_some_and(|n| n.created_after <= key && n.last_key <= key)
            })
    }

    /// Where a subscription of `keys` resuming from an external id at `position` starts.
    fn resume_external(&self, position: Option<u128>, keys: &[Arc<str>]) -> (u64, Resume) {
        let (next_seq, first) = (self.next_seq, self.first_seq());
        let Some(position) = position else {
            return (first, Resume::Reset);
        };
        // After a gap, a resume from before it may have lost events: it is told so, and goes
        // on after its id.
        let across_gap = |cursor: u64| match cursor <= self.gap_seq {
            true => Resume::Reset,
            false => Resume::Replayed,
        };
        // Ids are in increasing order in the window: look the id up.
        if let Ok(i) = self.window.binary_search_by_key(&position, |e| e.key) {
            let cursor = self.window[i].seq + 1;
            return (cursor, across_gap(cursor));
        }
        // The event just before the window (the last one evicted, or the origin).
        if self
            .floor
            .as_ref()
            .is_some_and(|(floor, _)| *floor == position)
        {
            return (first, across_gap(first));
        }
        let older = self.window.front().is_some_and(|e| position < e.key);
        if older && self.quiet_since(keys, position) {
            return (next_seq, Resume::Replayed);
        }
        // Unknown, too old, not yet read, or between two events held (one this broker was
        // never given).
        (first, Resume::Reset)
    }

    /// Sets the gauges of open subscriptions and topics alive.
    fn report(&self) {
        metrics::gauges(self.subscriptions, self.nodes.len());
    }

    /// Ends a live slot: it leaves its topics and its stream yields `None` at its next poll.
    fn end(&mut self, slot: usize, config: &BrokerConfig) {
        let entry = &mut self.slots[slot];
        if entry.status != Status::Live {
            return;
        }
        entry.status = Status::Ended;
        entry.waker = None;
        self.subscriptions -= 1;
        let keys = std::mem::take(&mut entry.keys);
        for key in keys.iter() {
            if let Some(node) = self.nodes.get_mut(key) {
                node.subscribers.remove(&slot);
            }
            self.labels.subscribed(key, -1.0);
            self.settle(key, config);
        }
        self.report();
    }

    /// Gives back what [`Broker::reserve`] took for `keys`.
    fn release(&mut self, keys: &[Arc<str>], config: &BrokerConfig) {
        for key in keys {
            if let Some(node) = self.nodes.get_mut(key) {
                node.reserved = node.reserved.saturating_sub(1);
            }
            self.settle(key, config);
        }
    }

    /// Drops the oldest entry: its topics may become idle, and the subscribers that had not
    /// taken it lose it (a reset frame is due).
    fn evict_oldest(&mut self, config: &BrokerConfig) {
        let Some(old) = self.window.pop_front() else {
            return;
        };
        self.window_bytes -= old.frame.len();
        if let Some(id) = &old.id {
            self.floor = Some((old.key, id.clone()));
        }
        let State {
            nodes,
            scratch,
            slots,
            patterns,
            ..
        } = self;
        for topic in old.topics.iter() {
            // A topic published without a node has a node of its own only if one was made
            // since, which did not count this entry.
            let counted = !old.untracked
                || nodes
                    .get_key_value(topic)
                    .is_some_and(|(k, _)| Arc::ptr_eq(k, topic));
            if let Some(node) = nodes.get_mut(topic).filter(|_| counted) {
                node.retained -= 1;
            }
            for_each_subscriber(nodes, scratch, *patterns > 0, topic, |index| {
                let slot = &mut slots[index];
                if slot.evict_visited == old.seq {
                    return;
                }
                slot.evict_visited = old.seq;
                if slot.status == Status::Live && slot.cursor <= old.seq {
                    slot.lost = true;
                    if old.seq >= slot.start {
                        slot.pending_events = slot.pending_events.saturating_sub(1);
                        slot.pending_bytes = slot.pending_bytes.saturating_sub(old.frame.len());
                    }
                }
            });
        }
        for topic in old.topics.iter() {
            self.settle(topic, config);
        }
    }

    /// Ends every stalled subscriber (see the module docs).
    fn sweep(&mut self, config: &BrokerConfig) {
        let now = Instant::now();
        for index in 0..self.slots.len() {
            let slot = &mut self.slots[index];
            if slot.status != Status::Live {
                continue;
            }
            let over_budget = slot.pending_bytes > config.max_pending_bytes;
            let behind = slot.lost || over_budget || slot.pending_events > config.max_lag as u64;
            if !slot
                .progress
                .stalled(behind, slot.cursor, now, config.stall_timeout)
            {
                continue;
            }
            metrics::disconnected(if over_budget { "budget" } else { "lag" });
            self.end(index, config);
        }
    }
}

/// The id a reset frame carries.
enum FrameId {
    /// A sequence number of the broker's own.
    Seq(u64),
    /// An external id.
    Text(Arc<str>),
}

struct Shared {
    config: BrokerConfig,
    authorize: Box<dyn Authorize>,
    state: Mutex<State>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // As the hub: a panic under the lock leaves nothing worse than stopping everyone.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The frame that tells a subscriber events were lost: `id` is everything it has seen or
    /// been told it lost, `data` where it was.
    fn reset_frame(&self, id: &FrameId, data: &str) -> Frame {
        let reset = || {
            Event::builder()
                .event(self.config.reset_event.as_str())
                .data(data)
        };
        match id {
            FrameId::Seq(seq) => {
                let event = reset().build().unwrap_or_else(|_| Event::message(data));
                self.with_id(event, *seq).to_frame()
            }
            // External ids were checked by `publish_with_id`; an origin that is no valid id
            // leaves the frame without one (the client keeps its own).
            FrameId::Text(id) => reset()
                .id(&**id)
                .build()
                .or_else(|_| reset().build())
                .unwrap_or_else(|_| Event::message(data))
                .to_frame(),
        }
    }

    /// `event` with the id of sequence number `seq`.
    fn with_id(&self, event: Event, seq: u64) -> Event {
        if self.config.epoch.is_none() {
            return event.with_sequence_id(seq);
        }
        // An epoch is letters and digits, so the id has no CR, LF or NUL and `with_id` cannot
        // refuse it; the fallback is never taken.
        event
            .with_id(self.config.id(seq))
            .unwrap_or_else(|_| Event::comment("").with_sequence_id(seq))
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
            .field("retained_bytes", &state.window_bytes)
            .field("next_seq", &state.next_seq)
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

/// How a subscription started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resume {
    /// No `Last-Event-ID`: live events only.
    Live,
    /// The id was found (or nothing of its topics happened since): what followed it is
    /// replayed, then live events.
    Replayed,
    /// The id is unknown or too old: a reset frame first, then every retained event of its
    /// topics, then live events. (Or, with external ids, events after the id may be missing,
    /// see [`Broker::mark_gap`]: a reset frame, then what follows the id.)
    Reset,
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
        let labels = TopicLabels::new(config.metric_topic_labels, &config.metric_topic_prefixes);
        let floor = config.external.and_then(|ids| {
            let origin = ids.origin();
            Some((ids.position(origin)?, Arc::from(origin)))
        });
        // The broker's own sequence starts with it; external ids may start anywhere.
        let complete_from = match config.external {
            Some(_) => u128::MAX,
            None => 0,
        };
        Broker {
            shared: Arc::new(Shared {
                config,
                authorize: Box::new(authorize),
                state: Mutex::new(State {
                    window: VecDeque::new(),
                    window_bytes: 0,
                    next_seq: 1,
                    last_key: 0,
                    floor,
                    complete_from,
                    gap_seq: 0,
                    closed: false,
                    nodes: HashMap::new(),
                    idle: BTreeMap::new(),
                    idle_counter: 0,
                    patterns: 0,
                    slots: Vec::new(),
                    free_slots: Vec::new(),
                    subscriptions: 0,
                    scratch: String::new(),
                    labels,
                }),
            }),
        }
    }

    /// The settings.
    pub fn config(&self) -> &BrokerConfig {
        &self.shared.config
    }

    /// Publishes `event` to every topic in `topics` (at least one, at most
    /// [`BrokerConfig::max_topics_per_event`]); returns its sequence number, which is its id.
    ///
    /// The event is encoded once, whatever the number of topics and subscribers; a subscriber
    /// of several of its topics gets it once. This is the server's own publish: no hook runs
    /// (see [`Broker::publish_as`] for publishes on behalf of a request). A broker with
    /// [`BrokerConfig::external_ids`] refuses it ([`PublishError::IdSource`]): use
    /// [`Broker::publish_with_id`].
    pub fn publish<I>(&self, topics: I, event: Event) -> Result<u64, PublishError>
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        if self.shared.config.external.is_some() {
            return Err(PublishError::IdSource);
        }
        let topics = self.topics_checked(topics)?;
        let config = &self.shared.config;
        let mut guard = self.shared.lock();
        let state = &mut *guard;
        let (keys, _) = state.nodes_for(&topics, config, false)?;
        let seq = state.next_seq;
        let frame = self.shared.with_id(event, seq).to_frame();
        let wakers = state.append(config, keys, frame, u128::from(seq), None, false);
        drop(guard);
        wakers.into_iter().for_each(Waker::wake);
        Ok(seq)
    }

    /// Publishes `event` with the id `id`, for a broker with [`BrokerConfig::external_ids`]:
    /// as [`Broker::publish`] does, except that the event's id is `id` (whatever id the event
    /// carried) and a resume finds it by its [`ExternalIds::position`].
    ///
    /// Ids must come in increasing position: one that is not after the last event's (or is
    /// not an id of the broker's kind, or could not be an SSE id: CR, LF or NUL) is refused
    /// with [`PublishError::Id`], and nothing is published. Where every topic slot is in use
    /// ([`BrokerConfig::max_topics`]), the event is still published (the events come from
    /// elsewhere and must not be lost): a topic that gets no slot is not tracked, so a resume
    /// from an id older than the window selecting it gets a reset frame.
    pub fn publish_with_id<I>(&self, topics: I, event: Event, id: &str) -> Result<(), PublishError>
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        let config = &self.shared.config;
        let Some(ids) = config.external else {
            return Err(PublishError::IdSource);
        };
        let topics = self.topics_checked(topics)?;
        let bad_id = || PublishError::Id(id.to_owned());
        let key = ids.position(id).ok_or_else(bad_id)?;
        let frame = event.with_id(id).map_err(|_| bad_id())?.to_frame();
        let mut guard = self.shared.lock();
        let state = &mut *guard;
        // After the newest event, or after the origin when there is none yet.
        let after = match state.next_seq {
            1 => state.floor.as_ref().map(|(floor, _)| *floor),
            _ => Some(state.last_key),
        };
        if after.is_some_and(|after| key <= after) {
            return Err(bad_id());
        }
        let (keys, untracked) = state.nodes_for(&topics, config, true)?;
        if state.complete_from == u128::MAX {
            state.complete_from = key;
        }
        let wakers = state.append(config, keys, frame, key, Some(Arc::from(id)), untracked);
        drop(guard);
        wakers.into_iter().for_each(Waker::wake);
        Ok(())
    }

    /// Publishes on behalf of a request: the [`Authorize`] hook's
    /// [`publish`](Authorize::publish) check runs first.
    pub fn publish_as<I>(
        &self,
        request: &RequestInfo,
        topics: I,
        event: Event,
    ) -> Result<u64, PublishError>
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        let topics = self.check_publish_as(request, topics)?;
        self.publish(topics, event)
    }

    /// The checks [`Broker::publish`] makes of `topics`, without publishing: at least one, at
    /// most [`BrokerConfig::max_topics_per_event`], each a valid name of at most
    /// [`BrokerConfig::max_topic_len`] bytes. Returns them without duplicates, in their order.
    ///
    /// For a backend that publishes elsewhere first (`ssekit-redis` checks topics before `XADD`,
    /// so that every instance's broker takes the entry).
    ///
    /// ```
    /// use ssekit::broker::{Broker, PublishError};
    ///
    /// let broker = Broker::new();
    /// assert_eq!(broker.check_topics(["a", "b", "a"]).unwrap(), ["a", "b"]);
    /// assert!(matches!(broker.check_topics(["a*"]), Err(PublishError::Topic(_))));
    /// ```
    pub fn check_topics<I>(&self, topics: I) -> Result<Vec<I::Item>, PublishError>
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        Ok(self.topics_checked(topics)?)
    }

    /// [`Broker::check_topics`], then the [`Authorize`] hook's [`publish`](Authorize::publish)
    /// check: what [`Broker::publish_as`] checks before publishing.
    pub fn check_publish_as<I>(
        &self,
        request: &RequestInfo,
        topics: I,
    ) -> Result<Vec<I::Item>, PublishError>
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        let topics = self.topics_checked(topics)?;
        let names: Vec<&str> = topics.iter().map(|t| t.as_ref()).collect();
        self.shared
            .authorize
            .publish(request, &names)
            .map_err(PublishError::Denied)?;
        Ok(topics)
    }

    fn topics_checked<I>(&self, topics: I) -> Result<Vec<I::Item>, TopicError>
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        let config = &self.shared.config;
        let mut checked: Vec<I::Item> = Vec::new();
        for topic in topics {
            topic::check_topic(topic.as_ref(), config.max_topic_len)?;
            // A repeated topic is the same topic: only distinct ones count against the limit.
            if checked.iter().any(|t| t.as_ref() == topic.as_ref()) {
                continue;
            }
            if checked.len() >= config.max_topics_per_event {
                return Err(TopicError::TooMany {
                    count: checked.len() + 1,
                    max: config.max_topics_per_event,
                });
            }
            checked.push(topic);
        }
        if checked.is_empty() {
            return Err(TopicError::None);
        }
        Ok(checked)
    }

    /// Admits a subscription to what the request `asked` for: checks its size, runs the
    /// [`Authorize`] hook's [`subscribe`](Authorize::subscribe), which decides the selection
    /// the subscription will receive, and the admission limits. The [`Ticket`] holds its place
    /// (it counts against the limits) until it is subscribed or dropped.
    ///
    /// Call it before the response starts, and answer an `Err` with its
    /// [`status`](Rejection::status).
    pub fn admit(&self, request: &RequestInfo, asked: &Selection) -> Result<Ticket, Rejection> {
        self.check_selection(asked)?;
        let granted = match self.shared.authorize.subscribe(request, asked) {
            Ok(granted) if !granted.is_empty() => granted,
            Ok(_) => {
                metrics::denied(1);
                return Err(Rejection::Denied(Denied::NotAllowed(
                    "no topic of the selection".into(),
                )));
            }
            Err(denied) => {
                metrics::denied(1);
                return Err(Rejection::Denied(denied));
            }
        };
        self.subscribe_to(&granted)
    }

    /// [`Broker::admit`] for what the request asks in its query string: one `topic`
    /// parameter per selector (`?topic=rooms/42/*&topic=users/7`, as Mercure's hub reads
    /// them). A missing or malformed selection is [`Rejection::BadRequest`] (400).
    ///
    /// This is what an adapter's handler calls, so each one reads the same request the same
    /// way:
    ///
    /// ```
    /// use ssekit::broker::{Broker, RequestInfo};
    ///
    /// let broker = Broker::new();
    /// let request = RequestInfo::new().query("topic=rooms%2F42%2F*&topic=users/7");
    /// let ticket = broker.admit_query(&request).unwrap();
    /// assert_eq!(ticket.selection().selectors().len(), 2);
    /// assert_eq!(broker.admit_query(&RequestInfo::new()).unwrap_err().status(), 400);
    /// ```
    pub fn admit_query(&self, request: &RequestInfo) -> Result<Ticket, Rejection> {
        let asked =
            Selection::new(request.query_params(TOPIC_PARAM)).map_err(Rejection::BadRequest)?;
        self.admit(request, &asked)
    }

    /// Admits a subscription to `selection` without the [`Authorize`] hook (the server
    /// decided what it receives): only the size and admission limits are checked.
    pub fn subscribe_to(&self, selection: &Selection) -> Result<Ticket, Rejection> {
        self.check_selection(selection)?;
        let keys = self.reserve(selection.selectors())?;
        Ok(Ticket {
            shared: self.shared.clone(),
            keys,
            selection: selection.clone(),
            unused: AtomicBool::new(true),
        })
    }

    fn check_selection(&self, selection: &Selection) -> Result<(), Rejection> {
        let config = &self.shared.config;
        let selectors = selection.selectors();
        if selectors.is_empty() {
            return Err(Rejection::BadRequest(TopicError::None));
        }
        if selectors.len() > config.max_selectors {
            return Err(Rejection::BadRequest(TopicError::TooMany {
                count: selectors.len(),
                max: config.max_selectors,
            }));
        }
        if let Some(long) = selectors
            .iter()
            .find(|s| s.as_str().len() > config.max_topic_len)
        {
            return Err(Rejection::BadRequest(TopicError::TooLong {
                len: long.as_str().len(),
                max: config.max_topic_len,
            }));
        }
        Ok(())
    }

    /// Counts a subscription of `selectors` against the limits.
    fn reserve(&self, selectors: &[Selector]) -> Result<Box<[Arc<str>]>, Rejection> {
        let config = &self.shared.config;
        let mut state = self.shared.lock();
        let unavailable = |limit: Limit| {
            metrics::rejected(limit.name());
            Rejection::Unavailable {
                limit,
                retry_after: config.retry_after,
            }
        };
        if state.subscriptions >= config.max_subscriptions {
            return Err(unavailable(Limit::Subscriptions));
        }
        let mut keys: Vec<Arc<str>> = Vec::with_capacity(selectors.len());
        let mut failed = None;
        for selector in selectors {
            let key = match state.node(selector.as_str(), config) {
                Ok(key) => key,
                Err(limit) => {
                    failed = Some(limit);
                    break;
                }
            };
            let node = state.nodes.get_mut(&key);
            let Some(node) = node else { continue };
            if node.subscribers.len() + node.reserved >= config.max_subscribers_per_topic {
                state.settle(&key, config);
                failed = Some(Limit::SubscribersPerTopic(selector.as_str().to_owned()));
                break;
            }
            node.reserved += 1;
            keys.push(key);
        }
        if let Some(limit) = failed {
            state.release(&keys, config);
            return Err(unavailable(limit));
        }
        state.subscriptions += 1;
        state.report();
        Ok(keys.into_boxed_slice())
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
    /// use ssekit::broker::{Broker, BrokerConfig, ExternalIds, Resume, Selection};
    ///
    /// fn number(id: &str) -> Option<u128> {
    ///     id.bytes().all(|b| b.is_ascii_digit()).then(|| id.parse().ok()).flatten()
    /// }
    /// let config = BrokerConfig::default().external_ids(ExternalIds::new("0", number));
    /// let broker = Broker::with_config(config);
    /// let ticket = broker.subscribe_to(&Selection::new(["t"]).unwrap()).unwrap();
    /// broker.publish_with_id(["t"], ssekit::Event::message("a"), "10").unwrap();
    /// broker.mark_gap(); // the source may have lost events after 10
    /// broker.publish_with_id(["t"], ssekit::Event::message("b"), "30").unwrap();
    /// assert_eq!(ticket.subscribe(Some("10")).resume(), Resume::Reset);
    /// assert_eq!(ticket.subscribe(Some("30")).resume(), Resume::Replayed);
    /// ```
    pub fn mark_gap(&self) {
        if self.shared.config.external.is_none() {
            return;
        }
        let mut state = self.shared.lock();
        state.gap_seq = state.next_seq;
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
        (state.window.len(), state.window_bytes)
    }

    /// The subscriptions of one topic or pattern (`rooms/42`, `rooms/*`).
    pub fn subscribers_of(&self, selector: &str) -> usize {
        let state = self.shared.lock();
        state.nodes.get(selector).map_or(0, |n| n.subscribers.len())
    }

    fn open(&self, keys: Box<[Arc<str>]>, last_event_id: Option<&str>) -> Subscription {
        let mut guard = self.shared.lock();
        let state = &mut *guard;
        let (next_seq, first) = (state.next_seq, state.first_seq());
        let config = &self.shared.config;
        let (cursor, resume) = match (last_event_id, &config.external) {
            (None, _) => (next_seq, Resume::Live),
            (Some(id), None) => match config.seq_of(id) {
                Some(seq) if seq < next_seq && seq + 1 >= first => (seq + 1, Resume::Replayed),
                // Older than the window: nothing is lost if none of its topics had an event
                // since (each one's history since then is known, and it is quiet).
                Some(seq) if seq < next_seq && state.quiet_since(&keys, u128::from(seq)) => {
                    (next_seq, Resume::Replayed)
                }
                _ => (first, Resume::Reset),
            },
            (Some(id), Some(ids)) => state.resume_external(ids.position(id), &keys),
        };
        match resume {
            Resume::Replayed => metrics::replays(1),
            Resume::Reset => metrics::resets(1),
            Resume::Live => {}
        }
        let fresh = Slot {
            keys: Box::default(),
            cursor,
            start: next_seq,
            status: Status::Live,
            waker: None,
            progress: Progress::new(cursor),
            pending_events: 0,
            pending_bytes: 0,
            lost: false,
            visited: 0,
            evict_visited: 0,
        };
        let slot = match state.free_slots.pop() {
            Some(slot) => {
                state.slots[slot] = fresh;
                slot
            }
            None => {
                state.slots.push(fresh);
                state.slots.len() - 1
            }
        };
        for key in keys.iter() {
            if let Some(node) = state.nodes.get_mut(key) {
                node.reserved = node.reserved.saturating_sub(1);
                node.subscribers.insert(slot);
            }
            state.labels.subscribed(key, 1.0);
        }
        state.slots[slot].keys = keys;
        state.report();
        drop(guard);
        Subscription {
            shared: self.shared.clone(),
            slot: Some(slot),
            reset: (resume == Resume::Reset).then(|| Arc::from(last_event_id.unwrap_or(""))),
            resume,
            last_seq: None,
            last_id: None,
            ready: 0,
            stalled: false,
        }
    }
}

/// An admitted subscription, not started yet: what [`Broker::admit`] returns. It implements
/// [`Broadcast`], so an adapter serves it with `Sse::from_broadcast(&ticket, &last_event_id)`.
///
/// It counts against the admission limits from admission until its subscription is dropped
/// (or, unused, until it is dropped). Subscribing a second time checks the limits again, and
/// gives a stream that ends at once when they are reached.
pub struct Ticket {
    shared: Arc<Shared>,
    keys: Box<[Arc<str>]>,
    selection: Selection,
    unused: AtomicBool,
}

impl std::fmt::Debug for Ticket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ticket")
            .field("selection", &self.selection)
            .finish()
    }
}

impl Ticket {
    /// What the subscription will receive (as the [`Authorize`] hook granted it).
    pub fn selection(&self) -> &Selection {
        &self.selection
    }

    fn broker(&self) -> Broker {
        Broker {
            shared: self.shared.clone(),
        }
    }

    /// Starts the subscription, resuming after `last_event_id` when given (see
    /// [`Resume`]).
    pub fn subscribe(&self, last_event_id: Option<&str>) -> Subscription {
        let broker = self.broker();
        if self.unused.swap(false, Ordering::AcqRel) {
            return broker.open(self.keys.clone(), last_event_id);
        }
        match broker.reserve(self.selection.selectors()) {
            Ok(keys) => broker.open(keys, last_event_id),
            Err(_) => Subscription {
                shared: self.shared.clone(),
                slot: None,
                reset: None,
                resume: Resume::Live,
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
    type Subscription = Subscription;

    fn subscribe(&self, last_event_id: Option<&str>) -> Subscription {
        Ticket::subscribe(self, last_event_id)
    }

    fn stalled(subscription: &Subscription) -> bool {
        subscription.is_stalled()
    }
}

/// A subscriber's stream of frames: the replay, then live frames of its topics.
///
/// Ends when the broker is closed (after delivering what is retained), or when it stalls (see
/// the [module docs](self)). It holds no frames of its own: a cursor into the shared window.
pub struct Subscription {
    shared: Arc<Shared>,
    /// None once ended (or never started).
    slot: Option<usize>,
    /// A reset frame is due first; its data is the id asked for.
    reset: Option<Arc<str>>,
    resume: Resume,
    /// The last event delivered.
    last_seq: Option<u64>,
    /// Its id, with external ids.
    last_id: Option<Arc<str>>,
    /// Live frames of its topics still ahead of it at its last poll (its slot's pending
    /// count then): a lower bound of what its next polls return without waiting, read by
    /// [`size_hint`](Stream::size_hint) without the lock. Later publishes only add to it; an
    /// eviction of one of them makes the next poll a reset frame (which counts it again);
    /// an end by the stall rule makes it `None`.
    ready: u64,
    /// Ended by the stall rule (lag or byte budget), not by [`Broker::close`].
    stalled: bool,
}

impl std::fmt::Debug for Subscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription")
            .field("resume", &self.resume)
            .field("last_seq", &self.last_seq)
            .field("done", &self.slot.is_none())
            .finish()
    }
}

impl Subscription {
    /// How this subscription started.
    pub fn resume(&self) -> Resume {
        self.resume
    }

    /// True once the stream has ended.
    pub fn is_done(&self) -> bool {
        self.slot.is_none()
    }

    /// True once the stream has ended because the subscriber stalled (the stall rule, see the
    /// [module docs](self)), not because the broker closed.
    pub fn is_stalled(&self) -> bool {
        self.stalled
    }

    fn finish(&mut self) -> Poll<Option<Frame>> {
        if let Some(slot) = self.slot.take() {
            let mut state = self.shared.lock();
            state.end(slot, &self.shared.config);
            state.slots[slot].status = Status::Free;
            state.free_slots.push(slot);
        }
        Poll::Ready(None)
    }
}

impl Stream for Subscription {
    type Item = Frame;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Frame>> {
        let this = self.get_mut();
        let Some(index) = this.slot else {
            return Poll::Ready(None);
        };
        let mut guard = this.shared.lock();
        let state = &mut *guard;
        let (next_seq, first) = (state.next_seq, state.first_seq());
        let slot = &mut state.slots[index];
        slot.progress.polled();
        if slot.status != Status::Live {
            drop(guard);
            this.stalled = true;
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
            let Some(entry) = state.window.get((slot.cursor - first) as usize) else {
                break;
            };
            slot.cursor += 1;
            if slot_matches(&slot.keys, &entry.topics) {
                if entry.seq >= slot.start {
                    slot.pending_events = slot.pending_events.saturating_sub(1);
                    slot.pending_bytes = slot.pending_bytes.saturating_sub(entry.frame.len());
                }
                this.last_seq = Some(entry.seq);
                this.ready = slot.pending_events;
                if entry.id.is_some() {
                    this.last_id.clone_from(&entry.id);
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

impl Drop for Subscription {
    fn drop(&mut self) {
        let _ = self.finish();
    }
}
