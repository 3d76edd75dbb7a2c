//! Reading events in tests: one decoder for every test that looks at what a stream carried,
//! comparing [`MessageEvent`] values (type, data, last event ID) rather than anonymous tuples.
//!
//! ```
//! use conformance::events::{Decoder, decode, message};
//!
//! assert_eq!(decode([&b"id: 1\ndata: a\n\n"[..]]), [message("a", "1")]);
//! let mut decoder = Decoder::new();
//! assert!(decoder.feed(b"id: 2\ndata: b").is_empty()); // no blank line yet
//! assert_eq!(decoder.feed(b"\n\n"), [message("b", "2")]);
//! ```

use ssekit_proto::{MessageEvent, Parsed, Parser};

/// A parser that hands back the events of each chunk, in order (limits at their defaults;
/// retry values and limit errors are dropped: the tests that need them use the parser).
#[derive(Debug, Default)]
pub struct Decoder {
    parser: Parser,
}

impl Decoder {
    /// A decoder at the start of a stream.
    pub fn new() -> Decoder {
        Decoder::default()
    }

    /// The events dispatched by `chunk`, given everything fed before.
    pub fn feed(&mut self, chunk: &[u8]) -> Vec<MessageEvent> {
        self.parser
            .feed(chunk)
            .filter_map(|item| match item {
                Ok(Parsed::Event(event)) => Some(event),
                _ => None,
            })
            .collect()
    }

    /// The last event ID so far.
    pub fn last_event_id(&self) -> &str {
        self.parser.last_event_id()
    }
}

/// The events of a whole stream given in `chunks` (for example a subscription's frames).
pub fn decode<B: AsRef<[u8]>>(chunks: impl IntoIterator<Item = B>) -> Vec<MessageEvent> {
    let mut decoder = Decoder::new();
    chunks
        .into_iter()
        .flat_map(|chunk| decoder.feed(chunk.as_ref()))
        .collect()
}

/// A `message` event with `data`, dispatched when the last event ID was `id`.
pub fn message(data: &str, id: &str) -> MessageEvent {
    MessageEvent::new("message", data, id)
}
