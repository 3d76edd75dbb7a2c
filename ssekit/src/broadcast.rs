//! [`Broadcast`]: something a client subscribes to with its `Last-Event-ID`.

use std::sync::Arc;

use futures_core::Stream;
use ssekit_proto::Frame;

/// A source of encoded events that a client subscribes to, resuming after the `Last-Event-ID`
/// it last saw: the in-memory [`Hub`](crate::hub::Hub), `ssekit_redis::RedisHub`, or your own.
///
/// Every adapter serves any implementation in one line (`Sse::from_broadcast(&hub, &last)`),
/// so a backend is a choice made once, where the broadcast is built.
///
/// An implementation promises what a reconnecting `EventSource` needs:
///
/// - with `None`, the subscription yields live frames only, from the next event published on;
/// - with an id it still holds, every retained frame after it, then live frames, with no gap
///   and no duplicate at the seam;
/// - with an id it no longer holds (or never held), an in-band reset frame first (the hub's is
///   an event named `sse-reset`), then what it retains: never a silent gap;
/// - every frame carries an `id:`, so the client always has a `Last-Event-ID` to come back with.
///
/// ```
/// use futures_util::StreamExt;
/// use ssekit::{Broadcast, hub::Hub};
///
/// fn replay_after(broadcast: &impl Broadcast, id: &str) -> impl futures_core::Stream {
///     broadcast.subscribe(Some(id))
/// }
/// # futures_util::FutureExt::now_or_never(async {
/// let hub = Hub::new();
/// hub.publish(ssekit_proto::Event::message("one"));
/// hub.publish(ssekit_proto::Event::message("two"));
/// let mut after_one = Box::pin(replay_after(&hub, "1"));
/// assert!(after_one.next().await.is_some()); // event 2
/// # }).unwrap();
/// ```
pub trait Broadcast {
    /// A subscriber's stream of frames: the replay, then live frames.
    type Subscription: Stream<Item = Frame> + Send + 'static;

    /// Subscribes, resuming after `last_event_id` when given (see the trait docs).
    fn subscribe(&self, last_event_id: Option<&str>) -> Self::Subscription;

    /// Whether `subscription`, which has ended, was ended because its subscriber stalled (it
    /// fell behind and did not catch up: the hub's and the broker's stall rule), not because
    /// the broadcast closed. The adapters' `Sse::from_broadcast` then end the response with an
    /// error ([`Stalled`](crate::Stalled)), which the framework answers by aborting the
    /// connection, instead of completing the body as if the stream were over. The default
    /// says never.
    fn stalled(subscription: &Self::Subscription) -> bool {
        let _ = subscription;
        false
    }
}

impl<B: Broadcast + ?Sized> Broadcast for &B {
    type Subscription = B::Subscription;

    fn subscribe(&self, last_event_id: Option<&str>) -> Self::Subscription {
        (**self).subscribe(last_event_id)
    }

    fn stalled(subscription: &Self::Subscription) -> bool {
        B::stalled(subscription)
    }
}

impl<B: Broadcast + ?Sized> Broadcast for Arc<B> {
    type Subscription = B::Subscription;

    fn subscribe(&self, last_event_id: Option<&str>) -> Self::Subscription {
        (**self).subscribe(last_event_id)
    }

    fn stalled(subscription: &Self::Subscription) -> bool {
        B::stalled(subscription)
    }
}
