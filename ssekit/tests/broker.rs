//! The topic broker: fan-out, patterns, resume, admission limits, slow subscribers, bad input,
//! topic eviction, authorization (the JWT hook), metrics.

use std::time::Duration;

use futures_core::Stream;
use futures_util::{FutureExt, StreamExt};
use ssekit::broker::{
    Broker, BrokerConfig, BrokerResume, BrokerSubscription, Denied, Epoch, Limit, PublishError,
    Rejection, RequestInfo, Selection, Ticket, TopicError,
};
use ssekit::{Broadcast, Event};
use ssekit_proto::{Frame, Parsed, Parser};

/// (event type, id, data) of each frame.
fn decode(frames: &[Frame]) -> Vec<(String, String, String)> {
    let mut parser = Parser::new();
    let mut out = Vec::new();
    for frame in frames {
        for item in parser.feed(frame) {
            if let Ok(Parsed::Event(e)) = item {
                out.push((
                    e.event_type().to_owned(),
                    e.last_event_id().to_owned(),
                    e.data().to_owned(),
                ));
            }
        }
    }
    out
}

fn take_ready(sub: &mut BrokerSubscription) -> Vec<Frame> {
    let mut frames = Vec::new();
    while let Some(Some(frame)) = sub.next().now_or_never() {
        frames.push(frame);
    }
    frames
}

fn data(sub: &mut BrokerSubscription) -> Vec<String> {
    decode(&take_ready(sub))
        .into_iter()
        .map(|(_, _, d)| d)
        .collect()
}

fn ticket(broker: &Broker, selectors: &[&str]) -> Ticket {
    let selection = Selection::new(selectors).expect("valid selectors");
    broker.subscribe_to(&selection).expect("admitted")
}

fn sub(broker: &Broker, selectors: &[&str]) -> BrokerSubscription {
    ticket(broker, selectors).subscribe(None)
}

#[test]
fn an_event_reaches_each_subscriber_of_its_topics_once_encoded_once() {
    let broker = Broker::new();
    let mut both = sub(&broker, &["a", "b"]);
    let mut a = sub(&broker, &["a"]);
    let mut other = sub(&broker, &["c"]);
    let seq = broker
        .publish(["a", "b", "a"], Event::message("ab"))
        .unwrap();
    assert_eq!(&*seq, "1", "the id on the wire");
    let (f1, f2) = (take_ready(&mut both), take_ready(&mut a));
    assert_eq!(f1.len(), 1, "once, although it selects both topics");
    assert_eq!(f2.len(), 1);
    // One encoding shared by every subscriber.
    assert_eq!(f1[0].as_ptr(), f2[0].as_ptr());
    assert_eq!(&f1[0][..], b"id: 1\ndata: ab\n\n");
    assert!(take_ready(&mut other).is_empty());
}

#[test]
fn patterns_match_topics_under_a_prefix() {
    let broker = Broker::new();
    let mut room = sub(&broker, &["rooms/42/*"]);
    let mut all = sub(&broker, &["*"]);
    for topic in [
        "rooms/42/msgs",
        "rooms/42",
        "rooms/420/msgs",
        "rooms/42/a/b",
        "news",
    ] {
        broker.publish([topic], Event::message(topic)).unwrap();
    }
    assert_eq!(data(&mut room), ["rooms/42/msgs", "rooms/42/a/b"]);
    assert_eq!(data(&mut all).len(), 5);
}

#[test]
fn one_last_event_id_resumes_every_topic_in_publish_order() {
    let broker = Broker::new();
    let t = ticket(&broker, &["a", "b/*"]);
    for (topic, d) in [
        ("a", "1"),
        ("x", "2"),
        ("b/1", "3"),
        ("a", "4"),
        ("b/2", "5"),
    ] {
        broker.publish([topic], Event::message(d)).unwrap();
    }
    let mut resumed = t.subscribe(Some("1"));
    assert_eq!(resumed.resume(), BrokerResume::Replayed);
    assert_eq!(data(&mut resumed), ["3", "4", "5"]);
    broker.publish(["b/3"], Event::message("6")).unwrap();
    assert_eq!(data(&mut resumed), ["6"]);
}

#[test]
fn an_unknown_or_evicted_id_gets_a_reset_frame_with_an_id() {
    let broker = Broker::with_config(BrokerConfig::default().capacity(2));
    let t = ticket(&broker, &["a"]);
    for i in 1..=4 {
        broker
            .publish(["a"], Event::message(i.to_string()))
            .unwrap();
    }
    for asked in ["1", "garbage", "99"] {
        let mut s = t.subscribe(Some(asked));
        assert_eq!(s.resume(), BrokerResume::Reset);
        let got = decode(&take_ready(&mut s));
        assert_eq!(got[0], ("sse-reset".into(), "2".into(), asked.into()));
        assert_eq!(
            got[1..].iter().map(|e| e.2.as_str()).collect::<Vec<_>>(),
            ["3", "4"]
        );
    }
}

#[test]
fn a_quiet_topic_resumes_without_reset_after_a_busy_one_filled_the_window() {
    let broker = Broker::with_config(BrokerConfig::default().capacity(4));
    let quiet = ticket(&broker, &["quiet"]);
    broker.publish(["quiet"], Event::message("q")).unwrap(); // 1
    let _busy = ticket(&broker, &["busy"]);
    for _ in 0..20 {
        broker.publish(["busy"], Event::message("b")).unwrap();
    }
    let mut s = quiet.subscribe(Some("1"));
    assert_eq!(
        s.resume(),
        BrokerResume::Replayed,
        "nothing of `quiet` was lost"
    );
    assert!(take_ready(&mut s).is_empty());
    broker.publish(["quiet"], Event::message("q2")).unwrap();
    assert_eq!(data(&mut s), ["q2"]);
}

