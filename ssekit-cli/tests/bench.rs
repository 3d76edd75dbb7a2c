//! `ssekit bench`: the binary against `ssekit serve` and against a hand-written HTTP/1.1
//! server on 127.0.0.1 port 0. Counts, never timings.

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::{Proc, read_head};
use serde_json::Value;

/// Runs `ssekit bench args --json` to the end and returns its report.
fn bench(args: &[&str]) -> Value {
    let output = common::run(&[&["bench"], args, &["--json"]].concat(), b"");
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("one JSON object")
}

fn now_us() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_micros()
}

#[test]
fn every_connection_gets_its_events_from_serve() {
    let mut server = Proc::start(&["serve", "--listen", "127.0.0.1:0"]);
    let line = server.wait_for_stderr("serving on http://");
    let start = line.find("http://").expect("a URL");
    let end = start + line[start..].find(' ').expect("text after the URL");
    let url = format!("{}events", &line[start..end]);
    let mut client = Command::new(env!("CARGO_BIN_EXE_ssekit"))
        .args([
            "bench", &url, "-c", "20", "--events", "5", "-d", "30", "--json",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("ssekit bench starts");
    // Publish a timestamped event every 20 ms until every connection has its five.
    let deadline = Instant::now() + Duration::from_secs(30);
    while client.try_wait().expect("try_wait").is_none() {
        assert!(Instant::now() < deadline, "bench did not finish");
        server.write(&format!("{}\n", now_us()));
        thread::sleep(Duration::from_millis(20));
    }
    let output = client.wait_with_output().expect("bench output");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let report: Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(report["connected"], 20, "{report}");
    assert_eq!(report["failures"], 0);
    assert_eq!(report["events"], 100);
    assert_eq!(report["per_connection"]["min"], 5);
    assert_eq!(report["per_connection"]["max"], 5);
    assert_eq!(report["latency_us"]["count"], 100, "every event is timed");
    assert_eq!(report["first_event_us"]["count"], 20);
    assert_eq!(report["resets"], 0);
}

/// A server that answers each request (only when it carries `Last-Event-ID: 42`) with a
/// chunked body cut at odd places: a reset event, three timed events, an untimed comment
/// and event, then the end of the body.
fn chunked_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = listener.local_addr().expect("address");
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { break };
            thread::spawn(move || answer(stream));
        }
    });
    format!("http://{address}/stream")
}

fn answer(mut stream: TcpStream) {
    let head = read_head(&mut stream);
    if !head.contains("\r\nlast-event-id: 42\r\n") {
        let _ = stream.write_all(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n");
        return;
    }
    let mut body = String::from("event: sse-reset\ndata: lost\n\n");
    for n in 0..3 {
        body.push_str(&format!(
            "id: {n}\ndata: {{\"n\":{n},\"t\":{}}}\n\n",
            now_us()
        ));
    }
    body.push_str(": comment\n\ndata: untimed\r\n\r\n");
    let mut wire = Vec::from(
        &b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"[..],
    );
    for piece in body.as_bytes().chunks(7) {
        wire.extend_from_slice(format!("{:x};x=y\r\n", piece.len()).as_bytes());
        wire.extend_from_slice(piece);
        wire.extend_from_slice(b"\r\n");
    }
    wire.extend_from_slice(b"0\r\n\r\n");
    for part in wire.chunks(5) {
        if stream.write_all(part).is_err() {
            return;
        }
    }
    // Hold the connection open: the end of the chunked body ends the stream, not the socket.
    let mut rest = Vec::new();
    let _ = stream.read_to_end(&mut rest);
}

#[test]
fn chunked_bodies_resets_and_the_end_of_a_stream_are_counted() {
    let url = chunked_server();
    let report = bench(&[&url, "-c", "30", "-d", "20", "--last-event-id", "42"]);
    assert_eq!(report["connected"], 30, "{report}");
    assert_eq!(report["ended_by_server"], 30);
    assert_eq!(report["events"], 30 * 4);
    assert_eq!(report["latency_us"]["count"], 30 * 3);
    assert_eq!(report["resets"], 30);
    assert_eq!(report["reset_connections"], 30);

    let refused = bench(&[&url, "-c", "3", "-d", "20"]);
    assert_eq!(refused["failures"], 3, "{refused}");
    assert_eq!(refused["errors"][0]["error"], "status 404 Not Found");
    assert_eq!(refused["errors"][0]["count"], 3);
}

#[test]
fn stalled_connections_are_reported_open_while_the_server_keeps_them() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = listener.local_addr().expect("address");
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { break };
            thread::spawn(move || {
                read_head(&mut stream);
                let _ = stream.write_all(
                    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\r\ndata: 1\n\n",
                );
                let mut rest = Vec::new();
                let _ = stream.read_to_end(&mut rest);
            });
        }
    });
    let url = format!("http://{address}/");
    let report = bench(&[&url, "-c", "4", "--stalled", "2", "-d", "2.5"]);
    assert_eq!(report["connected"], 4, "{report}");
    assert_eq!(report["stalled"], 2);
    assert_eq!(report["stalled_ended"], 0);
    assert_eq!(
        report["events"], 2,
        "the two reading connections got one event each"
    );
}

#[test]
fn bad_arguments_exit_2() {
    for args in [
        &["bench"][..],
        &["bench", "https://127.0.0.1/"],
        &["bench", "http://127.0.0.1:1/", "--connections", "none"],
        &["bench", "http://127.0.0.1:1/", "--duration", "0"],
        &["bench", "http://127.0.0.1:1/", "--frobnicate"],
    ] {
        let output = common::run(args, b"");
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        assert!(String::from_utf8_lossy(&output.stderr).contains("ssekit bench --help"));
    }
    let help = common::run(&["bench", "--help"], b"");
    assert_eq!(help.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&help.stdout).contains("LATENCY CONVENTION"));
}

#[test]
fn connections_come_from_the_source_addresses_in_turn() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}/events", listener.local_addr().expect("addr"));
    let peers = thread::spawn(move || {
        let mut peers = Vec::new();
        for stream in listener.incoming().take(4) {
            let mut stream = stream.expect("accept");
            peers.push(stream.peer_addr().expect("peer").ip().to_string());
            let _ = read_head(&mut stream);
            let _ = stream.write_all(
                b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n",
            );
        }
        peers
    });
    let report = bench(&[
        &url,
        "-c",
        "4",
        "-d",
        "1",
        "--source",
        "127.0.0.2-127.0.0.3",
    ]);
    assert_eq!(report["connected"], 4, "{report}");
    let mut peers = peers.join().expect("server");
    peers.sort();
    assert_eq!(peers, ["127.0.0.2", "127.0.0.2", "127.0.0.3", "127.0.0.3"]);
    let output = common::run(&["bench", &url, "--source", "127.0.0.9-127.0.0.2"], b"");
    assert_eq!(output.status.code(), Some(2));
}
