//! A property test of `RedisBroker` against a model, on a real `redis-server` (one per case,
//! started on a free port and stopped when the case ends).
//!
//! Random interleavings of publishes (random topic subsets, through either of two instances on
//! one stream), subscriptions (random selections with patterns, on either instance), hops (a
//! client drops its connection and resumes with the last id it saw on the other instance) and
//! drains. For every client, across all its hops, what it receives is exactly the model's list
//! of events of its selection published after it subscribed: each once, in stream order,
//! nothing of another topic, and never a reset (the window holds every event of a case).

use std::time::Duration;

use conformance::broker::selection_matches;
use conformance::events::Decoder;
use conformance::redis_server::RedisServer;
use futures_util::StreamExt;
use proptest::prelude::*;
use ssekit_proto::Event;
use ssekit_proto::MessageEvent;
use ssekit_redis::broker::Selection;
use ssekit_redis::{RedisBroker, RedisBrokerConfig, RedisBrokerSubscription};

const TOPICS: &[&str] = &["a", "b", "c/x", "c/y", "d/e/f", "d/g"];
const SELECTORS: &[&str] = &["a", "b", "c/x", "c/*", "d/*", "d/e/*", "*", "zz"];
const CLIENTS: usize = 3;
const LIMIT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone)]
enum Op {
    /// Topics, through instance 0 or 1.
    Publish(Vec<usize>, usize),
    /// Client, selectors, instance.
    Subscribe(usize, Vec<usize>, usize),
    Hop(usize),
    Drain(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        5 => (proptest::collection::vec(0..TOPICS.len(), 1..3), 0..2usize)
            .prop_map(|(t, i)| Op::Publish(t, i)),
        1 => (0..CLIENTS, proptest::collection::vec(0..SELECTORS.len(), 1..4), 0..2usize)
            .prop_map(|(c, s, i)| Op::Subscribe(c, s, i)),
        3 => (0..CLIENTS).prop_map(Op::Hop),
        2 => (0..CLIENTS).prop_map(Op::Drain),
    ]
}

struct Client {
    selectors: Vec<&'static str>,
    instance: usize,
    sub: RedisBrokerSubscription,
    decoder: Decoder,
    /// The id it would resume from: the last event it received, or where it subscribed.
    last_id: Option<String>,
    /// Everything it must receive (the model), and what it received, across its hops.
    expected: Vec<(String, String)>,
    received: Vec<(String, String)>,
}

impl Client {
    /// Receives until it has all it must have by now.
    async fn drain(&mut self) {
        while self.received.len() < self.expected.len() {
            let frame = tokio::time::timeout(LIMIT, self.sub.next())
                .await
                .expect("the events of its topics arrive")
                .expect("the stream goes on");
            for event in self.decoder.feed(&frame) {
                assert_ne!(event.event_type(), "sse-reset", "no reset: {event:?}");
                self.last_id = Some(event.last_event_id().to_owned());
                self.received.push(pair(&event));
            }
        }
        assert_eq!(self.received, self.expected, "{:?}", self.selectors);
    }
}

fn pair(event: &MessageEvent) -> (String, String) {
    (event.last_event_id().to_owned(), event.data().to_owned())
}

fn subscribe(
    broker: &RedisBroker,
    selectors: &[&str],
    last: Option<&str>,
) -> RedisBrokerSubscription {
    let selection = Selection::new(selectors).expect("selection");
    broker
        .subscribe_to(&selection)
        .expect("admitted")
        .subscribe(last)
}

async fn run(case: &[Op]) {
    let redis = RedisServer::start();
    let config = || {
        RedisBrokerConfig::new("props")
            .max_len(1000)
            .block(Duration::from_millis(200))
    };
    let mut instances = Vec::new();
    for _ in 0..2 {
        let broker = tokio::time::timeout(LIMIT, RedisBroker::connect(redis.client(), config()))
            .await
            .expect("connect in time")
            .expect("connect");
        instances.push(broker);
    }
    // Every event published so far: (id, data, topics).
    let mut published: Vec<(String, String, Vec<&'static str>)> = Vec::new();
    let mut clients: Vec<Option<Client>> = (0..CLIENTS).map(|_| None).collect();
    for (n, op) in case.iter().enumerate() {
        match op {
            Op::Publish(topics, via) => {
                let topics: Vec<&'static str> = topics.iter().map(|&t| TOPICS[t]).collect();
                let data = format!("event {n}");
                let id = instances[*via]
                    .publish(&topics, Event::message(data.clone()))
                    .await
                    .expect("publish");
                for client in clients.iter_mut().flatten() {
                    if selection_matches(&client.selectors, &topics) {
                        client.expected.push((id.to_string(), data.clone()));
                    }
                }
                published.push((id.to_string(), data, topics));
            }
            Op::Subscribe(c, selectors, instance) => {
                let selectors: Vec<&'static str> =
                    selectors.iter().map(|&s| SELECTORS[s]).collect();
                // From the newest event published (the instance catches up with it first), or
                // from the origin `0-0`: the client gets exactly what is published from now on,
                // and has an id to resume from even before its first event.
                let last = Some(
                    published
                        .last()
                        .map_or("0-0".to_owned(), |(id, _, _)| id.clone()),
                );
                let sub = subscribe(&instances[*instance], &selectors, last.as_deref());
                clients[*c] = Some(Client {
                    selectors,
                    instance: *instance,
                    sub,
                    decoder: Decoder::new(),
                    last_id: last,
                    expected: Vec::new(),
                    received: Vec::new(),
                });
            }
            Op::Hop(c) => {
                if let Some(client) = clients[*c].as_mut() {
                    client.instance = 1 - client.instance;
                    // A cut between two events (a frame is one event): the decoder has nothing
                    // pending, and the new connection resumes after the last event received.
                    client.decoder = Decoder::new();
                    client.sub = subscribe(
                        &instances[client.instance],
                        &client.selectors,
                        client.last_id.as_deref(),
                    );
                }
            }
            Op::Drain(c) => {
                if let Some(client) = clients[*c].as_mut() {
                    client.drain().await;
                }
            }
        }
    }
    for client in clients.iter_mut().flatten() {
        client.drain().await;
        // Nothing else: no event of another topic, nothing twice.
        let more = tokio::time::timeout(Duration::from_millis(50), client.sub.next()).await;
        assert!(more.is_err(), "more than expected: {more:?}");
    }
}

proptest! {
    // Each case runs a redis-server and two instances: few cases, each a few hundred ms.
    #![proptest_config(ProptestConfig { cases: 32, max_shrink_iters: 32, ..ProptestConfig::default() })]

    #[test]
    fn a_client_gets_its_topics_exactly_once_in_order_across_hops(
        ops in proptest::collection::vec(op(), 1..40),
    ) {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(run(&ops));
    }
}
