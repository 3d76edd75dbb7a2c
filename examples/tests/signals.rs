//! The shutdown wiring of each framework's example, with a real signal: the clock servers
//! (`clock-axum`, `clock-actix`, `clock-warp`) run as processes, a client holds a stream open,
//! the process gets `SIGTERM` (what systemd, Docker and Kubernetes send) and must end the
//! stream cleanly (a complete chunked body, not a cut connection) and exit with success at
//! once, not after a shutdown timeout. `ssekit::Shutdown::trigger_on_signals` is the
//! helper under test; the wiring is each binary's.

mod support;

use std::time::{Duration, Instant};

use support::{BodyEnd, Example, Next, Request, SseClient};

async fn sigterm_ends_streams_and_exits(binary: &'static str) {
    let mut server = tokio::task::spawn_blocking(move || Example::start(binary, &[]))
        .await
        .expect("start");
    let mut client = SseClient::open(server.addr, Request::get("/stream")).await;
    assert_eq!(client.status, 200);
    let (_, connecttime) = client.event(Duration::from_secs(5)).await;
    assert!(connecttime.ends_with(" UTC"), "{connecttime:?}");

    let signalled = Instant::now();
    support::send_signal(server.child.id(), "TERM");
    loop {
        match client.next(Duration::from_secs(3)).await {
            Next::Item(_) => {}
            Next::End(end) => {
                assert_eq!(end, BodyEnd::Complete, "{binary}: the stream ends cleanly");
                break;
            }
            Next::Timeout => panic!("{binary}: the stream is still open 3 s after SIGTERM"),
        }
    }
    let ended = signalled.elapsed();
    let server = tokio::task::spawn_blocking(move || {
        server.wait_success(Duration::from_secs(5));
        server
    })
    .await
    .expect("exit");
    eprintln!(
        "{}: stream ended {ended:?} after SIGTERM, process exited {:?} after it",
        server.name,
        signalled.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_framework_example_stops_gracefully_on_sigterm() {
    tokio::join!(
        sigterm_ends_streams_and_exits(env!("CARGO_BIN_EXE_clock-axum")),
        sigterm_ends_streams_and_exits(env!("CARGO_BIN_EXE_clock-actix")),
        sigterm_ends_streams_and_exits(env!("CARGO_BIN_EXE_clock-warp")),
    );
}
