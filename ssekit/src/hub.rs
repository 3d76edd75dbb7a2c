//! A resumable fan-out hub: encode once, replay after `Last-Event-ID`, bounded
//! slow subscribers.
//!
//! [`Hub::publish`] assigns an id when the event has none, encodes the event **once** into a
//! shared [`Frame`] and appends it to a replay window bounded by count and by bytes.
//! [`Hub::subscribe`] returns a [`HubSubscription`], a `Stream` of frames: every retained frame
//! after the given `Last-Event-ID`, then live frames, with no gap and no duplicate at the seam
//! (both sides take the same lock, so a publish is either in the replay or in the live part).
//!
//! Subscribers have no queue of their own: each is a cursor into the shared window, so an idle
//! or slow subscriber costs about 150 bytes (measured in `tests/hub_memory.rs`), never a
//! copy of the events.
//!
//! ## Slow subscribers: lag is about sockets, not scheduling
//!
//! A publisher that publishes a burst in a loop runs ahead of every subscriber: their tasks
//! were woken but have not run yet. That is not lag, and the hub never ends such a subscriber.
//! Only a subscriber that *stops making progress* is slow: its stream is not polled any more,
//! which is what happens to an HTTP body whose connection does not drain (the server stops
//! polling a body while its writes are pending). The rule (see [`HubConfig::stall_timeout`]):
//! a subscriber is *stalled* when it is more than [`HubConfig::max_lag`] live events behind,
//! was not caught up at its last poll, and has delivered nothing for
//! [`HubConfig::stall_timeout`] (default 5 s); the [`LagPolicy`] then applies (by default its
//! stream ends, and the client reconnects with its `Last-Event-ID` and resumes from the window
//! without losing anything). A replay is not lag: a client may resume anywhere in the window.
//!
//! ## Losses are always signalled
//!
//! A burst larger than the window cannot be held for a subscriber that has not run meanwhile:
//! its next events were evicted. It then gets a reset frame (an event named `sse-reset`, see
//! [`HubConfig::reset_event`]), then every retained event, then live ones: never a silent gap,
//! also for a subscriber that had no `Last-Event-ID`. An unknown or evicted `Last-Event-ID` is
//! reported the same way at the start of a subscription; [`HubSubscription::resume`] tells it as
//! [`HubResume::Reset`].
//!
//! Ids the hub assigns are the event's sequence number in decimal (`"1"`, `"2"`, ...), unique
//! and increasing for the hub's lifetime. Events published with their own id keep it.
//!
//! The hub is runtime-agnostic: a mutex and wakers, no timers, no tasks.
//!
//! ```
//! use futures_util::StreamExt;
//! use ssekit_proto::Event;
//! use ssekit::hub::Hub;
//!
//! # futures_util::FutureExt::now_or_never(async {
//! let hub = Hub::new();
//! hub.publish(Event::message("one"));
//! let two = hub.publish(Event::message("two"));
//! assert_eq!(&*two, "2");
//!
//! // A client that saw id 1 resumes: it gets event 2 at once, then live events.
//! let mut sub = hub.subscribe(Some("1"));
//! assert_eq!(sub.next().await.unwrap(), &b"id: 2\ndata: two\n\n"[..]);
//! hub.publish(Event::message("three"));
//! assert_eq!(sub.next().await.unwrap(), &b"id: 3\ndata: three\n\n"[..]);
//! # }).unwrap();
//! ```

use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use futures_core::Stream;
use ssekit_proto::{Event, EventName, Frame};

use crate::Broadcast;
use crate::body::WakerId;
use crate::clock::{Clock, ClockSetting};
use crate::stall::Progress;
use crate::window::{self, Slots, Window, WindowSettings};

/// What happens to a subscriber that falls too far behind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum LagPolicy {
    /// End its stream (the default). An `EventSource` reconnects with its `Last-Event-ID`
    /// and, while that id is still in the window, resumes without losing anything.
    Disconnect,
    /// Keep it, and when it is polled again skip ahead so that at most
    /// [`HubConfig::max_lag`] events are left ahead of it, after a reset frame (see
    /// [`HubConfig::reset_event`]) that tells the client events were lost.
    SkipToOldest,
}

