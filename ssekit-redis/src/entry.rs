//! How an event is stored in a stream entry, and how an entry becomes an event again.
//!
//! An entry holds the event's fields, never its encoded frame: the frame carries the entry id,
//! which only exists once `XADD` has run. Each instance's reader encodes an entry once, with
//! `id: <entry id>`, and every local subscriber shares that frame.
//!
//! | entry field | event field |
//! |---|---|
//! | `data` | `data:` (may span lines) |
//! | `event` | `event:` |
//! | `retry` | `retry:`, milliseconds in decimal |
//! | `comment` | `:` comment lines |
//!
//! Other fields are ignored, so an entry written by another program (`XADD key * data hello`)
//! is an event too. An entry the encoder refuses (an `event` value with CR or LF, written by
//! hand) becomes an id-only frame: clients do not dispatch it, but it keeps the id sequence.
//!
//! An entry of a [`RedisBroker`](crate::RedisBroker)'s stream also has a `topics` field: the
//! event's topics joined with LF (topic names have no control characters, so LF cannot be
//! part of one): `XADD key * topics "rooms/1\nusers/7" data hi`.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::time::Duration;

use redis::Value;
use ssekit::decimal;
use ssekit_proto::Event;

/// Field holding the event data.
pub(crate) const DATA: &str = "data";
/// Field holding the event name.
pub(crate) const EVENT: &str = "event";
/// Field holding the reconnection time, in milliseconds.
pub(crate) const RETRY: &str = "retry";
/// Field holding the comment.
pub(crate) const COMMENT: &str = "comment";
/// Field written for an event with no field at all (`XADD` needs one); readers ignore it.
pub(crate) const EMPTY: &str = "-";
/// Field holding a broker event's topics, joined with [`TOPIC_SEPARATOR`].
pub(crate) const TOPICS: &str = "topics";
/// What separates topics in the [`TOPICS`] field.
pub(crate) const TOPIC_SEPARATOR: char = '\n';

/// A stream entry id, `<milliseconds>-<sequence>`, ordered as Redis orders them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub(crate) struct EntryId {
    pub(crate) ms: u64,
    pub(crate) seq: u64,
}

impl EntryId {
    /// The id before every entry (`0-0`).
    pub(crate) const ZERO: EntryId = EntryId { ms: 0, seq: 0 };

    /// Parses `<ms>-<seq>` (both decimal, ASCII digits only); anything else is `None`.
    pub(crate) fn parse(id: &str) -> Option<EntryId> {
        let (ms, seq) = id.split_once('-')?;
        Some(EntryId {
            ms: decimal::parse(ms)?,
            seq: decimal::parse(seq)?,
        })
    }

    /// Its place in stream order as one number (`ms << 64 | seq`): what the local broker
    /// orders ids by.
    pub(crate) fn position(self) -> u128 {
        (u128::from(self.ms) << 64) | u128::from(self.seq)
    }
}

/// The position of an entry id, for [`ssekit::broker::ExternalIds`] (`0-0` is 0).
pub(crate) fn position(id: &str) -> Option<u128> {
    EntryId::parse(id).map(EntryId::position)
}

impl fmt::Display for EntryId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.ms, self.seq)
    }
}

/// The entry fields for `event`, in the order they are written. The event's own id is not
/// stored: the entry id replaces it.
pub(crate) fn fields(event: &Event) -> Vec<(&'static str, Cow<'_, str>)> {
    let mut fields = Vec::with_capacity(4);
    if let Some(comment) = event.comment_text() {
        fields.push((COMMENT, Cow::Borrowed(comment)));
    }
    if let Some(retry) = event.retry() {
        let millis = u64::try_from(retry.as_millis()).unwrap_or(u64::MAX);
        fields.push((RETRY, Cow::Owned(millis.to_string())));
    }
    if let Some(name) = event.event_name() {
        fields.push((EVENT, Cow::Borrowed(name)));
    }
    if let Some(data) = event.data() {
        fields.push((DATA, Cow::Borrowed(data)));
    }
    if fields.is_empty() {
        fields.push((EMPTY, Cow::Borrowed("")));
    }
    fields
}

/// The entry fields of a broker event: its topics, then the event's fields.
pub(crate) fn fields_with_topics<'a>(
    topics: &'a str,
    event: &'a Event,
) -> Vec<(&'static str, Cow<'a, str>)> {
    let mut fields = vec![(TOPICS, Cow::Borrowed(topics))];
    fields.extend(
        self::fields(event)
            .into_iter()
            .filter(|(name, _)| *name != EMPTY),
    );
    fields
}

/// The topics of a broker entry, as written (`None` without a `topics` field).
pub(crate) fn topics(map: &HashMap<String, Value>) -> Option<String> {
    map.get(TOPICS).and_then(value_text)
}

