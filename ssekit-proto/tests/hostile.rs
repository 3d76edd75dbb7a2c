//! Hostile input: a GiB-long line, a GiB of data lines with no blank line, floods of comments
//! and lone CRs, a BOM at the start of every chunk, NULs and invalid UTF-8 everywhere.
//!
//! A counting global allocator measures the peak heap of every run, so the bounded-memory
//! contract is checked by measurement, not by reading the code. The big inputs are generated
//! chunk by chunk and never held in memory. The allocator's counters are process-wide, so every
//! test here takes `SERIAL` first: no two run at once.
//!
//! Run with `cargo test -p ssekit-proto --test hostile -- --nocapture` to see the timings and peaks.

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use conformance::{Outcome, Output, output_of, parse_with_cuts};
use counting_alloc::CountingAlloc;
use ssekit_proto::{Limits, ParseError, Parsed, Parser};

#[global_allocator]
static HEAP: CountingAlloc = CountingAlloc::new();

static SERIAL: Mutex<()> = Mutex::new(());

const KIB: usize = 1 << 10;
const MIB: usize = 1 << 20;
const GIB: u64 = 1 << 30;
const CHUNK: usize = 4 * KIB;
const BOM: &[u8] = b"\xEF\xBB\xBF";

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(PoisonError::into_inner)
}

/// What a run produced, counted rather than stored (the outputs of a GiB could be large).
#[derive(Debug, Default)]
struct Tally {
    events: Vec<String>,
    retries: usize,
    line_too_long: usize,
    event_too_large: usize,
}

impl Tally {
    fn add(&mut self, item: Result<Parsed, ParseError>) {
        match item {
            Ok(Parsed::Event(event)) => {
                // Keep only a short prefix: enough to tell the events apart.
                let data: String = event.data().chars().take(16).collect();
                self.events.push(data);
            }
            Ok(Parsed::Retry(_)) => self.retries += 1,
            Err(ParseError::LineTooLong { .. }) => self.line_too_long += 1,
            Err(ParseError::EventTooLarge { .. }) => self.event_too_large += 1,
            Err(other) => panic!("unexpected error {other:?}"),
            Ok(other) => panic!("unexpected output {other:?}"),
        }
    }
}

/// Feeds `total` bytes of `pattern` repeated forever, in `CHUNK`-sized chunks cut anywhere in
/// the pattern, then `tail` in one chunk, then finishes. Returns the tally and the peak heap
/// growth (bytes) over the heap in use before the parser was made.
fn run_repeating(limits: Limits, pattern: &[u8], total: u64, tail: &[u8]) -> (Tally, usize) {
    // A window long enough to take a chunk at any offset of the pattern.
    let window: Vec<u8> = pattern
        .iter()
        .copied()
        .cycle()
        .take(CHUNK + pattern.len())
        .collect();
    let period = pattern.len() as u64;
    let mut tally = Tally::default();
    HEAP.reset_peak();
    let base = HEAP.current();
    let mut parser = Parser::with_limits(limits);
    let mut fed = 0u64;
    while fed < total {
        let len = (total - fed).min(CHUNK as u64) as usize;
        let offset = (fed % period) as usize;
        for item in parser.feed(&window[offset..offset + len]) {
            tally.add(item);
        }
        fed += len as u64;
    }
    for item in parser.feed(tail) {
        tally.add(item);
    }
    for item in parser.finish() {
        tally.add(item);
    }
    let peak = HEAP.peak() - base;
    drop(parser);
    (tally, peak)
}

/// Runs `f`, prints how long it took and the peak heap it reports, returns both.
fn measured<T>(name: &str, f: impl FnOnce() -> (T, usize)) -> (T, usize) {
    let start = Instant::now();
    let (out, peak) = f();
    eprintln!(
        "{name}: {:.2} s, peak heap {:.1} KiB",
        start.elapsed().as_secs_f64(),
        peak as f64 / KIB as f64
    );
    (out, peak)
}