/// Hub settings.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use = "settings do nothing until given to Hub::with_config"]
pub struct HubConfig {
    window: WindowSettings,
    lag_policy: LagPolicy,
}

impl Default for HubConfig {
    fn default() -> Self {
        HubConfig {
            window: WindowSettings::new(1024, 8 << 20),
            lag_policy: LagPolicy::Disconnect,
        }
    }
}

impl HubConfig {
    /// Most events kept for replay (default 1024; at least 1).
    pub fn capacity(mut self, events: usize) -> Self {
        self.window.set_capacity(events);
        self
    }

    /// Most frame bytes kept for replay (default 8 MiB). The newest event is always kept.
    pub fn max_bytes(mut self, bytes: usize) -> Self {
        self.window.max_bytes = bytes;
        self
    }

    /// How many live events a subscriber may be behind before it can count as stalled
    /// (default 512; at least 1). Live events are those published after it subscribed: a
    /// replay after `Last-Event-ID` is not lag, however long.
    ///
    /// Being behind is not enough: see [`HubConfig::stall_timeout`] for the whole rule. Keep
    /// `max_lag` well below the capacity, so that a disconnected subscriber's `Last-Event-ID`
    /// is still in the window when it comes back.
    pub fn max_lag(mut self, events: usize) -> Self {
        self.window.set_max_lag(events);
        self
    }

    /// How long a subscriber that is behind may go without delivering anything before the
    /// [`LagPolicy`] applies (default 5 s; zero means "one sweep interval").
    ///
    /// The rule: every `max_lag / 4`-th publish (every publish when `max_lag < 8`) sweeps the
    /// subscribers. A subscriber is *stalled* when, at a sweep,
    ///
    /// 1. it is more than [`max_lag`](HubConfig::max_lag) live events behind, and
    /// 2. it is not waiting to be scheduled: its last poll did not find it caught up (a
    ///    subscriber that was caught up, and was woken by a publish, is keeping up whenever it
    ///    runs; a subscription that has not been polled yet counts as such too), and
    /// 3. its cursor has not moved since the sweep before, for at least `stall_timeout`.
    ///
    /// So a burst published in a tight loop, however long, never ends a subscriber whose
    /// connection drains: its task simply has not run yet. A client that stopped reading has
    /// its stream stop being polled once its socket and the server's write buffer are full, and
    /// is ended (or skipped ahead) `stall_timeout` after it fell `max_lag` events behind; its
    /// memory is bounded meanwhile, since a subscriber holds a cursor, not a queue.
    pub fn stall_timeout(mut self, timeout: Duration) -> Self {
        self.window.stall_timeout = timeout;
        self
    }

