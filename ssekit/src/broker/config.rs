//! [`BrokerConfig`]: the broker's settings.

use std::time::Duration;

use ssekit_proto::EventName;

use super::topic::{MAX_SELECTORS, MAX_TOPIC_LEN};
use super::{Epoch, ExternalIds};
use crate::clock::{Clock, ClockSetting};
use crate::window::WindowSettings;

/// Broker settings. Every bound has a default; all of them bound memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerConfig {
    /// The window's bounds, `max_lag`, `stall_timeout` and the reset event, as the hub has
    /// them.
    pub(super) window: WindowSettings,
    pub(super) max_topics: usize,
    pub(super) max_idle_topics: usize,
    pub(super) max_topic_len: usize,
    pub(super) max_selectors: usize,
    pub(super) max_topics_per_event: usize,
    pub(super) max_subscriptions: usize,
    pub(super) max_subscribers_per_topic: usize,
    pub(super) max_pending_bytes: usize,
    pub(super) retry_after: Duration,
    pub(super) epoch: Option<Epoch>,
    pub(super) external: Option<ExternalIds>,
    pub(super) metric_topic_labels: usize,
    pub(super) metric_topic_prefixes: Vec<String>,
}

impl Default for BrokerConfig {
    fn default() -> Self {
        BrokerConfig {
            window: WindowSettings::new(4096, 16 << 20),
            max_topics: 1_000_000,
            max_idle_topics: 10_000,
            max_topic_len: 256,
            max_selectors: 32,
            max_topics_per_event: 32,
            max_subscriptions: 1_000_000,
            max_subscribers_per_topic: 1_000_000,
            max_pending_bytes: 1 << 20,
            retry_after: Duration::from_secs(5),
            epoch: None,
            external: None,
            metric_topic_labels: 100,
            metric_topic_prefixes: Vec::new(),
        }
    }
}

impl BrokerConfig {
    /// Most events kept for replay, over all topics (default 4096; at least 1).
    pub fn capacity(mut self, events: usize) -> Self {
        self.window.set_capacity(events);
        self
    }

    /// Most frame bytes kept for replay (default 16 MiB). The newest event is always kept.
    pub fn max_bytes(mut self, bytes: usize) -> Self {
        self.window.max_bytes = bytes;
        self
    }

    /// Most topics and patterns with state at once (default 1 000 000; at least 1).
    pub fn max_topics(mut self, topics: usize) -> Self {
        self.max_topics = topics.max(1);
        self
    }

    /// Most idle topics kept (no subscriber, no retained event; default 10 000). They remember
    /// their last sequence number, so a subscriber of a quiet topic resumes without a reset.
    pub fn max_idle_topics(mut self, topics: usize) -> Self {
        self.max_idle_topics = topics;
        self
    }

    /// Longest topic name or selector, in bytes (default 256; at most [`MAX_TOPIC_LEN`]).
    pub fn max_topic_len(mut self, bytes: usize) -> Self {
        self.max_topic_len = bytes.clamp(1, MAX_TOPIC_LEN);
        self
    }

    /// Most selectors in one subscription (default 32; at most [`MAX_SELECTORS`]).
    pub fn max_selectors(mut self, selectors: usize) -> Self {
        self.max_selectors = selectors.clamp(1, MAX_SELECTORS);
        self
    }

    /// Most distinct topics one event is published to (default 32; a repeated topic counts once).
    pub fn max_topics_per_event(mut self, topics: usize) -> Self {
        self.max_topics_per_event = topics.max(1);
        self
    }

    /// Most subscriptions at once, admitted tickets included (default 1 000 000). Past it,
    /// [`Broker::admit`](crate::broker::Broker::admit) answers [`Rejection::Unavailable`](crate::broker::Rejection::Unavailable) (503).
    pub fn max_subscriptions(mut self, subscriptions: usize) -> Self {
        self.max_subscriptions = subscriptions;
        self
    }

    /// Most subscriptions of one topic or pattern (default 1 000 000). Past it, a subscribe
    /// that selects it is answered [`Rejection::Unavailable`](crate::broker::Rejection::Unavailable) (503).
    pub fn max_subscribers_per_topic(mut self, subscriptions: usize) -> Self {
        self.max_subscribers_per_topic = subscriptions;
        self
    }

    /// How many live events of its topics a subscriber may be behind before it can count as
    /// stalled (default 512; at least 1). See the [module docs](crate::broker).
    pub fn max_lag(mut self, events: usize) -> Self {
        self.window.set_max_lag(events);
        self
    }

    /// How many bytes of live frames of its topics a subscriber may be behind before it can
    /// count as stalled (default 1 MiB).
    pub fn max_pending_bytes(mut self, bytes: usize) -> Self {
        self.max_pending_bytes = bytes;
        self
    }

