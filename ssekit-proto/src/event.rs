//! The encoder side: a validated [`Event`], its [`EventBuilder`], and the wire encoding.
//!
//! An [`Event`] can only be obtained through the builder (or the infallible
//! [`Event::message`], [`Event::named`] and [`Event::comment`] shortcuts), and the builder
//! refuses any value that would let a caller put a field on the wire that they did not ask for:
//! an event name or id containing CR or LF, or an id containing NUL, is an [`EventError`], never
//! a panic and never a silent rewrite. Data and comments may contain any line ends: they are
//! split on CR, LF and CRLF into several `data:` (or `:`) lines, which is exactly how the parser
//! joins them back (with LF).
//!
//! The builder can also encode directly ([`EventBuilder::encode`], [`EventBuilder::to_vec`]):
//! its fields may borrow (`&str`) or own (`String`) their text, and nothing is allocated per
//! field on the way to the wire.

use alloc::borrow::Cow;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use core::time::Duration;

use crate::lines::Lines;

/// The keep-alive frame: an empty comment followed by the blank line that ends it.
///
/// Parsers ignore it; proxies and clients see traffic on an idle stream.
pub const KEEP_ALIVE: &[u8] = b":\n\n";

/// Why the [`EventBuilder`] refused an event.
#[derive(Debug)]
#[non_exhaustive]
pub enum EventError {
    /// The event name contains CR or LF, which would end the `event:` line early.
    EventNameContainsNewline,
    /// The id contains CR or LF, which would end the `id:` line early.
    IdContainsNewline,
    /// The id contains NUL; parsers ignore such an id, so it cannot be sent faithfully.
    IdContainsNul,
    /// The value given to [`EventBuilder::json_data`] could not be serialized.
    #[cfg(feature = "serde")]
    Json(serde_json::Error),
}

impl fmt::Display for EventError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EventError::EventNameContainsNewline => {
                f.write_str("SSE event name must not contain CR or LF")
            }
            EventError::IdContainsNewline => f.write_str("SSE event id must not contain CR or LF"),
            EventError::IdContainsNul => f.write_str("SSE event id must not contain NUL"),
            #[cfg(feature = "serde")]
            EventError::Json(e) => write!(f, "SSE event data could not be serialized: {e}"),
        }
    }
}

impl core::error::Error for EventError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            #[cfg(feature = "serde")]
            EventError::Json(e) => Some(e),
            _ => None,
        }
    }
}

/// An event name checked once, for the common case of a fixed name: [`Event::named`] with it
/// cannot fail.
///
/// Make one with the [`event_name!`](crate::event_name) macro, which checks a literal at
/// compile time (a name with CR or LF does not compile), or with [`EventName::new`] in a
/// `const`:
///
/// ```
/// use ssekit_proto::{Event, EventName, event_name};
///
/// const TICK: EventName = event_name!("tick");
/// assert_eq!(Event::named(TICK, "1").to_vec(), b"event: tick\ndata: 1\n\n");
/// assert!(EventName::new("a\nb").is_none());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EventName(&'static str);

impl EventName {
    /// The name, or `None` if it contains CR or LF (which would end the `event:` line early).
    pub const fn new(name: &'static str) -> Option<EventName> {
        let bytes = name.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'\r' || bytes[i] == b'\n' {
                return None;
            }
            i += 1;
        }
        Some(EventName(name))
    }

    /// The name.
    pub const fn as_str(self) -> &'static str {
        self.0
    }
}

/// An [`EventName`] from a string literal, checked at compile time: a name containing CR or LF
/// is a compile error, never a run-time panic.
///
/// ```
/// let event = ssekit_proto::Event::named(ssekit_proto::event_name!("update"), "{}");
/// assert_eq!(event.event_name(), Some("update"));
/// ```
///
/// ```compile_fail
/// let name = ssekit_proto::event_name!("a\ndata: injected");
/// ```
#[macro_export]
macro_rules! event_name {
    ($name:expr) => {{
        const NAME: $crate::EventName = match $crate::EventName::new($name) {
            ::core::option::Option::Some(name) => name,
            ::core::option::Option::None => {
                ::core::panic!("an SSE event name must not contain CR or LF")
            }
        };
        NAME
    }};
}

