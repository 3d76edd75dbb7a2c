//! Publishing: [`Broker::publish`] and its variants, and the checks of an event's topics.

use std::sync::Arc;
use std::task::Waker;

use ssekit_proto::Event;

use super::{Broker, PublishError, RequestInfo, TopicError, topic};

impl Broker {
    /// Publishes `event` to every topic in `topics` (at least one, at most
    /// [`BrokerConfig::max_topics_per_event`](crate::broker::BrokerConfig::max_topics_per_event)); returns its id as it goes on the wire
    /// and as subscribers see it: the sequence number, after the
    /// [`epoch`](crate::broker::BrokerConfig::epoch) if there is one (`"17"`, `"k3x9-17"`).
    /// This is the id a client resumes from.
    ///
    /// The event is encoded once, whatever the number of topics and subscribers; a subscriber
    /// of several of its topics gets it once. This is the server's own publish: no hook runs
    /// (see [`Broker::publish_as`] for publishes on behalf of a request). A broker with
    /// [`BrokerConfig::external_ids`](crate::broker::BrokerConfig::external_ids) refuses it ([`PublishError::IdSource`]): use
    /// [`Broker::publish_with_id`].
    ///
    /// ```
    /// use ssekit::broker::{Broker, BrokerConfig, Epoch};
    ///
    /// let epoch = Epoch::new("k3x9").unwrap();
    /// let broker = Broker::with_config(BrokerConfig::default().epoch(epoch));
    /// let id = broker.publish(["t"], ssekit::Event::message("x")).unwrap();
    /// assert_eq!(&*id, "k3x9-1");
    /// ```
    pub fn publish<I>(&self, topics: I, event: Event) -> Result<Arc<str>, PublishError>
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        if self.shared.config.external.is_some() {
            return Err(PublishError::IdSource);
        }
        let topics = self.topics_checked(topics)?;
        let config = &self.shared.config;
        let mut guard = self.shared.lock();
        let state = &mut *guard;
        let (keys, _) = state.nodes_for(&topics, config, false)?;
        let seq = state.window.next_seq();
        let event = self.shared.with_id(event, seq);
        let id: Arc<str> = Arc::from(event.id().unwrap_or_default());
        let wakers = state.append(config, keys, event.to_frame(), u128::from(seq), None, false);
        drop(guard);
        wakers.into_iter().for_each(Waker::wake);
        Ok(id)
    }

    /// Publishes `event` with the id `id`, for a broker with [`BrokerConfig::external_ids`](crate::broker::BrokerConfig::external_ids):
    /// as [`Broker::publish`] does, except that the event's id is `id` (whatever id the event
    /// carried) and a resume finds it by its [`ExternalIds::position`](crate::broker::ExternalIds::position).
    ///
    /// Ids must come in increasing position: one that is not after the last event's (or is
    /// not an id of the broker's kind, or could not be an SSE id: CR, LF or NUL) is refused
    /// with [`PublishError::Id`], and nothing is published. Where every topic slot is in use
    /// ([`BrokerConfig::max_topics`](crate::broker::BrokerConfig::max_topics)), the event is still published (the events come from
    /// elsewhere and must not be lost): a topic that gets no slot is not tracked, so a resume
    /// from an id older than the window selecting it gets a reset frame.
    pub fn publish_with_id<I>(&self, topics: I, event: Event, id: &str) -> Result<(), PublishError>
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        let config = &self.shared.config;
        let Some(ids) = config.external else {
            return Err(PublishError::IdSource);
        };
        let topics = self.topics_checked(topics)?;
        let bad_id = || PublishError::Id(id.to_owned());
        let key = ids.position(id).ok_or_else(bad_id)?;
        let frame = event.with_id(id).map_err(|_| bad_id())?.to_frame();
        let mut guard = self.shared.lock();
        let state = &mut *guard;
        // After the newest event, or after the origin when there is none yet.
        let after = match state.window.next_seq() {
            1 => state.floor.as_ref().map(|(floor, _)| *floor),
            _ => Some(state.last_key),
        };
        if after.is_some_and(|after| key <= after) {
            return Err(bad_id());
        }
        let (keys, untracked) = state.nodes_for(&topics, config, true)?;
        if state.complete_from == u128::MAX {
            state.complete_from = key;
        }
        let wakers = state.append(config, keys, frame, key, Some(Arc::from(id)), untracked);
        drop(guard);
        wakers.into_iter().for_each(Waker::wake);
        Ok(())
    }

    /// Publishes on behalf of a request: the [`Authorize`](crate::broker::Authorize) hook's
    /// [`publish`](crate::broker::Authorize::publish) check runs first.
    pub fn publish_as<I>(
        &self,
        request: &RequestInfo,
        topics: I,
        event: Event,
    ) -> Result<Arc<str>, PublishError>
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        let topics = self.check_publish_as(request, topics)?;
        self.publish(topics, event)
    }

    /// The checks [`Broker::publish`] makes of `topics`, without publishing: at least one, at
    /// most [`BrokerConfig::max_topics_per_event`](crate::broker::BrokerConfig::max_topics_per_event), each a valid name of at most
    /// [`BrokerConfig::max_topic_len`](crate::broker::BrokerConfig::max_topic_len) bytes. Returns them without duplicates, in their order.
    ///
    /// For a backend that publishes elsewhere first (`ssekit-redis` checks topics before `XADD`,
    /// so that every instance's broker takes the entry).
    ///
    /// ```
    /// use ssekit::broker::{Broker, PublishError};
    ///
    /// let broker = Broker::new();
    /// assert_eq!(broker.check_topics(["a", "b", "a"]).unwrap(), ["a", "b"]);
    /// assert!(matches!(broker.check_topics(["a*"]), Err(PublishError::Topic(_))));
    /// ```
    pub fn check_topics<I>(&self, topics: I) -> Result<Vec<I::Item>, PublishError>
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        Ok(self.topics_checked(topics)?)
    }

    /// [`Broker::check_topics`], then the [`Authorize`](crate::broker::Authorize) hook's [`publish`](crate::broker::Authorize::publish)
    /// check: what [`Broker::publish_as`] checks before publishing.
    pub fn check_publish_as<I>(
        &self,
        request: &RequestInfo,
        topics: I,
    ) -> Result<Vec<I::Item>, PublishError>
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        let topics = self.topics_checked(topics)?;
        let names: Vec<&str> = topics.iter().map(|t| t.as_ref()).collect();
        self.shared
            .authorize
            .publish(request, &names)
            .map_err(PublishError::Denied)?;
        Ok(topics)
    }

    fn topics_checked<I>(&self, topics: I) -> Result<Vec<I::Item>, TopicError>
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        let config = &self.shared.config;
        let mut checked: Vec<I::Item> = Vec::new();
        for topic in topics {
            topic::check_topic(topic.as_ref(), config.max_topic_len)?;
            // A repeated topic is the same topic: only distinct ones count against the limit.
            if checked.iter().any(|t| t.as_ref() == topic.as_ref()) {
                continue;
            }
            if checked.len() >= config.max_topics_per_event {
                return Err(TopicError::TooMany {
                    count: checked.len() + 1,
                    max: config.max_topics_per_event,
                });
            }
            checked.push(topic);
        }
        if checked.is_empty() {
            return Err(TopicError::None);
        }
        Ok(checked)
    }
}
