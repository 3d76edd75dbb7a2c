//! The sans-IO incremental parser.
//!
//! It implements the WHATWG HTML Living Standard, "Server-sent events", sections "Parsing an
//! event stream" and "Interpreting an event stream", rule for rule. It never does I/O: you hand
//! it bytes in any chunking and it hands back [`Parsed`] items, then you tell it where the input
//! ends with [`Parser::finish`].
//!
//! # How it stays linear
//!
//! Each byte is looked at once: line ends are found with `memchr2` over the new bytes only. A
//! line that lies inside one chunk is processed in place (no copy); only a line cut by a chunk
//! boundary is copied into a carry-over buffer, and its end is searched for in the new chunk
//! only. A CR is a line end the moment it is seen (a following LF is skipped, even in the next
//! chunk), so no lookahead and no re-scan is ever needed.

use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::fmt;
use core::time::Duration;

const BOM: [u8; 3] = [0xEF, 0xBB, 0xBF];
/// `Parser::bom` value once the start of the stream has been checked for a BOM.
const BOM_DONE: u8 = 3;

/// Limits that keep the parser's memory bounded under hostile input.
///
/// Both are on by default. Exceeding one yields a [`ParseError`] for the event being built; that
/// event is discarded, the lines up to the next blank line are ignored, and parsing goes on.
///
/// ```
/// use sse_core::{Limits, Parser};
/// let parser = Parser::with_limits(Limits::default().max_line_length(64 * 1024));
/// assert_eq!(parser.limits().line_length(), 64 * 1024);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    max_line_length: usize,
    max_event_size: usize,
}

impl Limits {
    /// Default longest line, in bytes, without its line end: 4 MiB.
    pub const DEFAULT_MAX_LINE_LENGTH: usize = 4 << 20;
    /// Default largest data buffer of one event, in bytes (each data line counts its value plus
    /// one LF): 8 MiB.
    pub const DEFAULT_MAX_EVENT_SIZE: usize = 8 << 20;

    /// No limits at all: memory grows with the input. Only for input that is already trusted
    /// or already held in memory.
    pub const fn unlimited() -> Limits {
        Limits {
            max_line_length: usize::MAX,
            max_event_size: usize::MAX,
        }
    }

    /// Sets the longest accepted line, in bytes, not counting its line end.
    pub const fn max_line_length(mut self, bytes: usize) -> Limits {
        self.max_line_length = bytes;
        self
    }

    /// Sets the largest accepted data buffer of one event, in bytes.
    pub const fn max_event_size(mut self, bytes: usize) -> Limits {
        self.max_event_size = bytes;
        self
    }

    /// The longest accepted line, in bytes.
    pub const fn line_length(&self) -> usize {
        self.max_line_length
    }

    /// The largest accepted data buffer of one event, in bytes.
    pub const fn event_size(&self) -> usize {
        self.max_event_size
    }
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_line_length: Limits::DEFAULT_MAX_LINE_LENGTH,
            max_event_size: Limits::DEFAULT_MAX_EVENT_SIZE,
        }
    }
}

/// A limit was exceeded; the event being built was discarded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ParseError {
    /// A line was longer than [`Limits::max_line_length`].
    LineTooLong {
        /// The limit in force, in bytes.
        limit: usize,
    },
    /// An event's data was larger than [`Limits::max_event_size`].
    EventTooLarge {
        /// The limit in force, in bytes.
        limit: usize,
    },
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::LineTooLong { limit } => {
                write!(f, "SSE line longer than {limit} bytes; event discarded")
            }
            ParseError::EventTooLarge { limit } => {
                write!(
                    f,
                    "SSE event data larger than {limit} bytes; event discarded"
                )
            }
        }
    }
}

impl core::error::Error for ParseError {}

/// A dispatched event, as a browser's `MessageEvent` would show it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MessageEvent {
    event_type: Arc<str>,
    data: String,
    last_event_id: Arc<str>,
}

impl MessageEvent {
    /// Creates an event by hand (for tests, or for sources other than the parser).
    pub fn new(event_type: &str, data: impl Into<String>, last_event_id: &str) -> MessageEvent {
        MessageEvent {
            event_type: Arc::from(event_type),
            data: data.into(),
            last_event_id: Arc::from(last_event_id),
        }
    }

    /// The event type: the last `event:` value of the block, or `"message"`.
    pub fn event_type(&self) -> &str {
        &self.event_type
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
        &self.last_event_id
    }