#[test]
fn live_eviction_resets_only_subscribers_that_lost_their_events() {
    let broker = Broker::with_config(
        BrokerConfig::default()
            .capacity(3)
            .stall_timeout(Duration::from_secs(60))
            // Never moved: however slow the machine, nobody stalls.
            .clock(ssekit::clock::ManualClock::new()),
    );
    let mut a = sub(&broker, &["a"]);
    let mut b = sub(&broker, &["b"]);
    broker.publish(["b"], Event::message("b1")).unwrap();
    for i in 0..5 {
        broker
            .publish(["a"], Event::message(format!("a{i}")))
            .unwrap();
    }
    // `b` kept up with nothing to lose: b1 was evicted before it ran, so it is told.
    let got = decode(&take_ready(&mut b));
    assert_eq!(got[0].0, "sse-reset");
    assert_eq!(got.len(), 1);
    let got = decode(&take_ready(&mut a));
    assert_eq!(got[0].0, "sse-reset");
    assert_eq!(
        got[1..].iter().map(|e| e.2.as_str()).collect::<Vec<_>>(),
        ["a2", "a3", "a4"]
    );
    // A subscriber of an untouched topic is not reset.
    let mut c = sub(&broker, &["c"]);
    for i in 0..5 {
        broker
            .publish(["a"], Event::message(format!("x{i}")))
            .unwrap();
    }
    assert!(take_ready(&mut c).is_empty());
}

#[test]
fn admission_limits_answer_503_with_retry_after_and_free_on_drop() {
    let broker = Broker::with_config(
        BrokerConfig::default()
            .max_subscriptions(2)
            .max_subscribers_per_topic(1)
            .retry_after(Duration::from_secs(7)),
    );
    let first = ticket(&broker, &["a"]);
    let err = broker
        .subscribe_to(&Selection::new(["a"]).unwrap())
        .unwrap_err();
    assert_eq!(err.status(), 503);
    assert_eq!(err.retry_after_header().as_deref(), Some("7"));
    assert!(matches!(
        err,
        Rejection::Unavailable { limit: Limit::SubscribersPerTopic(ref t), .. } if t == "a"
    ));
    let second = ticket(&broker, &["b"]);
    let err = broker
        .subscribe_to(&Selection::new(["c"]).unwrap())
        .unwrap_err();
    assert!(matches!(
        err,
        Rejection::Unavailable {
            limit: Limit::Subscriptions,
            ..
        }
    ));
    // A ticket in use and one unused both count; dropping frees the places.
    let live = first.subscribe(None);
    assert_eq!(broker.subscription_count(), 2);
    drop(second);
    drop(live);
    drop(first);
    assert_eq!(broker.subscription_count(), 0);
    assert_eq!(broker.subscribers_of("a"), 0);
    let _again = ticket(&broker, &["a"]);
}

#[test]
fn subscribing_a_ticket_twice_checks_the_limits_again() {
    let broker = Broker::with_config(BrokerConfig::default().max_subscriptions(1));
    let t = ticket(&broker, &["a"]);
    let mut one = t.subscribe(None);
    let mut two = Broadcast::subscribe(&t, None);
    assert!(two.is_done());
    assert_eq!(two.next().now_or_never(), Some(None));
    broker.publish(["a"], Event::message("x")).unwrap();
    assert_eq!(data(&mut one), ["x"]);
}

#[test]
fn bad_input_is_a_typed_error() {
    let broker = Broker::with_config(
        BrokerConfig::default()
            .max_topic_len(16)
            .max_topics_per_event(2)
            .max_selectors(2),
    );
    let long = "x".repeat(17);
    let publish = |topics: &[&str]| broker.publish(topics, Event::message("x")).unwrap_err();
    assert_eq!(
        publish(&[long.as_str()]),
        PublishError::Topic(TopicError::TooLong { len: 17, max: 16 })
    );
    assert_eq!(publish(&[]), PublishError::Topic(TopicError::None));
    assert_eq!(publish(&[""]), PublishError::Topic(TopicError::Empty));
    assert_eq!(publish(&["a/*"]), PublishError::Topic(TopicError::Invalid));
    assert_eq!(publish(&["a\nb"]), PublishError::Topic(TopicError::Invalid));
    assert!(matches!(
        publish(&["a", "b", "c"]),
        PublishError::Topic(TopicError::TooMany { max: 2, .. })
    ));
    // Repeats are one topic: they do not count against the limit.
    assert_eq!(
        broker.check_topics(["a", "b", "a", "b"]).unwrap(),
        ["a", "b"]
    );
    let huge = "y".repeat(1 << 20);
    assert!(Selection::new([huge.as_str()]).is_err());
    assert!(Selection::new(["a*"]).is_err());
    assert!(Selection::new(Vec::<String>::new()).is_err());
    let many: Vec<String> = (0..5000).map(|i| i.to_string()).collect();
    assert!(matches!(
        Selection::new(&many),
        Err(TopicError::TooMany { .. })
    ));
    let three = Selection::new(["a", "b", "c"]).unwrap();
    assert_eq!(broker.subscribe_to(&three).unwrap_err().status(), 400);
    let long_sel = Selection::new([long.as_str()]).unwrap();
    assert_eq!(broker.subscribe_to(&long_sel).unwrap_err().status(), 400);
    assert_eq!(broker.topic_count(), 0, "nothing was created");
}

