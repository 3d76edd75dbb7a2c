//! Topics on axum: chat rooms and private notifications behind one connection, with the
//! [`Broker`], JWT authorization and Prometheus metrics.
//!
//! | route | what |
//! |---|---|
//! | `GET /events?topic=rooms/1/*&topic=users/7` | [`Broker::admit_query`]: the token (query `authorization=`, `Authorization: Bearer`, or the `mercureAuthorization` cookie) must cover every topic, else `403` before any stream; `503` + `Retry-After` past a limit; then `Sse::from_broadcast` of the ticket, resuming every topic with one `Last-Event-ID` |
//! | `POST /publish?topic=rooms/1/chat` | the body as a message to each `topic`, if the token may publish there ([`Broker::check_publish_as`], before the body is read): `200` with `{"id": "<epoch>-<n>"}`, the event's id as subscribers see it, `403`, `400`, `413` past [`MAX_MESSAGE_BYTES`] (16 KiB, also refused before reading when `Content-Length` says so); a cookie-authenticated publish only from [`RoomsState::publish_origins`] (`403` otherwise) |
//! | `GET /?user=7` | the page ([`ROOMS_HTML`]): room 1 and user 7's notifications in one `EventSource`, and a second one that tries user 8's (refused: the browser shows it closed) |
//! | `GET /metrics` | the broker's metrics as Prometheus text, only with `Authorization: Bearer` the [`RoomsState::metrics_token`] (`401` otherwise, and always while none is set); topics are labelled only under `rooms/`, a user's private topic never |
//! | `GET /token?user=7` | **demo only**: a token that may read `rooms/*` and `users/7` and write `rooms/*`; a real application issues tokens at login |
//!
//! A user's private notifications are the topic `users/{id}`: another user's token does not
//! cover it, so no request can subscribe to it, and no event of it reaches anyone else's stream.
//!
//! Secure by default: every connection must send its request head within
//! [`HEAD_TIMEOUT`](crate::server::HEAD_TIMEOUT) (10 s, see [`crate::server`]); `POST /publish`
//! checks the origin of a cookie-authenticated request and the token before it reads the body,
//! and reads at most 16 KiB; `/metrics` needs a token and names no private topic.
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
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::header::{AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, WWW_AUTHENTICATE};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use ssekit::Event;
use ssekit::broker::jwt::jsonwebtoken::{EncodingKey, Header, encode};
use ssekit::broker::jwt::{Claims, JwtAuthorize, MercureClaim};
use ssekit::broker::{
    Broker, BrokerConfig, BrokerSubscription, Epoch, PublishError, RequestInfo, TOPIC_PARAM,
};
use ssekit::origin::PublishOrigins;
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
    metrics_token: Option<Arc<str>>,
    publish_origins: Option<PublishOrigins>,
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
        let epoch = Epoch::new(started.to_string()).expect("digits are an epoch");
        // Rooms are public names; a user's notifications (`users/{id}`) are never a label.
        let config = BrokerConfig::default()
            .epoch(epoch)
            .metric_topic_prefixes(["rooms/"]);
        RoomsState {
            broker: Broker::with_authorize(config, auth),
            secret: Arc::from(secret),
            metrics,
            metrics_token: None,
            publish_origins: None,
            shutdown: Shutdown::new(),
        }
    }

    /// The token `GET /metrics` asks for (`Authorization: Bearer TOKEN`); without one (the
    /// default) `/metrics` refuses every request. The binary reads it from `METRICS_TOKEN`.
    #[must_use]
    pub fn metrics_token(mut self, token: impl Into<String>) -> RoomsState {
        let token: String = token.into();
        self.metrics_token = (!token.is_empty()).then(|| Arc::from(token));
        self
    }

    /// The page origins a cookie-authenticated `POST /publish` may come from (see
    /// [`ssekit::origin`]). Default: the server's own origin, `http://` and the listener's
    /// address (and `http://localhost:PORT` on loopback), set by [`serve`]; behind a proxy or
    /// on a public name, set the origin the pages are served from.
    #[must_use]
    pub fn publish_origins(mut self, origins: PublishOrigins) -> RoomsState {
        self.publish_origins = Some(origins);
        self
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
        .route(
            "/publish",
            post(publish).layer(DefaultBodyLimit::max(MAX_MESSAGE_BYTES)),
        )
        .route("/metrics", get(metrics))
        .route("/token", get(token))
        .with_state(state)
}

