//! Parser throughput (MB/s) next to the ceiling: `memchr` line counting over the same bytes.
//!
//! Shapes: small JSON token events (~85 bytes, like LLM token streams), mixed events (id,
//! event, 1-10 data lines, comments, retry) and large 4-64 KiB events with CRLF line ends; fed
//! in 4 KiB and 64 KiB chunks. Run: `cargo bench -p sse-core --bench parser`.
#![allow(missing_docs)] // criterion_group! generates an undocumented function

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sse_core::{Limits, Parsed, Parser};

const TOTAL: usize = 4 << 20;

/// A deterministic generator so every run measures the same bytes.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn small_json_tokens() -> Vec<u8> {
    let mut out = Vec::with_capacity(TOTAL + 256);
    let mut rng = Rng(1);
    let words = [
        "the", "quick", " brown", " fox", "jumps", " over", "lazy", " dog", "!",
    ];
    let mut i = 0u64;
    while out.len() < TOTAL {
        let word = words[rng.below(words.len() as u64) as usize];
        out.extend_from_slice(
            format!(
                "data: {{\"id\":\"chatcmpl-{i:06}\",\"choices\":[{{\"delta\":{{\"content\":\"{word}\"}}}}]}}\n\n"
            )
            .as_bytes(),
        );
        i += 1;
    }
    out
}

fn mixed_events() -> Vec<u8> {
    let mut out = Vec::with_capacity(TOTAL + 4096);
    let mut rng = Rng(2);
    let mut i = 0u64;
    while out.len() < TOTAL {
        if rng.below(10) == 0 {
            out.extend_from_slice(b": heartbeat comment\n");
        }
        if rng.below(50) == 0 {
            out.extend_from_slice(b"retry: 3000\n");
        }
        out.extend_from_slice(format!("id: {i}\n").as_bytes());
        if rng.below(2) == 0 {
            out.extend_from_slice(b"event: update\n");
        }
        for line in 0..=rng.below(10) {
            let len = 10 + rng.below(70) as usize;
            out.extend_from_slice(b"data: ");
            out.extend(std::iter::repeat_n(b'a' + (line as u8 % 26), len));
            out.push(b'\n');
        }
        out.push(b'\n');
        i += 1;
    }
    out
}

fn large_crlf_events() -> Vec<u8> {
    let mut out = Vec::with_capacity(TOTAL + (70 << 10));
    let mut rng = Rng(3);
    while out.len() < TOTAL {
        let size = 4096 + rng.below(60 << 10) as usize;
        let start = out.len();
        while out.len() - start < size {
            out.extend_from_slice(b"data: ");
            let len = 60 + rng.below(200) as usize;
            out.extend(std::iter::repeat_n(b'x', len));
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"\r\n");
    }
    out
}

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
    parser.finish();
    (events, bytes)
}

fn memchr_lines(input: &[u8], chunk: usize) -> usize {
    input
        .chunks(chunk)
        .map(|piece| memchr::memchr2_iter(b'\r', b'\n', piece).count())
        .sum()
}

fn bench(c: &mut Criterion) {
    let shapes = [
        ("small_json_tokens", small_json_tokens()),
        ("mixed", mixed_events()),
        ("large_crlf", large_crlf_events()),
    ];
    for (name, input) in &shapes {
        let mut group = c.benchmark_group(*name);
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
