//! An incremental decoder of HTTP/1.1 chunked bodies (`Transfer-Encoding: chunked`, RFC 9112
//! section 7.1), sans I/O: hand it the bytes as they arrive, cut anywhere, and it hands back
//! the body's bytes, where each chunk ends and where the body ends.
//!
//! The size line is read with [`httparse::parse_chunk_size`] (hex size, extensions ignored),
//! after a check that it starts with a hex digit (httparse reads an empty line as size 0). A
//! size line cut between two inputs is carried over in a small buffer (at most
//! [`MAX_SIZE_LINE`] bytes); chunk data is never copied. Trailer fields are skipped.
//!
//! ```
//! use ssekit_bench::chunked::{ChunkedDecoder, Step};
//!
//! let wire = b"5\r\nhello\r\n1;ext=x\r\n!\r\n0\r\nTrailer: 1\r\n\r\n";
//! // All at once, into a callback:
//! let mut body = Vec::new();
//! let done = ChunkedDecoder::new().decode(wire, |data| body.extend_from_slice(data)).unwrap();
//! assert!(done);
//! assert_eq!(body, b"hello!");
//!
//! // Step by step, seeing where each chunk ends:
//! let mut decoder = ChunkedDecoder::new();
//! let mut input = &wire[..];
//! let mut steps = Vec::new();
//! loop {
//!     let (used, step) = decoder.step(input).unwrap();
//!     input = &input[used..];
//!     steps.push(step);
//!     if matches!(step, Step::Done | Step::NeedMore) {
//!         break;
//!     }
//! }
//! assert_eq!(
//!     steps,
//!     [Step::Data(b"hello"), Step::ChunkEnd, Step::Data(b"!"), Step::ChunkEnd, Step::Done]
//! );
//! ```

use core::fmt;

/// The longest chunk-size line accepted (size, extensions and CRLF), in bytes.
pub const MAX_SIZE_LINE: usize = 4096;

/// What one [`ChunkedDecoder::step`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step<'a> {
    /// Body bytes: all or part of one chunk's data, borrowed from the input.
    Data(&'a [u8]),
    /// The CRLF after a chunk's data: that chunk is complete.
    ChunkEnd,
    /// The last chunk and the trailer section were read: the body is complete. Bytes after it
    /// are not the body's (the next response on the connection, say).
    Done,
    /// Every byte of the input was used and the body goes on: call again with more.
    NeedMore,
}

/// A chunked body that breaks the framing rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChunkedError {
    /// A chunk-size line that is not hex digits (at most 15), optional extensions and CRLF.
    BadSize,
    /// A chunk-size line longer than [`MAX_SIZE_LINE`].
    SizeLineTooLong,
    /// A chunk's data not followed by CRLF.
    MissingCrlf,
}

impl fmt::Display for ChunkedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ChunkedError::BadSize => "bad chunk size line",
            ChunkedError::SizeLineTooLong => "chunk size line too long",
            ChunkedError::MissingCrlf => "chunk data not followed by CRLF",
        })
    }
}

impl std::error::Error for ChunkedError {}

/// Where the decoder is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// At (or inside, with the start carried over) a chunk-size line.
    Size,
    /// Inside a chunk's data, this many bytes left.
    Data(u64),
    /// Expecting the CRLF after a chunk's data (`seen_cr` once the CR came).
    DataEnd { seen_cr: bool },
    /// After the last chunk: trailer lines until an empty one (`at_line_start` when the last
    /// byte ended a line).
    Trailers { at_line_start: bool },
    /// The body is complete.
    Done,
}

/// An incremental HTTP/1.1 chunked-body decoder (see the [module docs](self)).
#[derive(Debug, Clone)]
pub struct ChunkedDecoder {
    state: State,
    /// The start of a chunk-size line cut by the end of an input.
    line: Vec<u8>,
}

impl Default for ChunkedDecoder {
    fn default() -> Self {
        ChunkedDecoder::new()
    }
}

impl ChunkedDecoder {
    /// A decoder at the start of a chunked body.
    pub fn new() -> Self {
        ChunkedDecoder {
            state: State::Size,
            line: Vec::new(),
        }
    }

