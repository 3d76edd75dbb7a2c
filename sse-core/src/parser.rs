//! The sans-IO incremental parser.
//!
//! It implements the WHATWG HTML Living Standard, "Server-sent events", sections "Parsing an
//! event stream" and "Interpreting an event stream", rule for rule. It never does I/O: you hand
//! it bytes in any chunking and it hands back [`Parsed`] items, then you tell it where the input
//! ends with [`Parser::finish`].
//!
//! # How it stays linear
//!
//! Each byte is looked at once: line ends are found with `memchr2` over the new bytes only (short
//! spans and blank lines are looked at directly, which is cheaper than a `memchr2` call). A
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
    ///
    /// Sizes count input bytes. Decoding replaces each invalid UTF-8 byte with U+FFFD (three
    /// bytes), so a dispatched event's `data()` can be up to three times the limit; memory
    /// stays bounded either way.
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
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct MessageEvent {
    event_type: Text,
    data: String,
    last_event_id: Text,
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

/// A dispatched event lent by [`Parser::feed_with`]: its strings borrow the parser's buffers,
/// so nothing is allocated per event.
///
/// [`EventRef::to_owned`] gives the [`MessageEvent`] that [`Parser::feed`] would have given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EventRef<'a> {
    event_type: &'a str,
    data: &'a str,
    last_event_id: &'a str,
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

    /// The owned event, equal to the one [`Parser::feed`] gives for the same input.
    pub fn to_owned(self) -> MessageEvent {
        MessageEvent::new(self.event_type, self.data, self.last_event_id)
    }

    /// Deserializes the data as JSON (borrowing from it where the target type can).
    #[cfg(feature = "serde")]
    pub fn json<T: serde::Deserialize<'a>>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_str(self.data)
    }
}

/// One output of [`Parser::feed_with`]: [`Parsed`] and [`ParseError`] in one enum, with the
/// event borrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ParsedRef<'a> {
    /// A blank line dispatched an event with data.
    Event(EventRef<'a>),
    /// A valid `retry:` field set the reconnection time.
    Retry(Duration),
    /// A limit was exceeded; the event being built was discarded.
    Error(ParseError),
}

/// What the state machine completed; the event itself is still in the parser's buffers.
enum Step {
    /// Dispatch the event in `data` / `event_type` (built by `take_event` or `lend_event`).
    Event,
    Retry(Duration),
    Error(ParseError),
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
    /// The event type buffer, decoded when its `event:` line is read.
    event_type: String,
    /// The event being built hit a limit: ignore lines up to the next blank line.
    discarding: bool,
    /// The last event ID buffer as an `id:` line of this block set it. Only meaningful while
    /// `id_set`: otherwise the buffer equals `last_event_id` and this string holds stale bytes,
    /// kept for its capacity (a blank line swaps the two strings: no copy, no allocation).
    id_buffer: String,
    /// An `id:` line set the buffer since the last blank line.
    id_set: bool,
    /// The event source's last event ID: the buffer as of the last blank line.
    last_event_id: String,
    /// `last_event_id` as owned events share it; refreshed (one allocation per new id) by the
    /// first owned event after a blank line committed an id.
    last_event_id_shared: Text,
    /// A blank line committed an id since `last_event_id_shared` was refreshed.
    last_event_id_stale: bool,
    /// The type of the last dispatched named event, reused while the name repeats.
    last_type: Text,
    reconnection_time: Option<Duration>,
    /// Input left over by a [`Feed`] dropped before it was exhausted.
    stash: Vec<u8>,
    stash_pos: usize,
    /// The lossy decoding of a lent event's data that is not valid UTF-8.
    scratch: String,
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
        Parser {
            limits,
            line: Vec::new(),
            skipping_line: false,
            after_cr: false,
            bom: 0,
            data: Vec::new(),
            event_type: String::new(),
            discarding: false,
            id_buffer: String::new(),
            id_set: false,
            last_event_id: String::new(),
            last_event_id_shared: Text::DEFAULT,
            last_event_id_stale: false,
            last_type: Text::DEFAULT,
            reconnection_time: None,
            stash: Vec::new(),
            stash_pos: 0,
            scratch: String::new(),
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
        self.last_event_id.clear();
        self.last_event_id.push_str(id);
        self.last_event_id_stale = true;
        self.id_set = false;
    }

