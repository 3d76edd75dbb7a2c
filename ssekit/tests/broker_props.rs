//! Property tests of the topic broker against a model.
//!
//! Random interleavings of publishes (to random topic subsets), subscriptions (random
//! selections with patterns, each narrowed by a random per-client authorization), drains,
//! disconnects and resumes with the last id seen, and bursts longer than a small window. For
//! every client, across all its reconnections, the test checks against the list of everything
//! published:
//!
//! - **allowed only**: every event delivered is of a topic the client both asked for and was
//!   allowed (checked with the test's own matcher, not the broker's);
//! - **exactly once, in order, or reset**: each event delivered is exactly the next event of
//!   its selection after the last id it saw (an event id, or a reset frame's id), so no
//!   duplicate, no reordering, no silent gap, also across a resume;
//! - **resets are real**: a reset in the middle of a stream covers at least one event of its
//!   selection that it did not get; a resume with an id still in the window never resets;
//! - **live**: after a drain, nothing of its selection published after its last id is missing.
//!
//! The same run is made with the broker's own sequence and with external ids
//! ([`BrokerConfig::external_ids`], as `ssekit-redis` uses): ids with gaps between them, looked up
//! by their position.

use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::Stream;
use proptest::prelude::*;
use ssekit::Event;
use ssekit::broker::{
    Broker, BrokerConfig, BrokerResume, BrokerSubscription, Denied, ExternalIds, Rejection,
    RequestInfo, Selection, Ticket,
};
use ssekit_proto::{Parsed, Parser};

const TOPICS: &[&str] = &["a", "b", "c/x", "c/y", "d/e/f", "d/g"];
const SELECTORS: &[&str] = &["a", "b", "c/x", "c/*", "d/*", "d/e/*", "*", "zz"];
const CLIENTS: usize = 4;

/// The test's own matcher: a selector ending in `*` matches longer topics with its prefix.
fn model_matches(selector: &str, topic: &str) -> bool {
    match selector.strip_suffix('*') {
        Some(prefix) => topic.len() > prefix.len() && topic.starts_with(prefix),
        None => selector == topic,
    }
}

fn any_match(selectors: &[&str], topics: &[&str]) -> bool {
    topics
        .iter()
        .any(|t| selectors.iter().any(|s| model_matches(s, t)))
}

/// Grants each client (named by a header) the intersection of what it asks with its allowance.
struct PerClient(Vec<Vec<&'static str>>);

impl ssekit::broker::Authorize for PerClient {
    fn subscribe(&self, request: &RequestInfo, asked: &Selection) -> Result<Selection, Denied> {
        let client: usize = request
            .header_value("client")
            .and_then(|c| c.parse().ok())
            .ok_or(Denied::MissingCredentials)?;
        let allowed =
            Selection::new(&self.0[client]).map_err(|e| Denied::NotAllowed(e.to_string()))?;
        Ok(asked.intersect(&allowed))
    }

    fn publish(&self, _: &RequestInfo, _: &[&str]) -> Result<(), Denied> {
        Ok(())
    }
}

#[derive(Debug, Clone)]
enum Op {
    Publish(Vec<usize>),
    Burst(usize, Vec<usize>),
    Subscribe(usize, Vec<usize>),
    Drain(usize),
    Disconnect(usize),
    BrokerResume(usize),
}

fn topics() -> impl Strategy<Value = Vec<usize>> {
    proptest::collection::vec(0..TOPICS.len(), 1..3)
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => topics().prop_map(Op::Publish),
        1 => (2..12usize, topics()).prop_map(|(n, t)| Op::Burst(n, t)),
        2 => (0..CLIENTS, proptest::collection::vec(0..SELECTORS.len(), 1..4))
            .prop_map(|(c, s)| Op::Subscribe(c, s)),
        4 => (0..CLIENTS).prop_map(Op::Drain),
        1 => (0..CLIENTS).prop_map(Op::Disconnect),
        2 => (0..CLIENTS).prop_map(Op::BrokerResume),
    ]
}

#[derive(Default)]
struct Client {
    /// What it asked for and what it is allowed, as the model sees them.
    asked: Vec<&'static str>,
    ticket: Option<Ticket>,
    sub: Option<BrokerSubscription>,
    /// The last id it saw (an event's or a reset frame's).
    last_id: Option<u64>,
    /// Its subscription resumed from an id the broker does not hold: a reset frame comes first.
    initial_reset: bool,
}