/// One server-sent event, validated and ready to encode.
///
/// Build one with [`Event::builder`], or use [`Event::message`] for a plain data event and
/// [`Event::named`] for data under a fixed event name:
///
/// ```
/// use core::time::Duration;
/// use ssekit_proto::Event;
///
/// let event = Event::builder()
///     .event("tick")
///     .id("42")
///     .retry(Duration::from_secs(10))
///     .data("line one\nline two")
///     .build()?;
/// assert_eq!(
///     event.to_vec(),
///     b"retry: 10000\nevent: tick\nid: 42\ndata: line one\ndata: line two\n\n"
/// );
///
/// // An event name with a newline would inject a field: refused, not rewritten.
/// assert!(Event::builder().event("x\ndata: injected").build().is_err());
/// # Ok::<(), ssekit_proto::EventError>(())
/// ```
///
/// Fields are written in a fixed order: comment lines, `retry`, `event`, `id`, `data`, then the
/// blank line that dispatches the event.
///
/// # No `Event::default()`
///
/// axum's and warp's events start as `Event::default()` and are filled in with setters. Here an
/// `Event` is always valid, so it has no empty default to fill in (and no `Default` impl: the
/// spelling fails at `default`, not later): the same setters (`data`, `event`, `id`, `retry`,
/// `comment`) are on [`Event::builder`], which reports an invalid name or id when the event is
/// built. `Event::default().data(x)` is `Event::message(x)`, and
/// `Event::default().event("tick").data(x)` is `Event::named(event_name!("tick"), x)`, both
/// infallible.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Event {
    /// Owned text, except a fixed name ([`Event::named`]), which is not copied.
    fields: Fields<'static>,
}

/// The fields of an event: of an [`Event`] (owned) or of an [`EventBuilder`] (owned or
/// borrowed).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
struct Fields<'a> {
    comment: Option<Cow<'a, str>>,
    retry: Option<Duration>,
    event: Option<Cow<'a, str>>,
    id: Option<Cow<'a, str>>,
    data: Option<Cow<'a, str>>,
}

impl Fields<'_> {
    /// No field set: the start of the shortcuts.
    const EMPTY: Fields<'static> = Fields {
        comment: None,
        retry: None,
        event: None,
        id: None,
        data: None,
    };

    /// The fields, borrowed, for the encoder.
    #[inline(always)]
    fn parts(&self) -> Parts<'_> {
        Parts {
            comment: self.comment.as_deref(),
            retry: self.retry,
            event: self.event.as_deref(),
            id: self.id.as_deref(),
            data: self.data.as_deref(),
        }
    }
}

impl Event {
    /// Starts building an event.
    #[inline]
    #[doc(alias = "default")]
    pub fn builder<'a>() -> EventBuilder<'a> {
        EventBuilder::default()
    }

    /// A plain `message` event carrying `data` (which may span several lines).
    ///
    /// ```
    /// assert_eq!(ssekit_proto::Event::message("hi").to_vec(), b"data: hi\n\n");
    /// ```
    pub fn message(data: impl Into<String>) -> Event {
        let fields = Fields {
            data: Some(Cow::Owned(data.into())),
            ..Fields::EMPTY
        };
        Event { fields }
    }

    /// An event of type `name` carrying `data`; infallible, since the name was checked when
    /// the [`EventName`] was made.
    ///
    /// ```
    /// use ssekit_proto::{Event, event_name};
    /// let event = Event::named(event_name!("tick"), "1");
    /// assert_eq!(event.to_vec(), b"event: tick\ndata: 1\n\n");
    /// ```
    pub fn named(name: EventName, data: impl Into<String>) -> Event {
        let fields = Fields {
            event: Some(Cow::Borrowed(name.0)),
            data: Some(Cow::Owned(data.into())),
            ..Fields::EMPTY
        };
        Event { fields }
    }

    /// A comment-only event (ignored by clients, useful as a heartbeat with a text).
    ///
    /// ```
    /// assert_eq!(ssekit_proto::Event::comment("hello").to_vec(), b": hello\n\n");
    /// ```
    pub fn comment(text: impl Into<String>) -> Event {
        let fields = Fields {
            comment: Some(Cow::Owned(text.into())),
            ..Fields::EMPTY
        };
        Event { fields }
    }

    /// The data, if any. Events without data are not dispatched by clients, but their `id` and
    /// `retry` still take effect.
    pub fn data(&self) -> Option<&str> {
        self.fields.data.as_deref()
    }

    /// The event name (the `event:` field), if any.
    pub fn event_name(&self) -> Option<&str> {
        self.fields.event.as_deref()
    }

