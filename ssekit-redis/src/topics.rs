//! [`RedisBroker`]: the topic broker on one Redis Stream.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use redis::Value;
use ssekit::Broadcast;
use ssekit::broker::{
    Authorize, Broker, BrokerConfig, ExternalIds, PublicSubscribe, Rejection, RequestInfo,
    Selection, Ticket,
};
use ssekit_proto::Event;

use crate::entry::{self, TOPIC_SEPARATOR};
use crate::error::Error;
use crate::link::{Common, Link};
use crate::reader::Sink;
use crate::subscription::RedisBrokerSubscription;

/// Redis entry ids as the local broker orders them; `0-0` is before every entry.
const ENTRY_IDS: ExternalIds = ExternalIds::new("0-0", entry::position);

/// Settings of a [`RedisBroker`]: the stream key, the window, the local broker's bounds, the
/// reader's timings.
#[derive(Debug, Clone)]
#[must_use = "settings do nothing until given to RedisBroker::connect"]
pub struct RedisBrokerConfig {
    common: Common,
    broker: BrokerConfig,
}

impl RedisBrokerConfig {
    /// Settings for the stream at `key`, with the defaults: `max_len` 1024, a 2 s `XREAD`
    /// block, batches of 512 entries, reconnection backoff from 50 ms to 2 s, a 5 s catch-up
    /// timeout, 1 s connection and publish timeouts, and the local broker's default settings.
    pub fn new(key: impl Into<String>) -> RedisBrokerConfig {
        RedisBrokerConfig {
            common: Common::new(key.into()),
            broker: BrokerConfig::default(),
        }
    }

    /// The replay window, in events of all topics (default 1024; at least 1): the stream's
    /// `MAXLEN ~` and the local broker's capacity, which it overrides.
    pub fn max_len(mut self, events: usize) -> RedisBrokerConfig {
        self.common.max_len(events);
        self
    }

    /// The local broker's settings (byte bound, topic and admission limits, stall rules,
    /// reset event name). Its capacity is replaced by [`max_len`](Self::max_len), and its ids
    /// are the entry ids ([`BrokerConfig::external_ids`]; an
    /// [`epoch`](BrokerConfig::epoch) is not used).
    pub fn broker_config(mut self, config: BrokerConfig) -> RedisBrokerConfig {
        self.broker = config;
        self
    }

    /// How long one `XREAD` blocks waiting for entries (default 2 s).
    pub fn block(mut self, block: Duration) -> RedisBrokerConfig {
        self.common.block(block);
        self
    }

    /// Most entries one `XREAD` returns (default 512; at least 1).
    pub fn batch(mut self, entries: usize) -> RedisBrokerConfig {
        self.common.batch(entries);
        self
    }

    /// The reconnection backoff of the reader and of the publishing connection: the first
    /// retry after `min`, doubling up to `max` (defaults 50 ms and 2 s).
    pub fn reconnect_backoff(mut self, min: Duration, max: Duration) -> RedisBrokerConfig {
        self.common.reconnect_backoff(min, max);
        self
    }

    /// How long a subscription waits for this instance to read the entry a client says it has
    /// seen elsewhere (default 5 s). After that the client is subscribed as the local broker
    /// sees it: a reset frame, then what the window holds of its topics.
    pub fn catch_up_timeout(mut self, timeout: Duration) -> RedisBrokerConfig {
        self.common.catch_up = timeout;
        self
    }

    /// How long connecting to Redis may take (default 1 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> RedisBrokerConfig {
        self.common.settings.connect_timeout = timeout;
        self
    }

    /// How long a publish waits for Redis's answer (default 1 s).
    pub fn publish_timeout(mut self, timeout: Duration) -> RedisBrokerConfig {
        self.common.publish_timeout = timeout;
        self
    }

    /// The stream key (set by [`new`](Self::new); getters of settings are `get_` and the
    /// setting's name, as on `ssekit`'s configs).
    pub fn get_key(&self) -> &str {
        &self.common.key
    }
}

/// One instance's view of a topic broker shared through one Redis Stream: publish to topics,
/// admit subscriptions. Cheap to clone (clones share the reader, the connections and the local
/// broker). See the [crate docs](crate#topics-redisbroker).
///
/// Dropping the last clone and the last [`RedisTicket`] (or calling [`RedisBroker::close`])
/// stops the reader and closes the local broker, which ends every subscription once it has
/// delivered what it has.
#[derive(Clone)]
pub struct RedisBroker {
    inner: Arc<Inner>,
}

struct Inner {
    broker: Broker,
    link: Link,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.link.stop_reader();
        self.broker.close();
    }
}

impl std::fmt::Debug for RedisBroker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisBroker")
            .field("key", &self.inner.link.key)
            .field("max_len", &self.inner.link.max_len)
            .field("last_entry_id", &self.last_entry_id())
            .field("reader_connected", &self.reader_connected())
            .field("broker", &self.inner.broker)
            .finish()
    }
}

