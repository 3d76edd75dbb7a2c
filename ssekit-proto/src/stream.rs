//! `Stream` adapters (feature `futures`).
//!
//! - [`ParseStream`]: a `Stream` of byte chunks (`Result<B, E>` with `B: AsRef<[u8]>`, as HTTP
//!   clients give them) into a `Stream` of [`Parsed`] items.
//! - [`FrameStream`]: a `Stream` of [`Event`]s into a `Stream` of encoded [`Bytes`] frames.

use core::fmt;
use core::pin::Pin;
use core::task::{Context, Poll};

use bytes::Bytes;
use futures_core::Stream;

use crate::parser::CheckedChunk;
use crate::{Event, Finish, ParseError, Parsed, Parser};

/// An error of a [`ParseStream`]: from the parser, or from the underlying byte stream.
#[derive(Debug)]
pub enum StreamError<E> {
    /// A limit was exceeded; the event was discarded and the stream goes on.
    Parse(ParseError),
    /// The byte stream failed.
    Transport(E),
}

impl<E: fmt::Display> fmt::Display for StreamError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StreamError::Parse(e) => e.fmt(f),
            StreamError::Transport(e) => write!(f, "SSE transport error: {e}"),
        }
    }
}

impl<E: core::error::Error + 'static> core::error::Error for StreamError<E> {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            StreamError::Parse(e) => Some(e),
            StreamError::Transport(e) => Some(e),
        }
    }
}

/// Parses a stream of byte chunks into a stream of [`Parsed`] items.
///
/// When the byte stream ends, the parser is finished (an unterminated event is discarded) and
/// this stream ends too.
///
/// Each chunk's UTF-8 is validated once, in one pass, when it arrives (its valid prefix is
/// copied into a reused buffer); the chunk is then parsed one output per poll.
///
/// ```
/// # futures_util::FutureExt::now_or_never(async {
/// use futures_util::{stream, StreamExt};
/// use ssekit_proto::{stream::ParseStream, Parsed};
///
/// let chunks = stream::iter([Ok::<_, ()>(&b"data: a\r"[..]), Ok(&b"\n\r\n"[..])]);
/// let items: Vec<_> = ParseStream::new(chunks).collect().await;
/// assert!(matches!(&items[..], [Ok(Parsed::Event(e))] if e.data() == "a"));
/// # }).unwrap();
/// ```
#[derive(Debug)]
pub struct ParseStream<S, B> {
    inner: S,
    parser: Parser,
    /// The chunk being parsed, from byte `pos` on.
    chunk: Option<B>,
    pos: usize,
    /// The chunk's validated prefix.
    checked: CheckedChunk,
    finish: Option<Finish>,
}

impl<S, B> ParseStream<S, B> {
    /// Wraps `inner` with a parser that has the default limits.
    pub fn new(inner: S) -> Self {
        ParseStream::with_parser(inner, Parser::new())
    }

    /// Wraps `inner` with the given parser (its limits, its last event ID).
    pub fn with_parser(inner: S, parser: Parser) -> Self {
        ParseStream {
            inner,
            parser,
            chunk: None,
            pos: 0,
            checked: CheckedChunk::default(),
            finish: None,
        }
    }

    /// The parser, for its [`Parser::last_event_id`] and [`Parser::reconnection_time`].
    pub fn parser(&self) -> &Parser {
        &self.parser
    }

    /// Gives back the byte stream and the parser.
    pub fn into_parts(self) -> (S, Parser) {
        (self.inner, self.parser)
    }
}

impl<S, B, E> Stream for ParseStream<S, B>
where
    S: Stream<Item = Result<B, E>> + Unpin,
    B: AsRef<[u8]> + Unpin,
{
    type Item = Result<Parsed, StreamError<E>>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            if let Some(finish) = &mut this.finish {
                return Poll::Ready(finish.next().map(|r| r.map_err(StreamError::Parse)));
            }
            if let Some(chunk) = &this.chunk {
                let out =
                    this.parser
                        .parse_checked(chunk.as_ref(), &mut this.checked, &mut this.pos);
                if let Some(out) = out {
                    return Poll::Ready(Some(out.map_err(StreamError::Parse)));
                }
                this.chunk = None;
            }
            match Pin::new(&mut this.inner).poll_next(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(Ok(chunk))) => {
                    if this.parser.carry_short(chunk.as_ref()) {
                        continue;
                    }
                    this.checked.check(chunk.as_ref());
                    this.chunk = Some(chunk);
                    this.pos = 0;
                }
                Poll::Ready(Some(Err(e))) => {
                    return Poll::Ready(Some(Err(StreamError::Transport(e))));
                }
                Poll::Ready(None) => this.finish = Some(this.parser.finish()),
            }
        }
    }
}

/// Encodes a stream of events into a stream of [`Bytes`] frames, one frame per event.
///
/// ```
/// # futures_util::FutureExt::now_or_never(async {
/// use futures_util::{stream, StreamExt};
/// use ssekit_proto::{stream::FrameStream, Event};
///
/// let frames: Vec<_> = FrameStream::new(stream::iter([Event::message("x")])).collect().await;
/// assert_eq!(frames, [&b"data: x\n\n"[..]]);
/// # }).unwrap();
/// ```
#[derive(Debug)]
pub struct FrameStream<S> {
    inner: S,
}

impl<S> FrameStream<S> {
    /// Wraps a stream of events.
    pub fn new(inner: S) -> Self {
        FrameStream { inner }
    }
}

impl<S> Stream for FrameStream<S>
where
    S: Stream<Item = Event> + Unpin,
{
    type Item = Bytes;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Bytes>> {
        Pin::new(&mut self.get_mut().inner)
            .poll_next(cx)
            .map(|event| event.map(|event| event.to_bytes()))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}