    /// The id (the `id:` field), if any.
    pub fn id(&self) -> Option<&str> {
        self.fields.id.as_deref()
    }

    /// The reconnection time (the `retry:` field), if any.
    pub fn retry(&self) -> Option<Duration> {
        self.fields.retry
    }

    /// The comment text, if any.
    pub fn comment_text(&self) -> Option<&str> {
        self.fields.comment.as_deref()
    }

    /// Returns a copy of this event with its id replaced by `id`.
    ///
    /// Used by publishers that assign ids; the id is validated like the builder's.
    pub fn with_id(mut self, id: impl Into<String>) -> Result<Event, EventError> {
        let id = id.into();
        validate_id(&id)?;
        self.fields.id = Some(Cow::Owned(id));
        Ok(self)
    }

    /// Sets the id to `seq` in decimal. It cannot fail: digits never inject anything. A
    /// broadcast that numbers its events uses it.
    ///
    /// ```
    /// let event = ssekit_proto::Event::message("x").with_sequence_id(42);
    /// assert_eq!(event.id(), Some("42"));
    /// ```
    pub fn with_sequence_id(mut self, seq: u64) -> Event {
        self.fields.id = Some(Cow::Owned(alloc::string::ToString::to_string(&seq)));
        self
    }

    /// The fields, borrowed, for the encoder.
    #[inline(always)]
    fn parts(&self) -> Parts<'_> {
        self.fields.parts()
    }

    /// The encoded size, exact when the data and the comment are one line each (the usual
    /// case), computed without looking at them. Otherwise it is short by at most 6 bytes per
    /// further data line (`data: ` and its LF in place of the line end) and 2 per further
    /// comment line: [`Event::encoded_len`] is exact, and searches them for line ends.
    pub fn size_hint(&self) -> usize {
        self.parts().size_hint()
    }

    /// The exact size of the wire form (data and comment are searched for line ends).
    pub fn encoded_len(&self) -> usize {
        self.parts().encoded_len(false)
    }

    /// Appends the wire form of this event to `out`. Reuses `out`'s capacity: encoding many
    /// events into one cleared buffer allocates nothing once the buffer is large enough.
    #[inline]
    pub fn encode(&self, out: &mut Vec<u8>) {
        self.parts().encode(out);
    }

    /// The wire form of this event as a new vector (allocated once, at its exact size).
    pub fn to_vec(&self) -> Vec<u8> {
        self.parts().to_vec()
    }

    /// Writes the wire form of this event into any [`bytes::BufMut`].
    #[cfg(feature = "bytes")]
    pub fn encode_buf<B: bytes::BufMut>(&self, buf: &mut B) {
        self.parts()
            .encode_with(&mut |bytes: &[u8]| buf.put_slice(bytes), false);
    }

    /// The wire form of this event as one [`bytes::Bytes`] frame.
    #[cfg(feature = "bytes")]
    #[inline]
    pub fn to_bytes(&self) -> bytes::Bytes {
        bytes::Bytes::from(self.to_vec())
    }
}

/// Builds an [`Event`], or encodes one straight from its parts; [`EventBuilder::build`] (or
/// the encoding method) reports the first invalid value.
///
/// Each text field takes anything that converts into a `Cow<'a, str>`: a `String` is moved in,
/// a `&str` is borrowed. [`EventBuilder::build`] makes an owned [`Event`] (copying what was
/// borrowed); [`EventBuilder::encode`], [`EventBuilder::to_vec`] and (feature `bytes`)
/// `EventBuilder::to_bytes` write the wire form from the parts as they are, without a copy per
/// field:
///
/// ```
/// use ssekit_proto::Event;
///
/// let mut wire = Vec::new();
/// let token = String::from(r#"{"delta":"hi"}"#);
/// Event::builder().event("token").data(&*token).encode(&mut wire)?;
/// assert_eq!(wire, b"event: token\ndata: {\"delta\":\"hi\"}\n\n");
/// // Validated the same way: an injection is refused, nothing is written.
/// wire.clear();
/// assert!(Event::builder().id("1\nevent: x").data("d").encode(&mut wire).is_err());
/// assert!(wire.is_empty());
/// # Ok::<(), ssekit_proto::EventError>(())
/// ```
///
/// Setting a field twice keeps the last value.
#[derive(Debug, Default)]
#[must_use = "a builder does nothing until it is built or encoded"]
pub struct EventBuilder<'a> {
    fields: Fields<'a>,
    error: Option<EventError>,
}