    /// The reconnection time set by the last valid `retry:` field, if any.
    pub fn reconnection_time(&self) -> Option<Duration> {
        self.reconnection_time
    }

    /// Feeds one chunk; the returned iterator yields what it completes.
    ///
    /// Dropping the iterator before it is exhausted loses nothing: the rest of the chunk is kept
    /// and parsed first by the next call.
    #[inline]
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
    #[inline]
    pub fn parse_next(&mut self, input: &mut &[u8]) -> Option<Result<Parsed, ParseError>> {
        // The outputs are built right here, in the return value: moving an event through
        // helper functions' return values costs more than building it.
        Some(match self.next_step(input)? {
            Step::Event => Ok(Parsed::Event(self.take_event())),
            Step::Retry(retry) => Ok(Parsed::Retry(retry)),
            Step::Error(error) => Err(error),
        })
    }

    /// Feeds one chunk and calls `on_item` with each output it completes, in order: the same
    /// outputs as [`Parser::feed`], with each event lent instead of allocated.
    ///
    /// The event's strings borrow the parser's buffers, and are valid for the call only
    /// ([`EventRef::to_owned`] keeps one). Nothing is allocated per event (except, for data that
    /// is not valid UTF-8, the first time a lossy decoding outgrows a reused buffer).
    ///
    /// ```
    /// use sse_core::{ParsedRef, Parser};
    ///
    /// let mut parser = Parser::new();
    /// let mut total = 0;
    /// for chunk in [&b"event: tick\ndata: hel"[..], b"lo\n\nretry: 5\n"] {
    ///     parser.feed_with(chunk, |item| match item {
    ///         ParsedRef::Event(event) => {
    ///             assert_eq!((event.event_type(), event.data()), ("tick", "hello"));
    ///             total += event.data().len();
    ///         }
    ///         ParsedRef::Retry(retry) => assert_eq!(retry.as_millis(), 5),
    ///         ParsedRef::Error(limit) => eprintln!("event discarded: {limit}"),
    ///     });
    /// }
    /// parser.finish();
    /// assert_eq!(total, 5);
    /// ```
    #[inline]
    pub fn feed_with<F>(&mut self, chunk: &[u8], mut on_item: F)
    where
        F: FnMut(ParsedRef<'_>),
    {
        let mut input = chunk;
        while let Some(step) = self.next_step(&mut input) {
            match step {
                Step::Event => self.lend_event(&mut on_item),
                Step::Retry(retry) => on_item(ParsedRef::Retry(retry)),
                Step::Error(error) => on_item(ParsedRef::Error(error)),
            }
        }
    }

    /// [`Parser::step`] over the stash left by a dropped [`Feed`] first, then over `input`.
    #[inline]
    fn next_step(&mut self, input: &mut &[u8]) -> Option<Step> {
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
            || (self.id_set && self.id_buffer != self.last_event_id)
            || self.discarding;
        self.line.clear();
        self.skipping_line = false;
        self.after_cr = false;
        self.bom = 0;
        self.data.clear();
        self.event_type.clear();
        self.discarding = false;
        // An id that no blank line committed belongs to the cut-off block.
        self.id_set = false;
        Finish {
            items: leftover.into_iter(),
            discarded,
        }
    }

    fn step(&mut self, input: &mut &[u8]) -> Option<Step> {
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
            let line_end = find_line_end(buf);
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
            let Some(i) = line_end else {
                *input = &[];
                if buf.len() > max.saturating_sub(self.line.len()) {
                    self.line.clear();
                    self.skipping_line = true;
                    return self
                        .fail(ParseError::LineTooLong { limit: max })
                        .map(Step::Error);
                }
                self.line.extend_from_slice(buf);
                return None;
            };
            self.after_cr = buf[i] == b'\r';
            *input = &buf[i + 1..];
            let field = if i > max.saturating_sub(self.line.len()) {
                self.line.clear();
                self.fail(ParseError::LineTooLong { limit: max }).map(Err)
            } else if !self.line.is_empty() {
                let mut line = core::mem::take(&mut self.line);
                line.extend_from_slice(&buf[..i]);
                let out = self.process_field(&line);
                line.clear();
                self.line = line;
                out
            } else if i == 0 {
                // A blank line: dispatch the event.
                if self.end_block() {
                    return Some(Step::Event);
                }
                continue;
            } else if let (Some(value), false) = (buf[..=i].strip_prefix(b"data:"), self.discarding)
            {
                // The most common line, in place: its value is copied with its line end, which
                // then becomes the LF that joins data lines (one copy, no push).
                self.push_data_with_end(value.strip_prefix(b" ").unwrap_or(value))
            } else {
                self.process_field(&buf[..i])
            };
            match field {
                None => {}
                Some(Ok(retry)) => return Some(Step::Retry(retry)),
                Some(Err(error)) => return Some(Step::Error(error)),
            }
        }
    }

