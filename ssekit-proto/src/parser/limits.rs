//! The parser's limits and the error for exceeding one.

use core::fmt;

/// Limits that keep the parser's memory bounded under hostile input.
///
/// Both are on by default. Exceeding one yields a [`ParseError`] for the event being built; that
/// event is discarded, the lines up to the next blank line are ignored, and parsing goes on.
///
/// ```
/// use ssekit_proto::{Limits, Parser};
/// let parser = Parser::with_limits(Limits::default().max_line_length(64 * 1024));
/// assert_eq!(parser.limits().get_max_line_length(), 64 * 1024);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    max_line_length: usize,
    max_event_size: usize,
}

impl Limits {
    /// Default longest line, in bytes, without its line end: 4 MiB.
    pub const DEFAULT_MAX_LINE_LENGTH: usize = 4 << 20;
    /// Default largest data buffer of one event, in bytes (each data line counts its value plus
    /// one LF): 8 MiB.
    ///
    /// Sizes count input bytes. Decoding replaces each invalid UTF-8 byte with U+FFFD (three
    /// bytes), so a dispatched event's `data()` can be up to three times the limit; memory
    /// stays bounded either way.
    pub const DEFAULT_MAX_EVENT_SIZE: usize = 8 << 20;

    /// No limits at all: memory grows with the input. Only for input that is already trusted
    /// or already held in memory.
    pub const fn unlimited() -> Limits {
        Limits {
            max_line_length: usize::MAX,
            max_event_size: usize::MAX,
        }
    }

    /// Sets the longest accepted line, in bytes, not counting its line end.
    pub const fn max_line_length(mut self, bytes: usize) -> Limits {
        self.max_line_length = bytes;
        self
    }

    /// Sets the largest accepted data buffer of one event, in bytes.
    pub const fn max_event_size(mut self, bytes: usize) -> Limits {
        self.max_event_size = bytes;
        self
    }

    /// The longest accepted line, in bytes.
    pub const fn get_max_line_length(&self) -> usize {
        self.max_line_length
    }

    /// The largest accepted data buffer of one event, in bytes.
    pub const fn get_max_event_size(&self) -> usize {
        self.max_event_size
    }
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_line_length: Limits::DEFAULT_MAX_LINE_LENGTH,
            max_event_size: Limits::DEFAULT_MAX_EVENT_SIZE,
        }
    }
}

/// A limit was exceeded; the event being built was discarded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ParseError {
    /// A line was longer than [`Limits::max_line_length`].
    LineTooLong {
        /// The limit in force, in bytes.
        limit: usize,
    },
    /// An event's data was larger than [`Limits::max_event_size`].
    EventTooLarge {
        /// The limit in force, in bytes.
        limit: usize,
    },
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::LineTooLong { limit } => {
                write!(f, "SSE line longer than {limit} bytes; event discarded")
            }
            ParseError::EventTooLarge { limit } => {
                write!(
                    f,
                    "SSE event data larger than {limit} bytes; event discarded"
                )
            }
        }
    }
}

impl core::error::Error for ParseError {}
