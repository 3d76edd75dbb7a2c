//! The pieces of the `sse-cli` binary: argument parsing, chunking, and JSON-lines output for
//! the stdin parse mode, and [`url`] for the URL mode.

use std::io::{self, Write};

use sse_core::{ParseError, Parsed};

pub mod url;

/// The usage text.
pub const USAGE: &str = "\
usage: sse-cli [--chunk-size N | --splits I,J,K]
       sse-cli URL [--json] [--header 'Name: value']... [--last-event-id ID] [--no-reconnect]

Reads an event stream from stdin and prints, one JSON object per line:
  {\"type\":..,\"data\":..,\"id\":..}   for each dispatched event (id: last event ID)
  {\"retry\":N}                         for each accepted retry value
  {\"last_event_id\":..}                once, after the end of input

With an http:// or https:// URL, connects to it as a browser's EventSource does (it
reconnects with Last-Event-ID after an error or the end of the stream, after the server's
retry: time, backing off on repeated failures) and prints each event as it arrives:
  [+1.234s] TYPE id=ID  DATA            by default (more data lines indented below)
  --json                                the JSON lines above instead
  --header 'Name: value'                send a request header (repeatable), e.g. Cookie
  --last-event-id ID                    send Last-Event-ID: ID on the first connection
  --no-reconnect                        stop at the first error or at the end of the stream
Notices and errors go to stderr. Exit status: 0 when the stream ended (or the server answered
204), 1 when the connection failed (another status than 200, not text/event-stream, a network
error), 2 for bad arguments.
";

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

/// Command-line arguments read one by one; a flag's value follows it (`--flag value`) or is
/// part of it (`--flag=value`).
pub(crate) struct Flags<'a> {
    args: core::slice::Iter<'a, String>,
    flag: &'a str,
    inline: Option<&'a str>,
}

impl<'a> Flags<'a> {
    pub(crate) fn new(args: &'a [String]) -> Self {
        Flags {
            args: args.iter(),
            flag: "",
            inline: None,
        }
    }

    /// The next argument: a flag without its `=value`, or any other argument as it is.
    pub(crate) fn next_arg(&mut self) -> Option<&'a str> {
        let arg = self.args.next()?;
        (self.flag, self.inline) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => (flag, Some(value)),
            _ => (arg.as_str(), None),
        };
        Some(self.flag)
    }

    /// The value of the flag [`Flags::next_arg`] returned last.
    pub(crate) fn value(&mut self) -> Result<String, String> {
        self.inline
            .take()
            .or_else(|| self.args.next().map(String::as_str))
            .map(str::to_owned)
            .ok_or_else(|| format!("{} needs a value", self.flag))
    }
}

/// Parses the command line (without the program name). `Ok(None)` means `--help`.
pub fn parse_args(args: &[String]) -> Result<Option<Chunking>, String> {
    let mut chunking = Chunking::Whole;
    let mut args = Flags::new(args);
    while let Some(flag) = args.next_arg() {
        match flag {
            "-h" | "--help" => return Ok(None),
            "--chunk-size" => {
                let v = args.value()?;
                let n: usize = v
                    .trim()
                    .parse()
                    .map_err(|_| format!("--chunk-size: not a number: {v:?}"))?;
                if n == 0 {
                    return Err("--chunk-size must be at least 1".into());
                }
                chunking = Chunking::Size(n);
            }
            "--splits" => {
                let v = args.value()?;
                let mut cuts = Vec::new();
                for part in v.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                    cuts.push(
                        part.parse::<usize>()
                            .map_err(|_| format!("--splits: not an offset: {part:?}"))?,
                    );
                }
                cuts.sort_unstable();
                chunking = Chunking::Splits(cuts);
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(Some(chunking))
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
                eprintln!("sse-cli: {error}");
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

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn flag_values_follow_or_are_inline() {
        for form in [&["--chunk-size", "7"][..], &["--chunk-size=7"]] {
            assert_eq!(parse_args(&args(form)), Ok(Some(Chunking::Size(7))));
        }
        assert_eq!(
            parse_args(&args(&["--splits=9,3", "--chunk-size", "2"])),
            Ok(Some(Chunking::Size(2)))
        );
        assert_eq!(
            parse_args(&args(&["--splits", "9, 3,"])),
            Ok(Some(Chunking::Splits(vec![3, 9])))
        );
        assert_eq!(
            parse_args(&args(&["--chunk-size"])),
            Err("--chunk-size needs a value".to_owned())
        );
        assert_eq!(parse_args(&args(&["-h", "--bogus"])), Ok(None));
        assert_eq!(
            parse_args(&args(&["--bogus=1"])),
            Err("unknown argument \"--bogus\"".to_owned())
        );
    }

    #[test]
    fn url_mode_takes_the_url_and_inline_values() {
        let options = url::parse_url_args(&args(&[
            "--last-event-id=7",
            "http://127.0.0.1:1/a?b=c",
            "--header",
            "X-A: 1",
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(options.url, "http://127.0.0.1:1/a?b=c");
        assert_eq!(options.last_event_id.as_deref(), Some("7"));
        assert_eq!(options.headers, [("X-A".to_owned(), "1".to_owned())]);
        assert_eq!(
            url::parse_url_args(&args(&["--header"])).err(),
            Some("--header needs a value".to_owned())
        );
    }
}