    /// Where the stall rule reads the time (default [`SystemClock`](crate::clock::SystemClock),
    /// [`Instant::now`](std::time::Instant::now)); tests give a
    /// [`ManualClock`](crate::clock::ManualClock). See [`clock`](crate::clock).
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.window.clock = ClockSetting::new(clock);
        self
    }

    /// The replay window's capacity in events (set by [`capacity`](Self::capacity); getters
    /// are the setters' names with `get_`, as on `std::process::Command`).
    pub fn get_capacity(&self) -> usize {
        self.window.capacity
    }

    /// The replay window's bound in frame bytes (set by [`max_bytes`](Self::max_bytes)).
    pub fn get_max_bytes(&self) -> usize {
        self.window.max_bytes
    }

    /// See [`max_lag`](Self::max_lag).
    pub fn get_max_lag(&self) -> usize {
        self.window.max_lag
    }

    /// See [`stall_timeout`](Self::stall_timeout).
    pub fn get_stall_timeout(&self) -> Duration {
        self.window.stall_timeout
    }

    /// See [`lag_policy`](Self::lag_policy).
    pub fn get_lag_policy(&self) -> LagPolicy {
        self.lag_policy
    }

    /// See [`reset_event`](Self::reset_event).
    pub fn get_reset_event(&self) -> EventName {
        self.window.reset_event
    }

    /// The policy for lagging subscribers (default [`LagPolicy::Disconnect`]).
    pub fn lag_policy(mut self, policy: LagPolicy) -> Self {
        self.lag_policy = policy;
        self
    }

    /// The event name of the frame sent when events were lost: on a resume from an unknown or
    /// evicted id, when a subscriber's next events were evicted before it could take them (a
    /// burst longer than the window), and on [`LagPolicy::SkipToOldest`]. Its data is the id
    /// the subscriber asked for, or the id of the last event it delivered (empty if none).
    /// Default `sse-reset`. An [`EventName`] is checked when it is made, so a name that could
    /// inject a field cannot get here:
    ///
    /// ```
    /// use ssekit::event_name;
    /// use ssekit::hub::HubConfig;
    ///
    /// let config = HubConfig::default().reset_event(event_name!("lost"));
    /// assert_eq!(config.get_reset_event().as_str(), "lost");
    /// ```
    pub fn reset_event(mut self, name: EventName) -> Self {
        self.window.reset_event = name;
        self
    }
}

/// What the hub keeps with an entry of its window: the event's own id; `None` when the hub
/// assigned it (the sequence number in decimal), so delivering such an event touches no
/// reference count but the frame's.
type OwnId = Option<Arc<str>>;

/// Whether `entry`'s id is `id`, whose value as a hub-assigned id (a sequence number in
/// canonical decimal) is `as_seq`.
fn has_id(entry: &window::Entry<OwnId>, id: &str, as_seq: Option<u64>) -> bool {
    match &entry.meta {
        Some(own) => **own == *id,
        None => as_seq == Some(entry.seq),
    }
}

/// `id` as a hub-assigned id: the decimal of a sequence number, as `with_sequence_id` writes
/// it (no sign, no leading zero; sequence numbers start at 1).
fn sequence_of(id: &str) -> Option<u64> {
    crate::decimal::parse_canonical(id)
}

/// Where a subscription is: the id a reset frame names.
enum LastId {
    /// Nothing delivered and no resume id.
    None,
    /// The resume id, or the event's own id of the last frame delivered.
    Id(Arc<str>),
    /// The last frame delivered had a hub-assigned id: this sequence number.
    Seq(u64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    /// No subscription uses the slot (it is released in `State::slots`).
    Free,
    /// The subscription can still deliver.
    Live,
    /// Found stalled with [`LagPolicy::SkipToOldest`]: it skips ahead at its next poll.
    Skip,
    /// Its stream has ended (lag policy, or hub closed) but it is not dropped yet.
    Ended,
}

/// One subscription's place in the shared state: all the per-subscriber state the hub keeps.
struct Slot {
    /// Index + 1 into `State::waiting`, 0 when not waiting.
    waiting: usize,
    /// Sequence number of the next frame to deliver.
    cursor: u64,
    /// `next_seq` when the subscription started: the frames before it are its replay, which
    /// does not count as lag.
    start: u64,
    status: Status,
    /// Whether it is stalled or just not scheduled yet (see [`HubConfig::stall_timeout`]).
    progress: Progress,
}

impl Slot {
    /// How many live events (published since the subscription started) it has not delivered.
    fn lag(&self, next_seq: u64) -> u64 {
        next_seq.saturating_sub(self.cursor.max(self.start))
    }
}

struct State {
    window: Window<OwnId>,
    closed: bool,
    /// Wakers of subscribers that are caught up, with their slot.
    waiting: Vec<(usize, Waker)>,
    slots: Slots<Slot>,
    /// Slots with [`Status::Live`].
    subscribers: usize,
    spare: Vec<(usize, Waker)>,
}

impl State {
    fn unregister(&mut self, slot: usize) {
        let index = std::mem::take(&mut self.slots[slot].waiting);
        if index == 0 {
            return;
        }
        self.waiting.swap_remove(index - 1);
        if let Some((moved, _)) = self.waiting.get(index - 1) {
            self.slots[*moved].waiting = index;
        }
    }

