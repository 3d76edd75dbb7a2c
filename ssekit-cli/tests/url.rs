//! `ssekit URL` (watch mode): the binary against raw HTTP/1.1 servers on 127.0.0.1.

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::{Command, Output};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use common::{PATIENCE, read_head};

const SSE_HEAD: &str =
    "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n";

/// Serves one scripted response per connection, in order, then stops. Returns the URL and a
/// handle that gives back the requests it read (head lowercased, then the body).
fn serve(responses: Vec<String>) -> (String, JoinHandle<Vec<String>>) {
    serve_then(responses, false)
}

/// [`serve`], but the last connection is held open (no end of stream) until the client
/// closes it.
fn serve_and_hold(responses: Vec<String>) -> (String, JoinHandle<Vec<String>>) {
    serve_then(responses, true)
}

fn serve_then(responses: Vec<String>, hold_last: bool) -> (String, JoinHandle<Vec<String>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}/events", listener.local_addr().expect("addr"));
    let server = thread::spawn(move || {
        let mut requests = Vec::new();
        let count = responses.len();
        for (i, response) in responses.into_iter().enumerate() {
            let (mut stream, _) = listener.accept().expect("accept");
            let mut request = read_head(&mut stream);
            let length = request
                .lines()
                .find_map(|line| line.strip_prefix("content-length: "))
                .map_or(0, |n| n.trim().parse().expect("content-length"));
            let mut body = vec![0; length];
            stream.read_exact(&mut body).expect("body");
            request.push_str(&String::from_utf8_lossy(&body));
            requests.push(request);
            stream.write_all(response.as_bytes()).expect("write");
            if hold_last && i + 1 == count {
                // Until the client goes away (read gives 0 or an error).
                let _ = stream.read(&mut [0; 1]);
            }
            // Dropping the stream closes the connection: the end of the body.
        }
        requests
    });
    (url, server)
}

fn ssekit_cli(args: &[&str], stdin: &[u8]) -> Output {
    common::run(args, stdin)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).expect("UTF-8")
}

