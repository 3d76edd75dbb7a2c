//! End to end: a real axum server on 127.0.0.1, a real HTTP client (`conformance::http`, and
//! `h2` for HTTP/2), the event stream parsed back with `sse_core::Parser`.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::get;
use bytes::Bytes;
use conformance::http::{BodyEnd, Request, Response};
use conformance::replay::{check_replay, replay_events};
use futures_util::stream::{self, StreamExt};
use sse_axum::{Event, EventError, KeepAlive, LastEventId, Shutdown, Sse};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

const LIMIT: Duration = Duration::from_secs(5);

/// Awaits `future`, failing the test after [`LIMIT`].
async fn within<F: Future>(future: F) -> F::Output {
    tokio::time::timeout(LIMIT, future)
        .await
        .expect("timed out")
}

/// A server on 127.0.0.1, port 0, stopped by its [`Shutdown`].
struct Server {
    addr: SocketAddr,
    shutdown: Shutdown,
    task: JoinHandle<std::io::Result<()>>,
}

impl Server {
    async fn start(app: Router<Shutdown>) -> Server {
        let shutdown = Shutdown::new();
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local address");
        let app = app.with_state(shutdown.clone());
        let signal = shutdown.signal();
        let task = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(signal)
                .await
        });
        Server {
            addr,
            shutdown,
            task,
        }
    }

    async fn get(&self, target: &str) -> Response {
        within(Request::get(target).send(self.addr))
            .await
            .expect("request")
    }

    /// Triggers the shutdown and waits for the server to finish (every stream must end).
    async fn stop(self) {
        self.shutdown.trigger();
        within(self.task)
            .await
            .expect("server task")
            .expect("server");
    }
}

fn once(event: Event) -> impl futures_util::Stream<Item = Result<Event, Infallible>> {
    stream::iter([Ok(event)])
}

#[tokio::test]
async fn headers_on_http_1_1() {
    let app = Router::new().route("/", get(|| async { Sse::new(once(Event::message("hi"))) }));
    let server = Server::start(app).await;

    let mut response = server.get("/").await;
    assert_eq!(response.status, 200);
    assert_eq!(response.version, "HTTP/1.1");
    for (name, value) in sse_core::server::RESPONSE_HEADERS {
        assert_eq!(response.header(name), Some(value), "{name}");
    }
    assert_eq!(response.header("connection"), Some("keep-alive"));
    assert_eq!(response.header("transfer-encoding"), Some("chunked"));
    assert_eq!(
        within(response.read_to_end()).await,
        (b"data: hi\n\n".to_vec(), BodyEnd::Complete)
    );
    server.stop().await;
}

#[tokio::test]
async fn http_1_0_gets_a_close_delimited_stream() {
    let app = Router::new().route("/", get(|| async { Sse::new(once(Event::message("hi"))) }));
    let server = Server::start(app).await;

    let mut response = within(Request::get("/").http_1_0().send(server.addr))
        .await
        .unwrap();
    assert_eq!(response.status, 200);
    assert_eq!(response.version, "HTTP/1.0");
    assert_eq!(response.header("content-type"), Some("text/event-stream"));
    assert_eq!(response.header("transfer-encoding"), None);
    // The body ends with the connection, which hyper closes after it.
    assert_eq!(
        within(response.read_to_end()).await,
        (b"data: hi\n\n".to_vec(), BodyEnd::Complete)
    );
    server.stop().await;
}

#[tokio::test]
async fn no_connection_header_on_http_2() {
    let app = Router::new().route("/", get(|| async { Sse::new(once(Event::message("hi"))) }));
    let server = Server::start(app).await;

    let tcp = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let (mut client, connection) = within(h2::client::handshake(tcp)).await.unwrap();
    let connection = tokio::spawn(connection);
    let request = axum::http::Request::get(format!("http://{}/", server.addr))
        .body(())
        .unwrap();
    let (response, _) = client.send_request(request, true).unwrap();
    let response = within(response).await.unwrap();
    assert_eq!(response.version(), axum::http::Version::HTTP_2);
    let headers = response.headers();
    for (name, value) in sse_core::server::RESPONSE_HEADERS {
        assert_eq!(headers.get(name).unwrap(), value, "{name}");
    }
    assert!(headers.get("connection").is_none());
    let mut body = response.into_body();
    let mut received = Vec::new();
    while let Some(data) = within(body.data()).await {
        let data = data.unwrap();
        let _ = body.flow_control().release_capacity(data.len());
        received.extend_from_slice(&data);
    }
    assert_eq!(received, b"data: hi\n\n");
    drop((body, client));
    within(connection).await.unwrap().unwrap();
    server.stop().await;
}

