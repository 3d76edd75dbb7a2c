//! The hub on the edge (`ssekit_axum::serve(listener, router).stream_route("/events", hub)`):
//! the stream route below the framework, an axum `Router` for everything else, on a two-worker
//! tokio runtime (the edge's reactor is one more thread).

use axum::Router;
use axum::routing::get;
use ssekit_axum::{Event, Hub};

fn main() -> std::io::Result<()> {
    let args = scale::ServerArgs::from_env()?;
    let hub = Hub::new();
    let publisher = hub.clone();
    scale::spawn_publisher(move |data| {
        publisher.publish(Event::message(data));
    });
    scale::runtime()?.block_on(async move {
        let listener = scale::listen(args.backlog)?;
        scale::announce(listener.local_addr()?)?;
        let app = Router::new().route("/", get(|| async { "the edge's application" }));
        ssekit_axum::serve(listener, app)
            .stream_route("/events", hub)
            .await
    })
}
