//! The clock on actix-web 4, with [`ssekit_actix_web`].
//!
//! ```no_run
//! # async fn run() -> std::io::Result<()> {
//! use examples::{ClockState, bind_from_env, clock_actix};
//!
//! let state = ClockState::new();
//! tokio::spawn(state.shutdown.trigger_on_signals()?);
//! clock_actix::serve(bind_from_env()?, state).await
//! # }
//! ```

use std::io;

use actix_web::http::header::{ACCESS_CONTROL_ALLOW_ORIGIN, ContentType};
use actix_web::web::{self, Data, ServiceConfig};
use actix_web::{App, HttpResponse, HttpServer, Responder};
use ssekit_actix_web::{LastEventId, Sse};

use crate::{CLOCK_HTML, ClockState};

/// The routes, to pass to `App::configure`: `GET /` the page, `GET /stream` the clock events.
pub fn configure(state: ClockState) -> impl Fn(&mut ServiceConfig) + Clone + Send + 'static {
    move |config| {
        config
            .app_data(Data::new(state.clone()))
            .route("/", web::get().to(page))
            .route("/stream", web::get().to(stream));
    }
}

async fn page() -> HttpResponse {
    HttpResponse::Ok()
        .content_type(ContentType::html())
        .body(CLOCK_HTML)
}

async fn stream(
    LastEventId(last_event_id): LastEventId,
    state: Data<ClockState>,
) -> impl Responder {
    Sse::new(state.connect(last_event_id))
        .shutdown_on(state.shutdown.signal())
        .customize()
        .insert_header((ACCESS_CONTROL_ALLOW_ORIGIN, "*"))
}

/// Serves [`configure`]'s routes on `listener` until `state.shutdown` is triggered; open streams
/// end then, so the graceful shutdown completes at once.
///
/// actix's own signal handling is turned off: Ctrl-C and `SIGTERM` go through `state.shutdown`
/// (see [`Shutdown::trigger_on_signals`](ssekit::Shutdown::trigger_on_signals)), which ends
/// the streams first. Runs on a
/// plain tokio runtime as well as in an actix `System`.
pub async fn serve(listener: std::net::TcpListener, state: ClockState) -> io::Result<()> {
    let shutdown = state.shutdown.signal();
    let routes = configure(state);
    let server = HttpServer::new(move || App::new().configure(routes.clone()))
        .workers(2)
        .disable_signals()
        // By the time the server stops, `state.shutdown` has ended every stream; what is left
        // are idle keep-alive connections (a browser keeps its one until it reconnects), which
        // actix would otherwise wait for until its keep-alive timeout.
        .shutdown_timeout(1)
        // A request head not complete in 10 s closes the connection (actix's default is 5 s;
        // stated here, the same as the other examples' `server::HEAD_TIMEOUT`).
        .client_request_timeout(crate::server::HEAD_TIMEOUT)
        // A client that stops reading loses its connection (see `server::limit_unsent`).
        .on_connect(|connection, _| {
            if let Some(tcp) = connection.downcast_ref::<actix_web::rt::net::TcpStream>() {
                let _ = crate::server::limit_unsent(tcp, crate::server::SEND_TIMEOUT);
            }
        })
        .listen(listener)?
        .run();
    let handle = server.handle();
    tokio::spawn(async move {
        shutdown.await;
        handle.stop(true).await;
    });
    server.await
}
