//! The line state machine: finds line ends, carries lines cut by a chunk boundary, and applies
//! the standard's field rules line by line. What a blank line completes is left in the parser's
//! buffers for `dispatch` to hand out.

use core::time::Duration;

use super::decode::{complete_sequence, push_decoded, push_decoded_streaming};
use super::input::Input;
use super::scan::{contains_nul, find_colon, parse_digits};
use super::{BOM, BOM_DONE, ParseError, Parser, Step};

/// The shortest piece of a cut `data:` line that starts decoding it into the data buffer
/// (`Parser::start_data_line`); shorter pieces are gathered in the carry-over line.
const DATA_LINE_FROM: usize = 64;

impl Parser {
    /// Runs the line state machine over `input` up to the next output, and advances `input`
    /// past what it consumed. `None`: all of `input` was consumed.
    ///
    /// Not while a streamed data line is open (`data_line`): [`Parser::step_any`] then.
    pub(super) fn step(&mut self, input: &mut Input<'_>) -> Option<Step> {
        debug_assert!(!self.data_line);
        loop {
            let buf = input.bytes();
            let first = *buf.first()?;
            if self.after_cr {
                self.after_cr = false;
                if first == b'\n' {
                    input.advance(1);
                    continue;
                }
            }
            if self.bom < BOM_DONE {
                let matched = usize::from(self.bom);
                if first == BOM[matched] {
                    self.bom += 1;
                    input.advance(1);
                    continue;
                }
                // Not a BOM after all: the bytes that looked like one are line content.
                self.line.extend_from_slice(&BOM[..matched]);
                self.bom = BOM_DONE;
            }
            let line_end = input.line_end();
            if self.skipping_line {
                let i = match line_end {
                    Some(i) => i,
                    None => {
                        input.advance(buf.len());
                        return None;
                    }
                };
                self.skipping_line = false;
                self.after_cr = buf[i] == b'\r';
                input.advance(i + 1);
                continue;
            }
            let max = self.limits.get_max_line_length();
            let Some(i) = line_end else {
                return self.carry_rest(input);
            };
            self.after_cr = buf[i] == b'\r';
            // Where the line starts in the chunk, for its text.
            let line = input.offset();
            input.advance(i + 1);
            let field = if i > max.saturating_sub(self.line.len()) {
                self.line.clear();
                self.fail(ParseError::LineTooLong { limit: max }).map(Err)
            } else if !self.line.is_empty() {
                let mut line = core::mem::take(&mut self.line);
                line.extend_from_slice(&buf[..i]);
                let out = self.process_field(&line, None);
                line.clear();
                self.line = line;
                out
            } else if i == 0 {
                // A blank line: dispatch the event.
                if self.end_block() {
                    return Some(Step::Event);
                }
                continue;
            } else if let (true, false) = (buf[..i].starts_with(b"data:"), self.discarding) {
                // The most common line, in place, and usually already validated: then an LF
                // line end is copied with it, as the LF that joins data lines.
                let start = if buf.get(5) == Some(&b' ') { 6 } else { 5 };
                let end = if buf[i] == b'\n' { i + 1 } else { i };
                match input.text_at(line + start..line + end) {
                    Some(text) => self.push_data_text(i - start, text),
                    None => self.push_data(&buf[start..i], None),
                }
            } else if buf[0] == b':' {
                // A comment (a keep-alive, mostly): nothing to do (the call below would only
                // find that out).
                None
            } else {
                self.process_field(&buf[..i], input.text_at(line..line + i))
            };
            match field {
                None => {}
                Some(Ok(retry)) => return Some(Step::Retry(retry)),
                Some(Err(error)) => return Some(Step::Error(error)),
            }
        }
    }

    /// [`Parser::step`] in any state: the rest of a streamed data line first (it can only be
    /// open at the start of a chunk, as `step` opens one only with the last bytes of its input).
    pub(super) fn step_any(&mut self, input: &mut Input<'_>) -> Option<Step> {
        if self.data_line {
            if input.bytes().is_empty() {
                return None;
            }
            if let Some(out) = self.data_line_rest(input) {
                return Some(out);
            }
            if self.data_line {
                return None;
            }
        }
        self.step(input)
    }

    /// Discards the event being built; returns `error` unless this event already failed.
    fn fail(&mut self, error: ParseError) -> Option<ParseError> {
        self.clear_data();
        self.event_type.clear();
        if self.discarding {
            return None;
        }
        self.discarding = true;
        Some(error)
    }

