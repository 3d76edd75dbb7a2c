//! The topic broker next to the one-topic hub, in one run (a bench binary, not criterion: it
//! measures heap bytes with a counting allocator, and CPU time per delivered frame).
//!
//! - **memory**: heap bytes per topic for 100 000 topics with one idle subscriber each, and
//!   per subscriber for one topic with 100 000 idle subscribers (the `BrokerSubscription` values
//!   included, as a server holds them in its response bodies), next to the hub's 100 000.
//! - **publish-to-deliver**: 10 000 subscribers over 1 000 topics (10 each); events published
//!   round-robin to the topics, each one taken by its 10 subscribers, on one thread: the wall
//!   and CPU time from publish to the last poll that returns the frame, per delivered frame.
//!   Next to it the hub with 10 000 subscribers (every event reaches all) and the broker with
//!   one topic and 10 000 subscribers (the hub's shape), with the same driver. Subscribers are
//!   polled only when woken, as a runtime would.
//!
//! `cargo bench -p benches --bench broker`; it stops by itself in a few seconds.
#![allow(missing_docs)]

use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use counting_alloc::CountingAlloc;
use futures::Stream;
use ssekit::Event;
use ssekit::broker::{Broker, BrokerConfig, BrokerSubscription, Selection};
use ssekit::hub::Hub;

#[global_allocator]
static HEAP: CountingAlloc = CountingAlloc::new();

const MANY: usize = 100_000;

fn selection(topic: &str) -> Selection {
    Selection::new([topic]).expect("a valid topic")
}

/// Heap bytes `make` leaves allocated, per item.
fn per_item<T>(items: usize, make: impl FnOnce() -> T) -> (T, usize) {
    let before = HEAP.current();
    let made = make();
    (made, (HEAP.current() - before) / items)
}

fn poll<S: Stream + Unpin>(stream: &mut S, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
    Pin::new(stream).poll_next(cx)
}

fn memory() {
    let waker = Waker::noop();
    let mut cx = Context::from_waker(waker);
    let config = BrokerConfig::default().max_subscribers_per_topic(MANY);
    let broker = Broker::with_config(config.clone());
    let (subs, per_topic) = per_item(MANY, || {
        let names: Vec<String> = (0..MANY).map(|i| format!("users/{i}")).collect();
        let mut subs: Vec<BrokerSubscription> = Vec::with_capacity(MANY);
        for name in &names {
            let ticket = broker.subscribe_to(&selection(name)).expect("admitted");
            let mut sub = ticket.subscribe(None);
            assert!(poll(&mut sub, &mut cx).is_pending());
            subs.push(sub);
        }
        drop(names);
        subs
    });
    println!(
        "memory: 100 000 topics x 1 idle subscriber: {per_topic} heap bytes per topic (with its subscriber)"
    );
    drop(subs);

    let broker = Broker::with_config(config);
    let one = selection("rooms/1");
    let (subs, per_subscriber) = per_item(MANY, || {
        let mut subs: Vec<BrokerSubscription> = Vec::with_capacity(MANY);
        for _ in 0..MANY {
            let mut sub = broker.subscribe_to(&one).expect("admitted").subscribe(None);
            assert!(poll(&mut sub, &mut cx).is_pending());
            subs.push(sub);
        }
        subs
    });
    println!(
        "memory: 1 topic x 100 000 idle subscribers: {per_subscriber} heap bytes per subscriber"
    );
    drop(subs);

    let hub = Hub::new();
    let (subs, per_hub_subscriber) = per_item(MANY, || {
        let mut subs = Vec::with_capacity(MANY);
        for _ in 0..MANY {
            let mut sub = hub.subscribe(None);
            assert!(poll(&mut sub, &mut cx).is_pending());
            subs.push(sub);
        }
        subs
    });
    println!(
        "memory: hub x 100 000 idle subscribers: {per_hub_subscriber} heap bytes per subscriber"
    );
    drop(subs);
}

