//! The clock on axum 0.8, with [`ssekit_axum`].
//!
//! ```no_run
//! # async fn run() -> std::io::Result<()> {
//! use examples::{ClockState, bind_from_env, clock_axum};
//!
//! let state = ClockState::new();
//! tokio::spawn(state.shutdown.trigger_on_signals()?);
//! clock_axum::serve(bind_from_env()?, state).await
//! # }
//! ```

use std::io;

use axum::Router;
use axum::extract::State;
use axum::http::header::ACCESS_CONTROL_ALLOW_ORIGIN;
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use ssekit_axum::{LastEventId, Sse};

use crate::{CLOCK_HTML, ClockState};

/// The router: `GET /` the page, `GET /stream` the clock events.
pub fn app(state: ClockState) -> Router {
    Router::new()
        .route("/", get(page))
        .route("/stream", get(stream))
        .with_state(state)
}

async fn page() -> Html<&'static str> {
    Html(CLOCK_HTML)
}

async fn stream(
    LastEventId(last_event_id): LastEventId,
    State(state): State<ClockState>,
) -> impl IntoResponse {
    let events = Sse::new(state.connect(last_event_id)).shutdown_on(state.shutdown.signal());
    ([(ACCESS_CONTROL_ALLOW_ORIGIN, "*")], events)
}

/// Serves [`app`] on `listener` until `state.shutdown` is triggered; open streams end then, so
/// the graceful shutdown completes at once. Request heads have
/// [`HEAD_TIMEOUT`](crate::server::HEAD_TIMEOUT) (see [`crate::server`]).
pub async fn serve(listener: std::net::TcpListener, state: ClockState) -> io::Result<()> {
    let shutdown = state.shutdown.signal();
    crate::server::serve(listener, app(state), shutdown, crate::server::HEAD_TIMEOUT).await
}
