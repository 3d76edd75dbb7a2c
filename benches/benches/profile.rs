//! A profiler's driver, not a benchmark: parses one input shape a few times through one of
//! ssekit-proto's parse paths, so callgrind or perf sees only that work.
//!
//! ```sh
//! cargo bench -p benches --bench profile --no-run   # prints the binary's path
//! valgrind --tool=callgrind target/release/deps/profile-HASH sync small_json_tokens_non_ascii 4096
//! ```
//!
//! Or `encode PASSES` / `frame PASSES`: token events built with the builder and encoded into a
//! warm buffer / each into its own `Bytes` frame.
//!
//! Arguments: the path (`sync`, `borrowed`, `async`; or a peer: `sse-stream`, `sse-core`, the
//! crates.io one), the shape (as in the `parsers` tables),
//! the chunk size in bytes, and optionally the number of passes (default 3). Without arguments
//! (as `cargo bench -p benches` runs it) it does nothing.
#![allow(missing_docs)]

#[allow(dead_code)]
mod common;

use std::convert::Infallible;
use std::hint::black_box;

use futures::StreamExt;
use ssekit_proto::stream::ParseStream;
use ssekit_proto::{Parsed, ParsedRef, Parser};

/// `encode N`: the token events built with the builder over borrowed fields and encoded into
/// one warm buffer, N times; `frame N`: built over the owned strings, each into a `Bytes`;
/// `built N`: events built beforehand, encoded into the buffer.
fn encode(way: &str, passes: usize) {
    let specs = common::inputs::token_specs();
    let built: Vec<_> = specs
        .iter()
        .map(|spec| ssekit_proto::Event::message(spec.data.as_str()))
        .collect();
    let mut out = Vec::new();
    for _ in 0..passes {
        out.clear();
        if way == "built" {
            for event in &built {
                event.encode(&mut out);
            }
        } else if way == "hand-frame" {
            // The encoders bench's hand-written writer, for one-line data.
            for spec in specs.clone() {
                let data = spec.data.as_bytes();
                let lines = 1 + memchr::memchr2_iter(b'\r', b'\n', data).count();
                let mut out = Vec::with_capacity(data.len() + 7 * lines + 1);
                out.extend_from_slice(b"data");
                out.extend_from_slice(b": ");
                out.extend_from_slice(data);
                out.push(b'\n');
                out.push(b'\n');
                black_box(bytes::Bytes::from(out));
            }
        } else if way == "frame" {
            for spec in specs.clone() {
                let frame = ssekit_proto::Event::builder().data(spec.data).to_bytes();
                black_box(frame.expect("valid event"));
            }
        } else {
            for spec in &specs {
                ssekit_proto::Event::builder()
                    .data(spec.data.as_str())
                    .encode(&mut out)
                    .expect("valid event");
            }
        }
        black_box(&out);
    }
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    if let [way, passes] = args.as_slice()
        && ["encode", "frame", "built", "hand-frame"].contains(&way.as_str())
    {
        return encode(way, passes.parse().expect("passes"));
    }
    let [way, shape, chunk, rest @ ..] = args.as_slice() else {
        return;
    };
    let chunk: usize = chunk.parse().expect("chunk size in bytes");
    let passes: usize = rest.first().map_or(3, |p| p.parse().expect("passes"));
    let mut shapes = common::inputs::parser_shapes();
    // The crates.io sse-core's README keep-alive scenario (see `parsers.rs`).
    shapes.push((
        "readme_keepalives".to_owned(),
        ": keepalive\n\n".repeat(200_000).into_bytes(),
    ));
    let (_, input) = shapes
        .iter()
        .find(|(name, _)| name == shape)
        .expect("a shape of the parsers tables");
    let mut total = 0usize;
    for _ in 0..passes {
        let mut parser = Parser::new();
        match way.as_str() {
            "sync" => {
                for piece in input.chunks(chunk) {
                    for item in parser.feed(piece) {
                        if let Ok(Parsed::Event(event)) = item {
                            total += event.data().len();
                        }
                    }
                }
            }
            "borrowed" => {
                for piece in input.chunks(chunk) {
                    parser.feed_with(piece, |item| {
                        if let ParsedRef::Event(event) = item {
                            total += event.data().len();
                        }
                    });
                }
            }
            "async" => {
                let chunks = futures::stream::iter(input.chunks(chunk).map(Ok::<_, Infallible>));
                let mut events = ParseStream::with_parser(chunks, parser);
                futures::executor::block_on(async {
                    while let Some(item) = events.next().await {
                        if let Ok(Parsed::Event(event)) = item {
                            total += event.data().len();
                        }
                    }
                });
                parser = events.into_parts().1;
            }
            // The peers, for instruction counts next to ours.
            "sse-stream" => {
                let chunks = futures::stream::iter(input.chunks(chunk).map(Ok::<_, Infallible>));
                let mut blocks = sse_stream::SseByteStream::new(chunks);
                futures::executor::block_on(async {
                    while let Some(Ok(block)) = blocks.next().await {
                        total += block.data.map_or(0, |d| d.len());
                    }
                });
            }
            "sse-core" => {
                let mut decoder = pizzasbear_sse::SseDecoder::new();
                for piece in input.chunks(chunk) {
                    let mut buf = piece;
                    while let Some(item) = decoder.next(&mut buf) {
                        if let Ok(pizzasbear_sse::SseEvent::Message(event)) = item {
                            total += event.data.len();
                        }
                    }
                }
            }
            other => panic!("unknown parse path {other}"),
        }
        black_box(parser.finish().discarded());
    }
    println!("{total} bytes of data");
}
