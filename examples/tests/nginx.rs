//! A real nginx in front of the event endpoint, with the configuration the README shows
//! (`examples/deploy/nginx-sse.conf`): proxy buffering on (the default), gzip on with
//! `text/event-stream` in `gzip_types`, `proxy_read_timeout` shortened to 2 s.
//!
//! - events reach the client through nginx at once, not when nginx's buffers fill: the
//!   responses' `X-Accel-Buffering: no` turns buffering off for them; the same stream without
//!   the header (and without `Content-Encoding: identity`) is held back, which shows the
//!   header is what does it;
//! - nothing is compressed on the stream, while a large text response is;
//! - `Last-Event-ID` (header, and `?lastEventId=`) reaches the server and resumes;
//! - a keep-alive interval (500 ms) shorter than `proxy_read_timeout` (2 s) keeps an idle
//!   stream open past it, while a stream without keep-alive is cut by nginx.
//!
//! Needs `nginx` (`apt-get install nginx`; `./test.sh` installs it). Without it the test is
//! skipped, or fails when `CI=true`.

mod support;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::Router;
use axum::http::header::CONTENT_ENCODING;
use axum::response::IntoResponse;
use axum::routing::get;
use examples::deploy::{Events, StreamConfig, large_text};
use ssekit::hub::Hub;
use ssekit_axum::Sse;
use ssekit_proto::Event;
use support::{BodyEnd, NGINX_SITE, Next, Nginx, Request, SseClient, free_port};

/// "Promptly": far less than the time a 4 KiB buffer of small events would take to fill.
const PROMPT: Duration = Duration::from_secs(1);
const KEEP_ALIVE: Duration = Duration::from_millis(500);
const PROXY_READ_TIMEOUT: &str = "2s";

/// The checked-in site configuration with the test's ports and a 2 s `proxy_read_timeout`.
fn site(upstream: SocketAddr, listen: SocketAddr) -> String {
    let mut site = NGINX_SITE.to_owned();
    for (from, to) in [
        ("server 127.0.0.1:8844;", format!("server {upstream};")),
        ("listen 127.0.0.1:8080;", format!("listen {listen};")),
        (
            "proxy_read_timeout 60s;",
            format!("proxy_read_timeout {PROXY_READ_TIMEOUT};"),
        ),
    ] {
        assert_eq!(site.matches(from).count(), 1, "{from:?} once in the config");
        site = site.replace(from, &to);
    }
    site
}