#[test]
fn idle_topics_are_bounded_and_a_full_broker_refuses_new_topics() {
    let broker = Broker::with_config(
        BrokerConfig::default()
            .capacity(2)
            .max_idle_topics(3)
            .max_topics(5),
    );
    for i in 0..100 {
        broker
            .publish([format!("t{i}")], Event::message("x"))
            .unwrap();
    }
    // Two topics hold retained events, at most three idle ones are kept.
    assert!(broker.topic_count() <= 5, "{}", broker.topic_count());
    assert_eq!(broker.retained().0, 2);
    // Three subscribed and two retained topics: a sixth is refused, nothing in use is evicted.
    let held: Vec<Ticket> = (0..3)
        .map(|i| ticket(&broker, &[&format!("u{i}")]))
        .collect();
    assert_eq!(
        broker.publish(["new"], Event::message("x")),
        Err(PublishError::TooManyTopics)
    );
    let err = broker
        .subscribe_to(&Selection::new(["new2"]).unwrap())
        .unwrap_err();
    assert!(matches!(
        err,
        Rejection::Unavailable {
            limit: Limit::Topics,
            ..
        }
    ));
    broker.publish(["u0", "u1"], Event::message("ok")).unwrap();
    drop(held);
    broker.publish(["new"], Event::message("x")).unwrap();
}

/// A subscriber that took one frame and is then never polled: a body whose connection does
/// not drain.
fn stall(sub: &mut BrokerSubscription) {
    assert!(sub.next().now_or_never().flatten().is_some());
}

#[test]
fn a_stalled_subscriber_is_ended_by_events_or_by_its_byte_budget() {
    // By events: more than max_lag behind, no progress.
    let broker = Broker::with_config(
        BrokerConfig::default()
            .max_lag(4)
            .stall_timeout(Duration::ZERO),
    );
    let mut slow = sub(&broker, &["a"]);
    let _other = sub(&broker, &["b"]);
    broker.publish(["a"], Event::message("x")).unwrap();
    broker.publish(["a"], Event::message("x")).unwrap();
    stall(&mut slow);
    for _ in 0..20 {
        broker.publish(["a"], Event::message("x")).unwrap();
    }
    assert_eq!(broker.subscription_count(), 1, "the stalled one is gone");
    assert_eq!(broker.subscribers_of("a"), 0);
    assert!(take_ready(&mut slow).is_empty());
    assert!(slow.is_done());
    // Ended by the stall rule, which the adapters turn into an aborted connection.
    assert!(slow.is_stalled());

    // By bytes: a few big events are over the budget long before max_lag.
    let broker = Broker::with_config(
        BrokerConfig::default()
            .max_lag(1000)
            .max_pending_bytes(10_000)
            .stall_timeout(Duration::ZERO),
    );
    let mut slow = sub(&broker, &["a"]);
    let big = "z".repeat(4000);
    broker.publish(["a"], Event::message(big.clone())).unwrap();
    broker.publish(["a"], Event::message(big.clone())).unwrap();
    stall(&mut slow);
    // Sweeps come every max_lag / 4 publishes; the second one after it stopped ends it.
    for _ in 0..600 {
        broker.publish(["a"], Event::message(big.clone())).unwrap();
    }
    assert_eq!(broker.subscription_count(), 0);
}

#[test]
fn a_subscriber_not_yet_scheduled_is_not_lagging() {
    // Woken by the first event of a long burst, never polled during it: the publisher is
    // busy, not the connection. It must survive and get every event (window permitting).
    let broker = Broker::with_config(
        BrokerConfig::default()
            .max_lag(4)
            .max_pending_bytes(100)
            .stall_timeout(Duration::ZERO),
    );
    let mut s = sub(&broker, &["a"]);
    assert!(s.next().now_or_never().is_none()); // caught up, waiting
    for i in 0..200 {
        broker
            .publish(["a"], Event::message(i.to_string()))
            .unwrap();
    }
    assert_eq!(broker.subscription_count(), 1);
    assert_eq!(data(&mut s).len(), 200);
}

#[test]
fn close_ends_subscriptions_after_what_they_have() {
    let broker = Broker::new();
    let mut s = sub(&broker, &["a"]);
    broker.publish(["a"], Event::message("last")).unwrap();
    broker.close();
    assert_eq!(data(&mut s), ["last"]);
    assert!(s.is_done());
    assert!(!s.is_stalled(), "closed, not stalled");
    assert_eq!(broker.subscription_count(), 0);
}

#[tokio::test]
async fn a_waiting_subscriber_is_woken_by_its_topics_only() {
    let broker = Broker::new();
    let mut s = sub(&broker, &["a"]);
    let publisher = broker.clone();
    let task = tokio::spawn(async move { s.next().await });
    tokio::task::yield_now().await;
    publisher
        .publish(["b"], Event::message("not yours"))
        .unwrap();
    tokio::task::yield_now().await;
    assert!(!task.is_finished());
    publisher.publish(["a"], Event::message("yours")).unwrap();
    let frame = tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(&frame[..], b"id: 2\ndata: yours\n\n");
}

