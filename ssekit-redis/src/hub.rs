//! [`RedisHub`]: the resumable hub on one Redis Stream.

use std::borrow::Borrow;
use std::sync::Arc;
use std::time::Duration;

use ssekit::Broadcast;
use ssekit::hub::{Hub, HubConfig};
use ssekit_proto::Event;

use crate::entry;
use crate::error::Error;
use crate::link::{Common, Link};
use crate::subscription::RedisHubSubscription;

/// Settings of a [`RedisHub`]: the stream key, the window, the reader's timings.
#[derive(Debug, Clone)]
#[must_use = "settings do nothing until given to RedisHub::connect"]
pub struct RedisHubConfig {
    common: Common,
    hub: HubConfig,
}

impl RedisHubConfig {
    /// Settings for the stream at `key`, with the defaults: `max_len` 1024, a 2 s `XREAD`
    /// block, batches of 512 entries, reconnection backoff from 50 ms to 2 s, a 5 s catch-up
    /// timeout, 1 s connection and publish timeouts, and the local hub's default settings.
    pub fn new(key: impl Into<String>) -> RedisHubConfig {
        RedisHubConfig {
            common: Common::new(key.into()),
            hub: HubConfig::default(),
        }
    }

    /// The replay window, in events (default 1024; at least 1): the stream's `MAXLEN ~` and the
    /// local hub's capacity, which it overrides.
    pub fn max_len(mut self, events: usize) -> RedisHubConfig {
        self.common.max_len(events);
        self
    }

    /// The local hub's settings (byte bound, lag policy, reset event name); its capacity is
    /// replaced by [`max_len`](Self::max_len).
    pub fn hub_config(mut self, config: HubConfig) -> RedisHubConfig {
        self.hub = config;
        self
    }

    /// How long one `XREAD` blocks waiting for entries (default 2 s). Shorter notices a dead
    /// connection sooner; new entries are delivered at once either way.
    pub fn block(mut self, block: Duration) -> RedisHubConfig {
        self.common.block(block);
        self
    }

    /// Most entries one `XREAD` returns (default 512; at least 1).
    pub fn batch(mut self, entries: usize) -> RedisHubConfig {
        self.common.batch(entries);
        self
    }

    /// The reconnection backoff of the reader and of the publishing connection: the first
    /// retry after `min`, doubling up to `max` (defaults 50 ms and 2 s).
    pub fn reconnect_backoff(mut self, min: Duration, max: Duration) -> RedisHubConfig {
        self.common.reconnect_backoff(min, max);
        self
    }

    /// How long [`RedisHub::subscribe`] waits for this instance to read the entry a client
    /// says it has seen elsewhere (default 5 s). After that (the id may be bogus) the client
    /// is subscribed as the local hub sees it: a reset, then the window.
    pub fn catch_up_timeout(mut self, timeout: Duration) -> RedisHubConfig {
        self.common.catch_up = timeout;
        self
    }

    /// How long connecting to Redis may take (default 1 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> RedisHubConfig {
        self.common.settings.connect_timeout = timeout;
        self
    }

    /// How long a publish waits for Redis's answer (default 1 s).
    pub fn publish_timeout(mut self, timeout: Duration) -> RedisHubConfig {
        self.common.publish_timeout = timeout;
        self
    }

    /// The stream key (set by [`new`](Self::new); getters of settings are `get_` and the
    /// setting's name, as on `ssekit`'s configs).
    pub fn get_key(&self) -> &str {
        &self.common.key
    }
}

/// One instance's view of the shared stream: publish to it, subscribe to it. Cheap to clone
/// (clones share the reader, the connections and the local hub).
///
/// Dropping the last clone (or calling [`RedisHub::close`]) stops the reader and closes the
/// local hub, which ends every subscription once it has delivered what it has.
#[derive(Clone)]
pub struct RedisHub {
    inner: Arc<Inner>,
}

struct Inner {
    hub: Hub,
    link: Link,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.link.stop_reader();
        self.hub.close();
    }
}