impl<'a> EventBuilder<'a> {
    /// Sets the data. CR, LF and CRLF inside it start new `data:` lines.
    #[inline]
    pub fn data(mut self, data: impl Into<Cow<'a, str>>) -> Self {
        self.fields.data = Some(data.into());
        self
    }

    /// Sets the data to the JSON serialization of `value` (compact, so one `data:` line).
    ///
    /// ```
    /// # #[cfg(feature = "serde")] {
    /// let event = ssekit_proto::Event::builder().json_data(&[1, 2, 3]).build().unwrap();
    /// assert_eq!(event.data(), Some("[1,2,3]"));
    /// # }
    /// ```
    #[cfg(feature = "serde")]
    pub fn json_data<T: serde::Serialize + ?Sized>(mut self, value: &T) -> Self {
        match serde_json::to_string(value) {
            Ok(json) => self.fields.data = Some(Cow::Owned(json)),
            Err(e) => self.fail(EventError::Json(e)),
        }
        self
    }

    /// Sets the event name (the `event:` field, `type` on the client). It must not contain CR
    /// or LF.
    #[inline]
    pub fn event(mut self, name: impl Into<Cow<'a, str>>) -> Self {
        let name = name.into();
        if memchr::memchr2(b'\r', b'\n', name.as_bytes()).is_some() {
            self.fail(EventError::EventNameContainsNewline);
        } else {
            self.fields.event = Some(name);
        }
        self
    }

    /// Sets the id (the `id:` field, `lastEventId` on the client). It must not contain CR, LF
    /// or NUL. An empty id resets the client's last event id.
    #[inline]
    pub fn id(mut self, id: impl Into<Cow<'a, str>>) -> Self {
        let id = id.into();
        match validate_id(&id) {
            Ok(()) => self.fields.id = Some(id),
            Err(e) => self.fail(e),
        }
        self
    }

    /// Sets the reconnection time the client should use (sent in whole milliseconds).
    #[inline]
    pub fn retry(mut self, retry: Duration) -> Self {
        self.fields.retry = Some(retry);
        self
    }

    /// Sets a comment. Line ends inside it start new comment lines; clients ignore comments.
    #[inline]
    pub fn comment(mut self, text: impl Into<Cow<'a, str>>) -> Self {
        self.fields.comment = Some(text.into());
        self
    }

    /// Finishes the event, or returns the first invalid value that was given. Borrowed text
    /// is copied into the event; owned text is moved.
    #[inline]
    pub fn build(self) -> Result<Event, EventError> {
        if let Some(e) = self.error {
            return Err(e);
        }
        let owned = |text: Option<Cow<'_, str>>| text.map(|text| Cow::Owned(text.into_owned()));
        let Fields {
            comment,
            retry,
            event,
            id,
            data,
        } = self.fields;
        let fields = Fields {
            comment: owned(comment),
            retry,
            event: owned(event),
            id: owned(id),
            data: owned(data),
        };
        Ok(Event { fields })
    }

    /// Appends the wire form of the event to `out`, straight from the parts given (no copy of
    /// them, no allocation once `out` is large enough); or, if a value was invalid, returns
    /// its error and writes nothing.
    #[inline]
    pub fn encode(self, out: &mut Vec<u8>) -> Result<(), EventError> {
        match self.error {
            Some(e) => Err(e),
            None => {
                self.fields.parts().encode(out);
                Ok(())
            }
        }
    }

    /// The wire form of the event as a new vector (allocated once, at its exact size), or the
    /// first invalid value.
    #[inline]
    pub fn to_vec(self) -> Result<Vec<u8>, EventError> {
        match self.error {
            Some(e) => Err(e),
            None => Ok(self.fields.parts().to_vec()),
        }
    }

    /// The wire form of the event as one [`bytes::Bytes`] frame, or the first invalid value.
    #[cfg(feature = "bytes")]
    #[inline]
    pub fn to_bytes(self) -> Result<bytes::Bytes, EventError> {
        self.to_vec().map(bytes::Bytes::from)
    }

    fn fail(&mut self, error: EventError) {
        if self.error.is_none() {
            self.error = Some(error);
        }
    }
}