mod authorization {
    use super::*;
    use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
    use ssekit::broker::jwt::{Claims, JwtAuthorize, MAX_TOKEN_LEN, MercureClaim};

    const SECRET: &[u8] = b"test secret";

    fn token(subscribe: &[&str], publish: &[&str], exp: u64) -> String {
        let claims = Claims {
            exp: Some(exp),
            mercure: MercureClaim {
                subscribe: subscribe.iter().map(|s| s.to_string()).collect(),
                publish: publish.iter().map(|s| s.to_string()).collect(),
            },
        };
        encode(
            &Header::default(),
            &claims,
            &EncodingKey::from_secret(SECRET),
        )
        .expect("encodes")
    }

    fn later() -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("after 1970")
            .as_secs()
            + 3600
    }

    fn jwt_broker() -> Broker {
        Broker::with_authorize(BrokerConfig::default(), JwtAuthorize::hs256(SECRET))
    }

    fn asked(selectors: &[&str]) -> Selection {
        Selection::new(selectors).expect("valid selectors")
    }

    fn now_secs() -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("after 1970")
            .as_secs()
    }

    /// A stream ends when its token expires, with no publish to wake it: the broker's one
    /// expiry task ends it, cleanly (not as a stall), and the client reconnects with a fresh
    /// token.
    #[tokio::test]
    async fn a_stream_ends_when_its_token_expires() {
        let broker = jwt_broker();
        let expires = now_secs() + 2;
        let request = RequestInfo::new()
            .header(
                "authorization",
                format!("Bearer {}", token(&["rooms/*"], &[], expires)),
            )
            .query("topic=rooms/1");
        let ticket = broker.admit_query(&request).expect("admitted");
        assert_eq!(
            ticket.expires(),
            Some(std::time::UNIX_EPOCH + Duration::from_secs(expires))
        );
        let mut stream = ticket.subscribe(None);
        broker
            .publish(["rooms/1"], Event::message("before"))
            .expect("publish");
        assert!(stream.next().await.is_some());
        let ended = tokio::time::timeout(Duration::from_secs(6), stream.next())
            .await
            .expect("the stream ended at the token's expiry");
        assert!(ended.is_none());
        assert!(!stream.is_stalled(), "an expiry is a clean end");
        assert_eq!(broker.subscription_count(), 0);
    }

    /// A token that validates (within the decoder's leeway) but whose `exp` has passed is
    /// refused at admission: its stream would end at once.
    #[test]
    fn a_token_past_its_expiry_is_refused() {
        let broker = jwt_broker();
        let request = RequestInfo::new()
            .header(
                "authorization",
                format!("Bearer {}", token(&["rooms/*"], &[], now_secs() - 5)),
            )
            .query("topic=rooms/1");
        let refused = broker.admit_query(&request).expect_err("refused");
        assert_eq!(refused.status(), 403);
    }

    #[test]
    fn a_token_in_header_cookie_or_query_admits_what_it_covers() {
        let broker = jwt_broker();
        let t = token(&["rooms/*", "users/7"], &[], later());
        for request in [
            RequestInfo::new().header("Authorization", format!("Bearer {t}")),
            RequestInfo::new().header("Cookie", format!("a=b; mercureAuthorization={t}")),
            RequestInfo::new().query(format!("topic=x&authorization={t}")),
        ] {
            let ticket = broker
                .admit(&request, &asked(&["rooms/1/*", "users/7"]))
                .unwrap();
            assert_eq!(ticket.selection(), &asked(&["rooms/1/*", "users/7"]));
            let err = broker.admit(&request, &asked(&["users/8"])).unwrap_err();
            assert_eq!(err.status(), 403);
            let err = broker.admit(&request, &asked(&["*"])).unwrap_err();
            assert_eq!(err, Rejection::Denied(Denied::NotAllowed("*".into())));
        }
    }

    #[test]
    fn missing_malformed_expired_or_foreign_tokens_are_denied() {
        let broker = jwt_broker();
        let a = asked(&["rooms/1"]);
        let deny = |request: RequestInfo| broker.admit(&request, &a).unwrap_err();
        assert_eq!(
            deny(RequestInfo::new()),
            Rejection::Denied(Denied::MissingCredentials)
        );
        for bad in [
            "not-a-token".to_owned(),
            "a.b.c".to_owned(),
            token(&["rooms/*"], &[], 1_000), // expired in 1970
            encode(
                &Header::default(),
                &Claims {
                    exp: Some(later()),
                    ..Claims::default()
                },
                &EncodingKey::from_secret(b"other secret"),
            )
            .unwrap(),
            "x".repeat(MAX_TOKEN_LEN + 1),
            "\u{fffd}é.ü.\0".to_owned(),
        ] {
            let err = deny(RequestInfo::new().header("authorization", format!("Bearer {bad}")));
            assert!(
                matches!(err, Rejection::Denied(Denied::InvalidCredentials(_))),
                "{bad:.40}: {err}"
            );
        }
        // An HS256 verifier does not accept `alg: none` or RS256 headers.
        let rs = encode(
            &Header::new(Algorithm::RS256),
            &Claims {
                exp: Some(later()),
                ..Claims::default()
            },
            &EncodingKey::from_rsa_pem(include_bytes!("data/jwt_rs256_private.pem")).unwrap(),
        )
        .unwrap();
        assert_eq!(
            deny(RequestInfo::new().header("authorization", format!("Bearer {rs}"))).status(),
            403
        );
    }

    #[test]
    fn rs256_tokens_verify_with_the_public_key() {
        let auth = JwtAuthorize::rs256_pem(include_bytes!("data/jwt_rs256_public.pem")).unwrap();
        let broker = Broker::with_authorize(BrokerConfig::default(), auth);
        let claims = Claims {
            exp: Some(later()),
            mercure: MercureClaim {
                subscribe: vec!["feeds/*".into()],
                publish: vec!["feeds/9".into()],
            },
        };
        let key = EncodingKey::from_rsa_pem(include_bytes!("data/jwt_rs256_private.pem")).unwrap();
        let t = encode(&Header::new(Algorithm::RS256), &claims, &key).unwrap();
        let request = RequestInfo::new().header("Authorization", format!("Bearer {t}"));
        assert!(broker.admit(&request, &asked(&["feeds/9"])).is_ok());
        assert!(
            broker
                .publish_as(&request, ["feeds/9"], Event::message("x"))
                .is_ok()
        );
        assert!(matches!(
            broker.publish_as(&request, ["feeds/9", "feeds/10"], Event::message("x")),
            Err(PublishError::Denied(Denied::NotAllowed(t))) if t == "feeds/10"
        ));
        assert!(JwtAuthorize::rs256_pem(b"not a pem").is_err());
    }

    #[test]
    fn anonymous_requests_get_the_anonymous_selection() {
        let auth = JwtAuthorize::hs256(SECRET).anonymous(asked(&["public/*"]));
        let broker = Broker::with_authorize(BrokerConfig::default(), auth);
        assert!(
            broker
                .admit(&RequestInfo::new(), &asked(&["public/news"]))
                .is_ok()
        );
        assert_eq!(
            broker
                .admit(&RequestInfo::new(), &asked(&["private/x"]))
                .unwrap_err()
                .status(),
            403
        );
    }

    #[test]
    fn the_default_hook_lets_anyone_subscribe_and_no_request_publish() {
        let broker = Broker::new();
        assert!(broker.admit(&RequestInfo::new(), &asked(&["*"])).is_ok());
        assert!(matches!(
            broker.publish_as(&RequestInfo::new(), ["a"], Event::message("x")),
            Err(PublishError::Denied(_))
        ));
    }
}

