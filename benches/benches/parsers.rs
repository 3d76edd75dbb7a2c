//! Parsers side by side: ssekit-proto next to the published Rust SSE parsers, on the same bytes,
//! cut into the same chunks, in the same process.
//!
//! Shapes: small JSON token events, mixed events, large CRLF events (`common/inputs.rs`), each
//! in ASCII and with realistic non-ASCII text (`_non_ascii`: 7-8% of the bytes, mixed scripts
//! and emoji, some multi-byte sequences cut by chunk edges).
//! Chunk sizes: 7 bytes, 4 KiB, 64 KiB. The ceilings: `memchr2` line counting, `simdutf8`
//! validation and a plain copy of the same chunks; and a floor of the work any parser that returns a `String` per event
//! must do (`memchr2` per line, UTF-8 check and copy of each data line).
//!
//! Every async parser is driven the same way: `futures::executor::block_on` over a
//! `stream::iter` of the chunks. ssekit-proto runs both that way (`ParseStream`), through its
//! sync `Parser::feed`, and through its borrowing `Parser::feed_with` (events lent to a
//! callback).
//!
//! Before timing, each parser runs once per (shape, chunk size) and its events (type, data,
//! last event id) are compared with ssekit-proto's; a parser that disagrees is still timed, but
//! the report marks it "wrong result" and leaves it out of the ratios. The verdicts go to
//! `target/criterion/sse-benches/parsers-check.tsv` for the `report` target.
#![allow(missing_docs)] // criterion_group! generates an undocumented function

#[allow(dead_code)]
mod common;

use std::convert::Infallible;
use std::fmt::Write as _;
use std::hint::black_box;

use criterion::{
    BenchmarkId, Criterion, SamplingMode, Throughput, criterion_group, criterion_main,
};
use futures::executor::block_on;
use futures::stream::{self, StreamExt, TryStreamExt};

/// What a parser hands each dispatched event to. Counting for the timed runs, collecting for
/// the check.
trait Sink {
    fn event(&mut self, event_type: &str, data: &str, last_event_id: &str);
}

/// Counts events and data bytes (so no parser's work can be optimised away).
#[derive(Default)]
struct Count {
    events: usize,
    bytes: usize,
}

impl Sink for Count {
    fn event(&mut self, event_type: &str, data: &str, last_event_id: &str) {
        self.events += 1;
        self.bytes += data.len() + event_type.len() + last_event_id.len();
    }
}

/// Keeps every event, for the check.
#[derive(Default)]
struct Collect(Vec<(String, String, String)>);

impl Sink for Collect {
    fn event(&mut self, event_type: &str, data: &str, last_event_id: &str) {
        self.0.push((
            event_type.to_owned(),
            data.to_owned(),
            last_event_id.to_owned(),
        ));
    }
}

fn chunks(input: &[u8], size: usize) -> impl futures::Stream<Item = Result<&[u8], Infallible>> {
    stream::iter(input.chunks(size).map(Ok))
}

fn io_chunks(
    input: &[u8],
    size: usize,
) -> impl futures::Stream<Item = Result<&[u8], std::io::Error>> + Unpin {
    stream::iter(input.chunks(size).map(Ok))
}

/// A spec-empty event type is `message`.
fn type_or_message(event_type: &str) -> &str {
    if event_type.is_empty() {
        "message"
    } else {
        event_type
    }
}

type ParseFn = fn(&[u8], usize, &mut dyn Sink);

fn ssekit_proto_sync(input: &[u8], chunk: usize, sink: &mut dyn Sink) {
    use ssekit_proto::{Parsed, Parser};
    let mut parser = Parser::new();
    for piece in input.chunks(chunk) {
        for item in parser.feed(piece) {
            if let Ok(Parsed::Event(event)) = item {
                sink.event(event.event_type(), event.data(), event.last_event_id());
            }
        }
    }
    black_box(parser.finish().discarded());
}

