//! [`RedisHubSubscription`] and [`RedisBrokerSubscription`]: a local subscription that first lets
//! this instance catch up with the client's `Last-Event-ID`.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use futures_core::Stream;
use ssekit::{broker, hub};
use ssekit_proto::Frame;

use crate::link::Wait;

/// Opens the local subscription once the wait is over.
type Open<S> = Box<dyn FnOnce(&str) -> S + Send>;

/// A local subscription `S`, possibly after a catch-up wait.
enum CatchUp<S> {
    /// The client's id is newer than anything this instance has read yet.
    Waiting {
        wait: Wait,
        open: Open<S>,
        last_event_id: String,
    },
    Subscribed(S),
    /// Only while switching from `Waiting` to `Subscribed`.
    Switching,
}

impl<S> CatchUp<S> {
    fn waiting(wait: Wait, last_event_id: &str, open: Open<S>) -> CatchUp<S> {
        CatchUp::Waiting {
            wait,
            open,
            last_event_id: last_event_id.to_owned(),
        }
    }

    fn subscribed(&self) -> Option<&S> {
        match self {
            CatchUp::Subscribed(sub) => Some(sub),
            _ => None,
        }
    }

    /// `Unpin` only here: the subscription is polled in place (`Pin::new`).
    fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<Frame>>
    where
        S: Stream<Item = Frame> + Unpin,
    {
        if let CatchUp::Waiting { wait, .. } = self {
            ready!(wait.as_mut().poll(cx));
            if let CatchUp::Waiting {
                open,
                last_event_id,
                ..
            } = std::mem::replace(self, CatchUp::Switching)
            {
                *self = CatchUp::Subscribed(open(&last_event_id));
            }
        }
        match self {
            CatchUp::Subscribed(sub) => Pin::new(sub).poll_next(cx),
            CatchUp::Waiting { .. } | CatchUp::Switching => Poll::Pending,
        }
    }

    fn debug(&self, name: &str, f: &mut fmt::Formatter<'_>) -> fmt::Result
    where
        S: fmt::Debug,
    {
        match self {
            CatchUp::Waiting { last_event_id, .. } => f
                .debug_struct(name)
                .field("catching_up_to", last_event_id)
                .finish(),
            CatchUp::Subscribed(sub) => f.debug_struct(name).field("subscription", sub).finish(),
            CatchUp::Switching => f.debug_struct(name).finish_non_exhaustive(),
        }
    }
}

/// A subscriber's stream of frames from a [`RedisHub`](crate::RedisHub): the replay after the
/// client's `Last-Event-ID`, then live frames. See [`RedisHub::subscribe`](crate::RedisHub::subscribe).
///
/// It is a [`HubSubscription`](hub::HubSubscription) of the instance's local hub, with one step in
/// front: a client that comes from another instance may have seen an entry this instance's
/// reader has not read yet (it lags by a round trip). Subscribing to the local hub then would
/// not find the id and would replay the whole window after a reset. Instead the subscription
/// first waits, at most
/// [`RedisHubConfig::catch_up_timeout`](crate::RedisHubConfig::catch_up_timeout), until the
/// reader has read that entry.
#[must_use = "streams do nothing unless polled"]
pub struct RedisHubSubscription {
    state: CatchUp<hub::HubSubscription>,
}

impl fmt::Debug for RedisHubSubscription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.state.debug("RedisHubSubscription", f)
    }
}

impl RedisHubSubscription {
    pub(crate) fn subscribed(subscription: hub::HubSubscription) -> RedisHubSubscription {
        RedisHubSubscription {
            state: CatchUp::Subscribed(subscription),
        }
    }

    pub(crate) fn catching_up(
        wait: Wait,
        hub: hub::Hub,
        last_event_id: &str,
    ) -> RedisHubSubscription {
        let open = Box::new(move |id: &str| hub.subscribe(Some(id)));
        RedisHubSubscription {
            state: CatchUp::waiting(wait, last_event_id, open),
        }
    }

    /// How the local subscription started ([`HubResume`](hub::HubResume)); `None` while this
    /// instance is still catching up with the client's `Last-Event-ID`.
    pub fn resume(&self) -> Option<hub::HubResume> {
        self.state.subscribed().map(hub::HubSubscription::resume)
    }

    /// True once the local subscription has ended because the subscriber stalled (see
    /// [`HubSubscription::is_stalled`](hub::HubSubscription::is_stalled)).
    pub fn is_stalled(&self) -> bool {
        self.state
            .subscribed()
            .is_some_and(hub::HubSubscription::is_stalled)
    }
}

impl Stream for RedisHubSubscription {
    type Item = Frame;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Frame>> {
        self.get_mut().state.poll_next(cx)
    }

    /// The local subscription's (nothing is ready while catching up).
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.state.subscribed().map_or((0, None), Stream::size_hint)
    }
}

/// A subscriber's stream of frames from a [`RedisBroker`](crate::RedisBroker): the replay of
/// its topics after the client's `Last-Event-ID`, then their live frames. See
/// [`RedisTicket::subscribe`](crate::RedisTicket::subscribe).
///
/// It is a [`BrokerSubscription`](broker::BrokerSubscription) of the instance's local broker, after the
/// same catch-up step as a [`RedisHubSubscription`]: when the client saw, on another instance, an
/// entry this instance has not read yet, it first waits (at most
/// [`RedisBrokerConfig::catch_up_timeout`](crate::RedisBrokerConfig::catch_up_timeout)) until
/// it has.
#[must_use = "streams do nothing unless polled"]
pub struct RedisBrokerSubscription {
    state: CatchUp<broker::BrokerSubscription>,
}

impl fmt::Debug for RedisBrokerSubscription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.state.debug("RedisBrokerSubscription", f)
    }
}

impl RedisBrokerSubscription {
    pub(crate) fn subscribed(subscription: broker::BrokerSubscription) -> RedisBrokerSubscription {
        RedisBrokerSubscription {
            state: CatchUp::Subscribed(subscription),
        }
    }

    pub(crate) fn catching_up(
        wait: Wait,
        last_event_id: &str,
        open: impl FnOnce(&str) -> broker::BrokerSubscription + Send + 'static,
    ) -> RedisBrokerSubscription {
        RedisBrokerSubscription {
            state: CatchUp::waiting(wait, last_event_id, Box::new(open)),
        }
    }

    /// How the local subscription started ([`BrokerResume`](broker::BrokerResume)); `None` while this
    /// instance is still catching up with the client's `Last-Event-ID`.
    pub fn resume(&self) -> Option<broker::BrokerResume> {
        self.state
            .subscribed()
            .map(broker::BrokerSubscription::resume)
    }

    /// True once the stream has ended (the broker was closed, or the subscriber stalled).
    pub fn is_done(&self) -> bool {
        self.state
            .subscribed()
            .is_some_and(broker::BrokerSubscription::is_done)
    }

    /// True once the local subscription has ended because the subscriber stalled (see
    /// [`BrokerSubscription::is_stalled`](broker::BrokerSubscription::is_stalled)).
    pub fn is_stalled(&self) -> bool {
        self.state
            .subscribed()
            .is_some_and(broker::BrokerSubscription::is_stalled)
    }
}

impl Stream for RedisBrokerSubscription {
    type Item = Frame;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Frame>> {
        self.get_mut().state.poll_next(cx)
    }

    /// The local subscription's (nothing is ready while catching up).
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.state.subscribed().map_or((0, None), Stream::size_hint)
    }
}