/// The reader's sink: each entry into the local broker, with its entry id.
struct Entries {
    broker: Broker,
    key: String,
}

impl Sink for Entries {
    fn apply(&mut self, id: &str, map: &HashMap<String, Value>) {
        let Some(topics) = entry::topics(map) else {
            tracing::warn!(key = %self.key, id, "ssekit-redis broker: entry without topics skipped");
            return;
        };
        let event = entry::event(id, map);
        if let Err(error) = self
            .broker
            .publish_with_id(topics.split(TOPIC_SEPARATOR), event, id)
        {
            tracing::warn!(key = %self.key, id, %error, "ssekit-redis broker: entry skipped");
        }
    }

    fn gap(&mut self) {
        self.broker.mark_gap();
    }
}

impl RedisBroker {
    /// Connects to Redis (a reader connection and a publishing connection), loads the newest
    /// [`max_len`](RedisBrokerConfig::max_len) entries of the stream into the local window and
    /// starts the reader task (on the current tokio runtime). Subscriptions are authorized by
    /// [`PublicSubscribe`] (anyone may subscribe to anything; no request may publish).
    ///
    /// Fails if Redis cannot be reached now; once connected, the reader and the publishing
    /// connection reconnect by themselves.
    pub async fn connect(
        client: redis::Client,
        config: RedisBrokerConfig,
    ) -> Result<RedisBroker, Error> {
        RedisBroker::connect_with_authorize(client, config, PublicSubscribe).await
    }

    /// [`RedisBroker::connect`] with an authorization hook: it decides, in
    /// [`RedisBroker::admit`], what a request may receive, and in
    /// [`RedisBroker::publish_as`] where it may publish (`ssekit::broker::jwt`'s
    /// `JwtAuthorize`, or your own [`Authorize`]).
    pub async fn connect_with_authorize(
        client: redis::Client,
        config: RedisBrokerConfig,
        authorize: impl Authorize,
    ) -> Result<RedisBroker, Error> {
        let RedisBrokerConfig { common, broker } = config;
        let max_len = common.max_len;
        let config = broker.capacity(max_len).external_ids(ENTRY_IDS);
        let broker = Broker::with_authorize(config, authorize);
        let sink = Entries {
            broker: broker.clone(),
            key: common.key.clone(),
        };
        // One entry more than the window: the oldest is evicted at once, and a client that saw
        // exactly it resumes without a reset.
        let link = Link::connect(client, common, sink, max_len.saturating_add(1)).await?;
        Ok(RedisBroker {
            inner: Arc::new(Inner { broker, link }),
        })
    }

