//! The resumable fan-out hub: replay, seams, lag policies, cut-and-resume under load.

use std::time::Duration;

use conformance::events::{Decoder, decode, message};
use futures_util::StreamExt;
use ssekit::clock::ManualClock;
use ssekit::hub::{Hub, HubConfig, HubResume, HubSubscription, LagPolicy};
use ssekit_proto::Event;
use ssekit_proto::Frame;

/// A subscriber that takes one frame and is then never polled again: what a body behind a
/// connection that does not drain looks like (the server polled it, wrote the frame, and its
/// writes stay pending). `hub` must hold at least two undelivered events for it.
fn take_one_then_stall(sub: &mut HubSubscription) {
    assert!(sub.next().now_or_never_helper().flatten().is_some());
}

/// A hub whose sweeps judge at once (`stall_timeout` zero): the tests count publishes, not time.
fn strict(config: HubConfig) -> Hub {
    Hub::with_config(config.stall_timeout(Duration::ZERO))
}

fn take_ready(sub: &mut HubSubscription) -> Vec<Frame> {
    let mut frames = Vec::new();
    while let Some(Some(frame)) = sub.next().now_or_never_helper() {
        frames.push(frame);
    }
    frames
}

trait NowOrNever: futures_util::Future + Sized {
    fn now_or_never_helper(self) -> Option<Self::Output> {
        futures_util::FutureExt::now_or_never(self)
    }
}
impl<F: futures_util::Future> NowOrNever for F {}

#[test]
fn replay_then_live_with_assigned_ids() {
    let hub = Hub::new();
    for i in 1..=5 {
        let id = hub.publish(Event::message(format!("m{i}")));
        assert_eq!(&*id, i.to_string());
    }
    // An event with its own id keeps it.
    assert_eq!(
        &*hub.publish(Event::builder().id("custom").data("c").build().unwrap()),
        "custom"
    );
    let mut sub = hub.subscribe(Some("3"));
    assert_eq!(sub.resume(), HubResume::Replayed(3));
    let got = decode(take_ready(&mut sub));
    let ids: Vec<&str> = got.iter().map(|e| e.last_event_id()).collect();
    assert_eq!(ids, ["4", "5", "custom"]);
    hub.publish(Event::message("live"));
    let got = decode(take_ready(&mut sub));
    assert_eq!(got, [message("live", "7")]);

    let mut live = hub.subscribe(None);
    assert_eq!(live.resume(), HubResume::Live);
    assert!(take_ready(&mut live).is_empty());
}

#[test]
fn unknown_id_sends_a_reset_then_the_whole_window() {
    let hub = Hub::with_config(HubConfig::default().capacity(3));
    for i in 0..10 {
        hub.publish(Event::message(i.to_string()));
    }
    let mut sub = hub.subscribe(Some("2")); // evicted long ago
    assert_eq!(sub.resume(), HubResume::Reset);
    let got = decode(take_ready(&mut sub));
    assert_eq!(got[0].event_type(), "sse-reset");
    assert_eq!(got[0].data(), "2");
    let data: Vec<&str> = got[1..].iter().map(|e| e.data()).collect();
    assert_eq!(data, ["7", "8", "9"]);
}

#[test]
fn window_is_bounded_by_count_and_bytes() {
    let hub = Hub::with_config(HubConfig::default().capacity(100).max_bytes(1000));
    for _ in 0..1000 {
        hub.publish(Event::message("x".repeat(90)));
    }
    let (count, bytes) = hub.retained();
    assert!(bytes <= 1000, "{bytes}");
    assert!((9..=100).contains(&count), "{count}");
    // One huge event is still kept (the newest always is).
    hub.publish(Event::message("y".repeat(5000)));
    assert_eq!(hub.retained().0, 1);
}

#[test]
fn close_ends_subscriptions_after_the_retained_frames() {
    let hub = Hub::new();
    let mut sub = hub.subscribe(None);
    hub.publish(Event::message("last"));
    hub.close();
    assert_eq!(take_ready(&mut sub).len(), 1);
    assert_eq!(
        futures_util::FutureExt::now_or_never(sub.next()),
        Some(None)
    );
    drop(sub);
    assert_eq!(hub.subscriber_count(), 0);
}

