//! The encoder side: a validated [`Event`], its [`EventBuilder`], and the wire encoding.
//!
//! An [`Event`] can only be obtained through the builder (or the infallible
//! [`Event::message`] / [`Event::comment`] shortcuts), and the builder refuses any value that
//! would let a caller put a field on the wire that they did not ask for: an event name or id
//! containing CR or LF, or an id containing NUL, is an [`EventError`], never a panic and never a
//! silent rewrite. Data and comments may contain any line ends: they are split on CR, LF and CRLF
//! into several `data:` (or `:`) lines, which is exactly how the parser joins them back (with LF).

use alloc::string::String;
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

/// One server-sent event, validated and ready to encode.
///
/// Build one with [`Event::builder`], or use [`Event::message`] for a plain data event:
///
/// ```
/// use core::time::Duration;
/// use sse_core::Event;
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
/// # Ok::<(), sse_core::EventError>(())
/// ```
///
/// Fields are written in a fixed order: comment lines, `retry`, `event`, `id`, `data`, then the
/// blank line that dispatches the event.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Event {
    comment: Option<String>,
    retry: Option<Duration>,
    event: Option<String>,
    id: Option<String>,
    data: Option<String>,
}

impl Event {
    /// Starts building an event.
    #[inline]
    pub fn builder() -> EventBuilder {
        EventBuilder::default()
    }

    /// A plain `message` event carrying `data` (which may span several lines).
    ///
    /// ```
    /// assert_eq!(sse_core::Event::message("hi").to_vec(), b"data: hi\n\n");
    /// ```
    pub fn message(data: impl Into<String>) -> Event {
        Event {
            data: Some(data.into()),
            ..Event::default()
        }
    }

    /// A comment-only event (ignored by clients, useful as a heartbeat with a text).
    ///
    /// ```
    /// assert_eq!(sse_core::Event::comment("hello").to_vec(), b": hello\n\n");
    /// ```
    pub fn comment(text: impl Into<String>) -> Event {
        Event {
            comment: Some(text.into()),
            ..Event::default()
        }
    }

    /// The data, if any. Events without data are not dispatched by clients, but their `id` and
    /// `retry` still take effect.
    pub fn data(&self) -> Option<&str> {
        self.data.as_deref()
    }

    /// The event name (the `event:` field), if any.
    pub fn event_name(&self) -> Option<&str> {
        self.event.as_deref()
    }

    /// The id (the `id:` field), if any.
    pub fn id(&self) -> Option<&str> {
        self.id.as_deref()
    }

    /// The reconnection time (the `retry:` field), if any.
    pub fn retry(&self) -> Option<Duration> {
        self.retry
    }

    /// The comment text, if any.
    pub fn comment_text(&self) -> Option<&str> {
        self.comment.as_deref()
    }

    /// Returns a copy of this event with its id replaced by `id`.
    ///
    /// Used by publishers that assign ids; the id is validated like the builder's.
    pub fn with_id(mut self, id: impl Into<String>) -> Result<Event, EventError> {
        let id = id.into();
        validate_id(&id)?;
        self.id = Some(id);
        Ok(self)
    }

    /// Sets the id to `seq` in decimal. It cannot fail: digits never inject anything. A
    /// broadcast that numbers its events uses it.
    ///
    /// ```
    /// let event = sse_core::Event::message("x").with_sequence_id(42);
    /// assert_eq!(event.id(), Some("42"));
    /// ```
    pub fn with_sequence_id(mut self, seq: u64) -> Event {
        self.id = Some(alloc::string::ToString::to_string(&seq));
        self
    }

    /// An upper bound of the encoded size, cheap to compute (no scan of the data).
    ///
    /// Used to reserve buffer space; the encoder may still grow the buffer when data or a
    /// comment has many short lines.
    pub fn size_hint(&self) -> usize {
        let mut n = 1;
        if let Some(c) = &self.comment {
            n += c.len() + 3;
        }
        if self.retry.is_some() {
            n += 28;
        }
        if let Some(e) = &self.event {
            n += e.len() + 8;
        }
        if let Some(i) = &self.id {
            n += i.len() + 5;
        }
        if let Some(d) = &self.data {
            n += d.len() + 7;
        }
        n
    }

    /// Appends the wire form of this event to `out`. Reuses `out`'s capacity: encoding many
    /// events into one cleared buffer allocates nothing once the buffer is large enough.
    pub fn encode(&self, out: &mut alloc::vec::Vec<u8>) {
        out.reserve(self.size_hint());
        self.encode_with(&mut |bytes: &[u8]| out.extend_from_slice(bytes), false);
    }

    /// The wire form of this event as a new vector (allocated once, at its exact size).
    pub fn to_vec(&self) -> alloc::vec::Vec<u8> {
        // Data on one line (the common case) is looked at once: to know that it is one line.
        let one_line = self
            .data
            .as_deref()
            .is_none_or(|data| memchr::memchr2(b'\r', b'\n', data.as_bytes()).is_none());
        if let (true, Some(data), None, None, None, None) = (
            one_line,
            &self.data,
            &self.comment,
            self.retry,
            &self.event,
            &self.id,
        ) {
            // The most common event of all, a single line of data, written directly.
            let mut out = alloc::vec::Vec::with_capacity(data.len() + 8);
            out.extend_from_slice(b"data: ");
            out.extend_from_slice(data.as_bytes());
            out.extend_from_slice(b"\n\n");
            return out;
        }
        let mut out = alloc::vec::Vec::with_capacity(self.encoded_len(one_line));
        self.encode_with(&mut |bytes: &[u8]| out.extend_from_slice(bytes), one_line);
        out
    }

