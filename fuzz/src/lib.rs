//! The checking code behind the fuzz targets, one plain function per target.
//!
//! Each `fuzz_targets/<name>.rs` is a one-line `fuzz_target!` that calls the function of the same
//! name here. Keeping the logic in plain functions means the same code runs on stable Rust: the
//! `fuzz-replay` crate of the root workspace includes this file and calls every function on every
//! file of `fuzz/seeds/<target>/` from an ordinary `#[test]`, so `cargo test --workspace`
//! exercises the fuzz code without nightly or libFuzzer.
//!
//! A function panics (an `assert!`) when ssekit-proto breaks one of its contracts for that input;
//! libFuzzer reports the panic as a crash and saves the input.
//!
//! This file is also compiled as a module of `fuzz-replay` (through `#[path]`), so it holds no
//! crate-level attributes and names its dependencies by crate name only.

use core::time::Duration;

use arbitrary::{Arbitrary, Unstructured};
use ssekit::last_event_id;
use ssekit_proto::{Event, Limits, MessageEvent, ParseError, Parsed, ParsedRef, Parser};

/// The most chunk lengths a [`ParseCase`] carries.
pub const MAX_CHUNK_LENGTHS: u8 = 16;

/// One input of the `parse` and `parse_chunking` targets: a stream, how to cut it, which limits.
///
/// The byte format is small and positional, so seeds are easy to write by hand and libFuzzer's
/// mutations keep their meaning:
///
/// | bytes | meaning |
/// |---|---|
/// | 0, bits 0-1 | limits: 0 default, 1 line 64 / event 256, 2 line 9 / event 14, 3 custom |
/// | 0, bits 2-3 | `take`: items pulled from each `Feed` before it is dropped (0: all) |
/// | (custom only) 2 bytes | max line length (0-255), max event size / 4 (0-1020) |
/// | next | `n`, the number of chunk lengths (taken modulo 17) |
/// | next `n` | chunk lengths 0-255, used in turn until the stream is used up (0: an empty chunk) |
/// | the rest | the event stream |
///
/// Header bytes missing at the end of a short input read as 0. So `[0, 0]` followed by a
/// stream means "default limits, the whole stream as one chunk".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseCase<'a> {
    /// The limits to parse with.
    pub limits: Limits,
    /// How many items to pull from each `Feed` before dropping it; 0 pulls all.
    pub take: usize,
    /// The chunk lengths, used in turn.
    pub chunk_lengths: Vec<usize>,
    /// The event stream.
    pub input: &'a [u8],
}

impl<'a> ParseCase<'a> {
    /// Reads a case from raw fuzzer bytes (never fails: missing header bytes read as 0).
    pub fn from_bytes(data: &'a [u8]) -> ParseCase<'a> {
        let mut u = Unstructured::new(data);
        let mut byte = || u8::arbitrary(&mut u).unwrap_or(0);
        let flags = byte();
        let limits = match flags & 3 {
            0 => Limits::default(),
            1 => Limits::default().max_line_length(64).max_event_size(256),
            2 => Limits::default().max_line_length(9).max_event_size(14),
            _ => {
                let line = usize::from(byte());
                let event = usize::from(byte()) * 4;
                Limits::default()
                    .max_line_length(line)
                    .max_event_size(event)
            }
        };
        let take = usize::from((flags >> 2) & 3);
        let count = byte() % (MAX_CHUNK_LENGTHS + 1);
        let chunk_lengths = (0..count).map(|_| usize::from(byte())).collect();
        ParseCase {
            limits,
            take,
            chunk_lengths,
            input: u.take_rest(),
        }
    }

    /// The stream cut by the chunk lengths, used in turn. Without lengths, or once a whole
    /// round of lengths consumed nothing (all zero), the rest goes in one chunk.
    pub fn chunks(&self) -> Vec<&'a [u8]> {
        let mut chunks = Vec::new();
        let mut rest = self.input;
        if self.chunk_lengths.is_empty() {
            chunks.push(rest);
            return chunks;
        }
        loop {
            let before = rest.len();
            for &len in &self.chunk_lengths {
                let n = len.min(rest.len());
                chunks.push(&rest[..n]);
                rest = &rest[n..];
                if rest.is_empty() {
                    return chunks;
                }
            }
            if rest.len() == before {
                chunks.push(rest);
                return chunks;
            }
        }
    }
}