    /// Discards the event being built; returns `error` unless this event already failed.
    fn fail(&mut self, error: ParseError) -> Option<ParseError> {
        self.data.clear();
        self.event_type.clear();
        if self.discarding {
            return None;
        }
        self.discarding = true;
        Some(error)
    }

    /// Processes a line that is not blank; returns a new reconnection time or an error.
    fn process_field(&mut self, line: &[u8]) -> Option<Result<Duration, ParseError>> {
        let first = *line.first()?;
        if self.discarding || first == b':' {
            return None;
        }
        // Most lines are data lines: recognised by their prefix, before any search.
        if let Some(value) = line.strip_prefix(b"data:") {
            return self.push_data(value.strip_prefix(b" ").unwrap_or(value));
        }
        let (name, value) = match find_colon(line) {
            Some(colon) => {
                let value = &line[colon + 1..];
                (&line[..colon], value.strip_prefix(b" ").unwrap_or(value))
            }
            None => (line, &[][..]),
        };
        match name {
            b"data" => return self.push_data(value),
            b"event" => {
                self.event_type.clear();
                push_decoded(&mut self.event_type, value);
            }
            // An id with NUL is ignored.
            b"id" if !contains_nul(value) => {
                self.id_buffer.clear();
                push_decoded(&mut self.id_buffer, value);
                self.id_set = true;
            }
            b"retry" => {
                if let Some(millis) = parse_digits(value) {
                    let retry = Duration::from_millis(millis);
                    self.reconnection_time = Some(retry);
                    return Some(Ok(retry));
                }
            }
            _ => {}
        }
        None
    }

    /// A blank line ends the block: commits the id, and tells whether an event is to be
    /// dispatched (then [`Parser::take_event`] builds it).
    #[inline]
    fn push_data(&mut self, value: &[u8]) -> Option<Result<Duration, ParseError>> {
        let room = self.limits.max_event_size.saturating_sub(self.data.len());
        if value.len() >= room {
            let limit = self.limits.max_event_size;
            return self.fail(ParseError::EventTooLarge { limit }).map(Err);
        }
        self.data.reserve(value.len() + 1);
        self.data.extend_from_slice(value);
        self.data.push(b'\n');
        None
    }

    /// [`Parser::push_data`] for a value followed by its line end (CR or LF).
    #[inline]
    fn push_data_with_end(&mut self, value_and_end: &[u8]) -> Option<Result<Duration, ParseError>> {
        let room = self.limits.max_event_size.saturating_sub(self.data.len());
        if value_and_end.len() > room {
            let limit = self.limits.max_event_size;
            return self.fail(ParseError::EventTooLarge { limit }).map(Err);
        }
        self.data.extend_from_slice(value_and_end);
        if let Some(end) = self.data.last_mut() {
            *end = b'\n';
        }
        None
    }

