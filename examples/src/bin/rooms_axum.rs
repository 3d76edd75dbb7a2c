//! Topics on axum: `cargo run -p examples --bin rooms-axum` (set `PORT` to change the port and
//! `ROOMS_SECRET` the token secret), then, in two shells:
//!
//! ```text
//! T=$(curl -s 'http://127.0.0.1:8846/token?user=7')
//! curl -N "http://127.0.0.1:8846/events?topic=rooms/1/*&topic=users/7&authorization=$T"
//! curl -d hello "http://127.0.0.1:8846/publish?topic=rooms/1/chat&authorization=$T"
//! curl http://127.0.0.1:8846/metrics
//! ```
//!
//! The handlers are in `examples::rooms_axum`; it serves until Ctrl-C or `SIGTERM`.

use examples::bind_from_env_or;
use examples::rooms_axum::{self, ROOMS_PORT, RoomsState};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let listener = bind_from_env_or(ROOMS_PORT)?;
    let secret = std::env::var("ROOMS_SECRET").unwrap_or_else(|_| "demo secret".into());
    let state = RoomsState::new(secret.as_bytes(), rooms_axum::install_metrics());
    tokio::spawn(state.shutdown.trigger_on_signals()?);
    rooms_axum::serve(listener, state).await
}
