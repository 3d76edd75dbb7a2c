//! One instance of a news feed on Redis Streams, ready for rolling restarts:
//! `cargo run -p examples --bin news-redis` (needs a Redis: `REDIS_URL`, default
//! `redis://127.0.0.1:6379`; `PORT`, default 8846, `PORT=0` for any free one).
//!
//! | route | what |
//! |---|---|
//! | `GET /events` | the feed, resuming after `Last-Event-ID` (header or `?lastEventId=`) on any instance; `retry:` first |
//! | `POST /publish` | the body (UTF-8 text, at most 16 KiB) is published as one event to every instance; answers its id. Unauthenticated: a demo; put a real publish behind a token (see the rooms example) |
//!
//! Run two on one Redis, connect to one, stop it with `SIGTERM` (or Ctrl-C): its streams end
//! with a spread-out `retry:`, the client reconnects to the other with its `Last-Event-ID` and
//! misses nothing (`examples/tests/rolling_restart.rs` does exactly that). `RETRY_MS`,
//! `SPREAD_MS` and `KEEP_ALIVE_MS` set [`examples::deploy::StreamConfig`]; `SSE_KEY` the
//! stream's key (default `sse:news`).

use std::time::Duration;

use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::routing::post;
use examples::deploy::{Events, StreamConfig};
use ssekit_proto::Event;
use ssekit_redis::{RedisHub, RedisHubConfig};

/// The default port.
const PORT: u16 = 8846;

/// The largest body `POST /publish` reads (axum's default would be 2 MiB).
const MAX_MESSAGE_BYTES: usize = 16 * 1024;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let key = std::env::var("SSE_KEY").unwrap_or_else(|_| "sse:news".into());
    let defaults = StreamConfig::default();
    let config = StreamConfig {
        retry: millis_from_env("RETRY_MS")?.unwrap_or(defaults.retry),
        spread: millis_from_env("SPREAD_MS")?.unwrap_or(defaults.spread),
        keep_alive: millis_from_env("KEEP_ALIVE_MS")?.unwrap_or(defaults.keep_alive),
        shutdown: defaults.shutdown,
    };
    // Installed before anything else, so a SIGTERM during start-up is not lost.
    let signals = config.shutdown.trigger_on_signals()?;
    let hub = RedisHub::connect(
        ssekit_redis::redis::Client::open(url)?,
        RedisHubConfig::new(key).max_len(10_000),
    )
    .await?;
    let events = Events::new(hub.clone(), config.clone());
    let app = axum::Router::new()
        .route(
            "/publish",
            post(publish).layer(DefaultBodyLimit::max(MAX_MESSAGE_BYTES)),
        )
        .with_state(hub)
        .merge(events.router());
    let listener = examples::bind_from_env_or(PORT)?;
    tokio::spawn(async move {
        let signal = signals.await;
        eprintln!("{signal}: ending every stream, then stopping");
    });
    // Request heads have 10 s (examples::server::HEAD_TIMEOUT).
    examples::server::serve(
        listener,
        app,
        config.shutdown.signal(),
        examples::server::HEAD_TIMEOUT,
    )
    .await?;
    eprintln!("stopped");
    Ok(())
}

async fn publish(State(hub): State<RedisHub>, body: String) -> (StatusCode, String) {
    match hub.publish(Event::message(body)).await {
        Ok(id) => (StatusCode::OK, format!("{id}\n")),
        Err(e) => (StatusCode::SERVICE_UNAVAILABLE, format!("{e}\n")),
    }
}

fn millis_from_env(name: &str) -> Result<Option<Duration>, String> {
    match std::env::var(name) {
        Ok(value) => value
            .trim()
            .parse()
            .map(|ms| Some(Duration::from_millis(ms)))
            .map_err(|e| format!("{name}={value:?}: {e}")),
        Err(_) => Ok(None),
    }
}
