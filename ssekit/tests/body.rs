//! The shared server machinery: keep-alive timing, shutdown, prompt drop of the user stream.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use ssekit::last_event_id::parse;
use ssekit::{Frame, KeepAlive, Shutdown, SseBody};
use ssekit_proto::Event;

#[tokio::test(start_paused = true)]
async fn keep_alive_only_when_idle() {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<Event>();
    let events = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|e| (Ok::<_, Infallible>(e), rx))
    });
    let mut body =
        SseBody::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(10)));

    // Idle for 10 s: one keep-alive.
    let start = tokio::time::Instant::now();
    let frame = body.next().await.unwrap().unwrap();
    assert_eq!(frame, &b":\n\n"[..]);
    assert_eq!(start.elapsed(), Duration::from_secs(10));

    // An event at +5 s pushes the next keep-alive to +15 s.
    let sender = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(5)).await;
        tx.send(Event::message("x")).unwrap();
        tokio::time::sleep(Duration::from_secs(60)).await;
        drop(tx);
    });
    let start = tokio::time::Instant::now();
    assert_eq!(body.next().await.unwrap().unwrap(), &b"data: x\n\n"[..]);
    assert_eq!(start.elapsed(), Duration::from_secs(5));
    assert_eq!(body.next().await.unwrap().unwrap(), &b":\n\n"[..]);
    assert_eq!(start.elapsed(), Duration::from_secs(15));
    sender.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn shutdown_ends_the_stream_and_drops_the_user_stream() {
    struct Guard(Arc<AtomicUsize>);
    impl Drop for Guard {
        fn drop(&mut self) {
            self.0.fetch_sub(1, Ordering::SeqCst);
        }
    }
    let live = Arc::new(AtomicUsize::new(1));
    let guard = Guard(live.clone());
    let events = futures_util::stream::pending::<Result<Frame, Infallible>>().map(move |e| {
        let _keep = &guard;
        e
    });
    let shutdown = Shutdown::new();
    let mut body = SseBody::new(events)
        .keep_alive(KeepAlive::default())
        .shutdown_on(shutdown.signal());
    let trigger = shutdown.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(1)).await;
        trigger.trigger();
    });
    assert!(body.next().await.is_none());
    assert!(body.is_ended());
    assert_eq!(
        live.load(Ordering::SeqCst),
        0,
        "user stream dropped on shutdown"
    );
    // A stream started after the trigger ends at once.
    let mut late = SseBody::new(futures_util::stream::pending::<Result<Frame, Infallible>>())
        .shutdown_on(shutdown.signal());
    assert!(late.next().await.is_none());
}

#[tokio::test]
async fn frames_pass_through_and_errors_are_forwarded() {
    let items = futures_util::stream::iter([
        Ok(Event::message("a")),
        Err("boom"),
        Ok(Event::builder().event("e").data("b").build().unwrap()),
    ]);
    let frames: Vec<_> = SseBody::new(items).collect().await;
    assert_eq!(frames[0], Ok(Bytes::from_static(b"data: a\n\n")));
    assert_eq!(frames[1], Err("boom"));
    assert_eq!(frames[2], Ok(Bytes::from_static(b"event: e\ndata: b\n\n")));
}

#[test]
fn last_event_id_rules() {
    assert_eq!(parse(b"abc").as_deref(), Some("abc"));
    assert_eq!(parse(b" spaced ").as_deref(), Some(" spaced "));
    assert_eq!(parse("é".as_bytes()).as_deref(), Some("é"));
    assert!(parse(b"").is_none());
    assert!(parse(b"\xff").is_none());
    assert!(parse(b"a\nb").is_none());
    assert!(parse(&[b'1'; 1025]).is_none());
    assert!(parse(&[b'1'; 1024]).is_some());
}

#[test]
fn keep_alive_text_cannot_inject() {
    let ka = KeepAlive::new().text("ping\ndata: injected");
    assert_eq!(ka.frame(), &b": ping\n: data: injected\n\n"[..]);
}

#[tokio::test]
async fn ready_frames_go_out_as_one_chunk_within_the_bound() {
    let hub = ssekit::hub::Hub::new();
    for n in 0..10 {
        hub.publish(Event::message(format!("{n:04}")));
    }
    // Each frame is `id: N\ndata: 000N\n\n`, 18 bytes (19 for id 10): a 50-byte bound takes 3 frames
    // (the chunk reaches the bound with its third), never splits one.
    let mut body = SseBody::new(hub.subscribe(Some("1"))).max_batch(50);
    let chunk = body.next().await.unwrap().unwrap();
    assert_eq!(
        chunk,
        &b"id: 2\ndata: 0001\n\nid: 3\ndata: 0002\n\nid: 4\ndata: 0003\n\n"[..]
    );
    let mut rest = Vec::new();
    while rest.len() < 5 * 18 + 19 {
        rest.extend_from_slice(&body.next().await.unwrap().unwrap());
    }
    assert!(rest.ends_with(b"id: 10\ndata: 0009\n\n"));
    // Caught up: nothing more until a publish, which goes out alone.
    assert!(futures_util::FutureExt::now_or_never(body.next()).is_none());
    hub.publish(Event::message("x"));
    assert_eq!(
        body.next().await.unwrap().unwrap(),
        &b"id: 11\ndata: x\n\n"[..]
    );

    // `max_batch(0)`: one frame per chunk.
    let mut single = SseBody::new(hub.subscribe(Some("8"))).max_batch(0);
    assert_eq!(
        single.next().await.unwrap().unwrap(),
        &b"id: 9\ndata: 0008\n\n"[..]
    );
}

