//! Graceful shutdown on Ctrl-C and `SIGTERM` (feature `signal`): signal -> [`Shutdown::trigger`]
//! -> every open event stream ends cleanly -> the server's graceful shutdown completes.
//!
//! An event stream never ends by itself, so a server waiting for its connections to finish
//! would wait for ever (or until a timeout cuts every stream with an error). With
//! [`Shutdown::trigger_on_signals`] the signal ends the streams first: each client sees a
//! complete response, waits its reconnection time (`retry:`) and reconnects, to the next
//! instance in a rolling deploy. `SIGTERM` is what systemd, Docker and Kubernetes send; Ctrl-C
//! (`SIGINT`) is what a terminal sends.
//!
//! The handlers are installed when [`Shutdown::trigger_on_signals`] is called, not when its
//! future is first polled, so a signal that arrives right after start-up is not missed. Call it
//! inside the runtime, before serving.
//!
//! The three wirings below are compiled and run (with a real `SIGTERM`) as the examples crate's
//! clock servers (`examples/src/bin/clock_{axum,actix,warp}.rs`, tested by
//! `examples/tests/signals.rs`); here they are not compiled, as this crate does not depend on
//! the frameworks.
//!
//! # axum
//!
//! ```ignore
//! # async fn run(listener: tokio::net::TcpListener, app: axum::Router) -> std::io::Result<()> {
//! use ssekit::Shutdown;
//!
//! let shutdown = Shutdown::new(); // cloned into the handlers: Sse::new(..).shutdown_on(shutdown.signal())
//! tokio::spawn(shutdown.trigger_on_signals()?);
//! axum::serve(listener, app)
//!     .with_graceful_shutdown(shutdown.signal())
//!     .await
//! # }
//! ```
//!
//! # actix-web
//!
//! actix-web handles signals itself, but stops the server before the streams end (it then waits
//! for its shutdown timeout). Turn that off and stop the server from the [`Shutdown`] handle:
//!
//! ```ignore
//! # async fn run(listener: std::net::TcpListener) -> std::io::Result<()> {
//! use actix_web::{App, HttpServer};
//! use ssekit::Shutdown;
//!
//! let shutdown = Shutdown::new();
//! actix_web::rt::spawn(shutdown.trigger_on_signals()?);
//! let server = HttpServer::new(|| App::new() /* routes using shutdown.signal() */)
//!     .disable_signals()
//!     .listen(listener)?
//!     .run();
//! let handle = server.handle();
//! let stopped = shutdown.signal();
//! actix_web::rt::spawn(async move {
//!     stopped.await;
//!     handle.stop(true).await; // graceful: the streams have ended already
//! });
//! server.await
//! # }
//! ```
//!
//! # warp
//!
//! ```ignore
//! # async fn run(listener: tokio::net::TcpListener) {
//! use ssekit::Shutdown;
//! use warp::Filter;
//!
//! let shutdown = Shutdown::new();
//! tokio::spawn(shutdown.trigger_on_signals().expect("signal handlers"));
//! let routes = warp::path("events").map(|| "..."); // Sse::new(..).shutdown_on(shutdown.signal())
//! warp::serve(routes)
//!     .incoming(listener)
//!     .graceful(shutdown.signal())
//!     .run()
//!     .await;
//! # }
//! ```

use std::fmt;
use std::future::Future;
use std::io;

use crate::Shutdown;

/// The signal that triggered a shutdown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Signal {
    /// `SIGINT`: Ctrl-C in a terminal.
    Interrupt,
    /// `SIGTERM`: what service managers (systemd, Docker, Kubernetes) send to stop a process.
    /// Only on Unix.
    Terminate,
}

impl fmt::Display for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Signal::Interrupt => "SIGINT (Ctrl-C)",
            Signal::Terminate => "SIGTERM",
        })
    }
}

impl Shutdown {
    /// Installs handlers for Ctrl-C (`SIGINT`) and, on Unix, `SIGTERM`, and returns a future
    /// that triggers this handle at the first of them and resolves to it.
    ///
    /// Spawn the future (`tokio::spawn`, `actix_web::rt::spawn`); see the [module
    /// docs](crate::signal) for each framework's wiring. Once installed, the handlers stay for
    /// the life of the process: a second signal no longer kills it (the graceful shutdown is
    /// already under way).
    ///
    /// # Errors
    ///
    /// When a handler cannot be installed (no tokio runtime with I/O enabled, or the operating
    /// system refused); nothing is triggered then.
    pub fn trigger_on_signals(
        &self,
    ) -> io::Result<impl Future<Output = Signal> + Send + 'static + use<>> {
        let shutdown = self.clone();
        let signals = Signals::install()?;
        Ok(async move {
            let signal = signals.recv().await;
            shutdown.trigger();
            signal
        })
    }
}

#[cfg(unix)]
struct Signals {
    interrupt: tokio::signal::unix::Signal,
    terminate: tokio::signal::unix::Signal,
}

#[cfg(unix)]
impl Signals {
    fn install() -> io::Result<Signals> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Signals {
            interrupt: signal(SignalKind::interrupt())?,
            terminate: signal(SignalKind::terminate())?,
        })
    }

    async fn recv(mut self) -> Signal {
        tokio::select! {
            _ = self.interrupt.recv() => Signal::Interrupt,
            _ = self.terminate.recv() => Signal::Terminate,
        }
    }
}

#[cfg(not(unix))]
struct Signals {
    ctrl_c: tokio::signal::windows::CtrlC,
}

#[cfg(not(unix))]
impl Signals {
    fn install() -> io::Result<Signals> {
        Ok(Signals {
            ctrl_c: tokio::signal::windows::ctrl_c()?,
        })
    }

    async fn recv(mut self) -> Signal {
        self.ctrl_c.recv().await;
        Signal::Interrupt
    }
}

#[cfg(all(test, unix))]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn sigterm_triggers_the_shutdown() {
        let shutdown = Shutdown::new();
        let waiting = tokio::spawn(shutdown.trigger_on_signals().expect("handlers"));
        assert!(!shutdown.is_triggered());
        // The handler is installed: SIGTERM to ourselves does not end the test process.
        let status = std::process::Command::new("kill")
            .args(["-TERM", &std::process::id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success());
        let signal = tokio::time::timeout(Duration::from_secs(5), waiting)
            .await
            .expect("the signal arrives")
            .expect("task");
        assert_eq!(signal, Signal::Terminate);
        assert!(shutdown.is_triggered());
        tokio::time::timeout(Duration::from_secs(1), shutdown.signal())
            .await
            .expect("streams watching the handle end");
    }
}
