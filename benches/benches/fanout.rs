//! Fan-out: one producer, N subscribers (N = 1, 100, 10 000), on a current-thread tokio
//! runtime.
//!
//! - **hub**: `ssekit::hub::Hub`: each event is encoded once, at publish; every subscriber
//!   gets the same `Bytes` frame (a reference count, no copy).
//! - **naive (ssekit-proto Event)**: a tokio `broadcast` channel of `ssekit_proto::Event`; each
//!   subscriber receives its own clone and encodes it itself.
//! - **naive (axum Sse)**: what axum's examples do: a `broadcast` channel of `String`, each
//!   subscriber's receiver mapped to axum `Event`s inside its own `Sse` response body.
//! - **floor: wake only**: no frames, only one `Notify` wake-up per event and subscriber: the
//!   scheduler's share of every way's cost (batch 1 only).
//!
//! The producer publishes a burst of `batch` events (1: every event wakes every subscriber;
//! 64: a burst), then yields until every subscriber has taken the burst. Each subscriber adds
//! up its frames' lengths. The time is the wall time from the first publish to the last
//! delivery (runtime set-up and subscriber spawns are outside it); criterion reports it as
//! delivered events per second (events x N / s). The process's CPU time over the same span
//! (`CLOCK_PROCESS_CPUTIME_ID`) is written to
//! `target/criterion/sse-benches/fanout-cpu.tsv` as CPU ns per delivered event.
#![allow(missing_docs)] // criterion_group! generates an undocumented function

#[allow(dead_code)]
mod common;

use std::fmt::Write as _;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use futures::StreamExt;
use ssekit::hub::{Hub, HubConfig};

/// What one timed run measured.
struct Run {
    wall: Duration,
    cpu_ns: Option<u64>,
    deliveries: u64,
}

/// The data of each published event (a small JSON token event).
fn payloads(events: usize) -> Vec<String> {
    let mut rng = common::inputs::Rng(7);
    (0..events as u64)
        .map(|i| common::inputs::token_json(i, &mut rng))
        .collect()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("tokio runtime")
}

