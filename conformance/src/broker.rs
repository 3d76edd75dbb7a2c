//! The topic broker over real HTTP: the broker every adapter's broker tests serve, and the
//! checks they share (authorization answered 403 before any stream, admission limits answered
//! 503 with `Retry-After`, a malformed selection 400, and one `Last-Event-ID` resuming several
//! topics). An adapter's test serves [`broker`] at `/broker` with
//! `Broker::admit_query`, maps a `Rejection` to its status (and `Retry-After`), and calls
//! [`check_broker`].

use std::net::SocketAddr;
use std::time::{SystemTime, UNIX_EPOCH};

use ssekit::broker::jwt::jsonwebtoken::{EncodingKey, Header, encode};
use ssekit::broker::jwt::{Claims, JwtAuthorize, MercureClaim};
use ssekit::broker::{Authorize, Broker, BrokerConfig, Denied, RequestInfo, Selection};
use ssekit_proto::Event;

use crate::e2e::{EventStream, fetch, wait_until, within_hub};
use crate::http::Request;
use ssekit_proto::MessageEvent;

/// An [`Authorize`] hook for tests of a chat: the user named by the `user` cookie may follow
/// every room (`rooms/*`) and their own notifications (`users/<user>`), and publish to rooms
/// and to their own notifications only.
#[derive(Debug, Clone, Copy, Default)]
pub struct CookieUsers;

impl Authorize for CookieUsers {
    fn subscribe(&self, request: &RequestInfo, asked: &Selection) -> Result<Selection, Denied> {
        let user = request.cookie("user").ok_or(Denied::MissingCredentials)?;
        let allowed = Selection::new(["rooms/*".to_owned(), format!("users/{user}")])
            .map_err(|e| Denied::InvalidCredentials(e.to_string()))?;
        let granted = asked.intersect(&allowed);
        if granted.is_empty() {
            return Err(Denied::NotAllowed("nothing asked for is allowed".into()));
        }
        Ok(granted)
    }

    fn publish(&self, request: &RequestInfo, topics: &[&str]) -> Result<(), Denied> {
        let user = request.cookie("user").ok_or(Denied::MissingCredentials)?;
        let own = format!("users/{user}");
        match topics.iter().all(|t| t.starts_with("rooms/") || **t == own) {
            true => Ok(()),
            false => Err(Denied::NotAllowed("another user's topic".into())),
        }
    }
}

/// The tests' own matcher (not the broker's), to compute what a subscriber should get: whether
/// an event of `topics` reaches a subscription of `selectors`, where a selector ending in `*`
/// matches the longer topics under its prefix.
pub fn selection_matches(selectors: &[&str], topics: &[&str]) -> bool {
    topics.iter().any(|topic| {
        selectors.iter().any(|s| match s.strip_suffix('*') {
            Some(prefix) => topic.len() > prefix.len() && topic.starts_with(prefix),
            None => s == topic,
        })
    })
}

/// `GET /events?topic=..&topic=..` as the [`CookieUsers`] user `user` (its `user` cookie),
/// resuming after `last_event_id` when given.
pub fn topics_request(selectors: &[&str], user: &str, last_event_id: Option<&str>) -> Request {
    let query: Vec<String> = selectors.iter().map(|s| format!("topic={s}")).collect();
    let mut request = Request::get(&format!("/events?{}", query.join("&")))
        .header("cookie", format!("user={user}"));
    if let Some(id) = last_event_id {
        request = request.header("last-event-id", id);
    }
    request
}

/// The HS256 secret of [`broker`]'s tokens.
pub const SECRET: &[u8] = b"conformance broker secret";

/// How many subscriptions one topic may have in [`broker`].
pub const PER_TOPIC: usize = 2;

/// The `Retry-After` of [`broker`]'s 503s, in seconds.
pub const RETRY_AFTER_SECS: u64 = 3;

/// A broker checking JWTs signed with [`SECRET`], at most [`PER_TOPIC`] subscriptions per
/// topic, 503s with a `Retry-After` of [`RETRY_AFTER_SECS`].
pub fn broker() -> Broker {
    let config = BrokerConfig::default()
        .max_subscribers_per_topic(PER_TOPIC)
        .retry_after(std::time::Duration::from_secs(RETRY_AFTER_SECS));
    Broker::with_authorize(config, JwtAuthorize::hs256(SECRET))
}

