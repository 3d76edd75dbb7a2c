//! A profiler's driver, not a benchmark: parses one input shape a few times through one of
//! sse-core's parse paths, so callgrind or perf sees only that work.
//!
//! ```sh
//! cargo bench -p benches --bench profile --no-run   # prints the binary's path
//! valgrind --tool=callgrind target/release/deps/profile-HASH sync small_json_tokens_non_ascii 4096
//! ```
//!
//! Arguments: the path (`sync`, `borrowed`, `async`), the shape (as in the `parsers` tables),
//! the chunk size in bytes, and optionally the number of passes (default 3). Without arguments
//! (as `cargo bench -p benches` runs it) it does nothing.
#![allow(missing_docs)]

#[allow(dead_code)]
mod common;

use std::convert::Infallible;
use std::hint::black_box;

use futures::StreamExt;
use sse_core::stream::ParseStream;
use sse_core::{Parsed, ParsedRef, Parser};

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let [way, shape, chunk, rest @ ..] = args.as_slice() else {
        return;
    };
    let chunk: usize = chunk.parse().expect("chunk size in bytes");
    let passes: usize = rest.first().map_or(3, |p| p.parse().expect("passes"));
    let shapes = common::inputs::parser_shapes();
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
            other => panic!("unknown parse path {other}"),
        }
        black_box(parser.finish().discarded());
    }
    println!("{total} bytes of data");
}
