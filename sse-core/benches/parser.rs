//! Parser throughput (MB/s) next to the ceiling: `memchr` line counting over the same bytes.
//!
//! Shapes: small JSON token events (~85 bytes, like LLM token streams), mixed events (id,
//! event, 1-10 data lines, comments, retry) and large 4-64 KiB events with CRLF line ends, each
//! in ASCII and with realistic non-ASCII text (`_non_ascii`); fed in 4 KiB and 64 KiB chunks. Run: `cargo bench -p sse-core --bench parser`.
#![allow(missing_docs)] // criterion_group! generates an undocumented function

use std::hint::black_box;
use std::time::Duration;

#[path = "common/streams.rs"]
mod streams;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sse_core::{Limits, Parsed, Parser};

fn parse_all(input: &[u8], chunk: usize) -> (usize, usize) {
    let mut parser = Parser::with_limits(Limits::default());
    let mut events = 0;
    let mut bytes = 0;
    for piece in input.chunks(chunk) {
        for item in parser.feed(piece) {
            if let Ok(Parsed::Event(event)) = item {
                events += 1;
                bytes += event.data().len();
            }
        }
    }
    black_box(parser.finish().discarded());
    (events, bytes)
}

fn memchr_lines(input: &[u8], chunk: usize) -> usize {
    input
        .chunks(chunk)
        .map(|piece| memchr::memchr2_iter(b'\r', b'\n', piece).count())
        .sum()
}

fn bench(c: &mut Criterion) {
    for (name, input) in &streams::parser_shapes() {
        println!(
            "{name}: {} bytes, {:.1}% not ASCII",
            input.len(),
            100.0 * streams::non_ascii_share(input)
        );
        let mut group = c.benchmark_group(name);
        group.throughput(Throughput::Bytes(input.len() as u64));
        for chunk in [4 << 10, 64 << 10] {
            let label = format!("{}KiB", chunk >> 10);
            group.bench_function(format!("sse-core/{label}"), |b| {
                b.iter(|| black_box(parse_all(black_box(input), chunk)))
            });
            group.bench_function(format!("memchr2-lines/{label}"), |b| {
                b.iter(|| black_box(memchr_lines(black_box(input), chunk)))
            });
        }
        group.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = bench
}
criterion_main!(benches);
