//! UTF-8 decoding as the standard asks: each invalid sequence becomes one U+FFFD.
//!
//! Decoding a line's field value on its own gives the same result as decoding the whole stream,
//! because the UTF-8 decoder never lets an invalid sequence swallow an ASCII byte (CR, LF, `:`).
//!
//! Almost all text on the wire is valid, so the common case is a check, not a decoding:
//! [`validate`] runs `simdutf8`'s SIMD validator (with `std`: the fastest one the CPU has,
//! chosen at run time; without: the one the target's compile-time features allow, or core's).
//! Its 64-byte blocks skip ASCII at memory speed; text shorter than one block goes to core's
//! validator, which has its own ASCII fast path. Only text that is not valid UTF-8 is decoded,
//! by core's lossy decoder, which replaces each maximal invalid subpart with U+FFFD exactly as
//! the WHATWG decoder does.

use alloc::string::String;

/// `bytes` as text, if they are valid UTF-8.
#[inline]
pub(super) fn validate(bytes: &[u8]) -> Option<&str> {
    simdutf8::basic::from_utf8(bytes).ok()
}

/// Appends `bytes` to `out`, each invalid UTF-8 sequence replaced with U+FFFD.
///
/// Short ASCII values (the usual ids and event names) are copied byte by byte, which costs less
/// than the calls of the general path.
#[inline]
pub(super) fn push_decoded(out: &mut String, bytes: &[u8]) {
    if bytes.len() <= SHORT && bytes.is_ascii() {
        out.extend(bytes.iter().map(|&b| char::from(b)));
        return;
    }
    match validate(bytes) {
        Some(text) => out.push_str(text),
        None => push_lossy(out, bytes),
    }
}

/// Appends `bytes` to `out` as [`push_decoded`] does, except that an incomplete sequence at
/// their end is not replaced: it is left in `pending` (empty on entry) for the next bytes to
/// complete ([`complete_sequence`]). Decoding a text piece by piece so gives what decoding it
/// whole gives.
pub(super) fn push_decoded_streaming(
    out: &mut String,
    pending: &mut alloc::vec::Vec<u8>,
    bytes: &[u8],
) {
    debug_assert!(pending.is_empty());
    let text = valid_prefix(bytes);
    out.push_str(text);
    let rest = &bytes[text.len()..];
    if rest.is_empty() {
        return;
    }
    let mut chunks = rest.utf8_chunks().peekable();
    while let Some(chunk) = chunks.next() {
        out.push_str(chunk.valid());
        let invalid = chunk.invalid();
        if invalid.is_empty() {
            continue;
        }
        let last = chunks.peek().is_none();
        if last && core::str::from_utf8(invalid).is_err_and(|e| e.error_len().is_none()) {
            // Cut short by the end of `bytes`, not invalid (yet).
            pending.extend_from_slice(invalid);
        } else {
            out.push(char::REPLACEMENT_CHARACTER);
        }
    }
}

/// Completes the incomplete sequence in `pending` with the first bytes of `bytes` and appends
/// its decoding to `out`; returns how many bytes of `bytes` it took. If the bytes cannot
/// continue it, the sequence is invalid: one U+FFFD, and the byte that could not continue it
/// is left to the caller. If `bytes` ends first, the longer sequence stays in `pending`.
pub(super) fn complete_sequence(
    out: &mut String,
    pending: &mut alloc::vec::Vec<u8>,
    bytes: &[u8],
) -> usize {
    for (used, &b) in bytes.iter().enumerate() {
        pending.push(b);
        match core::str::from_utf8(pending) {
            Ok(text) => {
                out.push_str(text);
                pending.clear();
                return used + 1;
            }
            Err(e) if e.error_len().is_none() => {}
            Err(_) => {
                // `pending` without `b` was a valid start of a sequence: that start is the
                // maximal invalid subpart, replaced as a whole.
                pending.clear();
                out.push(char::REPLACEMENT_CHARACTER);
                return used;
            }
        }
    }
    bytes.len()
}

/// The longest prefix of `bytes` that is valid UTF-8, as text.
///
/// A chunk usually is valid as a whole (one SIMD pass); one that ends inside a multi-byte
/// sequence (a few percent of chunks of non-ASCII text) costs one more pass, over the chunk
/// up to that sequence; one that holds invalid bytes, two more.
pub(super) fn valid_prefix(bytes: &[u8]) -> &str {
    if let Some(text) = validate(bytes) {
        return text;
    }
    // Ends inside a sequence: its lead byte is one of the last 4, the bytes after it are
    // continuation bytes, no more than the lead byte's sequence has. If the chunk before it is
    // valid, the valid prefix ends at that lead byte exactly (the bytes from it to the end are
    // not a whole character, or the chunk would be valid). With more continuation bytes than
    // its sequence takes (`é` and a stray `\x80`), a character may end before the chunk does:
    // the general path below.
    let tail = bytes.len().saturating_sub(4);
    if let Some(lead) = bytes[tail..].iter().rposition(|&b| b & 0xC0 != 0x80) {
        let lead = tail + lead;
        let sequence = match bytes[lead] {
            0xF0.. => 4,
            0xE0.. => 3,
            _ => 2,
        };
        if bytes[lead] >= 0xC0 && bytes.len() - lead <= sequence {
            if let Some(text) = validate(&bytes[..lead]) {
                return text;
            }
        }
    }
    let valid = simdutf8::compat::from_utf8(bytes).map_or_else(|e| e.valid_up_to(), |t| t.len());
    validate(&bytes[..valid]).unwrap_or_default()
}