    /// Deserializes the data as JSON.
    ///
    /// ```
    /// # #[cfg(feature = "serde")] {
    /// let event = sse_core::MessageEvent::new("message", r#"{"n":1}"#, "");
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
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Parsed {
    /// A blank line dispatched an event with data.
    Event(MessageEvent),
    /// A valid `retry:` field set the reconnection time.
    Retry(Duration),
}

/// The incremental event stream parser.
///
/// ```
/// use sse_core::{Parsed, Parser};
///
/// let mut parser = Parser::new();
/// let mut events = Vec::new();
/// // Any chunking gives the same result, even a CRLF cut between CR and LF.
/// for chunk in [&b"id: 7\r"[..], b"\ndata: hel", b"lo\r\n\r\n"] {
///     for item in parser.feed(chunk) {
///         if let Ok(Parsed::Event(event)) = item {
///             events.push(event);
///         }
///     }
/// }
/// parser.finish();
/// assert_eq!(events[0].data(), "hello");
/// assert_eq!(events[0].event_type(), "message");
/// assert_eq!(events[0].last_event_id(), "7");
/// ```
#[derive(Debug, Clone)]
pub struct Parser {
    limits: Limits,
    /// The start of a line cut by a chunk boundary.
    line: Vec<u8>,
    /// The current line exceeded the limit; its bytes are skipped up to its end.
    skipping_line: bool,
    /// The previous byte was a CR: an LF right after it belongs to the same line end.
    after_cr: bool,
    /// How many BOM bytes the stream started with so far, or `BOM_DONE`.
    bom: u8,
    data: Vec<u8>,
    event_type: Vec<u8>,
    /// The event being built hit a limit: ignore lines up to the next blank line.
    discarding: bool,
    /// The last event ID buffer: set by `id:` lines.
    id_buffer: Arc<str>,
    /// The event source's last event ID: the buffer as of the last blank line.
    last_event_id: Arc<str>,
    /// The type of the last dispatched named event, reused while the name repeats.
    last_type: Arc<str>,
    message_type: Arc<str>,
    reconnection_time: Option<Duration>,
    /// Input left over by a [`Feed`] dropped before it was exhausted.
    stash: Vec<u8>,
    stash_pos: usize,
}

impl Default for Parser {
    fn default() -> Parser {
        Parser::new()
    }
}

impl Parser {
    /// A parser with the default [`Limits`].
    pub fn new() -> Parser {
        Parser::with_limits(Limits::default())
    }

    /// A parser with the given limits.
    pub fn with_limits(limits: Limits) -> Parser {
        let message_type: Arc<str> = Arc::from("message");
        Parser {
            limits,
            line: Vec::new(),
            skipping_line: false,
            after_cr: false,
            bom: 0,
            data: Vec::new(),
            event_type: Vec::new(),
            discarding: false,
            id_buffer: Arc::from(""),
            last_event_id: Arc::from(""),
            last_type: message_type.clone(),
            message_type,
            reconnection_time: None,
            stash: Vec::new(),
            stash_pos: 0,
        }
    }

    /// The limits in force.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// The last event ID: what a client sends as `Last-Event-ID` when it reconnects.
    ///
    /// As in the standard, an `id:` line fills the *last event ID buffer*, and the buffer
    /// becomes the last event ID when the block ends (at its blank line, whether or not the
    /// block had data). An `id:` line in a block that the input cut off is never committed:
    /// a client resuming after a cut does not skip the event it never received.
    pub fn last_event_id(&self) -> &str {
        &self.last_event_id
    }

    /// Sets the last event ID (and its buffer), for example to the one a client had before a
    /// restart.
    pub fn set_last_event_id(&mut self, id: &str) {
        self.last_event_id = Arc::from(id);
        self.id_buffer = self.last_event_id.clone();
    }

    /// The reconnection time set by the last valid `retry:` field, if any.
    pub fn reconnection_time(&self) -> Option<Duration> {
        self.reconnection_time
    }

    /// Feeds one chunk; the returned iterator yields what it completes.
    ///
    /// Dropping the iterator before it is exhausted loses nothing: the rest of the chunk is kept
    /// and parsed first by the next call.
    pub fn feed<'p, 'a>(&'p mut self, chunk: &'a [u8]) -> Feed<'p, 'a> {
        Feed {
            parser: self,
            input: chunk,
        }
    }

