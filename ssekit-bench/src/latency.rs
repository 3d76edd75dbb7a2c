//! The latency convention: an event carries its send time in its data.
//!
//! An event whose data is a decimal Unix time, or a JSON object with a numeric field `"t"`
//! holding one, carries its send time. The unit follows from the magnitude: seconds are not
//! accepted; milliseconds (around 1.7e12), microseconds (1.7e15, the recommended unit) and
//! nanoseconds (1.7e18) are. Its delivery latency is the receive time minus that time, on
//! the same machine's clock ([`unix_micros`]). Events without one are counted, not timed.
//!
//! A publisher writes [`unix_micros`] (or `date +%s%6N`) into each event's data.

use std::time::{SystemTime, UNIX_EPOCH};

/// The current Unix time in microseconds.
pub fn unix_micros() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

/// The send time an event's data carries, in Unix microseconds (see the [module docs](self)).
///
/// ```
/// use ssekit_bench::latency::send_time_us;
/// assert_eq!(send_time_us("1764000000000000"), Some(1_764_000_000_000_000));
/// assert_eq!(send_time_us(r#"{"n":3,"t":1764000000000}"#), Some(1_764_000_000_000_000));
/// assert_eq!(send_time_us("1764000000000000123"), Some(1_764_000_000_000_000));
/// assert_eq!(send_time_us("hello"), None);
/// ```
pub fn send_time_us(data: &str) -> Option<u64> {
    let digits = |s: &str| -> Option<u64> {
        let end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
        s[..end].parse().ok()
    };
    let data = data.trim();
    let value = if data.starts_with('{') {
        let at = data.find("\"t\"")?;
        let rest = data[at + 3..].trim_start().strip_prefix(':')?.trim_start();
        digits(rest)?
    } else if data.bytes().all(|b| b.is_ascii_digit()) {
        data.parse().ok()?
    } else {
        return None;
    };
    match value {
        v if v >= 100_000_000_000_000_000 => Some(v / 1000),
        v if v >= 100_000_000_000_000 => Some(v),
        v if v >= 100_000_000_000 => Some(v * 1000),
        _ => None,
    }
}
