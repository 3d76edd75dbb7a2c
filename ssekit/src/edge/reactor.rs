//! The subscriber reactor: one thread, one `epoll` (mio), every subscriber a cursor and a
//! socket.
//!
//! A subscriber is a slot in a slab: its socket (registered once, edge-triggered, for reading
//! and writing), its boxed subscription (a cursor into the broadcast's window), the waker the
//! subscription wakes on a publish, and the bytes a full socket did not take. Nothing else: no
//! task, no channel, no buffer while it waits.
//!
//! - **Delivery.** A publish wakes the subscription's waker, which queues the slot and wakes
//!   the reactor. The reactor polls the subscription for the frames that are ready (up to
//!   [`MAX_BATCH`] bytes) into one scratch vector shared by every subscriber, and writes them
//!   with one `writev`. The frames are the broadcast's own shared bytes: encoded once per
//!   publish, copied only by the kernel.
//! - **Backpressure.** What the socket does not take stays with the subscriber (its only
//!   buffer, and only while the socket is full) until the socket is writable again; the
//!   subscription is not polled meanwhile, so the broadcast's stall rule sees it stop.
//! - **Keep-alive, stalls, shutdown** come from one sweep for all subscribers, several times
//!   per keep-alive interval: a subscriber that wrote nothing for the interval gets a comment
//!   frame; one whose pending bytes made no progress for the stall timeout is closed with a
//!   reset (no lingering send queue).
//! - **A closed peer** is noticed by its read event (end of stream, reset or error): the slot is
//!   freed and the subscription dropped at once.

use std::collections::VecDeque;
use std::io::{self, IoSlice, Read, Write};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_core::Stream;
use mio::net::TcpStream;
use mio::{Events, Interest, Poll as MioPoll, Token};
use ssekit_proto::Frame;

/// A subscription as the reactor holds it.
pub(crate) type BoxSubscription = Pin<Box<dyn Stream<Item = Frame> + Send>>;

/// At most this many bytes of ready frames go into one `writev`.
pub(crate) const MAX_BATCH: usize = 64 * 1024;

/// At most this many frames go into one `writev` (well under `IOV_MAX`).
const MAX_FRAMES: usize = 64;

const WAKER: Token = Token(usize::MAX);

/// What the reactor's settings are.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub(crate) keep_alive: Option<(Duration, Bytes)>,
    pub(crate) stall_timeout: Duration,
}

/// A connection handed to the reactor: its response head goes out first.
pub(crate) struct NewSubscriber {
    pub(crate) socket: std::net::TcpStream,
    pub(crate) head: Bytes,
    pub(crate) subscription: BoxSubscription,
}

/// What the reactor thread and its handles share.
struct Shared {
    /// Slots woken by their subscription, with the generation they were woken for.
    ready: Mutex<Vec<(usize, u64)>>,
    /// Connections waiting to be registered.
    incoming: Mutex<Vec<NewSubscriber>>,
    waker: mio::Waker,
    stop: AtomicBool,
    subscribers: AtomicUsize,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while a queue is held leaves it consistent (pushes and takes only).
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Shared {
    fn wake(&self) {
        // Fails only if the reactor's epoll is gone, and then nobody waits for the wake.
        let _ = self.waker.wake();
    }
}

/// The handle the accept side holds: hands connections over, stops the thread.
#[derive(Clone)]
pub(crate) struct Reactor {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Reactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reactor")
            .field("subscribers", &self.subscribers())
            .finish()
    }
}

impl Reactor {
    /// Starts the reactor thread.
    pub(crate) fn start(settings: Settings) -> io::Result<Reactor> {
        let poll = MioPoll::new()?;
        let waker = mio::Waker::new(poll.registry(), WAKER)?;
        let shared = Arc::new(Shared {
            ready: Mutex::new(Vec::new()),
            incoming: Mutex::new(Vec::new()),
            waker,
            stop: AtomicBool::new(false),
            subscribers: AtomicUsize::new(0),
        });
        let mut thread = Thread {
            poll,
            slots: Vec::new(),
            free: Vec::new(),
            shared: shared.clone(),
            settings,
            scratch: Vec::with_capacity(MAX_FRAMES),
            started: Instant::now(),
        };
        std::thread::Builder::new()
            .name("ssekit-edge".into())
            .spawn(move || thread.run())?;
        Ok(Reactor { shared })
    }

