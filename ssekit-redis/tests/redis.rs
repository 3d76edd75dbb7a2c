//! Against a real `redis-server` (started by each test on a free port; `apt-get install
//! redis-server` if it is missing): two instances on one stream, a client hopping between them,
//! Redis restarting under them.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use conformance::e2e::EventStream;
use conformance::events::{Decoder, message};
use conformance::http::Request;
use conformance::redis_server::{RedisServer, entry_order};
use conformance::wait::within;
use futures_util::StreamExt;
use ssekit_axum::{Event, LastEventId, Sse};
use ssekit_proto::MessageEvent;
use ssekit_redis::{HubResume, RedisHub, RedisHubConfig, RedisHubSubscription};

const LIMIT: Duration = Duration::from_secs(20);

/// Test settings: quick reconnection, short blocks.
fn config(key: &str) -> RedisHubConfig {
    RedisHubConfig::new(key)
        .block(Duration::from_millis(500))
        .reconnect_backoff(Duration::from_millis(10), Duration::from_millis(200))
}

/// An instance: a `RedisHub` served over HTTP by axum on 127.0.0.1.
struct Instance {
    hub: RedisHub,
    addr: SocketAddr,
    server: tokio::task::JoinHandle<()>,
}

async fn events(State(hub): State<RedisHub>, last: LastEventId) -> axum::response::Response {
    use axum::response::IntoResponse;
    Sse::from_broadcast(&hub, &last).into_response()
}