impl<'a> Arbitrary<'a> for ParseCase<'a> {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        let len = u.arbitrary_len::<u8>()?;
        Ok(ParseCase::from_bytes(u.bytes(len)?))
    }

    fn arbitrary_take_rest(u: Unstructured<'a>) -> arbitrary::Result<Self> {
        Ok(ParseCase::from_bytes(u.take_rest()))
    }
}

/// Everything a parser produced for one stream, comparable across chunkings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Every item of every `feed`, then those of `finish`, in order.
    pub items: Vec<Result<Parsed, ParseError>>,
    /// `Parser::last_event_id` after `finish`.
    pub last_event_id: String,
    /// `Parser::reconnection_time` after `finish`.
    pub reconnection_time: Option<Duration>,
    /// `Finish::discarded`.
    pub discarded: bool,
}

/// Parses `chunks` in order with `limits`, pulling at most `take` items from each `Feed` before
/// dropping it (0: all), then finishes.
pub fn run_parser(chunks: &[&[u8]], limits: Limits, take: usize) -> Outcome {
    let mut parser = Parser::with_limits(limits);
    let mut items = Vec::new();
    for chunk in chunks {
        let feed = parser.feed(chunk);
        if take == 0 {
            items.extend(feed);
        } else {
            items.extend(feed.take(take));
        }
    }
    finish(parser, items)
}

/// Finishes `parser` after `items`: its last outputs, last event ID, reconnection time and
/// whether it discarded anything.
fn finish(mut parser: Parser, mut items: Vec<Result<Parsed, ParseError>>) -> Outcome {
    let finish = parser.finish();
    let discarded = finish.discarded();
    items.extend(finish);
    Outcome {
        items,
        last_event_id: parser.last_event_id().to_owned(),
        reconnection_time: parser.reconnection_time(),
        discarded,
    }
}

/// [`run_parser`] through `Parser::feed_with`: every event lent, kept with `to_owned`.
pub fn run_parser_borrowed(chunks: &[&[u8]], limits: Limits) -> Outcome {
    let mut parser = Parser::with_limits(limits);
    let mut items = Vec::new();
    for chunk in chunks {
        parser.feed_with(chunk, |item| {
            items.push(match item {
                ParsedRef::Event(event) => Ok(Parsed::Event(event.to_owned())),
                ParsedRef::Retry(retry) => Ok(Parsed::Retry(retry)),
                ParsedRef::Error(error) => Err(error),
                other => panic!("an output this harness does not know: {other:?}"),
            })
        });
    }
    finish(parser, items)
}

/// A stream of chunks that are all ready, for [`run_parse_stream`].
struct ReadyChunks(std::vec::IntoIter<Vec<u8>>);

impl futures_core::Stream for ReadyChunks {
    type Item = Result<Vec<u8>, core::convert::Infallible>;

    fn poll_next(
        self: core::pin::Pin<&mut Self>,
        _: &mut core::task::Context<'_>,
    ) -> core::task::Poll<Option<Self::Item>> {
        core::task::Poll::Ready(self.get_mut().0.next().map(Ok))
    }
}

/// [`run_parser`] through `stream::ParseStream`, polled until it ends. The stream finishes
/// the parser itself and does not tell whether it discarded anything: `discarded` is false.
pub fn run_parse_stream(chunks: &[&[u8]], limits: Limits) -> Outcome {
    use futures_core::Stream;
    use ssekit_proto::stream::{ParseStream, StreamError};

    let chunks: Vec<Vec<u8>> = chunks.iter().map(|chunk| chunk.to_vec()).collect();
    let mut stream =
        ParseStream::with_parser(ReadyChunks(chunks.into_iter()), Parser::with_limits(limits));
    let mut cx = core::task::Context::from_waker(core::task::Waker::noop());
    let mut items = Vec::new();
    loop {
        match core::pin::Pin::new(&mut stream).poll_next(&mut cx) {
            core::task::Poll::Ready(Some(item)) => items.push(item.map_err(|e| match e {
                StreamError::Parse(e) => e,
                StreamError::Transport(never) => match never {},
            })),
            core::task::Poll::Ready(None) => break,
            core::task::Poll::Pending => panic!("ParseStream pending over ready chunks"),
        }
    }
    Outcome {
        items,
        last_event_id: stream.parser().last_event_id().to_owned(),
        reconnection_time: stream.parser().reconnection_time(),
        discarded: false,
    }
}