/// The stream as it would be without our headers: no `X-Accel-Buffering: no`, no
/// `Content-Encoding: identity`.
async fn unmarked(hub: axum::extract::State<Hub>) -> axum::response::Response {
    let mut response = Sse::new(hub.subscribe(None)).into_response();
    response.headers_mut().remove("x-accel-buffering");
    response.headers_mut().remove(CONTENT_ENCODING);
    response
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nginx_passes_events_at_once_resumes_and_keeps_idle_streams_open() {
    let started = Instant::now();
    let config = StreamConfig {
        retry: Duration::from_secs(1),
        spread: Duration::ZERO,
        keep_alive: KEEP_ALIVE,
        ..StreamConfig::default()
    };
    let hub = Hub::new();
    let events = Events::new(hub.clone(), config.clone());
    let app = Router::new()
        .route("/unmarked", get(unmarked))
        .route(
            "/silent",
            get(|| async { Sse::new(futures_util::stream::pending::<Event>()).no_keep_alive() }),
        )
        .with_state(hub.clone())
        .route("/big", get(|| async { large_text(64 * 1024) }))
        .merge(events.router());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let upstream = listener.local_addr().expect("address");
    let shutdown = config.shutdown.clone();
    let server = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(shutdown.signal())
            .await
    });

    let listen = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let site = site(upstream, listen);
    let Some(nginx) = tokio::task::spawn_blocking(move || Nginx::start(&site, listen))
        .await
        .expect("start nginx")
    else {
        return;
    };
    eprintln!("[{:?}] nginx on {listen} -> {upstream}", started.elapsed());

    // gzip is on: a large text response is compressed.
    let mut big = SseClient::open(
        listen,
        Request::get("/big").header("accept-encoding", "gzip"),
    )
    .await;
    assert_eq!(big.status, 200);
    assert_eq!(
        big.header("content-encoding"),
        Some("gzip"),
        "gzip is on for other responses"
    );
    while !matches!(big.next(PROMPT).await, Next::End(_)) {}
    assert!(
        big.raw.len() < 8 * 1024,
        "compressed: {} bytes for 64 KiB",
        big.raw.len()
    );

    // A stream through nginx: the headers, and `retry:` at once.
    let request = || Request::get("/events").header("accept-encoding", "gzip");
    let mut live = SseClient::open(listen, request()).await;
    assert_eq!(live.status, 200);
    assert_eq!(live.header("content-type"), Some("text/event-stream"));
    assert_eq!(live.header("cache-control"), Some("no-cache"));
    let encoding = live.header("content-encoding");
    assert!(
        matches!(encoding, None | Some("identity")),
        "not compressed: {encoding:?}"
    );
    assert_eq!(
        live.next(PROMPT).await,
        Next::Item(support::Item::Retry(Duration::from_secs(1)))
    );

    // The control: the same stream without our headers, read by a task of its own (nginx holds
    // back even its response head).
    let unmarked = tokio::spawn(async move {
        let request = Request::get("/unmarked").header("accept-encoding", "gzip");
        let mut unmarked = SseClient::open(listen, request).await;
        let first = unmarked.event(Duration::from_secs(30)).await;
        (
            unmarked.header("content-encoding").map(str::to_owned),
            first,
        )
    });

    // Small events, each well under nginx's 4 KiB / 8 KiB buffers, arrive within PROMPT.
    wait_for_subscribers(&hub, 2).await;
    for n in 1..=3 {
        let sent = Instant::now();
        hub.publish(Event::message(format!("small event {n}")));
        let (id, data) = live.event(PROMPT).await;
        let took = sent.elapsed();
        assert_eq!(
            (id.as_str(), data.as_str()),
            (n.to_string().as_str(), format!("small event {n}").as_str())
        );
        eprintln!(
            "[{:?}] event {n} through nginx in {took:?}",
            started.elapsed()
        );
    }
    tokio::time::sleep(PROMPT).await;
    assert!(
        !unmarked.is_finished(),
        "without X-Accel-Buffering: no and Content-Encoding: identity, nginx holds the stream \
         back: {:?}",
        unmarked.await
    );
    unmarked.abort();
    eprintln!(
        "[{:?}] the unmarked stream got nothing in {PROMPT:?}",
        started.elapsed()
    );

    // Resume through nginx, with the header and with the query parameter.
    for resume in [
        Request::get("/events").header("last-event-id", "1"),
        Request::get("/events?lastEventId=1"),
    ] {
        let mut resumed = SseClient::open(listen, resume).await;
        assert_eq!(
            resumed.event(PROMPT).await,
            ("2".into(), "small event 2".into())
        );
        assert_eq!(
            resumed.event(PROMPT).await,
            ("3".into(), "small event 3".into())
        );
    }
    let seen: Vec<Option<String>> = events
        .requests()
        .into_iter()
        .map(|r| r.last_event_id)
        .collect();
    assert_eq!(
        seen,
        [None, Some("1".into()), Some("1".into())],
        "what the server saw"
    );

    // Idle past proxy_read_timeout: keep-alive holds the stream open, no keep-alive is cut.
    let mut silent = SseClient::open(listen, Request::get("/silent")).await;
    assert_eq!(silent.status, 200);
    let idle_from = Instant::now();
    let keep_alives_before = live.keep_alives();
    assert_eq!(
        live.next(Duration::from_secs(3)).await,
        Next::Timeout,
        "idle, still open"
    );
    let keep_alives = live.keep_alives() - keep_alives_before;
    assert!(keep_alives >= 4, "{keep_alives} keep-alives in 3 s");
    assert_eq!(
        silent.next(Duration::from_millis(100)).await,
        Next::End(BodyEnd::Aborted),
        "nginx cuts a stream idle for longer than proxy_read_timeout"
    );
    hub.publish(Event::message("after the idle time"));
    assert_eq!(
        live.event(PROMPT).await,
        ("4".into(), "after the idle time".into())
    );
    eprintln!(
        "[{:?}] open after {:?} idle ({keep_alives} keep-alives), silent stream cut",
        started.elapsed(),
        idle_from.elapsed()
    );
    let log = nginx.error_log();
    assert!(
        log.contains("upstream timed out"),
        "nginx logged the cut:\n{log}"
    );

    config.shutdown.trigger();
    assert_eq!(
        live.next(PROMPT).await,
        Next::Item(support::Item::Retry(Duration::from_secs(1)))
    );
    assert_eq!(
        live.next(PROMPT).await,
        Next::End(BodyEnd::Complete),
        "shutdown ends the stream cleanly"
    );
    drop((live, silent, nginx));
    tokio::time::timeout(Duration::from_secs(5), server)
        .await
        .expect("server stops")
        .expect("task")
        .expect("serve");
    eprintln!("[{:?}] done", started.elapsed());
}

async fn wait_for_subscribers(hub: &Hub, n: usize) {
    tokio::time::timeout(Duration::from_secs(5), async {
        while hub.subscriber_count() < n {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("subscribers connected");
}

#[test]
fn the_readme_shows_the_tested_nginx_config() {
    let readme = include_str!("../../README.md");
    assert!(
        readme.contains(NGINX_SITE.trim_end()),
        "README.md's deployment section must show examples/deploy/nginx-sse.conf as it is"
    );
}