    /// Parses from `input` up to the next output and advances `input` past what it consumed.
    ///
    /// Returns `None` once all of `input` is consumed (it is then empty). This is the primitive
    /// under [`Parser::feed`], for callers that manage their own buffers.
    pub fn parse_next(&mut self, input: &mut &[u8]) -> Option<Result<Parsed, ParseError>> {
        if self.stash_pos < self.stash.len() {
            let stash = core::mem::take(&mut self.stash);
            let mut rest = &stash[self.stash_pos..];
            let out = self.step(&mut rest);
            let pos = stash.len() - rest.len();
            self.stash = stash;
            if pos == self.stash.len() {
                self.stash.clear();
                self.stash_pos = 0;
            } else {
                self.stash_pos = pos;
            }
            if out.is_some() {
                return out;
            }
        }
        self.step(input)
    }

    /// Ends the input: an unterminated line and an undispatched event are discarded, as the
    /// standard says. The last event ID and reconnection time are kept; the parser is ready
    /// for a new stream (a new connection), which may again start with a BOM.
    ///
    /// The returned [`Finish`] yields the outputs of bytes left over by a [`Feed`] dropped
    /// early (usually none) and tells whether anything incomplete was discarded.
    pub fn finish(&mut self) -> Finish {
        let mut leftover = Vec::new();
        let mut none: &[u8] = &[];
        while let Some(item) = self.parse_next(&mut none) {
            leftover.push(item);
        }
        let discarded = !self.line.is_empty()
            || self.skipping_line
            || (self.bom > 0 && self.bom < BOM_DONE)
            || !self.data.is_empty()
            || !self.event_type.is_empty()
            || *self.id_buffer != *self.last_event_id
            || self.discarding;
        self.line.clear();
        self.skipping_line = false;
        self.after_cr = false;
        self.bom = 0;
        self.data.clear();
        self.event_type.clear();
        self.discarding = false;
        // An id that no blank line committed belongs to the cut-off block.
        self.id_buffer = self.last_event_id.clone();
        Finish {
            items: leftover.into_iter(),
            discarded,
        }
    }

    fn step(&mut self, input: &mut &[u8]) -> Option<Result<Parsed, ParseError>> {
        loop {
            let buf = *input;
            let first = *buf.first()?;
            if self.after_cr {
                self.after_cr = false;
                if first == b'\n' {
                    *input = &buf[1..];
                    continue;
                }
            }
            if self.bom < BOM_DONE {
                let matched = usize::from(self.bom);
                if first == BOM[matched] {
                    self.bom += 1;
                    *input = &buf[1..];
                    continue;
                }
                // Not a BOM after all: the bytes that looked like one are line content.
                self.line.extend_from_slice(&BOM[..matched]);
                self.bom = BOM_DONE;
            }
            let line_end = memchr::memchr2(b'\r', b'\n', buf);
            if self.skipping_line {
                let i = match line_end {
                    Some(i) => i,
                    None => {
                        *input = &[];
                        return None;
                    }
                };
                self.skipping_line = false;
                self.after_cr = buf[i] == b'\r';
                *input = &buf[i + 1..];
                continue;
            }
            let max = self.limits.max_line_length;
            match line_end {
                None => {
                    *input = &[];
                    if buf.len() > max.saturating_sub(self.line.len()) {
                        self.line.clear();
                        self.skipping_line = true;
                        return self.fail(ParseError::LineTooLong { limit: max });
                    }
                    self.line.extend_from_slice(buf);
                    return None;
                }
                Some(i) => {
                    self.after_cr = buf[i] == b'\r';
                    *input = &buf[i + 1..];
                    let out = if i > max.saturating_sub(self.line.len()) {
                        self.line.clear();
                        self.fail(ParseError::LineTooLong { limit: max })
                    } else if self.line.is_empty() {
                        self.process_line(&buf[..i])
                    } else {
                        let mut line = core::mem::take(&mut self.line);
                        line.extend_from_slice(&buf[..i]);
                        let out = self.process_line(&line);
                        line.clear();
                        self.line = line;
                        out
                    };
                    if out.is_some() {
                        return out;
                    }
                }
            }
        }
    }

    /// Discards the event being built; reports `error` unless this event already failed.
    fn fail(&mut self, error: ParseError) -> Option<Result<Parsed, ParseError>> {
        self.data.clear();
        self.event_type.clear();
        if self.discarding {
            return None;
        }
        self.discarding = true;
        Some(Err(error))
    }