/// A client is cut off at random points many times while 10 000 events are published
/// concurrently; resuming with its last id each time, it gets every event exactly once, in
/// order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cut_and_resume_under_concurrent_publishing_loses_nothing() {
    const TOTAL: usize = 10_000;
    let hub = Hub::new();
    // The first connection exists before anything is published.
    let mut first = Some(hub.subscribe(None));
    let publisher = {
        let hub = hub.clone();
        tokio::spawn(async move {
            // Paced like a real producer (bursts of 50 every millisecond), so a reconnecting
            // client is never further behind than the window.
            for i in 0..TOTAL {
                hub.publish(Event::message(i.to_string()));
                if i % 50 == 49 {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
            }
        })
    };
    let mut rng = conformance::Rng::new(42);
    let mut seen: Vec<usize> = Vec::with_capacity(TOTAL);
    let mut last_id: Option<String> = None;
    let mut cuts = 0;
    let mut decoder = Decoder::new();
    while seen.len() < TOTAL {
        let mut sub = first
            .take()
            .unwrap_or_else(|| hub.subscribe(last_id.as_deref()));
        assert_ne!(
            sub.resume(),
            HubResume::Reset,
            "resume id must be in the window"
        );
        let budget = 1 + rng.below(400);
        for _ in 0..budget {
            let frame = match tokio::time::timeout(Duration::from_secs(10), sub.next()).await {
                Ok(Some(frame)) => frame,
                Ok(None) => break, // lagged and disconnected: resume like a browser would
                Err(_) => panic!(
                    "stalled after {} events: {hub:?} {sub:?} publisher finished: {}",
                    seen.len(),
                    publisher.is_finished()
                ),
            };
            for e in decoder.feed(&frame) {
                seen.push(e.data().parse().unwrap());
                last_id = Some(e.last_event_id().to_owned());
            }
            if seen.len() == TOTAL {
                break;
            }
        }
        cuts += 1;
        drop(sub);
    }
    publisher.await.unwrap();
    assert!(cuts > 10, "only {cuts} cuts");
    assert!(
        seen.iter().copied().eq(0..TOTAL),
        "every event exactly once, in order"
    );
    assert_eq!(hub.subscriber_count(), 0);
}

/// Many subscribers, one publisher, concurrently: each sees the same sequence.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_concurrent_subscribers_see_the_same_sequence() {
    let hub = Hub::with_config(HubConfig::default().capacity(4096).max_lag(4000));
    let mut tasks = Vec::new();
    for _ in 0..200 {
        let sub = hub.subscribe(None);
        tasks.push(tokio::spawn(async move {
            sub.take(1000).collect::<Vec<Frame>>().await
        }));
    }
    for i in 0..1000 {
        hub.publish(Event::message(i.to_string()));
        if i % 50 == 0 {
            tokio::task::yield_now().await;
        }
    }
    for task in tasks {
        let frames = task.await.unwrap();
        let data: Vec<usize> = decode(&frames)
            .into_iter()
            .map(|e| e.data().parse().unwrap())
            .collect();
        assert!(data.into_iter().eq(0..1000));
    }
}

/// A client that resumes further back than `max_lag` (but inside the window) is replaying, not
/// lagging: it gets the whole replay. (Counting the replay as lag ended such a subscription
/// before its first event; its `Last-Event-ID` never changed, so every reconnect did the
/// same and the client never recovered.)
#[test]
fn a_resume_further_back_than_max_lag_replays_everything() {
    let hub = Hub::new(); // capacity 1024, max_lag 512
    for i in 1..=1000 {
        hub.publish(Event::message(i.to_string()));
    }
    let mut sub = hub.subscribe(Some("100"));
    assert_eq!(sub.resume(), HubResume::Replayed(900));
    let got = decode(take_ready(&mut sub));
    let data: Vec<usize> = got.iter().map(|e| e.data().parse().unwrap()).collect();
    assert!(data.into_iter().eq(101..=1000));
    assert!(!sub.is_done());
    // Then live.
    hub.publish(Event::message("1001"));
    assert_eq!(decode(take_ready(&mut sub))[0].data(), "1001");
}

/// The same for an unknown id on a full window: the reset frame, then the whole window.
#[test]
fn an_unknown_id_on_a_full_window_gets_the_reset_and_the_whole_window() {
    let hub = Hub::new();
    for i in 1..=3000 {
        hub.publish(Event::message(i.to_string()));
    }
    let mut sub = hub.subscribe(Some("gone"));
    assert_eq!(sub.resume(), HubResume::Reset);
    let got = decode(take_ready(&mut sub));
    assert_eq!(got[0].event_type(), "sse-reset");
    assert_eq!(got.len(), 1 + 1024);
    assert_eq!(got[1].data(), "1977");
    assert!(!sub.is_done());
}

