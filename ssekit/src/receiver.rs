//! [`ReceiverStream`]: a tokio `mpsc` receiver as a stream of events, for `Sse::from_receiver`.

use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::Stream;
use tokio::sync::mpsc;

/// A [`tokio::sync::mpsc::Receiver`] as a [`Stream`]: the response ends once every sender is
/// dropped and the channel is drained.
///
/// Every adapter's `Sse::from_receiver(rx)` wraps one; a handler spawns the producer and keeps
/// the sender. When the client goes away the body is dropped, the receiver with it, and the
/// producer's next `send` fails: that is its signal to stop.
///
/// ```
/// use futures_util::StreamExt;
/// use ssekit::{Event, ReceiverStream};
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let (tx, rx) = tokio::sync::mpsc::channel(16);
/// tx.send(Event::message("hello")).await.unwrap();
/// drop(tx);
/// let events: Vec<Event> = ReceiverStream::new(rx).collect().await;
/// assert_eq!(events.len(), 1);
/// # });
/// ```
#[derive(Debug)]
#[must_use = "streams do nothing unless polled"]
pub struct ReceiverStream<T> {
    receiver: mpsc::Receiver<T>,
}

impl<T> ReceiverStream<T> {
    /// Wraps `receiver`.
    pub fn new(receiver: mpsc::Receiver<T>) -> ReceiverStream<T> {
        ReceiverStream { receiver }
    }

    /// The receiver back.
    pub fn into_inner(self) -> mpsc::Receiver<T> {
        self.receiver
    }
}

impl<T> Stream for ReceiverStream<T> {
    type Item = T;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.get_mut().receiver.poll_recv(cx)
    }

    /// The lower bound is how many messages are queued: a poll returns one at once.
    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.receiver.len(), None)
    }
}