    fn end_block(&mut self) -> bool {
        // Step 1 of "dispatch the event": commit the last event ID buffer, with or without
        // data (and for a block discarded by a limit: its id lines came before the error).
        self.commit_id();
        if self.discarding {
            self.discarding = false;
            self.data.clear();
            self.event_type.clear();
            return false;
        }
        if self.data.is_empty() {
            self.event_type.clear();
            return false;
        }
        true
    }

    /// Step 1 of "dispatch the event": the last event ID buffer becomes the last event ID.
    fn commit_id(&mut self) {
        if self.id_set {
            self.id_set = false;
            core::mem::swap(&mut self.id_buffer, &mut self.last_event_id);
            self.last_event_id_stale = true;
        }
    }

    /// The event of a block that [`Parser::end_block`] said to dispatch.
    #[inline]
    fn take_event(&mut self) -> MessageEvent {
        // The data buffer ends with the LF of its last line; it is not part of the data.
        let data = decode(self.data.split_last().map_or(&[][..], |(_lf, data)| data));
        self.data.clear();
        self.event_with(data)
    }

    /// The event with `data`, the block's type and the last event ID; resets the type.
    #[inline]
    fn event_with(&mut self, data: String) -> MessageEvent {
        let event_type = if self.take_type() {
            self.last_type.clone()
        } else {
            Text::DEFAULT
        };
        MessageEvent {
            event_type,
            data,
            last_event_id: self.shared_last_event_id(),
        }
    }

    /// The last event ID as owned events share it: one allocation per new id, made only
    /// when an owned event carries it (lent events borrow the string).
    #[inline]
    fn shared_last_event_id(&mut self) -> Text {
        if self.last_event_id_stale {
            self.last_event_id_stale = false;
            if self.last_event_id_shared.get("") != self.last_event_id {
                self.last_event_id_shared = Text::new(&self.last_event_id, "");
            }
        }
        self.last_event_id_shared.clone()
    }

    /// Resets the block's type; true when it had one, which is then in `last_type`.
    #[inline]
    fn take_type(&mut self) -> bool {
        if self.event_type.is_empty() {
            return false;
        }
        if self.event_type != self.last_type.get(MESSAGE) {
            self.last_type = Text::new(&self.event_type, MESSAGE);
        }
        self.event_type.clear();
        true
    }

    /// Lends the event of a block that [`Parser::end_block`] said to dispatch to `on_item`:
    /// the [`Parser::take_event`] of [`Parser::feed_with`].
    #[inline]
    fn lend_event<F: FnMut(ParsedRef<'_>)>(&mut self, on_item: &mut F) {
        // The buffers are out of the parser while they are lent: a panicking `on_item` leaves
        // them empty, as a dispatch does.
        let mut event_type = core::mem::take(&mut self.event_type);
        let mut data = core::mem::take(&mut self.data);
        // The data buffer ends with the LF of its last line; it is not part of the data.
        let bytes = data.split_last().map_or(&[][..], |(_lf, data)| data);
        let text = match core::str::from_utf8(bytes) {
            Ok(text) => text,
            Err(_) => {
                self.scratch.clear();
                self.scratch.push_str(&String::from_utf8_lossy(bytes));
                &self.scratch
            }
        };
        on_item(ParsedRef::Event(EventRef {
            event_type: if event_type.is_empty() {
                MESSAGE
            } else {
                &event_type
            },
            data: text,
            last_event_id: &self.last_event_id,
        }));
        data.clear();
        self.data = data;
        event_type.clear();
        self.event_type = event_type;
    }
}