/// `Parser::feed_with`: each event lent to a callback, nothing allocated per event.
fn ssekit_proto_borrowed(input: &[u8], chunk: usize, sink: &mut dyn Sink) {
    use ssekit_proto::{ParsedRef, Parser};
    let mut parser = Parser::new();
    for piece in input.chunks(chunk) {
        parser.feed_with(piece, |item| {
            if let ParsedRef::Event(event) = item {
                sink.event(event.event_type(), event.data(), event.last_event_id());
            }
        });
    }
    black_box(parser.finish().discarded());
}

fn ssekit_proto_async(input: &[u8], chunk: usize, sink: &mut dyn Sink) {
    use ssekit_proto::Parsed;
    use ssekit_proto::stream::ParseStream;
    block_on(async {
        let mut events = ParseStream::new(chunks(input, chunk));
        while let Some(item) = events.next().await {
            if let Ok(Parsed::Event(event)) = item {
                sink.event(event.event_type(), event.data(), event.last_event_id());
            }
        }
    })
}

/// sse-stream yields raw blocks (ids not carried over, blocks without data included): the
/// adapter applies the two spec rules the crate leaves to its caller.
fn sse_stream(input: &[u8], chunk: usize, sink: &mut dyn Sink) {
    block_on(async {
        let mut blocks = sse_stream::SseByteStream::new(chunks(input, chunk));
        let mut last_id = String::new();
        while let Some(item) = blocks.next().await {
            let Ok(block) = item else { break };
            if let Some(id) = block.id {
                last_id = id;
            }
            if let Some(data) = &block.data {
                let event_type = type_or_message(block.event.as_deref().unwrap_or(""));
                sink.event(event_type, data, &last_id);
            }
        }
    })
}

fn eventsource_stream(input: &[u8], chunk: usize, sink: &mut dyn Sink) {
    use eventsource_stream::Eventsource;
    block_on(async {
        let mut events = chunks(input, chunk).eventsource();
        while let Some(item) = events.next().await {
            let Ok(event) = item else { break };
            sink.event(type_or_message(&event.event), &event.data, &event.id);
        }
    })
}

fn async_sse(input: &[u8], chunk: usize, sink: &mut dyn Sink) {
    block_on(async {
        let mut events = async_sse::decode(io_chunks(input, chunk).into_async_read());
        while let Some(item) = events.next().await {
            let Ok(event) = item else { break };
            if let async_sse::Event::Message(message) = event {
                let data = String::from_utf8_lossy(message.data());
                let id = message.id().as_deref().unwrap_or("");
                sink.event(type_or_message(message.name()), &data, id);
            }
        }
    })
}

fn sse_codec(input: &[u8], chunk: usize, sink: &mut dyn Sink) {
    block_on(async {
        let mut events = sse_codec::decode_stream(io_chunks(input, chunk).into_async_read());
        while let Some(item) = events.next().await {
            let Ok(event) = item else { break };
            if let sse_codec::Event::Message { id, event, data } = event {
                sink.event(type_or_message(&event), &data, id.as_deref().unwrap_or(""));
            }
        }
    })
}

/// The crates.io `sse-core` 0.2.3 (PizzasBear/sse-rs; renamed `pizzasbear_sse` in
/// `Cargo.toml`, it is not our protocol crate): its sans-IO `SseDecoder::next` over each chunk
/// (a `&[u8]` is a `bytes::Buf`), its fastest API. It keeps no unparsed bytes: each call
/// consumes the chunk up to the next event, and the loop ends when the chunk is used up.
fn crates_sse_core(input: &[u8], chunk: usize, sink: &mut dyn Sink) {
    use pizzasbear_sse::{SseDecoder, SseEvent};
    let mut decoder = SseDecoder::new();
    for piece in input.chunks(chunk) {
        let mut buf = piece;
        while let Some(item) = decoder.next(&mut buf) {
            if let Ok(SseEvent::Message(event)) = item {
                let id = event.last_event_id.as_deref().unwrap_or("");
                sink.event(&event.event, &event.data, id);
            }
        }
    }
    black_box(decoder.last_event_id());
}