    /// Whether the whole body (last chunk and trailers) was read.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Decodes from the start of `input` up to the next thing to report: returns how many
    /// bytes of `input` it used and what they were. Framing bytes (size lines, CRLFs,
    /// trailers) are used without being reported; [`Step::NeedMore`] means all of `input` was
    /// used. Once [`Step::Done`] was returned, every call returns it again, using nothing.
    ///
    /// # Errors
    ///
    /// [`ChunkedError`] when the input breaks the framing; the body cannot be decoded past it.
    pub fn step<'a>(&mut self, input: &'a [u8]) -> Result<(usize, Step<'a>), ChunkedError> {
        let mut at = 0;
        loop {
            let rest = &input[at..];
            match self.state {
                State::Done => return Ok((at, Step::Done)),
                State::Data(left) => {
                    if rest.is_empty() {
                        return Ok((at, Step::NeedMore));
                    }
                    let take = usize::try_from(left).unwrap_or(usize::MAX).min(rest.len());
                    self.state = if take as u64 == left {
                        State::DataEnd { seen_cr: false }
                    } else {
                        State::Data(left - take as u64)
                    };
                    return Ok((at + take, Step::Data(&rest[..take])));
                }
                State::Size => {
                    let Some(lf) = rest.iter().position(|&b| b == b'\n') else {
                        self.carry(rest)?;
                        return Ok((input.len(), Step::NeedMore));
                    };
                    let size = if self.line.is_empty() {
                        size_line(&rest[..=lf])?
                    } else {
                        self.carry(&rest[..=lf])?;
                        let size = size_line(&self.line);
                        self.line.clear();
                        size?
                    };
                    at += lf + 1;
                    self.state = match size {
                        0 => State::Trailers {
                            at_line_start: true,
                        },
                        size => State::Data(size),
                    };
                }
                State::DataEnd { seen_cr } => {
                    let Some(&byte) = rest.first() else {
                        return Ok((at, Step::NeedMore));
                    };
                    at += 1;
                    match (seen_cr, byte) {
                        (false, b'\r') => self.state = State::DataEnd { seen_cr: true },
                        (true, b'\n') => {
                            self.state = State::Size;
                            return Ok((at, Step::ChunkEnd));
                        }
                        _ => return Err(ChunkedError::MissingCrlf),
                    }
                }
                State::Trailers { at_line_start } => {
                    let Some(&byte) = rest.first() else {
                        return Ok((at, Step::NeedMore));
                    };
                    at += 1;
                    self.state = match byte {
                        b'\n' if at_line_start => State::Done,
                        b'\n' => State::Trailers {
                            at_line_start: true,
                        },
                        b'\r' => State::Trailers { at_line_start },
                        _ => State::Trailers {
                            at_line_start: false,
                        },
                    };
                }
            }
        }
    }

    /// Decodes all of `input`, handing each piece of body data to `out` in order; `Ok(true)`
    /// once the body is complete (bytes after its end are ignored), `Ok(false)` while it goes
    /// on.
    ///
    /// # Errors
    ///
    /// [`ChunkedError`] when the input breaks the framing.
    pub fn decode<'a>(
        &mut self,
        mut input: &'a [u8],
        mut out: impl FnMut(&'a [u8]),
    ) -> Result<bool, ChunkedError> {
        loop {
            let (used, step) = self.step(input)?;
            input = &input[used..];
            match step {
                Step::Data(data) => out(data),
                Step::ChunkEnd => {}
                Step::Done => return Ok(true),
                Step::NeedMore => return Ok(false),
            }
        }
    }

    /// Keeps the start of a size line for the next input.
    fn carry(&mut self, bytes: &[u8]) -> Result<(), ChunkedError> {
        if self.line.len() + bytes.len() > MAX_SIZE_LINE {
            return Err(ChunkedError::SizeLineTooLong);
        }
        self.line.extend_from_slice(bytes);
        Ok(())
    }
}