/// Records which subscriber was woken.
struct Woken {
    index: usize,
    queue: Arc<Mutex<Vec<usize>>>,
}

impl Wake for Woken {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.queue
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(self.index);
    }
}

struct Cost {
    deliveries: u64,
    wall: Duration,
    cpu: Option<Duration>,
}

/// Publishes `events` with `publish`, polling each woken subscriber until it is caught up.
fn drive<S: Stream + Unpin>(subs: &mut [S], events: usize, mut publish: impl FnMut(usize)) -> Cost {
    let queue = Arc::new(Mutex::new(Vec::new()));
    let wakers: Vec<Waker> = (0..subs.len())
        .map(|index| {
            Waker::from(Arc::new(Woken {
                index,
                queue: queue.clone(),
            }))
        })
        .collect();
    for (sub, waker) in subs.iter_mut().zip(&wakers) {
        assert!(poll(sub, &mut Context::from_waker(waker)).is_pending());
    }
    let mut woken = Vec::new();
    let mut deliveries = 0;
    let cpu_start = cpu_time::ProcessTime::try_now().ok();
    let start = Instant::now();
    for i in 0..events {
        publish(i);
        std::mem::swap(
            &mut woken,
            &mut *queue.lock().unwrap_or_else(PoisonError::into_inner),
        );
        for &index in &woken {
            let mut cx = Context::from_waker(&wakers[index]);
            while let Poll::Ready(Some(_)) = poll(&mut subs[index], &mut cx) {
                deliveries += 1;
            }
        }
        woken.clear();
    }
    Cost {
        deliveries,
        wall: start.elapsed(),
        cpu: cpu_start.map(|c| c.elapsed()),
    }
}

fn report(name: &str, cost: &Cost) {
    let per = |d: Duration| d.as_nanos() as f64 / cost.deliveries.max(1) as f64;
    println!(
        "publish-to-deliver: {name}: {} deliveries, {:.0} ns wall, {} ns CPU per delivered frame",
        cost.deliveries,
        per(cost.wall),
        cost.cpu
            .map_or("?".to_owned(), |c| format!("{:.0}", per(c)))
    );
}

fn publish_to_deliver() {
    const SUBSCRIBERS: usize = 10_000;
    const TOPICS: usize = 1_000;
    let payload = "x".repeat(100);
    let names: Vec<String> = (0..TOPICS).map(|i| format!("rooms/{i}")).collect();

    // Broker: 10 per topic; each event reaches 10 subscribers, so it takes 1000x the events
    // of the hub's run for the same deliveries.
    let broker = Broker::new();
    let mut subs: Vec<BrokerSubscription> = (0..SUBSCRIBERS)
        .map(|i| {
            broker
                .subscribe_to(&selection(&names[i % TOPICS]))
                .expect("admitted")
                .subscribe(None)
        })
        .collect();
    let cost = drive(&mut subs, 100_000, |i| {
        broker
            .publish([&names[i % TOPICS]], Event::message(payload.clone()))
            .expect("publish");
    });
    report("broker, 10 000 subscribers over 1 000 topics", &cost);
    drop(subs);

    let broker = Broker::new();
    let one = selection("rooms/all");
    let mut subs: Vec<BrokerSubscription> = (0..SUBSCRIBERS)
        .map(|_| broker.subscribe_to(&one).expect("admitted").subscribe(None))
        .collect();
    let cost = drive(&mut subs, 100, |_| {
        broker
            .publish(["rooms/all"], Event::message(payload.clone()))
            .expect("publish");
    });
    report("broker, 10 000 subscribers of 1 topic", &cost);
    drop(subs);

    let hub = Hub::new();
    let mut subs: Vec<_> = (0..SUBSCRIBERS).map(|_| hub.subscribe(None)).collect();
    let cost = drive(&mut subs, 100, |_| {
        hub.publish(Event::message(payload.clone()));
    });
    report("hub, 10 000 subscribers", &cost);
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` would pass nothing else either:
    // both run the whole (short) measurement.
    memory();
    publish_to_deliver();
}
