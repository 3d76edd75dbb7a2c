//! The pieces of the `ssekit` binary, one module a mode:
//!
//! - [`url`]: watch mode, `ssekit [watch] URL`: an EventSource that prints what it receives
//!   ([`output`]: readable, JSON lines or SSE text).
//! - [`serve`]: serve mode, `ssekit serve`: stdin as a resumable event stream over HTTP.
//! - [`bench`](mod@bench): bench mode, `ssekit bench URL`: many connections to one event stream,
//!   counting events and measuring delivery latency.
//! - this module: the stdin parse mode (argument parsing, chunking, JSON-lines output), and
//!   the flag reader every mode shares.
//!
//! [`help`] holds the manual pages `--help` prints.

use std::io::{self, Write};

use ssekit_proto::{ParseError, Parsed};

pub mod bench;
pub mod help;
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
            "-X",
            "put",
            "--timeout=0.25",
            "--event",
            "a",
            "--event=b",
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(options.url, "http://127.0.0.1:1/a?b=c");
        assert_eq!(options.last_event_id.as_deref(), Some("7"));
        assert_eq!(options.headers, [("X-A".to_owned(), "1".to_owned())]);
        assert_eq!(options.method, "PUT");
        assert_eq!(options.timeout, Some(std::time::Duration::from_millis(250)));
        assert_eq!(options.events, ["a", "b"]);
        let post = url::parse_url_args(&args(&["http://h/", "-d", "{}"]))
            .unwrap()
            .unwrap();
        assert_eq!(
            (post.method.as_str(), post.body.as_deref()),
            ("POST", Some(&b"{}"[..]))
        );
        for bad in [
            &["http://h/", "--count", "0"][..],
            &["http://h/", "--timeout", "-1"],
            &["http://h/", "--timeout", "NaN"],
            &["http://h/", "--timeout", "inf"],
            &["http://h/", "--timeout", "1e400"],
            &["http://h/", "--json", "--raw"],
            &["http://h/", "-X", "BAD METHOD"],
            &["http://h/", "-d", "a", "-d", "b"],
            &["http://h/", "-d", "@/nonexistent/file"],
        ] {
            assert!(url::parse_url_args(&args(bad)).is_err(), "{bad:?}");
        }
        assert_eq!(
            url::parse_url_args(&args(&["--header"])).err(),
            Some("--header needs a value".to_owned())
        );
    }
}