    /// The exact size of the wire form; `one_line`: the data is known to have no line end.
    fn encoded_len(&self, one_line: bool) -> usize {
        let mut n = 1;
        if let Some(comment) = &self.comment {
            n += Lines::new(comment.as_bytes())
                .map(|line| if line.is_empty() { 2 } else { line.len() + 3 })
                .sum::<usize>();
        }
        if let Some(retry) = self.retry {
            let millis = u64::try_from(retry.as_millis()).unwrap_or(u64::MAX);
            n += 8 + format_u64(millis, &mut [0u8; 20]).len();
        }
        if let Some(event) = &self.event {
            n += event.len() + 8;
        }
        if let Some(id) = &self.id {
            n += id.len() + 5;
        }
        if let Some(data) = &self.data {
            n += if one_line {
                data.len() + 7
            } else {
                Lines::new(data.as_bytes())
                    .map(|line| line.len() + 7)
                    .sum::<usize>()
            };
        }
        n
    }

    /// Writes the wire form of this event into any [`bytes::BufMut`].
    #[cfg(feature = "bytes")]
    pub fn encode_buf<B: bytes::BufMut>(&self, buf: &mut B) {
        self.encode_with(&mut |bytes: &[u8]| buf.put_slice(bytes), false);
    }

    /// The wire form of this event as one [`bytes::Bytes`] frame.
    #[cfg(feature = "bytes")]
    #[inline]
    pub fn to_bytes(&self) -> bytes::Bytes {
        bytes::Bytes::from(self.to_vec())
    }

    /// Writes the wire form through `put`; `one_line`: the data is known to have no line end
    /// (it is then not searched again).
    fn encode_with(&self, put: &mut impl FnMut(&[u8]), one_line: bool) {
        if let Some(comment) = &self.comment {
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
            let millis = u64::try_from(retry.as_millis()).unwrap_or(u64::MAX);
            let mut digits = [0u8; 20];
            put(b"retry: ");
            put(format_u64(millis, &mut digits));
            put(b"\n");
        }
        if let Some(event) = &self.event {
            put(b"event: ");
            put(event.as_bytes());
            put(b"\n");
        }
        if let Some(id) = &self.id {
            put(b"id: ");
            put(id.as_bytes());
            put(b"\n");
        }
        if let Some(data) = &self.data {
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

/// Builds an [`Event`]; [`EventBuilder::build`] reports the first invalid value.
///
/// Setting a field twice keeps the last value.
#[derive(Debug, Default)]
pub struct EventBuilder {
    event: Event,
    error: Option<EventError>,
}

impl EventBuilder {
    /// Sets the data. CR, LF and CRLF inside it start new `data:` lines.
    pub fn data(mut self, data: impl Into<String>) -> Self {
        self.event.data = Some(data.into());
        self
    }

    /// Sets the data to the JSON serialization of `value` (compact, so one `data:` line).
    ///
    /// ```
    /// # #[cfg(feature = "serde")] {
    /// let event = sse_core::Event::builder().json_data(&[1, 2, 3]).build().unwrap();
    /// assert_eq!(event.data(), Some("[1,2,3]"));
    /// # }
    /// ```
    #[cfg(feature = "serde")]
    pub fn json_data<T: serde::Serialize + ?Sized>(mut self, value: &T) -> Self {
        match serde_json::to_string(value) {
            Ok(json) => self.event.data = Some(json),
            Err(e) => self.fail(EventError::Json(e)),
        }
        self
    }

    /// Sets the event name (the `event:` field, `type` on the client). It must not contain CR
    /// or LF.
    pub fn event(mut self, name: impl Into<String>) -> Self {
        let name = name.into();
        if memchr::memchr2(b'\r', b'\n', name.as_bytes()).is_some() {
            self.fail(EventError::EventNameContainsNewline);
        } else {
            self.event.event = Some(name);
        }
        self
    }

    /// Sets the id (the `id:` field, `lastEventId` on the client). It must not contain CR, LF
    /// or NUL. An empty id resets the client's last event id.
    pub fn id(mut self, id: impl Into<String>) -> Self {
        let id = id.into();
        match validate_id(&id) {
            Ok(()) => self.event.id = Some(id),
            Err(e) => self.fail(e),
        }
        self
    }

    /// Sets the reconnection time the client should use (sent in whole milliseconds).
    pub fn retry(mut self, retry: Duration) -> Self {
        self.event.retry = Some(retry);
        self
    }

    /// Sets a comment. Line ends inside it start new comment lines; clients ignore comments.
    pub fn comment(mut self, text: impl Into<String>) -> Self {
        self.event.comment = Some(text.into());
        self
    }

    /// Finishes the event, or returns the first invalid value that was given.
    #[inline]
    pub fn build(self) -> Result<Event, EventError> {
        match self.error {
            Some(e) => Err(e),
            None => Ok(self.event),
        }
    }

    fn fail(&mut self, error: EventError) {
        if self.error.is_none() {
            self.error = Some(error);
        }
    }
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
        assert!(e.to_vec().len() <= e.size_hint() + 8);
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
            assert_eq!(wire.len(), event.encoded_len(false), "{event:?}");
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