#[test]
fn gib_line_gives_one_line_too_long_and_bounded_memory() {
    let _serial = serial();
    let (tally, peak) = measured("1 GiB line, default limits", || {
        run_repeating(Limits::default(), b"x", GIB, b"\n\ndata: after\n\n")
    });
    assert_eq!(tally.line_too_long, 1);
    assert_eq!(tally.event_too_large, 0);
    assert_eq!(
        tally.events,
        ["after"],
        "the parser goes on after the error"
    );
    assert!(peak < 16 * MIB, "peak heap {peak} bytes");

    let small = Limits::default()
        .max_line_length(64 * KIB)
        .max_event_size(64 * KIB);
    let (tally, peak) = measured("256 MiB line, 64 KiB limits", || {
        run_repeating(small, b"data: xyz", GIB / 4, b"\n\ndata: after\n\n")
    });
    assert_eq!(tally.line_too_long, 1);
    assert_eq!(tally.events, ["after"]);
    assert!(peak < MIB, "peak heap {peak} bytes");
}

#[test]
fn gib_of_data_lines_without_blank_line_is_one_event_too_large() {
    let _serial = serial();
    let (tally, peak) = measured("1 GiB of data lines, default limits", || {
        run_repeating(
            Limits::default(),
            b"data: xxxx\n",
            GIB,
            b"\n\ndata: after\n\n",
        )
    });
    assert_eq!(tally.event_too_large, 1);
    assert_eq!(tally.line_too_long, 0);
    assert_eq!(tally.events, ["after"]);
    assert!(peak < 16 * MIB, "peak heap {peak} bytes");

    let small = Limits::default()
        .max_line_length(4 * KIB)
        .max_event_size(64 * KIB);
    let (tally, peak) = measured("256 MiB of CRLF data lines, 64 KiB limits", || {
        run_repeating(
            small,
            b"data: xxxx\r\n",
            GIB / 4,
            b"\r\n\r\ndata: after\r\n\r\n",
        )
    });
    assert_eq!(tally.event_too_large, 1);
    assert_eq!(tally.events, ["after"]);
    assert!(peak < MIB, "peak heap {peak} bytes");
}

#[test]
fn ten_million_comment_lines_allocate_nothing_lasting() {
    let _serial = serial();
    let line = b": keep-alive\n";
    let total = 10_000_000 * line.len() as u64;
    let (tally, peak) = measured("10 million comment lines", || {
        run_repeating(Limits::default(), line, total, b"data: after\n\n")
    });
    assert_eq!(tally.events, ["after"]);
    assert_eq!(tally.line_too_long + tally.event_too_large, 0);
    assert!(peak < 64 * KIB, "peak heap {peak} bytes");
}

#[test]
fn hundred_mb_of_lone_crs_dispatch_nothing() {
    let _serial = serial();
    let (tally, peak) = measured("100 MB of lone CRs", || {
        run_repeating(Limits::default(), b"\r", 100_000_000, b"")
    });
    assert!(tally.events.is_empty());
    assert_eq!(
        tally.retries + tally.line_too_long + tally.event_too_large,
        0
    );
    assert!(peak < 64 * KIB, "peak heap {peak} bytes");

    // A data line before them: the first CR ends it, the second dispatches, the rest are
    // blank lines with nothing to dispatch.
    let (tally, peak) = measured("data line then 100 MB of lone CRs", || {
        let mut tally = Tally::default();
        let crs = vec![b'\r'; CHUNK];
        HEAP.reset_peak();
        let base = HEAP.current();
        let mut parser = Parser::new();
        tally_all(&mut tally, &mut parser, b"data: x");
        for _ in 0..100_000_000 / CHUNK {
            tally_all(&mut tally, &mut parser, &crs);
        }
        (tally, HEAP.peak() - base)
    });
    assert_eq!(tally.events, ["x"]);
    assert!(peak < 64 * KIB, "peak heap {peak} bytes");
}

fn tally_all(tally: &mut Tally, parser: &mut Parser, chunk: &[u8]) {
    for item in parser.feed(chunk) {
        tally.add(item);
    }
}