struct Model {
    /// The topics of each event, by sequence number - 1.
    published: Vec<Vec<&'static str>>,
    capacity: usize,
}

impl Model {
    fn first_seq(&self) -> u64 {
        (self.published.len() + 1)
            .saturating_sub(self.capacity)
            .max(1) as u64
    }

    fn selected(&self, seq: u64, asked: &[&str], allowed: &[&str]) -> bool {
        let topics = &self.published[(seq - 1) as usize];
        topics.iter().any(|t| {
            asked.iter().any(|s| model_matches(s, t)) && allowed.iter().any(|s| model_matches(s, t))
        })
    }

    /// The first event of the selection after `after`, if any.
    fn next_after(&self, after: u64, asked: &[&str], allowed: &[&str]) -> Option<u64> {
        (after + 1..=self.published.len() as u64).find(|&s| self.selected(s, asked, allowed))
    }
}

/// External ids for event `seq`: `1000 + 3 seq`, so that there are numbers between two ids
/// that are no event's; `0` (the origin) stands for "before everything".
fn external_id(seq: u64) -> String {
    match seq {
        0 => "0".to_owned(),
        seq => (1000 + 3 * seq).to_string(),
    }
}

fn external_seq(id: u64) -> u64 {
    match id {
        0 => 0,
        id => (id - 1000) / 3,
    }
}

fn decimal_position(id: &str) -> Option<u128> {
    ssekit::decimal::parse(id).map(u128::from)
}

/// The ids of a run: the broker's sequence numbers, or external ones.
#[derive(Debug, Clone, Copy)]
enum Ids {
    Sequence,
    External,
}

impl Ids {
    fn text(self, seq: u64) -> String {
        match self {
            Ids::Sequence => seq.to_string(),
            Ids::External => external_id(seq),
        }
    }

    fn seq(self, id: u64) -> u64 {
        match self {
            Ids::Sequence => id,
            Ids::External => external_seq(id),
        }
    }
}

fn decode(frame: &[u8]) -> (String, u64) {
    let mut parser = Parser::new();
    let events: Vec<_> = parser
        .feed(frame)
        .filter_map(|item| match item {
            Ok(Parsed::Event(e)) => Some(e),
            _ => None,
        })
        .collect();
    assert_eq!(events.len(), 1, "one event per frame");
    let id = events[0]
        .last_event_id()
        .parse()
        .expect("every frame has a numeric id");
    (events[0].event_type().to_owned(), id)
}

