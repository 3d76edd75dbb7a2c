//! The chat on axum 0.8, with [`ssekit_axum`]: the hub wired to `GET /events` in one call,
//! [`Sse::from_broadcast`].
//!
//! | route | what |
//! |---|---|
//! | `GET /` | the page ([`CHAT_HTML`]) |
//! | `GET /events` | `Sse::from_broadcast(&hub, &last_event_id)`: the messages after the client's `Last-Event-ID` (header, or `?lastEventId=`), then live ones; `Access-Control-Allow-Origin: *` |
//! | `POST /send` | `{"user": "...", "text": "..."}` publishes a `chat` event; `200` with `{"id": "7"}`, `400` with the reason for an invalid body ([`Post::parse`](crate::chat::Post::parse)), `413` over [`MAX_BODY_BYTES`] |
//!
//! ```no_run
//! # async fn run() -> std::io::Result<()> {
//! use examples::chat::{CHAT_PORT, ChatState};
//! use examples::{bind_from_env_or, chat_axum};
//!
//! let state = ChatState::new();
//! tokio::spawn(state.shutdown.trigger_on_signals()?);
//! chat_axum::serve(bind_from_env_or(CHAT_PORT)?, state).await
//! # }
//! ```

use std::io;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::http::header::{ACCESS_CONTROL_ALLOW_ORIGIN, CONTENT_TYPE};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use ssekit_axum::{LastEventId, Sse};

use crate::chat::{CHAT_HTML, ChatState, MAX_BODY_BYTES};

/// The router: `GET /` the page, `GET /events` the hub's event stream, `POST /send` a message.
pub fn app(state: ChatState) -> Router {
    Router::new()
        .route("/", get(page))
        .route("/events", get(events))
        .route(
            "/send",
            post(send).layer(DefaultBodyLimit::max(MAX_BODY_BYTES)),
        )
        .with_state(state)
}

async fn page() -> Html<&'static str> {
    Html(CHAT_HTML)
}

async fn events(last_event_id: LastEventId, State(state): State<ChatState>) -> impl IntoResponse {
    let events =
        Sse::from_broadcast(&state.hub, &last_event_id).shutdown_on(state.shutdown.signal());
    ([(ACCESS_CONTROL_ALLOW_ORIGIN, "*")], events)
}

async fn send(State(state): State<ChatState>, body: Bytes) -> Response {
    match state.post(&body) {
        Ok(id) => {
            let json = serde_json::json!({ "id": &*id }).to_string();
            ([(CONTENT_TYPE, "application/json")], json).into_response()
        }
        Err(e) => (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
    }
}

/// Serves [`app`] on `listener` until `state.shutdown` is triggered; open event streams end
/// then, so the graceful shutdown completes at once. Request heads have
/// [`HEAD_TIMEOUT`](crate::server::HEAD_TIMEOUT) (see [`crate::server`]).
pub async fn serve(listener: std::net::TcpListener, state: ChatState) -> io::Result<()> {
    let shutdown = state.shutdown.signal();
    crate::server::serve(listener, app(state), shutdown, crate::server::HEAD_TIMEOUT).await
}
