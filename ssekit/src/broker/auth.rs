//! The authorization hook: who may subscribe to what, and who may publish where.

use std::fmt;

use super::topic::Selection;

/// What a request carries that an [`Authorize`] hook may look at: its headers and its query
/// string, as the framework hands them to the handler (the framework bounds their size).
///
/// ```
/// use ssekit::broker::RequestInfo;
///
/// let request = RequestInfo::new()
///     .header("Authorization", "Bearer abc.def")
///     .header("Cookie", "theme=dark; session=s1")
///     .query("topic=rooms%2F42&token=t0");
/// assert_eq!(request.bearer_token(), Some("abc.def"));
/// assert_eq!(request.cookie("session"), Some("s1"));
/// assert_eq!(request.query_param("topic").as_deref(), Some("rooms/42"));
/// assert_eq!(request.query_params("topic"), ["rooms/42"]);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestInfo {
    headers: Vec<(String, String)>,
    query: String,
}

impl RequestInfo {
    /// No header, no query.
    pub fn new() -> RequestInfo {
        RequestInfo::default()
    }

    /// The headers and query string of a request, as a framework hands them: `(name, value)`
    /// pairs (values that are not UTF-8 are skipped) and the query without its `?`. Every
    /// adapter's handler builds it in one line, e.g. on axum or warp
    /// `RequestInfo::from_parts(headers.iter().map(|(n, v)| (n.as_str(), v.as_bytes())), uri.query())`.
    ///
    /// ```
    /// use ssekit::broker::RequestInfo;
    ///
    /// let headers = [("cookie", &b"user=7"[..]), ("x-binary", &b"\xff"[..])];
    /// let request = RequestInfo::from_parts(headers, Some("topic=a"));
    /// assert_eq!(request.cookie("user"), Some("7"));
    /// assert_eq!(request.query_params("topic"), ["a"]);
    /// ```
    pub fn from_parts<'a, I>(headers: I, query: Option<&str>) -> RequestInfo
    where
        I: IntoIterator<Item = (&'a str, &'a [u8])>,
    {
        let headers = headers
            .into_iter()
            .filter_map(|(name, value)| {
                Some((name.to_owned(), std::str::from_utf8(value).ok()?.to_owned()))
            })
            .collect();
        RequestInfo {
            headers,
            query: query.unwrap_or_default().to_owned(),
        }
    }

    /// Adds a header (names compare case-insensitively).
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> RequestInfo {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Sets the query string (without the `?`).
    pub fn query(mut self, query: impl Into<String>) -> RequestInfo {
        self.query = query.into();
        self
    }

    /// The first value of a header.
    pub fn header_value(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The token of an `Authorization: Bearer …` header.
    pub fn bearer_token(&self) -> Option<&str> {
        let value = self.header_value("authorization")?.trim();
        let (scheme, token) = value.split_once(' ')?;
        scheme
            .eq_ignore_ascii_case("bearer")
            .then(|| token.trim())
            .filter(|t| !t.is_empty())
    }

    /// The value of a cookie, from every `Cookie` header.
    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case("cookie"))
            .flat_map(|(_, v)| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.trim_matches('"'))
    }

    /// The first value of a query parameter, percent-decoded (`+` is a space).
    pub fn query_param(&self, name: &str) -> Option<String> {
        self.query_params(name).into_iter().next()
    }

    /// Every value of a query parameter (`?topic=a&topic=b`), percent-decoded.
    pub fn query_params(&self, name: &str) -> Vec<String> {
        crate::query::values(&self.query, name)
    }
}

/// Why a request was refused by an [`Authorize`] hook: a subscribe answered `403 Forbidden`
/// before the stream starts.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Denied {
    /// The request carries no credentials and anonymous access is not allowed.
    MissingCredentials,
    /// The credentials are malformed, expired, or badly signed.
    InvalidCredentials(String),
    /// The credentials do not allow this topic or selector.
    NotAllowed(String),
}

