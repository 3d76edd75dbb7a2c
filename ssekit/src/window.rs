//! What the [`Hub`](crate::hub::Hub) and the [`Broker`](crate::broker::Broker) share: the
//! bounded window of encoded frames, the subscriber slots, the settings both have, and the
//! lock helper.
//!
//! Both keep one window of [`Entry`]s (a sequence number, the encoded frame, and what the
//! owner needs besides), bounded by count and by frame bytes, the newest entry always kept;
//! both give every subscription a [`Slots`] index into their per-subscriber state; both are
//! bounded by the same [`WindowSettings`].

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use ssekit_proto::{EventName, Frame};

use crate::clock::ClockSetting;

/// Locks `mutex`, also when a panic poisoned it: a panic under the lock leaves nothing worse
/// than stopping every subscriber would, so the hub and the broker keep serving.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The settings the hub and the broker both have: the window's bounds and the stall rule (see
/// [`HubConfig::stall_timeout`](crate::hub::HubConfig::stall_timeout)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct WindowSettings {
    /// Most entries kept (at least 1).
    pub(crate) capacity: usize,
    /// Most frame bytes kept (the newest entry is always kept).
    pub(crate) max_bytes: usize,
    /// Live events a subscriber may be behind before it can count as stalled (at least 1).
    pub(crate) max_lag: usize,
    /// How long a subscriber that is behind may go without progress.
    pub(crate) stall_timeout: Duration,
    /// The event name of reset frames.
    pub(crate) reset_event: EventName,
    /// Where the stall rule reads the time.
    pub(crate) clock: ClockSetting,
}

/// The frame that tells a subscriber events were lost: an event named `name` whose data is
/// where the subscriber was. It cannot fail: the name was checked when it was made, and data
/// may be anything.
pub(crate) fn reset_event(name: EventName, data: &str) -> ssekit_proto::Event {
    ssekit_proto::Event::named(name, data)
}

impl WindowSettings {
    /// The defaults, with this capacity and byte bound.
    pub(crate) fn new(capacity: usize, max_bytes: usize) -> WindowSettings {
        WindowSettings {
            capacity,
            max_bytes,
            max_lag: 512,
            stall_timeout: Duration::from_secs(5),
            reset_event: ssekit_proto::event_name!("sse-reset"),
            clock: ClockSetting::default(),
        }
    }

    /// Sets the capacity (at least 1).
    pub(crate) fn set_capacity(&mut self, events: usize) {
        self.capacity = events.max(1);
    }

    /// Sets `max_lag` (at least 1).
    pub(crate) fn set_max_lag(&mut self, events: usize) {
        self.max_lag = events.max(1);
    }

    /// Every how many publishes the subscribers are swept for stalled ones: every
    /// `max_lag / 4`-th, at least every one.
    pub(crate) fn sweep_interval(&self) -> u64 {
        (self.max_lag as u64 / 4).max(1)
    }
}

/// One event in a [`Window`]: its sequence number, its frame, and what the owner keeps with
/// it (`T`).
pub(crate) struct Entry<T> {
    pub(crate) seq: u64,
    pub(crate) frame: Frame,
    pub(crate) meta: T,
}

/// The replay window: entries in sequence order, with their frame bytes counted.
pub(crate) struct Window<T> {
    entries: VecDeque<Entry<T>>,
    bytes: usize,
    /// The sequence number of the next entry (the first is 1).
    next_seq: u64,
}

impl<T> Window<T> {
    pub(crate) fn new() -> Window<T> {
        Window {
            entries: VecDeque::new(),
            bytes: 0,
            next_seq: 1,
        }
    }

    /// The sequence number the next pushed entry gets.
    pub(crate) fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// The sequence number of the oldest entry held (`next_seq` when empty).
    pub(crate) fn first_seq(&self) -> u64 {
        self.entries.front().map_or(self.next_seq, |e| e.seq)
    }

    /// How many entries it holds.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// How many frame bytes it holds.
    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }

    /// The entry with sequence number `seq`, if held.
    pub(crate) fn get(&self, seq: u64) -> Option<&Entry<T>> {
        let index = seq.checked_sub(self.first_seq())?;
        self.entries.get(usize::try_from(index).ok()?)
    }

    /// The oldest entry.
    pub(crate) fn front(&self) -> Option<&Entry<T>> {
        self.entries.front()
    }

    /// The entries, oldest first.
    pub(crate) fn entries(&self) -> &VecDeque<Entry<T>> {
        &self.entries
    }

    /// Appends `frame` as the next entry; returns its sequence number. Nothing is evicted:
    /// see [`Window::over`] and [`Window::pop_front`].
    pub(crate) fn push(&mut self, frame: Frame, meta: T) -> u64 {
        let seq = self.next_seq;
        self.next_seq = seq + 1;
        self.bytes += frame.len();
        self.entries.push_back(Entry { seq, frame, meta });
        seq
    }

    /// True while it holds more than `settings` allow: more entries than the capacity, or
    /// more bytes than `max_bytes` with more than one entry (the newest is always kept).
    pub(crate) fn over(&self, settings: &WindowSettings) -> bool {
        self.entries.len() > settings.capacity
            || (self.bytes > settings.max_bytes && self.entries.len() > 1)
    }

    /// Removes the oldest entry.
    pub(crate) fn pop_front(&mut self) -> Option<Entry<T>> {
        let old = self.entries.pop_front()?;
        self.bytes -= old.frame.len();
        Some(old)
    }

    /// Evicts the oldest entries while it holds more than `settings` allow.
    pub(crate) fn trim(&mut self, settings: &WindowSettings) {
        while self.over(settings) && self.pop_front().is_some() {}
    }
}

