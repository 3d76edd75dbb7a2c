//! How watch mode prints what it receives: readable lines (coloured on a terminal), JSON
//! lines, or SSE wire text.

use std::io::{self, Write};
use std::time::Duration;

use ssekit_proto::{Event, MessageEvent, Parsed};

use crate::JsonLines;

/// The output form of watch mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `[+SECONDSs] TYPE id=ID  DATA` (the default; see [`format_event`]).
    Readable,
    /// `--json`: the parse mode's JSON lines.
    Json,
    /// `--raw`: each event re-encoded as SSE wire text (see [`Printer::event`]).
    Raw,
}

/// Whether readable output is coloured: only [`Format::Readable`], only on a terminal, and
/// never while `NO_COLOR` is set to a non-empty value (<https://no-color.org>).
///
/// ```
/// use ssekit_cli::output::{Format, use_colour};
///
/// assert!(use_colour(Format::Readable, true, None));
/// assert!(use_colour(Format::Readable, true, Some("".as_ref())));
/// assert!(!use_colour(Format::Readable, true, Some("1".as_ref())));
/// assert!(!use_colour(Format::Readable, false, None));
/// assert!(!use_colour(Format::Json, true, None));
/// ```
pub fn use_colour(format: Format, is_terminal: bool, no_color: Option<&std::ffi::OsStr>) -> bool {
    format == Format::Readable && is_terminal && no_color.is_none_or(|value| value.is_empty())
}

/// The readable form of an event: `[+SECONDSs] TYPE id=ID  DATA`, where ` id=ID` is left out
/// while there is no last event ID, and each further data line is indented under the first.
///
/// ```
/// use std::time::Duration;
/// use ssekit_proto::MessageEvent;
///
/// let event = MessageEvent::new("tick", "one\ntwo", "3");
/// assert_eq!(
///     ssekit_cli::output::format_event(Duration::from_millis(1500), &event),
///     "[+1.500s] tick id=3  one\n                     two\n"
/// );
/// ```
pub fn format_event(elapsed: Duration, event: &MessageEvent) -> String {
    format_event_styled(elapsed, event, false)
}

/// [`format_event`], with ANSI colours when `colour` is true: the time dim, the type bold
/// cyan, the id yellow. The text and the indentation are the same either way.
///
/// ```
/// use std::time::Duration;
/// use ssekit_proto::MessageEvent;
///
/// let event = MessageEvent::new("tick", "one", "3");
/// assert_eq!(
///     ssekit_cli::output::format_event_styled(Duration::ZERO, &event, true),
///     "\x1b[2m[+0.000s]\x1b[0m \x1b[1;36mtick\x1b[0m \x1b[33mid=3\x1b[0m  one\n"
/// );
/// ```
pub fn format_event_styled(elapsed: Duration, event: &MessageEvent, colour: bool) -> String {
    let paint = |code: &str, text: &str| {
        if colour {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    };
    let time = format!("[+{:.3}s]", elapsed.as_secs_f64());
    let mut width = time.chars().count() + 1 + event.event_type().chars().count();
    let mut line = format!(
        "{} {}",
        paint("2", &time),
        paint("1;36", event.event_type())
    );
    if !event.last_event_id().is_empty() {
        let id = format!("id={}", event.last_event_id());
        width += 1 + id.chars().count();
        line.push(' ');
        line.push_str(&paint("33", &id));
    }
    line.push_str("  ");
    let indent = " ".repeat(width + 2);
    for (i, data_line) in event.data().split('\n').enumerate() {
        if i > 0 {
            line.push('\n');
            line.push_str(&indent);
        }
        line.push_str(data_line);
    }
    line.push('\n');
    line
}

/// Writes what watch mode receives in one [`Format`].
#[derive(Debug)]
pub struct Printer<W> {
    out: JsonLines<W>,
    format: Format,
    colour: bool,
    /// `--raw`: the last event ID the printed text has set (an `id:` line is written when an
    /// event's differs).
    raw_id: String,
}

impl<W: Write> Printer<W> {
    /// A printer writing `format` to `out`, coloured when `colour` (see [`use_colour`]).
    pub fn new(out: W, format: Format, colour: bool) -> Self {
        Printer {
            out: JsonLines::new(out),
            format,
            colour,
            raw_id: String::new(),
        }
    }

    /// Writes one event, received `elapsed` after the start. In [`Format::Raw`] it is the
    /// event encoded again: `event:` unless the type is `message`, `id:` when the last event
    /// ID changed since the last printed event, the data, so that parsing the output gives
    /// the same events back.
    pub fn event(&mut self, elapsed: Duration, event: MessageEvent) -> io::Result<()> {
        match self.format {
            Format::Readable => {
                let text = format_event_styled(elapsed, &event, self.colour);
                self.out.get_mut().write_all(text.as_bytes())
            }
            Format::Json => self.out.item(Ok(Parsed::Event(event))),
            Format::Raw => {
                let mut builder = Event::builder().data(event.data());
                if event.event_type() != "message" {
                    builder = builder.event(event.event_type());
                }
                if event.last_event_id() != self.raw_id {
                    builder = builder.id(event.last_event_id());
                    self.raw_id = event.last_event_id().to_owned();
                }
                self.write_raw(builder.build())
            }
        }
    }

    /// Writes a retry change: `{"retry":N}` in JSON, `retry: N` in raw output, a notice on
    /// stderr in readable output.
    pub fn retry(&mut self, retry: Duration) -> io::Result<()> {
        match self.format {
            Format::Readable => {
                eprintln!("ssekit: the server set the reconnection time to {retry:?}");
                Ok(())
            }
            Format::Json => self.out.item(Ok(Parsed::Retry(retry))),
            Format::Raw => self.write_raw(Event::builder().retry(retry).build()),
        }
    }

    fn write_raw(&mut self, event: Result<Event, ssekit_proto::EventError>) -> io::Result<()> {
        match event {
            Ok(event) => self.out.get_mut().write_all(&event.to_vec()),
            // Parsed events cannot hold what the builder refuses; say so if one ever does.
            Err(error) => {
                eprintln!("ssekit: cannot re-encode an event: {error}");
                Ok(())
            }
        }
    }

    /// Flushes what was written (after each item: the output is live).
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.get_mut().flush()
    }

    /// Ends the output: the closing `{"last_event_id":..}` line in JSON; flushes.
    pub fn finish(mut self, last_event_id: &str) -> io::Result<()> {
        if self.format == Format::Json {
            self.out.last_event_id(last_event_id)?;
        }
        self.out.into_inner().flush()
    }
}