    /// Hands a connection over; its response head and frames are the reactor's from now on.
    pub(crate) fn add(&self, subscriber: NewSubscriber) {
        let first = {
            let mut incoming = lock(&self.shared.incoming);
            incoming.push(subscriber);
            incoming.len() == 1
        };
        if first {
            self.shared.wake();
        }
    }

    /// Subscribers connected now.
    pub(crate) fn subscribers(&self) -> usize {
        self.shared.subscribers.load(Ordering::Relaxed)
    }

    /// Closes every subscriber's connection and ends the thread.
    pub(crate) fn stop(&self) {
        self.shared.stop.store(true, Ordering::Release);
        self.shared.wake();
    }
}

/// Several reactors, one thread each: new subscribers go to them in turn.
#[derive(Debug, Clone)]
pub(crate) struct Reactors {
    reactors: Arc<[Reactor]>,
    next: Arc<AtomicUsize>,
}

impl Reactors {
    /// Starts `threads` reactors (at least one).
    pub(crate) fn start(threads: usize, settings: Settings) -> io::Result<Reactors> {
        let reactors = (0..threads.max(1))
            .map(|_| Reactor::start(settings.clone()))
            .collect::<io::Result<Vec<_>>>()?;
        Ok(Reactors {
            reactors: reactors.into(),
            next: Arc::new(AtomicUsize::new(0)),
        })
    }

    /// Hands a connection to the next reactor.
    pub(crate) fn add(&self, subscriber: NewSubscriber) {
        let at = self.next.fetch_add(1, Ordering::Relaxed) % self.reactors.len();
        self.reactors[at].add(subscriber);
    }

    /// Subscribers connected now, on every reactor.
    pub(crate) fn subscribers(&self) -> usize {
        self.reactors.iter().map(Reactor::subscribers).sum()
    }

    /// Stops every reactor.
    pub(crate) fn stop(&self) {
        self.reactors.iter().for_each(Reactor::stop);
    }
}

/// The waker of one slot: queues it and wakes the reactor.
struct SlotWaker {
    slot: usize,
    generation: u64,
    shared: Arc<Shared>,
}

impl Wake for SlotWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let first = {
            let mut ready = lock(&self.shared.ready);
            ready.push((self.slot, self.generation));
            ready.len() == 1
        };
        if first {
            self.shared.wake();
        }
    }
}

/// One subscriber.
struct Subscriber {
    socket: TcpStream,
    subscription: BoxSubscription,
    waker: Waker,
    /// Bytes the socket did not take yet (the first from `offset`): empty, and unallocated,
    /// whenever the socket keeps up.
    pending: VecDeque<Bytes>,
    offset: usize,
    /// Milliseconds since the reactor started: the last write, and when `pending` last
    /// stopped moving (0 when it is empty).
    last_write: u64,
    blocked_since: u64,
    /// The subscription ended: close once `pending` is written.
    ended: bool,
}

struct Slot {
    generation: u64,
    subscriber: Option<Subscriber>,
}

struct Thread {
    poll: MioPoll,
    slots: Vec<Slot>,
    free: Vec<usize>,
    shared: Arc<Shared>,
    settings: Settings,
    /// The frames of one `writev`, shared by every subscriber.
    scratch: Vec<Bytes>,
    started: Instant,
}

/// How a write went.
enum Wrote {
    /// Everything given was written.
    All,
    /// The socket is full: the rest waits in `pending`.
    Blocked,
    /// The connection failed: close it.
    Failed,
}

impl Thread {
    fn now_ms(&self) -> u64 {
        // +1 so that 0 can mean "never".
        self.started.elapsed().as_millis() as u64 + 1
    }

    fn sweep_every(&self) -> Duration {
        let mut every = self.settings.stall_timeout;
        if let Some((interval, _)) = &self.settings.keep_alive {
            every = every.min(*interval);
        }
        (every / 4).clamp(Duration::from_millis(5), Duration::from_secs(1))
    }

