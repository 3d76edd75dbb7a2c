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
use super::simd::{line_ends, short_line_end};

/// Chunks shorter than this are not validated as a whole: most of their lines are cut by a
/// chunk boundary, and are validated again once whole.
const CHECK_FROM: usize = 256;

/// The bytes still to parse, a prefix of them known to be valid UTF-8, and the line ends of
/// the last 64-byte block searched.
#[derive(Debug, Clone, Copy)]
pub(super) struct Input<'a> {
    bytes: &'a [u8],
    /// The valid prefix of the chunk `bytes` is the rest of (empty: nothing is known).
    text: &'a str,
    /// Where `bytes` starts in the chunk.
    offset: usize,
    /// Where the line ends are known.
    scan: Scan,
}

/// The line ends of one 64-byte block of a chunk, kept across the lines of the block.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Scan {
    /// The chunk is searched up to here (in chunk offsets; may be past the chunk's end).
    /// 0 before the first search (then nothing is known), else at least 64.
    scanned: usize,
    /// The line ends of chunk bytes `scanned - 64..scanned` (bit `k`: byte `scanned - 64 + k`).
    mask: u64,
}

impl<'a> Input<'a> {
    /// Input about which nothing is known.
    #[inline]
    pub(super) fn unchecked(bytes: &'a [u8]) -> Input<'a> {
        Input {
            bytes,
            text: "",
            offset: 0,
            scan: Scan::default(),
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

    /// What this input found out about the chunk's line ends, for
    /// [`CheckedChunk::keep_scan`].
    #[cfg(feature = "futures")]
    #[inline]
    pub(super) fn scan(&self) -> Scan {
        self.scan
    }

    /// `chunk` from byte `pos` on, with `checked` made from the same chunk.
    #[cfg(feature = "futures")]
    #[inline]
    pub(super) fn resume(chunk: &'a [u8], checked: &'a CheckedChunk, pos: usize) -> Input<'a> {
        Input {
            bytes: chunk.get(pos..).unwrap_or_default(),
            text: &checked.text,
            offset: pos,
            scan: checked.scan,
        }
    }

    /// A chunk, validated as a whole.
    fn validated(bytes: &'a [u8]) -> Input<'a> {
        Input {
            bytes,
            text: valid_prefix(bytes),
            offset: 0,
            scan: Scan::default(),
        }
    }

    /// The bytes still to parse.
    #[inline]
    pub(super) fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// Where the bytes still to parse start in the chunk.
    #[inline]
    pub(super) fn offset(&self) -> usize {
        self.offset
    }

    /// Where the first line end (CR or LF) of the bytes still to parse is, relative to them.
    ///
    /// Each 64-byte block of the chunk is searched once (`simd::line_ends`), and its bitmap
    /// serves every line that ends in it. (Bits of the last bitmap that the bytes looked at
    /// directly skip over stay valid: the bitmap describes the chunk, not the position.)
    #[inline(always)]
    pub(super) fn line_end(&mut self) -> Option<usize> {
        // Where `offset` is in the block searched last (64 or more: it is not in it; before
        // the first search, `scanned` is 0 and the difference at least 64 too).
        let into = self.offset.wrapping_sub(self.scan.scanned.wrapping_sub(64));
        if into < 64 {
            let rest = self.scan.mask >> into;
            if rest != 0 {
                return Some(rest.trailing_zeros() as usize);
            }
        }
        self.search_line_end(into)
    }

    /// [`Input::line_end`] past the block searched last: block by block from where the
    /// search stopped. (Handing long lines to `memchr2` after a block or two measured more
    /// instructions on every shape: 2-19%.) `into`: where `offset` is in that block (64 or more: not in it).
    #[inline]
    fn search_line_end(&mut self, into: usize) -> Option<usize> {
        if self.bytes.len() < 16 {
            // A short rest (small chunks, the end of a chunk): a word or two at a time costs
            // less than a bitmap (and than a byte loop).
            return short_line_end(self.bytes);
        }
        let mut from = if self.offset >= self.scan.scanned {
            0
        } else if into < 64 {
            // The rest of the block has no line end.
            self.scan.scanned - self.offset
        } else {
            // Before the block (the line end found in it was not consumed): search it again.
            self.scan.scanned - 64 - self.offset
        };
        loop {
            let block = self.bytes.get(from..).filter(|rest| !rest.is_empty())?;
            let mask = line_ends(block);
            self.scan = Scan {
                scanned: self.offset + from + 64,
                mask,
            };
            if mask != 0 {
                return Some(from + mask.trailing_zeros() as usize);
            }
            from += 64;
        }
    }

    /// [`Input::line_end`] for the rest of a line already known to be long (a `data:` line
    /// cut by a chunk boundary): one `memchr2` over the bytes still to parse, whose vectors are
    /// wider than the bitmap's blocks. Forgets the bitmap (the next search starts afresh).
    #[inline]
    pub(super) fn long_line_end(&mut self) -> Option<usize> {
        self.scan = Scan::default();
        memchr::memchr2(b'\r', b'\n', self.bytes)
    }

    /// The longest prefix of chunk bytes `range` (chunk offsets) that lies in the validated
    /// prefix, as text; empty if `range` starts outside it or not on a character boundary.
    #[inline]
    pub(super) fn valid_text_at(&self, range: core::ops::Range<usize>) -> &'a str {
        let end = range.end.min(self.text.len());
        self.text.get(range.start..end).unwrap_or_default()
    }

    /// Chunk bytes `range` (chunk offsets) as text, if they are inside the validated prefix
    /// (and start and end on character boundaries, as line ends and field separators do).
    #[inline]
    pub(super) fn text_at(&self, range: core::ops::Range<usize>) -> Option<&'a str> {
        self.text.get(range)
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
    /// The line ends found so far, kept from one output to the next.
    scan: Scan,
}

#[cfg(feature = "futures")]
impl CheckedChunk {
    /// Keeps the line ends an [`Input`] over this chunk found, for the next
    /// [`Input::resume`].
    #[inline]
    pub(super) fn keep_scan(&mut self, scan: Scan) {
        self.scan = scan;
    }

    /// Validates `chunk` (as [`Input::chunk`] would) and keeps its valid prefix.
    pub(crate) fn check(&mut self, chunk: &[u8]) {
        self.text.clear();
        self.scan = Scan::default();
        if chunk.len() >= CHECK_FROM {
            self.text.push_str(valid_prefix(chunk));
        }
    }
}
