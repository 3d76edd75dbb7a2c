//! `ssekit_redis::RedisBroker` served by each adapter in one line: three instances on one Redis
//! stream, one on axum, one on actix-web, one on warp, each answering `admit_query`'s
//! rejections with its `Rejected` and serving the ticket with `Sse::from_broadcast`. A client
//! that hops from one to the next every few events, while events are published to several
//! topics, gets every event of its topics once, in order, and nothing else; a topic it is not
//! allowed is a 403 on each.
//!
//! Needs `redis-server` (the test starts its own on a free port).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use conformance::broker::{CookieUsers, topics_request as request};
use conformance::e2e::EventStream;
use conformance::events::message;
use conformance::redis_server::{RedisServer, entry_order};
use ssekit_proto::{Event, MessageEvent};
use ssekit_redis::{RedisBroker, RedisBrokerConfig, RedisBrokerSubscription};

const LIMIT: Duration = Duration::from_secs(20);

async fn broker(redis: &RedisServer) -> RedisBroker {
    let config = RedisBrokerConfig::new("adapters").block(Duration::from_millis(500));
    tokio::time::timeout(
        LIMIT,
        RedisBroker::connect_with_authorize(redis.client(), config, CookieUsers),
    )
    .await
    .expect("connect in time")
    .expect("connect")
}

async fn listener() -> (tokio::net::TcpListener, SocketAddr) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("address");
    (listener, addr)
}

/// The axum instance.
async fn serve_axum(broker: RedisBroker) -> (SocketAddr, tokio::task::JoinHandle<()>) {
    use axum::{Router, extract::State, routing::get};
    use ssekit_axum::{BrokerRequest, LastEventId, Rejected, Sse};

    async fn events(
        State(broker): State<RedisBroker>,
        BrokerRequest(request): BrokerRequest,
        last: LastEventId,
    ) -> Result<Sse<RedisBrokerSubscription>, Rejected> {
        let ticket = broker.admit_query(&request)?;
        Ok(Sse::from_broadcast(&ticket, &last))
    }

    let app = Router::new()
        .route("/events", get(events))
        .with_state(broker);
    let (listener, addr) = listener().await;
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (addr, task)
}

/// The actix-web instance.
fn serve_actix(broker: RedisBroker) -> (SocketAddr, actix_web::dev::ServerHandle) {
    use actix_web::{App, HttpServer, web};
    use ssekit_actix_web::{BrokerRequest, KeepAlive, LastEventId, Rejected, Sse};

    async fn events(
        BrokerRequest(request): BrokerRequest,
        last: LastEventId,
        broker: web::Data<RedisBroker>,
    ) -> Result<Sse<RedisBrokerSubscription>, Rejected> {
        let ticket = broker.admit_query(&request)?;
        // actix notices a client that went away when it next writes to it.
        Ok(Sse::from_broadcast(&ticket, &last)
            .keep_alive(KeepAlive::new().interval(Duration::from_millis(100))))
    }

    let data = web::Data::new(broker);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("address");
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .route("/events", web::get().to(events))
    })
    .workers(1)
    .disable_signals()
    .listen(listener)
    .expect("listen")
    .run();
    let handle = server.handle();
    tokio::spawn(server);
    (addr, handle)
}

/// The warp instance.
async fn serve_warp(broker: RedisBroker) -> (SocketAddr, tokio::task::JoinHandle<()>) {
    use ssekit_warp::{BrokerRequest, LastEventId, Rejected, Sse};
    use warp::Filter;
    use warp::reply::Reply;

    let route = warp::path("events")
        .and(warp::get())
        .and(ssekit_warp::broker_request())
        .and(ssekit_warp::last_event_id())
        .map(
            move |BrokerRequest(request), last: LastEventId| match broker.admit_query(&request) {
                Ok(ticket) => Sse::from_broadcast(&ticket, &last).into_response(),
                Err(rejection) => Rejected(rejection).into_response(),
            },
        );
    let (listener, addr) = listener().await;
    let task = tokio::spawn(warp::serve(route).incoming(listener).run());
    (addr, task)
}

const TOPIC_SETS: &[&[&str]] = &[
    &["rooms/1/chat"],
    &["users/7"],
    &["users/8"],
    &["rooms/2/chat", "users/7"],
    &["rooms/2/chat"],
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_adapter_serves_the_redis_broker_and_a_client_hops_across_them() {
    let redis = RedisServer::start();
    let (axum_addr, axum_task) = serve_axum(broker(&redis).await).await;
    let (actix_addr, actix_handle) = serve_actix(broker(&redis).await);
    let (warp_addr, warp_task) = serve_warp(broker(&redis).await).await;
    let instances = [axum_addr, actix_addr, warp_addr];

    // 403 before any stream on each: user 7 asking for user 8's notifications.
    for addr in instances {
        let response = tokio::time::timeout(LIMIT, request(&["users/8"], "7", None).send(addr))
            .await
            .expect("in time")
            .expect("response");
        assert_eq!(response.status, 403, "{addr}");
        assert_ne!(response.header("content-type"), Some("text/event-stream"));
    }

    let selectors = ["rooms/1/*", "users/7"];
    let publisher = broker(&redis).await;
    let mut client = EventStream::connect(instances[0], request(&selectors, "7", None)).await;
    let publishing = tokio::spawn(async move {
        let mut published: Vec<(Arc<str>, String, &[&str])> = Vec::new();
        for i in 0..150 {
            let topics = TOPIC_SETS[i % TOPIC_SETS.len()];
            let data = format!("{i}");
            let id = publisher
                .publish(topics, Event::message(data.clone()))
                .await
                .expect("publish");
            published.push((id, data, topics));
            if i % 5 == 0 {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        }
        published
    });
    // Its events: rooms/1/chat, and each users/7 one (3 in 5 of the cycle).
    let mine = (0..150)
        .filter(|i| [0, 1, 3].contains(&(i % TOPIC_SETS.len())))
        .count();
    let mut got: Vec<MessageEvent> = Vec::new();
    let (mut hops, mut on_this_connection) = (0, 0);
    while got.len() < mine {
        let events = client.take_some().await;
        on_this_connection += events.len();
        got.extend(events);
        if on_this_connection >= 8 && got.len() < mine {
            hops += 1;
            let last = got.last().map(|e| e.last_event_id().to_owned());
            drop(client);
            let next = request(&selectors, "7", last.as_deref());
            client = EventStream::connect(instances[hops % 3], next).await;
            on_this_connection = 0;
        }
    }
    let mut published = tokio::time::timeout(LIMIT, publishing)
        .await
        .expect("in time")
        .expect("publisher");
    published.sort_by_key(|(id, _, _)| entry_order(id));
    let expected: Vec<MessageEvent> = published
        .iter()
        .filter(|(_, _, topics)| {
            topics
                .iter()
                .any(|t| t.starts_with("rooms/1/") || *t == "users/7")
        })
        .map(|(id, data, _)| message(data, id))
        .collect();
    assert!(hops >= 6, "only {hops} hops");
    assert_eq!(got, expected, "after {hops} hops over axum, actix and warp");

    drop(client);
    actix_handle.stop(false).await;
    axum_task.abort();
    warp_task.abort();
}