#[test]
fn metrics_are_reported_through_the_facade() {
    use metrics_util::debugging::{DebugValue, DebuggingRecorder};

    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    metrics::with_local_recorder(&recorder, || {
        let broker = Broker::with_config(
            BrokerConfig::default()
                .capacity(2)
                .metric_topic_labels(1)
                .metric_topic_prefixes([""])
                .max_subscriptions(2),
        );
        let t = ticket(&broker, &["a"]);
        let mut s = t.subscribe(None);
        let _other = ticket(&broker, &["b"]);
        assert!(
            broker
                .subscribe_to(&Selection::new(["c"]).unwrap())
                .is_err()
        );
        for _ in 0..3 {
            broker.publish(["a"], Event::message("x")).unwrap();
        }
        let _ = take_ready(&mut s);
        drop(s);
        let _ = t.subscribe(Some("garbage"));
    });
    let snapshot = snapshotter.snapshot().into_vec();
    let value = |name: &str, label: Option<(&str, &str)>| {
        snapshot
            .iter()
            .find(|(key, ..)| {
                key.key().name() == name
                    && label.is_none_or(|(k, v)| {
                        key.key().labels().any(|l| l.key() == k && l.value() == v)
                    })
            })
            .map(|(.., v)| match v {
                DebugValue::Counter(c) => *c as f64,
                DebugValue::Gauge(g) => g.into_inner(),
                DebugValue::Histogram(_) => f64::NAN,
            })
    };
    assert_eq!(value("sse_broker_events_published_total", None), Some(3.0));
    assert_eq!(value("sse_broker_frames_delivered_total", None), Some(2.0));
    // One for the eviction of event 1 before `a` took it, one for the unknown id.
    assert_eq!(value("sse_broker_resets_total", None), Some(2.0));
    assert_eq!(
        value(
            "sse_broker_subscribe_rejected_total",
            Some(("limit", "subscriptions"))
        ),
        Some(1.0)
    );
    // The gauges follow drops, not only publishes: everything was dropped.
    assert_eq!(value("sse_broker_subscriptions", None), Some(0.0));
    // One label value for `a`; `b` is past the bound and counted as `_other`.
    assert_eq!(
        value("sse_broker_topic_subscriptions", Some(("topic", "a"))),
        Some(0.0)
    );
    assert!(value("sse_broker_topic_subscriptions", Some(("topic", "b"))).is_none());
}

