//! Memory per idle subscriber, and fan-out throughput, for 10 000 subscribers on one hub.
//!
//! A counting global allocator measures the heap the subscriptions add, so the "bounded
//! memory per subscriber" figure is a measurement, not a reading of the code. The counters
//! are process-wide, so every test here takes `SERIAL` first: no two run at once.
//!
//! Run with `cargo test -p ssekit-proto --features hub --test hub_memory -- --nocapture` to see
//! the figures. The throughput is printed, never asserted: this is a test, not a benchmark.

use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Instant;

use counting_alloc::CountingAlloc;
use futures_core::Stream;
use ssekit::hub::{Hub, HubSubscription};
use ssekit_proto::Event;
use ssekit_proto::Frame;

#[global_allocator]
static HEAP: CountingAlloc = CountingAlloc::new();

static SERIAL: Mutex<()> = Mutex::new(());

const SUBSCRIBERS: usize = 10_000;

/// The bound the measurement must stay under, in heap bytes per idle subscriber.
const MAX_BYTES_PER_IDLE_SUBSCRIBER: usize = 256;

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A waker that counts its wakes. One is shared by every subscription, so cloning it into the
/// hub is a reference-count increment, not an allocation per subscriber.
#[derive(Default)]
struct CountingWaker(AtomicUsize);

impl Wake for CountingWaker {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

fn poll(sub: &mut HubSubscription, cx: &mut Context<'_>) -> Poll<Option<Frame>> {
    Pin::new(sub).poll_next(cx)
}

#[test]
fn an_idle_subscriber_costs_a_bounded_few_bytes() {
    let _serial = serial();
    let hub = Hub::new();
    // Warm up: one event in the window, so the measurement is of the subscribers alone.
    hub.publish(Event::message("warm-up"));
    let counter = Arc::new(CountingWaker::default());
    let waker = Waker::from(counter.clone());
    let mut cx = Context::from_waker(&waker);

    let before = HEAP.current();
    // The subscriptions themselves are counted too: in a server each lives in its response
    // body.
    let mut subs: Vec<HubSubscription> = Vec::with_capacity(SUBSCRIBERS);
    for _ in 0..SUBSCRIBERS {
        let mut sub = hub.subscribe(None);
        // Caught up: the first poll registers the waker and returns `Pending`.
        assert!(poll(&mut sub, &mut cx).is_pending());
        subs.push(sub);
    }
    let used = HEAP.current() - before;
    let per_subscriber = used / SUBSCRIBERS;
    eprintln!(
        "{SUBSCRIBERS} idle subscribers: {used} heap bytes, {per_subscriber} bytes each \
         ({} of them the `HubSubscription` value itself)",
        std::mem::size_of::<HubSubscription>()
    );
    assert_eq!(hub.subscriber_count(), SUBSCRIBERS);
    assert!(
        per_subscriber < MAX_BYTES_PER_IDLE_SUBSCRIBER,
        "{per_subscriber} bytes per idle subscriber"
    );

    // One publish wakes every one of them, and every one then has the frame at once. The frame
    // is encoded once: the publish allocates the same few bytes for 10 000 subscribers as for
    // one.
    let before_publish = HEAP.current();
    let id = hub.publish(Event::message("hello"));
    let publish_bytes = HEAP.current().saturating_sub(before_publish);
    eprintln!("one publish to {SUBSCRIBERS} subscribers: {publish_bytes} heap bytes");
    assert!(publish_bytes < 1024, "{publish_bytes}");
    assert_eq!(counter.0.load(Ordering::Relaxed), SUBSCRIBERS);
    let expected = format!("id: {id}\ndata: hello\n\n");
    for sub in &mut subs {
        match poll(sub, &mut cx) {
            Poll::Ready(Some(frame)) => assert_eq!(frame, expected.as_bytes()),
            other => panic!("not ready after the publish: {other:?}"),
        }
    }
    drop(subs);
    assert_eq!(hub.subscriber_count(), 0);
}

#[test]
fn fan_out_throughput_to_ten_thousand_subscribers() {
    const EVENTS: usize = 100;
    let _serial = serial();
    let hub = Hub::new();
    let waker = Waker::noop();
    let mut cx = Context::from_waker(waker);
    let mut subs: Vec<HubSubscription> = (0..SUBSCRIBERS).map(|_| hub.subscribe(None)).collect();
    for sub in &mut subs {
        assert!(poll(sub, &mut cx).is_pending());
    }
    let payload = "x".repeat(100);

    // Live fan-out: each publish wakes every subscriber, each delivers its frame and waits
    // again (what a server's tasks do, minus the sockets).
    let started = Instant::now();
    let mut delivered = 0usize;
    for _ in 0..EVENTS {
        hub.publish(Event::message(payload.clone()));
        for sub in &mut subs {
            while let Poll::Ready(Some(_)) = poll(sub, &mut cx) {
                delivered += 1;
            }
        }
    }
    let live = started.elapsed();
    assert_eq!(delivered, EVENTS * SUBSCRIBERS);

    // Batched: publish all, then every subscriber drains what it missed.
    let started = Instant::now();
    for _ in 0..EVENTS {
        hub.publish(Event::message(payload.clone()));
    }
    let mut drained = 0usize;
    for sub in &mut subs {
        while let Poll::Ready(Some(_)) = poll(sub, &mut cx) {
            drained += 1;
        }
    }
    let batched = started.elapsed();
    assert_eq!(drained, EVENTS * SUBSCRIBERS);

    let rate = |elapsed: std::time::Duration| (EVENTS * SUBSCRIBERS) as f64 / elapsed.as_secs_f64();
    eprintln!(
        "{EVENTS} events to {SUBSCRIBERS} subscribers: live (publish, wake, deliver) {:.0} \
         deliveries/s in {live:?}; batched (publish all, then drain) {:.0} deliveries/s in \
         {batched:?}",
        rate(live),
        rate(batched)
    );
    assert_eq!(hub.subscriber_count(), SUBSCRIBERS);
}
