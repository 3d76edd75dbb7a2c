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
//!
//! A long `data:` line cut by chunk boundaries (a JSON document of many KiB on one line) is not
//! gathered in the carry-over buffer: from its first piece of 64 bytes or more on, its value is
//! decoded straight into the data buffer, piece by piece. Each piece is validated with its chunk
//! (a UTF-8 sequence cut by a boundary waits for the next piece to complete it), copied once,
//! and its line end is searched for with one `memchr2` per chunk; an owned event of 4 KiB or
//! more then takes the data buffer itself rather than a copy.
//!
//! A stream read in small pieces (a few bytes per read) mostly delivers chunks that lie inside
//! a line: a chunk under 16 bytes with no line end is appended to the carry-over buffer
//! directly, without entering the line state machine.
//!
//! # Layout
//!
//! - `limits`: [`Limits`] and [`ParseError`].
//! - `event`: what it hands out: [`MessageEvent`] in [`Parsed`], [`EventRef`] in [`ParsedRef`].
//! - this module: the [`Parser`] and its public methods.
//! - `machine`: the line state machine (line ends, cut lines, field rules).
//! - `scan`: the byte searches and value checks it uses.
//! - `input`: the bytes still to parse, and the prefix of them a chunk's validation covers.
//! - `decode`: UTF-8 decoding (SIMD validation, U+FFFD for invalid input).
//! - `dispatch`: an event handed out owned or lent.
//! - `feed`: the iterators [`Feed`] and [`Finish`].

mod decode;
mod dispatch;
mod event;
mod feed;
mod input;
mod limits;
mod machine;
mod scan;
mod simd;

use alloc::string::String;
use alloc::vec::Vec;
use core::time::Duration;

use event::Text;
pub use event::{EventRef, MessageEvent, Parsed, ParsedRef};
pub use feed::{Feed, Finish};
#[cfg(feature = "futures")]
pub(crate) use input::CheckedChunk;
use input::Input;
pub use limits::{Limits, ParseError};