/// The size a complete chunk-size line (ending in LF) gives.
fn size_line(line: &[u8]) -> Result<u64, ChunkedError> {
    if !line.first().is_some_and(u8::is_ascii_hexdigit) {
        return Err(ChunkedError::BadSize);
    }
    match httparse::parse_chunk_size(line) {
        Ok(httparse::Status::Complete((used, size))) if used == line.len() => Ok(size),
        _ => Err(ChunkedError::BadSize),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Decodes `input` cut into `cut`-byte pieces: the body and whether it was complete.
    fn cut_into(input: &[u8], cut: usize) -> Result<(Vec<u8>, bool), ChunkedError> {
        let mut decoder = ChunkedDecoder::new();
        let mut out = Vec::new();
        let mut done = false;
        for piece in input.chunks(cut) {
            done = decoder.decode(piece, |b| out.extend_from_slice(b))?;
        }
        Ok((out, done))
    }

    #[test]
    fn bodies_decode_the_same_in_any_cut() {
        let wire = b"5\r\ndata:\r\n3;ext=1\r\n x\n\r\na\r\n\n\ndata: y\n\r\n0\r\nX-T: 1\r\n\r\n";
        for cut in 1..=wire.len() {
            assert_eq!(
                cut_into(wire, cut),
                Ok((b"data: x\n\n\ndata: y\n".to_vec(), true)),
                "cut {cut}"
            );
        }
        let open = b"4\r\nab\r\n";
        assert_eq!(cut_into(open, 3), Ok((b"ab\r\n".to_vec(), false)));
    }

    #[test]
    fn sizes_in_any_case_with_extensions_and_whitespace() {
        for wire in [
            &b"A\r\n0123456789\r\n0\r\n\r\n"[..],
            b"a\r\n0123456789\r\n0\r\n\r\n",
            b"00a;name=\"quoted;value\"\r\n0123456789\r\n0;last\r\n\r\n",
            b"a \t;x\r\n0123456789\r\n0\r\n\r\n",
        ] {
            assert_eq!(
                cut_into(wire, 1),
                Ok((b"0123456789".to_vec(), true)),
                "{wire:?}"
            );
        }
    }

    #[test]
    fn chunk_ends_and_the_end_of_the_body_are_reported() {
        let mut decoder = ChunkedDecoder::new();
        assert_eq!(decoder.step(b"3\r\nab"), Ok((5, Step::Data(b"ab"))));
        assert_eq!(decoder.step(b""), Ok((0, Step::NeedMore)));
        assert_eq!(decoder.step(b"c\r"), Ok((1, Step::Data(b"c"))));
        assert_eq!(decoder.step(b"\r"), Ok((1, Step::NeedMore)));
        assert_eq!(
            decoder.step(b"\n0\r\n\r\nHTTP/1.1"),
            Ok((1, Step::ChunkEnd))
        );
        // What came before was the step's input; the decoder goes on after the chunk end.
        assert_eq!(decoder.step(b"0\r\n\r\nHTTP/1.1"), Ok((5, Step::Done)));
        assert!(decoder.is_done());
        assert_eq!(decoder.step(b"more"), Ok((0, Step::Done)));
    }

    #[test]
    fn trailers_are_skipped() {
        let wire = b"1\r\nx\r\n0\r\nA: 1\r\nB: 2\r\n\r\nnext";
        let mut out = Vec::new();
        let mut decoder = ChunkedDecoder::new();
        assert_eq!(decoder.decode(wire, |b| out.extend_from_slice(b)), Ok(true));
        assert_eq!(out, b"x");
    }

    #[test]
    fn broken_framing_is_an_error() {
        for (wire, error) in [
            (&b"zz\r\n"[..], ChunkedError::BadSize),
            (b"\r\n", ChunkedError::BadSize),
            (b";x\r\n", ChunkedError::BadSize),
            (b"5\n", ChunkedError::BadSize),
            (b"5\rx\n", ChunkedError::BadSize),
            (b"1 2\r\n", ChunkedError::BadSize),
            (b"10000000000000000\r\n", ChunkedError::BadSize),
            (b"2\r\nabc", ChunkedError::MissingCrlf),
            (b"2\r\nab\rx", ChunkedError::MissingCrlf),
            (b"2\r\nab\n", ChunkedError::MissingCrlf),
        ] {
            for cut in 1..=wire.len() {
                assert_eq!(cut_into(wire, cut), Err(error), "{wire:?} cut {cut}");
            }
        }
        let long = [&b"1;"[..], &[b'x'; MAX_SIZE_LINE][..]].concat();
        assert_eq!(cut_into(&long, 100), Err(ChunkedError::SizeLineTooLong));
        // Within the limit, a long extension cut anywhere is fine.
        let ok = [&b"1;"[..], &[b'x'; 1000][..], b"\r\nz\r\n0\r\n\r\n"].concat();
        assert_eq!(cut_into(&ok, 7), Ok((b"z".to_vec(), true)));
    }

    #[test]
    fn the_largest_sizes() {
        let mut decoder = ChunkedDecoder::new();
        assert_eq!(
            decoder.step(b"fffffffffffffff\r\n"),
            Ok((17, Step::NeedMore))
        );
        assert_eq!(decoder.step(b"ab"), Ok((2, Step::Data(b"ab"))));
    }
}
