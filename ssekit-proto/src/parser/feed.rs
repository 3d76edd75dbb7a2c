//! The iterators of [`Parser::feed`] and [`Parser::finish`].

use super::{Input, ParseError, Parsed, Parser};

/// The iterator returned by [`Parser::feed`]: the outputs that one chunk completes.
///
/// Lazy: the chunk is parsed as the iterator is advanced (what is left when it is dropped is
/// kept for the next call).
#[derive(Debug)]
#[must_use = "the outputs of the chunk are lost unless the iterator is consumed (or dropped and the parser fed again)"]
pub struct Feed<'p, 'a> {
    pub(super) parser: &'p mut Parser,
    /// The rest of the chunk; `None` when `Parser::carry_short` took it whole.
    pub(super) input: Option<Input<'a>>,
}

impl Iterator for Feed<'_, '_> {
    type Item = Result<Parsed, ParseError>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        // `None`: taken whole onto the carry-over line (never with a stash waiting).
        let input = self.input.as_mut()?;
        self.parser.parse_input(input)
    }
}

impl core::iter::FusedIterator for Feed<'_, '_> {}

impl Drop for Feed<'_, '_> {
    #[inline]
    fn drop(&mut self) {
        if let Some(input) = &self.input {
            let rest = input.bytes();
            if !rest.is_empty() {
                self.parser.stash.extend_from_slice(rest);
            }
        }
    }
}

/// What [`Parser::finish`] returns: leftover outputs, and whether anything was discarded.
#[derive(Debug)]
#[must_use = "it holds the last outputs of the stream and tells whether an incomplete event was discarded"]
pub struct Finish {
    pub(super) items: alloc::vec::IntoIter<Result<Parsed, ParseError>>,
    pub(super) discarded: bool,
}

impl Finish {
    /// True when the input ended inside a line or inside an event, whose content was then
    /// discarded as the standard requires.
    pub fn discarded(&self) -> bool {
        self.discarded
    }
}

impl Iterator for Finish {
    type Item = Result<Parsed, ParseError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.items.next()
    }
}