    fn run(&mut self) {
        let mut events = Events::with_capacity(1024);
        let every = self.sweep_every();
        let mut next_sweep = Instant::now() + every;
        loop {
            let timeout = next_sweep.saturating_duration_since(Instant::now());
            if let Err(e) = self.poll.poll(&mut events, Some(timeout))
                && e.kind() != io::ErrorKind::Interrupted
            {
                break;
            }
            for event in events.iter() {
                let token = event.token();
                if token == WAKER {
                    continue;
                }
                let slot = token.0;
                if event.is_readable() || event.is_read_closed() || event.is_error() {
                    self.read(slot);
                }
                if event.is_writable() {
                    self.drive(slot);
                }
            }
            let incoming = std::mem::take(&mut *lock(&self.shared.incoming));
            for subscriber in incoming {
                self.register(subscriber);
            }
            let ready = std::mem::take(&mut *lock(&self.shared.ready));
            for (slot, generation) in ready {
                if self
                    .slots
                    .get(slot)
                    .is_some_and(|s| s.generation == generation)
                {
                    self.drive(slot);
                }
            }
            if self.shared.stop.load(Ordering::Acquire) {
                break;
            }
            if Instant::now() >= next_sweep {
                self.sweep();
                next_sweep = Instant::now() + every;
            }
        }
        for slot in 0..self.slots.len() {
            self.close(slot, false);
        }
        for subscriber in std::mem::take(&mut *lock(&self.shared.incoming)) {
            drop(subscriber);
        }
    }

    fn register(&mut self, new: NewSubscriber) {
        if new.socket.set_nonblocking(true).is_err() {
            return;
        }
        let slot = match self.free.pop() {
            Some(slot) => slot,
            None => {
                self.slots.push(Slot {
                    generation: 0,
                    subscriber: None,
                });
                self.slots.len() - 1
            }
        };
        let generation = self.slots[slot].generation + 1;
        self.slots[slot].generation = generation;
        let mut socket = TcpStream::from_std(new.socket);
        if self
            .poll
            .registry()
            .register(
                &mut socket,
                Token(slot),
                Interest::READABLE | Interest::WRITABLE,
            )
            .is_err()
        {
            self.free.push(slot);
            return;
        }
        let waker = Waker::from(Arc::new(SlotWaker {
            slot,
            generation,
            shared: self.shared.clone(),
        }));
        let now = self.now_ms();
        let mut pending = VecDeque::new();
        pending.push_back(new.head);
        self.slots[slot].subscriber = Some(Subscriber {
            socket,
            subscription: new.subscription,
            waker,
            pending,
            offset: 0,
            last_write: now,
            blocked_since: now,
            ended: false,
        });
        self.shared.subscribers.fetch_add(1, Ordering::Relaxed);
        self.drive(slot);
    }

    /// Closes the slot's connection, with a reset when `abort` (a stalled peer: its send queue
    /// is dropped rather than left to the kernel), and drops its subscription.
    fn close(&mut self, slot: usize, abort: bool) {
        let Some(subscriber) = self.slots.get_mut(slot).and_then(|s| s.subscriber.take()) else {
            return;
        };
        let mut socket = subscriber.socket;
        let _ = self.poll.registry().deregister(&mut socket);
        if abort {
            let _ = socket2::SockRef::from(&socket).set_linger(Some(Duration::ZERO));
        }
        drop(socket);
        drop(subscriber.subscription);
        self.slots[slot].generation += 1;
        self.free.push(slot);
        self.shared.subscribers.fetch_sub(1, Ordering::Relaxed);
    }

    /// The peer sent something or closed: bytes after the request are ignored, an end of stream
    /// or an error frees the slot.
    fn read(&mut self, slot: usize) {
        let Some(subscriber) = self.slots.get_mut(slot).and_then(|s| s.subscriber.as_mut()) else {
            return;
        };
        let mut sink = [0u8; 512];
        // A bounded number of reads per event: a peer that keeps sending cannot keep the
        // reactor busy; what it sent last waits in its receive buffer, and its sends block.
        for _ in 0..8 {
            match subscriber.socket.read(&mut sink) {
                Ok(0) => return self.close(slot, false),
                Ok(_) => continue,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => return self.close(slot, false),
            }
        }
    }

    /// Writes what the slot has pending, then what its subscription has ready, until the
    /// socket is full or the subscription is caught up.
    fn drive(&mut self, slot: usize) {
        let now = self.now_ms();
        let Some(subscriber) = self.slots.get_mut(slot).and_then(|s| s.subscriber.as_mut()) else {
            return;
        };
        match write_pending(subscriber, now) {
            Wrote::All => {}
            Wrote::Blocked => return,
            Wrote::Failed => return self.close(slot, false),
        }
        if subscriber.ended {
            return self.close(slot, false);
        }
        let waker = subscriber.waker.clone();
        let mut cx = Context::from_waker(&waker);
        loop {
            let scratch = &mut self.scratch;
            scratch.clear();
            let mut bytes = 0;
            let mut caught_up = false;
            while scratch.len() < MAX_FRAMES && bytes < MAX_BATCH {
                match subscriber.subscription.as_mut().poll_next(&mut cx) {
                    Poll::Ready(Some(frame)) => {
                        bytes += frame.len();
                        scratch.push(frame.into_bytes());
                    }
                    Poll::Ready(None) => {
                        subscriber.ended = true;
                        break;
                    }
                    Poll::Pending => {
                        caught_up = true;
                        break;
                    }
                }
            }
            if !scratch.is_empty() {
                match write_frames(subscriber, scratch, now) {
                    Wrote::All => {}
                    Wrote::Blocked => return,
                    Wrote::Failed => return self.close(slot, false),
                }
            }
            if subscriber.ended {
                return self.close(slot, false);
            }
            if caught_up {
                return;
            }
        }
    }

