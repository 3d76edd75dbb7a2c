//! The broker's state under its lock: the window of entries, the topic nodes, the
//! subscriber slots, and what a publish, an eviction and a sweep do to them.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::task::Waker;
use std::time::SystemTime;

use ssekit_proto::Frame;

use super::metrics::{self, TopicLabels};
use super::{BrokerConfig, BrokerResume, ExternalIds, Limit, PublishError};
use crate::stall::Progress;
use crate::window::{Slots, Window};

/// What the broker keeps with an event of its window, besides its sequence number and frame.
pub(super) struct Meta {
    /// Its place in id order: `seq`, or its [`ExternalIds::position`].
    pub(super) key: u128,
    /// Its id, with [`BrokerConfig::external_ids`] (otherwise it is made from `seq`).
    pub(super) id: Option<Arc<str>>,
    /// Its topics, sharing the names with their [`Node`]s.
    pub(super) topics: Box<[Arc<str>]>,
    /// Some topic has no node (external ids with every topic slot in use): eviction checks
    /// which nodes counted it.
    pub(super) untracked: bool,
}

/// The state of one topic or pattern in use.
pub(super) struct Node {
    /// Slots of the live subscriptions that select it.
    pub(super) subscribers: HashSet<usize>,
    /// Admitted tickets that will select it.
    pub(super) reserved: usize,
    /// Entries in the window published to it.
    pub(super) retained: usize,
    /// The key of the last event published to it (0: none since it was created).
    pub(super) last_key: u128,
    /// The key of the newest event when it was created (0: none): publishes after that one
    /// are in `last_key`.
    pub(super) created_after: u128,
    /// Its key in `State::idle` while idle.
    pub(super) idle: Option<u64>,
}

