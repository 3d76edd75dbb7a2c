//! The topic broker over actix-web: `Broker::admit_query` in a handler, a `Rejection` answered
//! with its status (and `Retry-After`) before any stream starts, `Sse::from_broadcast` of the
//! ticket. The checks are `conformance::broker`'s, shared with every adapter.

#[allow(dead_code)]
mod common;

use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::{Either, HttpRequest, HttpResponse, web};
use common::Server;
use conformance::broker;
use sse_actix::{KeepAlive, LastEventId, Shutdown, Sse};
use sse_server::broker::{Broker, Rejection, RequestInfo, Subscription};

/// The answer to a refused subscribe.
fn refuse(rejection: &Rejection) -> HttpResponse {
    let status =
        StatusCode::from_u16(rejection.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = HttpResponse::build(status);
    if let Some(retry) = rejection.retry_after_header() {
        response.insert_header(("Retry-After", retry));
    }
    response.body(rejection.to_string())
}

async fn events(
    request: HttpRequest,
    last: LastEventId,
    broker: web::Data<Broker>,
    shutdown: web::Data<Shutdown>,
) -> Either<Sse<Subscription>, HttpResponse> {
    let headers = request.headers().iter();
    let info = RequestInfo::from_parts(
        headers.map(|(n, v)| (n.as_str(), v.as_bytes())),
        Some(request.query_string()),
    );
    match broker.admit_query(&info) {
        // actix notices a client that went away when it next writes to it: keep-alive
        // comments every 100 ms make that prompt in these tests.
        Ok(ticket) => Either::Left(
            Sse::from_broadcast(&ticket, &last)
                .keep_alive(KeepAlive::new().interval(Duration::from_millis(100)))
                .shutdown_on(shutdown.signal()),
        ),
        Err(rejection) => Either::Right(refuse(&rejection)),
    }
}

#[actix_web::test]
async fn authorization_limits_and_one_id_resume_over_http() {
    let broker = broker::broker();
    let data = web::Data::new(broker.clone());
    let server = Server::start(move |cfg| {
        cfg.app_data(data.clone())
            .route("/broker", web::get().to(events));
    });
    broker::check_broker(server.addr, &broker).await;
    server.stop().await;
}
