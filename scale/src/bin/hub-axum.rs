//! The hub served by `sse-axum` (`Sse::from_broadcast`), on a two-worker tokio runtime.

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use sse_axum::{Event, Hub, LastEventId, Sse, Subscription};

async fn events(State(hub): State<Hub>, last: LastEventId) -> Sse<Subscription> {
    Sse::from_broadcast(&hub, &last)
}

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
        let app = Router::new().route("/events", get(events)).with_state(hub);
        axum::serve(listener, app).await
    })
}