/// The same crate's async `SseStream` over `Bytes` chunks (the way its README's benchmarks
/// drive it), for the README scenarios.
fn crates_sse_core_stream(input: &[u8], chunk: usize, sink: &mut dyn Sink) {
    use pizzasbear_sse::{SseEvent, SseStream};
    let whole = bytes::Bytes::copy_from_slice(input);
    let pieces: Vec<Result<bytes::Bytes, Infallible>> = (0..whole.len())
        .step_by(chunk)
        .map(|i| Ok(whole.slice(i..whole.len().min(i + chunk))))
        .collect();
    block_on(async {
        let mut events = SseStream::new(stream::iter(pieces));
        while let Some(item) = events.next().await {
            if let Ok(SseEvent::Message(event)) = item {
                let id = event.last_event_id.as_deref().unwrap_or("");
                sink.event(&event.event, &event.data, id);
            }
        }
    })
}

/// The parsers, in table order. The first is the reference for the check.
const PARSERS: [(&str, ParseFn); 8] = [
    ("ssekit-proto (sync)", ssekit_proto_sync),
    ("ssekit-proto (borrowed)", ssekit_proto_borrowed),
    ("ssekit-proto (async)", ssekit_proto_async),
    ("sse-stream", sse_stream),
    ("sse-core (crates.io)", crates_sse_core),
    ("eventsource-stream", eventsource_stream),
    ("async-sse", async_sse),
    ("sse-codec", sse_codec),
];

/// The ceiling: counting line ends with `memchr2` over the same chunks.
fn memchr_lines(input: &[u8], chunk: usize) -> usize {
    input
        .chunks(chunk)
        .map(|piece| memchr::memchr2_iter(b'\r', b'\n', piece).count())
        .sum()
}

/// A floor for any parser that hands out each event's data as its own `String`: find every
/// line end with `memchr2`, and for each `data: ` line validate UTF-8 and copy the value into a
/// new `String`. No state machine, no other field, lines cut by a chunk boundary are skipped:
/// not a parser, only the work no parser can avoid.
fn string_per_line(input: &[u8], chunk: usize) -> usize {
    let mut total = 0;
    for piece in input.chunks(chunk) {
        let mut rest = piece;
        while let Some(i) = memchr::memchr2(b'\r', b'\n', rest) {
            if let Some(value) = rest[..i].strip_prefix(b"data: ") {
                let data = String::from(std::str::from_utf8(value).unwrap_or_default());
                total += black_box(data).len();
            }
            rest = &rest[i + 1..];
        }
    }
    total
}

/// The UTF-8 ceiling: validating the same chunks with `simdutf8` (what ssekit-proto does once per
/// chunk, and sse-stream per event). A parser of non-ASCII text can be no faster than this and
/// `memchr2` line counting together.
fn validate_utf8(input: &[u8], chunk: usize) -> usize {
    input
        .chunks(chunk)
        .filter(|piece| simdutf8::basic::from_utf8(piece).is_ok())
        .count()
}

/// The other ceiling: copying the same chunks into one buffer.
fn memcpy(input: &[u8], chunk: usize, out: &mut Vec<u8>) -> usize {
    out.clear();
    for piece in input.chunks(chunk) {
        out.extend_from_slice(piece);
    }
    out.len()
}

const CHUNKS: [(usize, &str); 3] = [(7, "7B"), (4 << 10, "4KiB"), (64 << 10, "64KiB")];

/// Rows left out: `eventsource-stream` takes 14-26 s per pass over a long-line shape at 7-byte
/// chunks (its line buffer is searched again from the start at every chunk), which would make
/// the run half an hour longer.
fn skipped(shape: &str, chunk: usize, parser: &str) -> bool {
    chunk == 7 && shape.starts_with("long_line") && parser == "eventsource-stream"
}

