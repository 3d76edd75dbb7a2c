//! # ssekit-client
//!
//! The browser's [`EventSource`], for Rust: a client for Server-Sent Events over
//! [reqwest](https://docs.rs/reqwest/0.12), parsing with the spec-exact [`ssekit_proto::Parser`].
//! For LLM streaming APIs, live feeds, and the tests of your own SSE server.
//!
//! ```no_run
//! # async fn run() -> Result<(), ssekit_client::ClientError> {
//! use futures_util::StreamExt;
//! use ssekit_client::{EventSource, SseItem};
//!
//! let mut events = EventSource::new("http://127.0.0.1:8844/events")?;
//! while let Some(item) = events.next().await {
//!     match item {
//!         Ok(SseItem::Open) => eprintln!("connected"),
//!         Ok(SseItem::Message(event)) => {
//!             println!("{} id={} {}", event.event_type(), event.last_event_id(), event.data())
//!         }
//!         Ok(_) => {}
//!         // The error tells whether the source reconnects or has closed for good.
//!         Err(error) if error.is_fatal() => eprintln!("{error}; closed"),
//!         Err(error) => eprintln!("{error}; reconnecting"),
//!     }
//! }
//! # Ok(()) }
//! ```
//!
//! ## The browser's EventSource, item by item
//!
//! | browser | here |
//! |---|---|
//! | `new EventSource(url)` | [`EventSource::new`], or [`EventSource::builder`] for headers (`Cookie`, `Authorization`: the `withCredentials` role), method and body (`POST` streaming APIs), the initial last event ID, a custom [`reqwest::Client`], the [`ReconnectPolicy`], the [`RedirectPolicy`], the idle timeout |
//! | `readyState` `CONNECTING`/`OPEN`/`CLOSED` | [`EventSource::ready_state`]: [`ReadyState`] |
//! | `open` event | [`SseItem::Open`] |
//! | `message` and custom event types | [`SseItem::Message`] with [`MessageEvent::event_type`] |
//! | `error` event | an `Err(`[`ClientError`]`)` item |
//! | `close()` | [`EventSource::close`], or [`Handle::close`] from another task |
//! | reconnection with `Last-Event-ID`, `retry:` | automatic; exponential backoff with jitter on repeated failures ([`ReconnectPolicy`]) |
//!
//! Everything the HTML standard's processing model asks for is here: `Accept:
//! text/event-stream` and `Cache-Control: no-cache` on every request, redirects followed as
//! Fetch follows them (and reconnections to where they led), the last event ID set at every
//! blank line, a
//! non-200 status or a non-`text/event-stream` MIME type fails the connection for good, a
//! network error or the end of the body reconnects after the reconnection time, a stream cut
//! mid-event never delivers the partial event. See [`EventSource`] for the details.
//!
//! ## Defaults, and where they differ from a browser
//!
//! A browser's `EventSource` trusts the server to pace it; this client does not, by default:
//!
//! | what | default | setting | a browser |
//! |---|---|---|---|
//! | idle read timeout | 60 s without a byte (keep-alive comments count; the wait for the response head too) drops the connection: [`ClientError::IdleTimeout`], then the usual reconnection | [`EventSourceBuilder::idle_timeout`] (`None` turns it off) | waits forever |
//! | backoff after failed attempts | the waits double from the reconnection time (at least 50 ms), jittered, capped at 60 s (or the server's `retry`) | [`ReconnectPolicy`] | waits the reconnection time every time |
//! | backoff after empty connections | a connection that opens and ends without dispatching an event is *empty*; from the second empty one in a row the waits back off as after a failed attempt; an event resets it | [`ReconnectPolicy::backoff_after_empty`] (`None`: as a browser) | reconnects after `retry` every time (`retry: 0` and an instant close: thousands of requests a second) |
//! | redirects | followed as Fetch follows them: a cross-origin redirect drops `Authorization`, `Cookie`, `Proxy-Authorization` and keeps your other headers and a `307`/`308` body | [`EventSourceBuilder::redirects`] with [`RedirectPolicy::SameOrigin`] (same-origin only) or [`RedirectPolicy::Never`] | the same (it cannot set custom headers or a body) |
//! | parser limits | 4 MiB lines, 8 MiB events | [`EventSourceBuilder::limits`] | none |
//!
//! The standard allows the backoff ("user agents might introduce an exponential backoff
//! delay"); the idle timeout is a network error the standard does not ask for. A server that
//! keeps a stream open sends a keep-alive comment well within 60 s (ssekit's default is every
//! 15 s), so neither ever fires on a healthy stream.
//!
//! The crate's tests run the same scripted servers through headless Chromium's `EventSource`
//! and through this one and compare what each dispatched, requested and ended in
//! (`tests/chromium.rs`, with the few allowed differences and their reasons).
//!
//! ## Feature flags
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `rustls` | yes | `https://` URLs, through reqwest's `rustls-tls` (rustls with the webpki root certificates), and [`EventSourceBuilder::add_root_certificate`] |
//!
//! `https://` works out of the box. To bring your own TLS (native-tls, other roots, a client
//! certificate) turn the default features off (`ssekit-client = { version = "0.1",
//! default-features = false }`) and pass a [`reqwest::Client`] built with it to
//! [`EventSourceBuilder::client`]. Without any TLS in the build an `https://` URL fails like
//! an unreachable server (network errors, reconnection with backoff).
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod builder;
mod error;
mod policy;
mod redirect;
mod source;

pub use builder::EventSourceBuilder;
pub use error::ClientError;
pub use policy::ReconnectPolicy;
pub use redirect::RedirectPolicy;
pub use source::{EventSource, Handle, ReadyState, SseItem};

/// The reqwest this crate is built on, for [`EventSourceBuilder::client`] and the types in
/// errors ([`reqwest::StatusCode`], [`reqwest::Error`]).
pub use reqwest;
/// Re-exported from `ssekit-proto`: the parsed event, the parser limits and their error.
pub use ssekit_proto::{Limits, MessageEvent, ParseError};

/// This crate's README: its examples are compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
