//! URL query strings, read once for every part of the crate: [`pairs`], [`values`] and
//! [`form_decode`].
//!
//! A query is decoded as `application/x-www-form-urlencoded` (what `URLSearchParams`
//! produces): pairs are separated by `&`, a name without `=` has an empty value, `+` is a
//! space, `%XX` a byte, and a malformed `%` is kept as it is. This is how
//! [`last_event_id::from_query`](crate::last_event_id::from_query) reads `?lastEventId=` and
//! how the broker's [`RequestInfo::query_params`](crate::broker::RequestInfo::query_params)
//! reads `?topic=`.
//!
//! ```
//! use ssekit::query;
//!
//! let q = "topic=rooms%2F42%2F*&topic=users/7&x";
//! assert_eq!(query::values(q, "topic"), ["rooms/42/*", "users/7"]);
//! assert_eq!(query::pairs(q).last(), Some(("x", "")));
//! assert_eq!(query::form_decode("a+b%21", 16).as_deref(), Some(&b"a b!"[..]));
//! ```

/// The raw (not decoded) `(name, value)` pairs of `query` (without its leading `?`), in order.
pub fn pairs(query: &str) -> impl Iterator<Item = (&str, &str)> {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| pair.split_once('=').unwrap_or((pair, "")))
}

/// Every value of the parameter `name` (`?topic=a&topic=b`), decoded (invalid UTF-8 becomes
/// U+FFFD), in order.
pub fn values(query: &str, name: &str) -> Vec<String> {
    pairs(query)
        .filter(|(n, _)| form_decode(n, name.len()).as_deref() == Some(name.as_bytes()))
        .filter_map(|(_, v)| form_decode(v, usize::MAX))
        .map(|v| String::from_utf8_lossy(&v).into_owned())
        .collect()
}

/// Decodes one `application/x-www-form-urlencoded` component; `None` once the result would be
/// longer than `max` bytes (so a huge parameter is never copied).
pub fn form_decode(text: &str, max: usize) -> Option<Vec<u8>> {
    fn hex(digit: u8) -> Option<u8> {
        match digit {
            b'0'..=b'9' => Some(digit - b'0'),
            b'a'..=b'f' => Some(digit - b'a' + 10),
            b'A'..=b'F' => Some(digit - b'A' + 10),
            _ => None,
        }
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len().min(max));
    let mut i = 0;
    while i < bytes.len() {
        if out.len() == max {
            return None;
        }
        let byte = match bytes[i] {
            b'+' => b' ',
            b'%' => match (bytes.get(i + 1), bytes.get(i + 2)) {
                (Some(&high), Some(&low)) => match (hex(high), hex(low)) {
                    (Some(high), Some(low)) => {
                        i += 2;
                        (high << 4) | low
                    }
                    _ => b'%',
                },
                _ => b'%',
            },
            other => other,
        };
        out.push(byte);
        i += 1;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_split_on_ampersands_and_the_first_equals_sign() {
        let got: Vec<_> = pairs("a=1&&b&c=x=y&=z").collect();
        assert_eq!(got, [("a", "1"), ("b", ""), ("c", "x=y"), ("", "z")]);
        assert_eq!(pairs("").count(), 0);
    }

    #[test]
    fn components_are_form_decoded_and_bounded() {
        let decode = |s| form_decode(s, 64).map(|v| String::from_utf8_lossy(&v).into_owned());
        assert_eq!(decode("x+y%2Bz").as_deref(), Some("x y+z"));
        assert_eq!(decode("%E2%82%AC").as_deref(), Some("\u{20ac}"));
        assert_eq!(decode("100%").as_deref(), Some("100%"));
        assert_eq!(decode("%zz%4").as_deref(), Some("%zz%4"));
        assert_eq!(form_decode("abc", 2), None);
        assert_eq!(form_decode("ab", 2).as_deref(), Some(&b"ab"[..]));
    }

    #[test]
    fn values_match_decoded_names() {
        assert_eq!(values("t%6Fpic=a&topic=b+c&other=d", "topic"), ["a", "b c"]);
        assert_eq!(values("topic=%FF", "topic"), ["\u{fffd}"]);
        assert!(values("topics=a", "topic").is_empty());
    }
}
