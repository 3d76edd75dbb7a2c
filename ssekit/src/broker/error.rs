//! Why a publish or a subscribe was refused.

use std::fmt;
use std::time::Duration;

use super::auth::Denied;
use super::topic::TopicError;

/// Which admission limit refused a subscription (see [`Rejection::Unavailable`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Limit {
    /// [`BrokerConfig::max_subscriptions`](super::BrokerConfig::max_subscriptions).
    Subscriptions,
    /// [`BrokerConfig::max_subscribers_per_topic`](super::BrokerConfig::max_subscribers_per_topic),
    /// for this selector.
    SubscribersPerTopic(String),
    /// [`BrokerConfig::max_topics`](super::BrokerConfig::max_topics): every topic is in use.
    Topics,
}

impl Limit {
    /// A short name, used as a metrics label.
    pub fn name(&self) -> &'static str {
        match self {
            Limit::Subscriptions => "subscriptions",
            Limit::SubscribersPerTopic(_) => "subscribers_per_topic",
            Limit::Topics => "topics",
        }
    }
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Limit::Subscriptions => f.write_str("too many subscriptions"),
            Limit::SubscribersPerTopic(topic) => write!(f, "too many subscribers of {topic}"),
            Limit::Topics => f.write_str("too many topics"),
        }
    }
}

/// Why a subscription was refused before its stream started. Each adapter answers it with
/// [`Rejection::status`] (and a `Retry-After` header when [`Rejection::retry_after`] is set).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Rejection {
    /// The selection is malformed or over a size limit: `400 Bad Request`.
    BadRequest(TopicError),
    /// The [`Authorize`](super::Authorize) hook refused it: `403 Forbidden`.
    Denied(Denied),
    /// An admission limit is reached: `503 Service Unavailable` with `Retry-After`.
    Unavailable {
        /// The limit reached.
        limit: Limit,
        /// When to try again ([`BrokerConfig::retry_after`](super::BrokerConfig::retry_after)).
        retry_after: Duration,
    },
}

impl Rejection {
    /// The HTTP status code to answer with: 400, 403 or 503.
    pub fn status(&self) -> u16 {
        match self {
            Rejection::BadRequest(_) => 400,
            Rejection::Denied(_) => 403,
            Rejection::Unavailable { .. } => 503,
        }
    }

    /// For a 503: when the client may try again.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Rejection::Unavailable { retry_after, .. } => Some(*retry_after),
            _ => None,
        }
    }

    /// The value of the `Retry-After` header (whole seconds, at least 1), for a 503.
    pub fn retry_after_header(&self) -> Option<String> {
        self.retry_after().map(|d| d.as_secs().max(1).to_string())
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rejection::BadRequest(e) => write!(f, "bad topic selection: {e}"),
            Rejection::Denied(e) => write!(f, "forbidden: {e}"),
            Rejection::Unavailable { limit, .. } => write!(f, "unavailable: {limit}"),
        }
    }
}

impl std::error::Error for Rejection {}

/// Why a publish was refused. Nothing was published. Each adapter answers it with
/// [`PublishError::status`] (`PublishRejected` in `ssekit-axum`, `ssekit-actix-web` and
/// `ssekit-warp`), as it answers a [`Rejection`] with [`Rejection::status`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PublishError {
    /// A topic name is malformed, or there are too many or none: `400 Bad Request`.
    Topic(TopicError),
    /// Every topic slot is in use and none is idle
    /// ([`BrokerConfig::max_topics`](super::BrokerConfig::max_topics)):
    /// `503 Service Unavailable`, without `Retry-After` (when a slot frees depends on the
    /// subscribers, not on a timer).
    TooManyTopics,
    /// The [`Authorize`](super::Authorize) hook refused it
    /// ([`Broker::publish_as`](super::Broker::publish_as)): `403 Forbidden`.
    Denied(Denied),
    /// [`Broker::publish_with_id`](super::Broker::publish_with_id): the id is not one of the
    /// broker's [`ExternalIds`](super::ExternalIds), cannot be an SSE id (CR, LF or NUL), or is
    /// not after the last event's: `400 Bad Request`.
    Id(String),
    /// The broker takes external ids and [`Broker::publish`](super::Broker::publish) was
    /// called, or it numbers events itself and
    /// [`Broker::publish_with_id`](super::Broker::publish_with_id) was called (see
    /// [`BrokerConfig::external_ids`](super::BrokerConfig::external_ids)): the server's code
    /// and its configuration disagree, so `500 Internal Server Error`.
    IdSource,
}

impl PublishError {
    /// The HTTP status code to answer with, decided here for every adapter: 400 for a bad
    /// topic or id, 403 when the hook refused, 503 when no topic slot is free, 500 when the
    /// broker was called the wrong way for its configuration ([`PublishError::IdSource`]).
    ///
    /// ```
    /// use ssekit::broker::{Broker, PublishError};
    /// use ssekit::Event;
    ///
    /// let error = Broker::new().publish(["a*"], Event::message("x")).unwrap_err();
    /// assert!(matches!(error, PublishError::Topic(_)));
    /// assert_eq!(error.status(), 400);
    /// ```
    pub fn status(&self) -> u16 {
        match self {
            PublishError::Topic(_) | PublishError::Id(_) => 400,
            PublishError::Denied(_) => 403,
            PublishError::TooManyTopics => 503,
            PublishError::IdSource => 500,
        }
    }
}

impl fmt::Display for PublishError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PublishError::Topic(e) => write!(f, "bad topic: {e}"),
            PublishError::TooManyTopics => f.write_str("too many topics"),
            PublishError::Denied(e) => write!(f, "forbidden: {e}"),
            PublishError::Id(id) => write!(f, "id {id:?} is not after the last event's"),
            PublishError::IdSource => f.write_str("this broker assigns ids in another way"),
        }
    }
}

impl std::error::Error for PublishError {}

impl From<TopicError> for PublishError {
    fn from(e: TopicError) -> Self {
        PublishError::Topic(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_refusal_has_its_status() {
        let unavailable = Rejection::Unavailable {
            limit: Limit::Topics,
            retry_after: Duration::from_millis(1500),
        };
        assert_eq!(Rejection::BadRequest(TopicError::Empty).status(), 400);
        assert_eq!(Rejection::Denied(Denied::MissingCredentials).status(), 403);
        assert_eq!(unavailable.status(), 503);
        assert_eq!(unavailable.retry_after_header().as_deref(), Some("1"));

        assert_eq!(PublishError::Topic(TopicError::Empty).status(), 400);
        assert_eq!(PublishError::Id("x".into()).status(), 400);
        assert_eq!(
            PublishError::Denied(Denied::MissingCredentials).status(),
            403
        );
        assert_eq!(PublishError::TooManyTopics.status(), 503);
        assert_eq!(PublishError::IdSource.status(), 500);
    }
}
