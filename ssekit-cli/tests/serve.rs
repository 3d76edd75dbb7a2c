//! `ssekit serve`: the binary on 127.0.0.1 port 0, its clients the binary in watch mode and
//! raw HTTP/1.1 requests.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;

use common::{Finished, Proc, read_head};

/// Starts `ssekit serve --listen 127.0.0.1:0 args` and returns it with its base URL
/// (`http://127.0.0.1:PORT`), read from the line it prints on stderr.
fn serve(args: &[&str]) -> (Proc, String) {
    let mut server = Proc::start(&[&["serve", "--listen", "127.0.0.1:0"], args].concat());
    let line = server.wait_for_stderr("serving on http://");
    let start = line.find("http://").expect("a URL") + "http://".len();
    let end = start + line[start..].find('/').expect("a path");
    let base = format!("http://{}", &line[start..end]);
    (server, base)
}

/// A watch client that has connected (its stderr says so).
fn client(args: &[&str]) -> Proc {
    let mut client = Proc::start(args);
    client.wait_for_stderr("connected to");
    client
}

/// What `ssekit URL --json` prints for these `(type, data, id)` events (data JSON-escaped
/// already): their lines, then the last id.
fn json_output(events: &[(&str, &str, &str)]) -> String {
    let mut out = String::new();
    for (event_type, data, id) in events {
        out.push_str(&format!(
            "{{\"type\":\"{event_type}\",\"data\":\"{data}\",\"id\":\"{id}\"}}\n"
        ));
    }
    let last = events.last().map_or("", |(_, _, id)| id);
    out + &format!("{{\"last_event_id\":\"{last}\"}}\n")
}

/// `GET path` with `headers`, read up to `until` (or the end): the head and the body.
fn get(base: &str, path: &str, headers: &str, until: &str) -> (String, String) {
    let mut stream = TcpStream::connect(base.trim_start_matches("http://")).expect("connect");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\n{headers}\r\n"
    )
    .expect("request");
    let head = read_head(&mut stream);
    let mut body = Vec::new();
    let mut chunk = [0; 4096];
    while !String::from_utf8_lossy(&body).contains(until) {
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => body.extend_from_slice(&chunk[..n]),
        }
    }
    (head, String::from_utf8_lossy(&body).into_owned())
}

fn assert_exit_0(finished: &Finished) {
    assert_eq!(finished.code, Some(0), "{}", finished.stderr);
}

/// Sends the server `signal`; it says `says` on stderr and exits 0.
fn stop(server: Proc, signal: &str, says: &str) {
    server.signal(signal);
    let finished = server.finish();
    assert_exit_0(&finished);
    assert!(finished.stderr.contains(says), "{}", finished.stderr);
}

#[test]
fn two_clients_get_every_line_and_a_reconnect_resumes_after_its_id() {
    let (mut server, base) = serve(&[]);
    let events = format!("{base}/events");
    let first = client(&[&events, "--json", "--count", "3"]);
    let second = client(&["watch", &events, "--json", "--count", "3"]);
    server.write("one\ntwo\r\n");
    server.write("three\n");
    let expected = json_output(&[
        ("message", "one", "1"),
        ("message", "two", "2"),
        ("message", "three", "3"),
    ]);
    for watcher in [first, second] {
        let finished = watcher.finish();
        assert_exit_0(&finished);
        assert_eq!(finished.stdout, expected);
    }

    // stdin ends; the server keeps serving its window.
    server.close_stdin();
    server.wait_for_stderr("end of stdin");
    let resumed = Proc::start(&[&events, "--json", "--last-event-id", "1", "--count", "2"]);
    let finished = resumed.finish();
    assert_exit_0(&finished);
    assert_eq!(
        finished.stdout,
        json_output(&[("message", "two", "2"), ("message", "three", "3")])
    );
    // The same through the header, from a client that is not ssekit.
    let (head, body) = get(&base, "/events", "Last-Event-ID: 2\r\n", "three");
    assert!(head.starts_with("http/1.1 200 ok\r\n"), "{head}");
    assert!(
        head.contains("content-type: text/event-stream\r\n"),
        "{head}"
    );
    assert!(
        body.contains("id: 3\ndata: three\n\n") && !body.contains("two"),
        "{body}"
    );

    stop(server, "TERM", "terminated");
}

#[test]
fn sse_input_keeps_types_ids_and_lines_and_exit_on_eof_lets_clients_finish() {
    let (mut server, base) = serve(&["--format", "sse", "--exit-on-eof"]);
    let watcher = client(&[&format!("{base}/events"), "--json", "--no-reconnect"]);
    server.write("retry: 50\nevent: tick\nid: a\ndata: 1\r\ndata: 2\n\n: comment\n");
    server.write("data: no id of its own\n\nid: b\ndata: x\n\n");
    // An id of its own that the hub gave already: published, with a warning.
    server.write("id: 2\ndata: again\n\ndata: cut off");
    let finished = server.finish();
    assert_exit_0(&finished);
    assert!(
        finished.stderr.contains("end of stdin"),
        "{}",
        finished.stderr
    );
    // The hub closed: the client got everything, then a clean end of stream.
    let watched = watcher.finish();
    assert_exit_0(&watched);
    assert_eq!(
        watched.stdout,
        "{\"retry\":50}\n".to_owned()
            + &json_output(&[
                ("tick", "1\\n2", "a"),
                ("message", "no id of its own", "2"),
                ("message", "x", "b"),
                ("message", "again", "2"),
            ])
    );
}