const BOM: [u8; 3] = [0xEF, 0xBB, 0xBF];
/// `Parser::bom` value once the start of the stream has been checked for a BOM.
const BOM_DONE: u8 = 3;

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
/// use ssekit_proto::{Parsed, Parser};
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
/// assert!(!parser.finish().discarded());
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
    /// The current line is a `data:` line cut by chunk boundaries whose value is decoded
    /// straight into `data` as its pieces arrive (see `machine`); `line` then holds only an
    /// incomplete UTF-8 sequence at the end of the last piece, if any.
    data_line: bool,
    /// While `data_line`: the line's length so far in input bytes, its `data:` prefix included.
    data_line_len: usize,
    /// While `data_line`: the length of the line's prefix, `data:` or `data: ` (5 or 6).
    data_line_prefix: usize,
    /// The previous byte was a CR: an LF right after it belongs to the same line end.
    after_cr: bool,
    /// How many BOM bytes the stream started with so far, or `BOM_DONE`.
    bom: u8,
    /// The data buffer, decoded: each data line's value and an LF.
    data: String,
    /// The data buffer's size in input bytes (what [`Limits::max_event_size`] counts; decoding
    /// makes each invalid byte three).
    data_size: usize,
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
            data_line: false,
            data_line_len: 0,
            data_line_prefix: 0,
            after_cr: false,
            bom: 0,
            data: String::new(),
            data_size: 0,
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
        let input = if self.carry_short(chunk) {
            None
        } else {
            Some(Input::chunk(chunk))
        };
        Feed {
            parser: self,
            input,
        }
    }

    /// Parses from `input` up to the next output and advances `input` past what it consumed.
    ///
    /// Returns `None` once all of `input` is consumed (it is then empty). The primitive for
    /// callers that manage their own buffers; [`Parser::feed`] is faster on long chunks, as it
    /// validates a chunk's UTF-8 once instead of one value at a time.
    #[inline]
    pub fn parse_next(&mut self, input: &mut &[u8]) -> Option<Result<Parsed, ParseError>> {
        let mut rest = Input::unchecked(input);
        let out = self.parse_input(&mut rest);
        *input = rest.bytes();
        out
    }

    /// [`Parser::parse_next`] over `chunk` from byte `*pos` on, which it advances; `checked`
    /// was made from this chunk by [`CheckedChunk::check`].
    #[cfg(feature = "futures")]
    #[inline]
    pub(crate) fn parse_checked(
        &mut self,
        chunk: &[u8],
        checked: &mut CheckedChunk,
        pos: &mut usize,
    ) -> Option<Result<Parsed, ParseError>> {
        let mut input = Input::resume(chunk, checked, *pos);
        let out = self.parse_input(&mut input);
        *pos = chunk.len() - input.bytes().len();
        let scan = input.scan();
        checked.keep_scan(scan);
        out
    }

    /// [`Parser::parse_next`] over an [`Input`].
    #[inline]
    fn parse_input(&mut self, input: &mut Input<'_>) -> Option<Result<Parsed, ParseError>> {
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
    /// ([`EventRef::to_owned`] keeps one). Nothing is allocated per event.
    ///
    /// ```
    /// use ssekit_proto::{ParsedRef, Parser};
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
    ///         _ => {} // outputs a later version may add
    ///     });
    /// }
    /// assert!(!parser.finish().discarded());
    /// assert_eq!(total, 5);
    /// ```
    #[inline]
    pub fn feed_with<F>(&mut self, chunk: &[u8], mut on_item: F)
    where
        F: FnMut(ParsedRef<'_>),
    {
        if self.carry_short(chunk) {
            return;
        }
        let mut input = Input::chunk(chunk);
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
    fn next_step(&mut self, input: &mut Input<'_>) -> Option<Step> {
        if self.has_stash() || self.data_line {
            return self.next_step_cold(input);
        }
        self.step(input)
    }

    /// [`Parser::next_step`] with a stash to parse first, or a streamed data line open.
    #[cold]
    #[inline(never)]
    fn next_step_cold(&mut self, input: &mut Input<'_>) -> Option<Step> {
        if self.has_stash() {
            return self.next_step_stash(input);
        }
        self.step_any(input)
    }

    /// A chunk of under 16 bytes with no line end in the middle of a line, as most chunks of a
    /// stream read in small pieces are: appended to the carry-over line without entering the
    /// state machine (what [`Parser::step`] would do with it, minus its call and its checks).
    /// True if the chunk was taken so.
    #[inline(always)]
    pub(crate) fn carry_short(&mut self, chunk: &[u8]) -> bool {
        if chunk.len() >= 16
            || self.after_cr
            || self.bom < BOM_DONE
            || self.skipping_line
            || self.data_line
            || self.has_stash()
            || chunk.len()
                > self
                    .limits
                    .get_max_line_length()
                    .saturating_sub(self.line.len())
            || simd::short_line_end(chunk).is_some()
        {
            return false;
        }
        simd::append_short(&mut self.line, chunk);
        true
    }

    /// Input left by a [`Feed`] dropped early is waiting to be parsed.
    #[inline(always)]
    fn has_stash(&self) -> bool {
        self.stash_pos < self.stash.len()
    }

    /// [`Parser::next_step`] with a stash to parse first (rare: a [`Feed`] was dropped early).
    #[cold]
    #[inline(never)]
    fn next_step_stash(&mut self, input: &mut Input<'_>) -> Option<Step> {
        let stash = core::mem::take(&mut self.stash);
        let mut rest = Input::unchecked(&stash[self.stash_pos..]);
        let out = self.step_any(&mut rest);
        let pos = stash.len() - rest.bytes().len();
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
        self.step_any(input)
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
            || self.data_line
            || (self.bom > 0 && self.bom < BOM_DONE)
            || !self.data.is_empty()
            || !self.event_type.is_empty()
            || (self.id_set && self.id_buffer != self.last_event_id)
            || self.discarding;
        self.line.clear();
        self.skipping_line = false;
        self.data_line = false;
        self.after_cr = false;
        self.bom = 0;
        self.clear_data();
        self.event_type.clear();
        self.discarding = false;
        // An id that no blank line committed belongs to the cut-off block.
        self.id_set = false;
        Finish {
            items: leftover.into_iter(),
            discarded,
        }
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
        assert!(!parser.finish().discarded());
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

    /// Chunks long enough to be validated whole (see `input`) give what input parsed one value
    /// at a time gives, whatever the cuts: through multi-byte sequences, invalid bytes, a BOM,
    /// CRLF pairs and lines cut by a chunk boundary.
    #[test]
    fn validated_chunks_decode_as_unchecked_input() {
        let mut stream = Vec::from(&b"\xEF\xBB\xBF"[..]);
        for i in 0..60 {
            stream.extend_from_slice("data: caf\u{e9} \u{65e5}\u{672c} \u{1f642} ".as_bytes());
            if i % 7 == 0 {
                stream.extend_from_slice(b"\xFF\xC3 bad \xE2\x82");
            }
            stream.extend_from_slice(format!("{i}\r\ndata:x\r").as_bytes());
            if i % 5 == 0 {
                stream.extend_from_slice("event: \u{e9}t\u{e9}\nid: \u{1f642}".as_bytes());
                stream.extend_from_slice(b"\xF0\n");
            }
            stream.extend_from_slice(b"\n\n");
        }
        let record = |items: &mut Vec<String>, event: (&str, &str, &str)| {
            items.push(format!("{event:?}"));
        };
        let mut expected = Vec::new();
        let mut parser = Parser::new();
        let mut rest = &stream[..];
        while let Some(item) = parser.parse_next(&mut rest) {
            if let Ok(Parsed::Event(e)) = item {
                record(&mut expected, (e.event_type(), e.data(), e.last_event_id()));
            }
        }
        assert_eq!(expected.len(), 60);
        assert!(expected[0].contains('\u{fffd}') && expected[0].contains('\u{1f642}'));
        for size in (256..=320).chain([511, 1024, stream.len()]) {
            let (mut owned, mut lent) = (Vec::new(), Vec::new());
            let (mut a, mut b) = (Parser::new(), Parser::new());
            for chunk in stream.chunks(size) {
                for item in a.feed(chunk) {
                    if let Ok(Parsed::Event(e)) = item {
                        record(&mut owned, (e.event_type(), e.data(), e.last_event_id()));
                    }
                }
                b.feed_with(chunk, |item| {
                    if let ParsedRef::Event(e) = item {
                        record(&mut lent, (e.event_type(), e.data(), e.last_event_id()));
                    }
                });
            }
            assert_eq!(owned, expected, "chunks of {size}");
            assert_eq!(lent, expected, "chunks of {size}");
            // ParseStream's way: the chunk checked once, parsed one output per call.
            #[cfg(feature = "futures")]
            {
                let (mut resumed, mut c) = (Vec::new(), Parser::new());
                let mut checked = CheckedChunk::default();
                for chunk in stream.chunks(size) {
                    checked.check(chunk);
                    let mut pos = 0;
                    while let Some(item) = c.parse_checked(chunk, &mut checked, &mut pos) {
                        if let Ok(Parsed::Event(e)) = item {
                            record(&mut resumed, (e.event_type(), e.data(), e.last_event_id()));
                        }
                    }
                }
                assert_eq!(resumed, expected, "chunks of {size}, resumed");
            }
        }
    }

    #[test]
    fn id_reset_and_repeat() {
        let events =
            parse(b"id: 1\ndata: a\n\nid\ndata: b\n\nid: 2\ndata: c\n\nid: 2\ndata: d\n\n");
        let ids: Vec<&str> = events.iter().map(MessageEvent::last_event_id).collect();
        assert_eq!(ids, ["1", "", "2", "2"]);
    }
}
