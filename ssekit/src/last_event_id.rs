//! Reading `Last-Event-ID` from a request: the rules every adapter's extractor follows.
//!
//! A reconnecting `EventSource` sends the last event ID it saw in the `Last-Event-ID` header.
//! Clients that cannot set headers (polyfills, some proxies' health checks) put it in the query
//! string as `?lastEventId=`. [`from_request`] takes the header when the request has one (valid
//! or not), otherwise the query parameter, and refuses what can never be an id the server sent:
//! an empty value (no id), invalid UTF-8, NUL, CR or LF, and more than [`MAX_LEN`] bytes.
//! Nothing else is changed: the id is what the server sent.
//!
//! Each adapter's `LastEventId` extractor (`ssekit_axum::LastEventId`, `ssekit_actix_web::LastEventId`,
//! `ssekit_warp::last_event_id()`) is this function applied to the request's header and query.

use crate::query::form_decode;

/// The most bytes of a `Last-Event-ID` value that [`parse`] accepts.
pub const MAX_LEN: usize = 1024;

/// The header's name (lower case, as HTTP/2 wants it).
pub const HEADER: &str = "last-event-id";

/// The query parameter read by [`from_query`], for clients that cannot set headers (a
/// polyfill reconnecting with `?lastEventId=...`).
pub const QUERY_PARAM: &str = "lastEventId";

/// Parses a raw header (or decoded query parameter) value.
///
/// Returns `None` for an empty value (no id), for invalid UTF-8, for a value containing NUL, CR
/// or LF (an id can never contain them), and for a value longer than [`MAX_LEN`] bytes.
///
/// ```
/// use ssekit::last_event_id;
/// assert_eq!(last_event_id::parse(b"42").as_deref(), Some("42"));
/// assert_eq!(last_event_id::parse(b""), None);
/// assert_eq!(last_event_id::parse(b"a\0b"), None);
/// ```
pub fn parse(value: &[u8]) -> Option<String> {
    if value.is_empty() || value.len() > MAX_LEN {
        return None;
    }
    if memchr::memchr3(0, b'\r', b'\n', value).is_some() {
        return None;
    }
    let text = std::str::from_utf8(value).ok()?;
    Some(String::from(text))
}

/// Reads the first `lastEventId` parameter of a URL query string (without the leading `?`).
///
/// The query is decoded as `application/x-www-form-urlencoded` (what `URLSearchParams`
/// produces: `+` is a space, `%XX` a byte, a malformed `%` is kept as is), then the value goes
/// through [`parse`], so the same rules apply as for the header.
///
/// ```
/// use ssekit::last_event_id;
/// assert_eq!(last_event_id::from_query("stream=a&lastEventId=7%20b").as_deref(), Some("7 b"));
/// assert_eq!(last_event_id::from_query("lastEventId="), None);
/// assert_eq!(last_event_id::from_query("lastEventId=a%0Ab"), None);
/// ```
pub fn from_query(query: &str) -> Option<String> {
    let value = crate::query::pairs(query).find_map(|(name, value)| {
        (form_decode(name, QUERY_PARAM.len())? == QUERY_PARAM.as_bytes()).then_some(value)
    })?;
    parse(&form_decode(value, MAX_LEN)?)
}

/// The id a request carries: the `Last-Event-ID` header when the request has one (valid or
/// not), otherwise the `lastEventId` query parameter.
///
/// ```
/// use ssekit::last_event_id::from_request;
/// assert_eq!(from_request(Some(&b"1"[..]), Some("lastEventId=2")).as_deref(), Some("1"));
/// assert_eq!(from_request(None, Some("lastEventId=2")).as_deref(), Some("2"));
/// assert_eq!(from_request(Some(&b""[..]), Some("lastEventId=2")), None);
/// ```
pub fn from_request(header: Option<&[u8]>, query: Option<&str>) -> Option<String> {
    match header {
        Some(value) => parse(value),
        None => from_query(query?),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(q: &str) -> Option<String> {
        from_query(q)
    }

    #[test]
    fn query_parameter_is_form_decoded() {
        assert_eq!(query("lastEventId=42"), Some("42".into()));
        assert_eq!(
            query("a=1&lastEventId=x+y%2Bz&lastEventId=2"),
            Some("x y+z".into())
        );
        assert_eq!(query("last%45ventId=%E2%82%AC"), Some("\u{20ac}".into()));
        assert_eq!(query("lastEventId=100%&b"), Some("100%".into()));
        assert_eq!(query("lastEventId=%zz%4"), Some("%zz%4".into()));
        assert_eq!(query("lasteventid=1"), None);
        assert_eq!(query("lastEventId"), None);
        assert_eq!(query(""), None);
        assert_eq!(query("lastEventId=%00"), None);
        assert_eq!(query("lastEventId=%FF"), None);
    }

    #[test]
    fn query_parameter_length_is_bounded() {
        let max = "%41".repeat(MAX_LEN);
        assert_eq!(
            query(&format!("lastEventId={max}")).map(|s| s.len()),
            Some(MAX_LEN)
        );
        assert_eq!(query(&format!("lastEventId={max}A")), None);
        assert_eq!(query(&format!("lastEventId={}", "a".repeat(1 << 20))), None);
    }

    #[test]
    fn header_wins_over_query() {
        assert_eq!(from_request(None, None), None);
        assert_eq!(from_request(Some(b"a\nb"), Some("lastEventId=1")), None);
        assert_eq!(from_request(None, Some("lastEventId=1")), Some("1".into()));
    }
}