/// Subscriber slots: indices that stay put while the subscription lives, reused once freed.
pub(crate) struct Slots<T> {
    slots: Vec<T>,
    free: Vec<usize>,
}

impl<T> Slots<T> {
    pub(crate) fn new() -> Slots<T> {
        Slots {
            slots: Vec::new(),
            free: Vec::new(),
        }
    }

    /// Stores `slot` in a free index (or a new one); returns the index.
    pub(crate) fn insert(&mut self, slot: T) -> usize {
        match self.free.pop() {
            Some(index) => {
                self.slots[index] = slot;
                index
            }
            None => {
                self.slots.push(slot);
                self.slots.len() - 1
            }
        }
    }

    /// Gives `index` back for reuse (its value stays until then: mark it free yourself).
    pub(crate) fn release(&mut self, index: usize) {
        self.free.push(index);
    }

    /// How many indices exist, free ones included.
    pub(crate) fn len(&self) -> usize {
        self.slots.len()
    }

    /// Every slot, free ones included.
    pub(crate) fn iter_mut(&mut self) -> std::slice::IterMut<'_, T> {
        self.slots.iter_mut()
    }
}

impl<T> std::ops::Index<usize> for Slots<T> {
    type Output = T;

    fn index(&self, index: usize) -> &T {
        &self.slots[index]
    }
}

impl<T> std::ops::IndexMut<usize> for Slots<T> {
    fn index_mut(&mut self, index: usize) -> &mut T {
        &mut self.slots[index]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ssekit_proto::Event;

    fn frame(data: &str) -> Frame {
        Event::message(data).to_frame()
    }

    #[test]
    fn sequence_numbers_start_at_one_and_entries_are_found_by_them() {
        let mut window = Window::new();
        assert_eq!((window.first_seq(), window.next_seq()), (1, 1));
        assert_eq!(window.push(frame("a"), 'a'), 1);
        assert_eq!(window.push(frame("b"), 'b'), 2);
        assert_eq!(window.get(2).map(|e| e.meta), Some('b'));
        assert!(window.get(0).is_none());
        assert!(window.get(3).is_none());
        window.pop_front();
        assert_eq!((window.first_seq(), window.next_seq()), (2, 3));
        assert!(window.get(1).is_none());
    }

    #[test]
    fn bytes_are_counted_in_and_out() {
        let mut window = Window::new();
        let (a, b) = (frame("a"), frame("bbbb"));
        let both = a.len() + b.len();
        window.push(a.clone(), ());
        window.push(b, ());
        assert_eq!(window.bytes(), both);
        window.pop_front();
        assert_eq!(window.bytes(), both - a.len());
    }

    #[test]
    fn eviction_by_count() {
        let mut settings = WindowSettings::new(2, usize::MAX);
        settings.set_capacity(0);
        assert_eq!(settings.capacity, 1, "at least one");
        settings.set_capacity(2);
        let mut window = Window::new();
        for i in 0..5 {
            window.push(frame(&i.to_string()), i);
            window.trim(&settings);
        }
        assert_eq!(window.len(), 2);
        assert_eq!(window.first_seq(), 4);
    }

    #[test]
    fn eviction_by_bytes_keeps_the_newest() {
        let one = frame("x").len();
        let settings = WindowSettings::new(100, 2 * one);
        let mut window = Window::new();
        for _ in 0..5 {
            window.push(frame("x"), ());
            window.trim(&settings);
        }
        assert_eq!((window.len(), window.bytes()), (2, 2 * one));
        window.push(frame(&"y".repeat(100)), ());
        window.trim(&settings);
        assert_eq!(window.len(), 1, "the newest stays, however large");
    }

    #[test]
    fn slots_are_reused_once_released() {
        let mut slots = Slots::new();
        assert_eq!(slots.insert('a'), 0);
        assert_eq!(slots.insert('b'), 1);
        slots.release(0);
        assert_eq!(slots.insert('c'), 0);
        assert_eq!((slots[0], slots[1], slots.len()), ('c', 'b', 2));
    }

    #[test]
    fn settings_bounds_and_sweep_interval() {
        let mut settings = WindowSettings::new(10, 10);
        settings.set_max_lag(0);
        assert_eq!((settings.max_lag, settings.sweep_interval()), (1, 1));
        settings.set_max_lag(512);
        assert_eq!(settings.sweep_interval(), 128);
        assert_eq!(settings.reset_event.as_str(), "sse-reset");
    }

    #[test]
    fn the_lock_survives_a_poisoning_panic() {
        let mutex = std::sync::Arc::new(Mutex::new(1));
        let poisoner = mutex.clone();
        let _ = std::thread::spawn(move || {
            let _guard = poisoner.lock().unwrap();
            panic!("poison");
        })
        .join();
        assert!(mutex.is_poisoned());
        assert_eq!(*lock(&mutex), 1);
    }
}