/// A token valid for an hour that may subscribe to `subscribe`.
pub fn token(subscribe: &[&str]) -> String {
    let exp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
        + 3600;
    let claims = Claims {
        exp: Some(exp),
        mercure: MercureClaim {
            subscribe: subscribe.iter().map(|s| (*s).to_owned()).collect(),
            publish: Vec::new(),
        },
    };
    encode(
        &Header::default(),
        &claims,
        &EncodingKey::from_secret(SECRET),
    )
    .expect("a token")
}

fn data(events: &[MessageEvent]) -> Vec<&str> {
    events.iter().map(MessageEvent::data).collect()
}

/// A request that is refused before any stream starts: `status`, and not an event stream.
async fn check_refused(addr: SocketAddr, request: Request, status: u16) -> crate::http::Response {
    let response = within_hub(request.send(addr)).await.expect("request");
    assert_eq!(response.status, status);
    assert_ne!(
        response.header("content-type"),
        Some("text/event-stream"),
        "a refused subscribe starts no stream"
    );
    response
}

/// The checks of a [`broker`] served at `/broker` (a fresh one: nothing published yet).
pub async fn check_broker(addr: SocketAddr, broker: &Broker) {
    let rooms = token(&["rooms/*", "users/7"]);
    let everything = token(&["*"]);

    // 400: no selection, or a malformed one.
    assert_eq!(fetch(addr, "/broker").await.status, 400);
    check_refused(addr, Request::get("/broker?topic=a*"), 400).await;
    // 403: no token, a forged one, or a topic the token does not cover.
    check_refused(addr, Request::get("/broker?topic=rooms/1"), 403).await;
    let forged = format!("/broker?topic=rooms/1&authorization={}x", &rooms);
    check_refused(addr, Request::get(&forged), 403).await;
    let other_user = format!("/broker?topic=users/8&authorization={rooms}");
    check_refused(addr, Request::get(&other_user), 403).await;
    assert_eq!(broker.subscription_count(), 0, "nothing was admitted");

    // A token in the query string (what an EventSource page can send): its topics only.
    let target = format!("/broker?topic=rooms/1/*&topic=users/7&authorization={rooms}");
    let mut client = EventStream::connect(addr, Request::get(&target)).await;
    for (topic, d) in [
        ("rooms/1/a", "r1"),
        ("users/8", "not yours"),
        ("users/7", "u7"),
    ] {
        broker.publish([topic], Event::message(d)).expect("publish");
    }
    assert_eq!(data(&client.take(2).await), ["r1", "u7"]);
    drop(client);
    wait_until(
        || broker.subscription_count() == 0,
        "the server to notice the disconnect",
    )
    .await;
    // Published while it was away, on both topics and elsewhere.
    for (topic, d) in [("rooms/1/b", "r2"), ("rooms/2/a", "no"), ("users/7", "u7b")] {
        broker.publish([topic], Event::message(d)).expect("publish");
    }
    // It comes back with the one id it last saw (3), the token in the Authorization header.
    let target = "/broker?topic=rooms/1/*&topic=users/7";
    let request = Request::get(target)
        .header("Authorization", format!("Bearer {rooms}"))
        .header("Last-Event-ID", "3");
    let mut client = EventStream::connect(addr, request).await;
    let got = client.take(2).await;
    assert_eq!(data(&got), ["r2", "u7b"]);
    assert_eq!(
        got[1].last_event_id(),
        "6",
        "ids are the broker's one sequence"
    );
    broker
        .publish(["users/7"], Event::message("live"))
        .expect("publish");
    assert_eq!(data(&client.take(1).await), ["live"]);

    // A token in a cookie.
    let request = Request::get("/broker?topic=users/7")
        .header("Cookie", format!("mercureAuthorization={rooms}"));
    let _cookie = EventStream::connect(addr, request).await;

    // 503 with Retry-After past the per-topic limit.
    let full = format!("/broker?topic=full&authorization={everything}");
    let mut held = Vec::new();
    for _ in 0..PER_TOPIC {
        held.push(EventStream::connect(addr, Request::get(&full)).await);
    }
    let response = check_refused(addr, Request::get(&full), 503).await;
    assert_eq!(
        response.header("retry-after"),
        Some(RETRY_AFTER_SECS.to_string().as_str())
    );
    assert_eq!(broker.subscribers_of("full"), PER_TOPIC);
}
