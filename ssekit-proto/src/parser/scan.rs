//! The byte searches and field-value checks of the line state machine.

use super::decode::SHORT;

/// The first `:` of a line. Field names are short, so the first bytes are looked at directly.
pub(super) fn find_colon(line: &[u8]) -> Option<usize> {
    const HEAD: usize = 8;
    match line.iter().take(HEAD).position(|&b| b == b':') {
        Some(i) => Some(i),
        None if line.len() > HEAD => memchr::memchr(b':', &line[HEAD..]).map(|i| i + HEAD),
        None => None,
    }
}

/// Whether an `id` value contains NUL (such an id is ignored).
#[expect(
    clippy::manual_contains,
    reason = "a byte loop over a short id costs less than the call `contains` makes"
)]
pub(super) fn contains_nul(value: &[u8]) -> bool {
    if value.len() <= SHORT {
        value.iter().any(|&b| b == 0)
    } else {
        memchr::memchr(0, value).is_some()
    }
}

/// A `retry` value: one or more ASCII digits that fit in a `u64`; anything else is ignored.
pub(super) fn parse_digits(value: &[u8]) -> Option<u64> {
    if value.is_empty() {
        return None;
    }
    value.iter().try_fold(0u64, |n, &b| {
        if b.is_ascii_digit() {
            n.checked_mul(10)?.checked_add(u64::from(b - b'0'))
        } else {
            None
        }
    })
}
