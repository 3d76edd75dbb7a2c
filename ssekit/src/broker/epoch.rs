//! [`Epoch`]: the validated prefix of a broker instance's ids.

use std::fmt;

/// The prefix that names a broker instance in its ids (`k3x9` in `k3x9-17`): 1 to 32 ASCII
/// letters and digits, checked when it is made, so an id made with it is always a valid SSE id
/// and always tells its instance apart ([`BrokerConfig::epoch`](super::BrokerConfig::epoch)).
///
/// ```
/// use ssekit::broker::Epoch;
///
/// let epoch = Epoch::new("k3x9").unwrap();
/// assert_eq!(epoch.as_str(), "k3x9");
/// assert!(Epoch::new("a\nid: 9").is_err()); // could inject a field
/// assert!(Epoch::new("").is_err());
/// // A start time in milliseconds is a good one.
/// assert!(Epoch::new(1_765_000_000_000u64.to_string()).is_ok());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Epoch(Box<str>);

/// The most bytes an [`Epoch`] has.
pub const MAX_EPOCH_LEN: usize = 32;

impl Epoch {
    /// `epoch`, if it is 1 to [`MAX_EPOCH_LEN`] ASCII letters and digits.
    pub fn new(epoch: impl Into<String>) -> Result<Epoch, InvalidEpoch> {
        let epoch = epoch.into();
        if epoch.is_empty()
            || epoch.len() > MAX_EPOCH_LEN
            || !epoch.bytes().all(|b| b.is_ascii_alphanumeric())
        {
            return Err(InvalidEpoch(epoch));
        }
        Ok(Epoch(epoch.into_boxed_str()))
    }

    /// The epoch.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Epoch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<&str> for Epoch {
    type Error = InvalidEpoch;

    fn try_from(epoch: &str) -> Result<Epoch, InvalidEpoch> {
        Epoch::new(epoch)
    }
}

/// A text refused as an [`Epoch`]: empty, longer than [`MAX_EPOCH_LEN`] bytes, or with
/// something other than ASCII letters and digits. Holds the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidEpoch(pub String);

impl fmt::Display for InvalidEpoch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "an epoch is 1 to {MAX_EPOCH_LEN} ASCII letters and digits, not {:?}",
            self.0
        )
    }
}

impl std::error::Error for InvalidEpoch {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_short_alphanumeric_text_is_an_epoch() {
        assert!(Epoch::new("a1").is_ok());
        assert!(Epoch::new("x".repeat(MAX_EPOCH_LEN)).is_ok());
        for bad in ["", "a-1", "a 1", "a\n", "é", &"x".repeat(MAX_EPOCH_LEN + 1)] {
            assert_eq!(
                Epoch::new(bad),
                Err(InvalidEpoch(bad.to_owned())),
                "{bad:?}"
            );
        }
        assert!(InvalidEpoch("a-1".into()).to_string().contains("\"a-1\""));
    }
}