#[test]
fn json_input_and_the_page_that_listens_to_its_types() {
    let (mut server, base) = serve(&["--format=json"]);
    let watcher = client(&[&format!("{base}/events"), "--json", "--count", "3"]);
    server.write(concat!(
        "{\"event\":\"deploy\",\"data\":{\"step\":1},\"id\":\"d1\"}\n",
        "this is not JSON\n",
        "{\"type\":\"message\",\"data\":\"plain\"}\n",
        "{\"event\":\"deploy\",\"data\":\"done\",\"id\":42}\n",
    ));
    let watched = watcher.finish();
    assert_exit_0(&watched);
    assert_eq!(
        watched.stdout,
        json_output(&[
            ("deploy", "{\\\"step\\\":1}", "d1"),
            ("message", "plain", "2"),
            ("deploy", "done", "42")
        ])
    );
    server.wait_for_stderr("stdin line 2: not JSON");

    let (head, page) = get(&base, "/", "Connection: close\r\n", "</html>");
    assert!(head.starts_with("http/1.1 200 ok\r\n"), "{head}");
    assert!(head.contains("content-type: text/html"), "{head}");
    assert!(page.contains("new EventSource(\"/events\")"), "{page}");
    assert!(
        page.contains("const types = [\"message\",\"sse-reset\",\"deploy\"];"),
        "{page}"
    );

    stop(server, "INT", "interrupted");
}

#[test]
fn bad_serve_arguments_exit_2_and_a_busy_address_exits_1() {
    for args in [
        &["serve", "--listen", "nowhere"][..],
        &["serve", "--listen"],
        &["serve", "--format", "xml"],
        &["serve", "--bogus"],
        &["serve", "http://127.0.0.1:9/"],
    ] {
        let output = common::run(args, b"");
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        assert!(output.stdout.is_empty(), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("`ssekit serve --help`"), "{stderr}");
    }
    let (server, base) = serve(&[]);
    let taken = base.trim_start_matches("http://");
    let busy = Proc::start(&["serve", "--listen", taken]).finish();
    assert_eq!(busy.code, Some(1), "{}", busy.stderr);
    assert!(busy.stderr.contains(taken), "{}", busy.stderr);
    drop(server);
}

/// A raw HTTP/1.1 exchange: `request` sent, everything read until the server closes.
fn exchange(base: &str, request: &str) -> String {
    let mut stream = TcpStream::connect(base.trim_start_matches("http://")).expect("connect");
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .expect("timeout");
    stream.write_all(request.as_bytes()).expect("request");
    let mut got = Vec::new();
    let _ = stream.read_to_end(&mut got);
    String::from_utf8_lossy(&got).into_owned()
}

#[test]
fn both_engines_serve_the_stream_and_the_axum_engine_resumes_too() {
    for engine in ["edge", "axum"] {
        let (mut server, base) = serve(&["--engine", engine]);
        let watcher = client(&[&format!("{base}/events"), "--json", "--count", "2"]);
        server.write("one\ntwo\n");
        let watched = watcher.finish();
        assert_exit_0(&watched);
        assert_eq!(
            watched.stdout,
            json_output(&[("message", "one", "1"), ("message", "two", "2")]),
            "{engine}"
        );
        let resumed = client(&[
            &format!("{base}/events"),
            "--json",
            "--count",
            "1",
            "--last-event-id",
            "1",
        ])
        .finish();
        assert_eq!(
            resumed.stdout,
            json_output(&[("message", "two", "2")]),
            "{engine}"
        );
        stop(server, "TERM", "terminated");
    }
}

#[test]
fn on_loopback_only_loopback_host_names_are_answered() {
    for engine in ["edge", "axum"] {
        let (server, base) = serve(&["--engine", engine]);
        for path in ["/", "/events"] {
            let refused = exchange(
                &base,
                &format!(
                    "GET {path} HTTP/1.1\r\nHost: rebound.attacker.example\r\nConnection: close\r\n\r\n"
                ),
            );
            assert!(
                refused.starts_with("HTTP/1.1 403 "),
                "{engine} {path}: {refused}"
            );
            for host in ["localhost:8845", "127.0.0.1", "[::1]:1"] {
                let (head, _) = get(
                    &base,
                    path,
                    &format!("Host: {host}\r\nConnection: close\r\n"),
                    "",
                );
                assert!(
                    head.starts_with("http/1.1 200 ok\r\n"),
                    "{engine} {path} {host}: {head}"
                );
            }
        }
        drop(server);
    }
}

#[test]
fn a_request_head_that_does_not_arrive_in_time_is_closed() {
    for engine in ["edge", "axum"] {
        let (server, base) = serve(&["--engine", engine, "--head-timeout", "0.3"]);
        let started = std::time::Instant::now();
        // Half a head, then nothing: the server closes the connection without an answer.
        let answer = exchange(&base, "GET / HTTP/1.1\r\nHost: local");
        let took = started.elapsed();
        assert!(!answer.contains("200"), "{engine}: {answer}");
        assert!(
            took < std::time::Duration::from_secs(4),
            "{engine}: {took:?}"
        );
        assert!(
            took >= std::time::Duration::from_millis(250),
            "{engine}: {took:?}"
        );
        drop(server);
    }
}
