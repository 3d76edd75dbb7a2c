//! Decimal numbers in ids, read once for every part of the crate: [`parse`].
//!
//! The hub's ids are sequence numbers in decimal (`"17"`), the broker's too after an optional
//! epoch (`"k3x9-17"`), Redis entry ids two of them (`"1718000000000-0"`). A number there is
//! ASCII digits only: no sign, no space, no other digits, which `str::parse` would accept
//! (`"+17"`).
//!
//! ```
//! use ssekit::decimal;
//!
//! assert_eq!(decimal::parse("17"), Some(17));
//! assert_eq!(decimal::parse("007"), Some(7));
//! assert_eq!(decimal::parse("+17"), None);
//! assert_eq!(decimal::parse(""), None);
//! assert_eq!(decimal::parse("18446744073709551616"), None); // past u64
//! assert_eq!(decimal::parse_canonical("007"), None);
//! ```

/// `text` as a number, if it is one or more ASCII digits that fit a `u64`.
pub fn parse(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// `text` as a number written the one way a counter writes it: [`parse`], and no leading
/// zero (`"0"` itself is not one either: sequences start at 1).
pub fn parse_canonical(text: &str) -> Option<u64> {
    parse(text).filter(|_| !text.starts_with('0'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_ascii_digits_are_a_number() {
        for bad in ["", "-1", "+1", " 1", "1 ", "1_000", "١", "0x1"] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
        assert_eq!(parse("18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse("0"), Some(0));
        assert_eq!(parse_canonical("0"), None);
        assert_eq!(parse_canonical("10"), Some(10));
    }
}
