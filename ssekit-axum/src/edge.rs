//! An axum app behind the edge (feature `edge`): [`serve`].

use std::future::{Future, IntoFuture};
use std::io;
use std::pin::Pin;

use axum::Router;
use hyper_util::service::TowerToHyperService;
use ssekit::Broadcast;
use ssekit::broker::{Rejection, RequestInfo};
use ssekit::edge::Edge;
use tokio::net::TcpListener;

/// Serves `router` on `listener` with event-stream routes below it, on the edge
/// ([`ssekit::edge`]): add them with [`Serve::stream_route`], then `.await`.
///
/// A `GET` of a stream route is served by the edge (a cursor and a socket per subscriber, no
/// task or buffer while it waits); every other request, and every HTTP/2 connection, is
/// answered by `router` exactly as `axum::serve` answers it, with a head read timeout. TLS stays
/// with a proxy in front (or with the framework path: `Sse::from_broadcast`).
///
/// ```no_run
/// use axum::{Router, routing::get};
/// use ssekit_axum::Hub;
///
/// # async fn run() -> std::io::Result<()> {
/// let hub = Hub::new();
/// let router = Router::new().route("/", get(|| async { "hello" }));
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
/// ssekit_axum::serve(listener, router).stream_route("/events", hub.clone()).await
/// # }
/// ```
pub fn serve(listener: TcpListener, router: Router) -> Serve {
    Serve {
        listener,
        router,
        edge: Edge::new(),
    }
}

/// The future of [`serve`], with its stream routes: `.await` it to serve.
#[must_use = "a Serve does nothing until awaited"]
#[derive(Debug)]
pub struct Serve {
    listener: TcpListener,
    router: Router,
    edge: Edge,
}

impl Serve {
    /// Serves `broadcast` at `path` on the edge (see [`Edge::stream_route`]).
    pub fn stream_route<B>(mut self, path: impl Into<String>, broadcast: B) -> Serve
    where
        B: Broadcast + Send + Sync + 'static,
    {
        self.edge = self.edge.stream_route(path, broadcast);
        self
    }

    /// Serves at `path` what `admit` allows, e.g. `move |request| broker.admit_query(request)`
    /// (see [`Edge::stream_route_with`]).
    pub fn stream_route_with<F, B>(mut self, path: impl Into<String>, admit: F) -> Serve
    where
        F: Fn(&RequestInfo) -> Result<B, Rejection> + Send + Sync + 'static,
        B: Broadcast,
    {
        self.edge = self.edge.stream_route_with(path, admit);
        self
    }

    /// Uses `edge` (its settings and routes) instead of a default one.
    pub fn edge(mut self, edge: Edge) -> Serve {
        self.edge = edge;
        self
    }

    /// Ends every stream and stops accepting when `signal` resolves.
    pub fn with_graceful_shutdown(
        mut self,
        signal: impl Future<Output = ()> + Send + 'static,
    ) -> Serve {
        self.edge = self.edge.shutdown_on(signal);
        self
    }
}

impl IntoFuture for Serve {
    type Output = io::Result<()>;
    type IntoFuture = Pin<Box<dyn Future<Output = io::Result<()>> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        let app = TowerToHyperService::new(self.router);
        Box::pin(self.edge.serve(self.listener, app))
    }
}
