//! The EventSource processing model against raw HTTP/1.1 servers on 127.0.0.1.

mod support;

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use reqwest::StatusCode;
use ssekit_client::{
    ClientError, EventSource, Limits, MessageEvent, ReadyState, ReconnectPolicy, RedirectPolicy,
    SseItem,
};
use support::{Conn, Server, expect_end, next, next_err, next_message, next_ok};

const MS: Duration = Duration::from_millis(1);

/// A policy that reconnects quickly, so tests stay fast.
fn quick() -> ReconnectPolicy {
    ReconnectPolicy::new().reconnection_time(20 * MS)
}

fn message(event_type: &str, data: &str, id: &str) -> MessageEvent {
    MessageEvent::new(event_type, data, id)
}

#[tokio::test]
async fn reconnects_after_the_server_drops_and_sends_last_event_id() {
    let server = Server::first_then("id: 1\ndata: a\n\n", "event: tick\ndata: b\n\n").await;
    let mut source = EventSource::builder(server.url("/events"))
        .reconnect(quick())
        .build()
        .unwrap();
    assert_eq!(source.ready_state(), ReadyState::Connecting);

    assert_eq!(next_ok(&mut source).await, SseItem::Open);
    assert_eq!(source.ready_state(), ReadyState::Open);
    assert_eq!(
        next_message(&mut source).await,
        message("message", "a", "1")
    );
    assert!(matches!(
        next_err(&mut source).await,
        ClientError::StreamEnded
    ));
    assert_eq!(source.ready_state(), ReadyState::Connecting);
    assert_eq!(source.reconnect_delay(), Some(20 * MS)); // right after an open: no backoff
    assert_eq!(next_ok(&mut source).await, SseItem::Open);
    assert_eq!(next_message(&mut source).await, message("tick", "b", "1"));

    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    for request in &requests {
        assert_eq!(request.method, "GET");
        assert_eq!(request.path, "/events");
        assert_eq!(request.header("accept"), Some("text/event-stream"));
        assert_eq!(request.header("cache-control"), Some("no-cache"));
    }
    assert_eq!(requests[0].header("last-event-id"), None); // never an empty one
    assert_eq!(requests[1].header("last-event-id"), Some("1"));
}

#[tokio::test]
async fn server_retry_sets_the_reconnection_delay() {
    let server = Server::first_then("retry: 50\ndata: x\n\n", "data: y\n\n").await;
    // The default policy: 3 s until the server says otherwise.
    let mut source = EventSource::new(server.url("/")).unwrap();
    assert_eq!(source.reconnection_time(), Duration::from_secs(3));
    assert_eq!(next_ok(&mut source).await, SseItem::Open);
    assert_eq!(next_ok(&mut source).await, SseItem::Retry(50 * MS));
    assert_eq!(next_message(&mut source).await.data(), "x");
    assert!(matches!(
        next_err(&mut source).await,
        ClientError::StreamEnded
    ));
    let cut = Instant::now();
    assert_eq!(source.reconnection_time(), 50 * MS);
    assert_eq!(source.reconnect_delay(), Some(50 * MS));
    assert_eq!(next_ok(&mut source).await, SseItem::Open);
    let waited = cut.elapsed();
    assert!(
        waited >= 45 * MS && waited < Duration::from_millis(1500),
        "reconnected after {waited:?}, expected about 50 ms"
    );
    assert_eq!(next_message(&mut source).await.data(), "y");
}

