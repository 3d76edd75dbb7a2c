//! Ids that come from outside the broker: [`ExternalIds`].

use std::fmt;

/// Event ids assigned outside the broker, in publish order: the entry ids of a Redis Stream
/// (`1718000000000-0`), a log's offsets, time-ordered UUIDs. A broker given them
/// ([`BrokerConfig::external_ids`](super::BrokerConfig::external_ids)) takes every event with
/// its id ([`Broker::publish_with_id`](super::Broker::publish_with_id)) instead of numbering
/// it, and resumes a subscriber after such an id, with the same guarantees as its own
/// sequence: one window, each event encoded once, exactly once in order, a reset frame for an
/// id it no longer holds.
///
/// What the broker needs to know of such ids is their order: `position` maps an id to a
/// number that grows with publish order (a Redis entry id `ms-seq` is `ms << 64 | seq`), and
/// text that is not an id of this kind to `None` (a resume from it gets a reset frame).
/// `origin` is the id before every event, as `0-0` is for Redis: it is the `id:` of a reset
/// frame when the broker knows no event before the ones it holds, and a resume from it gets
/// everything retained. Its position must be below every event's.
///
/// ```
/// use ssekit::broker::ExternalIds;
///
/// // Offsets of a log, as decimal numbers; `0` comes before the first one.
/// fn offset(id: &str) -> Option<u128> {
///     ssekit::decimal::parse(id).map(u128::from)
/// }
/// let ids = ExternalIds::new("0", offset);
/// assert_eq!(ids.position("17"), Some(17));
/// assert_eq!(ids.position("x"), None);
/// ```
///
/// An origin that could not be an SSE id does not compile in a `const`:
///
/// ```compile_fail
/// const BAD: ssekit::broker::ExternalIds = ssekit::broker::ExternalIds::new("0\n", |_| None);
/// ```
#[derive(Clone, Copy)]
pub struct ExternalIds {
    origin: &'static str,
    position: fn(&str) -> Option<u128>,
}

impl ExternalIds {
    /// Ids ordered by `position`, starting after `origin` (see the type's docs).
    ///
    /// # Panics
    ///
    /// If `origin` could not be an SSE id (it contains CR, LF or NUL): it is the `id:` of reset
    /// frames. In a `const` (as `ssekit-redis` makes its ids), that is a compile error.
    pub const fn new(origin: &'static str, position: fn(&str) -> Option<u128>) -> ExternalIds {
        let bytes = origin.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            assert!(
                !matches!(bytes[i], b'\r' | b'\n' | 0),
                "an origin id must not contain CR, LF or NUL"
            );
            i += 1;
        }
        ExternalIds { origin, position }
    }

    /// The id before every event.
    pub fn origin(&self) -> &'static str {
        self.origin
    }

    /// Where `id` is in publish order; `None` when it is not an id of this kind.
    pub fn position(&self, id: &str) -> Option<u128> {
        (self.position)(id.trim())
    }
}

impl fmt::Debug for ExternalIds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExternalIds")
            .field("origin", &self.origin)
            .finish_non_exhaustive()
    }
}

impl PartialEq for ExternalIds {
    fn eq(&self, other: &ExternalIds) -> bool {
        self.origin == other.origin && std::ptr::fn_addr_eq(self.position, other.position)
    }
}

impl Eq for ExternalIds {}