/// The standard's algorithm, written as plainly as possible, with no limits: decode the whole
/// stream as UTF-8 with U+FFFD replacement (stripping one leading BOM), split it into lines on
/// CRLF, LF and CR (an unterminated last line is dropped), and interpret each line.
fn reference(input: &[u8]) -> Outcome {
    let text = String::from_utf8_lossy(input);
    let text = text.strip_prefix('\u{FEFF}').unwrap_or(&text);
    let mut lines = Vec::new();
    let mut line = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                lines.push(std::mem::take(&mut line));
            }
            '\n' => lines.push(std::mem::take(&mut line)),
            c => line.push(c),
        }
    }
    // `id_buffer` is the standard's last event ID buffer; `last_event_id` is the event
    // source's last event ID, which the buffer becomes at every blank line.
    let (mut data, mut event_type, mut id_buffer, mut last_event_id) =
        (String::new(), String::new(), String::new(), String::new());
    let mut outputs = Vec::new();
    for line in lines {
        if line.is_empty() {
            last_event_id.clone_from(&id_buffer);
            if data.is_empty() {
                event_type.clear();
                continue;
            }
            data.pop();
            outputs.push(Output::Event {
                event_type: if event_type.is_empty() {
                    "message".to_owned()
                } else {
                    std::mem::take(&mut event_type)
                },
                data: std::mem::take(&mut data),
                id: last_event_id.clone(),
            });
            continue;
        }
        if line.starts_with(':') {
            continue;
        }
        let (name, value) = match line.split_once(':') {
            Some((name, value)) => (name, value.strip_prefix(' ').unwrap_or(value)),
            None => (line.as_str(), ""),
        };
        match name {
            "data" => {
                data.push_str(value);
                data.push('\n');
            }
            "event" => event_type = value.to_owned(),
            "id" if !value.contains('\0') => id_buffer = value.to_owned(),
            "retry" if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) => {
                if let Ok(millis) = value.parse::<u64>() {
                    outputs.push(Output::Retry(millis));
                }
            }
            _ => {}
        }
    }
    Outcome {
        outputs,
        last_event_id,
    }
}

/// Parses `chunks` one after another with default limits.
fn parse_chunks(chunks: &[Vec<u8>]) -> Outcome {
    let mut parser = Parser::new();
    let mut outputs = Vec::new();
    for chunk in chunks {
        outputs.extend(parser.feed(chunk).map(output_of));
    }
    outputs.extend(parser.finish().map(output_of));
    Outcome {
        outputs,
        last_event_id: parser.last_event_id().to_owned(),
    }
}

#[test]
fn bom_at_the_start_of_every_chunk_only_the_first_is_stripped() {
    let _serial = serial();
    let bodies: [&[u8]; 6] = [
        b"data: one\n\n",
        b"data: two\n",
        b"\n",
        b"id: 3\ndata: three\r\n\r\n",
        b"event: e\ndata: four\r",
        b"\rdata: five\n\n",
    ];
    let chunks: Vec<Vec<u8>> = bodies.iter().map(|body| [BOM, body].concat()).collect();
    let whole = chunks.concat();
    let expected = reference(&whole);
    // Only the first BOM is stripped. Every later one sticks to the front of the first line of
    // its chunk: `\u{FEFF}data`, `\u{FEFF}id` and `\u{FEFF}event` are unknown fields, and a
    // line holding only a BOM is not blank. The lines after it in the chunk are untouched.
    let event = |data: &str| Output::Event {
        event_type: "message".into(),
        data: data.into(),
        id: String::new(),
    };
    assert_eq!(
        expected.outputs,
        [event("one"), event("three"), event("four\nfive")]
    );
    assert_eq!(parse_chunks(&chunks), expected);
    assert_eq!(parse_with_cuts(&whole, &[], Limits::default()), expected);
    let bytewise: Vec<usize> = (1..whole.len()).collect();
    assert_eq!(
        parse_with_cuts(&whole, &bytewise, Limits::default()),
        expected
    );

    // The same at scale: 64 MiB of 4 KiB chunks, each starting with a BOM.
    let mut chunk = BOM.to_vec();
    chunk.extend_from_slice(b"data: x\n\n");
    chunk.resize(CHUNK - 2, b'y');
    chunk.extend_from_slice(b"\n\n");
    let (tally, peak) = measured("64 MiB of chunks each starting with a BOM", || {
        run_repeating(Limits::default(), &chunk, 64 * MIB as u64, b"")
    });
    assert_eq!(tally.events, ["x"]);
    assert!(peak < 64 * KIB, "peak heap {peak} bytes");
}

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n as u64) as usize
    }
}

