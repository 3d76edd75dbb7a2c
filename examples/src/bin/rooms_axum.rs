//! Topics on axum: `cargo run -p examples --bin rooms-axum` (set `PORT` to change the port and
//! `ROOMS_SECRET` the token secret, `METRICS_TOKEN` the token `/metrics` asks for: without it
//! `/metrics` refuses every request), then, in two shells:
//!
//! ```text
//! T=$(curl -s 'http://127.0.0.1:8846/token?user=7')
//! curl -N "http://127.0.0.1:8846/events?topic=rooms/1/*&topic=users/7&authorization=$T"
//! curl -d hello "http://127.0.0.1:8846/publish?topic=rooms/1/chat&authorization=$T"
//! curl -H "Authorization: Bearer $METRICS_TOKEN" http://127.0.0.1:8846/metrics
//! ```
//!
//! The handlers are in `examples::rooms_axum`; it serves until Ctrl-C or `SIGTERM`.

use examples::bind_from_env_or;
use examples::rooms_axum::{self, ROOMS_PORT, RoomsState};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let listener = bind_from_env_or(ROOMS_PORT)?;
    let secret = std::env::var("ROOMS_SECRET").unwrap_or_else(|_| "demo secret".into());
    let metrics_token = std::env::var("METRICS_TOKEN").unwrap_or_default();
    let state = RoomsState::new(secret.as_bytes(), rooms_axum::install_metrics())
        .metrics_token(metrics_token);
    tokio::spawn(state.shutdown.trigger_on_signals()?);
    rooms_axum::serve(listener, state).await
}