impl Instance {
    async fn start(redis: &RedisServer, config: RedisHubConfig) -> Instance {
        let hub = within(LIMIT, "connect", RedisHub::connect(redis.client(), config))
            .await
            .expect("RedisHub::connect");
        let app = Router::new()
            .route("/events", get(events))
            .with_state(hub.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("address");
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Instance { hub, addr, server }
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// An SSE client connection over HTTP/1.1 (the shared test reader), resuming after
/// `last_event_id` when given.
async fn open(addr: SocketAddr, last_event_id: Option<&str>) -> EventStream {
    let mut request = Request::get("/events");
    if let Some(id) = last_event_id {
        request = request.header("last-event-id", id);
    }
    EventStream::connect(addr, request).await
}

/// Reads `n` events from an in-process subscription.
async fn take(sub: &mut RedisHubSubscription, n: usize) -> Vec<MessageEvent> {
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

/// Publishes through `hub` until it succeeds (Redis may be coming back), giving up after
/// [`LIMIT`].
async fn publish_until_ok(hub: &RedisHub, data: String) -> Arc<str> {
    let deadline = Instant::now() + LIMIT;
    loop {
        match hub.publish(Event::message(data.clone())).await {
            Ok(id) => return id,
            Err(e) => {
                assert!(Instant::now() < deadline, "publish kept failing: {e}");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
}

fn expected(published: &[(Arc<str>, String)]) -> Vec<MessageEvent> {
    let mut sorted = published.to_vec();
    sorted.sort_by_key(|(id, _)| entry_order(id));
    sorted
        .into_iter()
        .map(|(id, data)| message(&data, &id))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_hopping_between_instances_gets_every_event_once_in_order() {
    const TOTAL: usize = 400;
    const PER_CONNECTION: usize = 30;
    let redis = RedisServer::start();
    let a = Instance::start(&redis, config("hop")).await;
    let b = Instance::start(&redis, config("hop")).await;

    // The client is on A before anything is published.
    let mut client = open(a.addr, None).await;
    // Two publishers, one through each instance, concurrently with the client's hops.
    let publisher = |hub: RedisHub, name: &'static str| {
        tokio::spawn(async move {
            let mut published = Vec::new();
            for i in 0..TOTAL / 2 {
                let data = format!("{name} {i}");
                let id = hub
                    .publish(Event::message(data.clone()))
                    .await
                    .expect("publish");
                published.push((id, data));
                if i % 4 == 0 {
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
            }
            published
        })
    };
    let via_a = publisher(a.hub.clone(), "via A");
    let via_b = publisher(b.hub.clone(), "via B");

    let instances = [a.addr, b.addr];
    let mut got: Vec<MessageEvent> = Vec::new();
    let mut hops = 0;
    let mut on_this_connection = 0;
    while got.len() < TOTAL {
        let events = client.take_some().await;
        on_this_connection += events.len();
        got.extend(events);
        if on_this_connection >= PER_CONNECTION && got.len() < TOTAL {
            // Cut: drop the connection (mid-chunk for the server), reconnect to the other
            // instance with the id of the last complete event.
            hops += 1;
            let last = got.last().map(|e| e.last_event_id().to_owned());
            drop(client);
            client = open(instances[hops % 2], last.as_deref()).await;
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

    assert!(hops >= 5, "only {hops} hops");
    let expected = expected(&published);
    assert_eq!(got.len(), expected.len(), "received {} events", got.len());
    for (i, (got, want)) in got.iter().zip(&expected).enumerate() {
        assert_eq!(got, want, "event {i} (after {hops} hops)");
    }
    // Both instances read the whole stream.
    let last = expected.last().map(|e| e.last_event_id().to_owned());
    within(LIMIT, "both readers at the end", async {
        while a.hub.last_entry_id() != last || b.hub.last_entry_id() != last {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_restarting_mid_stream_is_survived() {
    let mut redis = RedisServer::start();
    let a = Instance::start(&redis, config("restart")).await;
    let b = Instance::start(&redis, config("restart")).await;
    let mut sub_a = a.hub.subscribe(None);
    let mut sub_b = b.hub.subscribe(None);
    let mut http = open(a.addr, None).await;

    let mut before = Vec::new();
    for i in 0..10 {
        let hub = if i % 2 == 0 { &a.hub } else { &b.hub };
        let data = format!("before {i}");
        before.push((
            hub.publish(Event::message(data.clone()))
                .await
                .expect("publish"),
            data,
        ));
    }
    let before = expected(&before);
    assert_eq!(take(&mut sub_a, 10).await, before);
    assert_eq!(take(&mut sub_b, 10).await, before);

    redis.kill();
    // Nothing is published while Redis is down; the readers notice.
    assert!(a.hub.publish(Event::message("lost")).await.is_err());
    within(LIMIT, "readers notice", async {
        while a.hub.reader_connected() || b.hub.reader_connected() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    redis.restart();

    // The stream is gone (no persistence); new ids are larger anyway, and the readers must
    // not wait for ids above the last one they read.
    let mut after = Vec::new();
    for i in 0..20 {
        let hub = if i % 2 == 0 { &b.hub } else { &a.hub };
        let data = format!("after {i}");
        after.push((publish_until_ok(hub, data.clone()).await, data));
    }
    let after = expected(&after);
    assert_eq!(take(&mut sub_a, 20).await, after, "subscriber on A");
    assert_eq!(take(&mut sub_b, 20).await, after, "subscriber on B");
    assert!(a.hub.reader_connected() && b.hub.reader_connected());

    // The HTTP client on A got all 30, once, in order.
    let mut got = Vec::new();
    while got.len() < 30 {
        got.extend(http.take_some().await);
    }
    let all: Vec<MessageEvent> = before.iter().chain(&after).cloned().collect();
    assert_eq!(got, all);

    // A client that last saw a pre-restart event resumes across the restart on B...
    let mut resumed = b.hub.subscribe(Some(before[9].last_event_id()));
    assert_eq!(take(&mut resumed, 20).await, after);
    // ...and an instance started after the restart knows only the new stream.
    let c = Instance::start(&redis, config("restart")).await;
    assert_eq!(c.hub.retained().0, 20);
    let mut from_c = open(c.addr, Some(after[4].last_event_id())).await;
    let mut got = Vec::new();
    while got.len() < 15 {
        got.extend(from_c.take_some().await);
    }
    assert_eq!(got, after[5..]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_restarting_from_an_older_snapshot_is_survived() {
    let mut redis = RedisServer::start();
    let a = RedisHub::connect(redis.client(), config("snapshot"))
        .await
        .expect("connect");
    let mut sub = a.subscribe(None);
    let mut before = Vec::new();
    for i in 0..6 {
        let data = format!("before {i}");
        before.push((
            a.publish(Event::message(data.clone()))
                .await
                .expect("publish"),
            data,
        ));
        if i == 2 {
            // A snapshot with the first three entries only.
            let mut raw = redis.client().get_connection().expect("connection");
            let _: () = redis::cmd("SAVE").query(&mut raw).expect("SAVE");
        }
    }
    let before = expected(&before);
    assert_eq!(take(&mut sub, 6).await, before);

    // Redis comes back with a stream that ends three entries before the last one read: the
    // reader must neither wait for ids above that nor deliver the snapshot's entries again.
    redis.restart();
    let mut raw = redis.client().get_connection().expect("connection");
    let len: usize = redis::cmd("XLEN")
        .arg("snapshot")
        .query(&mut raw)
        .expect("XLEN");
    assert_eq!(len, 3, "the snapshot was loaded");
    let mut after = Vec::new();
    for i in 0..5 {
        let data = format!("after {i}");
        after.push((publish_until_ok(&a, data.clone()).await, data));
    }
    let after = expected(&after);
    assert_eq!(take(&mut sub, 5).await, after);
    // A new instance loads the restored stream, snapshot and new entries.
    let b = RedisHub::connect(redis.client(), config("snapshot"))
        .await
        .expect("connect");
    assert_eq!(b.retained().0, 8);
    let mut resumed = b.subscribe(Some(before[2].last_event_id()));
    assert_eq!(take(&mut resumed, 5).await, after);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_instance_loads_the_window_and_resumes_from_it() {
    let redis = RedisServer::start();
    let a = RedisHub::connect(redis.client(), config("window").max_len(50))
        .await
        .expect("connect");
    let mut ids = Vec::new();
    for i in 0..200 {
        ids.push(
            a.publish(Event::message(format!("{i}")))
                .await
                .expect("publish"),
        );
    }
    // MAXLEN ~ keeps at least max_len entries.
    let mut raw = redis.client().get_connection().expect("connection");
    let len: usize = redis::cmd("XLEN")
        .arg("window")
        .query(&mut raw)
        .expect("XLEN");
    assert!((50..200).contains(&len), "XLEN {len}");

    let b = RedisHub::connect(redis.client(), config("window").max_len(50))
        .await
        .expect("connect");
    assert_eq!(b.retained().0, 50);
    assert_eq!(b.last_entry_id().as_deref(), Some(&*ids[199]));

    // Resumable: inside the window.
    let mut sub = b.subscribe(Some(&ids[180]));
    assert_eq!(sub.resume(), Some(HubResume::Replayed(19)));
    let got = take(&mut sub, 19).await;
    let want: Vec<&str> = ids[181..].iter().map(|id| &**id).collect();
    assert_eq!(
        got.iter().map(|e| e.last_event_id()).collect::<Vec<_>>(),
        want
    );

    // Too old: the reset frame, then the whole window.
    let mut sub = b.subscribe(Some(&ids[100]));
    assert_eq!(sub.resume(), Some(HubResume::Reset));
    let got = take(&mut sub, 51).await;
    assert_eq!(got[0].event_type(), "sse-reset");
    assert_eq!(got[0].data(), &*ids[100]);
    assert_eq!(got[1].last_event_id(), &*ids[150]);
    assert_eq!(got[50].last_event_id(), &*ids[199]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_behind_the_client_catches_up_before_subscribing() {
    let redis = RedisServer::start();
    let b = RedisHub::connect(redis.client(), config("ahead"))
        .await
        .expect("connect");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis() as u64;
    // The client saw an entry (on another instance) that B has not read yet: here, one not
    // even written yet.
    let ahead = format!("{}-0", now + 60_000);
    let mut sub = b.subscribe(Some(&ahead));
    assert_eq!(sub.resume(), None, "waits for the reader");
    let waiting = tokio::spawn(async move {
        let got = take(&mut sub, 2).await;
        (got, sub.resume())
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut raw = redis.client().get_connection().expect("connection");
    let _: String = redis::cmd("XADD")
        .arg("ahead")
        .arg(&ahead)
        .arg("data")
        .arg("seen elsewhere")
        .query(&mut raw)
        .expect("XADD");
    let one = b.publish(Event::message("one")).await.expect("publish");
    let two = b.publish(Event::message("two")).await.expect("publish");
    let (got, resume) = within(LIMIT, "catch-up", waiting).await.expect("task");
    assert!(matches!(resume, Some(HubResume::Replayed(_))), "{resume:?}");
    assert_eq!(
        got.iter().map(|e| e.last_event_id()).collect::<Vec<_>>(),
        [&*one, &*two]
    );

    // An id that never comes: after the catch-up timeout, a reset like the local hub's.
    let c = RedisHub::connect(
        redis.client(),
        config("ahead").catch_up_timeout(Duration::from_millis(200)),
    )
    .await
    .expect("connect");
    let started = Instant::now();
    let mut sub = c.subscribe(Some("99999999999999-0"));
    let got = take(&mut sub, 1).await;
    assert!(started.elapsed() >= Duration::from_millis(200));
    assert_eq!(got[0].event_type(), "sse-reset");
    assert_eq!(sub.resume(), Some(HubResume::Reset));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entries_carry_every_field_and_foreign_entries_are_safe() {
    let redis = RedisServer::start();
    let hub = RedisHub::connect(redis.client(), config("fields"))
        .await
        .expect("connect");
    let mut sub = hub.subscribe(None);

    let event = Event::builder()
        .comment("note")
        .retry(Duration::from_millis(2500))
        .event("tick")
        .id("my-own-id")
        .data("line one\r\nline two")
        .build()
        .expect("event");
    let id = hub.publish(&event).await.expect("publish");
    let frame = within(LIMIT, "frame", sub.next()).await.expect("frame");
    assert_eq!(frame, event.with_id(&*id).expect("id").to_frame());

    // Written by another program, straight into the stream.
    let mut raw = redis.client().get_connection().expect("connection");
    let mut xadd = |fields: &[(&str, &str)]| -> String {
        let mut cmd = redis::cmd("XADD");
        cmd.arg("fields").arg("*");
        for (k, v) in fields {
            cmd.arg(*k).arg(*v);
        }
        cmd.query(&mut raw).expect("XADD")
    };
    let plain = xadd(&[("data", "hello"), ("user", "42")]);
    let hostile = xadd(&[("event", "x\ndata: injected"), ("data", "hi")]);
    let frame = within(LIMIT, "frame", sub.next()).await.expect("frame");
    assert_eq!(frame, format!("id: {plain}\ndata: hello\n\n").as_bytes());
    let frame = within(LIMIT, "frame", sub.next()).await.expect("frame");
    assert_eq!(frame, format!("id: {hostile}\n\n").as_bytes());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closing_an_instance_ends_its_streams_and_clients_resume_elsewhere() {
    let redis = RedisServer::start();
    let a = Instance::start(&redis, config("close")).await;
    let b = Instance::start(&redis, config("close")).await;
    let mut client = open(a.addr, None).await;
    let mut published = Vec::new();
    for i in 0..5 {
        let data = format!("{i}");
        published.push((
            a.hub
                .publish(Event::message(data.clone()))
                .await
                .expect("publish"),
            data,
        ));
    }
    let mut got = Vec::new();
    while got.len() < 5 {
        got.extend(client.take_some().await);
    }
    // Instance A goes away: its streams end cleanly.
    a.hub.close();
    let (_, end) = within(LIMIT, "stream end", client.response.read_to_end()).await;
    assert_eq!(end, conformance::http::BodyEnd::Complete);
    for i in 5..10 {
        let data = format!("{i}");
        published.push((
            b.hub
                .publish(Event::message(data.clone()))
                .await
                .expect("publish"),
            data,
        ));
    }
    let mut client = open(b.addr, Some(got[4].last_event_id())).await;
    while got.len() < 10 {
        got.extend(client.take_some().await);
    }
    assert_eq!(got, expected(&published));
}
