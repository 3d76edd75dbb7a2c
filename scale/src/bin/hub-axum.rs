//! The hub served by `ssekit-axum` (`Sse::from_broadcast`), on a two-worker tokio runtime.
//!
//! By default it serves the way `ssekit-axum`'s crate docs recommend for many long-lived streams
//! (section "Serving many connections"): each connection through hyper's HTTP/1 builder
//! directly ([`scale::serve_http1`]). With `--defaults` it serves through `axum::serve` (hyper-util's
//! `auto` builder, HTTP/1 and HTTP/2, upgrades), what most axum code does.

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use ssekit_axum::{Event, Hub, HubSubscription, LastEventId, Sse};

async fn events(State(hub): State<Hub>, last: LastEventId) -> Sse<HubSubscription> {
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
        if args.defaults {
            axum::serve(listener, app).await
        } else {
            scale::serve_http1(listener, app).await
        }
    })
}
