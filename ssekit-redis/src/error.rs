//! The crate's error type.

use std::fmt;

use ssekit::broker::PublishError;

/// Why connecting or publishing failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// Redis refused the command, or the connection failed or timed out. A failed
    /// [`publish`](crate::RedisHub::publish) is not retried: when the connection broke after
    /// the command was sent, the entry may have been added all the same.
    Redis(redis::RedisError),
    /// `XADD` answered without an entry id.
    NoEntryId,
    /// [`RedisBroker::publish`](crate::RedisBroker::publish) or
    /// [`publish_as`](crate::RedisBroker::publish_as) refused the event before sending it to
    /// Redis: a topic is malformed, there are none or too many, or the authorization hook
    /// refused the request. Nothing was added.
    Publish(PublishError),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Redis(e) => write!(f, "redis: {e}"),
            Error::NoEntryId => f.write_str("redis: XADD returned no entry id"),
            Error::Publish(e) => write!(f, "not published: {e}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Redis(e) => Some(e),
            Error::NoEntryId => None,
            Error::Publish(e) => Some(e),
        }
    }
}

impl From<redis::RedisError> for Error {
    fn from(e: redis::RedisError) -> Error {
        Error::Redis(e)
    }
}

impl From<PublishError> for Error {
    fn from(e: PublishError) -> Error {
        Error::Publish(e)
    }
}