/// With `SkipToOldest`, a replay overtaken by eviction skips only what was evicted: the
/// retained rest of the replay is still delivered.
#[test]
fn skip_to_oldest_during_a_replay_skips_only_what_was_evicted() {
    let hub = Hub::with_config(
        HubConfig::default()
            .capacity(10)
            .max_lag(5)
            .lag_policy(LagPolicy::SkipToOldest),
    );
    for i in 1..=10 {
        hub.publish(Event::message(i.to_string()));
    }
    let mut sub = hub.subscribe(Some("1"));
    assert_eq!(sub.resume(), HubResume::Replayed(9));
    let first_two: Vec<String> = (0..2)
        .map(|_| {
            let frame = futures_util::FutureExt::now_or_never(sub.next()).unwrap();
            decode([frame.unwrap()])[0].data().to_owned()
        })
        .collect();
    assert_eq!(first_two, ["2", "3"]);
    // Five live events evict 1..=5; the subscriber is 5 live events behind (not lagging),
    // but its next event (4) is gone.
    for i in 11..=15 {
        hub.publish(Event::message(i.to_string()));
    }
    let got = decode(take_ready(&mut sub));
    assert_eq!(got[0].event_type(), "sse-reset");
    assert_eq!(
        got[0].data(),
        "3",
        "data of the reset is the last id delivered"
    );
    let data: Vec<usize> = got[1..].iter().map(|e| e.data().parse().unwrap()).collect();
    assert!(data.into_iter().eq(6..=15));
}

#[test]
fn a_subscriber_that_stops_reading_is_ended_and_does_not_delay_others() {
    let hub = strict(HubConfig::default().capacity(64).max_lag(32));
    let mut stuck = hub.subscribe(None);
    let mut reader = hub.subscribe(None);
    hub.publish(Event::message("a"));
    hub.publish(Event::message("b"));
    take_one_then_stall(&mut stuck);
    let mut received = take_ready(&mut reader).len();
    for i in 0..5000 {
        hub.publish(Event::message(i.to_string()));
        received += take_ready(&mut reader).len();
    }
    assert_eq!(received, 5002);
    assert!(!reader.is_done());
    // The stuck one ends (default policy) instead of counting as a subscriber.
    assert_eq!(hub.subscriber_count(), 1, "{hub:?}");
    assert_eq!(stuck.next().now_or_never_helper(), Some(None));
    assert!(stuck.is_done());
    // Ended by the stall rule, which the adapters turn into an aborted connection.
    assert!(stuck.is_stalled());
    assert!(!reader.is_stalled());
    assert_eq!(hub.retained().0, 64);
    drop(stuck);
    assert_eq!(hub.subscriber_count(), 1);
    drop(reader);
    assert_eq!(hub.subscriber_count(), 0);
}

/// Issue 17: a burst published in a tight loop (nobody polled meanwhile) that fits the window
/// reaches every subscriber, and none is ended, even with the strictest stall timeout.
#[test]
fn a_burst_within_the_window_reaches_every_subscriber() {
    let hub = strict(HubConfig::default()); // capacity 1024, max_lag 512
    let mut subs: Vec<HubSubscription> = (0..100).map(|_| hub.subscribe(None)).collect();
    // Half of them have been polled (caught up, waiting), half not yet (fresh responses).
    for sub in &mut subs[..50] {
        assert!(take_ready(sub).is_empty());
    }
    for i in 0..1000 {
        hub.publish(Event::message(i.to_string()));
    }
    assert_eq!(hub.subscriber_count(), 100);
    for sub in &mut subs {
        let got = decode(take_ready(sub));
        assert_eq!(got.len(), 1000);
        assert!(
            got.iter()
                .map(|e| e.data().parse::<usize>().unwrap())
                .eq(0..1000)
        );
        assert!(!sub.is_done());
    }
}

/// A subscriber that was polled in the middle of a burst (it took frames, was not caught up,
/// and its task was then descheduled) is not stalled while the default timeout has not run.
#[test]
fn a_subscriber_descheduled_mid_burst_is_not_ended() {
    let hub = Hub::with_config(HubConfig::default().capacity(4096).max_lag(64));
    let mut sub = hub.subscribe(None);
    hub.publish(Event::message("0"));
    hub.publish(Event::message("1"));
    take_one_then_stall(&mut sub);
    for i in 2..3000 {
        hub.publish(Event::message(i.to_string()));
    }
    assert_eq!(hub.subscriber_count(), 1);
    assert_eq!(take_ready(&mut sub).len(), 2999);
}

