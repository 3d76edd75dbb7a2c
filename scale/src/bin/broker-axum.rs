//! The topic broker served by `ssekit-axum` (`Sse::from_broadcast` of a broker `Ticket`), on a
//! two-worker tokio runtime, served as `hub-axum` is (hyper's HTTP/1 builder; `--defaults`:
//! `axum::serve`).
//!
//! Every connection subscribes to two topics: `news`, which the publisher publishes every
//! event to, and a private topic `private/N` of its own (one of 1 000, never published to), so
//! each delivery goes through the broker's topic matching and selection of several topics. The
//! window is the hub's (1 024 events), so the burst and stalled cases compare with `hub-axum`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use ssekit_axum::broker::{Broker, BrokerConfig, BrokerSubscription, Rejection, Selection};
use ssekit_axum::{Event, LastEventId, Rejected, Sse};

#[derive(Clone)]
struct App {
    broker: Broker,
    connections: Arc<AtomicUsize>,
}

async fn events(
    State(app): State<App>,
    last: LastEventId,
) -> Result<Sse<BrokerSubscription>, Rejected> {
    let n = app.connections.fetch_add(1, Ordering::Relaxed) % 1000;
    let private = format!("private/{n}");
    let selection = Selection::new(["news", private.as_str()])
        .map_err(|e| Rejected(Rejection::BadRequest(e)))?;
    let ticket = app.broker.subscribe_to(&selection)?;
    Ok(Sse::from_broadcast(&ticket, &last))
}

fn main() -> std::io::Result<()> {
    let args = scale::ServerArgs::from_env()?;
    let broker = Broker::with_config(BrokerConfig::default().capacity(1024));
    let publisher = broker.clone();
    scale::spawn_publisher(move |data| {
        // `news` is a valid topic: publishing to it cannot fail.
        let _ = publisher.publish(["news"], Event::message(data));
    });
    scale::runtime()?.block_on(async move {
        let listener = scale::listen(args.backlog)?;
        scale::announce(listener.local_addr()?)?;
        let app = Router::new().route("/events", get(events)).with_state(App {
            broker,
            connections: Arc::new(AtomicUsize::new(0)),
        });
        if args.defaults {
            axum::serve(listener, app).await
        } else {
            scale::serve_http1(listener, app).await
        }
    })
}
