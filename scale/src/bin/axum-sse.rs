//! What most axum users write: axum 0.8's own `axum::response::sse::Sse`, fed by a
//! `tokio::sync::broadcast` channel (capacity 1024, the hub's window), each subscriber
//! encoding its own copy of every event; a lagging receiver skips what it missed (the
//! `BroadcastStream` + `filter_map(Result::ok)` idiom), silently. Two-worker tokio runtime.

use std::convert::Infallible;

use axum::Router;
use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::routing::get;
use futures_util::Stream;
use tokio::sync::broadcast::{self, Sender, error::RecvError};

type Message = (u64, String);

async fn events(
    State(sender): State<Sender<Message>>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let stream = futures_util::stream::unfold(sender.subscribe(), |mut receiver| async move {
        loop {
            match receiver.recv().await {
                Ok((id, data)) => {
                    let event = Event::default().id(id.to_string()).data(data);
                    return Some((Ok(event), receiver));
                }
                Err(RecvError::Lagged(_)) => continue,
                Err(RecvError::Closed) => return None,
            }
        }
    });
    Sse::new(stream).keep_alive(KeepAlive::default())
}

fn main() -> std::io::Result<()> {
    let args = scale::ServerArgs::from_env()?;
    let (sender, _) = broadcast::channel::<Message>(1024);
    let publisher = sender.clone();
    let mut id = 0;
    scale::spawn_publisher(move |data| {
        id += 1;
        let _ = publisher.send((id, data));
    });
    scale::runtime()?.block_on(async move {
        let listener = scale::listen(args.backlog)?;
        scale::announce(listener.local_addr()?)?;
        let app = Router::new()
            .route("/events", get(events))
            .with_state(sender);
        axum::serve(listener, app).await
    })
}
