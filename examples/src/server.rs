//! How the axum and warp examples serve HTTP: hyper's HTTP/1.1 connection with a request-head
//! timeout, so a client that sends its request line and headers slowly (one byte a second,
//! a slowloris) or not at all cannot hold a connection and its file descriptor.
//!
//! `axum::serve` and `warp::serve` set no timer, so hyper's head timeout never fires there:
//! 500 connections sending a byte a second stay open for as long as they keep it up. Every
//! example serves through [`serve`] instead, with [`HEAD_TIMEOUT`] (10 s, the edge's). The
//! actix-web example sets actix's own `client_request_timeout` to the same value.
//!
//! A connection whose writes make no progress for [`SEND_TIMEOUT`] (30 s) is closed too: a
//! subscriber that stops reading fills its socket buffers, and then hyper stops polling the
//! response body, so the hub's stall rule can end the subscription but nothing would close
//! the connection, leaving the file descriptor and megabytes of send queue pinned for as long
//! as the client keeps it open. [`limit_unsent`] sets the socket's `TCP_USER_TIMEOUT` (Linux):
//! the kernel aborts the connection once sent data has gone unacknowledged, or the peer's
//! window has stayed shut, for that long; the write then fails and the server drops the
//! connection. [`serve`] sets it on every connection, the actix-web example in `on_connect`.
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

/// How long a connection's writes may make no progress (a client that stopped reading: its
/// window stays shut) before the kernel aborts it: 30 s, six times the hub's and the broker's
/// 5 s stall timeout, so a stalled subscriber is ended by the stall rule first and then loses
/// its socket. See [`limit_unsent`].
pub const SEND_TIMEOUT: Duration = Duration::from_secs(30);

/// Sets `TCP_USER_TIMEOUT` on `socket` (Linux, Android; elsewhere nothing): the kernel aborts
/// the connection when data it sent stays unacknowledged, or the peer's receive window stays
/// shut, for `timeout`. A server's next write on it then fails, and the server drops it.
pub fn limit_unsent<S: std::os::fd::AsFd>(socket: &S, timeout: Duration) -> io::Result<()> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        socket2::SockRef::from(socket).set_tcp_user_timeout(Some(timeout))
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        let _ = (socket, timeout);
        Ok(())
    }
}

/// How long a graceful shutdown waits for open connections (the event streams have ended on
/// the same trigger) before it returns anyway.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves `service` (an axum `Router`, `warp::service(filter)`, any tower service) on
/// `listener`, one HTTP/1.1 connection per client with a `head_timeout` for every request
/// head ([`HEAD_TIMEOUT`] in the examples) and [`SEND_TIMEOUT`] for writes, until `shutdown`
/// resolves; then stops accepting and waits (at most 10 s) for the open connections to finish.
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
    serve_timeouts(listener, service, shutdown, head_timeout, SEND_TIMEOUT).await
}

/// [`serve`] with another send timeout (see [`limit_unsent`]).
pub async fn serve_timeouts<S, B>(
    listener: std::net::TcpListener,
    service: S,
    shutdown: impl Future<Output = ()>,
    head_timeout: Duration,
    send_timeout: Duration,
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
        let _ = limit_unsent(&tcp, send_timeout);
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
