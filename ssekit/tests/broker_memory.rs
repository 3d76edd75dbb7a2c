//! Heap bytes per topic and per subscriber of the topic broker, measured with a counting
//! allocator (the bench `benches/benches/broker.rs` prints the same figures at 100 000; this
//! test keeps the bounds in CI at 10 000). The counters are process-wide, so the tests here take
//! `SERIAL` first.

use std::pin::Pin;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};

use counting_alloc::CountingAlloc;
use futures_core::Stream;
use ssekit::broker::{Broker, BrokerConfig, BrokerSubscription, Selection};
use ssekit_proto::{Event, Frame};

#[global_allocator]
static HEAP: CountingAlloc = CountingAlloc::new();

static SERIAL: Mutex<()> = Mutex::new(());

const N: usize = 10_000;

/// Bounds, in heap bytes: a topic with its one subscriber, and one more subscriber of a topic.
const MAX_BYTES_PER_TOPIC: usize = 800;
const MAX_BYTES_PER_SUBSCRIBER: usize = 400;

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(PoisonError::into_inner)
}

fn poll(sub: &mut BrokerSubscription) -> Poll<Option<Frame>> {
    Pin::new(sub).poll_next(&mut Context::from_waker(Waker::noop()))
}

fn subscribe(broker: &Broker, topic: &str) -> BrokerSubscription {
    let selection = Selection::new([topic]).expect("a valid topic");
    let mut sub = broker
        .subscribe_to(&selection)
        .expect("admitted")
        .subscribe(None);
    assert!(poll(&mut sub).is_pending());
    sub
}

#[test]
fn a_topic_with_one_subscriber_costs_a_bounded_few_hundred_bytes() {
    let _serial = serial();
    let broker = Broker::with_config(BrokerConfig::default().max_idle_topics(100));
    let names: Vec<String> = (0..N).map(|i| format!("users/{i}")).collect();
    let before = HEAP.current();
    let subs: Vec<BrokerSubscription> = names.iter().map(|n| subscribe(&broker, n)).collect();
    let per_topic = (HEAP.current() - before) / N;
    eprintln!("{N} topics with one subscriber each: {per_topic} heap bytes per topic");
    assert_eq!(broker.topic_count(), N);
    assert!(per_topic < MAX_BYTES_PER_TOPIC, "{per_topic}");
    drop(subs);
    // Unused, they are idle: at most `max_idle_topics` of them are kept.
    assert_eq!(broker.topic_count(), 100);
}

#[test]
fn a_subscriber_of_a_shared_topic_costs_a_bounded_few_hundred_bytes() {
    let _serial = serial();
    let broker = Broker::new();
    broker
        .publish(["rooms/1"], Event::message("warm-up"))
        .expect("publish");
    let before = HEAP.current();
    let subs: Vec<BrokerSubscription> = (0..N).map(|_| subscribe(&broker, "rooms/1")).collect();
    let per_subscriber = (HEAP.current() - before) / N;
    eprintln!("{N} subscribers of one topic: {per_subscriber} heap bytes per subscriber");
    assert!(
        per_subscriber < MAX_BYTES_PER_SUBSCRIBER,
        "{per_subscriber}"
    );

    // One publish to all of them allocates the frame and its entry, not a copy per subscriber.
    let before_publish = HEAP.current();
    broker
        .publish(["rooms/1"], Event::message("hello"))
        .expect("publish");
    let publish_bytes = HEAP.current().saturating_sub(before_publish);
    eprintln!("one publish to {N} subscribers: {publish_bytes} heap bytes");
    assert!(publish_bytes < 4096, "{publish_bytes}");
    drop(subs);
    assert_eq!(broker.subscription_count(), 0);
}