/// The event of the entry `id` with fields `map`, with `id: <id>`; an id-only event when the
/// fields do not make a valid event. The reader publishes it into the local hub, which encodes
/// it once through the checked encoder.
pub(crate) fn event(id: &str, map: &HashMap<String, Value>) -> Event {
    let text = |name: &str| map.get(name).and_then(value_text);
    let mut builder = Event::builder();
    if let Some(comment) = text(COMMENT) {
        builder = builder.comment(comment);
    }
    if let Some(retry) = text(RETRY).and_then(|r| decimal::parse(&r)) {
        builder = builder.retry(Duration::from_millis(retry));
    }
    if let Some(name) = text(EVENT) {
        builder = builder.event(name);
    }
    if let Some(data) = text(DATA) {
        builder = builder.data(data);
    }
    match builder.id(id).build() {
        Ok(event) => event,
        Err(_) => id_only(id),
    }
}

/// `id: <id>` and the blank line: moves the client's last event id, dispatches nothing.
fn id_only(id: &str) -> Event {
    // Entry ids are digits and one `-`: the encoder cannot refuse them (an empty comment
    // stands in for the impossible case).
    Event::builder()
        .id(id)
        .build()
        .unwrap_or_else(|_| Event::comment(""))
}

/// A field value as text (invalid UTF-8 becomes U+FFFD, as an SSE client would decode it).
fn value_text(value: &Value) -> Option<String> {
    match value {
        Value::BulkString(bytes) => Some(String::from_utf8_lossy(bytes).into_owned()),
        Value::SimpleString(s) => Some(s.clone()),
        Value::Int(n) => Some(n.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(fields: &[(&str, &str)]) -> HashMap<String, Value> {
        fields
            .iter()
            .map(|(k, v)| (k.to_string(), Value::BulkString(v.as_bytes().to_vec())))
            .collect()
    }

    #[test]
    fn ids_parse_and_order_like_redis() {
        let a = EntryId::parse("1700000000000-0").unwrap();
        let b = EntryId::parse("1700000000000-10").unwrap();
        let c = EntryId::parse("1700000000001-2").unwrap();
        assert!(a < b && b < c && EntryId::ZERO < a);
        assert_eq!(b.to_string(), "1700000000000-10");
        for bad in [
            "",
            "1",
            "1-",
            "-1",
            "a-1",
            "1-b",
            "1-2-3",
            "+1-2",
            "1 -2",
            "99999999999999999999-0",
        ] {
            assert_eq!(EntryId::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn an_event_round_trips_through_its_fields() {
        let event = Event::builder()
            .comment("note")
            .retry(Duration::from_millis(1500))
            .event("tick")
            .id("ignored")
            .data("a\nb")
            .build()
            .unwrap();
        let stored: Vec<(String, String)> = fields(&event)
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.into_owned()))
            .collect();
        let stored: Vec<(&str, &str)> = stored.iter().map(|(k, v)| (&**k, &**v)).collect();
        assert!(!stored.iter().any(|(k, _)| *k == "id"));
        let frame = super::event("5-1", &map(&stored)).to_frame();
        let expected = event.with_id("5-1").unwrap().to_frame();
        assert_eq!(frame, expected);
    }

    #[test]
    fn an_empty_event_still_has_a_field() {
        let event = Event::builder().build().unwrap();
        let stored = fields(&event);
        assert_eq!(stored, [(EMPTY, Cow::Borrowed(""))]);
        assert_eq!(frame("1-0", &map(&[(EMPTY, "")])), &b"id: 1-0\n\n"[..]);
    }

    fn frame(id: &str, map: &HashMap<String, Value>) -> ssekit_proto::Frame {
        super::event(id, map).to_frame()
    }

    #[test]
    fn foreign_entries_are_read_safely() {
        // Written by another program: plain data, unknown fields, odd retry.
        let m = map(&[("data", "hi"), ("user", "x"), ("retry", "soon")]);
        assert_eq!(frame("2-0", &m), &b"id: 2-0\ndata: hi\n\n"[..]);
        // An event name that would inject a field: refused, the id is kept.
        let m = map(&[("event", "x\ndata: injected"), ("data", "hi")]);
        assert_eq!(frame("3-0", &m), &b"id: 3-0\n\n"[..]);
        // Invalid UTF-8 decodes as U+FFFD, as the client would.
        let mut m = HashMap::new();
        m.insert("data".to_string(), Value::BulkString(vec![b'a', 0xFF]));
        assert_eq!(frame("4-0", &m), "id: 4-0\ndata: a\u{FFFD}\n\n".as_bytes());
    }
}