/// The fields of an event, borrowed: what the encoder writes, from an [`Event`] or straight
/// from an [`EventBuilder`].
#[derive(Clone, Copy)]
struct Parts<'p> {
    comment: Option<&'p str>,
    retry: Option<Duration>,
    event: Option<&'p str>,
    id: Option<&'p str>,
    data: Option<&'p str>,
}

impl Parts<'_> {
    /// The size of the one-line fields (`retry`, `event`, `id`) and the final blank line.
    #[inline]
    fn head_len(&self) -> usize {
        let retry = self.retry.map_or(0, |retry| {
            8 + format_u64(retry_millis(retry), &mut [0u8; 20]).len()
        });
        let event = self.event.map_or(0, |e| e.len() + 8);
        let id = self.id.map_or(0, |i| i.len() + 5);
        1 + retry + event + id
    }

    /// See [`Event::size_hint`]: the comment and the data counted as one line each.
    #[inline]
    fn size_hint(&self) -> usize {
        let comment = self.comment.map_or(0, comment_line_len);
        let data = self.data.map_or(0, |d| d.len() + 7);
        self.head_len() + comment + data
    }

    /// The exact size of the wire form; `one_line`: the data is known to have no line end.
    fn encoded_len(&self, one_line: bool) -> usize {
        let comment = self
            .comment
            .map_or(0, |c| Lines::new(c.as_bytes()).map(comment_line_len).sum());
        let data = self.data.map_or(0, |d| {
            if one_line {
                d.len() + 7
            } else {
                Lines::new(d.as_bytes()).map(|line| line.len() + 7).sum()
            }
        });
        self.head_len() + comment + data
    }

    /// Appends the wire form to `out`.
    #[inline(always)]
    fn encode(self, out: &mut Vec<u8>) {
        out.reserve(self.size_hint());
        self.encode_with(&mut |bytes: &[u8]| out.extend_from_slice(bytes), false);
    }

    /// The wire form as a new vector, allocated once at its exact size.
    #[inline(always)]
    fn to_vec(self) -> Vec<u8> {
        // Data on one line (the common case) is looked at once: to know that it is one line.
        let one_line = self
            .data
            .is_none_or(|data| memchr::memchr2(b'\r', b'\n', data.as_bytes()).is_none());
        if let (true, Some(data), None, None, None, None) = (
            one_line,
            self.data,
            self.comment,
            self.retry,
            self.event,
            self.id,
        ) {
            // The most common event of all, a single line of data, written directly.
            let mut out = Vec::with_capacity(data.len() + 8);
            out.extend_from_slice(b"data: ");
            out.extend_from_slice(data.as_bytes());
            out.extend_from_slice(b"\n\n");
            return out;
        }
        let mut out = Vec::with_capacity(self.encoded_len(one_line));
        self.encode_with(&mut |bytes: &[u8]| out.extend_from_slice(bytes), one_line);
        out
    }

    /// Writes the wire form through `put`; `one_line`: the data is known to have no line end
    /// (it is then not searched again). Always inlined: its callers are small, and a call
    /// costs as much as the encoding of a one-line event.
    #[inline(always)]
    fn encode_with(self, put: &mut impl FnMut(&[u8]), one_line: bool) {
        if let Some(comment) = self.comment {
            for line in Lines::new(comment.as_bytes()) {
                if line.is_empty() {
                    put(b":\n");
                } else {
                    put(b": ");
                    put(line);
                    put(b"\n");
                }
            }
        }
        if let Some(retry) = self.retry {
            let mut digits = [0u8; 20];
            put(b"retry: ");
            put(format_u64(retry_millis(retry), &mut digits));
            put(b"\n");
        }
        if let Some(event) = self.event {
            put(b"event: ");
            put(event.as_bytes());
            put(b"\n");
        }
        if let Some(id) = self.id {
            put(b"id: ");
            put(id.as_bytes());
            put(b"\n");
        }
        if let Some(data) = self.data {
            if one_line {
                put(b"data: ");
                put(data.as_bytes());
                put(b"\n");
            } else {
                for line in Lines::new(data.as_bytes()) {
                    put(b"data: ");
                    put(line);
                    put(b"\n");
                }
            }
        }
        put(b"\n");
    }
}

/// The wire size of one comment line: `: ` + text + LF, or `:` + LF when it is empty.
fn comment_line_len(line: impl AsRef<[u8]>) -> usize {
    match line.as_ref().len() {
        0 => 2,
        len => len + 3,
    }
}