impl Node {
    pub(super) fn is_idle(&self) -> bool {
        self.subscribers.is_empty() && self.reserved == 0 && self.retained == 0
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Status {
    Free,
    Live,
    Ended,
    /// Ended because its grant expired (see [`Authorize::grant`](super::Authorize::grant)):
    /// a clean end, not a stall.
    Expired,
}

/// One subscription's state in the broker.
pub(super) struct Slot {
    /// Its selectors (shared with their nodes).
    pub(super) keys: Box<[Arc<str>]>,
    /// Sequence number of the next entry to look at.
    pub(super) cursor: u64,
    /// `next_seq` when it started: entries before are its replay, which is not lag.
    pub(super) start: u64,
    pub(super) status: Status,
    /// Its waker, while caught up.
    pub(super) waker: Option<Waker>,
    /// Whether it is stalled or just not scheduled yet (see the module docs).
    pub(super) progress: Progress,
    /// Live events of its topics it has not delivered, and their bytes.
    pub(super) pending_events: u64,
    pub(super) pending_bytes: usize,
    /// An event of its topics was evicted before it took it: a reset frame is due.
    pub(super) lost: bool,
    /// The last publish / eviction that counted it (an event with several of its topics
    /// counts once).
    pub(super) visited: u64,
    pub(super) evict_visited: u64,
    /// When its grant ends (a token's expiry).
    pub(super) expires: Option<SystemTime>,
}

pub(super) struct State {
    pub(super) window: Window<Meta>,
    /// The key of the newest event (0: none yet).
    pub(super) last_key: u128,
    /// External ids: the key and id of the event just before the window (the last one
    /// evicted, or the origin).
    pub(super) floor: Option<(u128, Arc<str>)>,
    /// Every event with a key from this one on was given to the broker (external ids: the
    /// first event's key, or the first one's after a gap; `u128::MAX` before it).
    pub(super) complete_from: u128,
    /// The first event after the last [`Broker::mark_gap`] (0: none): a resume from before it
    /// may have lost events.
    pub(super) gap_seq: u64,
    pub(super) closed: bool,
    pub(super) nodes: HashMap<Arc<str>, Node>,
    /// Idle nodes, oldest first.
    pub(super) idle: BTreeMap<u64, Arc<str>>,
    pub(super) idle_counter: u64,
    /// How many nodes are patterns (none: a publish looks up no prefix).
    pub(super) patterns: usize,
    pub(super) slots: Slots<Slot>,
    /// The expiry task runs (see `Broker::start_reaper`).
    pub(super) reaper: bool,
    /// Live subscriptions plus unused tickets.
    pub(super) subscriptions: usize,
    /// A buffer for pattern look-ups.
    pub(super) scratch: String,
    pub(super) labels: TopicLabels,
}

fn selector_matches(selector: &str, topic: &str) -> bool {
    match selector.strip_suffix('*') {
        Some(prefix) => topic.len() > prefix.len() && topic.starts_with(prefix),
        None => selector == topic,
    }
}

pub(super) fn slot_matches(keys: &[Arc<str>], topics: &[Arc<str>]) -> bool {
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
    /// The state of a new broker.
    pub(super) fn new(config: &BrokerConfig) -> State {
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
        State {
            window: Window::new(),
            last_key: 0,
            floor,
            complete_from,
            gap_seq: 0,
            closed: false,
            nodes: HashMap::new(),
            idle: BTreeMap::new(),
            idle_counter: 0,
            patterns: 0,
            slots: Slots::new(),
            reaper: false,
            subscriptions: 0,
            scratch: String::new(),
            labels,
        }
    }

    /// The node for `name`, created when missing (evicting the oldest idle node when full),
    /// taken out of the idle list. Call [`State::settle`] after changing it.
    pub(super) fn node(&mut self, name: &str, config: &BrokerConfig) -> Result<Arc<str>, Limit> {
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
    pub(super) fn settle(&mut self, key: &Arc<str>, config: &BrokerConfig) {
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
    pub(super) fn evict_idle(&mut self) -> bool {
        match self.idle.pop_first() {
            Some((_, key)) => {
                self.remove_node(&key);
                metrics::topics_evicted(1);
                true
            }
            None => false,
        }
    }

    pub(super) fn remove_node(&mut self, key: &str) {
        if self.nodes.remove(key).is_some() && key.ends_with('*') {
            self.patterns -= 1;
        }
    }

    /// The nodes of an event's `topics`. When one cannot be made (every slot in use, none
    /// idle): the publish is refused, or with `untracked` the topic goes without a node (the
    /// `bool` says so).
    pub(super) fn nodes_for<T: AsRef<str>>(
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
    pub(super) fn append(
        &mut self,
        config: &BrokerConfig,
        keys: Vec<Arc<str>>,
        frame: Frame,
        key: u128,
        id: Option<Arc<str>>,
        untracked: bool,
    ) -> Vec<Waker> {
        let seq = self.window.next_seq();
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
        let meta = Meta {
            key,
            id,
            topics: keys.into_boxed_slice(),
            untracked,
        };
        self.window.push(frame, meta);
        while self.window.over(&config.window) {
            self.evict_oldest(config);
        }
        if seq.is_multiple_of(config.window.sweep_interval()) {
            self.sweep(config);
        }
        metrics::published(1);
        self.report();
        wakers
    }

    /// The id of the event `seq` for a reset frame (`seq` is at most one before the window).
    pub(super) fn id_of(&self, seq: u64, external: Option<&ExternalIds>) -> FrameId {
        let Some(ids) = external else {
            return FrameId::Seq(seq);
        };
        let held = self.window.get(seq).and_then(|e| e.meta.id.clone());
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
    pub(super) fn quiet_since(&self, keys: &[Arc<str>], key: u128) -> bool {
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
    pub(super) fn resume_external(
        &self,
        position: Option<u128>,
        keys: &[Arc<str>],
    ) -> (u64, BrokerResume) {
        let (next_seq, first) = (self.window.next_seq(), self.window.first_seq());
        let Some(position) = position else {
            return (first, BrokerResume::Reset);
        };
        // After a gap, a resume from before it may have lost events: it is told so, and goes
        // on after its id.
        let across_gap = |cursor: u64| match cursor <= self.gap_seq {
            true => BrokerResume::Reset,
            false => BrokerResume::Replayed,
        };
        // Ids are in increasing order in the window: look the id up.
        let entries = self.window.entries();
        if let Ok(i) = entries.binary_search_by_key(&position, |e| e.meta.key) {
            let cursor = entries[i].seq + 1;
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
        let older = self.window.front().is_some_and(|e| position < e.meta.key);
        if older && self.quiet_since(keys, position) {
            return (next_seq, BrokerResume::Replayed);
        }
        // Unknown, too old, not yet read, or between two events held (one this broker was
        // never given).
        (first, BrokerResume::Reset)
    }

    /// Sets the gauges of open subscriptions and topics alive.
    pub(super) fn report(&self) {
        metrics::gauges(self.subscriptions, self.nodes.len());
    }

    /// Ends a live slot: it leaves its topics and its stream yields `None` at its next poll.
    pub(super) fn end(&mut self, slot: usize, config: &BrokerConfig) {
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

    /// Ends every live slot whose grant has expired at `now`; returns their wakers (to wake
    /// once the lock is released) and the next expiry still ahead.
    pub(super) fn expire(
        &mut self,
        now: SystemTime,
        config: &BrokerConfig,
    ) -> (Vec<Waker>, Option<SystemTime>) {
        let mut wakers = Vec::new();
        let mut next: Option<SystemTime> = None;
        let mut due = Vec::new();
        for (index, slot) in self.slots.iter_mut().enumerate() {
            let (Status::Live, Some(expires)) = (slot.status, slot.expires) else {
                continue;
            };
            if expires <= now {
                wakers.extend(slot.waker.take());
                due.push(index);
            } else {
                next = Some(next.map_or(expires, |n| n.min(expires)));
            }
        }
        for index in due {
            self.end(index, config);
            self.slots[index].status = Status::Expired;
        }
        (wakers, next)
    }

    /// Gives back what [`Broker::reserve`] took for `keys`.
    pub(super) fn release(&mut self, keys: &[Arc<str>], config: &BrokerConfig) {
        for key in keys {
            if let Some(node) = self.nodes.get_mut(key) {
                node.reserved = node.reserved.saturating_sub(1);
            }
            self.settle(key, config);
        }
    }

    /// Drops the oldest entry: its topics may become idle, and the subscribers that had not
    /// taken it lose it (a reset frame is due).
    pub(super) fn evict_oldest(&mut self, config: &BrokerConfig) {
        let Some(old) = self.window.pop_front() else {
            return;
        };
        if let Some(id) = &old.meta.id {
            self.floor = Some((old.meta.key, id.clone()));
        }
        let State {
            nodes,
            scratch,
            slots,
            patterns,
            ..
        } = self;
        for topic in old.meta.topics.iter() {
            // A topic published without a node has a node of its own only if one was made
            // since, which did not count this entry.
            let counted = !old.meta.untracked
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
        for topic in old.meta.topics.iter() {
            self.settle(topic, config);
        }
    }

    /// Ends every stalled subscriber (see the module docs).
    pub(super) fn sweep(&mut self, config: &BrokerConfig) {
        let now = config.window.clock.now();
        for index in 0..self.slots.len() {
            let slot = &mut self.slots[index];
            if slot.status != Status::Live {
                continue;
            }
            let over_budget = slot.pending_bytes > config.max_pending_bytes;
            let behind =
                slot.lost || over_budget || slot.pending_events > config.window.max_lag as u64;
            if !slot
                .progress
                .stalled(behind, slot.cursor, now, config.window.stall_timeout)
            {
                continue;
            }
            metrics::disconnected(if over_budget { "budget" } else { "lag" });
            self.end(index, config);
        }
    }
}

/// The id a reset frame carries.
pub(super) enum FrameId {
    /// A sequence number of the broker's own.
    Seq(u64),
    /// An external id.
    Text(Arc<str>),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(names: &[&str]) -> Vec<Arc<str>> {
        names.iter().map(|n| Arc::from(*n)).collect()
    }

    #[test]
    fn selectors_match_their_topic_or_what_is_under_their_prefix() {
        assert!(selector_matches("rooms/42", "rooms/42"));
        assert!(!selector_matches("rooms/42", "rooms/421"));
        assert!(selector_matches("rooms/*", "rooms/42"));
        assert!(
            !selector_matches("rooms/*", "rooms/"),
            "the prefix alone is not under it"
        );
        assert!(selector_matches("*", "anything"));
        assert!(slot_matches(&names(&["a", "b/*"]), &names(&["c", "b/1"])));
        assert!(!slot_matches(&names(&["a"]), &names(&["b"])));
    }

    #[test]
    fn a_topic_reaches_the_subscribers_of_every_pattern_above_it() {
        let config = BrokerConfig::default();
        let mut state = State::new(&config);
        for (slot, selector) in ["a/b/c", "a/*", "a/b/*", "*", "x/*"].iter().enumerate() {
            let key = state.node(selector, &config).unwrap();
            state.nodes.get_mut(&key).unwrap().subscribers.insert(slot);
        }
        let mut reached = Vec::new();
        let State { nodes, scratch, .. } = &mut state;
        for_each_subscriber(nodes, scratch, true, "a/b/c", |slot| reached.push(slot));
        reached.sort_unstable();
        assert_eq!(reached, [0, 1, 2, 3]);
    }

    #[test]
    fn idle_topics_are_kept_up_to_the_bound_and_patterns_not_at_all() {
        let config = BrokerConfig::default().max_idle_topics(2);
        let mut state = State::new(&config);
        for name in ["a", "b", "c", "p/*"] {
            let key = state.node(name, &config).unwrap();
            state.settle(&key, &config);
        }
        assert_eq!(
            state.nodes.len(),
            2,
            "the oldest idle topic and the pattern went"
        );
        assert!(!state.nodes.contains_key("a"));
        assert_eq!(state.patterns, 0);
    }

    #[test]
    fn past_max_topics_a_new_topic_takes_an_idle_ones_place_or_is_refused() {
        let config = BrokerConfig::default().max_topics(1);
        let mut state = State::new(&config);
        let a = state.node("a", &config).unwrap();
        assert!(matches!(state.node("b", &config), Err(Limit::Topics)));
        state.settle(&a, &config);
        assert!(state.node("b", &config).is_ok(), "idle `a` was evicted");
    }
}