/// Where the line starting `buf` ends: the first CR or LF.
///
/// Blank lines (the end of every event) and short inputs (small chunks) are looked at
/// directly; `memchr2` pays off on longer spans.
fn find_line_end(buf: &[u8]) -> Option<usize> {
    match buf.first() {
        Some(b'\n' | b'\r') => Some(0),
        _ if buf.len() < 16 => buf.iter().position(|&b| b == b'\n' || b == b'\r'),
        _ => memchr::memchr2(b'\r', b'\n', buf),
    }
}

/// The first `:` of a line. Field names are short, so the first bytes are looked at directly.
fn find_colon(line: &[u8]) -> Option<usize> {
    const HEAD: usize = 8;
    match line.iter().take(HEAD).position(|&b| b == b':') {
        Some(i) => Some(i),
        None if line.len() > HEAD => memchr::memchr(b':', &line[HEAD..]).map(|i| i + HEAD),
        None => None,
    }
}

/// UTF-8 decoding as the standard asks: invalid sequences become U+FFFD.
///
/// Decoding a line's field value on its own gives the same result as decoding the whole stream,
/// because the UTF-8 decoder never lets an invalid sequence swallow an ASCII byte (CR, LF, `:`).
/// Appends `bytes` to `out`, each invalid UTF-8 sequence replaced with U+FFFD.
///
/// Short ASCII values (the usual ids and event names) are copied byte by byte, which costs less
/// than the calls of the general path.
#[inline]
fn push_decoded(out: &mut String, bytes: &[u8]) {
    if bytes.len() <= SHORT && bytes.is_ascii() {
        out.extend(bytes.iter().map(|&b| char::from(b)));
        return;
    }
    match core::str::from_utf8(bytes) {
        Ok(text) => out.push_str(text),
        Err(_) => out.push_str(&String::from_utf8_lossy(bytes)),
    }
}

/// Values up to this long are looked at byte by byte rather than through a call.
const SHORT: usize = 32;

#[expect(
    clippy::manual_contains,
    reason = "a byte loop over a short id costs less than the call `contains` makes"
)]
fn contains_nul(value: &[u8]) -> bool {
    if value.len() <= SHORT {
        value.iter().any(|&b| b == 0)
    } else {
        memchr::memchr(0, value).is_some()
    }
}

fn decode(bytes: &[u8]) -> String {
    match core::str::from_utf8(bytes) {
        Ok(text) => String::from(text),
        Err(_) => String::from_utf8_lossy(bytes).into_owned(),
    }
}

/// The default event type.
const MESSAGE: &str = "message";

/// The event type or the last event ID of a dispatched event: usually its default (`message`,
/// or no id), which is then stored as `None`.
///
/// Every event carries both, so cloning them must be cheap: an `Arc<str>` costs two atomic
/// operations per event (one to clone, one to drop), a good part of the cost of parsing a small
/// event. `None` costs nothing. The default is always stored as `None`, so equal strings are
/// equal values.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Text(Option<Arc<str>>);

impl Text {
    const DEFAULT: Text = Text(None);

    fn new(text: &str, default: &str) -> Text {
        if text == default {
            Text::DEFAULT
        } else {
            Text(Some(Arc::from(text)))
        }
    }

    /// UTF-8 decoding as the standard asks (see [`decode`]).
    fn get<'a>(&'a self, default: &'a str) -> &'a str {
        self.0.as_deref().unwrap_or(default)
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

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        self.parser.parse_next(&mut self.input)
    }
}

impl core::iter::FusedIterator for Feed<'_, '_> {}

impl Drop for Feed<'_, '_> {
    #[inline]
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

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;

    fn parse(input: &[u8]) -> Vec<MessageEvent> {
        let mut parser = Parser::new();
        let events = parser
            .feed(input)
            .filter_map(|item| match item {
                Ok(Parsed::Event(event)) => Some(event),
                _ => None,
            })
            .collect();
        parser.finish();
        events
    }