    /// Processes a line that is not blank; returns a new reconnection time or an error.
    /// `text`: the line as text, when its validity is already known.
    fn process_field(
        &mut self,
        line: &[u8],
        text: Option<&str>,
    ) -> Option<Result<Duration, ParseError>> {
        let first = *line.first()?;
        if self.discarding || first == b':' {
            return None;
        }
        // Most lines are data lines: recognised by their prefix, before any search.
        if let Some(value) = line.strip_prefix(b"data:") {
            return self.push_data(value.strip_prefix(b" ").unwrap_or(value), None);
        }
        let (name, start) = match find_colon(line) {
            Some(colon) => (
                &line[..colon],
                colon + 1 + usize::from(line.get(colon + 1) == Some(&b' ')),
            ),
            None => (line, line.len()),
        };
        let value = &line[start..];
        // The value as text: ASCII `:` and space end on a character boundary.
        let value_text = || text.and_then(|text| text.get(start..));
        match name {
            b"data" => return self.push_data(value, None),
            b"event" => {
                self.event_type.clear();
                match value_text() {
                    Some(text) => self.event_type.push_str(text),
                    None => push_decoded(&mut self.event_type, value),
                }
            }
            // An id with NUL is ignored.
            b"id" if !contains_nul(value) => {
                self.id_buffer.clear();
                match value_text() {
                    Some(text) => self.id_buffer.push_str(text),
                    None => push_decoded(&mut self.id_buffer, value),
                }
                self.id_set = true;
            }
            b"retry" => {
                if let Some(millis) = parse_digits(value) {
                    let retry = Duration::from_millis(millis);
                    self.reconnection_time = Some(retry);
                    return Some(Ok(retry));
                }
            }
            _ => {}
        }
        None
    }

    /// Appends a data line's value, decoded, and the LF that joins it to the next one.
    /// `text`: the value as text, when its validity is already known.
    #[inline]
    fn push_data(
        &mut self,
        value: &[u8],
        text: Option<&str>,
    ) -> Option<Result<Duration, ParseError>> {
        // The limit counts input bytes (each value plus its LF), not decoded ones.
        let room = self
            .limits
            .get_max_event_size()
            .saturating_sub(self.data_size);
        if value.len() >= room {
            let limit = self.limits.get_max_event_size();
            return self.fail(ParseError::EventTooLarge { limit }).map(Err);
        }
        self.data_size += value.len() + 1;
        self.data.reserve(value.len() + 1);
        match text {
            Some(text) => self.data.push_str(text),
            None => push_decoded(&mut self.data, value),
        }
        self.data.push('\n');
        None
    }

    /// [`Parser::push_data`] for a value of `len` input bytes already known to be `text`,
    /// which may end with the joining LF already.
    #[inline(always)]
    fn push_data_text(&mut self, len: usize, text: &str) -> Option<Result<Duration, ParseError>> {
        let room = self
            .limits
            .get_max_event_size()
            .saturating_sub(self.data_size);
        if len >= room {
            let limit = self.limits.get_max_event_size();
            return self.fail(ParseError::EventTooLarge { limit }).map(Err);
        }
        self.data_size += len + 1;
        if text.len() > len {
            self.data.push_str(text);
        } else {
            self.data.reserve(len + 1);
            self.data.push_str(text);
            self.data.push('\n');
        }
        None
    }

    /// The rest of a streamed data line (`data_line`) in the non-empty `input`: up to its line
    /// end, or all of `input`. Its end is searched for with one `memchr2` (the line is long);
    /// its bytes are validated with the chunk and copied once, into the data buffer.
    #[cold]
    #[inline(never)]
    fn data_line_rest(&mut self, input: &mut Input<'_>) -> Option<Step> {
        let buf = input.bytes();
        let max = self.limits.get_max_line_length();
        let start = input.offset();
        let Some(i) = input.long_line_end() else {
            input.advance(buf.len());
            if buf.len() > max.saturating_sub(self.data_line_len) {
                self.line.clear();
                self.data_line = false;
                self.skipping_line = true;
                return self
                    .fail(ParseError::LineTooLong { limit: max })
                    .map(Step::Error);
            }
            self.data_line_len += buf.len();
            let valid = input.valid_text_at(start..start + buf.len());
            self.push_value_piece(buf, valid);
            return None;
        };
        self.after_cr = buf[i] == b'\r';
        input.advance(i + 1);
        let field = if i > max.saturating_sub(self.data_line_len) {
            self.line.clear();
            self.data_line = false;
            self.fail(ParseError::LineTooLong { limit: max }).map(Err)
        } else {
            let valid = input.valid_text_at(start..start + i);
            self.end_data_line(&buf[..i], valid)
        };
        match field? {
            Ok(retry) => Some(Step::Retry(retry)),
            Err(error) => Some(Step::Error(error)),
        }
    }

    /// The rest of `input`, the start of a line with no line end in it: carried over to the
    /// next chunk (or, a long `data:` line, decoded into the data buffer).
    #[inline(always)]
    fn carry_rest(&mut self, input: &mut Input<'_>) -> Option<Step> {
        let buf = input.bytes();
        let max = self.limits.get_max_line_length();
        let valid = input.valid_text_at(input.offset()..input.offset() + buf.len());
        input.advance(buf.len());
        if buf.len() > max.saturating_sub(self.line.len()) {
            self.line.clear();
            self.skipping_line = true;
            return self
                .fail(ParseError::LineTooLong { limit: max })
                .map(Step::Error);
        }
        // Short pieces (small chunks) are cheaper to gather.
        if buf.len() < DATA_LINE_FROM || self.discarding || !self.start_data_line(buf, valid) {
            self.line.extend_from_slice(buf);
        }
        None
    }