    /// Marks a live slot ended (its stream yields `None` at its next poll).
    fn end(&mut self, slot: usize) {
        if matches!(self.slots[slot].status, Status::Live | Status::Skip) {
            self.slots[slot].status = Status::Ended;
            self.subscribers -= 1;
        }
        self.unregister(slot);
    }
}

struct Shared {
    config: HubConfig,
    state: Mutex<State>,
    /// Bumped (under the lock) by everything that can make a waiting subscription ready: a
    /// publish (which also sweeps), a close. A subscription whose waker is registered and that
    /// finds it unchanged since has nothing to deliver, and answers `Pending` without the lock.
    version: AtomicU64,
    /// The window's next sequence number, stored under the lock by every publish: what
    /// [`HubSubscription::size_hint`] reads to tell how many frames are ready without the lock.
    published: AtomicU64,
}

impl Shared {
    /// The frame that tells a subscriber events were lost; `id` is where it was.
    fn reset_frame(&self, id: &str) -> Frame {
        window::reset_event(self.config.window.reset_event, id).to_frame()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        window::lock(&self.state)
    }
}

/// The fan-out hub. Cheap to clone (all clones share one window).
#[derive(Clone)]
pub struct Hub {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.shared.lock();
        f.debug_struct("Hub")
            .field("retained", &state.window.len())
            .field("retained_bytes", &state.window.bytes())
            .field("next_seq", &state.window.next_seq())
            .field("subscribers", &state.subscribers)
            .finish()
    }
}

impl Default for Hub {
    fn default() -> Self {
        Hub::new()
    }
}

/// How a hub subscription started ([`HubSubscription::resume`]).
///
/// The broker's counterpart is [`BrokerResume`](crate::broker::BrokerResume): the same three
/// cases, but a hub knows how many events a replay holds (every retained event after the id is
/// the subscriber's), while a broker would have to scan the window for the subscriber's topics
/// to count them, so its `Replayed` carries no count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum HubResume {
    /// No `Last-Event-ID`: live events only.
    Live,
    /// The id was found: this many retained events follow it and are replayed first.
    Replayed(usize),
    /// The id is not in the window (unknown, or evicted): a reset frame is sent first, then
    /// every retained event.
    Reset,
}

impl Hub {
    /// A hub with the default [`HubConfig`].
    pub fn new() -> Hub {
        Hub::with_config(HubConfig::default())
    }

    /// A hub with the given settings.
    pub fn with_config(config: HubConfig) -> Hub {
        Hub {
            shared: Arc::new(Shared {
                config,
                state: Mutex::new(State {
                    window: Window::new(),
                    closed: false,
                    waiting: Vec::new(),
                    slots: Slots::new(),
                    subscribers: 0,
                    spare: Vec::new(),
                }),
                version: AtomicU64::new(0),
                published: AtomicU64::new(1),
            }),
        }
    }

    /// The settings.
    pub fn config(&self) -> &HubConfig {
        &self.shared.config
    }

    /// Publishes an event to every subscriber and into the replay window; returns its id.
    ///
    /// An event without an id gets the next sequence number as its id. The frame is encoded
    /// once; every subscriber and every replay shares it.
    pub fn publish(&self, event: Event) -> Arc<str> {
        let mut state = self.shared.lock();
        let seq = state.window.next_seq();
        let (id, own, frame): (Arc<str>, bool, Frame) = match event.id() {
            Some(id) => (Arc::from(id), true, event.to_frame()),
            None => {
                let event = event.with_sequence_id(seq);
                let id = Arc::from(event.id().unwrap_or_default());
                (id, false, event.to_frame())
            }
        };
        let waiters = self.append(&mut state, own.then(|| id.clone()), frame);
        drop(state);
        self.wake(waiters);
        id
    }