    fn hash(event: &MessageEvent) -> u64 {
        use core::hash::{BuildHasher, Hasher};
        // A fixed, dependency-free hasher is enough to compare two hashes.
        struct Fnv(u64);
        impl Hasher for Fnv {
            fn finish(&self) -> u64 {
                self.0
            }
            fn write(&mut self, bytes: &[u8]) {
                for &b in bytes {
                    self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
                }
            }
        }
        struct Build;
        impl BuildHasher for Build {
            type Hasher = Fnv;
            fn build_hasher(&self) -> Fnv {
                Fnv(0xcbf2_9ce4_8422_2325)
            }
        }
        Build.hash_one(event)
    }

    /// The default type and the empty id are stored as "no string": an explicit
    /// `event: message`, `MessageEvent::new` and the default must all be the same value.
    #[test]
    fn default_type_and_id_compare_hash_and_print_as_strings() {
        let events = parse(b"data: a\n\nevent: message\ndata: a\n\nid: 7\nevent: x\ndata: a\n\n");
        let by_hand = MessageEvent::new("message", "a", "");
        assert_eq!(events[0], by_hand);
        assert_eq!(events[1], by_hand);
        assert_eq!(hash(&events[0]), hash(&events[1]));
        assert_eq!(hash(&events[0]), hash(&by_hand));
        assert_eq!(events[2], MessageEvent::new("x", "a", "7"));
        assert_ne!(events[2], MessageEvent::new("x", "a", ""));
        assert_eq!(
            format!("{:?}", events[2]),
            r#"MessageEvent { event_type: "x", data: "a", last_event_id: "7" }"#
        );
        assert_eq!(events[0].event_type(), "message");
        assert_eq!(events[0].last_event_id(), "");
    }

    /// An id line that resets the id to empty, and one equal to the current id, still commit.
    #[test]
    fn owned_and_lent_events_agree_on_the_id_across_both_apis() {
        let mut parser = Parser::new();
        let mut seen = Vec::new();
        let owned = |parser: &mut Parser, input: &[u8], seen: &mut Vec<(String, String)>| {
            for item in parser.feed(input) {
                if let Ok(Parsed::Event(e)) = item {
                    seen.push((e.data().into(), e.last_event_id().into()));
                }
            }
        };
        let lent = |parser: &mut Parser, input: &[u8], seen: &mut Vec<(String, String)>| {
            parser.feed_with(input, |item| {
                if let ParsedRef::Event(e) = item {
                    seen.push((e.data().into(), e.last_event_id().into()));
                }
            });
        };
        owned(&mut parser, b"id: 1\ndata: a\n\n", &mut seen);
        lent(&mut parser, b"data: b\n\nid: 2\ndata: c\n\n", &mut seen);
        // The id changed during a lent dispatch: the next owned event must carry it.
        owned(&mut parser, b"data: d\n\nid: 2\ndata: e\n\n", &mut seen);
        parser.set_last_event_id("z");
        owned(&mut parser, b"data: f\n\n", &mut seen);
        lent(&mut parser, b"id\ndata: g\n\n", &mut seen);
        owned(&mut parser, b"data: h\n\nid: 3\n", &mut seen);
        assert!(parser.finish().discarded());
        owned(&mut parser, b"data: i\n\n", &mut seen);
        let expected = [
            ("a", "1"),
            ("b", "1"),
            ("c", "2"),
            ("d", "2"),
            ("e", "2"),
            ("f", "z"),
            ("g", ""),
            ("h", ""),
            ("i", ""),
        ];
        let seen: Vec<(&str, &str)> = seen.iter().map(|(d, i)| (&**d, &**i)).collect();
        assert_eq!(seen, expected);
        assert_eq!(parser.last_event_id(), "");
    }

    #[test]
    fn id_reset_and_repeat() {
        let events =
            parse(b"id: 1\ndata: a\n\nid\ndata: b\n\nid: 2\ndata: c\n\nid: 2\ndata: d\n\n");
        let ids: Vec<&str> = events.iter().map(MessageEvent::last_event_id).collect();
        assert_eq!(ids, ["1", "", "2", "2"]);
    }
}