#[test]
fn json_no_reconnect_prints_exactly_what_the_parse_mode_prints() {
    let body = "retry: 100\nid: 1\ndata: a\ndata: b\n\n: comment\nevent: x\ndata: c\r\n\r\nid: 2\n\ndata: \u{e9}\n\nevent: cut\ndata: partial";
    let (url, server) = serve(vec![format!("{SSE_HEAD}{body}")]);
    let output = ssekit_cli(
        &[
            &url,
            "--json",
            "--no-reconnect",
            "-H",
            "Cookie: session=abc",
            "--header=X-Trace: 1",
            "--last-event-id",
            "0",
        ],
        b"",
    );
    let parsed = ssekit_cli(&[], body.as_bytes());
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
    let output = ssekit_cli(&[&url, "--no-reconnect"], b"");
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
fn reconnects_with_last_event_id_until_the_server_answers_204_and_exits_3() {
    let (url, server) = serve(vec![
        format!("{SSE_HEAD}retry: 10\nid: 1\ndata: a\n\n"),
        format!("{SSE_HEAD}data: b\n\nid: 2\ndata: cut"),
        "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n".to_owned(),
    ]);
    let output = ssekit_cli(&[&url, "--json"], b"");
    let stderr = text(&output.stderr);
    // A 204 is the server's "stop": closed for good.
    assert_eq!(output.status.code(), Some(3), "{stderr}");
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
fn the_wrong_content_type_exits_3_and_a_network_error_exits_4() {
    let (url, server) = serve(vec![
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_owned(),
    ]);
    let output = ssekit_cli(&[&url, "--json"], b"");
    assert_eq!(output.status.code(), Some(3));
    assert_eq!(text(&output.stdout), "{\"last_event_id\":\"\"}\n");
    assert!(text(&output.stderr).contains("text/plain"));
    server.join().expect("server");

    // Nothing listens there any more: a network error, and no retry with --no-reconnect.
    let output = ssekit_cli(&[&url, "--no-reconnect"], b"");
    assert_eq!(output.status.code(), Some(4));
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
        vec!["http://127.0.0.1:9/", "--count", "x"],
        vec!["http://127.0.0.1:9/", "--timeout", "0"],
        vec!["http://127.0.0.1:9/", "--event"],
        vec!["http://127.0.0.1:9/", "-X", "NOT A METHOD"],
        vec!["http://127.0.0.1:9/", "-d", "@/nonexistent/ssekit"],
        vec!["http://127.0.0.1:9/", "--raw", "--json"],
        vec!["watch"],
        vec!["watch", "--chunk-size", "1", "http://127.0.0.1:9/"],
    ] {
        let output = ssekit_cli(&args, b"");
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        assert!(output.stdout.is_empty(), "{args:?}");
        assert!(
            text(&output.stderr).contains("--help` prints the manual"),
            "{args:?}"
        );
    }
}

#[test]
fn another_status_than_200_exits_3() {
    let (url, server) = serve(vec![
        "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            .to_owned(),
    ]);
    let output = ssekit_cli(&["watch", &url], b"");
    assert_eq!(output.status.code(), Some(3));
    assert!(
        text(&output.stderr).contains("500"),
        "{}",
        text(&output.stderr)
    );
    server.join().expect("server");
}

#[test]
fn event_filters_and_count_stop_while_the_stream_is_still_open() {
    let body = "event: a\ndata: 1\n\nevent: b\ndata: 2\n\ndata: 3\n\nevent: c\ndata: 4\n\nevent: a\ndata: 5\n\nevent: a\ndata: 6\n\n";
    let (url, server) = serve_and_hold(vec![format!("{SSE_HEAD}{body}")]);
    let output = ssekit_cli(
        &[&url, "--event", "a", "--event=c", "--count", "3", "--json"],
        b"",
    );
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert_eq!(
        text(&output.stdout),
        concat!(
            "{\"type\":\"a\",\"data\":\"1\",\"id\":\"\"}\n",
            "{\"type\":\"c\",\"data\":\"4\",\"id\":\"\"}\n",
            "{\"type\":\"a\",\"data\":\"5\",\"id\":\"\"}\n",
            "{\"last_event_id\":\"\"}\n"
        )
    );
    // `message` is a type like any other.
    let (url, server2) = serve_and_hold(vec![format!("{SSE_HEAD}{body}")]);
    let output = ssekit_cli(&["watch", &url, "--event", "message", "--count", "1"], b"");
    assert_eq!(output.status.code(), Some(0));
    assert!(text(&output.stdout).ends_with("] message  3\n"));
    server.join().expect("server");
    server2.join().expect("server");
}

#[test]
fn timeout_stops_a_silent_stream_with_124() {
    let (url, server) = serve_and_hold(vec![format!("{SSE_HEAD}data: only\n\n")]);
    let started = Instant::now();
    let output = ssekit_cli(&[&url, "--timeout", "0.5", "--count", "2", "--json"], b"");
    let took = started.elapsed();
    assert_eq!(output.status.code(), Some(124), "{}", text(&output.stderr));
    assert!(
        took >= Duration::from_millis(500) && took < PATIENCE,
        "{took:?}"
    );
    assert_eq!(
        text(&output.stdout),
        "{\"type\":\"message\",\"data\":\"only\",\"id\":\"\"}\n{\"last_event_id\":\"\"}\n"
    );
    assert!(text(&output.stderr).contains("--timeout"));
    server.join().expect("server");
}

#[test]
fn data_posts_a_json_body_on_every_connection() {
    let (url, server) = serve(vec![
        format!("{SSE_HEAD}retry: 10\nid: 1\ndata: token\n\n"),
        format!("{SSE_HEAD}data: [DONE]\n\n"),
    ]);
    let body = r#"{"stream":true,"prompt":"hi"}"#;
    let output = ssekit_cli(&[&url, "-d", body, "--count", "2"], b"");
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert!(text(&output.stdout).ends_with("] message id=1  [DONE]\n"));
    let requests = server.join().expect("server");
    for request in &requests {
        assert!(
            request.starts_with("post /events http/1.1\r\n"),
            "{request}"
        );
        assert!(request.contains("content-type: application/json\r\n"));
        assert!(request.ends_with(&format!("\r\n\r\n{}", body.to_lowercase())));
    }
    assert!(requests[1].contains("last-event-id: 1\r\n"));
}

#[test]
fn method_header_and_data_from_a_file_or_stdin() {
    let file = std::env::temp_dir().join(format!("ssekit-test-{}.txt", std::process::id()));
    std::fs::write(&file, "from the file").expect("temp file");
    let (url, server) = serve(vec![
        format!("{SSE_HEAD}data: a\n\n"),
        format!("{SSE_HEAD}data: b\n\n"),
    ]);
    let at_file = format!("@{}", file.display());
    let args = [
        &url,
        "-X",
        "PUT",
        "--data",
        &at_file,
        "-H",
        "Content-Type: text/plain",
    ];
    let output = ssekit_cli(&[&args[..], &["--no-reconnect"]].concat(), b"");
    std::fs::remove_file(&file).expect("remove temp file");
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let output = ssekit_cli(
        &[&url, "--method=patch", "-d", "@-", "--no-reconnect"],
        b"stdin body",
    );
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let requests = server.join().expect("server");
    assert!(requests[0].starts_with("put /events"), "{}", requests[0]);
    assert!(requests[0].contains("content-type: text/plain\r\n"));
    assert!(!requests[0].contains("application/json"));
    assert!(requests[0].ends_with("\r\n\r\nfrom the file"));
    assert!(requests[1].starts_with("patch /events"), "{}", requests[1]);
    assert!(requests[1].ends_with("\r\n\r\nstdin body"));
}

#[test]
fn raw_output_is_sse_text_that_parses_back_to_the_json_output() {
    let body = "retry: 20\nid: 1\nevent: tick\ndata: one\r\ndata: two\n\n: comment\ndata: same id\n\nid:\ndata: reset\n\nid: 9\ndata: nine\n\n";
    let (url, server) = serve(vec![
        format!("{SSE_HEAD}{body}"),
        format!("{SSE_HEAD}{body}"),
    ]);
    let raw = ssekit_cli(&[&url, "--raw", "--no-reconnect"], b"");
    let json = ssekit_cli(&[&url, "--json", "--no-reconnect"], b"");
    server.join().expect("server");
    assert!(raw.status.success() && json.status.success());
    assert_eq!(
        text(&raw.stdout),
        "retry: 20\n\nevent: tick\nid: 1\ndata: one\ndata: two\n\ndata: same id\n\nid: \ndata: reset\n\nid: 9\ndata: nine\n\n"
    );
    let reparsed = ssekit_cli(&[] as &[&str], &raw.stdout);
    assert_eq!(text(&reparsed.stdout), text(&json.stdout));
}

#[test]
fn readable_output_is_coloured_only_on_a_terminal_without_no_color() {
    let body = "id: 7\nevent: tick\ndata: one\n\n";
    let (url, server) = serve(vec![format!("{SSE_HEAD}{body}"); 4]);
    // A pipe: no colour.
    let piped = ssekit_cli(&[&url, "--no-reconnect"], b"");
    assert!(text(&piped.stdout).ends_with("] tick id=7  one\n"));
    assert!(!text(&piped.stdout).contains('\x1b'));
    // A terminal, through script(1): colour, unless NO_COLOR is set or the output is JSON.
    let on_terminal = |extra: &str, no_color: Option<&str>| {
        let command = format!(
            "{} {url} --no-reconnect {extra}",
            env!("CARGO_BIN_EXE_ssekit")
        );
        let mut script = Command::new("script");
        script.args(["-qec", &command, "/dev/null"]);
        script.env_remove("NO_COLOR");
        if let Some(value) = no_color {
            script.env("NO_COLOR", value);
        }
        let output = script.output().expect("script(1) runs");
        assert!(output.status.success(), "{}", text(&output.stderr));
        text(&output.stdout)
    };
    let coloured = on_terminal("", None);
    assert!(
        coloured.contains("\x1b[1;36mtick\x1b[0m \x1b[33mid=7\x1b[0m  one"),
        "{coloured:?}"
    );
    assert!(!on_terminal("", Some("1")).contains("\x1b["));
    let json = on_terminal("--json", None);
    assert!(
        json.contains("{\"type\":\"tick\"") && !json.contains("\x1b["),
        "{json:?}"
    );
    server.join().expect("server");
}

#[test]
fn every_mode_prints_its_manual_and_exits_0() {
    for (args, title) in [
        (&["--help"][..], "ssekit - watch, serve and parse"),
        (&["-h"], "ssekit - watch, serve and parse"),
        (&["watch", "--help"], "ssekit watch - print the events"),
        (
            &["http://127.0.0.1:9/", "--help"],
            "ssekit watch - print the events",
        ),
        (&["serve", "--help"], "ssekit serve - serve stdin"),
    ] {
        let output = ssekit_cli(args, b"");
        assert_eq!(output.status.code(), Some(0), "{args:?}");
        let manual = text(&output.stdout);
        for section in ["NAME", title, "SYNOPSIS", "EXIT STATUS", "EXAMPLES"] {
            assert!(manual.contains(section), "{args:?}: no {section:?}");
        }
    }
}

#[test]
fn a_failed_write_to_stdout_exits_1() {
    let (url, server) = serve(vec![format!("{SSE_HEAD}data: x\n\n")]);
    let full = std::fs::File::create("/dev/full").expect("/dev/full");
    let output = Command::new(env!("CARGO_BIN_EXE_ssekit"))
        .args([&url, "--no-reconnect"])
        .stdout(full)
        .output()
        .expect("ssekit runs");
    assert_eq!(output.status.code(), Some(1));
    assert!(text(&output.stderr).contains("writing stdout"));
    server.join().expect("server");
}

/// Event data that would drive a terminal: ESC alone, OSC 0 (window title), OSC 52 (clipboard
/// write), ESC[2J (clear screen), and a C1 CSI.
const HOSTILE: [(&str, &str); 5] = [
    ("\x1b", "^["),
    ("\x1b]0;pwned\x07", "^[]0;pwned^G"),
    ("\x1b]52;c;cm0gLXJmIH4=\x07", "^[]52;c;cm0gLXJmIH4=^G"),
    ("\x1b[2J", "^[[2J"),
    ("\u{9b}31m", "\\u{9b}31m"),
];

#[test]
fn control_characters_are_shown_visibly_on_a_terminal_and_exact_elsewhere() {
    let body: String = HOSTILE
        .iter()
        .map(|(data, _)| format!("data: a{data}b\tc\n\n"))
        .collect();
    let (url, server) = serve(vec![format!("{SSE_HEAD}{body}"); 5]);
    // --escape always (what auto does on a terminal): each sequence visible, tabs kept.
    let escaped = text(&ssekit_cli(&[&url, "--no-reconnect", "--escape", "always"], b"").stdout);
    for (data, shown) in HOSTILE {
        assert!(
            escaped.contains(&format!("  a{shown}b\tc\n")),
            "{data:?} -> {escaped:?}"
        );
    }
    assert!(
        !escaped.contains('\x1b') && !escaped.contains('\u{9b}'),
        "{escaped:?}"
    );
    // A pipe (auto) and --escape never: the exact text.
    for extra in ["auto", "never"] {
        let exact = text(&ssekit_cli(&[&url, "--no-reconnect", "--escape", extra], b"").stdout);
        for (data, _) in HOSTILE {
            assert!(
                exact.contains(&format!("  a{data}b\tc\n")),
                "{extra}: {exact:?}"
            );
        }
    }
    // --raw stays exact even with --escape always.
    let raw = text(&ssekit_cli(&[&url, "--no-reconnect", "--raw", "--escape=always"], b"").stdout);
    assert_eq!(raw, body);
    // A terminal (script(1)) with the default, auto: escaped.
    let command = format!("{} {url} --no-reconnect", env!("CARGO_BIN_EXE_ssekit"));
    let output = Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .env("NO_COLOR", "1")
        .output()
        .expect("script(1) runs");
    let terminal = String::from_utf8_lossy(&output.stdout).into_owned();
    for (data, shown) in HOSTILE {
        assert!(
            terminal.contains(&format!("a{shown}b")),
            "{data:?} -> {terminal:?}"
        );
    }
    assert!(!terminal.contains('\x1b'), "{terminal:?}");
    server.join().expect("server");
}

#[test]
fn redirects_policy_and_idle_timeout_flags() {
    // A redirect to another origin: followed by default, refused (exit 5) with same-origin
    // and never.
    let (target, target_server) = serve(vec![format!("{SSE_HEAD}data: there\n\n")]);
    let redirect = format!(
        "HTTP/1.1 307 Temporary Redirect\r\nLocation: {}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        target.replace("127.0.0.1", "localhost")
    );
    let (url, server) = serve(vec![redirect.clone(); 3]);
    let followed = ssekit_cli(&[&url, "--no-reconnect", "--json"], b"");
    assert!(followed.status.success(), "{}", text(&followed.stderr));
    assert!(text(&followed.stdout).contains("\"data\":\"there\""));
    for policy in ["same-origin", "never"] {
        let blocked = ssekit_cli(&[&url, "--no-reconnect", "--redirects", policy], b"");
        assert_eq!(blocked.status.code(), Some(5), "{}", text(&blocked.stderr));
        assert!(text(&blocked.stdout).is_empty());
    }
    server.join().expect("server");
    target_server.join().expect("target");
    // A server that answers the head and then says nothing: --idle-timeout 0.3 gives up on it
    // (a network error, exit 4 with --no-reconnect) long before --timeout.
    let (url, server) = serve_and_hold(vec![SSE_HEAD.to_owned()]);
    let start = Instant::now();
    let silent = ssekit_cli(
        &[
            &url,
            "--no-reconnect",
            "--idle-timeout",
            "0.3",
            "--timeout",
            "20",
        ],
        b"",
    );
    assert_eq!(silent.status.code(), Some(4), "{}", text(&silent.stderr));
    assert!(start.elapsed() < Duration::from_secs(10));
    server.join().expect("server");
}