fn run(ids: Ids, capacity: usize, idle: usize, allowances: Vec<Vec<usize>>, ops: Vec<Op>) {
    let allowed: Vec<Vec<&'static str>> = allowances
        .iter()
        .map(|a| a.iter().map(|&i| SELECTORS[i]).collect())
        .collect();
    let config = BrokerConfig::default()
        .capacity(capacity)
        .max_idle_topics(idle)
        .max_topics(64)
        .max_lag(1 << 20)
        .stall_timeout(std::time::Duration::from_secs(3600))
        .clock(ssekit::clock::ManualClock::new());
    let config = match ids {
        Ids::Sequence => config,
        Ids::External => config.external_ids(ExternalIds::new("0", decimal_position)),
    };
    let broker = Broker::with_authorize(config, PerClient(allowed.clone()));
    let mut model = Model {
        published: Vec::new(),
        capacity,
    };
    let mut clients: Vec<Client> = (0..CLIENTS).map(|_| Client::default()).collect();
    let waker = futures_util::task::noop_waker();
    let mut cx = Context::from_waker(&waker);
    let publish = |model: &mut Model, topics: &[usize]| {
        let names: Vec<&'static str> = topics.iter().map(|&i| TOPICS[i]).collect();
        let next = model.published.len() as u64 + 1;
        match ids {
            Ids::Sequence => {
                let seq = broker
                    .publish(&names, Event::message("x"))
                    .expect("publish");
                assert_eq!(*seq, *next.to_string());
            }
            Ids::External => broker
                .publish_with_id(&names, Event::message("x"), &external_id(next))
                .expect("publish"),
        }
        model.published.push(names);
    };
    for op in ops {
        match op {
            Op::Publish(topics) => publish(&mut model, &topics),
            Op::Burst(n, topics) => (0..n).for_each(|_| publish(&mut model, &topics)),
            Op::Subscribe(c, selectors) => {
                let asked: Vec<&'static str> = selectors.iter().map(|&i| SELECTORS[i]).collect();
                let request = RequestInfo::new().header("client", c.to_string());
                let selection = Selection::new(&asked).expect("valid selection");
                let client = &mut clients[c];
                client.sub = None;
                client.ticket = None;
                // What the model allows: some topic matches both.
                let possible = TOPICS
                    .iter()
                    .any(|t| any_match(&asked, &[t]) && any_match(&allowed[c], &[t]))
                    || asked.iter().any(|a| {
                        allowed[c]
                            .iter()
                            .any(|b| model_matches(a, b) || model_matches(b, a) || a == b)
                    });
                match broker.admit(&request, &selection) {
                    Ok(ticket) => {
                        let sub = ticket.subscribe(None);
                        client.asked = asked;
                        client.ticket = Some(ticket);
                        client.sub = Some(sub);
                        client.initial_reset = false;
                        client.last_id = Some(model.published.len() as u64);
                    }
                    Err(Rejection::Denied(_)) => {
                        assert!(
                            !possible,
                            "denied although {asked:?} meets {:?}",
                            allowed[c]
                        );
                        client.asked = Vec::new();
                        client.last_id = None;
                    }
                    Err(other) => panic!("unexpected rejection {other}"),
                }
            }
            Op::Disconnect(c) => clients[c].sub = None,
            Op::BrokerResume(c) => {
                let client = &mut clients[c];
                if let (Some(ticket), Some(last)) = (&client.ticket, client.last_id) {
                    client.sub = None;
                    let sub = ticket.subscribe(Some(&ids.text(last)));
                    if last + 1 >= model.first_seq() {
                        assert_ne!(
                            sub.resume(),
                            BrokerResume::Reset,
                            "id {last} is in the window"
                        );
                    }
                    client.initial_reset = sub.resume() == BrokerResume::Reset;
                    client.sub = Some(sub);
                }
            }
            Op::Drain(c) => {
                let client = &mut clients[c];
                let Some(sub) = client.sub.as_mut() else {
                    continue;
                };
                let asked = client.asked.clone();
                let mut last = client.last_id.unwrap_or(0);
                loop {
                    match Pin::new(&mut *sub).poll_next(&mut cx) {
                        Poll::Ready(Some(frame)) => {
                            let (kind, id) = decode(&frame);
                            let id = ids.seq(id);
                            if kind == "sse-reset" {
                                assert!(id >= last, "reset id {id} before {last}");
                                let lost = model.next_after(last, &asked, &allowed[c]);
                                let initial = std::mem::take(&mut client.initial_reset);
                                assert!(
                                    initial || lost.is_some_and(|l| l <= id),
                                    "reset at {id} after {last} lost nothing of {asked:?}"
                                );
                                last = id;
                                continue;
                            }
                            assert!(!client.initial_reset, "a reset first");
                            let topics = &model.published[(id - 1) as usize];
                            assert!(
                                any_match(&asked, topics) && any_match(&allowed[c], topics),
                                "event {id} of {topics:?} delivered to {asked:?} allowed {:?}",
                                allowed[c]
                            );
                            assert_eq!(
                                Some(id),
                                model.next_after(last, &asked, &allowed[c]),
                                "after {last}, {asked:?}"
                            );
                            last = id;
                        }
                        Poll::Ready(None) => panic!("stream ended"),
                        Poll::Pending => break,
                    }
                }
                assert_eq!(
                    model.next_after(last, &asked, &allowed[c]),
                    None,
                    "caught up"
                );
                client.last_id = Some(last);
            }
        }
    }
    // Everything is released when the clients go.
    drop(clients);
    assert_eq!(broker.subscription_count(), 0);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn exactly_once_in_order_or_reset_and_only_allowed(
        capacity in 1..10usize,
        idle in 0..4usize,
        allowances in proptest::collection::vec(
            proptest::collection::vec(0..SELECTORS.len(), 1..4), CLIENTS),
        ops in proptest::collection::vec(op(), 1..80),
    ) {
        run(Ids::Sequence, capacity, idle, allowances, ops);
    }

    /// The same with external ids (as `ssekit-redis` gives its local broker).
    #[test]
    fn with_external_ids_exactly_once_in_order_or_reset_and_only_allowed(
        capacity in 1..10usize,
        idle in 0..4usize,
        allowances in proptest::collection::vec(
            proptest::collection::vec(0..SELECTORS.len(), 1..4), CLIENTS),
        ops in proptest::collection::vec(op(), 1..80),
    ) {
        run(Ids::External, capacity, idle, allowances, ops);
    }

    /// `Selection::intersect` matches exactly what both selections match.
    #[test]
    fn intersection_is_exact(
        a in proptest::collection::vec(0..SELECTORS.len(), 1..4),
        b in proptest::collection::vec(0..SELECTORS.len(), 1..4),
        topic in prop_oneof![
            (0..TOPICS.len()).prop_map(|i| TOPICS[i].to_owned()),
            "[a-d/]{1,6}",
        ],
    ) {
        let a: Vec<&str> = a.iter().map(|&i| SELECTORS[i]).collect();
        let b: Vec<&str> = b.iter().map(|&i| SELECTORS[i]).collect();
        let both = Selection::new(&a).unwrap().intersect(&Selection::new(&b).unwrap());
        prop_assert_eq!(
            both.matches(&topic),
            any_match(&a, &[topic.as_str()]) && any_match(&b, &[topic.as_str()])
        );
    }
}

