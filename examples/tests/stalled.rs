//! A subscriber that never reads loses its connection, on every adapter: the hub's stall rule
//! ends its subscription, and the socket's send timeout (`examples::server::limit_unsent`,
//! `TCP_USER_TIMEOUT`) closes the connection, which hyper (axum, warp) and actix-web cannot
//! see otherwise (they stop polling the body once the socket does not drain). Checked in
//! `/proc/net/tcp`: the server's socket is gone.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::routing::get;
use examples::server;
use ssekit::Event;
use ssekit::hub::{Hub, HubConfig};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use warp::Filter;

/// The send timeout of the test servers.
const SEND_TIMEOUT: Duration = Duration::from_secs(1);

/// Whether the server-side socket of the connection from `client` to `server` is in
/// `/proc/net/tcp` (in any state): local and remote address and port, in hex. (As
/// `ssekit/tests/edge.rs` checks the edge.)
fn server_socket_exists(server: SocketAddr, client: SocketAddr) -> bool {
    let hex = |addr: SocketAddr| {
        let SocketAddr::V4(v4) = addr else {
            unreachable!("the tests bind IPv4")
        };
        format!(
            "{:08X}:{:04X}",
            u32::from_le_bytes(v4.ip().octets()),
            v4.port()
        )
    };
    let (local, remote) = (hex(server), hex(client));
    let table = std::fs::read_to_string("/proc/net/tcp").unwrap_or_default();
    table.lines().any(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        fields.len() > 2 && fields[1] == local && fields[2] == remote
    })
}

fn stalling_hub() -> Hub {
    Hub::with_config(
        HubConfig::default()
            .max_lag(64)
            .stall_timeout(Duration::from_millis(200)),
    )
}