/// Counts one delivery. Every task runs on the one runtime thread, so a plain load and store
/// is exact, and cheaper than an atomic read-modify-write (which would add the same cost to
/// every way and hide the differences between them).
fn count(delivered: &AtomicU64) {
    delivered.store(delivered.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
}

/// Waits until `delivered` reaches `target`, letting the subscribers run.
async fn wait_for(delivered: &AtomicU64, target: u64) {
    let mut spins = 0u64;
    while delivered.load(Ordering::Relaxed) < target {
        tokio::task::yield_now().await;
        spins += 1;
        assert!(spins < 100_000_000, "subscribers stopped taking events");
    }
}

/// Publishes `payloads` in bursts of `batch` with `publish`, waiting for `n` subscribers to
/// take each burst; times it.
async fn produce(
    payloads: &[String],
    batch: usize,
    n: usize,
    delivered: &AtomicU64,
    mut publish: impl FnMut(&String),
) -> Run {
    // Let every subscriber register (first poll) before the clock starts.
    tokio::task::yield_now().await;
    let cpu_start = common::process_cpu_ns();
    let start = Instant::now();
    let mut sent = 0u64;
    for burst in payloads.chunks(batch) {
        for payload in burst {
            publish(payload);
        }
        sent += burst.len() as u64;
        wait_for(delivered, sent * n as u64).await;
    }
    let wall = start.elapsed();
    let cpu_ns = common::process_cpu_ns()
        .zip(cpu_start)
        .map(|(end, s)| end - s);
    Run {
        wall,
        cpu_ns,
        deliveries: sent * n as u64,
    }
}

/// Spawns `n` subscribers built by `subscriber` and returns their handles.
fn spawn_all<F>(
    n: usize,
    mut subscriber: impl FnMut() -> F,
) -> Vec<tokio::task::JoinHandle<(u64, u64)>>
where
    F: Future<Output = (u64, u64)> + Send + 'static,
{
    (0..n).map(|_| tokio::spawn(subscriber())).collect()
}

/// Each subscriber returns (frames, bytes); all must have every event.
async fn join_all(handles: Vec<tokio::task::JoinHandle<(u64, u64)>>, events: usize) -> u64 {
    let mut bytes = 0;
    for handle in handles {
        let (frames, b) = handle.await.expect("subscriber task");
        assert_eq!(frames, events as u64, "a subscriber missed events");
        bytes += b;
    }
    bytes
}

fn run_hub(n: usize, payloads: &[String], batch: usize) -> Run {
    runtime().block_on(async {
        let hub = Hub::with_config(HubConfig::default().capacity(1024).max_lag(512));
        let delivered = Arc::new(AtomicU64::new(0));
        let handles = spawn_all(n, || {
            let mut sub = hub.subscribe(None);
            let delivered = delivered.clone();
            async move {
                let (mut frames, mut bytes) = (0, 0);
                while let Some(frame) = sub.next().await {
                    frames += 1;
                    bytes += frame.len() as u64;
                    count(&delivered);
                }
                (frames, bytes)
            }
        });
        let run = produce(payloads, batch, n, &delivered, |payload| {
            hub.publish(ssekit_proto::Event::message(payload.clone()));
        })
        .await;
        hub.close();
        join_all(handles, payloads.len()).await;
        run
    })
}

fn run_naive_core(n: usize, payloads: &[String], batch: usize) -> Run {
    runtime().block_on(async {
        let (tx, _) = tokio::sync::broadcast::channel::<ssekit_proto::Event>(1024);
        let delivered = Arc::new(AtomicU64::new(0));
        let handles = spawn_all(n, || {
            let mut rx = tx.subscribe();
            let delivered = delivered.clone();
            async move {
                let (mut frames, mut bytes) = (0, 0);
                while let Ok(event) = rx.recv().await {
                    let frame: Bytes = event.to_bytes();
                    frames += 1;
                    bytes += frame.len() as u64;
                    count(&delivered);
                }
                (frames, bytes)
            }
        });
        let run = produce(payloads, batch, n, &delivered, |payload| {
            let _ = tx.send(ssekit_proto::Event::message(payload.clone()));
        })
        .await;
        drop(tx);
        join_all(handles, payloads.len()).await;
        run
    })
}

fn run_naive_axum(n: usize, payloads: &[String], batch: usize) -> Run {
    use axum::response::IntoResponse;
    use axum::response::sse::{Event, Sse};
    runtime().block_on(async {
        let (tx, _) = tokio::sync::broadcast::channel::<String>(1024);
        let delivered = Arc::new(AtomicU64::new(0));
        let handles = spawn_all(n, || {
            let rx = tx.subscribe();
            let events = futures::stream::unfold(rx, |mut rx| async move {
                let data = rx.recv().await.ok()?;
                Some((
                    Ok::<_, std::convert::Infallible>(Event::default().data(data)),
                    rx,
                ))
            });
            let mut body = Sse::new(events)
                .into_response()
                .into_body()
                .into_data_stream();
            let delivered = delivered.clone();
            async move {
                let (mut frames, mut bytes) = (0, 0);
                while let Some(Ok(frame)) = body.next().await {
                    frames += 1;
                    bytes += frame.len() as u64;
                    count(&delivered);
                }
                (frames, bytes)
            }
        });
        let run = produce(payloads, batch, n, &delivered, |payload| {
            let _ = tx.send(payload.clone());
        })
        .await;
        drop(tx);
        join_all(handles, payloads.len()).await;
        run
    })
}

/// The floor: no frame at all, only the wake-ups. Each subscriber waits on a `tokio::sync::Notify`
/// and counts one delivery per notification; the producer notifies once per event. What is
/// left per delivery is the scheduler's cost of waking and polling a task (batch 1 only).
fn run_wake_only(n: usize, payloads: &[String], batch: usize) -> Run {
    assert_eq!(batch, 1, "the wake-only floor is for batch 1");
    runtime().block_on(async {
        let notify = Arc::new(tokio::sync::Notify::new());
        let delivered = Arc::new(AtomicU64::new(0));
        let ready = Arc::new(AtomicU64::new(0));
        let closed = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let handles = spawn_all(n, || {
            let (notify, delivered) = (notify.clone(), delivered.clone());
            let (ready, closed) = (ready.clone(), closed.clone());
            async move {
                let mut frames = 0;
                // `notify_waiters` wakes only registered waiters: register before counting.
                let mut notified = std::pin::pin!(notify.notified());
                notified.as_mut().enable();
                count(&ready);
                loop {
                    notified.as_mut().await;
                    if closed.load(Ordering::Relaxed) {
                        break;
                    }
                    notified.set(notify.notified());
                    notified.as_mut().enable();
                    frames += 1;
                    count(&delivered);
                }
                (frames, 0)
            }
        });
        wait_for(&ready, n as u64).await;
        let run = produce(payloads, batch, n, &delivered, |_| notify.notify_waiters()).await;
        closed.store(true, Ordering::Relaxed);
        notify.notify_waiters();
        join_all(handles, payloads.len()).await;
        run
    })
}

type RunFn = fn(usize, &[String], usize) -> Run;

const WAYS: [(&str, RunFn); 4] = [
    ("hub", run_hub),
    ("naive (ssekit-proto Event)", run_naive_core),
    ("naive (axum Sse)", run_naive_axum),
    ("floor: wake only", run_wake_only),
];

/// Events per run for `n` subscribers: about 2^19 deliveries (at least 64 events).
fn events_for(n: usize) -> usize {
    let deliveries = if common::quick() { 1 << 14 } else { 1 << 19 };
    (deliveries / n).clamp(64, 65_536)
}

/// Checks that the hub hands every subscriber the very same frame (encoded once).
fn check_shared_frames() {
    runtime().block_on(async {
        let hub = Hub::new();
        let mut a = hub.subscribe(None);
        let mut b = hub.subscribe(None);
        hub.publish(ssekit_proto::Event::message("x"));
        let (fa, fb) = (a.next().await, b.next().await);
        let (fa, fb) = (fa.expect("frame"), fb.expect("frame"));
        assert_eq!(
            fa.as_ptr(),
            fb.as_ptr(),
            "hub frames must be shared, not copied"
        );
        println!("check: hub subscribers share one encoded frame: ok");
    });
}

fn bench(c: &mut Criterion) {
    check_shared_frames();
    // Results of earlier runs stay for what this run does not measure (a filtered run).
    let path = common::side_dir().join("fanout-cpu.tsv");
    let mut rows: std::collections::BTreeMap<(String, usize, usize), String> =
        std::fs::read_to_string(&path)
            .unwrap_or_default()
            .lines()
            .skip(1)
            .filter_map(|line| {
                let f: Vec<&str> = line.split('\t').collect();
                let key = (
                    f.first()?.to_string(),
                    f.get(1)?.parse().ok()?,
                    f.get(2)?.parse().ok()?,
                );
                Some((key, line.to_owned()))
            })
            .collect();
    for n in [1usize, 100, 10_000] {
        let events = events_for(n);
        let payloads = payloads(events);
        for batch in [1usize, 64] {
            let mut group = c.benchmark_group(format!("fanout/{n}"));
            group.throughput(Throughput::Elements((events * n) as u64));
            for (name, run) in WAYS {
                if name.starts_with("floor") && batch != 1 {
                    continue;
                }
                let mut cpu = Vec::new();
                let mut wall = Vec::new();
                group.bench_function(BenchmarkId::new(name, format!("batch{batch}")), |b| {
                    b.iter_custom(|iters| {
                        let mut total = Duration::ZERO;
                        for _ in 0..iters {
                            let r = run(n, &payloads, batch);
                            total += r.wall;
                            let per = |ns: u64| ns as f64 / r.deliveries as f64;
                            wall.push(per(r.wall.as_nanos() as u64));
                            if let Some(ns) = r.cpu_ns {
                                cpu.push(per(ns));
                            }
                        }
                        total
                    })
                });
                if !wall.is_empty() {
                    let line = format!(
                        "{name}\t{n}\t{batch}\t{:.1}\t{:.1}",
                        median(&mut cpu),
                        median(&mut wall)
                    );
                    rows.insert((name.to_owned(), n, batch), line);
                }
            }
            group.finish();
        }
    }
    let mut tsv =
        String::from("way\tsubscribers\tbatch\tcpu_ns_per_delivery\twall_ns_per_delivery\n");
    for line in rows.values() {
        let _ = writeln!(tsv, "{line}");
    }
    std::fs::write(&path, tsv).expect("write the fan-out CPU times");
}

fn median(values: &mut [f64]) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

criterion_group! {
    name = benches;
    config = common::criterion(10, 800);
    targets = bench
}
criterion_main!(benches);
