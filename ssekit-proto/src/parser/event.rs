//! What the parser hands out: owned [`MessageEvent`]s in [`Parsed`], lent [`EventRef`]s in
//! [`ParsedRef`].

use alloc::string::String;
use alloc::sync::Arc;
use core::fmt;
use core::time::Duration;

use super::ParseError;

/// A dispatched event, as a browser's `MessageEvent` would show it.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct MessageEvent {
    pub(super) event_type: Text,
    pub(super) data: String,
    pub(super) last_event_id: Text,
}

impl fmt::Debug for MessageEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MessageEvent")
            .field("event_type", &self.event_type())
            .field("data", &self.data)
            .field("last_event_id", &self.last_event_id())
            .finish()
    }
}

impl MessageEvent {
    /// Creates an event by hand (for tests, or for sources other than the parser).
    pub fn new(event_type: &str, data: impl Into<String>, last_event_id: &str) -> MessageEvent {
        MessageEvent {
            event_type: Text::new(event_type, MESSAGE),
            data: data.into(),
            last_event_id: Text::new(last_event_id, ""),
        }
    }

    /// The event type: the last `event:` value of the block, or `"message"`.
    pub fn event_type(&self) -> &str {
        self.event_type.get(MESSAGE)
    }

    /// The data: the `data:` values of the block joined with LF.
    pub fn data(&self) -> &str {
        &self.data
    }

    /// Takes the data out without copying.
    pub fn into_data(self) -> String {
        self.data
    }

    /// The last event ID at the time this event was dispatched (it persists across events).
    pub fn last_event_id(&self) -> &str {
        self.last_event_id.get("")
    }

    /// Deserializes the data as JSON.
    ///
    /// ```
    /// # #[cfg(feature = "serde")] {
    /// let event = ssekit_proto::MessageEvent::new("message", r#"{"n":1}"#, "");
    /// let value: serde_json::Value = event.json().unwrap();
    /// assert_eq!(value["n"], 1);
    /// # }
    /// ```
    #[cfg(feature = "serde")]
    pub fn json<'de, T: serde::Deserialize<'de>>(&'de self) -> Result<T, serde_json::Error> {
        serde_json::from_str(&self.data)
    }
}

/// One output of the parser.
///
/// More kinds of output may be added: match it with a `_` arm.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Parsed {
    /// A blank line dispatched an event with data.
    Event(MessageEvent),
    /// A valid `retry:` field set the reconnection time.
    Retry(Duration),
}

/// A dispatched event lent by [`Parser::feed_with`](crate::Parser::feed_with): its strings borrow the parser's buffers,
/// so nothing is allocated per event.
///
/// [`EventRef::to_owned`] gives the [`MessageEvent`] that [`Parser::feed`](crate::Parser::feed) would have given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EventRef<'a> {
    pub(super) event_type: &'a str,
    pub(super) data: &'a str,
    pub(super) last_event_id: &'a str,
}

impl<'a> EventRef<'a> {
    /// The event type: the last `event:` value of the block, or `"message"`.
    pub fn event_type(&self) -> &'a str {
        self.event_type
    }

    /// The data: the `data:` values of the block joined with LF.
    pub fn data(&self) -> &'a str {
        self.data
    }

    /// The last event ID at the time this event was dispatched (it persists across events).
    pub fn last_event_id(&self) -> &'a str {
        self.last_event_id
    }

    /// The owned event, equal to the one [`Parser::feed`](crate::Parser::feed) gives for the same input.
    pub fn to_owned(self) -> MessageEvent {
        MessageEvent::new(self.event_type, self.data, self.last_event_id)
    }

    /// Deserializes the data as JSON (borrowing from it where the target type can).
    #[cfg(feature = "serde")]
    pub fn json<T: serde::Deserialize<'a>>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_str(self.data)
    }
}

/// One output of [`Parser::feed_with`](crate::Parser::feed_with): [`Parsed`] and [`ParseError`] in one enum, with the
/// event borrowed.
///
/// More kinds of output may be added: match it with a `_` arm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ParsedRef<'a> {
    /// A blank line dispatched an event with data.
    Event(EventRef<'a>),
    /// A valid `retry:` field set the reconnection time.
    Retry(Duration),
    /// A limit was exceeded; the event being built was discarded.
    Error(ParseError),
}

/// The default event type.
pub(super) const MESSAGE: &str = "message";

/// The event type or the last event ID of a dispatched event: usually its default (`message`,
/// or no id), which is then stored as `None`.
///
/// Every event carries both, so cloning them must be cheap: an `Arc<str>` costs two atomic
/// operations per event (one to clone, one to drop), a good part of the cost of parsing a small
/// event. `None` costs nothing. The default is always stored as `None`, so equal strings are
/// equal values.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) struct Text(Option<Arc<str>>);

impl Text {
    pub(super) const DEFAULT: Text = Text(None);

    pub(super) fn new(text: &str, default: &str) -> Text {
        if text == default {
            Text::DEFAULT
        } else {
            Text(Some(Arc::from(text)))
        }
    }

    /// UTF-8 decoding as the standard asks (see [`decode`]).
    pub(super) fn get<'a>(&'a self, default: &'a str) -> &'a str {
        self.0.as_deref().unwrap_or(default)
    }
}