#[tokio::test]
async fn pre_encoded_frames_pass_through() {
    let app = Router::new().route(
        "/",
        get(|| async {
            Sse::new(stream::iter([Ok::<_, Infallible>(Bytes::from_static(
                b"id: 1\ndata: pre\n\n",
            ))]))
        }),
    );
    let server = Server::start(app).await;
    let mut response = server.get("/").await;
    assert_eq!(
        within(response.read_to_end()).await,
        (b"id: 1\ndata: pre\n\n".to_vec(), BodyEnd::Complete)
    );
    server.stop().await;
}

#[tokio::test]
async fn every_conformance_vector_round_trips() {
    let vectors = conformance::vectors();
    let replays: Vec<Option<Vec<Event>>> = vectors.iter().map(|v| replay_events(v).ok()).collect();
    let replays = Arc::new(replays);
    let app = Router::new().route(
        "/vector/{index}",
        get(move |Path(index): Path<usize>| {
            let events = replays[index].clone().unwrap_or_default();
            async move { Sse::new(stream::iter(events).map(Ok::<_, Infallible>)).no_keep_alive() }
        }),
    );
    let server = Server::start(app).await;

    let mut served = 0;
    let mut failures = Vec::new();
    for (index, vector) in vectors.iter().enumerate() {
        if replay_events(vector).is_err() {
            continue;
        }
        let mut response = server.get(&format!("/vector/{index}")).await;
        let (body, end) = within(response.read_to_end()).await;
        assert_eq!(end, BodyEnd::Complete, "{}", vector.name);
        if let Err(e) = check_replay(vector, &body) {
            failures.push(e);
        }
        served += 1;
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(
        served * 2 > vectors.len(),
        "served only {served} of {}",
        vectors.len()
    );
    eprintln!(
        "{served} of {} vectors served and parsed back",
        vectors.len()
    );
    server.stop().await;
}

#[tokio::test]
async fn keep_alive_on_an_idle_stream() {
    let app = Router::new().route(
        "/",
        get(|State(shutdown): State<Shutdown>| async move {
            Sse::new(stream::pending::<Result<Event, Infallible>>())
                .keep_alive(KeepAlive::new().interval(Duration::from_millis(50)))
                .shutdown_on(shutdown.signal())
        }),
    );
    let server = Server::start(app).await;

    let mut response = server.get("/").await;
    let mut received = Vec::new();
    while received.len() < 3 * sse_core::KEEP_ALIVE.len() {
        let chunk = within(response.chunk()).await.unwrap().unwrap();
        received.extend_from_slice(&chunk);
    }
    assert_eq!(received, sse_core::KEEP_ALIVE.repeat(3));
    drop(response);
    server.stop().await;
}

/// Counts live streams: created with one, dropped with the stream that owns it.
struct Guard(Arc<AtomicUsize>);

impl Guard {
    fn new(live: &Arc<AtomicUsize>) -> Guard {
        live.fetch_add(1, Ordering::SeqCst);
        Guard(live.clone())
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

#[tokio::test]
async fn client_disconnect_drops_the_stream() {
    let live = Arc::new(AtomicUsize::new(0));
    let app = Router::new().route(
        "/",
        get({
            let live = live.clone();
            move || async move {
                let guard = Guard::new(&live);
                let events = stream::pending::<Result<Event, Infallible>>().map(move |item| {
                    let _owned = &guard;
                    item
                });
                Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_millis(100)))
            }
        }),
    );
    let server = Server::start(app).await;

    let mut response = server.get("/").await;
    let first = within(response.chunk()).await.unwrap().unwrap();
    assert_eq!(first, sse_core::KEEP_ALIVE);
    assert_eq!(live.load(Ordering::SeqCst), 1);
    drop(response);
    within(async {
        while live.load(Ordering::SeqCst) != 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    server.stop().await;
}

#[tokio::test]
async fn injected_event_name_ends_the_stream() {
    assert!(matches!(
        Event::builder().event("a\nb").build(),
        Err(EventError::EventNameContainsNewline)
    ));
    let app = Router::new().route(
        "/",
        get(|| async {
            // The bad event comes a little later, so that the first one is on the wire.
            let bad = async {
                tokio::time::sleep(Duration::from_millis(50)).await;
                Event::builder().event("a\nb").data("x").build()
            };
            let events = stream::iter([Event::builder().data("before").build()])
                .chain(stream::once(bad))
                .chain(stream::iter([Event::builder().data("after").build()]));
            Sse::new(events)
        }),
    );
    let server = Server::start(app).await;

    let mut response = server.get("/").await;
    let (body, end) = within(response.read_to_end()).await;
    // hyper aborts the body on the error: the client sees a cut stream.
    assert_eq!(end, BodyEnd::Aborted);
    assert_eq!(body, b"data: before\n\n");
    // The server is still serving.
    let mut again = server.get("/").await;
    assert_eq!(within(again.read_to_end()).await.0, b"data: before\n\n");
    server.stop().await;
}

#[tokio::test]
async fn last_event_id_from_header_or_query() {
    let app = Router::new().route(
        "/id",
        get(|LastEventId(id): LastEventId| async move { format!("{id:?}") }),
    );
    let server = Server::start(app).await;
    let id = async |request: Request| {
        let mut response = within(request.send(server.addr)).await.unwrap();
        assert_eq!(response.status, 200);
        let (body, end) = within(response.read_to_end()).await;
        assert_eq!(end, BodyEnd::Complete);
        String::from_utf8(body).unwrap()
    };

    assert_eq!(
        id(Request::get("/id").header("Last-Event-ID", "42")).await,
        r#"Some("42")"#
    );
    assert_eq!(id(Request::get("/id")).await, "None");
    assert_eq!(
        id(Request::get("/id?lastEventId=7%20x")).await,
        r#"Some("7 x")"#
    );
    assert_eq!(
        id(Request::get("/id?lastEventId=7").header("last-event-id", "8")).await,
        r#"Some("8")"#
    );
    assert_eq!(
        id(Request::get("/id").header("last-event-id", "é€")).await,
        r#"Some("é€")"#
    );
    let too_long = "1".repeat(sse_core::server::MAX_LAST_EVENT_ID_LEN + 1);
    assert_eq!(
        id(Request::get("/id").header("last-event-id", &too_long)).await,
        "None"
    );
    assert_eq!(
        id(Request::get(&format!("/id?lastEventId={too_long}"))).await,
        "None"
    );
    assert_eq!(
        id(Request::get("/id").header("last-event-id", b"\xff")).await,
        "None"
    );
    assert_eq!(
        id(Request::get("/id").header("last-event-id", "")).await,
        "None"
    );
    assert_eq!(id(Request::get("/id?lastEventId=a%0Ab")).await, "None");
    server.stop().await;
}

#[tokio::test]
async fn shutdown_ends_open_streams() {
    let app = Router::new().route(
        "/",
        get(|State(shutdown): State<Shutdown>| async move {
            Sse::new(stream::pending::<Result<Event, Infallible>>())
                .keep_alive(KeepAlive::new().interval(Duration::from_millis(50)))
                .shutdown_on(shutdown.signal())
        }),
    );
    let server = Server::start(app).await;

    let mut response = server.get("/").await;
    assert_eq!(
        within(response.chunk()).await.unwrap().unwrap(),
        sse_core::KEEP_ALIVE
    );
    server.shutdown.trigger();
    let (_, end) = within(response.read_to_end()).await;
    assert_eq!(end, BodyEnd::Complete);
    // The graceful shutdown completes although the client is still connected.
    within(server.task).await.unwrap().unwrap();
}