#[tokio::test]
async fn an_error_after_ready_frames_comes_after_them() {
    let items = futures_util::stream::iter([
        Ok(Event::message("a")),
        Ok(Event::message("b")),
        Err("boom"),
        Ok(Event::message("c")),
    ]);
    let chunks: Vec<_> = SseBody::new(items).collect().await;
    assert_eq!(
        chunks,
        [
            Ok(Bytes::from_static(b"data: a\n\ndata: b\n\n")),
            Err("boom"),
            Ok(Bytes::from_static(b"data: c\n\n")),
        ]
    );
}

#[tokio::test]
async fn a_shutdown_signal_polled_from_another_task_still_fires() {
    let shutdown = Shutdown::new();
    let mut signal = Box::pin(shutdown.signal());
    // Registered from this task...
    assert!(futures_util::FutureExt::now_or_never(signal.as_mut()).is_none());
    // ...then moved to another one, which must be woken by the trigger.
    let waiting = tokio::spawn(signal);
    tokio::task::yield_now().await;
    shutdown.trigger();
    tokio::time::timeout(Duration::from_secs(5), waiting)
        .await
        .expect("the signal fires in the task it moved to")
        .unwrap();
    // Dropping every handle fires the signals too.
    let last = Shutdown::new();
    let signal = last.signal();
    drop(last);
    tokio::time::timeout(Duration::from_secs(5), signal)
        .await
        .expect("no handle left: the signal fires");
}

/// A body whose server stops polling it (its connection does not drain) must leave its hub
/// subscription looking stalled, not waiting: batching takes only frames that are ready, so it
/// never registers the subscription as caught up on its own.
#[tokio::test]
async fn batching_leaves_an_unpolled_subscription_stallable() {
    use ssekit::hub::{Hub, HubConfig};
    let hub = Hub::with_config(
        HubConfig::default()
            .max_lag(4)
            .stall_timeout(Duration::ZERO),
    );
    let mut body = SseBody::new(hub.subscribe(None));
    hub.publish(Event::message("a"));
    hub.publish(Event::message("b"));
    // The server polls once, takes both frames, then stops polling (its buffer is full).
    assert_eq!(
        body.next().await.unwrap().unwrap(),
        &b"id: 1\ndata: a\n\nid: 2\ndata: b\n\n"[..]
    );
    assert_eq!(hub.subscriber_count(), 1);
    for n in 0..20 {
        hub.publish(Event::message(format!("{n}")));
    }
    assert_eq!(hub.subscriber_count(), 0, "ended as stalled by the sweeps");
    drop(body);
}

/// The broker's subscriptions count their ready frames too: a burst of a subscriber's topics
/// goes out as one chunk (only its topics' frames), and a body its server stops polling leaves
/// the subscription stallable, as the hub's.
#[tokio::test]
async fn a_broker_burst_is_one_chunk_and_an_unpolled_body_stays_stallable() {
    use ssekit::broker::{Broker, BrokerConfig, Selection};
    let broker = Broker::with_config(
        BrokerConfig::default()
            .max_lag(4)
            .stall_timeout(Duration::ZERO),
    );
    let ticket = broker
        .subscribe_to(&Selection::new(["a"]).unwrap())
        .unwrap();
    let mut body = SseBody::new(ticket.subscribe(None));
    for (topic, data) in [("a", "1"), ("b", "2"), ("a", "3"), ("a", "4")] {
        broker.publish([topic], Event::message(data)).unwrap();
    }
    assert_eq!(
        body.next().await.unwrap().unwrap(),
        &b"id: 1\ndata: 1\n\nid: 3\ndata: 3\n\nid: 4\ndata: 4\n\n"[..]
    );
    // The server stops polling: the sweeps end it.
    assert_eq!(broker.subscription_count(), 1);
    for n in 0..20 {
        broker
            .publish(["a"], Event::message(format!("{n}")))
            .unwrap();
    }
    assert_eq!(
        broker.subscription_count(),
        0,
        "ended as stalled by the sweeps"
    );
}