/// A stream of field-like pieces mixed with NULs, stray continuation bytes, truncated and
/// overlong sequences, surrogates, 0xFE/0xFF, BOMs and every line end.
fn hostile_stream(rng: &mut Rng, len: usize) -> Vec<u8> {
    let pieces: [&[u8]; 24] = [
        b"data:",
        b"data: ",
        b"id:",
        b"id: \0",
        b"event:",
        b"retry: ",
        b"123",
        b":",
        b"\0",
        b"\0\0\0",
        b"\x80",
        b"\xBF\xBF",
        b"\xC3",
        b"\xE2\x82",
        b"\xF0\x9F\x98",
        b"\xC0\xAF",
        b"\xED\xA0\x80",
        b"\xFE\xFF",
        b"\xEF\xBB\xBF",
        b"\xE2\x82\xAC",
        b"\n",
        b"\r",
        b"\r\n",
        b"\n\n",
    ];
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        out.extend_from_slice(pieces[rng.below(pieces.len())]);
        if rng.below(4) == 0 {
            out.push(b'a' + rng.below(26) as u8);
        }
    }
    out
}

#[test]
fn nuls_and_invalid_utf8_everywhere_match_the_whole_input_parse() {
    let _serial = serial();
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    for round in 0..300 {
        let len = 1 + rng.below(600);
        let input = hostile_stream(&mut rng, len);
        let whole = parse_with_cuts(&input, &[], Limits::default());
        assert_eq!(
            whole,
            reference(&input),
            "round {round}: not the standard's result"
        );
        let mut cuts: Vec<usize> = (0..rng.below(24))
            .map(|_| rng.below(input.len() + 1))
            .collect();
        cuts.sort_unstable();
        assert_eq!(
            parse_with_cuts(&input, &cuts, Limits::default()),
            whole,
            "round {round}"
        );
        let bytewise: Vec<usize> = (1..input.len()).collect();
        assert_eq!(parse_with_cuts(&input, &bytewise, Limits::default()), whole);
    }

    // 4 MiB of it, whole versus 4 KiB chunks versus the standard, and the heap it takes.
    let input = hostile_stream(&mut rng, 4 * MIB);
    let expected = reference(&input);
    let chunks: Vec<Vec<u8>> = input.chunks(CHUNK).map(<[u8]>::to_vec).collect();
    drop(input);
    let (matched, peak) = measured("4 MiB of NULs and invalid UTF-8 in 4 KiB chunks", || {
        HEAP.reset_peak();
        let base = HEAP.current();
        let mut parser = Parser::new();
        // Compare on the fly, keeping nothing: the peak is what the parser itself holds.
        let mut want = expected.outputs.iter();
        let mut matched = 0usize;
        for chunk in &chunks {
            for item in parser.feed(chunk) {
                assert_eq!(Some(&output_of(item)), want.next(), "output {matched}");
                matched += 1;
            }
        }
        for item in parser.finish() {
            assert_eq!(Some(&output_of(item)), want.next(), "output {matched}");
            matched += 1;
        }
        assert_eq!(want.next(), None, "outputs missing");
        assert_eq!(parser.last_event_id(), expected.last_event_id);
        (matched, HEAP.peak() - base)
    });
    eprintln!("  ({matched} outputs, all equal to the standard's)");
    assert!(peak < MIB, "peak heap {peak} bytes");
}

#[test]
fn invalid_utf8_decoding_can_triple_the_data_but_not_more() {
    let _serial = serial();
    // The event size limit counts input bytes; a lone invalid byte decodes to U+FFFD, three
    // bytes. So the dispatched data can be up to 3 x (max_event_size - 1) bytes, never more.
    let limit = 64;
    let mut input = b"data: ".to_vec();
    input.extend(std::iter::repeat_n(0x80u8, limit - 1));
    input.extend_from_slice(b"\n\n");
    let mut parser = Parser::with_limits(Limits::default().max_event_size(limit));
    let items: Vec<_> = parser.feed(&input).collect();
    let [Ok(Parsed::Event(event))] = items.as_slice() else {
        panic!("expected one event, got {items:?}");
    };
    assert_eq!(event.data().chars().count(), limit - 1);
    assert_eq!(event.data().len(), 3 * (limit - 1));
}