/// The `retry:` value: whole milliseconds, saturating.
fn retry_millis(retry: Duration) -> u64 {
    u64::try_from(retry.as_millis()).unwrap_or(u64::MAX)
}

fn validate_id(id: &str) -> Result<(), EventError> {
    match memchr::memchr3(b'\r', b'\n', 0, id.as_bytes()) {
        None => Ok(()),
        Some(i) if id.as_bytes()[i] == 0 => Err(EventError::IdContainsNul),
        Some(_) => Err(EventError::IdContainsNewline),
    }
}

/// Formats `n` in decimal into the end of `buf` and returns the digits.
fn format_u64(mut n: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    &buf[i..]
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    #[test]
    fn data_is_split_on_every_line_end() {
        let e = Event::message("a\rb\nc\r\nd\n\re");
        assert_eq!(
            e.to_vec(),
            b"data: a\ndata: b\ndata: c\ndata: d\ndata: \ndata: e\n\n"
        );
        assert_eq!(Event::message("").to_vec(), b"data: \n\n");
        assert_eq!(Event::message("x\n").to_vec(), b"data: x\ndata: \n\n");
    }

    #[test]
    fn injection_is_refused() {
        assert!(matches!(
            Event::builder().event("a\nb").build(),
            Err(EventError::EventNameContainsNewline)
        ));
        assert!(matches!(
            Event::builder().event("a\rb").build(),
            Err(EventError::EventNameContainsNewline)
        ));
        assert!(matches!(
            Event::builder().id("1\r\n").build(),
            Err(EventError::IdContainsNewline)
        ));
        assert!(matches!(
            Event::builder().id("1\0").build(),
            Err(EventError::IdContainsNul)
        ));
        assert!(Event::message("x").with_id("a\nb").is_err());
        // The first error wins, later valid calls do not hide it.
        assert!(Event::builder().id("\n").id("ok").build().is_err());
    }

    #[test]
    fn all_fields_in_order() {
        let e = Event::builder()
            .data("d")
            .id("")
            .event(" spaced")
            .retry(Duration::from_millis(0))
            .comment("c1\nc2\n")
            .build()
            .unwrap();
        assert_eq!(
            e.to_vec(),
            b": c1\n: c2\n:\nretry: 0\nevent:  spaced\nid: \ndata: d\n\n"
        );
        assert_eq!(e.to_vec().len(), e.encoded_len());
        // Three comment lines, two more than the hint counts: `: c2` adds 2 bytes (`: ` in
        // place of nothing), the empty last one 1 (`:`).
        assert_eq!(e.to_vec().len(), e.size_hint() + 3);
        let one_line = Event::builder()
            .comment("c")
            .id("7")
            .data("d")
            .build()
            .unwrap();
        assert_eq!(one_line.to_vec().len(), one_line.size_hint());
    }

    #[test]
    fn retry_formats_large_values() {
        let e = Event::builder()
            .retry(Duration::from_millis(u64::MAX))
            .build()
            .unwrap();
        assert_eq!(e.to_vec(), b"retry: 18446744073709551615\n\n");
        let e = Event::builder().retry(Duration::MAX).build().unwrap();
        assert_eq!(e.to_vec(), b"retry: 18446744073709551615\n\n");
    }

    #[test]
    fn to_vec_is_allocated_at_its_exact_size() {
        let events = [
            Event::message("x"),
            Event::message(""),
            Event::message("a\r\nb\rc\n"),
            Event::comment("c1\n\nc2"),
            Event::builder()
                .comment("")
                .retry(Duration::from_millis(1234))
                .event("e")
                .id("")
                .data("d\n")
                .build()
                .unwrap(),
            Event::builder().retry(Duration::MAX).build().unwrap(),
        ];
        for event in events {
            let wire = event.to_vec();
            assert_eq!(wire.len(), event.encoded_len(), "{event:?}");
            assert_eq!(wire.capacity(), wire.len(), "{event:?}");
            let mut again = Vec::new();
            event.encode(&mut again);
            assert_eq!(wire, again);
        }
    }

    #[test]
    fn encode_reuses_the_buffer() {
        let mut buf = Vec::with_capacity(64);
        let e = Event::message("x");
        e.encode(&mut buf);
        buf.clear();
        let cap = buf.capacity();
        e.encode(&mut buf);
        assert_eq!(buf.capacity(), cap);
    }
}