/// Issue 17: a burst longer than the window cannot be held. Every subscriber, also one that
/// never had an id, gets the reset frame first, then what is retained: never a silent gap.
#[test]
fn a_burst_longer_than_the_window_is_signalled_to_every_subscriber() {
    let hub = strict(HubConfig::default().capacity(100).max_lag(50));
    let mut polled = hub.subscribe(None);
    assert!(take_ready(&mut polled).is_empty());
    let mut fresh = hub.subscribe(None);
    for i in 0..250 {
        hub.publish(Event::message(i.to_string()));
    }
    assert_eq!(hub.subscriber_count(), 2);
    for sub in [&mut polled, &mut fresh] {
        let got = decode(take_ready(sub));
        assert_eq!(got[0].event_type(), "sse-reset");
        assert_eq!(got[0].data(), "", "no event was delivered before the gap");
        assert!(
            got[1..]
                .iter()
                .map(|e| e.data().parse::<usize>().unwrap())
                .eq(150..250)
        );
        assert!(!sub.is_done());
    }
    // One that had delivered events gets the id of the last one as the reset's data.
    for i in 250..400 {
        hub.publish(Event::message(i.to_string()));
    }
    let got = decode(take_ready(&mut polled));
    assert_eq!((got[0].event_type(), got[0].data()), ("sse-reset", "250"));
    assert_eq!(got.len(), 101);
}

#[test]
fn skip_to_oldest_skips_a_stalled_subscriber_ahead_after_a_reset() {
    let hub = strict(
        HubConfig::default()
            .capacity(100)
            .max_lag(5)
            .lag_policy(LagPolicy::SkipToOldest)
            .reset_event(ssekit::event_name!("lost")),
    );
    let mut sub = hub.subscribe(None);
    hub.publish(Event::message("0"));
    hub.publish(Event::message("1"));
    take_one_then_stall(&mut sub);
    for i in 2..=20 {
        hub.publish(Event::message(i.to_string()));
    }
    assert_eq!(hub.subscriber_count(), 1, "skipped, not ended");
    let got = decode(take_ready(&mut sub));
    assert_eq!(got[0].event_type(), "lost");
    assert_eq!(
        got[0].data(),
        "1",
        "data of the reset is the last id delivered"
    );
    let data: Vec<&str> = got[1..].iter().map(|e| e.data()).collect();
    assert_eq!(data, ["16", "17", "18", "19", "20"]);
    assert!(!sub.is_done());
}

/// A subscriber that is polled takes everything, however far behind it was: being behind at
/// a poll is not being slow (the poll itself is the progress).
#[test]
fn a_subscriber_that_is_polled_is_never_ended_for_lag() {
    let hub = strict(HubConfig::default().capacity(1000).max_lag(10));
    for i in 1..=500 {
        hub.publish(Event::message(i.to_string()));
    }
    let mut replaying = hub.subscribe(Some("1"));
    for i in 501..=600 {
        hub.publish(Event::message(i.to_string()));
    }
    assert_eq!(take_ready(&mut replaying).len(), 599);
    assert!(!replaying.is_done());
    assert_eq!(hub.subscriber_count(), 1);
}

/// The default rule in time: a subscriber behind and without progress is ended once
/// `stall_timeout` has passed since a sweep first found it so, not before.
#[test]
fn a_stalled_subscriber_is_ended_after_the_stall_timeout() {
    let timeout = Duration::from_millis(100);
    let clock = ManualClock::new();
    let hub = Hub::with_config(
        HubConfig::default()
            .max_lag(8)
            .stall_timeout(timeout)
            .clock(clock.clone()),
    );
    let mut stuck = hub.subscribe(None);
    hub.publish(Event::message("0"));
    hub.publish(Event::message("1"));
    take_one_then_stall(&mut stuck);
    for i in 0..100 {
        hub.publish(Event::message(i.to_string()));
    }
    assert_eq!(hub.subscriber_count(), 1, "within the timeout");
    clock.advance(timeout - Duration::from_millis(1));
    for i in 0..10 {
        hub.publish(Event::message(i.to_string()));
    }
    assert_eq!(hub.subscriber_count(), 1, "just before the timeout");
    clock.advance(Duration::from_millis(1));
    for i in 0..10 {
        hub.publish(Event::message(i.to_string()));
    }
    assert_eq!(hub.subscriber_count(), 0, "past the timeout");
    assert_eq!(stuck.next().now_or_never_helper(), Some(None));
}

#[test]
fn a_subscription_ended_by_close_is_done_but_not_stalled() {
    let hub = Hub::new();
    let mut sub = hub.subscribe(None);
    hub.publish(Event::message("a"));
    hub.close();
    assert!(take_ready(&mut sub).len() == 1);
    assert_eq!(sub.next().now_or_never_helper(), Some(None));
    assert!(sub.is_done());
    assert!(!sub.is_stalled());
    assert!(!<Hub as ssekit::Broadcast>::stalled(&sub));
}
