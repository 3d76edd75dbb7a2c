//! A warp filter behind the edge (feature `edge`): [`serve`].

use std::future::{Future, IntoFuture};
use std::io;
use std::pin::Pin;

use hyper_util::service::TowerToHyperService;
use ssekit::Broadcast;
use ssekit::broker::{Rejection, RequestInfo};
use ssekit::edge::Edge;
use tokio::net::TcpListener;
use warp::Filter;
use warp::reply::Reply;

/// Serves `filter` on `listener` with event-stream routes below it, on the edge
/// ([`ssekit::edge`]): add them with [`Serve::stream_route`], then `.await`.
///
/// A `GET` of a stream route is served by the edge (a cursor and a socket per subscriber, no
/// task or buffer while it waits); every other request, and every HTTP/2 connection, is
/// answered by `filter` (as `warp::service(filter)` on hyper-util's server), with a head read
/// timeout. TLS stays with a proxy in front (or with the framework path).
///
/// ```no_run
/// use ssekit_warp::Hub;
/// use warp::Filter;
///
/// # async fn run() -> std::io::Result<()> {
/// let hub = Hub::new();
/// let hello = warp::path::end().map(|| "hello");
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
/// ssekit_warp::serve(listener, hello).stream_route("/events", hub.clone()).await
/// # }
/// ```
pub fn serve<F>(listener: TcpListener, filter: F) -> Serve<F>
where
    F: Filter + Clone + Send + Sync + 'static,
    F::Extract: Reply,
{
    Serve {
        listener,
        filter,
        edge: Edge::new(),
    }
}

/// The future of [`serve`], with its stream routes: `.await` it to serve.
#[must_use = "a Serve does nothing until awaited"]
#[derive(Debug)]
pub struct Serve<F> {
    listener: TcpListener,
    filter: F,
    edge: Edge,
}

impl<F> Serve<F> {
    /// Serves `broadcast` at `path` on the edge (see [`Edge::stream_route`]).
    pub fn stream_route<B>(mut self, path: impl Into<String>, broadcast: B) -> Serve<F>
    where
        B: Broadcast + Send + Sync + 'static,
    {
        self.edge = self.edge.stream_route(path, broadcast);
        self
    }

    /// Serves at `path` what `admit` allows, e.g. `move |request| broker.admit_query(request)`
    /// (see [`Edge::stream_route_with`]).
    pub fn stream_route_with<A, B>(mut self, path: impl Into<String>, admit: A) -> Serve<F>
    where
        A: Fn(&RequestInfo) -> Result<B, Rejection> + Send + Sync + 'static,
        B: Broadcast,
    {
        self.edge = self.edge.stream_route_with(path, admit);
        self
    }

    /// Uses `edge` (its settings and routes) instead of a default one.
    pub fn edge(mut self, edge: Edge) -> Serve<F> {
        self.edge = edge;
        self
    }

    /// Ends every stream and stops accepting when `signal` resolves.
    pub fn with_graceful_shutdown(
        mut self,
        signal: impl Future<Output = ()> + Send + 'static,
    ) -> Serve<F> {
        self.edge = self.edge.shutdown_on(signal);
        self
    }
}

impl<F> IntoFuture for Serve<F>
where
    F: Filter + Clone + Send + Sync + 'static,
    F::Extract: Reply,
{
    type Output = io::Result<()>;
    type IntoFuture = Pin<Box<dyn Future<Output = io::Result<()>> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        let app = TowerToHyperService::new(warp::service(self.filter));
        Box::pin(self.edge.serve(self.listener, app))
    }
}
