//! The library half of the `ssekit` command-line tool: what its modes do, for a program that
//! wants the same behaviour without spawning the binary. The command line itself (clap) and
//! the manual pages live in the binary; the load generator behind `ssekit bench` is the
//! [`ssekit-bench`](https://docs.rs/ssekit-bench) crate.
//!
//! - [`url`]: watch mode, `ssekit [watch] URL`: [`url::UrlOptions`] and [`url::run`], an
//!   EventSource that prints what it receives ([`output`]: readable, JSON lines or SSE text),
//!   and [`url::Outcome`], the exit status it ends with.
//! - [`serve`]: serve mode, `ssekit serve`: [`serve::ServeOptions`] and [`serve::run`], stdin
//!   as a resumable event stream over HTTP, and the readers that turn lines, SSE text or JSON
//!   lines into events.
//! - this module: the stdin parse mode, `ssekit [parse]`: [`Chunking`] (how the input is cut
//!   before it is fed to the parser) and [`JsonLines`] (the JSON-lines output every mode's
//!   `--json` shares).
//!
//! `ssekit --help` and each mode's `--help` are the manual.

use std::io::{self, Write};

use ssekit_proto::{ParseError, Parsed};

pub mod output;
pub mod serve;
pub mod url;

/// How stdin is cut into chunks before it is fed to the parser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Chunking {
    /// All of stdin as one chunk.
    Whole,
    /// Consecutive slices of this many bytes (the last may be shorter).
    Size(usize),
    /// Cut at these byte offsets (sorted; offsets past the end are clamped).
    Splits(Vec<usize>),
}

impl Chunking {
    /// The chunks of `input`, in order; together they are exactly `input`.
    pub fn chunks<'a>(&self, input: &'a [u8]) -> Vec<&'a [u8]> {
        match self {
            Chunking::Whole => vec![input],
            Chunking::Size(n) => input.chunks(*n).collect(),
            Chunking::Splits(cuts) => {
                let mut chunks = Vec::with_capacity(cuts.len() + 1);
                let mut start = 0;
                for &cut in cuts {
                    let cut = cut.clamp(start, input.len());
                    chunks.push(&input[start..cut]);
                    start = cut;
                }
                chunks.push(&input[start..]);
                chunks
            }
        }
    }
}

/// Writes parser outputs as JSON lines.
#[derive(Debug)]
pub struct JsonLines<W> {
    out: W,
}

impl<W: Write> JsonLines<W> {
    /// Wraps a writer.
    pub fn new(out: W) -> Self {
        JsonLines { out }
    }

    /// Writes one parser output: an event or a retry line on stdout; a limit error goes to
    /// stderr (stdout carries only the documented objects).
    pub fn item(&mut self, item: Result<Parsed, ParseError>) -> io::Result<()> {
        match item {
            Ok(Parsed::Event(event)) => writeln!(
                self.out,
                "{{\"type\":{},\"data\":{},\"id\":{}}}",
                json_string(event.event_type()),
                json_string(event.data()),
                json_string(event.last_event_id())
            ),
            Ok(Parsed::Retry(retry)) => writeln!(self.out, "{{\"retry\":{}}}", retry.as_millis()),
            Err(error) => {
                eprintln!("ssekit: {error}");
                Ok(())
            }
            Ok(_) => Ok(()),
        }
    }

    /// Writes the closing `{"last_event_id":..}` line.
    pub fn last_event_id(&mut self, id: &str) -> io::Result<()> {
        writeln!(self.out, "{{\"last_event_id\":{}}}", json_string(id))
    }

    /// The writer, for output of another form.
    pub fn get_mut(&mut self) -> &mut W {
        &mut self.out
    }

    /// Gives back the writer.
    pub fn into_inner(self) -> W {
        self.out
    }
}

/// A JSON string literal for `text`.
pub fn json_string(text: &str) -> String {
    serde_json::Value::from(text).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunkings_cover_the_input() {
        let input = b"0123456789";
        assert_eq!(Chunking::Whole.chunks(input), [&input[..]]);
        assert_eq!(
            Chunking::Size(4).chunks(input),
            [&b"0123"[..], b"4567", b"89"]
        );
        assert_eq!(
            Chunking::Splits(vec![0, 3, 3, 20]).chunks(input),
            [&b""[..], b"012", b"", b"3456789", b""]
        );
    }

    #[test]
    fn json_lines() {
        let mut out = JsonLines::new(Vec::new());
        let event = ssekit_proto::MessageEvent::new("t", "a\"b", "1");
        out.item(Ok(Parsed::Event(event))).expect("write");
        out.last_event_id("1").expect("write");
        assert_eq!(
            String::from_utf8(out.into_inner()).expect("UTF-8"),
            "{\"type\":\"t\",\"data\":\"a\\\"b\",\"id\":\"1\"}\n{\"last_event_id\":\"1\"}\n"
        );
    }
}
