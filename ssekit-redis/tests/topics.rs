//! `RedisBroker` against a real `redis-server` (started by each test on a free port, stopped
//! when it ends): topics over one stream, a client hopping between two instances, authorization,
//! resets, one reader connection per instance whatever the number of topics, Redis restarting.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use conformance::broker::{CookieUsers, selection_matches, topics_request as request};
use conformance::e2e::EventStream;
use conformance::events::{Decoder, message};
use conformance::redis_server::{RedisServer, entry_order};
use conformance::wait::within;
use futures_util::StreamExt;
use ssekit_axum::{BrokerRequest, Event, LastEventId, Rejected, Sse};
use ssekit_proto::MessageEvent;
use ssekit_redis::broker::{BrokerConfig, BrokerResume, PublishError, RequestInfo, Selection};
use ssekit_redis::{Error, RedisBroker, RedisBrokerConfig, RedisBrokerSubscription, RedisTicket};

const LIMIT: Duration = Duration::from_secs(20);

/// Test settings: quick reconnection, short blocks.
fn config(key: &str) -> RedisBrokerConfig {
    RedisBrokerConfig::new(key)
        .block(Duration::from_millis(500))
        .reconnect_backoff(Duration::from_millis(10), Duration::from_millis(200))
}

/// An event published: its id, data and topics.
#[derive(Debug, Clone)]
struct Published {
    id: Arc<str>,
    data: String,
    topics: Vec<&'static str>,
}

/// What a client of `selectors` must get of `published`: its events, in stream order.
fn expected(published: &[Published], selectors: &[&str]) -> Vec<MessageEvent> {
    let mut mine: Vec<&Published> = published
        .iter()
        .filter(|p| selection_matches(selectors, &p.topics))
        .collect();
    mine.sort_by_key(|p| entry_order(&p.id));
    mine.iter().map(|p| message(&p.data, &p.id)).collect()
}

/// An instance: a `RedisBroker` served over HTTP by axum on 127.0.0.1 at
/// `/events?topic=...`.
struct Instance {
    broker: RedisBroker,
    addr: SocketAddr,
    server: tokio::task::JoinHandle<()>,
}

async fn events(
    State(broker): State<RedisBroker>,
    BrokerRequest(request): BrokerRequest,
    last: LastEventId,
) -> Result<Sse<RedisBrokerSubscription>, Rejected> {
    let ticket = broker.admit_query(&request)?;
    Ok(Sse::from_broadcast(&ticket, &last))
}

