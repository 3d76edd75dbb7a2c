//! Cross-site publishing: accept a cookie-authenticated publish only from configured origins.
//!
//! A browser sends cookies with a cross-site form `POST`, so a publish endpoint that takes its
//! token from a cookie (the broker's JWT hook reads `mercureAuthorization`, see
//! [`broker::jwt`](crate::broker::jwt)) would publish on behalf of whoever visits another site.
//! [`PublishOrigins::check`] closes that, as Mercure does: a request that carries the token
//! cookie and no `Authorization` header must name an allowed origin in its `Origin` header
//! (or, without one, in its `Referer`); a request authorized by an `Authorization` header, or
//! without the cookie, is not subject to it (a cross-site page cannot set that header, nor
//! know a token to put in a query).
//!
//! **Default:** [`PublishOrigins::new`] with no origin refuses every cookie-authenticated
//! publish; list the page origins that publish (`https://app.example.com`), or `*` for any
//! (which turns the check off). A publish endpoint calls it before it reads the body.
//!
//! ```
//! use ssekit::broker::RequestInfo;
//! use ssekit::origin::{OriginDenied, PublishOrigins};
//!
//! let origins = PublishOrigins::new(["https://app.example.com"]);
//! let cookie = "mercureAuthorization=eyJ...";
//! let same_site = RequestInfo::new()
//!     .header("cookie", cookie)
//!     .header("origin", "https://app.example.com");
//! assert!(origins.check(&same_site).is_ok());
//! let cross_site = RequestInfo::new()
//!     .header("cookie", cookie)
//!     .header("origin", "https://evil.example");
//! assert!(matches!(origins.check(&cross_site), Err(OriginDenied::NotAllowed(_))));
//! // A Referer stands in for a missing Origin; neither is refused.
//! let referred = RequestInfo::new()
//!     .header("cookie", cookie)
//!     .header("referer", "https://app.example.com:443/chat?room=1");
//! assert!(origins.check(&referred).is_ok());
//! assert_eq!(
//!     origins.check(&RequestInfo::new().header("cookie", cookie)),
//!     Err(OriginDenied::Missing)
//! );
//! // A bearer token is not a cookie: no origin needed.
//! let bearer = RequestInfo::new()
//!     .header("cookie", cookie)
//!     .header("authorization", "Bearer eyJ...");
//! assert!(origins.check(&bearer).is_ok());
//! ```

use std::fmt;

use crate::broker::RequestInfo;

/// The cookie [`PublishOrigins`] looks for by default: the one the broker's JWT hook reads.
pub const DEFAULT_COOKIE: &str = "mercureAuthorization";

/// The origins a cookie-authenticated publish may come from (see the [module](self)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishOrigins {
    /// Normalised (see [`origin_of`]).
    allowed: Vec<String>,
    any: bool,
    cookie: String,
}

/// Why [`PublishOrigins::check`] refused a request (answer `403 Forbidden`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OriginDenied {
    /// The request is cookie-authenticated and has neither an `Origin` nor a `Referer`
    /// header (or `Origin: null`).
    Missing,
    /// Its origin is not one of the allowed origins.
    NotAllowed(String),
}

impl fmt::Display for OriginDenied {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OriginDenied::Missing => {
                f.write_str("a cookie-authenticated publish must send an Origin or Referer header")
            }
            OriginDenied::NotAllowed(origin) => {
                write!(
                    f,
                    "cookie-authenticated publishes from {origin} are not allowed"
                )
            }
        }
    }
}

impl std::error::Error for OriginDenied {}

impl PublishOrigins {
    /// Cookie-authenticated publishes from these origins only (`scheme://host[:port]`, or a
    /// URL whose origin is taken; `*` allows any). Entries that are not origins are ignored;
    /// none at all refuses every cookie-authenticated publish.
    pub fn new<I, S>(origins: I) -> PublishOrigins
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut allowed = Vec::new();
        let mut any = false;
        for origin in origins {
            let origin = origin.as_ref().trim();
            if origin == "*" {
                any = true;
            } else if let Some(origin) = origin_of(origin) {
                allowed.push(origin);
            }
        }
        PublishOrigins {
            allowed,
            any,
            cookie: DEFAULT_COOKIE.to_owned(),
        }
    }

    /// The cookie that makes a request cookie-authenticated (default [`DEFAULT_COOKIE`],
    /// `mercureAuthorization`; set it to what the authorization hook reads).
    #[must_use]
    pub fn cookie(mut self, name: impl Into<String>) -> PublishOrigins {
        self.cookie = name.into();
        self
    }

    /// Whether `origin` (normalised by [`origin_of`]) is allowed.
    pub fn allows(&self, origin: &str) -> bool {
        self.any || origin_of(origin).is_some_and(|origin| self.allowed.contains(&origin))
    }

    /// `Ok` unless `request` is cookie-authenticated (it has the cookie and no
    /// `Authorization` header) and its `Origin` (or, without one, its `Referer`'s origin) is
    /// not allowed.
    pub fn check(&self, request: &RequestInfo) -> Result<(), OriginDenied> {
        if self.any
            || request.header_value("authorization").is_some()
            || request.cookie(&self.cookie).is_none()
        {
            return Ok(());
        }
        let origin = match request.header_value("origin") {
            Some(origin) if origin.trim() != "null" => Some(origin.trim()),
            Some(_) => None,
            None => request.header_value("referer").map(str::trim),
        };
        let Some(origin) = origin else {
            return Err(OriginDenied::Missing);
        };
        if self.allows(origin) {
            Ok(())
        } else {
            Err(OriginDenied::NotAllowed(origin.chars().take(200).collect()))
        }
    }
}

/// The origin of an `http` or `https` URL, as browsers serialise it: `scheme://host[:port]`,
/// scheme and host lowercased, the default port (80, 443) left out; `None` for anything else.
///
/// ```
/// use ssekit::origin::origin_of;
///
/// assert_eq!(origin_of("HTTPS://App.Example.com:443/a?b").as_deref(), Some("https://app.example.com"));
/// assert_eq!(origin_of("http://127.0.0.1:8846").as_deref(), Some("http://127.0.0.1:8846"));
/// assert_eq!(origin_of("http://user@host/"), None);
/// assert_eq!(origin_of("null"), None);
/// ```
pub fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "http" => "80",
        "https" => "443",
        _ => return None,
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.is_empty() || authority.contains('@') {
        return None;
    }
    let authority = authority.to_ascii_lowercase();
    // A port follows the last `:` unless it is inside an IPv6 literal (`[::1]`).
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) if !port.contains(']') => (host, Some(port)),
        _ => (authority.as_str(), None),
    };
    if host.is_empty()
        || port.is_some_and(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    Some(match port {
        Some(port) if port != default_port => format!("{scheme}://{host}:{port}"),
        _ => format!("{scheme}://{host}"),
    })
}