/// The scenarios of the crates.io `sse-core`'s README (its `benches/bench.rs`, rebuilt here
/// byte for byte): name, input, chunk size and its label.
fn readme_scenarios() -> Vec<(String, Vec<u8>, usize, String)> {
    /// Its `generate_payload`: a retry, an id, `event: message` and one data line per event.
    fn payload(events: usize, size: usize) -> Vec<u8> {
        let data = "word".repeat(size / 4);
        let mut s = String::new();
        for i in 0..events {
            let _ = write!(
                s,
                "retry:3000\nid: {i}\nevent: message\ndata: payload data: {data}\n\n"
            );
        }
        s.into_bytes()
    }
    let large = payload(64, 40_000);
    vec![
        (
            "readme_large_40KiB_events".to_owned(),
            large.clone(),
            1460,
            "1460B".to_owned(),
        ),
        (
            "readme_large_40KiB_events".to_owned(),
            large.clone(),
            large.len(),
            "whole".to_owned(),
        ),
        (
            "readme_small_9B_events".to_owned(),
            "data: {\"t\":\"a\"}\n\n".repeat(100_000).into_bytes(),
            1460,
            "1460B".to_owned(),
        ),
        (
            "readme_keepalives".to_owned(),
            ": keepalive\n\n".repeat(200_000).into_bytes(),
            1460,
            "1460B".to_owned(),
        ),
        (
            "readme_4KiB_events_10B_chunks".to_owned(),
            payload(256, 4096),
            10,
            "10B".to_owned(),
        ),
    ]
}

/// The parsers of the README scenarios: ours, the crate's two APIs, and sse-stream.
const README_PARSERS: [(&str, ParseFn); 6] = [
    ("ssekit-proto (sync)", ssekit_proto_sync),
    ("ssekit-proto (borrowed)", ssekit_proto_borrowed),
    ("ssekit-proto (async)", ssekit_proto_async),
    ("sse-core (crates.io)", crates_sse_core),
    ("sse-core (crates.io, SseStream)", crates_sse_core_stream),
    ("sse-stream", sse_stream),
];

/// Runs every parser once per shape and chunk size and compares its events with ssekit-proto's.
/// Writes one line per parser: shape, chunk, parser, verdict, events, expected events.
fn check(shapes: &[(String, Vec<u8>)]) {
    let mut cases = Vec::new();
    for (shape, input) in shapes {
        for (chunk, label) in CHUNKS {
            cases.push((shape.as_str(), &input[..], chunk, label, &PARSERS[..]));
        }
    }
    let readme = readme_scenarios();
    for (shape, input, chunk, label) in &readme {
        cases.push((
            shape.as_str(),
            &input[..],
            *chunk,
            label.as_str(),
            &README_PARSERS[..],
        ));
    }
    let mut tsv = String::from("shape\tchunk\tparser\tverdict\tevents\texpected\tdetail\n");
    for (shape, input, chunk, label, parsers) in cases {
        {
            let mut expected = Collect::default();
            ssekit_proto_sync(input, chunk, &mut expected);
            for &(name, parse) in parsers {
                if skipped(shape, chunk, name) {
                    let _ = writeln!(tsv, "{shape}\t{label}\t{name}\tskipped\t0\t0\t");
                    continue;
                }
                let mut got = Collect::default();
                parse(input, chunk, &mut got);
                let (verdict, detail) = if got.0 == expected.0 {
                    ("ok", String::new())
                } else {
                    let first = got
                        .0
                        .iter()
                        .zip(&expected.0)
                        .position(|(a, b)| a != b)
                        .unwrap_or(got.0.len().min(expected.0.len()));
                    let show = |list: &[(String, String, String)]| {
                        list.get(first).map_or_else(
                            || "(none)".to_owned(),
                            |(t, d, i)| {
                                let head: String = d.chars().take(24).collect();
                                format!("type={t:?} id={i:?} data={head:?}.. ({} bytes)", d.len())
                            },
                        )
                    };
                    (
                        "wrong",
                        format!(
                            "first difference at event {first}: got {} / expected {}",
                            show(&got.0),
                            show(&expected.0)
                        ),
                    )
                };
                println!(
                    "check {shape}/{label}: {name}: {verdict} ({} events, ssekit-proto {}) {detail}",
                    got.0.len(),
                    expected.0.len()
                );
                let _ = writeln!(
                    tsv,
                    "{shape}\t{label}\t{name}\t{verdict}\t{}\t{}\t{detail}",
                    got.0.len(),
                    expected.0.len()
                );
            }
        }
    }
    let path = common::side_dir().join("parsers-check.tsv");
    std::fs::write(&path, tsv).expect("write the parser check results");
}

