//! Topic names, selectors (a topic or a prefix pattern) and selections (a set of selectors).

use std::fmt;
use std::sync::Arc;

/// The longest topic name or selector any [`Selection`] accepts, in bytes; a broker may set a
/// lower bound ([`BrokerConfig::max_topic_len`](super::BrokerConfig::max_topic_len)).
pub const MAX_TOPIC_LEN: usize = 1024;

/// The most selectors any [`Selection`] holds; a broker may set a lower bound
/// ([`BrokerConfig::max_selectors`](super::BrokerConfig::max_selectors)).
pub const MAX_SELECTORS: usize = 1024;

/// Why a topic name, selector or selection was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TopicError {
    /// An empty name.
    Empty,
    /// A name longer than the limit (`len` bytes, at most `max`).
    TooLong {
        /// Its length in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A name with a control character, or a `*` anywhere but in a final `/*` (or alone).
    Invalid,
    /// More topics or selectors than the limit.
    TooMany {
        /// How many were given.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// No topic or selector at all.
    None,
}

impl fmt::Display for TopicError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TopicError::Empty => f.write_str("empty topic name"),
            TopicError::TooLong { len, max } => {
                write!(f, "topic name of {len} bytes (at most {max})")
            }
            TopicError::Invalid => {
                f.write_str("topic name with a control character, or a `*` other than a final `/*`")
            }
            TopicError::TooMany { count, max } => write!(f, "{count} topics (at most {max})"),
            TopicError::None => f.write_str("no topic"),
        }
    }
}

impl std::error::Error for TopicError {}

/// Checks a topic name: 1 to `max` bytes, no control character, no `*`.
pub(crate) fn check_topic(name: &str, max: usize) -> Result<(), TopicError> {
    check_len(name, max)?;
    if name.bytes().any(|b| b == b'*' || b.is_ascii_control()) {
        return Err(TopicError::Invalid);
    }
    Ok(())
}

fn check_len(name: &str, max: usize) -> Result<(), TopicError> {
    if name.is_empty() {
        return Err(TopicError::Empty);
    }
    if name.len() > max {
        return Err(TopicError::TooLong {
            len: name.len(),
            max,
        });
    }
    Ok(())
}

/// What a subscription asks for: one topic (`rooms/42`), or every topic under a prefix
/// (`rooms/42/*` matches `rooms/42/a` and `rooms/42/a/b`, not `rooms/42` itself; `*` alone
/// matches every topic).
///
/// ```
/// use ssekit::broker::Selector;
///
/// let room = Selector::new("rooms/42/*").unwrap();
/// assert!(room.is_pattern());
/// assert!(room.matches("rooms/42/messages"));
/// assert!(!room.matches("rooms/42"));
/// assert!(!room.matches("rooms/420/messages"));
/// assert!(Selector::new("rooms/4*").is_err()); // a `*` ends a `/`-prefix, or stands alone
/// ```
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Selector(Arc<str>);

impl Selector {
    /// Parses a selector (at most [`MAX_TOPIC_LEN`] bytes).
    pub fn new(selector: &str) -> Result<Selector, TopicError> {
        Selector::with_max_len(selector, MAX_TOPIC_LEN)
    }

    pub(crate) fn with_max_len(selector: &str, max: usize) -> Result<Selector, TopicError> {
        check_len(selector, max)?;
        let prefix = match selector.strip_suffix('*') {
            Some(prefix) if prefix.is_empty() || prefix.ends_with('/') => prefix,
            Some(_) => return Err(TopicError::Invalid),
            None => selector,
        };
        if prefix.bytes().any(|b| b == b'*' || b.is_ascii_control()) {
            return Err(TopicError::Invalid);
        }
        Ok(Selector(Arc::from(selector)))
    }

    /// The selector as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// True for a prefix pattern (`…/*` or `*`).
    pub fn is_pattern(&self) -> bool {
        self.0.ends_with('*')
    }

