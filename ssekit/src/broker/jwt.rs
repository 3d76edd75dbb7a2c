//! A ready [`Authorize`] hook: JSON Web Tokens (HS256 or RS256) with Mercure-style claims.
//!
//! The token names the selectors its bearer may subscribe to and publish to:
//!
//! ```json
//! { "exp": 1767225600, "mercure": { "subscribe": ["rooms/*", "users/7"], "publish": ["rooms/*"] } }
//! ```
//!
//! It is read from, in order: an `Authorization: Bearer` header, a cookie (default
//! `mercureAuthorization`), or a query parameter (default `authorization`, what an
//! `EventSource` page can send). A subscription is admitted only when the token covers every
//! selector asked for ([`Selection::covers`]); a publish only when it covers every topic.
//!
//! ```
//! use jsonwebtoken::{EncodingKey, Header, encode};
//! use ssekit::broker::jwt::{Claims, JwtAuthorize, MercureClaim};
//! use ssekit::broker::{Authorize, RequestInfo, Selection};
//!
//! let auth = JwtAuthorize::hs256(b"secret");
//! let claims = Claims {
//!     exp: Some(u64::MAX / 2),
//!     mercure: MercureClaim { subscribe: vec!["rooms/*".into()], publish: vec![] },
//! };
//! let token = encode(&Header::default(), &claims, &EncodingKey::from_secret(b"secret")).unwrap();
//! let request = RequestInfo::new().query(format!("authorization={token}"));
//!
//! let asked = Selection::new(["rooms/42/*"]).unwrap();
//! assert!(auth.subscribe(&request, &asked).is_ok());
//! let asked = Selection::new(["users/7"]).unwrap();
//! assert!(auth.subscribe(&request, &asked).is_err());
//! assert!(auth.publish(&request, &["rooms/1"]).is_err());
//! ```

/// The `jsonwebtoken` crate this hook is built on, for making tokens and keys of the same
/// version.
pub use jsonwebtoken;
use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode};
use serde::{Deserialize, Serialize};

use super::auth::{Authorize, Denied, Grant, RequestInfo};
use super::topic::{Selection, Selector};

/// The longest token accepted, in bytes: a longer one is refused before it is decoded.
pub const MAX_TOKEN_LEN: usize = 8 * 1024;

/// The `mercure` claim: what the bearer may subscribe to and publish to (selectors, as
/// [`Selector`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MercureClaim {
    /// Selectors the bearer may subscribe to.
    #[serde(default)]
    pub subscribe: Vec<String>,
    /// Selectors the bearer may publish to.
    #[serde(default)]
    pub publish: Vec<String>,
}

/// The claims the hook reads.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Expiry (seconds since the Unix epoch); required unless the validation says otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exp: Option<u64>,
    /// What the bearer may do.
    #[serde(default)]
    pub mercure: MercureClaim,
}

/// The JWT hook. See the [module docs](self).
pub struct JwtAuthorize {
    key: DecodingKey,
    validation: Validation,
    cookie: String,
    query: String,
    anonymous: Option<Selection>,
}

impl std::fmt::Debug for JwtAuthorize {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtAuthorize")
            .field("algorithms", &self.validation.algorithms)
            .field("cookie", &self.cookie)
            .field("query", &self.query)
            .field("anonymous", &self.anonymous)
            .finish()
    }
}

impl JwtAuthorize {
    /// Tokens signed with HMAC-SHA256 and this secret.
    pub fn hs256(secret: &[u8]) -> JwtAuthorize {
        JwtAuthorize::new(DecodingKey::from_secret(secret), Algorithm::HS256)
    }

    /// Tokens signed with RSA-SHA256; `pem` is the public key.
    pub fn rs256_pem(pem: &[u8]) -> Result<JwtAuthorize, jsonwebtoken::errors::Error> {
        Ok(JwtAuthorize::new(
            DecodingKey::from_rsa_pem(pem)?,
            Algorithm::RS256,
        ))
    }

    /// Tokens verified with `key` and `algorithm` (only that algorithm is accepted).
    pub fn new(key: DecodingKey, algorithm: Algorithm) -> JwtAuthorize {
        JwtAuthorize {
            key,
            validation: Validation::new(algorithm),
            cookie: "mercureAuthorization".into(),
            query: "authorization".into(),
            anonymous: None,
        }
    }

    /// Replaces the validation rules (algorithms, `exp`, `aud`, `iss`, leeway).
    pub fn validation(mut self, validation: Validation) -> JwtAuthorize {
        self.validation = validation;
        self
    }

    /// The cookie holding the token (default `mercureAuthorization`).
    pub fn cookie(mut self, name: impl Into<String>) -> JwtAuthorize {
        self.cookie = name.into();
        self
    }

    /// The query parameter holding the token (default `authorization`).
    pub fn query_param(mut self, name: impl Into<String>) -> JwtAuthorize {
        self.query = name.into();
        self
    }

    /// What a request without a token may subscribe to (default: nothing, it is refused).
    pub fn anonymous(mut self, selection: Selection) -> JwtAuthorize {
        self.anonymous = Some(selection);
        self
    }

    /// The verified claims of the request's token; `Ok(None)` without a token.
    pub fn claims(&self, request: &RequestInfo) -> Result<Option<Claims>, Denied> {
        let token = match request
            .bearer_token()
            .or_else(|| request.cookie(&self.cookie))
        {
            Some(token) => token.to_owned(),
            None => match request.query_param(&self.query) {
                Some(token) => token,
                None => return Ok(None),
            },
        };
        if token.len() > MAX_TOKEN_LEN {
            return Err(Denied::InvalidCredentials("token too long".into()));
        }
        decode::<Claims>(&token, &self.key, &self.validation)
            .map(|data| Some(data.claims))
            .map_err(|e| Denied::InvalidCredentials(e.to_string()))
    }

    /// The claim's selectors; a malformed one is skipped (it allows nothing).
    fn allowed(selectors: &[String]) -> Selection {
        Selection::from_selectors(
            selectors
                .iter()
                .filter_map(|s| Selector::new(s).ok())
                .collect(),
        )
    }
}

impl Authorize for JwtAuthorize {
    fn subscribe(&self, request: &RequestInfo, asked: &Selection) -> Result<Selection, Denied> {
        self.grant(request, asked).map(|grant| grant.selection)
    }

    /// The token's subscribe claim, and its `exp`: the stream ends when the token expires.
    fn grant(&self, request: &RequestInfo, asked: &Selection) -> Result<Grant, Denied> {
        let (allowed, expires) = match self.claims(request)? {
            Some(claims) => (
                JwtAuthorize::allowed(&claims.mercure.subscribe),
                claims
                    .exp
                    .map(|exp| std::time::UNIX_EPOCH + std::time::Duration::from_secs(exp)),
            ),
            None => (
                self.anonymous.clone().ok_or(Denied::MissingCredentials)?,
                None,
            ),
        };
        match asked.selectors().iter().find(|s| !allowed.covers(s)) {
            Some(refused) => Err(Denied::NotAllowed(refused.to_string())),
            None => Ok(Grant::new(asked.clone(), expires)),
        }
    }

    fn publish(&self, request: &RequestInfo, topics: &[&str]) -> Result<(), Denied> {
        let claims = self.claims(request)?.ok_or(Denied::MissingCredentials)?;
        let allowed = JwtAuthorize::allowed(&claims.mercure.publish);
        match topics.iter().find(|t| !allowed.matches(t)) {
            Some(refused) => Err(Denied::NotAllowed((*refused).to_owned())),
            None => Ok(()),
        }
    }
}
