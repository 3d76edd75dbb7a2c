//! The hub served by `ssekit-actix-web` (`Sse::from_broadcast`), on two actix workers.
//!
//! `HttpServer` as it comes: none of its settings changes what an idle connection or a
//! delivery costs (see `ssekit-actix-web`'s crate docs, "Serving many connections"), so there is no
//! `--defaults` variant.

use actix_web::web::{self, Data};
use actix_web::{App, HttpServer};
use ssekit_actix_web::{Event, Hub, HubSubscription, LastEventId, Sse};

async fn events(hub: Data<Hub>, last: LastEventId) -> Sse<HubSubscription> {
    Sse::from_broadcast(hub.get_ref(), &last)
}

fn main() -> std::io::Result<()> {
    let args = scale::ServerArgs::from_env()?;
    let hub = Hub::new();
    let publisher = hub.clone();
    scale::spawn_publisher(move |data| {
        publisher.publish(Event::message(data));
    });
    actix_web::rt::System::new().block_on(async move {
        let listener = scale::listen(args.backlog)?.into_std()?;
        scale::announce(listener.local_addr()?)?;
        HttpServer::new(move || {
            App::new()
                .app_data(Data::new(hub.clone()))
                .route("/events", web::get().to(events))
        })
        .workers(2)
        .disable_signals()
        .listen(listener)?
        .run()
        .await
    })
}
