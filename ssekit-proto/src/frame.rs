//! [`Frame`]: the encoded bytes of one event, made only by the encoder (feature `bytes`).

use core::fmt;
use core::ops::Deref;

use bytes::Bytes;

use crate::Event;

/// The wire bytes of one whole event (or comment), as the encoder wrote them.
///
/// A `Frame` can only be made by encoding: [`Event::to_frame`], [`Frame::comment`],
/// [`Frame::keep_alive`]. So a value of this type is always one complete, well-formed block
/// (fields, then the blank line that dispatches it), and injection-proofness is carried by the
/// type: whoever holds a `Frame` cannot put a stray field or a second event on the wire.
///
/// It is a shared [`Bytes`] underneath: cloning is a reference-count increment, so a broadcast
/// encodes an event once and hands the same frame to every subscriber.
///
/// ```
/// use ssekit_proto::{Event, Frame};
///
/// let frame = Event::builder().id("7").data("hello").build()?.to_frame();
/// assert_eq!(frame, b"id: 7\ndata: hello\n\n"[..]);
/// assert_eq!(Frame::keep_alive(), b":\n\n"[..]);
/// let bytes: bytes::Bytes = frame.into(); // for a framework's body
/// # let _ = bytes;
/// # Ok::<(), ssekit_proto::EventError>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Frame(Bytes);

impl Frame {
    /// The keep-alive frame: an empty comment, [`KEEP_ALIVE`](crate::KEEP_ALIVE) (`:\n\n`).
    pub const fn keep_alive() -> Frame {
        Frame(Bytes::from_static(crate::KEEP_ALIVE))
    }

    /// A comment frame (`: text`); line ends in `text` start new comment lines, so it cannot
    /// inject fields.
    pub fn comment(text: impl Into<alloc::string::String>) -> Frame {
        Event::comment(text).to_frame()
    }

    /// The bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The shared buffer, for a body that takes [`Bytes`].
    pub fn into_bytes(self) -> Bytes {
        self.0
    }
}

impl Event {
    /// Encodes the event into a [`Frame`] (one allocation, exactly sized).
    pub fn to_frame(&self) -> Frame {
        Frame(self.to_bytes())
    }
}

impl From<Event> for Frame {
    fn from(event: Event) -> Frame {
        event.to_frame()
    }
}

impl From<&Event> for Frame {
    fn from(event: &Event) -> Frame {
        event.to_frame()
    }
}

impl From<Frame> for Bytes {
    fn from(frame: Frame) -> Bytes {
        frame.0
    }
}

impl Deref for Frame {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.0
    }
}

impl AsRef<[u8]> for Frame {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl PartialEq<[u8]> for Frame {
    fn eq(&self, other: &[u8]) -> bool {
        self.0 == other
    }
}

impl PartialEq<&[u8]> for Frame {
    fn eq(&self, other: &&[u8]) -> bool {
        self.0 == *other
    }
}

impl fmt::Debug for Frame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Frame").field(&self.0).finish()
    }
}
