//! The edge over real sockets on 127.0.0.1: the hub's end-to-end checks every adapter passes,
//! the response head, keep-alive, a closed peer, a stalled reader's socket closed, the broker's
//! admission, and hostile heads (too long, too slow, not a stream's, pipelined).

use std::net::SocketAddr;
use std::time::Duration;

use conformance::e2e::{self, EventStream, check_hub_burst, check_hub_replay, hub_subscribers};
use conformance::http::Request;
use ssekit::broker::{Broker, BrokerConfig};
use ssekit::edge::{Edge, EdgeConfig};
use ssekit::hub::{Hub, HubConfig};
use ssekit::{Event, KeepAlive, Shutdown};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Serves `edge` (streams only) on a fresh port; the server stops with the returned handle.
async fn start(edge: Edge) -> (SocketAddr, Shutdown) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let shutdown = Shutdown::new();
    let edge = edge.shutdown_on(shutdown.signal());
    tokio::spawn(edge.serve_streams(listener));
    (addr, shutdown)
}

/// Everything the peer sends until it closes (or `limit` passes).
async fn read_until_closed(socket: &mut TcpStream) -> Vec<u8> {
    let mut all = Vec::new();
    let _ = e2e::within(async {
        let mut buf = [0u8; 4096];
        loop {
            match socket.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => all.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    all
}

async fn raw(addr: SocketAddr, request: &[u8]) -> Vec<u8> {
    let mut socket = TcpStream::connect(addr).await.expect("connect");
    socket.write_all(request).await.expect("write");
    read_until_closed(&mut socket).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hub_replays_and_goes_live_over_the_edge() {
    let hub = Hub::new();
    let (addr, _shutdown) = start(Edge::new().stream_route("/events", hub.clone())).await;
    check_hub_replay(addr, &hub).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_reaches_every_reader_over_the_edge() {
    let hub = Hub::new();
    let (addr, _shutdown) = start(Edge::new().stream_route("/events", hub.clone())).await;
    check_hub_burst(addr, &hub).await;
}

#[tokio::test]
async fn the_response_head_is_the_adapters_close_delimited() {
    let hub = Hub::new();
    let (addr, _shutdown) = start(Edge::new().stream_route("/events", hub.clone())).await;
    let mut response = e2e::fetch(addr, "/events").await;
    assert_eq!(response.status, 200);
    for (name, value) in ssekit::headers::RESPONSE_HEADERS {
        assert_eq!(response.header(name), Some(value), "{name}");
    }
    assert_eq!(response.header("connection"), Some("close"));
    assert_eq!(response.header("transfer-encoding"), None);
    assert_eq!(response.header("content-length"), None);
    hub_subscribers(&hub, 1).await;
    hub.publish(Event::message("one"));
    let chunk = e2e::within(response.chunk()).await.expect("read");
    assert_eq!(chunk.as_deref(), Some(&b"id: 1\ndata: one\n\n"[..]));
}

#[tokio::test]
async fn an_idle_stream_gets_keep_alive_comments_from_the_sweep() {
    let hub = Hub::new();
    let config = EdgeConfig::new().keep_alive(KeepAlive::new().interval(Duration::from_millis(50)));
    let (addr, _shutdown) =
        start(Edge::with_config(config).stream_route("/events", hub.clone())).await;
    let mut response = e2e::fetch(addr, "/events").await;
    let mut body = Vec::new();
    e2e::within(async {
        while body.len() < 3 * b":\n\n".len() {
            body.extend(response.chunk().await.expect("read").expect("open"));
        }
    })
    .await;
    assert!(body.starts_with(b":\n\n:\n\n"), "{body:?}");
}

#[tokio::test]
async fn a_closed_peer_frees_its_subscription_at_once() {
    let hub = Hub::new();
    let edge = Edge::new().stream_route("/events", hub.clone());
    let (addr, _shutdown) = start(edge.clone()).await;
    let stream = EventStream::connect(addr, Request::get("/events")).await;
    hub_subscribers(&hub, 1).await;
    assert_eq!(edge.subscribers(), 1);
    drop(stream);
    // No publish needed: the reactor sees the end of stream and drops the subscription.
    hub_subscribers(&hub, 0).await;
    e2e::wait_until(|| edge.subscribers() == 0, "the slot freed").await;
}

/// The server-side socket of the connection whose client end is `client`, as a line of
/// `/proc/net/tcp` (local address and port, remote address and port, in hex).
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_that_never_reads_loses_its_socket() {
    let hub = Hub::with_config(HubConfig::default().stall_timeout(Duration::from_millis(200)));
    let config = EdgeConfig::new().stall_timeout(Duration::from_millis(300));
    let edge = Edge::with_config(config).stream_route("/events", hub.clone());
    let (addr, _shutdown) = start(edge.clone()).await;
    let socket = TcpStream::connect(addr).await.expect("connect");
    socket.set_nodelay(true).expect("nodelay");
    let client = socket.local_addr().expect("addr");
    let mut socket = socket;
    socket
        .write_all(b"GET /events HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .expect("write");
    hub_subscribers(&hub, 1).await;
    assert!(server_socket_exists(addr, client));
    // Megabytes it never reads: the socket buffers fill, the edge parks the rest, and the
    // stall timeout closes the connection (with a reset: no send queue left behind).
    let padding = "x".repeat(16 * 1024);
    e2e::within(async {
        let mut i = 0;
        while edge.subscribers() > 0 {
            for _ in 0..64 {
                hub.publish(Event::message(format!("{i} {padding}")));
                i += 1;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    hub_subscribers(&hub, 0).await;
    e2e::wait_until(
        || !server_socket_exists(addr, client),
        "the server's socket gone from /proc/net/tcp",
    )
    .await;
    drop(socket);
}

#[tokio::test]
async fn the_broker_admits_and_refuses_over_the_edge() {
    let broker = Broker::with_config(BrokerConfig::default().max_subscriptions(1));
    let admitting = broker.clone();
    let edge =
        Edge::new().stream_route_with("/events", move |request| admitting.admit_query(request));
    let (addr, _shutdown) = start(edge).await;

    let mut stream = EventStream::connect(addr, Request::get("/events?topic=a")).await;
    e2e::wait_until(|| broker.subscription_count() == 1, "admitted").await;
    broker
        .publish(["a"], Event::message("to a"))
        .expect("publish");
    let got = stream.take(1).await;
    assert_eq!(got[0].data(), "to a");

    // The limit is reached: 503 with Retry-After, as the adapters answer it.
    let response = e2e::fetch(addr, "/events?topic=a").await;
    assert_eq!(response.status, 503);
    assert!(response.header("retry-after").is_some());
    // A malformed selection: 400.
    drop(stream);
    e2e::wait_until(|| broker.subscription_count() == 0, "released").await;
    let response = e2e::fetch(addr, "/events").await;
    assert_eq!(response.status, 400);
}

#[tokio::test]
async fn a_head_over_the_limit_gets_431() {
    let hub = Hub::new();
    let config = EdgeConfig::new().head_limit(1024);
    let (addr, _shutdown) = start(Edge::with_config(config).stream_route("/events", hub)).await;
    let mut request = b"GET /events HTTP/1.1\r\nx-long: ".to_vec();
    request.extend(std::iter::repeat_n(b'a', 2048));
    request.extend_from_slice(b"\r\n\r\n");
    let answer = raw(addr, &request).await;
    assert!(
        answer.starts_with(b"HTTP/1.1 431 "),
        "{:?}",
        String::from_utf8_lossy(&answer)
    );
}

#[tokio::test]
async fn a_slow_head_is_closed_at_the_deadline() {
    let hub = Hub::new();
    let config = EdgeConfig::new().head_timeout(Duration::from_millis(200));
    let (addr, _shutdown) = start(Edge::with_config(config).stream_route("/events", hub)).await;
    let mut slow = TcpStream::connect(addr).await.expect("connect");
    let started = tokio::time::Instant::now();
    slow.write_all(b"GET /events HTTP/1.1\r\n")
        .await
        .expect("write");
    // One byte at a time, never finishing: closed without an answer.
    let closed = async {
        let mut buf = [0u8; 64];
        loop {
            let _ = slow.write_all(b"x").await;
            match tokio::time::timeout(Duration::from_millis(50), slow.read(&mut buf)).await {
                Ok(Ok(0)) | Ok(Err(_)) => return,
                Ok(Ok(_)) => panic!("answered a slow head"),
                Err(_) => {}
            }
        }
    };
    e2e::within(closed).await;
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(150), "{took:?}");
    // Meanwhile a normal request is served.
    let response = e2e::fetch(addr, "/events").await;
    assert_eq!(response.status, 200);
}

#[tokio::test]
async fn a_stream_only_listener_refuses_what_is_not_a_stream() {
    let hub = Hub::new();
    let (addr, _shutdown) = start(Edge::new().stream_route("/events", hub)).await;
    for (request, status) in [
        (&b"GET /other HTTP/1.1\r\n\r\n"[..], "404"),
        (b"POST /events HTTP/1.1\r\ncontent-length: 0\r\n\r\n", "405"),
        (b"GET /events HTTP/1.1\r\nupgrade: websocket\r\n\r\n", "400"),
        (b"GET /events HTTP/1.1\r\nBad Header\r\n\r\n", "400"),
    ] {
        let answer = raw(addr, request).await;
        let expected = format!("HTTP/1.1 {status} ");
        assert!(
            answer.starts_with(expected.as_bytes()),
            "{:?} -> {:?}",
            String::from_utf8_lossy(request),
            String::from_utf8_lossy(&answer)
        );
    }
}

#[tokio::test]
async fn pipelined_bytes_after_a_stream_request_are_ignored() {
    let hub = Hub::new();
    let (addr, _shutdown) = start(Edge::new().stream_route("/events", hub.clone())).await;
    let mut socket = TcpStream::connect(addr).await.expect("connect");
    socket
        .write_all(b"GET /events HTTP/1.1\r\n\r\nGET /other HTTP/1.1\r\n\r\n")
        .await
        .expect("write");
    hub_subscribers(&hub, 1).await;
    socket.write_all(b"more junk").await.expect("write");
    hub.publish(Event::message("one"));
    let mut got = Vec::new();
    e2e::within(async {
        let mut buf = [0u8; 1024];
        while !got.ends_with(b"data: one\n\n") {
            let n = socket.read(&mut buf).await.expect("read");
            assert!(n > 0, "closed");
            got.extend_from_slice(&buf[..n]);
        }
    })
    .await;
    let text = String::from_utf8_lossy(&got);
    assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
    assert_eq!(text.matches("HTTP/1.1").count(), 1, "{text}");
}

#[tokio::test]
async fn shutdown_ends_every_stream() {
    let hub = Hub::new();
    let (addr, shutdown) = start(Edge::new().stream_route("/events", hub.clone())).await;
    let mut response = e2e::fetch(addr, "/events").await;
    hub_subscribers(&hub, 1).await;
    shutdown.trigger();
    let (_, end) = e2e::within(response.read_to_end()).await;
    // Close-delimited: the close is the body's end.
    assert_eq!(end, conformance::http::BodyEnd::Complete);
    hub_subscribers(&hub, 0).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_on_the_edge_ends_when_its_token_expires() {
    use jsonwebtoken::{EncodingKey, Header, encode};
    use ssekit::broker::jwt::{Claims, JwtAuthorize, MercureClaim};
    const SECRET: &[u8] = b"edge secret";
    let broker = Broker::with_authorize(BrokerConfig::default(), JwtAuthorize::hs256(SECRET));
    let admitting = broker.clone();
    let edge =
        Edge::new().stream_route_with("/events", move |request| admitting.admit_query(request));
    let (addr, _shutdown) = start(edge).await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs();
    let claims = Claims {
        exp: Some(now + 2),
        mercure: MercureClaim {
            subscribe: vec!["rooms/*".into()],
            publish: vec![],
        },
    };
    let token = encode(
        &Header::default(),
        &claims,
        &EncodingKey::from_secret(SECRET),
    )
    .expect("encodes");
    let mut response = e2e::fetch(
        addr,
        &format!("/events?topic=rooms/1&authorization={token}"),
    )
    .await;
    assert_eq!(response.status, 200);
    e2e::wait_until(|| broker.subscription_count() == 1, "admitted").await;
    // No publish: the broker's expiry task ends the stream, and the edge closes the socket.
    let (_, end) = e2e::within(response.read_to_end()).await;
    assert_eq!(end, conformance::http::BodyEnd::Complete);
    assert_eq!(broker.subscription_count(), 0);
}

#[tokio::test]
async fn a_route_added_after_a_clone_keeps_the_routes_before_it() {
    let (first, second) = (Hub::new(), Hub::new());
    let edge = Edge::new().stream_route("/first", first.clone());
    let earlier = edge.clone();
    let edge = edge.stream_route("/second", second.clone());
    drop(earlier);
    let (addr, _shutdown) = start(edge).await;
    for (path, hub) in [("/first", &first), ("/second", &second)] {
        let response = e2e::fetch(addr, path).await;
        assert_eq!(response.status, 200, "{path}");
        hub_subscribers(hub, 1).await;
        drop(response);
        hub_subscribers(hub, 0).await;
    }
}