    /// How long a subscriber that is behind may go without progress before it is ended
    /// (default 5 s), as [`HubConfig::stall_timeout`](crate::hub::HubConfig::stall_timeout).
    pub fn stall_timeout(mut self, timeout: Duration) -> Self {
        self.window.stall_timeout = timeout;
        self
    }

    /// Where the stall rule reads the time (default [`SystemClock`](crate::clock::SystemClock)),
    /// as [`HubConfig::clock`](crate::hub::HubConfig::clock).
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.window.clock = ClockSetting::new(clock);
        self
    }

    /// The `Retry-After` of a 503 (default 5 s).
    pub fn retry_after(mut self, retry_after: Duration) -> Self {
        self.retry_after = retry_after;
        self
    }

    /// Prefixes every id with `epoch` and a dash (`k3x9-17`), so that ids survive a restart
    /// unambiguously: give each broker instance a new epoch (its start time, say), and an id
    /// from an earlier instance, whatever its number, is unknown here and gets a reset frame.
    /// Without it (the default) ids are the bare sequence number, which a restarted broker
    /// reuses. An [`Epoch`] is checked when it is made (1 to 32 ASCII letters and digits), so
    /// every id made with it is a valid SSE id.
    ///
    /// ```
    /// use ssekit::broker::{Broker, BrokerConfig, BrokerResume, Epoch, Selection};
    ///
    /// let epoch = |e| Epoch::new(e).unwrap();
    /// let before = Broker::with_config(BrokerConfig::default().epoch(epoch("a1")));
    /// let after = Broker::with_config(BrokerConfig::default().epoch(epoch("b2"))); // restarted
    /// let topics = Selection::new(["t"]).unwrap();
    /// for broker in [&before, &after] {
    ///     broker.publish(["t"], ssekit::Event::message("x")).unwrap();
    /// }
    /// let ticket = after.subscribe_to(&topics).unwrap();
    /// assert_eq!(ticket.subscribe(Some("a1-1")).resume(), BrokerResume::Reset);
    /// assert_eq!(ticket.subscribe(Some("b2-1")).resume(), BrokerResume::Replayed);
    /// ```
    pub fn epoch(mut self, epoch: Epoch) -> Self {
        self.epoch = Some(epoch);
        self
    }

    /// Takes event ids from outside instead of numbering events: every event is published
    /// with its id ([`Broker::publish_with_id`](crate::broker::Broker::publish_with_id); [`Broker::publish`](crate::broker::Broker::publish) is refused), in increasing
    /// order of [`ExternalIds::position`], and a resume id is looked up by its position. This
    /// is how a backend that orders events elsewhere (`ssekit-redis`'s `RedisBroker`: the entry
    /// ids of a Redis Stream) keeps one local window per instance with the broker's guarantees.
    /// It replaces [`epoch`](Self::epoch).
    ///
    /// ```
    /// use ssekit::broker::{Broker, BrokerConfig, ExternalIds, BrokerResume, Selection};
    ///
    /// fn offset(id: &str) -> Option<u128> {
    ///     ssekit::decimal::parse(id).map(u128::from)
    /// }
    /// let broker = Broker::with_config(BrokerConfig::default().external_ids(ExternalIds::new("0", offset)));
    /// broker.publish_with_id(["t"], ssekit::Event::message("a"), "100").unwrap();
    /// broker.publish_with_id(["t"], ssekit::Event::message("b"), "205").unwrap();
    /// assert!(broker.publish_with_id(["t"], ssekit::Event::message("c"), "150").is_err());
    ///
    /// let ticket = broker.subscribe_to(&Selection::new(["t"]).unwrap()).unwrap();
    /// assert_eq!(ticket.subscribe(Some("100")).resume(), BrokerResume::Replayed);
    /// assert_eq!(ticket.subscribe(Some("150")).resume(), BrokerResume::Reset); // never published
    /// ```
    pub fn external_ids(mut self, ids: ExternalIds) -> Self {
        self.external = Some(ids);
        self
    }

    /// See [`capacity`](Self::capacity). Getters are the setters' names with `get_`, as on
    /// [`HubConfig`](crate::hub::HubConfig) and `std::process::Command`.
    pub fn get_capacity(&self) -> usize {
        self.window.capacity
    }

    /// See [`max_bytes`](Self::max_bytes).
    pub fn get_max_bytes(&self) -> usize {
        self.window.max_bytes
    }

    /// See [`max_topics`](Self::max_topics).
    pub fn get_max_topics(&self) -> usize {
        self.max_topics
    }

    /// See [`max_idle_topics`](Self::max_idle_topics).
    pub fn get_max_idle_topics(&self) -> usize {
        self.max_idle_topics
    }

    /// See [`max_topic_len`](Self::max_topic_len).
    pub fn get_max_topic_len(&self) -> usize {
        self.max_topic_len
    }

    /// See [`max_selectors`](Self::max_selectors).
    pub fn get_max_selectors(&self) -> usize {
        self.max_selectors
    }

    /// See [`max_topics_per_event`](Self::max_topics_per_event).
    pub fn get_max_topics_per_event(&self) -> usize {
        self.max_topics_per_event
    }

    /// See [`max_subscriptions`](Self::max_subscriptions).
    pub fn get_max_subscriptions(&self) -> usize {
        self.max_subscriptions
    }

    /// See [`max_subscribers_per_topic`](Self::max_subscribers_per_topic).
    pub fn get_max_subscribers_per_topic(&self) -> usize {
        self.max_subscribers_per_topic
    }

    /// See [`max_lag`](Self::max_lag).
    pub fn get_max_lag(&self) -> usize {
        self.window.max_lag
    }

    /// See [`max_pending_bytes`](Self::max_pending_bytes).
    pub fn get_max_pending_bytes(&self) -> usize {
        self.max_pending_bytes
    }

    /// See [`stall_timeout`](Self::stall_timeout).
    pub fn get_stall_timeout(&self) -> Duration {
        self.window.stall_timeout
    }

    /// See [`retry_after`](Self::retry_after).
    pub fn get_retry_after(&self) -> Duration {
        self.retry_after
    }

    /// See [`epoch`](Self::epoch); `None` without one.
    pub fn get_epoch(&self) -> Option<&Epoch> {
        self.epoch.as_ref()
    }

    /// See [`external_ids`](Self::external_ids); `None` when the broker numbers events itself.
    pub fn get_external_ids(&self) -> Option<ExternalIds> {
        self.external
    }

    /// See [`reset_event`](Self::reset_event).
    pub fn get_reset_event(&self) -> EventName {
        self.window.reset_event
    }

    /// See [`metric_topic_labels`](Self::metric_topic_labels).
    pub fn get_metric_topic_labels(&self) -> usize {
        self.metric_topic_labels
    }

    /// The id of the event with sequence number `seq`.
    pub(super) fn id(&self, seq: u64) -> String {
        match &self.epoch {
            Some(epoch) => format!("{epoch}-{seq}"),
            None => seq.to_string(),
        }
    }

    /// The sequence number an id names, if it is one of this broker's form.
    pub(super) fn seq_of(&self, id: &str) -> Option<u64> {
        let id = id.trim();
        let digits = match &self.epoch {
            Some(epoch) => id.strip_prefix(epoch.as_str())?.strip_prefix('-')?,
            None => id,
        };
        crate::decimal::parse(digits)
    }

    /// The event name of reset frames (default `sse-reset`), as
    /// [`HubConfig::reset_event`](crate::hub::HubConfig::reset_event): an
    /// [`EventName`], checked when it is made (`event_name!("lost")`).
    pub fn reset_event(mut self, name: EventName) -> Self {
        self.window.reset_event = name;
        self
    }

    /// How many distinct `topic` label values the per-topic metrics use (default 100); the
    /// other topics are counted under `_other`.
    pub fn metric_topic_labels(mut self, labels: usize) -> Self {
        self.metric_topic_labels = labels;
        self
    }

    /// The topics the per-topic metrics name: those starting with one of these prefixes
    /// (`"rooms/"`; `""` names every topic). Default: none, every topic is counted under
    /// `_other`, so a private topic's name (`users/8`) never reaches a metrics page. See
    /// [`metrics`](super::metrics).
    pub fn metric_topic_prefixes<I, S>(mut self, prefixes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.metric_topic_prefixes = prefixes.into_iter().map(Into::into).collect();
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_the_sequence_number_with_the_epoch_if_any() {
        let plain = BrokerConfig::default();
        assert_eq!(plain.id(17), "17");
        assert_eq!(plain.seq_of("17"), Some(17));
        assert_eq!(plain.seq_of("x17"), None);
        assert_eq!(plain.seq_of("+17"), None);
        let epoch = BrokerConfig::default().epoch(Epoch::new("k3x9").unwrap());
        assert_eq!(epoch.id(17), "k3x9-17");
        assert_eq!(epoch.seq_of("k3x9-17"), Some(17));
        assert_eq!(epoch.seq_of("17"), None);
        assert_eq!(epoch.seq_of("other-17"), None);
    }

    #[test]
    fn bounds_are_clamped() {
        let config = BrokerConfig::default()
            .capacity(0)
            .max_lag(0)
            .max_topic_len(usize::MAX)
            .max_selectors(0);
        assert_eq!(config.window.capacity, 1);
        assert_eq!(config.window.max_lag, 1);
        assert_eq!(config.max_topic_len, MAX_TOPIC_LEN);
        assert_eq!(config.max_selectors, 1);
    }
}
