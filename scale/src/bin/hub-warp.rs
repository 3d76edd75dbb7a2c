//! The hub served by `ssekit-warp` (`Sse::from_broadcast`), on a two-worker tokio runtime.
//!
//! By default it serves the way `ssekit-warp`'s crate docs recommend for many long-lived streams:
//! the filter as a service (`warp::service`) on hyper's HTTP/1 builder directly
//! ([`scale::serve_http1`]). With `--defaults` it serves through `warp::serve`.

use ssekit_warp::{Event, Hub, LastEventId, Sse};
use warp::Filter;

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
        let events = warp::get()
            .and(warp::path("events"))
            .and(warp::path::end())
            .and(ssekit_warp::last_event_id())
            .map(move |last: LastEventId| Sse::from_broadcast(&hub, &last));
        if args.defaults {
            warp::serve(events).incoming(listener).run().await;
            Ok(())
        } else {
            scale::serve_http1(listener, warp::service(events)).await
        }
    })
}
