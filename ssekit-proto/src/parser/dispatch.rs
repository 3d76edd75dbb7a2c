//! Dispatch: the event a blank line completed, handed out owned ([`Parser::take_event`]) or
//! lent ([`Parser::lend_event`]).

use alloc::string::String;

use super::event::{MESSAGE, Text};
use super::{EventRef, MessageEvent, ParsedRef, Parser};

/// Data at least this long is handed over to an owned event rather than copied: allocating a
/// new buffer costs less than copying so many bytes, and the capacity it carries is not much
/// more than its length.
const HAND_OVER_FROM: usize = 4096;

impl Parser {
    /// The event of a block that [`Parser::end_block`] said to dispatch.
    #[inline]
    pub(super) fn take_event(&mut self) -> MessageEvent {
        let data = if self.data.len() >= HAND_OVER_FROM {
            self.hand_over_data()
        } else {
            // The data buffer ends with the LF of its last line; it is not part of the data.
            let data = String::from(self.data.strip_suffix('\n').unwrap_or_default());
            self.clear_data();
            data
        };
        self.event_with(data)
    }

    /// A large event's data buffer itself, handed to the event instead of copied (the copy
    /// would cost as much as the rest of the parse); the parser goes on with a new buffer of
    /// the same capacity. A buffer less than half full is shrunk to the event's length first,
    /// so the event's string has at most twice its length in capacity.
    #[cold]
    #[inline(never)]
    fn hand_over_data(&mut self) -> String {
        let capacity = self.data.capacity();
        let mut data = core::mem::replace(&mut self.data, String::with_capacity(capacity));
        self.data_size = 0;
        // The LF of the last line is not part of the data.
        data.pop();
        if data.len() < capacity / 2 {
            // A buffer grown by a larger event before: give back what the event does not
            // need (the allocator shrinks a block in place, without a copy).
            data.shrink_to_fit();
        }
        data
    }

    /// The event with `data`, the block's type and the last event ID; resets the type.
    #[inline]
    fn event_with(&mut self, data: String) -> MessageEvent {
        let event_type = if self.take_type() {
            self.last_type.clone()
        } else {
            Text::DEFAULT
        };
        MessageEvent {
            event_type,
            data,
            last_event_id: self.shared_last_event_id(),
        }
    }

    /// The last event ID as owned events share it: one allocation per new id, made only
    /// when an owned event carries it (lent events borrow the string).
    #[inline]
    fn shared_last_event_id(&mut self) -> Text {
        if self.last_event_id_stale {
            self.last_event_id_stale = false;
            if self.last_event_id_shared.get("") != self.last_event_id {
                self.last_event_id_shared = Text::new(&self.last_event_id, "");
            }
        }
        self.last_event_id_shared.clone()
    }

    /// Resets the block's type; true when it had one, which is then in `last_type`.
    #[inline]
    fn take_type(&mut self) -> bool {
        if self.event_type.is_empty() {
            return false;
        }
        if self.event_type != self.last_type.get(MESSAGE) {
            self.last_type = Text::new(&self.event_type, MESSAGE);
        }
        self.event_type.clear();
        true
    }

    /// Lends the event of a block that [`Parser::end_block`] said to dispatch to `on_item`:
    /// the [`Parser::take_event`] of [`Parser::feed_with`].
    #[inline]
    pub(super) fn lend_event<F: FnMut(ParsedRef<'_>)>(&mut self, on_item: &mut F) {
        // The buffers are out of the parser while they are lent: a panicking `on_item` leaves
        // them empty, as a dispatch does.
        let mut event_type = core::mem::take(&mut self.event_type);
        let mut data = core::mem::take(&mut self.data);
        self.data_size = 0;
        // The data buffer ends with the LF of its last line; it is not part of the data.
        let text = data.strip_suffix('\n').unwrap_or_default();
        on_item(ParsedRef::Event(EventRef {
            event_type: if event_type.is_empty() {
                MESSAGE
            } else {
                &event_type
            },
            data: text,
            last_event_id: &self.last_event_id,
        }));
        data.clear();
        self.data = data;
        event_type.clear();
        self.event_type = event_type;
    }
}
