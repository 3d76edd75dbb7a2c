//! The clock on warp 0.4, with [`ssekit_warp`].
//!
//! ```no_run
//! # async fn run() -> std::io::Result<()> {
//! use examples::{ClockState, bind_from_env, clock_warp};
//!
//! let state = ClockState::new();
//! tokio::spawn(state.shutdown.trigger_on_signals()?);
//! clock_warp::serve(bind_from_env()?, state).await
//! # }
//! ```

use std::io;

use ssekit_warp::{LastEventId, Sse};
use warp::{Filter, Rejection, Reply};

use crate::{CLOCK_HTML, ClockState};

/// The routes: `GET /` the page, `GET /stream` the clock events.
pub fn routes(
    state: ClockState,
) -> impl Filter<Extract = (impl Reply,), Error = Rejection> + Clone + Send + Sync + 'static {
    let page = warp::get()
        .and(warp::path::end())
        .map(|| warp::reply::html(CLOCK_HTML));
    let stream = warp::get()
        .and(warp::path("stream"))
        .and(warp::path::end())
        .and(ssekit_warp::last_event_id())
        .map(move |LastEventId(last_event_id)| {
            let events =
                Sse::new(state.connect(last_event_id)).shutdown_on(state.shutdown.signal());
            warp::reply::with_header(events, "access-control-allow-origin", "*")
        });
    page.or(stream)
}

/// Serves [`routes`] on `listener` until `state.shutdown` is triggered; open streams end then,
/// so the graceful shutdown completes at once. Request heads have
/// [`HEAD_TIMEOUT`](crate::server::HEAD_TIMEOUT) (see [`crate::server`]).
pub async fn serve(listener: std::net::TcpListener, state: ClockState) -> io::Result<()> {
    let shutdown = state.shutdown.signal();
    let service = warp::service(routes(state));
    crate::server::serve(listener, service, shutdown, crate::server::HEAD_TIMEOUT).await
}