    fn append(&self, state: &mut State, id: OwnId, frame: Frame) -> Vec<(usize, Waker)> {
        let config = &self.shared.config;
        let seq = state.window.push(frame, id);
        self.shared.published.store(seq + 1, Ordering::Release);
        self.shared.version.fetch_add(1, Ordering::Release);
        state.window.trim(&config.window);
        let spare = std::mem::take(&mut state.spare);
        let waiters = std::mem::replace(&mut state.waiting, spare);
        for (slot, _) in &waiters {
            let slot = &mut state.slots[*slot];
            slot.waiting = 0;
            slot.progress.woken();
        }
        if seq.is_multiple_of(config.window.sweep_interval()) {
            self.sweep(state);
        }
        waiters
    }

    /// Applies the [`LagPolicy`] to every stalled subscriber (see [`HubConfig::stall_timeout`]
    /// for the rule). A subscriber that is polled takes care of itself, but one whose stream is
    /// no longer polled (an HTTP body behind a connection that does not drain) would otherwise
    /// count as a subscriber forever.
    fn sweep(&self, state: &mut State) {
        let config = &self.shared.config;
        let now = config.window.clock.now();
        let (next_seq, first) = (state.window.next_seq(), state.window.first_seq());
        for index in 0..state.slots.len() {
            let slot = &mut state.slots[index];
            if slot.status != Status::Live {
                continue;
            }
            let behind = slot.cursor < first || slot.lag(next_seq) > config.window.max_lag as u64;
            if !slot
                .progress
                .stalled(behind, slot.cursor, now, config.window.stall_timeout)
            {
                continue;
            }
            match config.lag_policy {
                LagPolicy::Disconnect => state.end(index),
                LagPolicy::SkipToOldest => {
                    slot.status = Status::Skip;
                    slot.progress.restart();
                }
            }
        }
    }

    fn wake(&self, mut waiters: Vec<(usize, Waker)>) {
        if waiters.is_empty() {
            return;
        }
        for (_, waker) in waiters.drain(..) {
            waker.wake();
        }
        let mut state = self.shared.lock();
        if state.spare.capacity() < waiters.capacity() {
            state.spare = waiters;
        }
    }

    /// Subscribes, resuming after `last_event_id` when given (see [`HubResume`]).
    ///
    /// - `None`: live events only, from the next publish on.
    /// - An id in the replay window: every retained event after it, then live events
    ///   ([`HubResume::Replayed`]). The replay does not count as lag: only live events published
    ///   after this call that the subscriber has not delivered yet do.
    /// - Any other id (unknown, or already evicted): a reset frame (an event named
    ///   [`HubConfig::reset_event`], default `sse-reset`, whose data is the id asked for),
    ///   then every retained event, then live events ([`HubResume::Reset`]).
    ///
    /// Replay and live part are decided under the lock `publish` takes, so an event published
    /// concurrently is delivered exactly once: in the replay or live.
    pub fn subscribe(&self, last_event_id: Option<&str>) -> HubSubscription {
        // Parsed once, before the lock, not once per window entry the search looks at.
        let as_seq = last_event_id.and_then(sequence_of);
        let mut state = self.shared.lock();
        let next_seq = state.window.next_seq();
        let (cursor, resume) = match last_event_id {
            None => (next_seq, HubResume::Live),
            Some(id) => match (state.window.entries().iter().rev()).find(|e| has_id(e, id, as_seq))
            {
                Some(entry) => (
                    entry.seq + 1,
                    HubResume::Replayed((next_seq - entry.seq - 1) as usize),
                ),
                None => (state.window.first_seq(), HubResume::Reset),
            },
        };
        let fresh = Slot {
            waiting: 0,
            cursor,
            start: next_seq,
            status: Status::Live,
            progress: Progress::new(cursor),
        };
        let slot = state.slots.insert(fresh);
        state.subscribers += 1;
        drop(state);
        HubSubscription {
            shared: self.shared.clone(),
            slot,
            reset_pending: resume == HubResume::Reset,
            resume,
            done: false,
            stalled: false,
            last_id: last_event_id.map_or(LastId::None, |id| LastId::Id(Arc::from(id))),
            registered: None,
            cursor,
        }
    }