    /// Publishes `event` to every topic in `topics`: checks them as the local broker would
    /// ([`Broker::check_topics`]: at least one, each a valid name, at most
    /// [`BrokerConfig::max_topics_per_event`]), then adds one entry to the stream
    /// (`XADD key MAXLEN ~ max_len * topics <topics> <fields>`) and returns its id, which is
    /// the event's id. Every instance's subscribers of those topics receive it through their
    /// reader, this instance's included. No hook runs: this is the server's own publish.
    ///
    /// The event's own id, if any, is not used. On [`Error::Redis`] the event may or may not
    /// have been added; publishing again may deliver it twice.
    pub async fn publish<I>(&self, topics: I, event: impl Borrow<Event>) -> Result<Arc<str>, Error>
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        // Only the joined names live across the await (the caller's items need not be `Send`).
        let joined = join(&self.inner.broker.check_topics(topics)?);
        self.add(&joined, event.borrow()).await
    }

    /// Publishes on behalf of a request: the [`Authorize`] hook's
    /// [`publish`](Authorize::publish) check runs first ([`Error::Publish`] with
    /// [`PublishError::Denied`](ssekit::broker::PublishError::Denied) when it refuses), then
    /// [`RedisBroker::publish`].
    pub async fn publish_as<I>(
        &self,
        request: &RequestInfo,
        topics: I,
        event: impl Borrow<Event>,
    ) -> Result<Arc<str>, Error>
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        let joined = join(&self.inner.broker.check_publish_as(request, topics)?);
        self.add(&joined, event.borrow()).await
    }

    async fn add(&self, topics: &str, event: &Event) -> Result<Arc<str>, Error> {
        self.inner
            .link
            .xadd(entry::fields_with_topics(topics, event))
            .await
    }

    /// Admits a subscription to what the request `asked` for, as [`Broker::admit`] does on
    /// the local broker: the selection's size, the [`Authorize`] hook (which decides what it
    /// will receive) and the admission limits. Answer an `Err` with its
    /// [`status`](Rejection::status) (400, 403, or 503 with `Retry-After`); every adapter's
    /// `Rejected` does.
    pub fn admit(
        &self,
        request: &RequestInfo,
        asked: &Selection,
    ) -> Result<RedisTicket, Rejection> {
        Ok(self.ticket(self.inner.broker.admit(request, asked)?))
    }

    /// [`RedisBroker::admit`] for what the request asks in its query string: one `topic`
    /// parameter per selector (`?topic=rooms/42/*&topic=users/7`), as [`Broker::admit_query`].
    pub fn admit_query(&self, request: &RequestInfo) -> Result<RedisTicket, Rejection> {
        Ok(self.ticket(self.inner.broker.admit_query(request)?))
    }

    /// Admits a subscription to `selection` without the [`Authorize`] hook (the server
    /// decided what it receives), as [`Broker::subscribe_to`].
    pub fn subscribe_to(&self, selection: &Selection) -> Result<RedisTicket, Rejection> {
        Ok(self.ticket(self.inner.broker.subscribe_to(selection)?))
    }

    fn ticket(&self, ticket: Ticket) -> RedisTicket {
        RedisTicket {
            ticket: Arc::new(ticket),
            inner: self.inner.clone(),
        }
    }

    /// Live subscriptions of this instance plus admitted tickets not yet subscribed or dropped
    /// (see [`Broker::subscription_count`]).
    pub fn subscription_count(&self) -> usize {
        self.inner.broker.subscription_count()
    }

    /// The subscriptions of one topic or pattern on this instance.
    pub fn subscribers_of(&self, selector: &str) -> usize {
        self.inner.broker.subscribers_of(selector)
    }

    /// Topics and patterns with state on this instance (see [`Broker::topic_count`]).
    pub fn topic_count(&self) -> usize {
        self.inner.broker.topic_count()
    }

    /// How many events, and how many frame bytes, this instance's window holds.
    pub fn retained(&self) -> (usize, usize) {
        self.inner.broker.retained()
    }

    /// The settings of the local broker.
    pub fn broker_config(&self) -> &BrokerConfig {
        self.inner.broker.config()
    }

    /// The stream key.
    pub fn key(&self) -> &str {
        &self.inner.link.key
    }

    /// The id of the newest entry this instance's reader has read, if any.
    pub fn last_entry_id(&self) -> Option<String> {
        self.inner.link.last_entry_id()
    }

    /// Whether the reader's last command succeeded (false while it is reconnecting): a health
    /// check for the load balancer.
    pub fn reader_connected(&self) -> bool {
        self.inner.link.reader_connected()
    }

    /// Stops the reader and closes the local broker: every subscription ends once it has
    /// delivered what it has (clients reconnect, to another instance). Publishing still works.
    pub fn close(&self) {
        self.inner.link.stop_reader();
        self.inner.broker.close();
    }
}

/// The topics field: the names joined with the separator they cannot contain.
fn join<T: AsRef<str>>(topics: &[T]) -> String {
    let mut joined = String::new();
    for (i, topic) in topics.iter().enumerate() {
        if i > 0 {
            joined.push(TOPIC_SEPARATOR);
        }
        joined.push_str(topic.as_ref());
    }
    joined
}

/// An admitted subscription of a [`RedisBroker`], not started yet: what
/// [`RedisBroker::admit`] returns. It implements [`Broadcast`], so an adapter serves it with
/// `Sse::from_broadcast(&ticket, &last_event_id)`, as the in-memory broker's
/// [`Ticket`].
///
/// It counts against the admission limits of this instance's broker from admission until its
/// subscription is dropped (or, unused, until it is dropped).
pub struct RedisTicket {
    ticket: Arc<Ticket>,
    inner: Arc<Inner>,
}

impl std::fmt::Debug for RedisTicket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisTicket")
            .field("selection", self.ticket.selection())
            .finish()
    }
}

impl RedisTicket {
    /// What the subscription will receive (as the [`Authorize`] hook granted it).
    pub fn selection(&self) -> &Selection {
        self.ticket.selection()
    }

    /// Starts the subscription, resuming after `last_event_id` when given: every retained
    /// event of its topics after it, then their live events, as [`Ticket::subscribe`] does on
    /// the local window, after waiting (up to [`RedisBrokerConfig::catch_up_timeout`]) for
    /// this instance to have read the entry `last_event_id` if it has not yet (a client coming
    /// from another instance). An id the window no longer holds, or never held, gets the
    /// reset frame first.
    pub fn subscribe(&self, last_event_id: Option<&str>) -> RedisBrokerSubscription {
        let wait = last_event_id.and_then(|id| Some((id, self.inner.link.catch_up(id)?)));
        match wait {
            Some((id, wait)) => {
                let ticket = self.ticket.clone();
                RedisBrokerSubscription::catching_up(wait, id, move |id| ticket.subscribe(Some(id)))
            }
            None => RedisBrokerSubscription::subscribed(self.ticket.subscribe(last_event_id)),
        }
    }
}

impl Broadcast for RedisTicket {
    type Subscription = RedisBrokerSubscription;

    fn subscribe(&self, last_event_id: Option<&str>) -> RedisBrokerSubscription {
        RedisTicket::subscribe(self, last_event_id)
    }

    fn stalled(subscription: &RedisBrokerSubscription) -> bool {
        subscription.is_stalled()
    }
}
