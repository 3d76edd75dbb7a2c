//! How the axum and warp examples serve HTTP: hyper's HTTP/1.1 connection with a request-head
//! timeout, so a client that sends its request line and headers slowly (one byte a second,
//! a slowloris) or not at all cannot hold a connection and its file descriptor.
//!
//! `axum::serve` and `warp::serve` set no timer, so hyper's head timeout never fires there:
//! 500 connections sending a byte a second stay open for as long as they keep it up. Every
//! example serves through [`serve`] instead, with [`HEAD_TIMEOUT`] (10 s, the edge's). The
//! actix-web example sets actix's own `client_request_timeout` to the same value.
//!
//! What it gives up against `axum::serve`: HTTP/2 without TLS (h2c) and protocol upgrades; the
//! TLS example serves HTTP/2 with its own loop.

use std::error::Error;
use std::future::Future;
use std::io;
use std::pin::pin;
use std::time::Duration;

use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;

/// How long a connection may take to send a complete request head (request line and headers)
/// before the example servers close it: 10 s, the same as the edge's
/// (`ssekit::edge::EdgeConfig`). Counted from when the server starts reading a head.
pub const HEAD_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a graceful shutdown waits for open connections (the event streams have ended on
/// the same trigger) before it returns anyway.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves `service` (an axum `Router`, `warp::service(filter)`, any tower service) on
/// `listener`, one HTTP/1.1 connection per client with a `head_timeout` for every request
/// head ([`HEAD_TIMEOUT`] in the examples), until `shutdown` resolves; then stops accepting
/// and waits (at most 10 s) for the open connections to finish.
pub async fn serve<S, B>(
    listener: std::net::TcpListener,
    service: S,
    shutdown: impl Future<Output = ()>,
    head_timeout: Duration,
) -> io::Result<()>
where
    S: tower_service::Service<http::Request<Incoming>, Response = http::Response<B>>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    S::Error: Into<Box<dyn Error + Send + Sync>>,
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn Error + Send + Sync>>,
{
    let listener = tokio::net::TcpListener::from_std(listener)?;
    let graceful = GracefulShutdown::new();
    let mut stopping = pin!(shutdown);
    loop {
        let tcp = tokio::select! {
            () = &mut stopping => break,
            accepted = listener.accept() => match accepted {
                Ok((tcp, _)) => tcp,
                Err(e) => {
                    // Out of file descriptors (EMFILE) and the like: wait instead of spinning.
                    eprintln!("accept: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let _ = tcp.set_nodelay(true);
        let connection = http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(head_timeout)
            .serve_connection(TokioIo::new(tcp), TowerToHyperService::new(service.clone()));
        let watched = graceful.watch(connection);
        tokio::spawn(async move {
            let _ = watched.await;
        });
    }
    drop(listener);
    let _ = tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown()).await;
    Ok(())
}