/// Appends the lossy decoding of `bytes` to `out` (what `String::from_utf8_lossy` gives, with
/// no intermediate string).
#[cold]
fn push_lossy(out: &mut String, bytes: &[u8]) {
    for chunk in bytes.utf8_chunks() {
        out.push_str(chunk.valid());
        if !chunk.invalid().is_empty() {
            out.push(char::REPLACEMENT_CHARACTER);
        }
    }
}

/// Values up to this long are looked at byte by byte rather than through a call.
pub(super) const SHORT: usize = 32;

#[cfg(test)]
mod tests {
    use super::{push_decoded, valid_prefix};
    use alloc::string::String;
    use alloc::vec;

    /// The lossy path gives exactly what core's `from_utf8_lossy` gives, on every kind of
    /// invalid sequence, at every length (short values and ones past a SIMD block).
    #[test]
    fn invalid_sequences_decode_as_core_decodes_them() {
        let cases: [&[u8]; 8] = [
            b"\xFF",
            b"a\xC3",
            b"\xE2\x82",
            b"\xF0\x9F\x98",
            b"\xED\xA0\x80",
            b"\xC0\xAF",
            b"\xF4\x90\x80\x80",
            "caf\u{e9} \u{65e5}\u{672c} \u{1f642}".as_bytes(),
        ];
        for case in cases {
            for pad in [0, 5, 70, 200] {
                let mut bytes = "\u{e9}x".repeat(pad).into_bytes();
                bytes.extend_from_slice(case);
                bytes.extend_from_slice(b"tail");
                let expected = String::from_utf8_lossy(&bytes).into_owned();
                let mut pushed = String::from(">");
                push_decoded(&mut pushed, &bytes);
                assert_eq!(pushed[1..], expected, "{bytes:?}");
                let valid = core::str::from_utf8(&bytes)
                    .map_or_else(|e| e.valid_up_to(), |text| text.len());
                assert_eq!(valid_prefix(&bytes).len(), valid, "{bytes:?}");
            }
        }
    }

    /// A chunk that ends with a character and then stray continuation bytes is not a chunk
    /// cut inside a sequence: its valid prefix ends after the character.
    #[test]
    fn stray_continuation_bytes_at_the_end_keep_the_character_before_them() {
        let cases: [&[u8]; 6] = [
            b"\xC3\xA9\x80",
            b"x\xC3\xA9\x80\x80",
            b"\xE2\x82\xAC\x80",
            b"\xC3\xA9\xC3",
            b"\xF0\x9F\x98",
            b"ab\xE2\x82",
        ];
        for case in cases {
            for pad in [0, 70] {
                let mut bytes = "\u{e9}x".repeat(pad).into_bytes();
                bytes.extend_from_slice(case);
                let valid =
                    core::str::from_utf8(&bytes).map_or_else(|e| e.valid_up_to(), |t| t.len());
                assert_eq!(valid_prefix(&bytes).len(), valid, "{bytes:?}");
            }
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(3000))]

        /// The valid prefix is core's `valid_up_to`, on text that is valid, cut inside a
        /// sequence at its end, or invalid anywhere, shorter and longer than a SIMD block.
        #[test]
        fn valid_prefix_is_valid_up_to(
            pieces in proptest::collection::vec(
                proptest::prop_oneof![
                    proptest::prelude::Just(&b"a"[..]),
                    proptest::prelude::Just("\u{e9}".as_bytes()),
                    proptest::prelude::Just("\u{65e5}".as_bytes()),
                    proptest::prelude::Just("\u{1f642}".as_bytes()),
                    proptest::prelude::Just(&b"\xC3"[..]),
                    proptest::prelude::Just(&b"\xE2\x82"[..]),
                    proptest::prelude::Just(&b"\xF0\x9F\x98"[..]),
                    proptest::prelude::Just(&b"\x80"[..]),
                    proptest::prelude::Just(&b"\xFF"[..]),
                    proptest::prelude::Just(&b"\xC0\x80"[..]),
                    proptest::prelude::Just(&b"0123456789abcdef"[..]),
                ],
                0..60,
            ),
            valid_tail in proptest::prelude::any::<bool>(),
        ) {
            let mut bytes = pieces.concat();
            if valid_tail {
                bytes.extend_from_slice("\u{e9}".as_bytes());
            }
            let valid = core::str::from_utf8(&bytes).map_or_else(|e| e.valid_up_to(), |t| t.len());
            proptest::prop_assert_eq!(valid_prefix(&bytes).len(), valid);
        }
    }
}