    /// Ends every subscription once it has delivered what is retained; later publishes are
    /// still retained for replay but no subscription waits for them.
    pub fn close(&self) {
        let mut state = self.shared.lock();
        state.closed = true;
        self.shared.version.fetch_add(1, Ordering::Release);
        let waiters = std::mem::take(&mut state.waiting);
        for (slot, _) in &waiters {
            state.slots[*slot].waiting = 0;
        }
        drop(state);
        self.wake(waiters);
    }

    /// How many subscriptions are live: created, not dropped, and not ended (by the lag
    /// policy, or by [`Hub::close`] once they delivered everything).
    ///
    /// With [`LagPolicy::Disconnect`], a stalled subscriber is ended by a publish's sweep
    /// (see [`HubConfig::stall_timeout`]) even if its stream is never polled again, so this
    /// count drops when a client stops reading.
    pub fn subscriber_count(&self) -> usize {
        self.shared.lock().subscribers
    }

    /// How many events, and how many frame bytes, the replay window holds.
    pub fn retained(&self) -> (usize, usize) {
        let state = self.shared.lock();
        (state.window.len(), state.window.bytes())
    }
}

/// A subscriber's stream of frames: the replay, then live frames. See [`Hub::subscribe`].
///
/// Ends when the hub is closed (after delivering what is retained) or, with
/// [`LagPolicy::Disconnect`], when the subscriber stalls (see [`HubConfig::stall_timeout`]).
///
/// A subscription holds no frames of its own: its state is a cursor into the hub's shared
/// window (and, while it waits, a clone of its task's waker).
#[must_use = "streams do nothing unless polled"]
pub struct HubSubscription {
    shared: Arc<Shared>,
    slot: usize,
    /// A reset frame is due before anything else (the resume id was not in the window).
    reset_pending: bool,
    resume: HubResume,
    done: bool,
    /// Ended by the lag policy ([`LagPolicy::Disconnect`]), not by [`Hub::close`].
    stalled: bool,
    /// The resume id, then the id of the last frame delivered: the data of a reset frame.
    last_id: LastId,
    /// The waker registered in the hub's waiting list (its identity: the list holds the
    /// waker), and the hub's version then (see `Shared::version`).
    registered: Option<(WakerId, u64)>,
    /// The slot's cursor (only this subscription moves it): with `Shared::published`, how many
    /// frames are ready.
    cursor: u64,
}

impl std::fmt::Debug for HubSubscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let cursor = self.shared.lock().slots[self.slot].cursor;
        f.debug_struct("HubSubscription")
            .field("cursor", &cursor)
            .field("resume", &self.resume)
            .field("done", &self.done)
            .finish()
    }
}

impl HubSubscription {
    /// How this subscription started: live, replaying, or reset (unknown id).
    pub fn resume(&self) -> HubResume {
        self.resume
    }

    /// True once the stream has ended (hub closed, or stalled with
    /// [`LagPolicy::Disconnect`]).
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// True once the stream has ended because the subscriber stalled ([`LagPolicy::Disconnect`],
    /// see [`HubConfig::stall_timeout`]), not because the hub closed.
    pub fn is_stalled(&self) -> bool {
        self.stalled
    }
}