#[test]
fn topic_names_are_metric_labels_only_under_the_configured_prefixes() {
    use metrics_util::debugging::{DebugValue, DebuggingRecorder};

    let labels = |config: BrokerConfig| {
        let recorder = DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        metrics::with_local_recorder(&recorder, || {
            let broker = Broker::with_config(config);
            let private = ticket(&broker, &["users/8"]);
            let room = ticket(&broker, &["rooms/1"]);
            let subscriptions = (private.subscribe(None), room.subscribe(None));
            let snapshot = snapshotter.snapshot().into_vec();
            drop(subscriptions);
            snapshot
                .into_iter()
                .filter(|(key, ..)| key.key().name() == "sse_broker_topic_subscriptions")
                .filter(|(.., value)| matches!(value, DebugValue::Gauge(g) if g.into_inner() > 0.0))
                .flat_map(|(key, ..)| {
                    key.key()
                        .labels()
                        .map(|l| l.value().to_owned())
                        .collect::<Vec<_>>()
                })
                .collect::<Vec<_>>()
        })
    };
    // By default no topic name is a label.
    assert_eq!(labels(BrokerConfig::default()), ["_other"]);
    // Public prefixes are named; the private topic is still `_other`.
    let mut named = labels(BrokerConfig::default().metric_topic_prefixes(["rooms/"]));
    named.sort();
    assert_eq!(named, ["_other", "rooms/1"]);
}

/// Publishers on several threads, subscribers that keep cutting and resuming with their last
/// id: every subscriber gets every event of its topics exactly once, in publish order, with no
/// reset (the window holds everything), whatever the interleaving at the seams.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cut_and_resume_under_concurrent_publishers_is_exactly_once() {
    use std::sync::{Arc, Mutex};

    const PUBLISHERS: usize = 3;
    const EVENTS: usize = 600;
    const TOPICS: [&str; 4] = ["a", "b", "c/1", "c/2"];
    let broker = Broker::with_config(BrokerConfig::default().capacity(1 << 16));
    let log: Arc<Mutex<Vec<(u64, &str)>>> = Arc::default();
    let selections: [&[&str]; 3] = [&["a"], &["b", "c/*"], &["*"]];
    let topic_of = |p: usize, i: usize| TOPICS[(i * 7 + p) % TOPICS.len()];
    let mut readers = Vec::new();
    for selectors in selections {
        let t = ticket(&broker, selectors);
        let selection = Selection::new(selectors).expect("valid");
        let total = (0..PUBLISHERS)
            .flat_map(|p| (0..EVENTS).map(move |i| topic_of(p, i)))
            .filter(|topic| selection.matches(topic))
            .count();
        // Subscribed live before the first publish.
        let mut first = Some(t.subscribe(None));
        readers.push(tokio::spawn(async move {
            let mut got = Vec::new();
            let mut last: Option<u64> = None;
            let mut round = 0u64;
            // Connections of 1 to 7 events, each resuming after the last id seen.
            while got.len() < total {
                let id = last.map(|l| l.to_string());
                let mut s = first.take().unwrap_or_else(|| t.subscribe(id.as_deref()));
                let take = 1 + (round % 7) as usize;
                round += 1;
                for _ in 0..take.min(total - got.len()) {
                    let frame = tokio::time::timeout(Duration::from_secs(10), s.next())
                        .await
                        .expect("an event within 10 s")
                        .expect("not ended");
                    let (kind, id, _) = decode(&[frame]).remove(0);
                    assert_eq!(kind, "message", "no reset: the window holds all");
                    let id: u64 = id.parse().expect("numeric id");
                    got.push(id);
                    last = Some(id);
                }
            }
            got
        }));
    }
    let publishers: Vec<_> = (0..PUBLISHERS)
        .map(|p| {
            let (broker, log) = (broker.clone(), log.clone());
            tokio::spawn(async move {
                for i in 0..EVENTS {
                    let topic = topic_of(p, i);
                    {
                        // The lock is held around the publish: the log is in publish order.
                        let mut log = log.lock().expect("log");
                        let seq = broker
                            .publish([topic], Event::message("x"))
                            .expect("publish");
                        log.push((seq.parse::<u64>().expect("no epoch"), topic));
                    }
                    if i % 50 == 0 {
                        tokio::task::yield_now().await;
                    }
                }
            })
        })
        .collect();
    for p in publishers {
        p.await.expect("publisher");
    }
    let log = log.lock().expect("log").clone();
    assert_eq!(log.len(), PUBLISHERS * EVENTS);
    for (reader, selectors) in readers.into_iter().zip(selections) {
        let got = tokio::time::timeout(Duration::from_secs(30), reader)
            .await
            .expect("bounded")
            .expect("reader");
        let selection = Selection::new(selectors).expect("valid");
        let expected: Vec<u64> = log
            .iter()
            .filter(|(_, topic)| selection.matches(topic))
            .map(|(seq, _)| *seq)
            .collect();
        assert_eq!(got, expected, "{selectors:?}");
    }
}

#[test]
fn with_an_epoch_ids_name_their_instance_and_foreign_ones_reset() {
    let broker = Broker::with_config(
        BrokerConfig::default()
            .epoch(Epoch::new("e7").unwrap())
            .capacity(2),
    );
    let t = ticket(&broker, &["a"]);
    let mut live = t.subscribe(None);
    for i in 1..=3 {
        broker
            .publish(["a"], Event::message(i.to_string()))
            .unwrap();
    }
    let got = decode(&take_ready(&mut live));
    // Event 1 was evicted before it was taken: the reset frame's id has the epoch too.
    assert_eq!(got[0], ("sse-reset".into(), "e7-1".into(), String::new()));
    assert_eq!(got[1].1, "e7-2");
    let mut resumed = t.subscribe(Some("e7-2"));
    assert_eq!(resumed.resume(), BrokerResume::Replayed);
    assert_eq!(data(&mut resumed), ["3"]);
    // The same number from another instance (or none) is not ours.
    for foreign in ["2", "x1-2", "e7-", "e7-+2", "e72"] {
        assert_eq!(
            t.subscribe(Some(foreign)).resume(),
            BrokerResume::Reset,
            "{foreign}"
        );
    }
    // An epoch that could inject anything cannot be made, so it never reaches a broker.
    assert!(Epoch::new("a\nid: 9").is_err());
    let plain = Broker::with_config(BrokerConfig::default());
    let mut s = sub(&plain, &["a"]);
    plain.publish(["a"], Event::message("x")).unwrap();
    assert_eq!(&take_ready(&mut s)[0][..], b"id: 1\ndata: x\n\n");
}

