//! Throughput through Redis to many subscribers: two instances (two `RedisHub`s on one
//! stream), 500 subscribers on each, publishers pushing events through both; prints events/s
//! delivered to every subscriber. No timing is asserted: it is a measurement.
//!
//! ```sh
//! cargo run --release -p ssekit-redis --example fanout            # starts its own redis-server
//! cargo run --release -p ssekit-redis --example fanout -- 20000 500 32 100
//! #                                        events, subscribers per instance, publishers, bytes
//! REDIS_URL=redis://127.0.0.1:6379 cargo run --release -p ssekit-redis --example fanout
//! ```
//!
//! Subscribers are in-process subscriptions of each instance's local hub (what an SSE
//! response body polls), each in its own task. A subscriber that falls too far behind is cut
//! by the hub's lag policy, as an HTTP client would be, and comes back with its last id, as
//! an `EventSource` would; the count of such reconnections is printed.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use ssekit::hub::HubConfig;
use ssekit_proto::Event;
use ssekit_redis::{RedisHub, RedisHubConfig};

fn arg(n: usize, default: usize) -> usize {
    std::env::args()
        .nth(n)
        .and_then(|a| a.parse().ok())
        .unwrap_or(default)
}

/// The id in a frame this crate encoded (`id:` comes right before the data).
fn frame_id(frame: &[u8]) -> Option<&str> {
    let start = frame.windows(4).position(|w| w == b"id: ")? + 4;
    let len = frame[start..].iter().position(|&b| b == b'\n')?;
    std::str::from_utf8(&frame[start..start + len]).ok()
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let events = arg(1, 20_000);
    let per_instance = arg(2, 500);
    let publishers = arg(3, 32).max(1);
    let payload = arg(4, 100);

    let (_server, url) = match std::env::var("REDIS_URL") {
        Ok(url) => (None, url),
        Err(_) => {
            let server = conformance::redis_server::RedisServer::start();
            let url = server.url();
            (Some(server), url)
        }
    };
    let key = format!("ssekit-redis:fanout:{}", std::process::id());
    let config = RedisHubConfig::new(&key)
        .max_len(4096)
        .hub_config(HubConfig::default().max_lag(4096).max_bytes(64 << 20));
    let client = ssekit_redis::redis::Client::open(url.as_str())?;
    let a = RedisHub::connect(client.clone(), config.clone()).await?;
    let b = RedisHub::connect(client, config).await?;

    let done = Arc::new(AtomicUsize::new(0));
    let reconnects = Arc::new(AtomicUsize::new(0));
    let finished = Arc::new(tokio::sync::Notify::new());
    let subscribers = 2 * per_instance;
    for i in 0..subscribers {
        let hub = if i % 2 == 0 { a.clone() } else { b.clone() };
        let (done, reconnects, finished) = (done.clone(), reconnects.clone(), finished.clone());
        tokio::spawn(async move {
            let mut received = 0;
            let mut last: Option<String> = None;
            loop {
                let mut sub = hub.subscribe(last.as_deref());
                while let Some(frame) = sub.next().await {
                    received += 1;
                    if received == events {
                        if done.fetch_add(1, Ordering::AcqRel) + 1 == subscribers {
                            finished.notify_one();
                        }
                        return;
                    }
                    last = frame_id(&frame).map(str::to_owned);
                }
                reconnects.fetch_add(1, Ordering::Relaxed);
            }
        });
    }
    while a.subscriber_count() + b.subscriber_count() < subscribers {
        tokio::task::yield_now().await;
    }

    let pad = "x".repeat(payload.saturating_sub(20));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for p in 0..publishers {
        let hub = if p % 2 == 0 { a.clone() } else { b.clone() };
        let pad = pad.clone();
        let count = events / publishers + usize::from(p < events % publishers);
        tasks.push(tokio::spawn(async move {
            for n in 0..count {
                let data = format!("{{\"p\":{p},\"n\":{n},\"pad\":\"{pad}\"}}");
                hub.publish(Event::message(data)).await?;
            }
            Ok::<_, ssekit_redis::Error>(())
        }));
    }
    for task in tasks {
        task.await??;
    }
    let published = started.elapsed();
    let wait = finished.notified();
    if done.load(Ordering::Acquire) < subscribers {
        tokio::time::timeout(Duration::from_secs(300), wait).await?;
    }
    let delivered = started.elapsed();

    let secs = delivered.as_secs_f64();
    println!(
        "{events} events of ~{payload} B through Redis ({publishers} concurrent publishers, two instances)"
    );
    println!(
        "  published in {:.2} s: {:.0} events/s (XADD acknowledged)",
        published.as_secs_f64(),
        events as f64 / published.as_secs_f64()
    );
    println!(
        "  delivered to all {subscribers} subscribers ({per_instance} per instance) in {secs:.2} s: \
         {:.0} events/s, {:.0} deliveries/s",
        events as f64 / secs,
        (events * subscribers) as f64 / secs
    );
    println!(
        "  lag reconnections: {}",
        reconnects.load(Ordering::Relaxed)
    );
    a.close();
    b.close();
    Ok(())
}
