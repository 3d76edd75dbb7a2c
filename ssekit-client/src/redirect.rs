//! [`RedirectPolicy`]: which redirects an [`EventSource`](crate::EventSource) follows.

/// Which redirects an [`EventSource`](crate::EventSource) follows; set with
/// [`EventSourceBuilder::redirects`](crate::EventSourceBuilder::redirects).
///
/// # What following a redirect does to the request
///
/// Under every policy, a redirect that is followed changes the request as Fetch's
/// "HTTP-redirect fetch" does (and browsers, and so a browser's `EventSource`):
///
/// | redirect | method and body |
/// |---|---|
/// | `307`, `308` | kept: a `POST` goes on as a `POST` with the same body, to wherever the `Location` points |
/// | `301`, `302` of a `POST`; `303` of anything but `GET`/`HEAD` | a `GET` without body, and without `Content-Type`, `Content-Encoding`, `Content-Language`, `Content-Location` |
/// | `301`, `302`, `303` of anything else | kept (a `GET` stays a `GET`) |
///
/// | redirect to | headers |
/// |---|---|
/// | the same origin (scheme, host and port) | all kept |
/// | another origin | `Authorization`, `Cookie` and `Proxy-Authorization` dropped; every other header kept, your own (`X-Api-Key`, ...) included |
///
/// Fetch drops `Authorization` on a redirect to another origin; a browser keeps cookies per
/// origin in its cookie jar, so the `Cookie` you set for the first origin would not go to the
/// second either; `Proxy-Authorization` belongs to the proxy of the first request. A browser's
/// `EventSource` cannot set any other header, so the standard says nothing about yours; `fetch()`
/// keeps them across origins (after a CORS preflight, which the other origin must answer), as
/// do reqwest's, curl's and Go's redirect following. This client keeps them too, and keeps a
/// `307`/`308` body: under [`Follow`](RedirectPolicy::Follow) a server can send your
/// `X-Api-Key` and your `POST` body to any origin it names. When your headers or body are
/// secrets meant for one origin, use [`SameOrigin`](RedirectPolicy::SameOrigin).
///
/// Every policy follows at most 20 redirects in a row (as Fetch); a followed redirect sticks
/// once the connection it led to opens (see [`EventSource`](crate::EventSource)). A redirect
/// the policy refuses fails the connection with [`ClientError::RedirectBlocked`](crate::ClientError::RedirectBlocked):
/// nothing is sent to its target and there is no reconnection (the same request would meet the
/// same redirect).
///
/// With a [`client`](crate::EventSourceBuilder::client) of your own that follows redirects
/// itself, the source never sees them and this policy does not apply: build that client with
/// [`reqwest::redirect::Policy::none()`] to leave redirects to the source.
///
/// ```
/// use ssekit_client::{EventSource, RedirectPolicy};
///
/// let events = EventSource::builder("https://api.example.com/v1/stream")
///     .header("X-Api-Key", "secret")
///     .redirects(RedirectPolicy::SameOrigin)
///     .build()?;
/// # Ok::<(), ssekit_client::ClientError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum RedirectPolicy {
    /// Follow every `http`/`https` redirect, to any origin, as a browser does (the default).
    #[default]
    Follow,
    /// Follow redirects within the origin of the URL being requested (same scheme, host and
    /// port: `http` to `https` on the same host is another origin); refuse a redirect to
    /// another origin with [`ClientError::RedirectBlocked`](crate::ClientError::RedirectBlocked).
    /// Your headers and body never leave the origin of the source's URL.
    SameOrigin,
    /// Follow no redirect: any `301`, `302`, `303`, `307` or `308` with a `Location` fails the
    /// connection with [`ClientError::RedirectBlocked`](crate::ClientError::RedirectBlocked).
    Never,
}
