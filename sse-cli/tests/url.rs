//! `sse-cli URL`: the binary against raw HTTP/1.1 servers on 127.0.0.1.

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Output;
use std::thread::{self, JoinHandle};
use std::time::Duration;

const SSE_HEAD: &str =
    "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n";

/// Serves one scripted response per connection, in order, then stops. Returns the URL and a
/// handle that gives back the request heads it read.
fn serve(responses: Vec<String>) -> (String, JoinHandle<Vec<String>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}/events", listener.local_addr().expect("addr"));
    let server = thread::spawn(move || {
        let mut heads = Vec::new();
        for response in responses {
            let (mut stream, _) = listener.accept().expect("accept");
            heads.push(read_head(&mut stream));
            stream.write_all(response.as_bytes()).expect("write");
            // Dropping the stream closes the connection: the end of the body.
        }
        heads
    });
    (url, server)
}

fn read_head(stream: &mut TcpStream) -> String {
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => break,
        }
    }
    String::from_utf8_lossy(&head).to_lowercase()
}

fn sse_cli(args: &[&str], stdin: &[u8]) -> Output {
    common::run(args, stdin)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).expect("UTF-8")
}

#[test]
fn json_no_reconnect_prints_exactly_what_the_parse_mode_prints() {
    let body = "retry: 100\nid: 1\ndata: a\ndata: b\n\n: comment\nevent: x\ndata: c\r\n\r\nid: 2\n\ndata: \u{e9}\n\nevent: cut\ndata: partial";
    let (url, server) = serve(vec![format!("{SSE_HEAD}{body}")]);
    let output = sse_cli(
        &[
            &url,
            "--json",
            "--no-reconnect",
            "--header",
            "Cookie: session=abc",
            "--header=X-Trace: 1",
            "--last-event-id",
            "0",
        ],
        b"",
    );
    let parsed = sse_cli(&[], body.as_bytes());
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(text(&output.stdout), text(&parsed.stdout));
    assert!(text(&output.stdout).contains("{\"type\":\"x\",\"data\":\"c\",\"id\":\"1\"}\n"));
    assert!(!text(&output.stdout).contains("partial"));
    let stderr = text(&output.stderr);
    assert!(stderr.contains("connected to"), "{stderr}");
    assert!(stderr.contains("ended"), "{stderr}");
    let heads = server.join().expect("server");
    assert_eq!(heads.len(), 1);
    assert!(
        heads[0].starts_with("get /events http/1.1\r\n"),
        "{}",
        heads[0]
    );
    for line in [
        "cookie: session=abc\r\n",
        "x-trace: 1\r\n",
        "last-event-id: 0\r\n",
        "accept: text/event-stream\r\n",
        "cache-control: no-cache\r\n",
    ] {
        assert!(heads[0].contains(line), "{line:?} not in {}", heads[0]);
    }
}

#[test]
fn readable_output_indents_multi_line_data() {
    let body = "id: 7\nevent: tick\ndata: one\ndata: two\n\ndata: plain\n\n";
    let (url, server) = serve(vec![format!("{SSE_HEAD}{body}")]);
    let output = sse_cli(&[&url, "--no-reconnect"], b"");
    assert!(output.status.success(), "{}", text(&output.stderr));
    let stdout = text(&output.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{stdout}");
    assert!(lines[0].starts_with("[+"), "{stdout}");
    let (prefix, first) = lines[0].split_once("] ").expect("timestamp");
    assert_eq!(first, "tick id=7  one");
    let indent = prefix.len() + 2 + "tick id=7  ".len();
    assert_eq!(lines[1], format!("{}two", " ".repeat(indent)));
    assert!(lines[2].ends_with("] message id=7  plain"), "{stdout}");
    server.join().expect("server");
}

#[test]
fn reconnects_with_last_event_id_until_the_server_answers_204() {
    let (url, server) = serve(vec![
        format!("{SSE_HEAD}retry: 10\nid: 1\ndata: a\n\n"),
        format!("{SSE_HEAD}data: b\n\nid: 2\ndata: cut"),
        "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n".to_owned(),
    ]);
    let output = sse_cli(&[&url, "--json"], b"");
    let stderr = text(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert_eq!(
        text(&output.stdout),
        "{\"retry\":10}\n{\"type\":\"message\",\"data\":\"a\",\"id\":\"1\"}\n{\"type\":\"message\",\"data\":\"b\",\"id\":\"1\"}\n{\"last_event_id\":\"1\"}\n"
    );
    assert_eq!(
        stderr.matches("reconnecting in 10ms").count(),
        2,
        "{stderr}"
    );
    assert!(stderr.contains("204"), "{stderr}");
    let heads = server.join().expect("server");
    assert!(!heads[0].contains("last-event-id"));
    // The id of the cut-off event is not sent.
    assert!(heads[1].contains("last-event-id: 1\r\n"));
    assert!(heads[2].contains("last-event-id: 1\r\n"));
}

#[test]
fn a_failed_connection_exits_1() {
    let (url, server) = serve(vec![
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_owned(),
    ]);
    let output = sse_cli(&[&url, "--json"], b"");
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(text(&output.stdout), "{\"last_event_id\":\"\"}\n");
    assert!(text(&output.stderr).contains("text/plain"));
    server.join().expect("server");

    // Nothing listens there any more: a network error, and no retry with --no-reconnect.
    let output = sse_cli(&[&url, "--no-reconnect"], b"");
    assert_eq!(output.status.code(), Some(1));
    assert!(output.stdout.is_empty());
    assert!(text(&output.stderr).contains("network error"));
}

#[test]
fn bad_url_mode_arguments_exit_2_and_print_nothing_on_stdout() {
    for args in [
        vec!["--json"],
        vec!["--no-reconnect", "--chunk-size", "3"],
        vec!["http://127.0.0.1:9/", "--header", "no colon"],
        vec!["http://127.0.0.1:9/", "--header", "bad name: x"],
        vec!["http://127.0.0.1:9/", "--last-event-id"],
        vec!["http://127.0.0.1:9/", "--bogus"],
    ] {
        let output = sse_cli(&args, b"");
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        assert!(output.stdout.is_empty(), "{args:?}");
    }
}