fn bench(c: &mut Criterion) {
    let shapes = common::inputs::parser_shapes();
    // `--profile-time` (a profiler run of one bench): skip the check, keep its last verdicts.
    if !std::env::args().any(|arg| arg == "--profile-time") {
        check(&shapes);
    }
    for (shape, input) in &shapes {
        for (chunk, label) in CHUNKS {
            let mut group = c.benchmark_group(format!("parse/{shape}"));
            group.throughput(Throughput::Bytes(input.len() as u64));
            // Some peers take a good part of a second per pass at 7-byte chunks: take the
            // same number of passes per sample instead of criterion's growing counts.
            group.sampling_mode(SamplingMode::Flat);
            for (name, parse) in PARSERS {
                if skipped(shape, chunk, name) {
                    continue;
                }
                group.bench_function(BenchmarkId::new(name, label), |b| {
                    b.iter(|| {
                        let mut count = Count::default();
                        parse(black_box(input), chunk, &mut count);
                        black_box((count.events, count.bytes))
                    })
                });
            }
            group.bench_function(
                BenchmarkId::new("floor: String per data line", label),
                |b| b.iter(|| black_box(string_per_line(black_box(input), chunk))),
            );
            group.bench_function(BenchmarkId::new("memchr2 lines", label), |b| {
                b.iter(|| black_box(memchr_lines(black_box(input), chunk)))
            });
            group.bench_function(BenchmarkId::new("simdutf8 validation", label), |b| {
                b.iter(|| black_box(validate_utf8(black_box(input), chunk)))
            });
            let mut out = Vec::with_capacity(input.len());
            group.bench_function(BenchmarkId::new("memcpy", label), |b| {
                b.iter(|| black_box(memcpy(black_box(input), chunk, &mut out)))
            });
            group.finish();
        }
    }
    for (shape, input, chunk, label) in readme_scenarios() {
        let mut group = c.benchmark_group(format!("parse/{shape}"));
        group.throughput(Throughput::Bytes(input.len() as u64));
        group.sampling_mode(SamplingMode::Flat);
        for (name, parse) in README_PARSERS {
            if name == "sse-core (crates.io, SseStream)" {
                // As its README's benchmarks do: the `Bytes` chunks made before timing, each
                // pass cloning them (a reference count each).
                let whole = bytes::Bytes::copy_from_slice(&input);
                let pieces: Vec<bytes::Bytes> = (0..whole.len())
                    .step_by(chunk)
                    .map(|i| whole.slice(i..whole.len().min(i + chunk)))
                    .collect();
                group.bench_function(BenchmarkId::new(name, &label), |b| {
                    b.iter(|| {
                        let mut count = Count::default();
                        sse_core_stream_over(&pieces, &mut count);
                        black_box((count.events, count.bytes))
                    })
                });
                continue;
            }
            group.bench_function(BenchmarkId::new(name, &label), |b| {
                b.iter(|| {
                    let mut count = Count::default();
                    parse(black_box(&input), chunk, &mut count);
                    black_box((count.events, count.bytes))
                })
            });
        }
        group.bench_function(BenchmarkId::new("memchr2 lines", &label), |b| {
            b.iter(|| black_box(memchr_lines(black_box(&input), chunk)))
        });
        group.finish();
    }
}

/// [`crates_sse_core_stream`] over chunks made beforehand.
fn sse_core_stream_over(pieces: &[bytes::Bytes], sink: &mut dyn Sink) {
    use pizzasbear_sse::{SseEvent, SseStream};
    let chunks = stream::iter(pieces.iter().cloned().map(Ok::<_, Infallible>));
    block_on(async {
        let mut events = SseStream::new(chunks);
        while let Some(item) = events.next().await {
            if let Ok(SseEvent::Message(event)) = item {
                let id = event.last_event_id.as_deref().unwrap_or("");
                sink.event(&event.event, &event.data, id);
            }
        }
    })
}

criterion_group! {
    name = benches;
    config = common::criterion(10, 600);
    targets = bench
}
criterion_main!(benches);