    fn process_line(&mut self, line: &[u8]) -> Option<Result<Parsed, ParseError>> {
        let Some(&first) = line.first() else {
            return self.dispatch();
        };
        if self.discarding || first == b':' {
            return None;
        }
        let (name, value) = match memchr::memchr(b':', line) {
            Some(colon) => {
                let value = &line[colon + 1..];
                (&line[..colon], value.strip_prefix(b" ").unwrap_or(value))
            }
            None => (line, &[][..]),
        };
        match name {
            b"data" => {
                let room = self.limits.max_event_size.saturating_sub(self.data.len());
                if value.len() >= room {
                    let limit = self.limits.max_event_size;
                    return self.fail(ParseError::EventTooLarge { limit });
                }
                self.data.extend_from_slice(value);
                self.data.push(b'\n');
            }
            b"event" => {
                self.event_type.clear();
                self.event_type.extend_from_slice(value);
            }
            // An id with NUL is ignored; an unchanged id keeps the shared string.
            b"id" if memchr::memchr(0, value).is_none() && value != self.id_buffer.as_bytes() => {
                self.id_buffer = Arc::from(decode(value));
            }
            b"retry" => {
                if let Some(millis) = parse_digits(value) {
                    let retry = Duration::from_millis(millis);
                    self.reconnection_time = Some(retry);
                    return Some(Ok(Parsed::Retry(retry)));
                }
            }
            _ => {}
        }
        None
    }

    fn dispatch(&mut self) -> Option<Result<Parsed, ParseError>> {
        // Step 1 of "dispatch the event": commit the last event ID buffer, with or without
        // data (and for a block discarded by a limit: its id lines came before the error).
        if !Arc::ptr_eq(&self.last_event_id, &self.id_buffer) {
            self.last_event_id = self.id_buffer.clone();
        }
        if self.discarding {
            self.discarding = false;
            self.data.clear();
            self.event_type.clear();
            return None;
        }
        let Some((_newline, data)) = self.data.split_last() else {
            self.event_type.clear();
            return None;
        };
        let data = decode(data);
        self.data.clear();
        let event_type = if self.event_type.is_empty() {
            self.message_type.clone()
        } else {
            if self.event_type != self.last_type.as_bytes() {
                self.last_type = Arc::from(decode(&self.event_type));
            }
            self.event_type.clear();
            self.last_type.clone()
        };
        Some(Ok(Parsed::Event(MessageEvent {
            event_type,
            data,
            last_event_id: self.last_event_id.clone(),
        })))
    }
}

/// UTF-8 decoding as the standard asks: invalid sequences become U+FFFD.
///
/// Decoding a line's field value on its own gives the same result as decoding the whole stream,
/// because the UTF-8 decoder never lets an invalid sequence swallow an ASCII byte (CR, LF, `:`).
fn decode(bytes: &[u8]) -> String {
    match core::str::from_utf8(bytes) {
        Ok(text) => String::from(text),
        Err(_) => String::from_utf8_lossy(bytes).into_owned(),
    }
}

/// A `retry` value: one or more ASCII digits that fit in a `u64`; anything else is ignored.
fn parse_digits(value: &[u8]) -> Option<u64> {
    if value.is_empty() {
        return None;
    }
    value.iter().try_fold(0u64, |n, &b| {
        if b.is_ascii_digit() {
            n.checked_mul(10)?.checked_add(u64::from(b - b'0'))
        } else {
            None
        }
    })
}

/// The iterator returned by [`Parser::feed`]: the outputs that one chunk completes.
#[derive(Debug)]
pub struct Feed<'p, 'a> {
    parser: &'p mut Parser,
    input: &'a [u8],
}

impl Iterator for Feed<'_, '_> {
    type Item = Result<Parsed, ParseError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.parser.parse_next(&mut self.input)
    }
}

impl core::iter::FusedIterator for Feed<'_, '_> {}

impl Drop for Feed<'_, '_> {
    fn drop(&mut self) {
        if !self.input.is_empty() {
            self.parser.stash.extend_from_slice(self.input);
        }
    }
}

/// What [`Parser::finish`] returns: leftover outputs, and whether anything was discarded.
#[derive(Debug)]
pub struct Finish {
    items: alloc::vec::IntoIter<Result<Parsed, ParseError>>,
    discarded: bool,
}

impl Finish {
    /// True when the input ended inside a line or inside an event, whose content was then
    /// discarded as the standard requires.
    pub fn discarded(&self) -> bool {
        self.discarded
    }
}

impl Iterator for Finish {
    type Item = Result<Parsed, ParseError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.items.next()
    }
}