/// Ids like Redis entry ids, `<ms>-<seq>`, ordered as pairs.
fn pair_position(id: &str) -> Option<u128> {
    let (ms, seq) = id.split_once('-')?;
    let number = ssekit::decimal::parse;
    Some((u128::from(number(ms)?) << 64) | u128::from(number(seq)?))
}

const PAIRS: ssekit::broker::ExternalIds = ssekit::broker::ExternalIds::new("0-0", pair_position);

fn external(capacity: usize) -> Broker {
    Broker::with_config(
        BrokerConfig::default()
            .capacity(capacity)
            .external_ids(PAIRS),
    )
}

#[test]
fn external_ids_are_the_events_ids_and_resume_by_position() {
    let broker = external(3);
    let t = ticket(&broker, &["a", "b/*"]);
    let mut live = t.subscribe(None);
    let ids = ["5-0", "5-1", "7-0", "10-3"];
    for (i, id) in ids.iter().enumerate() {
        let topic = if i % 2 == 0 { "a" } else { "b/x" };
        broker
            .publish_with_id([topic], Event::message(i.to_string()), id)
            .unwrap();
    }
    // Live: the first event was evicted before it was taken; the reset frame carries the id
    // of the event before the window, an external one.
    let got = decode(&take_ready(&mut live));
    assert_eq!(got[0], ("sse-reset".into(), "5-0".into(), String::new()));
    assert_eq!(
        got[1..].iter().map(|e| e.1.as_str()).collect::<Vec<_>>(),
        ["5-1", "7-0", "10-3"]
    );
    // In the window, or the event just before it: replayed after it.
    let mut s = t.subscribe(Some("5-1"));
    assert_eq!(s.resume(), BrokerResume::Replayed);
    assert_eq!(data(&mut s), ["2", "3"]);
    let mut s = t.subscribe(Some("5-0"));
    assert_eq!(s.resume(), BrokerResume::Replayed);
    assert_eq!(data(&mut s), ["1", "2", "3"]);
    // Not an event it was given (between two, too old, ahead, not an id): a reset frame, its id
    // the one before the window, then the window.
    for asked in ["6-0", "1-0", "11-0", "garbage", "7"] {
        let mut s = t.subscribe(Some(asked));
        assert_eq!(s.resume(), BrokerResume::Reset, "{asked}");
        let got = decode(&take_ready(&mut s));
        assert_eq!(got[0], ("sse-reset".into(), "5-0".into(), asked.into()));
        assert_eq!(got.len(), 4, "{asked}: {got:?}");
    }
    // Ids must increase; the broker's own publish is refused.
    for bad in ["10-3", "9-9", "x", "11-0\nid: 1"] {
        assert!(
            matches!(
                broker.publish_with_id(["a"], Event::message("x"), bad),
                Err(PublishError::Id(_))
            ),
            "{bad:?}"
        );
    }
    assert_eq!(
        broker.publish(["a"], Event::message("x")),
        Err(PublishError::IdSource)
    );
    assert_eq!(
        Broker::new().publish_with_id(["a"], Event::message("x"), "1-0"),
        Err(PublishError::IdSource)
    );
    assert_eq!(broker.retained().0, 3, "nothing refused was published");
}

#[test]
fn external_ids_before_any_eviction_resume_from_the_origin() {
    let broker = external(8);
    let t = ticket(&broker, &["a"]);
    // Nothing published: the origin resumes, anything else resets with the origin as its id.
    assert_eq!(t.subscribe(Some("0-0")).resume(), BrokerResume::Replayed);
    let mut s = t.subscribe(Some("3-0"));
    assert_eq!(
        decode(&take_ready(&mut s)),
        [("sse-reset".into(), "0-0".into(), "3-0".into())]
    );
    broker
        .publish_with_id(["a"], Event::message("one"), "3-0")
        .unwrap();
    let mut s = t.subscribe(Some("0-0"));
    assert_eq!(data(&mut s), ["one"]);
    // The origin itself is not an event id.
    assert!(
        broker
            .publish_with_id(["a"], Event::message("x"), "0-0")
            .is_err()
    );
}

#[test]
fn with_external_ids_a_quiet_topic_resumes_only_if_followed_since_its_id() {
    let broker = external(4);
    let quiet = ticket(&broker, &["quiet"]);
    broker
        .publish_with_id(["quiet"], Event::message("q"), "1-0")
        .unwrap();
    for i in 2..30 {
        broker
            .publish_with_id(["busy"], Event::message("b"), &format!("{i}-0"))
            .unwrap();
    }
    let mut s = quiet.subscribe(Some("1-0"));
    assert_eq!(
        s.resume(),
        BrokerResume::Replayed,
        "nothing of `quiet` was lost"
    );
    assert!(take_ready(&mut s).is_empty());
    // An id from before the first event this broker was given: it cannot know what it missed.
    assert_eq!(quiet.subscribe(Some("0-5")).resume(), BrokerResume::Reset);
    // A topic it started following after that id: the same.
    let late = ticket(&broker, &["late"]);
    assert_eq!(late.subscribe(Some("3-0")).resume(), BrokerResume::Reset);
}