impl std::fmt::Debug for RedisHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisHub")
            .field("key", &self.inner.link.key)
            .field("max_len", &self.inner.link.max_len)
            .field("last_entry_id", &self.last_entry_id())
            .field("reader_connected", &self.reader_connected())
            .field("hub", &self.inner.hub)
            .finish()
    }
}

impl RedisHub {
    /// Connects to Redis (a reader connection and a publishing connection), loads the newest
    /// [`max_len`](RedisHubConfig::max_len) entries of the stream into the local window and
    /// starts the reader task (on the current tokio runtime).
    ///
    /// Fails if Redis cannot be reached now; once connected, the reader and the publishing
    /// connection reconnect by themselves.
    pub async fn connect(client: redis::Client, config: RedisHubConfig) -> Result<RedisHub, Error> {
        let RedisHubConfig { common, hub } = config;
        let max_len = common.max_len;
        let hub = Hub::with_config(hub.capacity(max_len));
        let link = Link::connect(client, common, hub.clone(), max_len).await?;
        Ok(RedisHub {
            inner: Arc::new(Inner { hub, link }),
        })
    }

    /// Adds `event` to the stream (`XADD key MAXLEN ~ max_len * ...`) and returns its entry
    /// id, which is its SSE id. Every instance's subscribers receive it through their reader,
    /// this instance's included.
    ///
    /// The event's own id, if any, is not used. On an error the event may or may not have been
    /// added (see [`Error::Redis`]); publishing again may deliver it twice.
    pub async fn publish(&self, event: impl Borrow<Event>) -> Result<Arc<str>, Error> {
        self.inner.link.xadd(entry::fields(event.borrow())).await
    }

    /// Subscribes, resuming after `last_event_id` when given: every retained event after it,
    /// then live events, as [`Hub::subscribe`] does on the local window, after waiting (up to
    /// [`RedisHubConfig::catch_up_timeout`]) for this instance to have read the entry
    /// `last_event_id` if it has not yet (a client coming from another instance).
    pub fn subscribe(&self, last_event_id: Option<&str>) -> RedisHubSubscription {
        let hub = &self.inner.hub;
        match last_event_id.and_then(|id| Some((id, self.inner.link.catch_up(id)?))) {
            Some((id, wait)) => RedisHubSubscription::catching_up(wait, hub.clone(), id),
            None => RedisHubSubscription::subscribed(hub.subscribe(last_event_id)),
        }
    }

    /// How many subscriptions of this instance are live (see [`Hub::subscriber_count`]).
    pub fn subscriber_count(&self) -> usize {
        self.inner.hub.subscriber_count()
    }

    /// How many events, and how many frame bytes, this instance's window holds.
    pub fn retained(&self) -> (usize, usize) {
        self.inner.hub.retained()
    }

    /// The stream key.
    pub fn key(&self) -> &str {
        &self.inner.link.key
    }

    /// The id of the newest entry this instance has read into its window, if any.
    pub fn last_entry_id(&self) -> Option<String> {
        self.inner.link.last_entry_id()
    }

    /// Whether the reader's last command succeeded (false while it is reconnecting). A
    /// health check for the load balancer: an instance whose reader is down serves no new
    /// events.
    pub fn reader_connected(&self) -> bool {
        self.inner.link.reader_connected()
    }

    /// Stops the reader and closes the local hub: every subscription ends once it has
    /// delivered what it has (clients reconnect, to another instance). Publishing still works.
    pub fn close(&self) {
        self.inner.link.stop_reader();
        self.inner.hub.close();
    }
}

impl Broadcast for RedisHub {
    type Subscription = RedisHubSubscription;

    fn subscribe(&self, last_event_id: Option<&str>) -> RedisHubSubscription {
        RedisHub::subscribe(self, last_event_id)
    }

    fn stalled(subscription: &RedisHubSubscription) -> bool {
        subscription.is_stalled()
    }
}
