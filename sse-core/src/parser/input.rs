//! The parser's view of its input: the bytes still to parse, and how much of them is already
//! known to be valid UTF-8.
//!
//! [`Parser::feed`](crate::Parser::feed) and [`Parser::feed_with`](crate::Parser::feed_with)
//! validate a chunk once, in one SIMD pass ([`valid_prefix`]); a data line inside the validated
//! prefix is then appended to the data buffer as the text it already is, and an event is
//! dispatched with no further check. Lines outside it (a line cut by a chunk boundary, the
//! bytes after an invalid or cut sequence, all of the input of
//! [`Parser::parse_next`](crate::Parser::parse_next)) are validated one value at a time, which
//! decodes the same: an invalid sequence never swallows the ASCII line end after it.

use super::decode::valid_prefix;

/// Chunks shorter than this are not validated as a whole: most of their lines are cut by a
/// chunk boundary, and are validated again once whole.
const CHECK_FROM: usize = 256;

/// The bytes still to parse, and a prefix of them known to be valid UTF-8.
#[derive(Debug, Clone, Copy)]
pub(super) struct Input<'a> {
    bytes: &'a [u8],
    /// The valid prefix of the chunk `bytes` is the rest of (empty: nothing is known).
    text: &'a str,
    /// Where `bytes` starts in the chunk.
    offset: usize,
}

impl<'a> Input<'a> {
    /// Input about which nothing is known.
    #[inline]
    pub(super) fn unchecked(bytes: &'a [u8]) -> Input<'a> {
        Input {
            bytes,
            text: "",
            offset: 0,
        }
    }

    /// A chunk, validated as a whole if it is long enough for that to pay.
    #[inline]
    pub(super) fn chunk(bytes: &'a [u8]) -> Input<'a> {
        if bytes.len() >= CHECK_FROM {
            Input::validated(bytes)
        } else {
            Input::unchecked(bytes)
        }
    }

    /// `chunk` from byte `pos` on, with `checked` made from the same chunk.
    #[cfg(feature = "futures")]
    #[inline]
    pub(super) fn resume(chunk: &'a [u8], checked: &'a CheckedChunk, pos: usize) -> Input<'a> {
        Input {
            bytes: chunk.get(pos..).unwrap_or_default(),
            text: &checked.text,
            offset: pos,
        }
    }

    /// A chunk, validated as a whole.
    fn validated(bytes: &'a [u8]) -> Input<'a> {
        Input {
            bytes,
            text: valid_prefix(bytes),
            offset: 0,
        }
    }

    /// The bytes still to parse.
    #[inline]
    pub(super) fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// Bytes `range` of the input as text, if they are inside the validated prefix (and
    /// start and end on character boundaries, as line ends and field separators do).
    #[inline]
    pub(super) fn text(&self, range: core::ops::Range<usize>) -> Option<&'a str> {
        self.text
            .get(self.offset + range.start..self.offset + range.end)
    }

    /// Moves past the first `n` bytes (at most all of them).
    #[inline]
    pub(super) fn advance(&mut self, n: usize) {
        let n = n.min(self.bytes.len());
        self.bytes = &self.bytes[n..];
        self.offset += n;
    }
}

/// The validated prefix of a chunk, copied, for a caller that parses the chunk one output at a
/// time across calls and so cannot keep a borrowed [`Input`] ([`ParseStream`]: copying a chunk
/// costs a small fraction of validating it again value by value).
///
/// [`ParseStream`]: crate::stream::ParseStream
#[cfg(feature = "futures")]
#[derive(Debug, Default)]
pub(crate) struct CheckedChunk {
    text: alloc::string::String,
}

#[cfg(feature = "futures")]
impl CheckedChunk {
    /// Validates `chunk` (as [`Input::chunk`] would) and keeps its valid prefix.
    pub(crate) fn check(&mut self, chunk: &[u8]) {
        self.text.clear();
        if chunk.len() >= CHECK_FROM {
            self.text.push_str(valid_prefix(chunk));
        }
    }
}