#[test]
fn with_external_ids_every_topic_slot_in_use_still_delivers() {
    let broker = Broker::with_config(
        BrokerConfig::default()
            .capacity(4)
            .max_topics(1)
            .max_idle_topics(0)
            .external_ids(PAIRS),
    );
    let publish = |topic: &str, id: u64| {
        broker
            .publish_with_id([topic], Event::message(topic), &format!("{id}-0"))
            .unwrap();
    };
    let mut a = sub(&broker, &["a"]);
    // "b" gets no slot (the one slot is "a", in use): the event is still taken, and delivered
    // to the subscribers it matches.
    broker
        .publish_with_id(["b", "a"], Event::message("both"), "1-0")
        .unwrap();
    publish("b", 2);
    assert_eq!(data(&mut a), ["both"]);
    drop(a);
    // Entries of the untracked "b" push the one of "a" out: "a" is idle, and goes.
    (3..=5).for_each(|id| publish("b", id));
    assert_eq!(broker.topic_count(), 0);
    // Now "b" has a slot. Evicting its entries from before must not count against it.
    let mut b = sub(&broker, &["b"]);
    for id in 6..=12 {
        publish("b", id);
        assert_eq!(data(&mut b), ["b"]);
    }
    drop(b);
    assert_eq!(broker.topic_count(), 1, "b still has entries in the window");
    (13..=16).for_each(|id| publish("c", id));
    assert_eq!(broker.topic_count(), 0, "b's entries are gone, so is b");
}

#[test]
fn with_external_ids_a_gap_is_signalled_to_live_and_resuming_subscribers() {
    let broker = external(8);
    let t = ticket(&broker, &["a"]);
    let quiet = ticket(&broker, &["quiet"]);
    let mut live = t.subscribe(None);
    broker
        .publish_with_id(["a"], Event::message("one"), "1-0")
        .unwrap();
    assert_eq!(data(&mut live), ["one"]);
    assert!(
        take_ready(&mut live).is_empty(),
        "caught up, waiting for events"
    );
    // The source lost events after 1-0: the waiting subscriber is told at once.
    broker.mark_gap();
    let got = decode(&take_ready(&mut live));
    assert_eq!(got, [("sse-reset".into(), "1-0".into(), "1-0".into())]);
    broker
        .publish_with_id(["a"], Event::message("two"), "5-0")
        .unwrap();
    assert_eq!(data(&mut live), ["two"], "one reset, then on");
    // Resuming from before the gap: a reset, then what follows the id (no duplicate).
    let mut s = t.subscribe(Some("1-0"));
    assert_eq!(s.resume(), BrokerResume::Reset);
    let got = decode(&take_ready(&mut s));
    assert_eq!(got[0], ("sse-reset".into(), "1-0".into(), "1-0".into()));
    assert_eq!(got[1..], [("message".into(), "5-0".into(), "two".into())]);
    // From after it: as usual.
    assert_eq!(t.subscribe(Some("5-0")).resume(), BrokerResume::Replayed);
    // A quiet topic's resume from before the gap can no longer be trusted.
    assert_eq!(quiet.subscribe(Some("1-0")).resume(), BrokerResume::Reset);
    // A broker of its own ids has no other source: nothing happens.
    let own = Broker::new();
    let mut s = sub(&own, &["a"]);
    own.mark_gap();
    own.publish(["a"], Event::message("x")).unwrap();
    assert_eq!(data(&mut s), ["x"]);
}

/// `size_hint`'s lower bound never promises a frame a poll would not return at once, through
/// publishes to other topics, evictions of its own events (a reset frame) and a resume reset.
#[test]
fn size_hint_counts_only_frames_that_are_ready() {
    let broker = Broker::with_config(BrokerConfig::default().capacity(4));
    let t = ticket(&broker, &["a", "p/*"]);
    let mut subs = vec![t.subscribe(None), t.subscribe(Some("no-such-id"))];
    let topics = [
        "a", "b", "p/1", "a", "c", "a", "a", "a", "a", "p/2", "b", "a",
    ];
    for (n, topic) in topics.iter().enumerate() {
        broker
            .publish([*topic], Event::message(n.to_string()))
            .unwrap();
        for sub in &mut subs {
            // Take what the hint promises (each must come at once), sometimes no more.
            for _ in 0..Stream::size_hint(sub).0 {
                assert!(sub.next().now_or_never().flatten().is_some(), "promised");
            }
            if n % 3 == 0 {
                let rest = take_ready(sub).len();
                assert_eq!(Stream::size_hint(sub).0, 0, "caught up after {rest} more");
            }
        }
    }
    // A subscriber that fell behind by more than the window: the hint covers the reset.
    let mut late = t.subscribe(None);
    for n in 0..10 {
        broker
            .publish(["a"], Event::message(n.to_string()))
            .unwrap();
    }
    assert!(late.next().now_or_never().flatten().is_some());
    let promised = Stream::size_hint(&late).0;
    let frames = take_ready(&mut late).len();
    assert!(promised <= frames, "{promised} promised, {frames} came");
}
