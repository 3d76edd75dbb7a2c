//! Topics on axum: chat rooms and private notifications behind one connection, with the
//! [`Broker`], JWT authorization and Prometheus metrics.
//!
//! | route | what |
//! |---|---|
//! | `GET /events?topic=rooms/1/*&topic=users/7` | [`Broker::admit_query`]: the token (query `authorization=`, `Authorization: Bearer`, or the `mercureAuthorization` cookie) must cover every topic, else `403` before any stream; `503` + `Retry-After` past a limit; then `Sse::from_broadcast` of the ticket, resuming every topic with one `Last-Event-ID` |
//! | `POST /publish?topic=rooms/1/chat` | the body as a message to each `topic`, if the token may publish there ([`Broker::publish_as`]): `200` with `{"id": n}`, `403`, `400` |
//! | `GET /?user=7` | the page ([`ROOMS_HTML`]): room 1 and user 7's notifications in one `EventSource`, and a second one that tries user 8's (refused: the browser shows it closed) |
//! | `GET /metrics` | the broker's metrics as Prometheus text |
//! | `GET /token?user=7` | **demo only**: a token that may read `rooms/*` and `users/7` and write `rooms/*`; a real application issues tokens at login |
//!
//! A user's private notifications are the topic `users/{id}`: another user's token does not
//! cover it, so no request can subscribe to it, and no event of it reaches anyone else's stream.
//!
//! ```no_run
//! # async fn run() -> std::io::Result<()> {
//! use examples::rooms_axum::{self, RoomsState};
//!
//! let state = RoomsState::new(b"a long random secret", rooms_axum::install_metrics());
//! let listener = examples::bind_from_env_or(rooms_axum::ROOMS_PORT)?;
//! rooms_axum::serve(listener, state).await
//! # }
//! ```

use std::io;
use std::sync::{Arc, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::http::{StatusCode, Uri};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use ssekit::Event;
use ssekit::broker::jwt::jsonwebtoken::{EncodingKey, Header, encode};
use ssekit::broker::jwt::{Claims, JwtAuthorize, MercureClaim};
use ssekit::broker::{Broker, BrokerConfig, PublishError, RequestInfo, Subscription, TOPIC_PARAM};
use ssekit_axum::{BrokerRequest, LastEventId, Rejected, Shutdown, Sse};

/// The default port of `cargo run -p examples --bin rooms-axum`.
pub const ROOMS_PORT: u16 = 8846;

/// The largest message body `POST /publish` accepts.
pub const MAX_MESSAGE_BYTES: usize = 16 * 1024;

/// The page: follows `rooms/1/*` and `users/{user}` with the token of `?user=` (from the demo
/// `/token`), and tries another user's notifications, which the server refuses with a 403.
pub const ROOMS_HTML: &str = r#"<!doctype html>
<meta charset="utf-8">
<title>rooms</title>
<p>user <b id="user"></b>: <b id="state" data-ready-state="0">connecting</b>;
another user's notifications: <b id="snoop" data-ready-state="0">connecting</b></p>
<ul id="messages"></ul>
<script>
const user = new URLSearchParams(location.search).get('user') || '1';
const other = user === '7' ? '8' : '7';
document.getElementById('user').textContent = user;
const show = (el, source) => {
  el.dataset.readyState = source.readyState;
  el.textContent = ['connecting', 'open', 'closed'][source.readyState];
};
fetch('/token?user=' + encodeURIComponent(user)).then((r) => r.text()).then((token) => {
  const url = (topics) => '/events?' + topics.map((t) => 'topic=' + encodeURIComponent(t))
    .join('&') + '&authorization=' + encodeURIComponent(token);
  const state = document.getElementById('state');
  const es = new EventSource(url(['rooms/1/*', 'users/' + user]));
  es.onopen = es.onerror = () => show(state, es);
  es.onmessage = (e) => {
    const li = document.createElement('li');
    li.dataset.id = e.lastEventId;
    li.textContent = e.data;
    document.getElementById('messages').append(li);
  };
  // Not ours: answered 403 before any stream, so the browser fails the connection for good.
  const snoop = document.getElementById('snoop');
  const theirs = new EventSource(url(['users/' + other]));
  theirs.onopen = theirs.onerror = () => show(snoop, theirs);
  theirs.onmessage = (e) => { snoop.dataset.leaked = e.data; };
});
</script>
"#;

/// What the handlers share.
#[derive(Clone)]
pub struct RoomsState {
    /// The topics.
    pub broker: Broker,
    secret: Arc<[u8]>,
    metrics: Option<PrometheusHandle>,
    /// Ends every open stream (and so lets a graceful shutdown finish).
    pub shutdown: Shutdown,
}

impl RoomsState {
    /// A broker whose tokens are HS256 with `secret`; `metrics` renders `/metrics`.
    pub fn new(secret: &[u8], metrics: Option<PrometheusHandle>) -> RoomsState {
        let auth = JwtAuthorize::hs256(secret);
        // A new epoch per start: a client's id from before a restart gets a reset frame.
        let started = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis());
        let config = BrokerConfig::default().epoch(started.to_string());
        RoomsState {
            broker: Broker::with_authorize(config, auth),
            secret: Arc::from(secret),
            metrics,
            shutdown: Shutdown::new(),
        }
    }

    /// A token for `user`, valid for an hour (what `GET /token` hands out).
    pub fn token(&self, user: u64) -> Option<String> {
        let exp = SystemTime::now().duration_since(UNIX_EPOCH).ok()?.as_secs() + 3600;
        let claims = Claims {
            exp: Some(exp),
            mercure: MercureClaim {
                subscribe: vec!["rooms/*".into(), format!("users/{user}")],
                publish: vec!["rooms/*".into()],
            },
        };
        encode(
            &Header::default(),
            &claims,
            &EncodingKey::from_secret(&self.secret),
        )
        .ok()
    }
}