/// The length `text` had on the wire, at least: every U+FFFD may stand for a single invalid
/// byte that decoding turned into three.
fn wire_len_lower_bound(text: &str) -> usize {
    text.len() - 2 * text.matches('\u{FFFD}').count()
}

/// Checks what the limits promise about one parser item.
fn check_item(item: &Result<Parsed, ParseError>, limits: Limits) {
    match item {
        Ok(Parsed::Event(event)) => {
            let data = event.data();
            // The data buffer (each line's value plus one LF, the last LF removed at dispatch)
            // never exceeds max_event_size bytes of input.
            assert!(
                wire_len_lower_bound(data) < limits.get_max_event_size(),
                "dispatched data of {} bytes with max_event_size {}",
                data.len(),
                limits.get_max_event_size()
            );
            assert!(!data.contains('\r'), "CR inside dispatched data");
            let event_type = event.event_type();
            assert!(!event_type.is_empty(), "empty event type dispatched");
            assert!(
                !event_type.contains(['\r', '\n']),
                "line end inside an event type"
            );
            // "message" is the default, not read from the wire.
            assert!(
                event_type == "message"
                    || wire_len_lower_bound(event_type) <= limits.get_max_line_length(),
                "event type longer than a line may be"
            );
            check_id(event.last_event_id(), limits);
        }
        Ok(Parsed::Retry(_)) => {}
        Err(ParseError::LineTooLong { limit }) => assert_eq!(*limit, limits.get_max_line_length()),
        Err(ParseError::EventTooLarge { limit }) => assert_eq!(*limit, limits.get_max_event_size()),
        Err(other) => panic!("unknown parse error {other:?}"),
        Ok(other) => panic!("unknown parser output {other:?}"),
    }
}

fn check_id(id: &str, limits: Limits) {
    assert!(
        !id.contains(['\0', '\r', '\n']),
        "last event id {id:?} holds NUL, CR or LF"
    );
    assert!(
        wire_len_lower_bound(id) <= limits.get_max_line_length(),
        "last event id longer than a line may be"
    );
}

/// Target `parse`: any bytes, any chunking, default or small limits: no panic, every item
/// within the limits, never more items than input bytes + 1.
pub fn parse(data: &[u8]) {
    let case = ParseCase::from_bytes(data);
    let limits = case.limits;
    let mut parser = Parser::with_limits(limits);
    let mut count = 0usize;
    for chunk in case.chunks() {
        for item in parser.feed(chunk) {
            check_item(&item, limits);
            count += 1;
        }
        check_id(parser.last_event_id(), limits);
    }
    for item in parser.finish() {
        check_item(&item, limits);
        count += 1;
    }
    check_id(parser.last_event_id(), limits);
    assert!(
        count <= case.input.len() + 1,
        "{count} items out of {} input bytes",
        case.input.len()
    );
}

/// Target `parse_chunking`: the stream whole, cut by the case's chunk lengths (dropping each
/// `Feed` after `take` items when `take` is set), and one byte at a time must give the same
/// items, errors, final last event ID, reconnection time and `discarded` flag.
pub fn parse_chunking(data: &[u8]) {
    let case = ParseCase::from_bytes(data);
    let whole = run_parser(&[case.input], case.limits, 0);
    let chunks = case.chunks();
    let cut = run_parser(&chunks, case.limits, case.take);
    assert_eq!(
        whole, cut,
        "chunking {:?} changed the result",
        case.chunk_lengths
    );
    // The other two ways of parsing give the same, in the same chunking.
    let streamed = Outcome {
        discarded: false,
        ..whole.clone()
    };
    assert_eq!(
        whole,
        run_parser_borrowed(&chunks, case.limits),
        "feed_with in chunks {:?} differs from feed",
        case.chunk_lengths
    );
    assert_eq!(
        streamed,
        run_parse_stream(&chunks, case.limits),
        "ParseStream in chunks {:?} differs from feed",
        case.chunk_lengths
    );
    if case.input.len() <= 1024 {
        let bytes: Vec<&[u8]> = case.input.chunks(1).collect();
        let bytewise = run_parser(&bytes, case.limits, case.take);
        assert_eq!(whole, bytewise, "one-byte chunks changed the result");
        assert_eq!(whole, run_parser_borrowed(&bytes, case.limits));
        assert_eq!(streamed, run_parse_stream(&bytes, case.limits));
    }
}