    /// The prefix of a pattern (`rooms/42/` for `rooms/42/*`, empty for `*`).
    fn prefix(&self) -> Option<&str> {
        self.0.strip_suffix('*')
    }

    /// True when an event published to `topic` is one this selector asks for.
    pub fn matches(&self, topic: &str) -> bool {
        match self.prefix() {
            Some(prefix) => topic.len() > prefix.len() && topic.starts_with(prefix),
            None => *self.0 == *topic,
        }
    }

    /// True when every topic `other` matches, this one matches too.
    pub fn covers(&self, other: &Selector) -> bool {
        match (self.prefix(), other.prefix()) {
            (_, None) => self.matches(other.as_str()),
            (Some(mine), Some(theirs)) => theirs.starts_with(mine),
            (None, Some(_)) => false,
        }
    }

    /// The selector matching exactly the topics both match, if any.
    fn intersect(&self, other: &Selector) -> Option<Selector> {
        if self.covers(other) {
            Some(other.clone())
        } else if other.covers(self) {
            Some(self.clone())
        } else {
            None
        }
    }
}

impl fmt::Debug for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A set of [`Selector`]s: the topics one subscription receives, or the topics an
/// [`Authorize`](super::Authorize) hook allows. Sorted, without duplicates, at most
/// [`MAX_SELECTORS`].
///
/// ```
/// use ssekit::broker::Selection;
///
/// let asked = Selection::new(["rooms/*", "news"]).unwrap();
/// let allowed = Selection::new(["rooms/42/*", "users/7"]).unwrap();
/// // What both allow: the narrower pattern; `news` and `users/7` are dropped.
/// assert_eq!(asked.intersect(&allowed), Selection::new(["rooms/42/*"]).unwrap());
/// assert!(asked.matches("rooms/1/x") && !asked.matches("users/7"));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Selection {
    selectors: Vec<Selector>,
}

impl Selection {
    /// Parses selectors (each as [`Selector::new`]); at least one, at most [`MAX_SELECTORS`].
    pub fn new<I>(selectors: I) -> Result<Selection, TopicError>
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        let mut parsed = Vec::new();
        for (count, selector) in selectors.into_iter().enumerate() {
            if count >= MAX_SELECTORS {
                return Err(TopicError::TooMany {
                    count: count + 1,
                    max: MAX_SELECTORS,
                });
            }
            parsed.push(Selector::new(selector.as_ref())?);
        }
        if parsed.is_empty() {
            return Err(TopicError::None);
        }
        Ok(Selection::from_selectors(parsed))
    }

    /// A selection of the given selectors (none is allowed: it matches nothing).
    pub fn from_selectors(mut selectors: Vec<Selector>) -> Selection {
        selectors.sort();
        selectors.dedup();
        selectors.truncate(MAX_SELECTORS);
        Selection { selectors }
    }

    /// The selectors, sorted.
    pub fn selectors(&self) -> &[Selector] {
        &self.selectors
    }

    /// True when it has no selector (it matches nothing).
    pub fn is_empty(&self) -> bool {
        self.selectors.is_empty()
    }

    /// True when one of its selectors matches `topic`.
    pub fn matches(&self, topic: &str) -> bool {
        self.selectors.iter().any(|s| s.matches(topic))
    }

    /// True when every topic `selector` matches is matched by this selection (one of its
    /// selectors covers it).
    pub fn covers(&self, selector: &Selector) -> bool {
        self.selectors.iter().any(|s| s.covers(selector))
    }

    /// The selection matching exactly the topics matched by both.
    pub fn intersect(&self, other: &Selection) -> Selection {
        let mut both = Vec::new();
        for mine in &self.selectors {
            for theirs in &other.selectors {
                if let Some(s) = mine.intersect(theirs) {
                    both.push(s);
                }
            }
        }
        // Drop what another selector of the result already covers.
        let both = Selection::from_selectors(both).selectors;
        let kept = both
            .iter()
            .filter(|s| !both.iter().any(|o| o != *s && o.covers(s)))
            .cloned()
            .collect();
        Selection::from_selectors(kept)
    }
}
