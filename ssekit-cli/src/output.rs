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

/// Whether readable output shows control characters visibly (`--escape`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Escape {
    /// Only when stdout is a terminal (the default): a terminal would act on them; a pipe or
    /// a file gets the exact text.
    #[default]
    Auto,
    /// Always, also into a pipe or a file.
    Always,
    /// Never: the exact text, also on a terminal.
    Never,
}

impl Escape {
    /// Whether readable output is escaped: `Auto` resolves to `is_terminal`. `--json` escapes
    /// control characters by itself (JSON strings) and `--raw` is always exact, whatever this
    /// says.
    ///
    /// ```
    /// use ssekit_cli::output::Escape;
    ///
    /// assert!(Escape::Auto.applies(true));
    /// assert!(!Escape::Auto.applies(false));
    /// assert!(Escape::Always.applies(false));
    /// assert!(!Escape::Never.applies(true));
    /// ```
    pub fn applies(self, is_terminal: bool) -> bool {
        match self {
            Escape::Auto => is_terminal,
            Escape::Always => true,
            Escape::Never => false,
        }
    }
}

/// `text` with its control characters shown visibly, so that an event cannot drive the
/// terminal (clear it, set its title, write the clipboard with OSC 52, ...): the C0 controls
/// and DEL in caret notation as `cat -v` shows them (`ESC` is `^[`, `BEL` is `^G`, DEL is
/// `^?`), the C1 controls (U+0080 to U+009F, which some terminals act on too) as `\u{9b}`.
/// Tabs and line feeds stay as they are. Text without control characters is returned as it is.
///
/// ```
/// use ssekit_cli::output::escape_controls;
///
/// assert_eq!(escape_controls("\x1b[2J"), "^[[2J");
/// assert_eq!(escape_controls("\x1b]0;title\x07"), "^[]0;title^G");
/// assert_eq!(escape_controls("a\tb\nc\u{9b}\x7f"), "a\tb\nc\\u{9b}^?");
/// ```
pub fn escape_controls(text: &str) -> std::borrow::Cow<'_, str> {
    let is_escaped = |c: char| c.is_control() && c != '\t' && c != '\n';
    if !text.chars().any(is_escaped) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            c if !is_escaped(c) => out.push(c),
            '\x7f' => out.push_str("^?"),
            c if (c as u32) < 0x20 => {
                out.push('^');
                out.push(char::from(b'@' + c as u8));
            }
            c => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
        }
    }
    std::borrow::Cow::Owned(out)
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
    format_event_with(elapsed, event, colour, false)
}

/// [`format_event_styled`], with the type, the id and the data passed through
/// [`escape_controls`] when `escape` is true (what `--escape` decides).
///
/// ```
/// use std::time::Duration;
/// use ssekit_proto::MessageEvent;
///
/// let event = MessageEvent::new("message", "\x1b]52;c;aGk=\x07", "");
/// assert_eq!(
///     ssekit_cli::output::format_event_with(Duration::ZERO, &event, false, true),
///     "[+0.000s] message  ^[]52;c;aGk=^G\n"
/// );
/// ```
pub fn format_event_with(
    elapsed: Duration,
    event: &MessageEvent,
    colour: bool,
    escape: bool,
) -> String {
    let shown = |text: &str| -> String {
        if escape {
            escape_controls(text).into_owned()
        } else {
            text.to_owned()
        }
    };
    let event_type = shown(event.event_type());
    let last_event_id = shown(event.last_event_id());
    let data = shown(event.data());
    let paint = |code: &str, text: &str| {
        if colour {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    };
    let time = format!("[+{:.3}s]", elapsed.as_secs_f64());
    let mut width = time.chars().count() + 1 + event_type.chars().count();
    let mut line = format!("{} {}", paint("2", &time), paint("1;36", &event_type));
    if !last_event_id.is_empty() {
        let id = format!("id={last_event_id}");
        width += 1 + id.chars().count();
        line.push(' ');
        line.push_str(&paint("33", &id));
    }
    line.push_str("  ");
    let indent = " ".repeat(width + 2);
    for (i, data_line) in data.split('\n').enumerate() {
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
    /// Readable output shows control characters visibly (see [`escape_controls`]).
    escape: bool,
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
            escape: false,
            raw_id: String::new(),
        }
    }

    /// Shows control characters visibly in readable output (see [`escape_controls`]; off
    /// unless set): what `--escape` turns on for a terminal. `--json` output escapes them as
    /// JSON does and `--raw` output stays exact either way.
    #[must_use]
    pub fn escape(mut self, escape: bool) -> Self {
        self.escape = escape;
        self
    }

    /// Writes one event, received `elapsed` after the start. In [`Format::Raw`] it is the
    /// event encoded again: `event:` unless the type is `message`, `id:` when the last event
    /// ID changed since the last printed event, the data, so that parsing the output gives
    /// the same events back.
    pub fn event(&mut self, elapsed: Duration, event: MessageEvent) -> io::Result<()> {
        match self.format {
            Format::Readable => {
                let text = format_event_with(elapsed, &event, self.colour, self.escape);
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