/// One input of the `roundtrip` target: the fields of an event, each maybe absent.
///
/// Byte format: byte 0 holds which fields are present (bit 0 data, 1 event, 2 id, 3 retry,
/// 4 comment); the rest is split on `0xFF` (a byte that never occurs in UTF-8) into the data,
/// event name, id, retry and comment texts, in that order (missing parts are empty, invalid
/// UTF-8 becomes U+FFFD). The retry text is `<milliseconds>[.<nanoseconds>]`; its digits are
/// read saturating, other bytes are ignored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventCase {
    /// `EventBuilder::data`.
    pub data: Option<String>,
    /// `EventBuilder::event`.
    pub event: Option<String>,
    /// `EventBuilder::id`.
    pub id: Option<String>,
    /// `EventBuilder::retry`.
    pub retry: Option<Duration>,
    /// `EventBuilder::comment`.
    pub comment: Option<String>,
}

impl EventCase {
    /// Reads a case from raw fuzzer bytes (never fails).
    pub fn from_bytes(data: &[u8]) -> EventCase {
        let (flags, rest) = data.split_first().map_or((0, &[][..]), |(f, r)| (*f, r));
        let mut parts = rest.split(|&b| b == 0xFF);
        let mut next = || parts.next().unwrap_or_default();
        let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
        let (data, event, id, retry, comment) = (next(), next(), next(), next(), next());
        let present = |bit: u8| flags & (1 << bit) != 0;
        EventCase {
            data: present(0).then(|| text(data)),
            event: present(1).then(|| text(event)),
            id: present(2).then(|| text(id)),
            retry: present(3).then(|| retry_of(retry)),
            comment: present(4).then(|| text(comment)),
        }
    }
}

impl<'a> Arbitrary<'a> for EventCase {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        let len = u.arbitrary_len::<u8>()?;
        Ok(EventCase::from_bytes(u.bytes(len)?))
    }

    fn arbitrary_take_rest(u: Unstructured<'a>) -> arbitrary::Result<Self> {
        Ok(EventCase::from_bytes(u.take_rest()))
    }
}

fn digits_saturating(bytes: &[u8]) -> u128 {
    bytes
        .iter()
        .filter(|b| b.is_ascii_digit())
        .fold(0u128, |n, &b| {
            n.saturating_mul(10).saturating_add(u128::from(b - b'0'))
        })
}

fn retry_of(text: &[u8]) -> Duration {
    let mut halves = text.splitn(2, |&b| b == b'.');
    let millis = digits_saturating(halves.next().unwrap_or_default());
    let nanos = digits_saturating(halves.next().unwrap_or_default()) % 1_000_000;
    match u64::try_from(millis / 1000) {
        Ok(secs) => {
            let sub_ms = u32::try_from(millis % 1000).unwrap_or(0);
            let nanos = u32::try_from(nanos).unwrap_or(0);
            Duration::new(secs, sub_ms * 1_000_000 + nanos)
        }
        Err(_) => Duration::MAX,
    }
}

/// Data line ends as a parser gives them back: CRLF and CR become LF.
fn normalise_line_ends(text: &str) -> String {
    text.replace("\r\n", "\n").replace('\r', "\n")
}

/// Target `roundtrip`: the builder refuses exactly the events with CR/LF in the name or
/// CR/LF/NUL in the id; an accepted event encodes into allowed lines only and parses back to
/// itself.
pub fn roundtrip(data: &[u8]) {
    check_roundtrip(&EventCase::from_bytes(data));
}