impl Instance {
    async fn start(redis: &RedisServer, config: RedisBrokerConfig) -> Instance {
        let broker = within(
            LIMIT,
            "connect",
            RedisBroker::connect_with_authorize(redis.client(), config, CookieUsers),
        )
        .await
        .expect("RedisBroker::connect");
        let app = Router::new()
            .route("/events", get(events))
            .with_state(broker.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("address");
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Instance {
            broker,
            addr,
            server,
        }
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Reads `n` events from an in-process subscription.
async fn take(sub: &mut RedisBrokerSubscription, n: usize) -> Vec<MessageEvent> {
    let mut decoder = Decoder::new();
    let mut out = Vec::new();
    while out.len() < n {
        let frame = within(LIMIT, "next frame", sub.next())
            .await
            .expect("subscription ended");
        out.extend(decoder.feed(&frame));
    }
    out
}

fn admit(broker: &RedisBroker, selectors: &[&str]) -> RedisTicket {
    broker
        .subscribe_to(&Selection::new(selectors).expect("selection"))
        .expect("admitted")
}

/// Publishes through `broker` until it succeeds (Redis may be coming back), giving up after
/// [`LIMIT`].
async fn publish_until_ok(
    broker: &RedisBroker,
    topics: &[&'static str],
    data: String,
) -> Published {
    let deadline = Instant::now() + LIMIT;
    loop {
        match broker.publish(topics, Event::message(data.clone())).await {
            Ok(id) => {
                return Published {
                    id,
                    data,
                    topics: topics.to_vec(),
                };
            }
            Err(e) => {
                assert!(Instant::now() < deadline, "publish kept failing: {e}");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
}

/// What the publishers cycle through: topics the hopping client selects (through a topic and
/// a pattern), others, and events of several topics at once.
const TOPIC_SETS: &[&[&str]] = &[
    &["rooms/1/chat"],
    &["rooms/2/chat"],
    &["users/7"],
    &["users/8"],
    &["users/7", "users/8"],
    &["rooms/1/presence", "rooms/2/presence"],
    &["rooms/10/chat"],
    &["rooms/1/chat", "users/7"],
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_hopping_between_instances_gets_every_event_of_its_topics_once_in_order() {
    const TOTAL: usize = 600;
    const PER_CONNECTION: usize = 15;
    let selectors = ["rooms/1/*", "users/7"];
    let redis = RedisServer::start();
    let a = Instance::start(&redis, config("hop")).await;
    let b = Instance::start(&redis, config("hop")).await;

    // The client is on A before anything is published.
    let mut client = EventStream::connect(a.addr, request(&selectors, "7", None)).await;
    // Two publishers, one through each instance, concurrently with the client's hops.
    let publisher = |broker: RedisBroker, name: &'static str, offset: usize| {
        tokio::spawn(async move {
            let mut published = Vec::new();
            for i in 0..TOTAL / 2 {
                let topics = TOPIC_SETS[(i + offset) % TOPIC_SETS.len()];
                let data = format!("{name} {i}");
                let id = broker
                    .publish(topics, Event::message(data.clone()))
                    .await
                    .expect("publish");
                published.push(Published {
                    id,
                    data,
                    topics: topics.to_vec(),
                });
                if i % 4 == 0 {
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
            }
            published
        })
    };
    let via_a = publisher(a.broker.clone(), "via A", 0);
    let via_b = publisher(b.broker.clone(), "via B", 3);

    // How many of its events there will be: the publishers' topic cycles are fixed.
    let mine = (0..TOTAL / 2)
        .map(|i| TOPIC_SETS[i % TOPIC_SETS.len()])
        .chain((0..TOTAL / 2).map(|i| TOPIC_SETS[(i + 3) % TOPIC_SETS.len()]))
        .filter(|topics| selection_matches(&selectors, topics))
        .count();
    let instances = [a.addr, b.addr];
    let mut got: Vec<MessageEvent> = Vec::new();
    let mut hops = 0;
    let mut on_this_connection = 0;
    while got.len() < mine {
        let events = client.take_some().await;
        on_this_connection += events.len();
        got.extend(events);
        if on_this_connection >= PER_CONNECTION && got.len() < mine {
            // Cut: drop the connection, reconnect to the other instance with the id of the
            // last complete event.
            hops += 1;
            let last = got.last().map(|e| e.last_event_id().to_owned());
            drop(client);
            let next = request(&selectors, "7", last.as_deref());
            client = EventStream::connect(instances[hops % 2], next).await;
            on_this_connection = 0;
        }
    }
    let mut published = within(LIMIT, "publishers", via_a)
        .await
        .expect("publisher A");
    published.extend(
        within(LIMIT, "publishers", via_b)
            .await
            .expect("publisher B"),
    );

    assert!(hops >= 10, "only {hops} hops");
    let expected = expected(&published, &selectors);
    assert_eq!(expected.len(), mine);
    assert!(
        got.iter().all(|e| e.event_type() != "sse-reset"),
        "no reset on a hop"
    );
    assert_eq!(got.len(), expected.len(), "received {} events", got.len());
    for (i, (got, want)) in got.iter().zip(&expected).enumerate() {
        assert_eq!(got, want, "event {i} (after {hops} hops)");
    }
    // Nothing more (of another topic, or twice) arrives once the last event is in.
    let extra = tokio::time::timeout(Duration::from_millis(300), client.take_some()).await;
    assert!(
        extra.as_ref().map_or(true, Vec::is_empty),
        "unexpected events: {extra:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authorization_decides_before_the_stream_and_nothing_else_arrives() {
    let redis = RedisServer::start();
    let a = Instance::start(&redis, config("auth")).await;

    // 403 before any stream: no credentials, or only another user's topic.
    let as_7 = RequestInfo::new().header("cookie", "user=7");
    let other = Selection::new(["users/8"]).expect("selection");
    let rejection = a.broker.admit(&as_7, &other).expect_err("denied");
    assert_eq!(rejection.status(), 403);
    let rejection = a
        .broker
        .admit(&RequestInfo::new(), &other)
        .expect_err("denied");
    assert_eq!(rejection.status(), 403);
    for (selectors, user) in [(&["users/8"][..], "7"), (&["users/7"][..], "")] {
        let response = within(
            LIMIT,
            "request",
            request(selectors, user, None).send(a.addr),
        )
        .await
        .expect("response");
        assert_eq!(response.status, 403, "{selectors:?} as {user:?}");
        assert_ne!(response.header("content-type"), Some("text/event-stream"));
    }
    // A malformed selection is 400.
    let response = within(
        LIMIT,
        "request",
        request(&["users*"], "7", None).send(a.addr),
    )
    .await
    .expect("response");
    assert_eq!(response.status, 400);
    assert_eq!(a.broker.subscription_count(), 0, "nothing was admitted");

    // Asking for every user's notifications is narrowed to the user's own.
    let ticket = a
        .broker
        .admit(&as_7, &Selection::new(["users/*"]).expect("selection"))
        .expect("admitted");
    assert_eq!(
        ticket.selection(),
        &Selection::new(["users/7"]).expect("selection")
    );
    let mut sub = ticket.subscribe(None);
    let mut http =
        EventStream::connect(a.addr, request(&["users/*", "rooms/1/*"], "7", None)).await;
    let mut published = Vec::new();
    for (topics, data) in [
        (&["users/8"][..], "for 8"),
        (&["users/9", "rooms/2/x"][..], "for 9 and room 2"),
        (&["users/7"][..], "for 7"),
        (&["rooms/1/x"][..], "room 1"),
        (&["users/8", "users/7"][..], "for 8 and 7"),
    ] {
        published.push(publish_until_ok(&a.broker, topics, data.to_owned()).await);
    }
    let want = expected(&published, &["users/7"]);
    assert_eq!(take(&mut sub, 2).await, want);
    let want_http = expected(&published, &["users/7", "rooms/1/*"]);
    assert_eq!(http.take(3).await, want_http);
    // A marker on the user's topic: nothing came before it that was not theirs.
    let marker = publish_until_ok(&a.broker, &["users/7"], "marker".into()).await;
    assert_eq!(take(&mut sub, 1).await, [message("marker", &marker.id)]);

    // Publishing on behalf of a request: the hook decides, nothing is added when it refuses.
    let before = a.broker.last_entry_id();
    let refused = a
        .broker
        .publish_as(&as_7, ["users/8"], Event::message("x"))
        .await;
    assert!(
        matches!(refused, Err(Error::Publish(PublishError::Denied(_)))),
        "{refused:?}"
    );
    let bad = a.broker.publish(["a*"], Event::message("x")).await;
    assert!(
        matches!(bad, Err(Error::Publish(PublishError::Topic(_)))),
        "{bad:?}"
    );
    let own = a
        .broker
        .publish_as(&as_7, ["users/7"], Event::message("mine"))
        .await
        .expect("allowed");
    assert_eq!(take(&mut sub, 1).await, [message("mine", &own)]);
    assert_ne!(before.as_deref(), Some(&*own));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_or_too_old_id_gets_the_reset_frame() {
    let redis = RedisServer::start();
    // Entries with ids of our choosing, 100-0 to 2000-0, so that there are ids between them.
    let mut raw = redis.client().get_connection().expect("connection");
    let ids: Vec<String> = (1..=20).map(|i| format!("{}-0", i * 100)).collect();
    for (i, id) in ids.iter().enumerate() {
        let topic = if i % 2 == 0 { "even" } else { "odd" };
        let _: String = redis::cmd("XADD")
            .arg("old")
            .arg(id)
            .arg("topics")
            .arg(topic)
            .arg("data")
            .arg(i.to_string())
            .query(&mut raw)
            .expect("XADD");
    }
    // An instance loads the window (the newest 5 entries, and the one before).
    let b = RedisBroker::connect(
        redis.client(),
        config("old")
            .max_len(5)
            .catch_up_timeout(Duration::from_millis(200)),
    )
    .await
    .expect("connect");
    assert_eq!(b.retained().0, 5);
    assert_eq!(b.last_entry_id().as_deref(), Some("2000-0"));
    let both = admit(&b, &["even", "odd"]);

    // In the window, or the entry just before it: replayed.
    let mut sub = both.subscribe(Some(&ids[16]));
    assert_eq!(sub.resume(), Some(BrokerResume::Replayed));
    let got = take(&mut sub, 3).await;
    assert_eq!(
        got.iter().map(|e| e.last_event_id()).collect::<Vec<_>>(),
        ["1800-0", "1900-0", "2000-0"]
    );
    let mut sub = both.subscribe(Some(&ids[14]));
    assert_eq!(sub.resume(), Some(BrokerResume::Replayed));
    assert_eq!(take(&mut sub, 5).await[0].last_event_id(), "1600-0");

    // Too old, not an entry id, an entry id that never was, one that never comes (after the
    // catch-up timeout): the reset frame (its id the entry before the window), then the
    // window's events of the topics.
    for asked in ["400-0", "17", "garbage", "1650-0", "99999999-0"] {
        let even = admit(&b, &["even"]);
        let mut sub = even.subscribe(Some(asked));
        let got = take(&mut sub, 3).await;
        assert_eq!(sub.resume(), Some(BrokerResume::Reset), "{asked}");
        assert_eq!(got[0].event_type(), "sse-reset", "{asked}");
        assert_eq!(got[0].data(), asked);
        assert_eq!(got[0].last_event_id(), "1500-0");
        assert_eq!(
            got[1..].iter().map(|e| e.data()).collect::<Vec<_>>(),
            ["16", "18"],
            "{asked}"
        );
    }
}

/// The connections the server has, as `CLIENT LIST` shows them (one line each), without the
/// one asking.
fn connections(redis: &RedisServer) -> usize {
    let mut raw = redis.client().get_connection().expect("connection");
    let list: String = redis::cmd("CLIENT")
        .arg("LIST")
        .query(&mut raw)
        .expect("CLIENT LIST");
    list.lines().filter(|l| !l.trim().is_empty()).count() - 1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_reader_connection_per_instance_whatever_the_number_of_topics() {
    let redis = RedisServer::start();
    let a = RedisBroker::connect(redis.client(), config("many"))
        .await
        .expect("connect");
    let b = RedisBroker::connect(redis.client(), config("many"))
        .await
        .expect("connect");
    // One reader and one publishing connection per instance.
    assert_eq!(connections(&redis), 4);

    // 100 topics, each with subscribers on both instances, a pattern over all of them, and
    // events to every one of them.
    let mut subs = Vec::new();
    for i in 0..100 {
        for broker in [&a, &b] {
            subs.push(admit(broker, &[format!("t/{i}").as_str()]).subscribe(None));
        }
    }
    let mut all = admit(&b, &["t/*"]).subscribe(None);
    let mut last = None;
    for i in 0..100 {
        let broker = if i % 2 == 0 { &a } else { &b };
        last = Some(
            broker
                .publish([format!("t/{i}")], Event::message(format!("{i}")))
                .await
                .expect("publish"),
        );
    }
    let got = take(&mut all, 100).await;
    assert_eq!(got[99].last_event_id(), last.as_deref().expect("published"));
    for (i, sub) in subs.iter_mut().enumerate() {
        assert_eq!(take(sub, 1).await[0].data(), (i / 2).to_string());
    }
    assert_eq!(a.topic_count(), 100);
    assert_eq!(b.topic_count(), 101);
    assert_eq!(connections(&redis), 4, "still one reader per instance");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_restarting_is_survived_and_clients_resume_across_it() {
    let mut redis = RedisServer::start();
    let a = RedisBroker::connect(redis.client(), config("restart"))
        .await
        .expect("connect");
    let b = RedisBroker::connect(redis.client(), config("restart"))
        .await
        .expect("connect");
    let selectors = ["rooms/*"];
    let mut sub_a = admit(&a, &selectors).subscribe(None);
    let mut before = Vec::new();
    for i in 0..10 {
        let topics: &[&'static str] = if i % 2 == 0 { &["rooms/1"] } else { &["news"] };
        before.push(publish_until_ok(&b, topics, format!("before {i}")).await);
    }
    let mine = expected(&before, &selectors);
    assert_eq!(take(&mut sub_a, 5).await, mine);

    // The connections drop but Redis keeps the stream: the readers go on where they were,
    // nothing is lost, no reset.
    let mut raw = redis.client().get_connection().expect("connection");
    let _: redis::Value = redis::cmd("CLIENT")
        .arg("KILL")
        .arg("TYPE")
        .arg("normal")
        .arg("SKIPME")
        .arg("yes")
        .query(&mut raw)
        .expect("CLIENT KILL");
    let more = publish_until_ok(&b, &["rooms/1"], "after a reconnect".into()).await;
    assert_eq!(
        take(&mut sub_a, 1).await,
        [message("after a reconnect", &more.id)]
    );
    drop(raw);

    redis.kill();
    assert!(
        a.publish(["rooms/1"], Event::message("lost"))
            .await
            .is_err()
    );
    within(LIMIT, "readers notice", async {
        while a.reader_connected() || b.reader_connected() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    redis.restart();

    // The stream is gone (no persistence); new ids are larger, the readers go on. Entries
    // added just before the crash may have been lost with it, unread: the subscribers are told
    // (one reset frame), then get every event since.
    let mut after = Vec::new();
    for i in 0..10 {
        let topics: &[&'static str] = if i % 2 == 0 { &["rooms/2"] } else { &["news"] };
        after.push(publish_until_ok(&a, topics, format!("after {i}")).await);
    }
    let mine_after = expected(&after, &selectors);
    let got = take(&mut sub_a, 6).await;
    assert_eq!(got[0].event_type(), "sse-reset");
    assert_eq!(got[0].last_event_id(), &*more.id, "after what it had");
    assert_eq!(got[1..], mine_after);
    // A client that last saw a pre-restart event resumes across the restart on B (once B has
    // read what was published since): the same reset, then what followed its id, once.
    let newest = after.last().map(|p| p.id.to_string());
    within(LIMIT, "B reads the new stream", async {
        while b.last_entry_id() != newest {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    let mut resumed = admit(&b, &selectors).subscribe(Some(mine[4].last_event_id()));
    let got = take(&mut resumed, 7).await;
    assert_eq!(resumed.resume(), Some(BrokerResume::Reset));
    assert_eq!(got[0].event_type(), "sse-reset");
    assert_eq!(got[1], message("after a reconnect", &more.id));
    assert_eq!(got[2..], mine_after);
    // One that saw an event after the restart resumes as usual.
    let mut resumed = admit(&b, &selectors).subscribe(Some(mine_after[1].last_event_id()));
    assert_eq!(take(&mut resumed, 3).await, mine_after[2..]);
    assert_eq!(resumed.resume(), Some(BrokerResume::Replayed));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entries_store_their_topics_and_foreign_entries_are_safe() {
    let redis = RedisServer::start();
    let broker = RedisBroker::connect(
        redis.client(),
        config("fields").broker_config(BrokerConfig::default().max_topics_per_event(3)),
    )
    .await
    .expect("connect");
    let mut sub = admit(&broker, &["*"]).subscribe(None);
    let id = broker
        .publish(["a", "b", "a"], Event::message("x"))
        .await
        .expect("publish");
    let mut raw = redis.client().get_connection().expect("connection");
    let entries: redis::streams::StreamRangeReply = redis::cmd("XRANGE")
        .arg("fields")
        .arg("-")
        .arg("+")
        .query(&mut raw)
        .expect("XRANGE");
    let entry = &entries.ids[0];
    assert_eq!(&*entry.id, &*id);
    let topics: String = entry.get("topics").expect("topics field");
    assert_eq!(topics, "a\nb", "joined with LF, once each");
    assert_eq!(take(&mut sub, 1).await, [message("x", &id)]);
    // Too many topics for the brokers: refused before XADD.
    let refused = broker
        .publish(["a", "b", "c", "d"], Event::message("x"))
        .await;
    assert!(matches!(refused, Err(Error::Publish(_))), "{refused:?}");

    // Written by another program: no topics, a bad topic, then a good one. Only the last is
    // delivered, and the reader went past the others.
    let mut xadd = |fields: &[(&str, &str)]| -> String {
        let mut cmd = redis::cmd("XADD");
        cmd.arg("fields").arg("*");
        for (k, v) in fields {
            cmd.arg(*k).arg(*v);
        }
        cmd.query(&mut raw).expect("XADD")
    };
    xadd(&[("data", "no topics")]);
    xadd(&[("topics", "a\n\nb"), ("data", "empty topic")]);
    xadd(&[("topics", "x*"), ("data", "pattern as topic")]);
    let hostile = xadd(&[
        ("topics", "a"),
        ("event", "x\ndata: injected"),
        ("data", "hi"),
    ]);
    let good = xadd(&[("topics", "c\nd"), ("data", "by hand")]);
    let frame = within(LIMIT, "frame", sub.next()).await.expect("frame");
    assert_eq!(frame, format!("id: {hostile}\n\n").as_bytes());
    assert_eq!(take(&mut sub, 1).await, [message("by hand", &good)]);
    // The reader went past all of them (it says so after each batch it read).
    within(LIMIT, "the reader past the last entry", async {
        while broker.last_entry_id().as_deref() != Some(&*good) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
}