async fn events(
    State(state): State<RoomsState>,
    BrokerRequest(request): BrokerRequest,
    last: LastEventId,
) -> Result<Sse<BrokerSubscription>, Rejected> {
    let ticket = state.broker.admit_query(&request)?; // 400, 403 or 503 before any stream
    Ok(Sse::from_broadcast(&ticket, &last).shutdown_on(state.shutdown.signal()))
}

/// `POST /publish`: everything that can refuse the request is checked on its head, before a
/// byte of the body is read: the origin of a cookie-authenticated request, the token and the
/// topics, the declared length. Then at most [`MAX_MESSAGE_BYTES`] are read.
async fn publish(
    State(state): State<RoomsState>,
    BrokerRequest(request): BrokerRequest,
    headers: HeaderMap,
    body: Body,
) -> Response {
    if let Some(origins) = &state.publish_origins
        && let Err(denied) = origins.check(&request)
    {
        return (StatusCode::FORBIDDEN, denied.to_string()).into_response();
    }
    let topics = request.query_params(TOPIC_PARAM);
    let topics = match state.broker.check_publish_as(&request, topics) {
        Ok(topics) => topics,
        Err(error) => return publish_error(error),
    };
    let declared = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|length| length > MAX_MESSAGE_BYTES as u64) {
        return StatusCode::PAYLOAD_TOO_LARGE.into_response();
    }
    let Ok(body) = axum::body::to_bytes(body, MAX_MESSAGE_BYTES).await else {
        return StatusCode::PAYLOAD_TOO_LARGE.into_response();
    };
    let Ok(text) = std::str::from_utf8(&body) else {
        return (StatusCode::BAD_REQUEST, "the message is not UTF-8").into_response();
    };
    match state.broker.publish(topics, Event::message(text)) {
        Ok(id) => (
            [(CONTENT_TYPE, "application/json")],
            // The id as it goes on the wire (`<epoch>-<n>`): what subscribers see and resume from.
            serde_json::json!({ "id": &*id }).to_string(),
        )
            .into_response(),
        Err(error) => publish_error(error),
    }
}

fn publish_error(error: PublishError) -> Response {
    match error {
        PublishError::Denied(denied) => (StatusCode::FORBIDDEN, denied.to_string()).into_response(),
        PublishError::TooManyTopics => StatusCode::SERVICE_UNAVAILABLE.into_response(),
        other => (StatusCode::BAD_REQUEST, other.to_string()).into_response(),
    }
}

/// Whether `headers` carry `Authorization: Bearer` the metrics token (compared in constant
/// time).
fn metrics_allowed(state: &RoomsState, headers: &HeaderMap) -> bool {
    let Some(expected) = &state.metrics_token else {
        return false;
    };
    let given = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    given.len() == expected.len()
        && given
            .bytes()
            .zip(expected.bytes())
            .fold(0, |diff, (a, b)| diff | (a ^ b))
            == 0
}

async fn metrics(State(state): State<RoomsState>, headers: HeaderMap) -> Response {
    if !metrics_allowed(&state, &headers) {
        return (StatusCode::UNAUTHORIZED, [(WWW_AUTHENTICATE, "Bearer")]).into_response();
    }
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

/// Serves [`app`] on `listener` until `state.shutdown` is triggered, with the request-head
/// timeout [`HEAD_TIMEOUT`](crate::server::HEAD_TIMEOUT) (see [`crate::server`]); the publish
/// origins default to the listener's own (see [`RoomsState::publish_origins`]).
pub async fn serve(listener: std::net::TcpListener, state: RoomsState) -> io::Result<()> {
    serve_with(listener, state, crate::server::HEAD_TIMEOUT).await
}

/// [`serve`] with another request-head timeout.
pub async fn serve_with(
    listener: std::net::TcpListener,
    mut state: RoomsState,
    head_timeout: Duration,
) -> io::Result<()> {
    if state.publish_origins.is_none() {
        let addr = listener.local_addr()?;
        let mut origins = vec![format!("http://{addr}")];
        if addr.ip().is_loopback() {
            origins.push(format!("http://localhost:{}", addr.port()));
        }
        state.publish_origins = Some(PublishOrigins::new(origins));
    }
    let shutdown = state.shutdown.signal();
    crate::server::serve(listener, app(state), shutdown, head_timeout).await
}