/// The server resumes after `Last-Event-ID`; each connection is cut after three events, in the
/// middle of the fourth (after its `id:` line). The client sees every id exactly once.
#[tokio::test]
async fn resuming_server_delivers_each_event_exactly_once_across_cuts() {
    let server = Server::start(|mut conn: Conn| async move {
        let after: u32 = conn
            .request
            .header("last-event-id")
            .and_then(|id| id.parse().ok())
            .unwrap_or(0);
        let mut body = String::new();
        for n in (after + 1..=9).take(3) {
            body.push_str(&format!("id: {n}\ndata: event {n}\n\n"));
        }
        if after + 3 < 9 {
            body.push_str(&format!("id: {}\ndata: cut here", after + 4));
            conn.sse(&body).await;
        } else {
            conn.sse(&body).await;
            conn.hold().await;
        }
    })
    .await;
    let mut source = EventSource::builder(server.url("/feed"))
        .last_event_id("2")
        .reconnect(quick())
        .build()
        .unwrap();
    let mut seen = Vec::new();
    while seen.last().map(String::as_str) != Some("9") {
        match next(&mut source).await {
            Some(Ok(SseItem::Message(m))) => {
                assert_eq!(m.data(), format!("event {}", m.last_event_id()));
                assert_eq!(source.last_event_id(), m.last_event_id());
                seen.push(m.last_event_id().to_owned());
            }
            Some(Ok(SseItem::Open)) => {}
            Some(Err(ClientError::StreamEnded)) => {
                // The `id:` of the cut-off event is not committed.
                assert_eq!(source.last_event_id(), seen.last().unwrap());
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(seen, ["3", "4", "5", "6", "7", "8", "9"]);
    let sent: Vec<_> = server
        .requests()
        .iter()
        .map(|r| r.header("last-event-id").unwrap_or("").to_owned())
        .collect();
    assert_eq!(sent, ["2", "5", "8"]);
}

/// Fails the connection and checks that no second request is ever made.
async fn assert_fails_without_retry(server: &Server, check: impl Fn(&ClientError) -> bool) {
    let mut source = EventSource::builder(server.url("/"))
        .reconnect(ReconnectPolicy::new().reconnection_time(MS))
        .build()
        .expect("valid source");
    let handle = source.handle();
    let error = next_err(&mut source).await;
    assert!(check(&error), "unexpected error {error:?}");
    assert_eq!(source.ready_state(), ReadyState::Closed);
    assert_eq!(handle.ready_state(), ReadyState::Closed);
    assert_eq!(source.reconnect_delay(), None);
    expect_end(&mut source).await;
    expect_end(&mut source).await; // and stays ended
    tokio::time::sleep(150 * MS).await;
    assert_eq!(server.connections(), 1);
}

#[tokio::test]
async fn status_204_closes_without_reconnecting() {
    let server = Server::start(|mut conn: Conn| async move {
        conn.write("HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")
            .await;
    })
    .await;
    assert_fails_without_retry(
        &server,
        |e| matches!(e, ClientError::Status(s) if *s == StatusCode::NO_CONTENT),
    )
    .await;
}

#[tokio::test]
async fn status_500_closes_without_reconnecting() {
    let server = Server::start(|mut conn: Conn| async move {
        conn.respond(
            "500 Internal Server Error",
            "Content-Type: text/event-stream\r\n",
            "data: not an event stream\n\n",
        )
        .await;
    })
    .await;
    assert_fails_without_retry(
        &server,
        |e| matches!(e, ClientError::Status(s) if *s == StatusCode::INTERNAL_SERVER_ERROR),
    )
    .await;
}

#[tokio::test]
async fn wrong_content_type_closes_without_reconnecting() {
    let server = Server::start(|mut conn: Conn| async move {
        conn.respond("200 OK", "Content-Type: text/plain\r\n", "data: x\n\n")
            .await;
    })
    .await;
    assert_fails_without_retry(
        &server,
        |e| matches!(e, ClientError::ContentType(Some(v)) if v == "text/plain"),
    )
    .await;
}

#[tokio::test]
async fn missing_content_type_closes_without_reconnecting() {
    let server = Server::start(|mut conn: Conn| async move {
        conn.respond("200 OK", "", "data: x\n\n").await;
    })
    .await;
    assert_fails_without_retry(&server, |e| matches!(e, ClientError::ContentType(None))).await;
}

#[tokio::test]
async fn content_type_parameters_and_case_are_ignored() {
    let server = Server::start(|mut conn: Conn| async move {
        conn.write(
            "HTTP/1.1 200 OK\r\nContent-Type: Text/Event-Stream; charset=utf-8\r\nConnection: close\r\n\r\ndata: ok\n\n",
        )
        .await;
        conn.hold().await;
    })
    .await;
    let mut source = EventSource::new(server.url("/")).unwrap();
    assert_eq!(next_ok(&mut source).await, SseItem::Open);
    assert_eq!(next_message(&mut source).await.data(), "ok");
}

#[tokio::test]
async fn a_stream_cut_mid_event_discards_the_partial_event() {
    let server = Server::first_then(
        "data: whole\n\nevent: partial\ndata: never delivered\ndata: cut",
        "data: next\n\n",
    )
    .await;
    let mut source = EventSource::builder(server.url("/"))
        .reconnect(quick())
        .build()
        .unwrap();
    assert_eq!(next_ok(&mut source).await, SseItem::Open);
    assert_eq!(
        next_message(&mut source).await,
        message("message", "whole", "")
    );
    assert!(matches!(
        next_err(&mut source).await,
        ClientError::StreamEnded
    ));
    assert_eq!(next_ok(&mut source).await, SseItem::Open);
    // Neither the partial data nor its event type leak into the next event.
    assert_eq!(
        next_message(&mut source).await,
        message("message", "next", "")
    );
}

/// A chunked body that stops mid-chunk is a network error (not a clean end); the partial event
/// is discarded and the client reconnects.
#[tokio::test]
async fn a_truncated_chunked_body_is_a_network_error_and_reconnects() {
    let server = Server::start(|mut conn: Conn| async move {
        let head = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n";
        if conn.request.index == 0 {
            let first = "id: 1\ndata: one\n\n";
            let second = "id: 2\ndata: tw";
            conn.write(format!(
                "{head}{:x}\r\n{first}\r\n{:x}\r\n{second}",
                first.len(),
                second.len() + 10
            ))
            .await;
        } else {
            let event = "data: again\n\n";
            conn.write(format!("{head}{:x}\r\n{event}\r\n", event.len()))
                .await;
            conn.hold().await;
        }
    })
    .await;
    let mut source = EventSource::builder(server.url("/"))
        .reconnect(quick())
        .build()
        .unwrap();
    assert_eq!(next_ok(&mut source).await, SseItem::Open);
    assert_eq!(
        next_message(&mut source).await,
        message("message", "one", "1")
    );
    let error = next_err(&mut source).await;
    assert!(matches!(error, ClientError::Transport(_)), "{error:?}");
    assert_eq!(source.ready_state(), ReadyState::Connecting);
    assert_eq!(next_ok(&mut source).await, SseItem::Open);
    assert_eq!(
        next_message(&mut source).await,
        message("message", "again", "1")
    );
    assert_eq!(server.requests()[1].header("last-event-id"), Some("1"));
}

#[tokio::test]
async fn redirect_307_is_followed_with_method_and_body() {
    let server = Server::start(|mut conn: Conn| async move {
        if conn.request.path == "/old" {
            conn.respond("307 Temporary Redirect", "Location: /stream\r\n", "")
                .await;
        } else {
            conn.sse("data: arrived\n\n").await;
            conn.hold().await;
        }
    })
    .await;
    let mut source = EventSource::builder(server.url("/old"))
        .method(reqwest::Method::POST)
        .body("{\"q\":1}")
        .build()
        .unwrap();
    assert_eq!(next_ok(&mut source).await, SseItem::Open);
    assert_eq!(next_message(&mut source).await.data(), "arrived");
    let requests = server.requests();
    let paths: Vec<_> = requests.iter().map(|r| r.path.as_str()).collect();
    assert_eq!(paths, ["/old", "/stream"]);
    assert_eq!(requests[1].method, "POST");
    assert_eq!(requests[1].body, b"{\"q\":1}");
    assert_eq!(requests[1].header("accept"), Some("text/event-stream"));
}

#[tokio::test]
async fn headers_method_and_body_are_sent_on_every_connection() {
    let server = Server::start(|mut conn: Conn| async move {
        let n = conn.request.index;
        conn.sse(&format!("id: {n}\ndata: {n}\n\n")).await;
    })
    .await;
    let mut source = EventSource::builder(server.url("/chat"))
        .method(reqwest::Method::POST)
        .header("Cookie", "session=abc")
        .header("Authorization", "Bearer t0k3n")
        .header("Content-Type", "application/json")
        .body(String::from("{\"stream\":true}"))
        .reconnect(quick())
        .build()
        .unwrap();
    let mut data = Vec::new();
    while data.len() < 3 {
        if let Some(Ok(SseItem::Message(m))) = next(&mut source).await {
            data.push(m.into_data());
        }
    }
    source.close();
    assert_eq!(data, ["0", "1", "2"]);
    let requests = server.requests();
    assert!(requests.len() >= 3);
    for request in &requests[..3] {
        assert_eq!(request.method, "POST");
        assert_eq!(request.path, "/chat");
        assert_eq!(request.header("cookie"), Some("session=abc"));
        assert_eq!(request.header("authorization"), Some("Bearer t0k3n"));
        assert_eq!(request.header("content-type"), Some("application/json"));
        assert_eq!(request.body, b"{\"stream\":true}");
    }
}

#[tokio::test]
async fn close_from_a_handle_ends_an_open_stream_promptly() {
    let server = Server::start(|mut conn: Conn| async move {
        conn.sse("data: first\n\n").await;
        conn.hold().await; // silent afterwards: only close() can end the stream
    })
    .await;
    let mut source = EventSource::builder(server.url("/"))
        .reconnect(quick())
        .build()
        .unwrap();
    assert_eq!(next_ok(&mut source).await, SseItem::Open);
    assert_eq!(next_message(&mut source).await.data(), "first");
    let handle = source.handle();
    let closer = tokio::spawn(async move {
        tokio::time::sleep(50 * MS).await;
        handle.close();
    });
    let start = Instant::now();
    expect_end(&mut source).await; // pending in the read when close() comes
    assert!(start.elapsed() < Duration::from_secs(1));
    closer.await.unwrap();
    assert_eq!(source.ready_state(), ReadyState::Closed);
    tokio::time::sleep(100 * MS).await;
    assert_eq!(server.connections(), 1);
}

#[tokio::test]
async fn close_while_waiting_to_reconnect_stops_reconnection() {
    let server = Server::start(|mut conn: Conn| async move {
        conn.sse("data: only\n\n").await;
    })
    .await;
    let mut source = EventSource::builder(server.url("/"))
        .reconnect(ReconnectPolicy::new().reconnection_time(200 * MS))
        .build()
        .unwrap();
    assert_eq!(next_ok(&mut source).await, SseItem::Open);
    assert_eq!(next_message(&mut source).await.data(), "only");
    assert!(matches!(
        next_err(&mut source).await,
        ClientError::StreamEnded
    ));
    assert_eq!(source.ready_state(), ReadyState::Connecting);
    source.close();
    assert_eq!(source.ready_state(), ReadyState::Closed);
    expect_end(&mut source).await;
    tokio::time::sleep(400 * MS).await;
    assert_eq!(server.connections(), 1);
}

#[tokio::test]
async fn no_reconnect_policy_closes_at_the_end_of_the_stream() {
    let server = Server::start(|mut conn: Conn| async move {
        conn.sse("data: one\n\n").await;
    })
    .await;
    let mut source = EventSource::builder(server.url("/"))
        .reconnect(ReconnectPolicy::never().reconnection_time(MS))
        .build()
        .unwrap();
    assert_eq!(next_ok(&mut source).await, SseItem::Open);
    assert_eq!(next_message(&mut source).await.data(), "one");
    let error = next_err(&mut source).await;
    assert!(error.is_fatal(), "{error:?}");
    assert!(
        matches!(&error, ClientError::GaveUp(e) if matches!(**e, ClientError::StreamEnded)),
        "{error:?}"
    );
    assert_eq!(source.ready_state(), ReadyState::Closed);
    expect_end(&mut source).await;
    tokio::time::sleep(100 * MS).await;
    assert_eq!(server.connections(), 1);
}

/// Connection refused over and over: the waits back off (20 ms, then more than 20 ms, then
/// more than 40 ms; the floor the doubling starts from is lowered to the 20 ms base here) and
/// `max_retries` gives up.
#[tokio::test]
async fn repeated_failures_back_off_and_max_retries_gives_up() {
    let addr = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    }; // closed again: connecting is refused
    let mut source = EventSource::builder(format!("http://{addr}/"))
        .reconnect(quick().backoff_floor(20 * MS).max_retries(Some(3)))
        .build()
        .unwrap();
    let start = Instant::now();
    let mut delays = Vec::new();
    for _ in 0..3 {
        let error = next_err(&mut source).await;
        assert!(matches!(error, ClientError::Transport(_)), "{error:?}");
        assert!(!error.is_fatal());
        assert_eq!(source.ready_state(), ReadyState::Connecting);
        delays.push(source.reconnect_delay().unwrap());
    }
    let error = next_err(&mut source).await;
    assert!(error.is_fatal());
    assert!(
        matches!(error.cause(), ClientError::Transport(_)),
        "{error:?}"
    );
    assert_eq!(source.ready_state(), ReadyState::Closed);
    expect_end(&mut source).await;
    assert_eq!(delays[0], 20 * MS);
    assert!(delays[1] > 20 * MS && delays[1] <= 40 * MS, "{delays:?}");
    assert!(delays[2] > 40 * MS && delays[2] <= 80 * MS, "{delays:?}");
    assert!(start.elapsed() >= 80 * MS);
}

#[tokio::test]
async fn an_open_resets_the_backoff() {
    // Every connection opens, sends one event and ends: the wait stays the base delay.
    let server = Server::start(|mut conn: Conn| async move {
        conn.sse("data: x\n\n").await;
    })
    .await;
    let mut source = EventSource::builder(server.url("/"))
        .reconnect(quick().jitter(0.0))
        .build()
        .unwrap();
    for _ in 0..3 {
        assert_eq!(next_ok(&mut source).await, SseItem::Open);
        assert_eq!(next_message(&mut source).await.data(), "x");
        assert!(matches!(
            next_err(&mut source).await,
            ClientError::StreamEnded
        ));
        assert_eq!(source.reconnect_delay(), Some(20 * MS));
    }
}

#[tokio::test]
async fn an_oversized_event_is_an_error_and_the_stream_goes_on() {
    let server = Server::start(|mut conn: Conn| async move {
        let long = "y".repeat(100);
        conn.sse(&format!("data: {long}\n\ndata: fits\n\n")).await;
        conn.hold().await;
    })
    .await;
    let mut source = EventSource::builder(server.url("/"))
        .limits(Limits::default().max_line_length(32))
        .build()
        .unwrap();
    assert_eq!(next_ok(&mut source).await, SseItem::Open);
    let error = next_err(&mut source).await;
    assert!(matches!(error, ClientError::Parse(_)), "{error:?}");
    assert_eq!(source.ready_state(), ReadyState::Open);
    assert_eq!(next_message(&mut source).await.data(), "fits");
}

#[tokio::test]
async fn invalid_configuration_is_an_error_at_build() {
    for url in ["not a url", "ftp://127.0.0.1/", "/relative"] {
        let error = EventSource::new(url).unwrap_err();
        assert!(matches!(error, ClientError::Config(_)), "{url}: {error:?}");
    }
    let error = EventSource::builder("http://127.0.0.1/")
        .header("bad header", "x")
        .build()
        .unwrap_err();
    assert!(matches!(error, ClientError::Config(_)));
    let error = EventSource::builder("http://127.0.0.1/")
        .header("X-Ok", "line\nbreak")
        .build()
        .unwrap_err();
    assert!(matches!(error, ClientError::Config(_)));
}

#[tokio::test]
async fn user_headers_replace_the_defaults() {
    let server = Server::start(|mut conn: Conn| async move {
        conn.sse("data: x\n\n").await;
        conn.hold().await;
    })
    .await;
    let mut source = EventSource::builder(server.url("/"))
        .header("Accept", "text/event-stream, application/json;q=0.5")
        .build()
        .unwrap();
    assert_eq!(next_ok(&mut source).await, SseItem::Open);
    let accept: Vec<_> = server.requests()[0]
        .headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("accept"))
        .map(|(_, v)| v.clone())
        .collect();
    assert_eq!(accept, ["text/event-stream, application/json;q=0.5"]);
}

/// A source that gets one event and then a 204 ends Closed, and its reconnection carried the
/// event's id. (The README's client snippet itself is compiled as a doctest of `examples`.)
#[tokio::test]
async fn one_event_then_204_ends_closed_after_resuming() -> Result<(), ClientError> {
    let server = Server::start(|mut conn: Conn| async move {
        if conn.request.index == 0 {
            conn.sse("retry: 10\nevent: greeting\nid: 1\ndata: hello\n\n")
                .await;
        } else {
            conn.respond("204 No Content", "", "").await;
        }
    })
    .await;
    let url = server.url("/events");
    let mut seen = Vec::new();
    let mut events = ssekit_client::EventSource::new(&url)?;
    let mut messages = 0;
    while let Some(item) = futures_util::StreamExt::next(&mut events).await {
        if let Ok(ssekit_client::SseItem::Message(e)) = item {
            assert_eq!((e.event_type(), e.data()), ("greeting", "hello"));
            messages += 1;
        }
        seen.push(events.ready_state());
    }
    assert_eq!(messages, 1);
    assert_eq!(seen.last(), Some(&ReadyState::Closed));
    assert_eq!(server.requests()[1].header("last-event-id"), Some("1"));
    Ok(())
}

/// A redirect sticks: after `/es` -> 307 -> `/es/moved` the stream ends, and the reconnection
/// goes to `/es/moved` (the request's current URL), with the last event ID.
#[tokio::test]
async fn reconnection_goes_to_where_the_redirect_led() {
    for status in [
        "301 Moved Permanently",
        "302 Found",
        "307 Temporary Redirect",
    ] {
        let server = Server::redirect_first_then(
            status,
            ("/es", "/es/moved"),
            "id: 1\ndata: a\n\n",
            "data: b\n\n",
        )
        .await;
        let mut source = EventSource::builder(server.url("/es"))
            .reconnect(quick())
            .build()
            .unwrap();
        assert_eq!(next_ok(&mut source).await, SseItem::Open);
        assert_eq!(source.current_url().path(), "/es/moved", "{status}");
        assert_eq!(source.url().path(), "/es");
        assert_eq!(next_message(&mut source).await.data(), "a");
        assert!(!next_err(&mut source).await.is_fatal());
        assert_eq!(next_ok(&mut source).await, SseItem::Open);
        assert_eq!(
            next_message(&mut source).await,
            message("message", "b", "1")
        );
        let requests = server.requests();
        let seen: Vec<_> = requests
            .iter()
            .map(|r| (r.path.as_str(), r.header("last-event-id")))
            .collect();
        assert_eq!(
            seen,
            [("/es", None), ("/es/moved", None), ("/es/moved", Some("1"))],
            "{status}"
        );
    }
}

/// A `303` (and a `301`/`302`) turns a `POST` into a body-less `GET` without the body's
/// headers; every reconnection is that `GET` too. A `307` keeps the `POST` and its body.
#[tokio::test]
async fn a_redirect_that_turned_post_into_get_is_remembered() {
    for (status, method) in [
        ("301 Moved Permanently", "GET"),
        ("302 Found", "GET"),
        ("303 See Other", "GET"),
        ("307 Temporary Redirect", "POST"),
        ("308 Permanent Redirect", "POST"),
    ] {
        let server = Server::redirect_first_then(
            status,
            ("/chat", "/chat/stream"),
            "id: 7\ndata: a\n\n",
            "",
        )
        .await;
        let mut source = EventSource::builder(server.url("/chat"))
            .method(reqwest::Method::POST)
            .header("Content-Type", "application/json")
            .header("Authorization", "Bearer t")
            .body("{}")
            .reconnect(quick())
            .build()
            .unwrap();
        assert_eq!(next_ok(&mut source).await, SseItem::Open);
        assert_eq!(next_message(&mut source).await.data(), "a");
        assert!(matches!(
            next_err(&mut source).await,
            ClientError::StreamEnded
        ));
        assert_eq!(source.current_method().as_str(), method, "{status}");
        assert_eq!(next_ok(&mut source).await, SseItem::Open); // the reconnection
        let requests = server.requests();
        assert_eq!(requests[0].method, "POST");
        for request in &requests[1..] {
            assert_eq!(request.path, "/chat/stream", "{status}");
            assert_eq!(request.method, method, "{status}");
            // Same origin: credentials stay.
            assert_eq!(request.header("authorization"), Some("Bearer t"));
            if method == "GET" {
                assert!(request.body.is_empty(), "{status}");
                assert_eq!(request.header("content-type"), None, "{status}");
            } else {
                assert_eq!(request.body, b"{}", "{status}");
                assert_eq!(request.header("content-type"), Some("application/json"));
            }
        }
        assert_eq!(requests[2].header("last-event-id"), Some("7"));
    }
}

/// A relative `Location` is resolved against the URL that answered with it, not the first.
#[tokio::test]
async fn a_relative_location_is_resolved_against_the_redirecting_url() {
    let server = Server::start(|mut conn: Conn| async move {
        match conn.request.path.as_str() {
            "/a" => conn.respond("302 Found", "Location: /b/c\r\n", "").await,
            "/b/c" => {
                conn.respond("307 Temporary Redirect", "Location: d?x=1\r\n", "")
                    .await
            }
            _ => {
                conn.sse("data: here\n\n").await;
                conn.hold().await;
            }
        }
    })
    .await;
    let mut source = EventSource::new(server.url("/a")).unwrap();
    assert_eq!(next_ok(&mut source).await, SseItem::Open);
    let paths: Vec<_> = server.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(paths, ["/a", "/b/c", "/b/d?x=1"]);
    assert_eq!(source.current_url().as_str(), server.url("/b/d?x=1"));
}

/// A redirect loop is a network error after 20 redirects: the source reconnects, to its URL.
#[tokio::test]
async fn a_redirect_loop_is_a_network_error_after_20_redirects() {
    let server = Server::start(|mut conn: Conn| async move {
        let n: u32 = conn.request.path[2..].parse().unwrap_or(0);
        let location = format!("Location: /r{}\r\n", n + 1);
        conn.respond("302 Found", &location, "").await;
    })
    .await;
    let mut source = EventSource::builder(server.url("/r0"))
        .reconnect(quick())
        .build()
        .unwrap();
    let error = next_err(&mut source).await;
    assert!(matches!(error, ClientError::Redirect(_)), "{error:?}");
    assert!(!error.is_fatal());
    assert!(
        error.to_string().contains("more than 20 redirects"),
        "{error}"
    );
    assert_eq!(source.ready_state(), ReadyState::Connecting);
    // The redirects of the failed attempt do not count (as in Chromium).
    assert_eq!(source.current_url().path(), "/r0");
    assert_eq!(server.requests().len(), 21);
    source.close();
}

/// The standard sets the last event ID at every blank line, with or without data: `id: 2`
/// in a block of its own counts, and is sent on reconnection.
#[tokio::test]
async fn an_id_in_a_block_without_data_counts() {
    let server =
        Server::first_then("id: 1\ndata: a\n\nid: 2\n\nid: 3\ndata: cut", "data: b\n\n").await;
    let mut source = EventSource::builder(server.url("/"))
        .reconnect(quick())
        .build()
        .unwrap();
    assert_eq!(next_ok(&mut source).await, SseItem::Open);
    assert_eq!(
        next_message(&mut source).await,
        message("message", "a", "1")
    );
    assert!(matches!(
        next_err(&mut source).await,
        ClientError::StreamEnded
    ));
    // `3` was in the cut-off block: it never counts.
    assert_eq!(source.last_event_id(), "2");
    assert_eq!(next_ok(&mut source).await, SseItem::Open);
    assert_eq!(
        next_message(&mut source).await,
        message("message", "b", "2")
    );
    assert_eq!(server.requests()[1].header("last-event-id"), Some("2"));
}

/// An ID holding U+0001 is no header value: the reconnection goes without `Last-Event-ID`, with
/// everything else; the ID is kept in the source and in events.
#[tokio::test]
async fn an_id_that_is_no_header_value_is_kept_but_not_sent() {
    let server = Server::first_then("id: a\u{1}b\ndata: x\n\n", "data: y\n\n").await;
    let mut source = EventSource::builder(server.url("/"))
        .header("X-Token", "t")
        .reconnect(quick())
        .build()
        .unwrap();
    assert_eq!(next_ok(&mut source).await, SseItem::Open);
    assert_eq!(next_message(&mut source).await.last_event_id(), "a\u{1}b");
    assert!(!next_err(&mut source).await.is_fatal());
    assert_eq!(source.last_event_id(), "a\u{1}b");
    assert_eq!(next_ok(&mut source).await, SseItem::Open);
    assert_eq!(
        next_message(&mut source).await,
        message("message", "y", "a\u{1}b")
    );
    let again = &server.requests()[1];
    assert_eq!(again.header("last-event-id"), None);
    assert_eq!(again.header("x-token"), Some("t"));
    assert_eq!(again.header("accept"), Some("text/event-stream"));
}

/// A redirect to another origin (here another port) drops the credentials; the same origin
/// keeps them.
#[tokio::test]
async fn a_redirect_to_another_origin_drops_credentials() {
    let target = Server::first_then("", "data: there\n\n").await;
    let location = format!("Location: {}\r\n", target.url("/stream"));
    let origin = Server::start(move |mut conn: Conn| {
        let location = location.clone();
        async move { conn.respond("307 Temporary Redirect", &location, "").await }
    })
    .await;
    let mut source = EventSource::builder(origin.url("/es"))
        .header("Authorization", "Bearer secret")
        .header("Cookie", "session=1")
        .header("X-Other", "kept")
        .reconnect(quick())
        .build()
        .unwrap();
    assert_eq!(next_ok(&mut source).await, SseItem::Open);
    assert!(!next_err(&mut source).await.is_fatal()); // the first body ends at once
    assert_eq!(next_ok(&mut source).await, SseItem::Open);
    assert_eq!(next_message(&mut source).await.data(), "there");
    let first = &origin.requests()[0];
    assert_eq!(first.header("authorization"), Some("Bearer secret"));
    for request in target.requests() {
        assert_eq!(request.header("authorization"), None);
        assert_eq!(request.header("cookie"), None);
        assert_eq!(request.header("x-other"), Some("kept"));
    }
    // The reconnection went straight to the target.
    assert_eq!(origin.requests().len(), 1);
    assert_eq!(target.requests().len(), 2);
}

/// A `Location` that is not an http(s) URL is a network error: the source reconnects.
#[tokio::test]
async fn a_redirect_to_another_scheme_is_a_network_error() {
    let server = Server::start(|mut conn: Conn| async move {
        if conn.request.index == 0 {
            conn.respond("302 Found", "Location: ftp://127.0.0.1/x\r\n", "")
                .await;
        } else {
            conn.sse("data: back\n\n").await;
            conn.hold().await;
        }
    })
    .await;
    let mut source = EventSource::builder(server.url("/es"))
        .reconnect(quick())
        .build()
        .unwrap();
    let error = next_err(&mut source).await;
    assert!(
        matches!(&error, ClientError::Redirect(r) if r.contains("ftp://")),
        "{error}"
    );
    assert!(!error.is_fatal());
    assert_eq!(source.ready_state(), ReadyState::Connecting);
    assert_eq!(next_ok(&mut source).await, SseItem::Open);
    assert_eq!(next_message(&mut source).await.data(), "back");
    assert_eq!(server.requests()[1].path, "/es");
}

// ---------------------------------------------------------------------------------------------
// Silence and empty connections (issue 25, item 8).

/// The head of a `200 OK` event stream announcing a 10 GiB body.
const HUGE_HEAD: &str =
    "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nContent-Length: 10737418240\r\n\r\n";

/// A server announces a 10 GiB body, sends one event and then nothing: after the idle timeout
/// the client drops the connection (the server sees it closed) and reconnects with
/// `Last-Event-ID`.
#[tokio::test]
async fn a_silent_server_is_dropped_after_the_idle_timeout_and_reconnected() {
    let held = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let server = Server::start({
        let held = held.clone();
        move |mut conn: Conn| {
            let held = held.clone();
            async move {
                conn.write(HUGE_HEAD).await;
                if conn.request.index == 0 {
                    conn.write("id: 1\ndata: a\n\n").await;
                }
                let start = Instant::now();
                conn.hold().await; // until the client closes the connection
                held.lock().unwrap().push(start.elapsed());
            }
        }
    })
    .await;
    let mut source = EventSource::builder(server.url("/huge"))
        .idle_timeout(300 * MS)
        .reconnect(quick())
        .build()
        .unwrap();
    assert_eq!(next_ok(&mut source).await, SseItem::Open);
    assert_eq!(next_message(&mut source).await.data(), "a");
    let silent = Instant::now();
    let error = next_err(&mut source).await;
    let waited = silent.elapsed();
    assert!(
        matches!(error, ClientError::IdleTimeout(t) if t == 300 * MS),
        "{error:?}"
    );
    assert!(!error.is_fatal());
    assert!(
        waited >= 280 * MS && waited < Duration::from_secs(2),
        "timed out after {waited:?}"
    );
    assert_eq!(source.ready_state(), ReadyState::Connecting);
    assert_eq!(next_ok(&mut source).await, SseItem::Open);
    assert_eq!(server.connections(), 2);
    assert_eq!(server.requests()[1].header("last-event-id"), Some("1"));
    // The first connection was closed by the client, not left open.
    tokio::time::sleep(100 * MS).await;
    let held = held.lock().unwrap().clone();
    assert_eq!(held.len(), 1, "{held:?}");
    assert!(held[0] < Duration::from_secs(2), "{held:?}");
    source.close();
}

/// A server that reads the request and never answers: the idle timeout covers the wait for the
/// response head too, and that attempt counts as failed.
#[tokio::test]
async fn a_server_that_never_answers_is_dropped_after_the_idle_timeout() {
    let server = Server::start(|conn: Conn| async move { conn.hold().await }).await;
    let mut source = EventSource::builder(server.url("/"))
        .idle_timeout(200 * MS)
        .reconnect(quick().max_retries(Some(1)))
        .build()
        .unwrap();
    let start = Instant::now();
    let error = next_err(&mut source).await;
    assert!(matches!(error, ClientError::IdleTimeout(_)), "{error:?}");
    assert!(start.elapsed() >= 180 * MS, "{:?}", start.elapsed());
    let error = next_err(&mut source).await;
    assert!(
        matches!(&error, ClientError::GaveUp(e) if matches!(**e, ClientError::IdleTimeout(_))),
        "{error:?}"
    );
    expect_end(&mut source).await;
    assert_eq!(server.connections(), 2);
}

/// Keep-alive comments more often than the idle timeout keep a stream open indefinitely: here
/// a comment every 100 ms for 1.5 s against a 400 ms timeout, then an event.
#[tokio::test]
async fn keep_alive_comments_within_the_idle_timeout_never_cut_the_stream() {
    let server = Server::start(|mut conn: Conn| async move {
        conn.sse("").await;
        for _ in 0..15 {
            tokio::time::sleep(100 * MS).await;
            conn.write(":\n").await;
        }
        conn.write("data: still here\n\n").await;
        conn.hold().await;
    })
    .await;
    let mut source = EventSource::builder(server.url("/"))
        .idle_timeout(400 * MS)
        .reconnect(quick())
        .build()
        .unwrap();
    assert_eq!(next_ok(&mut source).await, SseItem::Open);
    let start = Instant::now();
    assert_eq!(next_message(&mut source).await.data(), "still here");
    assert!(start.elapsed() >= Duration::from_millis(1400));
    assert_eq!(source.ready_state(), ReadyState::Open);
    assert_eq!(server.connections(), 1);
    source.close();
}

/// The clock restarts when the response head comes in: a slow head and then a slow first
/// event, each within the timeout but not together, are no timeout.
#[tokio::test]
async fn the_idle_clock_restarts_at_the_response_head() {
    let server = Server::start(|mut conn: Conn| async move {
        tokio::time::sleep(450 * MS).await;
        conn.sse("").await;
        tokio::time::sleep(450 * MS).await;
        conn.write("data: late\n\n").await;
        conn.hold().await;
    })
    .await;
    let mut source = EventSource::builder(server.url("/"))
        .idle_timeout(600 * MS)
        .reconnect(quick())
        .build()
        .unwrap();
    assert_eq!(next_ok(&mut source).await, SseItem::Open);
    assert_eq!(next_message(&mut source).await.data(), "late");
    assert_eq!(server.connections(), 1);
    source.close();
}

/// The idle timeout can be turned off; a silent stream then stays open.
#[tokio::test]
async fn no_idle_timeout_waits_on_silence() {
    let server = Server::start(|mut conn: Conn| async move {
        conn.write(HUGE_HEAD).await;
        conn.hold().await;
    })
    .await;
    for off in [None, Some(Duration::ZERO)] {
        let mut source = EventSource::builder(server.url("/"))
            .idle_timeout(off)
            .build()
            .unwrap();
        assert_eq!(next_ok(&mut source).await, SseItem::Open);
        let quiet = tokio::time::timeout(Duration::from_millis(500), source.next()).await;
        assert!(quiet.is_err(), "{off:?}: {quiet:?}");
        assert_eq!(source.ready_state(), ReadyState::Open);
    }
    assert_eq!(server.connections(), 2);
}

/// A server that answers `200 OK` with `retry: 0` and closes at once, with the default policy:
/// a browser reconnects thousands of times a second; this client backs off from the second empty
/// connection in a row, so only a few connections fit in 2 s.
#[tokio::test]
async fn a_server_that_closes_at_once_with_retry_0_is_backed_off_from() {
    let server = Server::start(|mut conn: Conn| async move {
        conn.sse("retry: 0\n\n").await;
    })
    .await;
    let mut source = EventSource::new(server.url("/")).unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
    let mut delays = Vec::new();
    while let Ok(item) = tokio::time::timeout_at(deadline, source.next()).await {
        match item {
            Some(Ok(SseItem::Open | SseItem::Retry(_))) => {}
            Some(Err(ClientError::StreamEnded)) => delays.push(source.reconnect_delay().unwrap()),
            other => panic!("unexpected {other:?}"),
        }
    }
    let connections = server.connections();
    assert!(
        (3..=8).contains(&connections),
        "{connections} connections in 2 s; waits {delays:?}"
    );
    assert_eq!(delays[0], Duration::ZERO); // the first empty connection: the server's retry
    // Then the backoff, from the 50 ms floor: (50, 100] ms, (100, 200] ms, ...
    assert!(delays[1] > 50 * MS && delays[1] <= 100 * MS, "{delays:?}");
    assert!(delays[2] > 100 * MS && delays[2] <= 200 * MS, "{delays:?}");
    source.close();
}

/// The empty-connection backoff grows while connections deliver nothing (comments and `retry`
/// are not events), is reset by a connection that dispatches an event, and is off with
/// `backoff_after_empty(None)` (the browser's behaviour).
#[tokio::test]
async fn an_event_resets_the_empty_connection_backoff() {
    let server = Server::start(|mut conn: Conn| async move {
        let body = match conn.request.index {
            3 => "retry: 0\ndata: x\n\n",
            _ => "retry: 0\n: just a comment\nid: 5\n\ndata: cut",
        };
        conn.sse(body).await;
    })
    .await;
    let waits = |policy: ReconnectPolicy, count: usize| {
        let url = server.url("/");
        async move {
            let mut source = EventSource::builder(url).reconnect(policy).build().unwrap();
            let mut delays = Vec::new();
            while delays.len() < count {
                if let Some(Err(error)) = next(&mut source).await {
                    assert!(matches!(error, ClientError::StreamEnded), "{error:?}");
                    delays.push(source.reconnect_delay().unwrap());
                }
            }
            source.close();
            delays
        }
    };
    let delays = waits(ReconnectPolicy::new().jitter(0.0), 5).await;
    assert_eq!(delays, [0, 100, 200, 0, 0].map(|n| n * MS));
    let browser_like = ReconnectPolicy::new().jitter(0.0).backoff_after_empty(None);
    assert_eq!(waits(browser_like, 3).await, [Duration::ZERO; 3]);
}

// ---------------------------------------------------------------------------------------------
// Redirect policies (issue 25, item 9).

/// Two origins (two ports on 127.0.0.1): `origin` answers `/es` with a `307` to `target`'s
/// `/stream` (and `/hop` with a `307` to `/es`, same origin); `target` streams.
async fn two_origins() -> (Server, Server) {
    let target = Server::start(|mut conn: Conn| async move {
        conn.sse("data: elsewhere\n\n").await;
        conn.hold().await;
    })
    .await;
    let elsewhere = format!("Location: {}\r\n", target.url("/stream"));
    let origin = Server::start(move |mut conn: Conn| {
        let elsewhere = elsewhere.clone();
        async move {
            match conn.request.path.as_str() {
                "/hop" => {
                    conn.respond("307 Temporary Redirect", "Location: /es\r\n", "")
                        .await;
                }
                _ => {
                    conn.respond("307 Temporary Redirect", &elsewhere, "").await;
                }
            }
        }
    })
    .await;
    (origin, target)
}

/// A `POST` with a key, credentials and a body, to `url`, under `policy`.
fn keyed_post(url: String, policy: RedirectPolicy) -> EventSource {
    EventSource::builder(url)
        .method(reqwest::Method::POST)
        .header("X-Api-Key", "k3y")
        .header("Authorization", "Bearer secret")
        .header("Content-Type", "application/json")
        .body("{\"secret\":1}")
        .redirects(policy)
        .reconnect(quick())
        .build()
        .expect("a valid source")
}

/// The default follows a `307` to another origin as Fetch does: method, body and custom headers
/// go along, `Authorization` does not.
#[tokio::test]
async fn by_default_a_cross_origin_307_keeps_custom_headers_and_body() {
    let (origin, target) = two_origins().await;
    let mut source = keyed_post(origin.url("/es"), RedirectPolicy::default());
    assert_eq!(next_ok(&mut source).await, SseItem::Open);
    assert_eq!(next_message(&mut source).await.data(), "elsewhere");
    let there = &target.requests()[0];
    assert_eq!(there.method, "POST");
    assert_eq!(there.header("x-api-key"), Some("k3y"));
    assert_eq!(there.header("content-type"), Some("application/json"));
    assert_eq!(there.body, b"{\"secret\":1}");
    assert_eq!(there.header("authorization"), None);
    assert_eq!(RedirectPolicy::default(), RedirectPolicy::Follow);
}

/// `SameOrigin` follows a redirect within the origin (headers and body kept), and refuses the
/// next hop to another origin: a typed, fatal error, and the other origin sees nothing.
#[tokio::test]
async fn same_origin_policy_refuses_a_cross_origin_redirect() {
    let (origin, target) = two_origins().await;
    let mut source = keyed_post(origin.url("/hop"), RedirectPolicy::SameOrigin);
    let error = next_err(&mut source).await;
    match &error {
        ClientError::RedirectBlocked { status, location } => {
            assert_eq!(*status, StatusCode::TEMPORARY_REDIRECT);
            assert_eq!(*location, target.url("/stream"));
        }
        other => panic!("expected RedirectBlocked, got {other:?}"),
    }
    assert!(error.is_fatal());
    assert_eq!(source.ready_state(), ReadyState::Closed);
    expect_end(&mut source).await;
    tokio::time::sleep(150 * MS).await;
    assert_eq!(target.connections(), 0);
    let requests = origin.requests();
    let paths: Vec<_> = requests.iter().map(|r| r.path.as_str()).collect();
    assert_eq!(paths, ["/hop", "/es"]); // the same-origin hop was followed, then no reconnection
    assert_eq!(requests[1].method, "POST");
    assert_eq!(requests[1].header("x-api-key"), Some("k3y"));
    assert_eq!(requests[1].header("authorization"), Some("Bearer secret"));
    assert_eq!(requests[1].body, b"{\"secret\":1}");
}

/// `SameOrigin` follows same-origin redirects to the stream, and they stick as usual.
#[tokio::test]
async fn same_origin_policy_follows_redirects_within_the_origin() {
    let server = Server::redirect_first_then(
        "307 Temporary Redirect",
        ("/es", "/es/moved"),
        "id: 1\ndata: a\n\n",
        "data: b\n\n",
    )
    .await;
    let mut source = keyed_post(server.url("/es"), RedirectPolicy::SameOrigin);
    assert_eq!(next_ok(&mut source).await, SseItem::Open);
    assert_eq!(next_message(&mut source).await.data(), "a");
    assert!(!next_err(&mut source).await.is_fatal());
    assert_eq!(next_ok(&mut source).await, SseItem::Open);
    assert_eq!(next_message(&mut source).await.data(), "b");
    let requests = server.requests();
    let paths: Vec<_> = requests.iter().map(|r| r.path.as_str()).collect();
    assert_eq!(paths, ["/es", "/es/moved", "/es/moved"]);
    for request in &requests[1..] {
        assert_eq!(request.method, "POST");
        assert_eq!(request.header("x-api-key"), Some("k3y"));
        assert_eq!(request.body, b"{\"secret\":1}");
    }
}

/// `Never` refuses even a same-origin redirect.
#[tokio::test]
async fn never_policy_refuses_every_redirect() {
    let server = Server::redirect_first_then("302 Found", ("/es", "/es/moved"), "", "").await;
    let mut source = EventSource::builder(server.url("/es"))
        .redirects(RedirectPolicy::Never)
        .reconnect(quick())
        .build()
        .unwrap();
    let error = next_err(&mut source).await;
    assert!(
        matches!(&error, ClientError::RedirectBlocked { status, location }
            if *status == StatusCode::FOUND && *location == server.url("/es/moved")),
        "{error:?}"
    );
    assert!(error.is_fatal());
    expect_end(&mut source).await;
    tokio::time::sleep(150 * MS).await;
    assert_eq!(server.connections(), 1);
}
