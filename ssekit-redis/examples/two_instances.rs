//! Two server instances on one Redis stream, and a client that switches instance (port) on
//! every reconnection, resuming with its `Last-Event-ID`: it gets every event once, in order,
//! whichever instance published it and whichever serves it.
//!
//! ```sh
//! redis-server --port 6379 --save '' &     # or: REDIS_URL=redis://host:port
//! cargo run -p ssekit-redis --example two_instances
//! ```
//!
//! While it runs, `curl -N http://127.0.0.1:<port>/events` on either printed port watches the
//! same stream.

use std::collections::HashSet;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::response::IntoResponse;
use axum::routing::get;
use futures_util::StreamExt;
use ssekit_axum::{Event, LastEventId, Sse};
use ssekit_client::{EventSource, SseItem};
use ssekit_redis::{RedisHub, RedisHubConfig};

/// Events the publisher sends (and the client waits for).
const EVENTS: usize = 30;
/// Events the client reads on one connection before it hangs up and switches instance.
const PER_CONNECTION: usize = 4;

/// The endpoint. With the in-memory hub this line is `Sse::from_broadcast(&hub, &last)`.
async fn events(State(hub): State<RedisHub>, last: LastEventId) -> impl IntoResponse {
    Sse::from_broadcast(&hub, &last)
}

/// Starts one instance: its `RedisHub` and an HTTP server on a free port of 127.0.0.1.
async fn instance(url: &str) -> Result<(RedisHub, String), Box<dyn std::error::Error>> {
    let client = ssekit_redis::redis::Client::open(url)?;
    let hub = RedisHub::connect(
        client,
        RedisHubConfig::new("ssekit-redis:example").max_len(100),
    )
    .await
    .map_err(|e| {
        format!("cannot use Redis at {url} ({e}); start one with `redis-server` or set REDIS_URL")
    })?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let app = Router::new()
        .route("/events", get(events))
        .with_state(hub.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok((hub, base))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let (hub_a, base_a) = instance(&url).await?;
    let (hub_b, base_b) = instance(&url).await?;
    println!("instance A: {base_a}/events");
    println!("instance B: {base_b}/events");

    // The client connects first, to A, with no Last-Event-ID: live events only.
    let bases = [("A", base_a.clone()), ("B", base_b.clone())];
    let mut source = EventSource::new(format!("{base_a}/events"))?;
    expect_open(&mut source).await?;

    // A publisher that alternates between the instances, like requests behind a balancer.
    let publisher = tokio::spawn(async move {
        for n in 0..EVENTS {
            let (name, hub) = if n % 2 == 0 {
                ("A", &hub_a)
            } else {
                ("B", &hub_b)
            };
            let event = Event::builder()
                .event("tick")
                .data(format!("tick {n} via {name}"));
            match hub.publish(event.build()?).await {
                Ok(id) => println!("    published {id} through {name}"),
                Err(e) => eprintln!("    publish failed: {e}"),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Ok::<_, ssekit_axum::EventError>(())
    });

    let mut seen = HashSet::new();
    let mut previous = (0, 0);
    let mut received = 0;
    let mut connection = 0;
    let mut on_this_connection = 0;
    while received < EVENTS {
        let Some(item) = tokio::time::timeout(Duration::from_secs(10), source.next()).await? else {
            return Err("the stream ended".into());
        };
        if let SseItem::Message(event) = item? {
            let (name, _) = &bases[connection % 2];
            println!(
                "[{name}] {} id={} {}",
                event.event_type(),
                event.last_event_id(),
                event.data()
            );
            let id = event.last_event_id().to_owned();
            if !seen.insert(id.clone()) {
                return Err(format!("event {id} received twice").into());
            }
            let key = entry_order(&id);
            if key <= previous {
                return Err(format!("event {id} out of order").into());
            }
            previous = key;
            received += 1;
            on_this_connection += 1;
        }
        if on_this_connection == PER_CONNECTION && received < EVENTS {
            // Hang up, and come back on the other instance where the last event left off.
            let last = source.last_event_id().to_owned();
            source.close();
            // Stay away a little: what is published meanwhile comes as replay.
            tokio::time::sleep(Duration::from_millis(250)).await;
            connection += 1;
            on_this_connection = 0;
            let (name, base) = &bases[connection % 2];
            println!("--- reconnecting to instance {name} with Last-Event-ID: {last}");
            source = EventSource::builder(format!("{base}/events"))
                .last_event_id(last)
                .build()?;
            expect_open(&mut source).await?;
        }
    }
    publisher.await??;
    println!(
        "received all {EVENTS} events once each, in order, over {} connections alternating between A and B",
        connection + 1
    );
    Ok(())
}

/// Entry ids (`<ms>-<seq>`) in stream order.
fn entry_order(id: &str) -> (u64, u64) {
    let (ms, seq) = id.split_once('-').unwrap_or((id, "0"));
    (ms.parse().unwrap_or(0), seq.parse().unwrap_or(0))
}

async fn expect_open(source: &mut EventSource) -> Result<(), Box<dyn std::error::Error>> {
    match tokio::time::timeout(Duration::from_secs(5), source.next()).await? {
        Some(Ok(SseItem::Open)) => Ok(()),
        other => Err(format!("expected the stream to open, got {other:?}").into()),
    }
}
