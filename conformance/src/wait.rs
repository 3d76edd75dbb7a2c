//! Bounded waits for async tests: [`within`], the one helper every test that awaits
//! something with a deadline uses (the end-to-end checks, the Redis tests, the examples').

use std::future::Future;
use std::time::Duration;

/// Awaits `future`, failing the test (a panic naming `what`) if it takes longer than `limit`.
///
/// The limit is a safety net against a hang, never what a test asserts: tests that observe
/// time (stalls, timeouts) use an injected clock or tokio's paused time instead.
pub async fn within<F: Future>(limit: Duration, what: &str, future: F) -> F::Output {
    match tokio::time::timeout(limit, future).await {
        Ok(output) => output,
        Err(_) => panic!("timed out after {limit:?}: {what}"),
    }
}