#[derive(Debug, Clone)]
enum Admission {
    Admit(Vec<usize>),
    Subscribe(usize),
    DropTicket(usize),
    DropSubscription(usize),
}

fn admission() -> impl Strategy<Value = Admission> {
    prop_oneof![
        3 => proptest::collection::vec(0..SELECTORS.len(), 1..3).prop_map(Admission::Admit),
        2 => (0..16usize).prop_map(Admission::Subscribe),
        1 => (0..16usize).prop_map(Admission::DropTicket),
        1 => (0..16usize).prop_map(Admission::DropSubscription),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Admission limits against a model: a subscribe is admitted exactly when the total and
    /// every selected topic's count are under their limits; tickets and subscriptions count
    /// until dropped; the counts the broker reports are the model's; nothing is left at the end.
    #[test]
    fn admission_limits_match_a_model(
        total in 1..6usize,
        per_topic in 1..4usize,
        ops in proptest::collection::vec(admission(), 1..60),
    ) {
        let broker = Broker::with_config(
            BrokerConfig::default().max_subscriptions(total).max_subscribers_per_topic(per_topic),
        );
        // (selectors, ticket, subscription) per admitted client.
        let mut held: Vec<(Vec<&str>, Option<Ticket>, Option<BrokerSubscription>)> = Vec::new();
        let count = |held: &[(Vec<&str>, Option<Ticket>, Option<BrokerSubscription>)], key: &str| {
            held.iter()
                .filter(|(s, t, sub)| s.contains(&key) && (t.is_some() || sub.is_some()))
                .count()
        };
        for op in ops {
            match op {
                Admission::Admit(selectors) => {
                    let mut keys: Vec<&str> = selectors.iter().map(|&i| SELECTORS[i]).collect();
                    keys.sort();
                    keys.dedup();
                    let open = held.iter().filter(|(_, t, s)| t.is_some() || s.is_some()).count();
                    let fits = open < total && keys.iter().all(|k| count(&held, k) < per_topic);
                    let selection = Selection::new(&keys).expect("valid");
                    match broker.subscribe_to(&selection) {
                        Ok(ticket) => {
                            prop_assert!(fits, "admitted past a limit");
                            held.push((keys, Some(ticket), None));
                        }
                        Err(rejection) => {
                            prop_assert!(!fits, "refused under the limits: {}", rejection);
                            prop_assert_eq!(rejection.status(), 503);
                        }
                    }
                }
                Admission::Subscribe(i) => {
                    if let Some((_, ticket @ Some(_), sub @ None)) = held.get_mut(i) {
                        *sub = ticket.as_ref().map(|t| t.subscribe(None));
                        *ticket = None; // the subscription now holds the place
                    }
                }
                Admission::DropTicket(i) => {
                    if let Some((_, ticket, _)) = held.get_mut(i) {
                        *ticket = None;
                    }
                }
                Admission::DropSubscription(i) => {
                    if let Some((_, _, sub)) = held.get_mut(i) {
                        *sub = None;
                    }
                }
            }
            let open = held.iter().filter(|(_, t, s)| t.is_some() || s.is_some()).count();
            prop_assert_eq!(broker.subscription_count(), open);
            for key in SELECTORS {
                let live = held.iter().filter(|(s, _, sub)| s.contains(key) && sub.is_some()).count();
                prop_assert_eq!(broker.subscribers_of(key), live, "{}", key);
            }
        }
        drop(held);
        prop_assert_eq!(broker.subscription_count(), 0);
    }
}