impl Stream for HubSubscription {
    type Item = Frame;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Frame>> {
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(None);
        }
        // Still waiting, with the same waker, and nothing happened to the hub since: the
        // registration stands. (Every change that could make it ready bumps the version
        // under the lock before it wakes the waiting list.)
        if let Some((waker, version)) = this.registered
            && waker == WakerId::of(cx.waker())
            && this.shared.version.load(Ordering::Acquire) == version
        {
            return Poll::Pending;
        }
        this.registered = None;
        let config = &this.shared.config;
        let mut guard = this.shared.lock();
        let state = &mut *guard;
        let slot = this.slot;
        let (next_seq, first) = (state.window.next_seq(), state.window.first_seq());
        let entry = &mut state.slots[slot];
        entry.progress.polled();
        let skip_to = match entry.status {
            Status::Live if entry.cursor >= first => None,
            // Its next events were evicted before it took them (a burst longer than the
            // window): say so, then go on with what is retained.
            Status::Live => Some(first),
            // Stalled, with `SkipToOldest`: at most `max_lag` events are left ahead of it.
            Status::Skip => {
                entry.status = Status::Live;
                Some(first.max(next_seq.saturating_sub(config.window.max_lag as u64)))
            }
            // Ended by a publish's sweep while it was not polled.
            Status::Ended | Status::Free => {
                this.done = true;
                this.stalled = true;
                return Poll::Ready(None);
            }
        };
        if let Some(target) = skip_to {
            entry.cursor = entry.cursor.max(target);
            this.cursor = entry.cursor;
        }
        // One reset frame, also when a resume from an unknown id meets an eviction.
        if std::mem::take(&mut this.reset_pending) || skip_to.is_some() {
            drop(guard);
            let frame = match &this.last_id {
                LastId::None => this.shared.reset_frame(""),
                LastId::Id(id) => this.shared.reset_frame(id),
                LastId::Seq(seq) => this.shared.reset_frame(&seq.to_string()),
            };
            return Poll::Ready(Some(frame));
        }
        let cursor = entry.cursor;
        if let Some(entry) = state.window.get(cursor) {
            let frame = entry.frame.clone();
            this.last_id = match &entry.meta {
                Some(id) => LastId::Id(id.clone()),
                None => LastId::Seq(entry.seq),
            };
            state.slots[slot].cursor = cursor + 1;
            this.cursor = cursor + 1;
            return Poll::Ready(Some(frame));
        }
        if state.closed {
            state.end(slot);
            this.done = true;
            return Poll::Ready(None);
        }
        // Caught up: wait for the next publish.
        match state.slots[slot].waiting {
            0 => {
                state.waiting.push((slot, cx.waker().clone()));
                state.slots[slot].waiting = state.waiting.len();
            }
            index => {
                let waker = &mut state.waiting[index - 1].1;
                if !waker.will_wake(cx.waker()) {
                    *waker = cx.waker().clone();
                }
            }
        }
        this.registered = Some((
            WakerId::of(cx.waker()),
            this.shared.version.load(Ordering::Relaxed),
        ));
        Poll::Pending
    }

    /// The lower bound is how many frames are ready now (read without the lock): a poll
    /// returns one of them at once. [`SseBody`](crate::SseBody) batches only that many, so it
    /// never polls a caught-up subscription on its own (which would register its task as
    /// waiting although the server may not poll the body again until the connection drains:
    /// such a subscription would look woken, never stalled). A subscription ended by the lag
    /// policy yields `None` instead of what the bound counted.
    fn size_hint(&self) -> (usize, Option<usize>) {
        if self.done {
            return (0, Some(0));
        }
        let published = self.shared.published.load(Ordering::Acquire);
        let ready = published.saturating_sub(self.cursor) + u64::from(self.reset_pending);
        (usize::try_from(ready).unwrap_or(usize::MAX), None)
    }
}

impl Broadcast for Hub {
    type Subscription = HubSubscription;

    fn subscribe(&self, last_event_id: Option<&str>) -> HubSubscription {
        Hub::subscribe(self, last_event_id)
    }

    fn stalled(subscription: &HubSubscription) -> bool {
        subscription.is_stalled()
    }
}

impl Drop for HubSubscription {
    fn drop(&mut self) {
        let mut state = self.shared.lock();
        state.end(self.slot);
        state.slots[self.slot].status = Status::Free;
        state.slots.release(self.slot);
    }
}
