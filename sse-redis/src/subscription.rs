//! [`RedisSubscription`]: a local hub subscription that first lets this instance catch up with
//! the client's `Last-Event-ID`.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use futures_core::Stream;
use sse_core::Frame;
use sse_server::hub::{Hub, Resume, Subscription};

type Wait = Pin<Box<dyn Future<Output = ()> + Send>>;

enum State {
    /// The client's id is newer than anything this instance has read yet.
    CatchingUp {
        wait: Wait,
        hub: Hub,
        last_event_id: String,
    },
    Subscribed(Subscription),
}

/// A subscriber's stream of frames from a [`RedisHub`](crate::RedisHub): the replay after the
/// client's `Last-Event-ID`, then live frames. See [`RedisHub::subscribe`](crate::RedisHub::subscribe).
///
/// It is a [`Subscription`] of the instance's local hub, with one step in front: a client that
/// comes from another instance may have seen an entry this instance's reader has not read yet
/// (it lags by a round trip). Subscribing to the local hub then would not find the id and would
/// replay the whole window after a reset. Instead the subscription first waits, at most
/// [`RedisHubConfig::catch_up_timeout`](crate::RedisHubConfig::catch_up_timeout), until the
/// reader has read that entry.
#[must_use = "streams do nothing unless polled"]
pub struct RedisSubscription {
    state: State,
}

impl fmt::Debug for RedisSubscription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.state {
            State::CatchingUp { last_event_id, .. } => f
                .debug_struct("RedisSubscription")
                .field("catching_up_to", last_event_id)
                .finish(),
            State::Subscribed(sub) => f
                .debug_struct("RedisSubscription")
                .field("subscription", sub)
                .finish(),
        }
    }
}

impl RedisSubscription {
    pub(crate) fn subscribed(subscription: Subscription) -> RedisSubscription {
        RedisSubscription {
            state: State::Subscribed(subscription),
        }
    }

    pub(crate) fn catching_up(wait: Wait, hub: Hub, last_event_id: String) -> RedisSubscription {
        RedisSubscription {
            state: State::CatchingUp {
                wait,
                hub,
                last_event_id,
            },
        }
    }

    /// How the local subscription started ([`Resume`]); `None` while this instance is still
    /// catching up with the client's `Last-Event-ID`.
    pub fn resume(&self) -> Option<Resume> {
        match &self.state {
            State::Subscribed(sub) => Some(sub.resume()),
            State::CatchingUp { .. } => None,
        }
    }
}

impl Stream for RedisSubscription {
    type Item = Frame;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Frame>> {
        let this = self.get_mut();
        if let State::CatchingUp {
            wait,
            hub,
            last_event_id,
        } = &mut this.state
        {
            ready!(wait.as_mut().poll(cx));
            let subscription = hub.subscribe(Some(last_event_id));
            this.state = State::Subscribed(subscription);
        }
        match &mut this.state {
            State::Subscribed(sub) => Pin::new(sub).poll_next(cx),
            State::CatchingUp { .. } => Poll::Pending,
        }
    }
}