/// The check of the `roundtrip` target on one case.
pub fn check_roundtrip(case: &EventCase) {
    let mut builder = Event::builder();
    if let Some(data) = &case.data {
        builder = builder.data(data.as_str());
    }
    if let Some(event) = &case.event {
        builder = builder.event(event.as_str());
    }
    if let Some(id) = &case.id {
        builder = builder.id(id.as_str());
    }
    if let Some(retry) = case.retry {
        builder = builder.retry(retry);
    }
    if let Some(comment) = &case.comment {
        builder = builder.comment(comment.as_str());
    }
    let bad_name = case
        .event
        .as_deref()
        .is_some_and(|n| n.contains(['\r', '\n']));
    let bad_id = case
        .id
        .as_deref()
        .is_some_and(|i| i.contains(['\r', '\n', '\0']));
    let event = match builder.build() {
        Err(error) => {
            assert!(
                bad_name || bad_id,
                "valid event refused ({error}): {case:?}"
            );
            return;
        }
        Ok(event) => event,
    };
    assert!(!bad_name && !bad_id, "injectable event accepted: {case:?}");
    assert_eq!(event.data(), case.data.as_deref());
    assert_eq!(event.event_name(), case.event.as_deref());
    assert_eq!(event.id(), case.id.as_deref());
    assert_eq!(event.retry(), case.retry);
    assert_eq!(event.comment_text(), case.comment.as_deref());

    let wire = event.to_vec();
    assert_eq!(
        &event.to_bytes()[..],
        &wire[..],
        "to_bytes differs from to_vec"
    );
    check_wire(&wire, case);

    let mut expected = Vec::new();
    // The wire carries whole milliseconds, saturated to u64.
    let retry = case
        .retry
        .map(|r| Duration::from_millis(u64::try_from(r.as_millis()).unwrap_or(u64::MAX)));
    if let Some(retry) = retry {
        expected.push(Ok(Parsed::Retry(retry)));
    }
    let id = case.id.as_deref().unwrap_or("");
    if let Some(data) = &case.data {
        let event_type = match case.event.as_deref() {
            None | Some("") => "message",
            Some(name) => name,
        };
        let message = MessageEvent::new(event_type, normalise_line_ends(data), id);
        expected.push(Ok(Parsed::Event(message)));
    }
    let got = run_parser(&[&wire[..]], Limits::unlimited(), 0);
    let expected = Outcome {
        items: expected,
        last_event_id: id.to_owned(),
        reconnection_time: retry,
        discarded: false,
    };
    assert_eq!(got, expected, "round trip changed {case:?}");
}

/// The wire form holds only `data: `, `event: `, `id: `, `retry: ` and `:` lines, ended by LF,
/// then the one blank line that ends the event; no CR anywhere.
fn check_wire(wire: &[u8], case: &EventCase) {
    assert!(!wire.contains(&b'\r'), "CR on the wire for {case:?}");
    let body = wire
        .strip_suffix(b"\n")
        .unwrap_or_else(|| panic!("wire does not end with LF for {case:?}"));
    let mut lines: Vec<&[u8]> = body.split(|&b| b == b'\n').collect();
    let last = lines.pop();
    assert_eq!(last, Some(&b""[..]), "event not ended by a blank line");
    for line in lines {
        let allowed = [&b"data: "[..], b"event: ", b"id: ", b"retry: ", b":"];
        assert!(
            allowed.iter().any(|prefix| line.starts_with(prefix)),
            "unexpected wire line {:?} for {case:?}",
            String::from_utf8_lossy(line)
        );
    }
}

/// Target `last_event_id`: `ssekit::last_event_id::parse` accepts exactly the non-empty
/// UTF-8 values of at most `last_event_id::MAX_LEN` bytes without NUL, CR or LF, and returns
/// them unchanged.
pub fn last_event_id(data: &[u8]) {
    let valid = !data.is_empty()
        && data.len() <= last_event_id::MAX_LEN
        && !data.iter().any(|b| matches!(b, 0 | b'\r' | b'\n'))
        && core::str::from_utf8(data).is_ok();
    match last_event_id::parse(data) {
        Some(id) => {
            assert!(valid, "accepted an invalid Last-Event-ID {data:?}");
            assert_eq!(id.as_bytes(), data);
        }
        None => assert!(!valid, "refused a valid Last-Event-ID {data:?}"),
    }
}
