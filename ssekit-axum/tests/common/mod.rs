//! The axum server every integration test of this crate starts.

use std::net::SocketAddr;

use axum::Router;
use conformance::e2e::within_hub;
use ssekit_axum::Shutdown;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// A server on 127.0.0.1, port 0, stopped by its [`Shutdown`].
pub(crate) struct Server {
    pub(crate) addr: SocketAddr,
    pub(crate) shutdown: Shutdown,
    task: JoinHandle<std::io::Result<()>>,
}

impl Server {
    pub(crate) async fn start(app: Router<Shutdown>) -> Server {
        let shutdown = Shutdown::new();
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local address");
        let app = app.with_state(shutdown.clone());
        let signal = shutdown.signal();
        let task = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(signal)
                .await
        });
        Server {
            addr,
            shutdown,
            task,
        }
    }

    /// Triggers the shutdown and waits for the server to finish (every stream must end).
    pub(crate) async fn stop(self) {
        self.shutdown.trigger();
        within_hub(self.task)
            .await
            .expect("server task")
            .expect("server");
    }
}
