//! The warp server every integration test of this crate starts.

use std::net::SocketAddr;

use conformance::e2e::within_hub;
use ssekit_warp::Shutdown;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use warp::filters::BoxedFilter;
use warp::reply::Reply;

/// A server on 127.0.0.1, port 0, stopped by its [`Shutdown`].
pub(crate) struct Server {
    pub(crate) addr: SocketAddr,
    pub(crate) shutdown: Shutdown,
    task: JoinHandle<()>,
}

impl Server {
    /// Serves the routes `make` builds (they get the server's [`Shutdown`]).
    pub(crate) async fn start<R: Reply + 'static>(
        make: impl FnOnce(Shutdown) -> BoxedFilter<(R,)>,
    ) -> Server {
        let shutdown = Shutdown::new();
        let routes = make(shutdown.clone());
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local address");
        let server = warp::serve(routes)
            .incoming(listener)
            .graceful(shutdown.signal());
        let task = tokio::spawn(server.run());
        Server {
            addr,
            shutdown,
            task,
        }
    }

    /// Triggers the shutdown and waits for the server to finish (every stream must end).
    pub(crate) async fn stop(self) {
        self.shutdown.trigger();
        within_hub(self.task).await.expect("server task");
    }
}