/// Installs the Prometheus recorder as the process's `metrics` recorder (once; later calls
/// return the same handle), or `None` when another recorder is installed.
pub fn install_metrics() -> Option<PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| PrometheusBuilder::new().install_recorder().ok())
        .clone()
}

/// The router.
pub fn app(state: RoomsState) -> Router {
    Router::new()
        .route("/", get(|| async { Html(ROOMS_HTML) }))
        .route("/events", get(events))
        .route("/publish", post(publish))
        .route("/metrics", get(metrics))
        .route("/token", get(token))
        .with_state(state)
}

async fn events(
    State(state): State<RoomsState>,
    BrokerRequest(request): BrokerRequest,
    last: LastEventId,
) -> Result<Sse<Subscription>, Rejected> {
    let ticket = state.broker.admit_query(&request)?; // 400, 403 or 503 before any stream
    Ok(Sse::from_broadcast(&ticket, &last).shutdown_on(state.shutdown.signal()))
}

async fn publish(
    State(state): State<RoomsState>,
    BrokerRequest(request): BrokerRequest,
    body: Bytes,
) -> Response {
    if body.len() > MAX_MESSAGE_BYTES {
        return StatusCode::PAYLOAD_TOO_LARGE.into_response();
    }
    let Ok(text) = std::str::from_utf8(&body) else {
        return (StatusCode::BAD_REQUEST, "the message is not UTF-8").into_response();
    };
    let topics = request.query_params(TOPIC_PARAM);
    match state
        .broker
        .publish_as(&request, &topics, Event::message(text))
    {
        Ok(id) => (
            [(CONTENT_TYPE, "application/json")],
            serde_json::json!({ "id": id }).to_string(),
        )
            .into_response(),
        Err(PublishError::Denied(denied)) => {
            (StatusCode::FORBIDDEN, denied.to_string()).into_response()
        }
        Err(PublishError::TooManyTopics) => StatusCode::SERVICE_UNAVAILABLE.into_response(),
        Err(other) => (StatusCode::BAD_REQUEST, other.to_string()).into_response(),
    }
}

async fn metrics(State(state): State<RoomsState>) -> Response {
    match &state.metrics {
        Some(handle) => (
            [(CONTENT_TYPE, "text/plain; version=0.0.4")],
            handle.render(),
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn token(State(state): State<RoomsState>, uri: Uri) -> Response {
    let user = RequestInfo::new()
        .query(uri.query().unwrap_or_default())
        .query_param("user")
        .and_then(|u| u.parse().ok());
    match user.and_then(|user| state.token(user)) {
        Some(token) => token.into_response(),
        None => (StatusCode::BAD_REQUEST, "?user=<number>").into_response(),
    }
}

/// Serves [`app`] on `listener` until `state.shutdown` is triggered.
pub async fn serve(listener: std::net::TcpListener, state: RoomsState) -> io::Result<()> {
    let listener = tokio::net::TcpListener::from_std(listener)?;
    let shutdown = state.shutdown.signal();
    axum::serve(listener, app(state))
        .with_graceful_shutdown(shutdown)
        .await
}