    /// Keep-alive comments, stalled connections, in one pass over every subscriber.
    fn sweep(&mut self) {
        let now = self.now_ms();
        let stall_ms = self.settings.stall_timeout.as_millis() as u64;
        let keep_alive = self
            .settings
            .keep_alive
            .as_ref()
            .map(|(interval, frame)| (interval.as_millis() as u64, frame.clone()));
        for slot in 0..self.slots.len() {
            let Some(subscriber) = self.slots[slot].subscriber.as_mut() else {
                continue;
            };
            if !subscriber.pending.is_empty() {
                if now.saturating_sub(subscriber.blocked_since) >= stall_ms {
                    self.close(slot, true);
                }
                continue;
            }
            if let Some((interval, frame)) = &keep_alive
                && now.saturating_sub(subscriber.last_write) >= *interval
            {
                self.scratch.clear();
                self.scratch.push(frame.clone());
                if let Wrote::Failed = write_frames(subscriber, &mut self.scratch, now) {
                    self.close(slot, false);
                }
            }
        }
    }
}

/// Writes `subscriber.pending`.
fn write_pending(subscriber: &mut Subscriber, now: u64) -> Wrote {
    while !subscriber.pending.is_empty() {
        let mut slices = [IoSlice::new(&[]); MAX_FRAMES];
        let mut count = 0;
        for (i, bytes) in subscriber.pending.iter().take(MAX_FRAMES).enumerate() {
            let from = if i == 0 { subscriber.offset } else { 0 };
            slices[i] = IoSlice::new(&bytes[from..]);
            count += 1;
        }
        match subscriber.socket.write_vectored(&slices[..count]) {
            Ok(0) => return Wrote::Failed,
            Ok(mut written) => {
                subscriber.last_write = now;
                subscriber.blocked_since = now;
                while written > 0 {
                    let Some(front) = subscriber.pending.front() else {
                        break;
                    };
                    let left = front.len() - subscriber.offset;
                    if written >= left {
                        written -= left;
                        subscriber.offset = 0;
                        subscriber.pending.pop_front();
                    } else {
                        subscriber.offset += written;
                        written = 0;
                    }
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Wrote::Blocked,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return Wrote::Failed,
        }
    }
    // Give the queue's memory back: an idle subscriber holds no buffer.
    subscriber.pending = VecDeque::new();
    subscriber.blocked_since = 0;
    Wrote::All
}

/// Writes `frames` (drained) with one `writev`; what the socket does not take goes to
/// `subscriber.pending`.
fn write_frames(subscriber: &mut Subscriber, frames: &mut Vec<Bytes>, now: u64) -> Wrote {
    let mut slices = [IoSlice::new(&[]); MAX_FRAMES];
    let count = frames.len().min(MAX_FRAMES);
    for (slice, frame) in slices.iter_mut().zip(frames.iter()) {
        *slice = IoSlice::new(frame);
    }
    let written = loop {
        match subscriber.socket.write_vectored(&slices[..count]) {
            Ok(0) => return Wrote::Failed,
            Ok(n) => break n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break 0,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => return Wrote::Failed,
        }
    };
    if written > 0 {
        subscriber.last_write = now;
    }
    let total: usize = frames.iter().map(Bytes::len).sum();
    if written == total {
        frames.clear();
        return Wrote::All;
    }
    // Keep the rest: the first partly written frame from its offset, then the others.
    let mut skip = written;
    let mut first = true;
    for frame in frames.drain(..) {
        if skip >= frame.len() {
            skip -= frame.len();
            continue;
        }
        if first {
            subscriber.offset = skip;
            skip = 0;
            first = false;
        }
        subscriber.pending.push_back(frame);
    }
    subscriber.blocked_since = now;
    Wrote::Blocked
}