    /// A line cut by a chunk boundary, `buf` its part in this chunk (no line end in it): if it
    /// is a `data:` line long enough to be worth it, starts decoding its value straight into
    /// the data buffer (`data_line`), so that its bytes are validated and copied once, piece by
    /// piece, instead of being gathered in the carry-over line and decoded whole at its end.
    /// False: the caller carries `buf` over as usual.
    #[inline(never)]
    fn start_data_line(&mut self, buf: &[u8], valid: &str) -> bool {
        debug_assert!(buf.len() >= DATA_LINE_FROM);
        // The line's first 6 bytes decide: `data:` and whether a space follows it.
        let mut head = [0u8; 6];
        let carried = self.line.len().min(6);
        head[..carried].copy_from_slice(&self.line[..carried]);
        head[carried..].copy_from_slice(&buf[..6 - carried]);
        if !head.starts_with(b"data:") {
            return false;
        }
        let prefix = if head[5] == b' ' { 6 } else { 5 };
        self.data_line = true;
        self.data_line_len = self.line.len() + buf.len();
        self.data_line_prefix = prefix;
        // The carried bytes past the prefix are decoded first (`line` becomes the pending
        // sequence buffer; its allocation is kept).
        let line = core::mem::take(&mut self.line);
        if line.len() > prefix {
            self.push_value_piece(&line[prefix..], "");
        }
        let mut line = line;
        line.clear();
        line.extend_from_slice(&self.line);
        self.line = line;
        let skip = prefix.saturating_sub(carried);
        self.push_value_piece(&buf[skip..], valid.get(skip..).unwrap_or_default());
        true
    }

    /// Appends a piece of the streamed data line's value, decoded: `valid` is a prefix of
    /// `bytes` already known to be valid UTF-8 (the chunk's validation), copied as it is; the
    /// rest is decoded here. An incomplete sequence at the end waits in `line` for the next
    /// piece (decoding piece by piece so gives exactly what decoding the whole value gives).
    #[inline]
    fn push_value_piece(&mut self, bytes: &[u8], valid: &str) {
        let mut bytes = bytes;
        let mut valid = valid;
        if !self.line.is_empty() {
            let used = complete_sequence(&mut self.data, &mut self.line, bytes);
            bytes = &bytes[used..];
            if used > 0 {
                // The piece started inside a sequence: the chunk's valid prefix is empty.
                valid = valid.get(used..).unwrap_or_default();
            }
        }
        self.data.push_str(valid);
        let rest = &bytes[valid.len()..];
        if !rest.is_empty() {
            push_decoded_streaming(&mut self.data, &mut self.line, rest);
        }
    }

    /// The last piece of a streamed data line (`bytes`, up to its line end): appends it and
    /// the joining LF, after the limit check of [`Parser::push_data`] on the whole value.
    fn end_data_line(&mut self, bytes: &[u8], valid: &str) -> Option<Result<Duration, ParseError>> {
        self.data_line = false;
        let len = self.data_line_len + bytes.len() - self.data_line_prefix;
        let room = self
            .limits
            .get_max_event_size()
            .saturating_sub(self.data_size);
        if len >= room {
            self.line.clear();
            let limit = self.limits.get_max_event_size();
            return self.fail(ParseError::EventTooLarge { limit }).map(Err);
        }
        self.data_size += len + 1;
        self.push_value_piece(bytes, valid);
        if !self.line.is_empty() {
            // The value ends inside a sequence: one U+FFFD for it.
            self.line.clear();
            self.data.push(char::REPLACEMENT_CHARACTER);
        }
        self.data.push('\n');
        None
    }

    /// Empties the data buffer.
    #[inline]
    pub(super) fn clear_data(&mut self) {
        self.data.clear();
        self.data_size = 0;
    }

    /// A blank line ends the block: commits the id, and tells whether an event is to be
    /// dispatched (then [`Parser::take_event`] or [`Parser::lend_event`] builds it).
    fn end_block(&mut self) -> bool {
        // Step 1 of "dispatch the event": commit the last event ID buffer, with or without
        // data (and for a block discarded by a limit: its id lines came before the error).
        self.commit_id();
        if self.discarding {
            self.discarding = false;
            self.clear_data();
            self.event_type.clear();
            return false;
        }
        if self.data.is_empty() {
            self.event_type.clear();
            return false;
        }
        true
    }

    /// Step 1 of "dispatch the event": the last event ID buffer becomes the last event ID.
    fn commit_id(&mut self) {
        if self.id_set {
            self.id_set = false;
            core::mem::swap(&mut self.id_buffer, &mut self.last_event_id);
            self.last_event_id_stale = true;
        }
    }
}
