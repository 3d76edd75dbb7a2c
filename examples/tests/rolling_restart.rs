//! A rolling restart without loss: two instances of the `news-redis` example (axum +
//! `ssekit_redis::RedisHub`) as real processes on one real `redis-server`.
//!
//! Clients are connected to instance A while events are published (every 25 ms, through a
//! third `RedisHub`). Instance B starts, the "load balancer" (a value the clients read when
//! they reconnect) switches to it, and A gets `SIGTERM`: its streams end cleanly (a complete
//! body, not a cut connection) with a last `retry:` that spreads the reconnections out, and A
//! exits at once. Each client waits the `retry:` time, reconnects to B with `Last-Event-ID`,
//! and in the end has received every published event exactly once, in publish order.
//!
//! Needs `redis-server` (`./test.sh` installs it); without it the test is skipped, or fails
//! when `CI=true`.

mod support;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use ssekit_proto::Event;
use ssekit_redis::{RedisHub, RedisHubConfig};
use support::{BodyEnd, Example, Item, Next, RedisServer, Request, SseClient};
use tokio::sync::watch;

const CLIENTS: usize = 4;
const EVENTS: usize = 60;
const EVERY: Duration = Duration::from_millis(25);
const RETRY: Duration = Duration::from_millis(300);
const SPREAD: Duration = Duration::from_millis(400);
const LIMIT: Duration = Duration::from_secs(10);

/// What one client saw.
#[derive(Debug, Default)]
struct Seen {
    /// (id, data) of every event, in order.
    events: Vec<(String, String)>,
    /// How each connection's body ended (all but the last).
    ends: Vec<BodyEnd>,
    /// The `retry:` values received, in order.
    retries: Vec<Duration>,
    /// The `Last-Event-ID` sent on each reconnection.
    resumed_after: Vec<String>,
}

/// Reads events, reconnecting (after the last `retry:`) to wherever `backend` points, with
/// `Last-Event-ID`, until it has seen `event {EVENTS}`.
async fn client(backend: watch::Receiver<SocketAddr>) -> Seen {
    let mut seen = Seen::default();
    let mut last_id: Option<String> = None;
    let mut retry = Duration::from_secs(3); // the browser default, until the server says
    loop {
        let addr = *backend.borrow();
        let mut request = Request::get("/events");
        if let Some(id) = &last_id {
            request = request.header("last-event-id", id);
            seen.resumed_after.push(id.clone());
        }
        let mut stream = SseClient::open(addr, request).await;
        assert_eq!(stream.status, 200);
        loop {
            match stream.next(LIMIT).await {
                Next::Item(Item::Retry(r)) => {
                    retry = r;
                    seen.retries.push(r);
                }
                Next::Item(Item::Event { id, data }) => {
                    let done = data == format!("event {EVENTS}");
                    last_id = Some(id.clone());
                    seen.events.push((id, data));
                    if done {
                        return seen;
                    }
                }
                Next::End(end) => {
                    seen.ends.push(end);
                    break;
                }
                Next::Timeout => panic!("no event for {LIMIT:?}: {seen:?}"),
            }
        }
        tokio::time::sleep(retry).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_follow_a_rolling_restart_and_miss_nothing() {
    if support::require("redis-server", "redis-server").is_none() {
        return;
    }
    let started = Instant::now();
    let redis = tokio::task::spawn_blocking(RedisServer::start)
        .await
        .expect("redis-server");
    let key = "sse:rolling";
    let env = [
        ("REDIS_URL", redis.url()),
        ("SSE_KEY", key.to_owned()),
        ("RETRY_MS", RETRY.as_millis().to_string()),
        ("SPREAD_MS", SPREAD.as_millis().to_string()),
        ("KEEP_ALIVE_MS", "1000".to_owned()),
    ];
    let binary = env!("CARGO_BIN_EXE_news-redis");
    let start = move |env: [(&'static str, String); 5]| {
        tokio::task::spawn_blocking(move || Example::start(binary, &env))
    };
    let mut a = start(env.clone()).await.expect("instance A");
    eprintln!("[{:?}] instance A on {}", started.elapsed(), a.addr);

    let (route_to, backend) = watch::channel(a.addr);
    let clients: Vec<_> = (0..CLIENTS)
        .map(|_| tokio::spawn(client(backend.clone())))
        .collect();

    let publisher = tokio::time::timeout(
        LIMIT,
        RedisHub::connect(redis.client(), RedisHubConfig::new(key)),
    )
    .await
    .expect("connect in time")
    .expect("publisher");
    // Let the clients connect before the first event, so each must see all of them.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let publishing = tokio::spawn(async move {
        let mut ids = Vec::new();
        let mut interval = tokio::time::interval(EVERY);
        for n in 1..=EVENTS {
            interval.tick().await;
            let id = publisher
                .publish(Event::message(format!("event {n}")))
                .await
                .expect("publish");
            ids.push(id.to_string());
        }
        ids
    });

    // A third of the way through: B comes up, takes the traffic, A stops.
    tokio::time::sleep(EVERY * (EVENTS as u32 / 3)).await;
    let b = start(env).await.expect("instance B");
    route_to.send_replace(b.addr);
    let stopping = Instant::now();
    let a = tokio::task::spawn_blocking(move || {
        a.terminate(Duration::from_secs(5));
        a
    })
    .await
    .expect("A stops");
    eprintln!(
        "[{:?}] instance B on {}; A exited {:?} after SIGTERM",
        started.elapsed(),
        b.addr,
        stopping.elapsed()
    );

    let published = tokio::time::timeout(LIMIT, publishing)
        .await
        .expect("publishing in time")
        .expect("publisher task");
    let expected: Vec<(String, String)> = published
        .iter()
        .enumerate()
        .map(|(i, id)| (id.clone(), format!("event {}", i + 1)))
        .collect();
    for (i, handle) in clients.into_iter().enumerate() {
        let seen = tokio::time::timeout(LIMIT, handle)
            .await
            .expect("client in time")
            .expect("client task");
        assert_eq!(
            seen.ends,
            [BodyEnd::Complete],
            "client {i}: A's stream ended cleanly, once"
        );
        assert_eq!(seen.resumed_after.len(), 1, "client {i}: one reconnection");
        let [first, on_shutdown, from_b] = seen.retries[..] else {
            panic!(
                "client {i}: retry from A on connect and shutdown, from B: {:?}",
                seen.retries
            );
        };
        assert_eq!((first, from_b), (RETRY, RETRY), "client {i}");
        assert!(
            (RETRY..=RETRY + SPREAD).contains(&on_shutdown),
            "client {i}: the shutdown retry {on_shutdown:?} is spread out"
        );
        if seen.events != expected {
            let ids: Vec<&str> = seen.events.iter().map(|(id, _)| id.as_str()).collect();
            panic!(
                "client {i}: every event exactly once, in order; resumed after {:?}\n got {ids:?}\n want {published:?}",
                seen.resumed_after
            );
        }
        eprintln!(
            "client {i}: {} events, resumed on B after {} (retry {on_shutdown:?})",
            seen.events.len(),
            seen.resumed_after[0]
        );
    }
    drop((a, b, redis));
    eprintln!("[{:?}] done", started.elapsed());
}