/// Subscribes a client that never reads to `addr`'s `/events`, publishes 16 KiB events until
/// the stall rule ends its subscription, then waits for the server's socket to go.
async fn never_reads(name: &str, addr: SocketAddr, hub: &Hub) {
    let mut socket = TcpStream::connect(addr).await.expect("connect");
    let client = socket.local_addr().expect("addr");
    socket
        .write_all(b"GET /events HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .expect("write");
    let start = Instant::now();
    while hub.subscriber_count() == 0 {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "{name}: no subscriber"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(server_socket_exists(addr, client), "{name}");
    let padding = "x".repeat(16 * 1024);
    while hub.subscriber_count() > 0 {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "{name}: the stall rule did not fire"
        );
        hub.publish(Event::message(padding.clone()));
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let stalled = Instant::now();
    while server_socket_exists(addr, client) {
        assert!(
            stalled.elapsed() < SEND_TIMEOUT * 10,
            "{name}: the server's socket is still there {:?} after the stall",
            stalled.elapsed()
        );
        hub.publish(Event::message("more"));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    drop(socket);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn axum_closes_the_connection_of_a_stalled_subscriber() {
    let hub = stalling_hub();
    let app = axum::Router::new()
        .route(
            "/events",
            get(
                |axum::extract::State(hub): axum::extract::State<Hub>,
                 last: ssekit_axum::LastEventId| async move {
                    ssekit_axum::Sse::from_broadcast(&hub, &last)
                },
            ),
        )
        .with_state(hub.clone());
    let listener = examples::bind("127.0.0.1:0".parse().expect("addr")).expect("bind");
    let addr = listener.local_addr().expect("addr");
    let shutdown = ssekit::Shutdown::new();
    let served = tokio::spawn(server::serve_timeouts(
        listener,
        app,
        shutdown.signal(),
        server::HEAD_TIMEOUT,
        SEND_TIMEOUT,
    ));
    never_reads("axum", addr, &hub).await;
    shutdown.trigger();
    served.await.expect("join").expect("served");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn warp_closes_the_connection_of_a_stalled_subscriber() {
    let hub = stalling_hub();
    let routes = {
        let hub = hub.clone();
        warp::path("events").and(ssekit_warp::last_event_id()).map(
            move |last: ssekit_warp::LastEventId| ssekit_warp::Sse::from_broadcast(&hub, &last),
        )
    };
    let listener = examples::bind("127.0.0.1:0".parse().expect("addr")).expect("bind");
    let addr = listener.local_addr().expect("addr");
    let shutdown = ssekit::Shutdown::new();
    let served = tokio::spawn(server::serve_timeouts(
        listener,
        warp::service(routes),
        shutdown.signal(),
        server::HEAD_TIMEOUT,
        SEND_TIMEOUT,
    ));
    never_reads("warp", addr, &hub).await;
    shutdown.trigger();
    served.await.expect("join").expect("served");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actix_closes_the_connection_of_a_stalled_subscriber() {
    use actix_web::{App, HttpServer, web};

    let hub = stalling_hub();
    let listener = examples::bind("127.0.0.1:0".parse().expect("addr")).expect("bind");
    let addr = listener.local_addr().expect("addr");
    let data = web::Data::new(hub.clone());
    let server = HttpServer::new(move || {
        App::new().app_data(data.clone()).route(
            "/events",
            web::get().to(
                |hub: web::Data<Hub>, last: ssekit_actix_web::LastEventId| async move {
                    ssekit_actix_web::Sse::from_broadcast(hub.get_ref(), &last)
                },
            ),
        )
    })
    .workers(1)
    .disable_signals()
    .shutdown_timeout(1)
    .on_connect(|connection, _| {
        if let Some(tcp) = connection.downcast_ref::<actix_web::rt::net::TcpStream>() {
            server::limit_unsent(tcp, SEND_TIMEOUT).expect("TCP_USER_TIMEOUT");
        }
    })
    .listen(listener)
    .expect("listen")
    .run();
    let handle = server.handle();
    let served = tokio::spawn(server);
    never_reads("actix-web", addr, &hub).await;
    handle.stop(true).await;
    served.await.expect("join").expect("served");
}

/// A hub with one subscription served by a body (`poll` polls it for its next frame), polled
/// once, then left behind by 5000 events: the stall rule ends the subscription (the hub's
/// sweep) while the body is not polled; the body must then end with an error, not cleanly.
async fn stalled_body(
    name: &str,
    hub: &Hub,
    mut poll: impl FnMut(&mut std::task::Context<'_>) -> std::task::Poll<Option<Result<(), String>>>,
) {
    hub.publish(Event::message("first"));
    let first = std::future::poll_fn(&mut poll).await;
    assert!(matches!(first, Some(Ok(()))), "{name}: the first frame");
    for i in 0..5000 {
        hub.publish(Event::message(i.to_string()));
    }
    assert_eq!(hub.subscriber_count(), 0, "{name}: the stall rule ended it");
    // The frames taken before the end may still come; then an error.
    loop {
        match std::future::poll_fn(&mut poll).await {
            Some(Ok(())) => continue,
            Some(Err(error)) => {
                assert!(error.contains("stalled"), "{name}: {error}");
                break;
            }
            None => panic!("{name}: the body ended cleanly after a stall"),
        }
    }
}

fn strict_hub() -> Hub {
    Hub::with_config(
        HubConfig::default()
            .capacity(64)
            .max_lag(32)
            .stall_timeout(Duration::ZERO),
    )
}

#[tokio::test]
async fn every_adapters_body_ends_with_an_error_after_the_stall_rule() {
    use std::pin::Pin;

    use http_body::Body as _;

    // axum
    let hub = strict_hub();
    let response = axum::response::IntoResponse::into_response(ssekit_axum::Sse::from_broadcast(
        &hub,
        &ssekit_axum::LastEventId(None),
    ));
    let mut body = response.into_body();
    stalled_body("axum", &hub, |cx| {
        Pin::new(&mut body)
            .poll_frame(cx)
            .map(|frame| frame.map(|f| f.map(drop).map_err(|e| e.to_string())))
    })
    .await;

    // warp
    let hub = strict_hub();
    let response = warp::Reply::into_response(ssekit_warp::Sse::from_broadcast(
        &hub,
        &ssekit_warp::LastEventId(None),
    ));
    let mut body = response.into_body();
    stalled_body("warp", &hub, |cx| {
        Pin::new(&mut body)
            .poll_frame(cx)
            .map(|frame| frame.map(|f| f.map(drop).map_err(|e| e.to_string())))
    })
    .await;

    // actix-web
    let hub = strict_hub();
    let request = actix_web::test::TestRequest::default().to_http_request();
    let response = actix_web::Responder::respond_to(
        ssekit_actix_web::Sse::from_broadcast(&hub, &ssekit_actix_web::LastEventId(None)),
        &request,
    );
    let mut body = Box::pin(response.into_body());
    stalled_body("actix-web", &hub, |cx| {
        actix_web::body::MessageBody::poll_next(body.as_mut(), cx)
            .map(|chunk| chunk.map(|c| c.map(drop).map_err(|e| e.to_string())))
    })
    .await;
}