impl fmt::Display for Denied {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Denied::MissingCredentials => f.write_str("no credentials"),
            Denied::InvalidCredentials(why) => write!(f, "invalid credentials: {why}"),
            Denied::NotAllowed(what) => write!(f, "not allowed: {what}"),
        }
    }
}

impl std::error::Error for Denied {}

/// The application's authorization hook, run by [`Broker::admit`](super::Broker::admit)
/// before a stream starts and by [`Broker::publish_as`](super::Broker::publish_as).
///
/// The broker delivers to a subscription only events of the topics its **returned** selection
/// matches, so a hook narrows what a subscriber asked for (or refuses it); nothing the hook did
/// not allow ever reaches it. Look at the request's cookie, `Authorization` header, or a token in
/// the query string (what an `EventSource` page can send: it cannot set headers).
///
/// ```
/// use ssekit::broker::{Authorize, Denied, RequestInfo, Selection};
///
/// /// Each user may follow the rooms and their own notifications.
/// struct Users;
///
/// impl Authorize for Users {
///     fn subscribe(&self, request: &RequestInfo, asked: &Selection) -> Result<Selection, Denied> {
///         let user = request.cookie("user").ok_or(Denied::MissingCredentials)?;
///         let allowed = Selection::new(["rooms/*".to_owned(), format!("users/{user}")])
///             .map_err(|e| Denied::InvalidCredentials(e.to_string()))?;
///         let granted = asked.intersect(&allowed);
///         if granted.is_empty() {
///             return Err(Denied::NotAllowed("nothing asked for is allowed".into()));
///         }
///         Ok(granted)
///     }
///
///     fn publish(&self, _request: &RequestInfo, _topics: &[&str]) -> Result<(), Denied> {
///         Err(Denied::NotAllowed("clients do not publish".into()))
///     }
/// }
/// ```
pub trait Authorize: Send + Sync + 'static {
    /// The selection this request may receive, given what it asked for (usually the
    /// intersection, see [`Selection::intersect`]), or why it may not subscribe.
    fn subscribe(&self, request: &RequestInfo, asked: &Selection) -> Result<Selection, Denied>;

    /// Whether this request may publish to every one of `topics`.
    fn publish(&self, request: &RequestInfo, topics: &[&str]) -> Result<(), Denied>;

    /// [`subscribe`](Self::subscribe), and until when the grant holds: a credential's expiry
    /// (a token's `exp`). The broker ends the subscription's stream at that time, so the
    /// client reconnects with fresh credentials, as Mercure does. The default: the grant of
    /// `subscribe`, with no expiry. [`JwtAuthorize`](super::jwt::JwtAuthorize) gives the
    /// token's `exp`.
    fn grant(&self, request: &RequestInfo, asked: &Selection) -> Result<Grant, Denied> {
        self.subscribe(request, asked).map(|selection| Grant {
            selection,
            expires: None,
        })
    }
}

/// What [`Authorize::grant`] lets a request subscribe to, and until when.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Grant {
    /// The selection the subscription receives.
    pub selection: Selection,
    /// When the grant ends (the stream is ended then); `None`: never.
    pub expires: Option<std::time::SystemTime>,
}

impl Grant {
    /// A grant of `selection` until `expires`.
    pub fn new(selection: Selection, expires: Option<std::time::SystemTime>) -> Grant {
        Grant { selection, expires }
    }
}

/// The default hook: anyone may subscribe to anything, no request may publish (publish from
/// the server with [`Broker::publish`](super::Broker::publish), which needs no hook).
#[derive(Debug, Clone, Copy, Default)]
pub struct PublicSubscribe;

impl Authorize for PublicSubscribe {
    fn subscribe(&self, _request: &RequestInfo, asked: &Selection) -> Result<Selection, Denied> {
        Ok(asked.clone())
    }

    fn publish(&self, _request: &RequestInfo, _topics: &[&str]) -> Result<(), Denied> {
        Err(Denied::NotAllowed(
            "publishing from requests is not enabled".into(),
        ))
    }
}
