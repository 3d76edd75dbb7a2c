//! # ssekit
//!
//! The server side of Server-Sent Events that every framework adapter shares, on top of the
//! protocol crate [`ssekit_proto`]: the adapters (`ssekit-axum`, `ssekit-actix-web`, `ssekit-warp`) are glue
//! around what is here, so they all behave the same.
//!
//! - [`SseBody`]: the response body. It encodes each [`Event`] into a [`Frame`] (or passes
//!   frames through), sends a keep-alive comment after an idle interval ([`KeepAlive`],
//!   default 15 s), ends on [`Shutdown`], and drops your stream as soon as the client is gone.
//! - [`headers`]: the response headers, and how `Connection` is handled on HTTP/1.1 and HTTP/2.
//! - [`last_event_id`]: reading `Last-Event-ID` (header, or `?lastEventId=`), the same rules
//!   in every adapter.
//! - [`Broadcast`]: "something a client subscribes to with its `Last-Event-ID`"; every
//!   adapter serves any implementation with one constructor.
//! - [`ReceiverStream`]: a tokio `mpsc` receiver as a body stream (`Sse::from_receiver`).
//! - [`hub::Hub`]: the in-memory [`Broadcast`]: encode once, replay after `Last-Event-ID`,
//!   bounded slow subscribers. `ssekit-redis` shares one across instances through Redis Streams.
//! - [`broker::Broker`]: many topics behind one connection: topic patterns, one `Last-Event-ID`
//!   for all of them, an authorization hook, admission limits, metrics.
//! - [`restart`]: rolling restarts: a `retry:` first, and on shutdown a last `retry:` with a
//!   random spread, so the clients of a stopping instance come back spread out.
//! - [`query`] and [`decimal`]: the one query-string reader and the one decimal-id reader
//!   every part of the crate (and `ssekit-redis`) uses.
//! - [`clock`]: where the hub and the broker read the time, injectable for tests.
//!
//! ```
//! use futures_util::StreamExt;
//! use ssekit::{Event, SseBody, hub::Hub};
//!
//! # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
//! let hub = Hub::new();
//! hub.publish(Event::message("one"));
//!
//! // What an adapter does for `Sse::from_broadcast(&hub, &last_event_id)`:
//! let mut body = SseBody::new(hub.subscribe(Some("0")));
//! // "0" was never published: a reset frame, then the retained event. Both are ready, so they
//! // go out as one chunk (one write, one HTTP/1.1 chunk header).
//! let chunk = body.next().await.unwrap().unwrap(); // Result<Bytes, Infallible>
//! assert_eq!(chunk, &b"event: sse-reset\ndata: 0\n\nid: 1\ndata: one\n\n"[..]);
//! hub.publish(Event::message("two"));
//! assert_eq!(body.next().await.unwrap().unwrap(), &b"id: 2\ndata: two\n\n"[..]);
//! # });
//! ```
//!
//! ## Features
//!
//! - `jwt`: `broker::jwt`, a ready JWT (HS256/RS256) authorization hook for the broker, with
//!   Mercure-style claims.
//! - `metrics`: the broker reports through the `metrics` facade (see [`broker::metrics`]).
//! - `serde`: `EventBuilder::json_data`, JSON event data (the protocol crate's `serde`
//!   feature, forwarded so that users name one crate).
//!
//! The crate needs tokio's timers (for keep-alive) and nothing else of a runtime; the hub is
//! runtime-agnostic (a mutex and wakers).
//!
//! ## Feature flags
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `signal` | no | `signal`: [`Shutdown::trigger_on_signals`](crate::Shutdown), Ctrl-C and `SIGTERM` trigger a [`Shutdown`] (tokio's `signal` feature) |
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod body;
mod broadcast;
pub mod broker;
pub mod clock;
pub mod decimal;
#[cfg(feature = "edge")]
#[cfg_attr(docsrs, doc(cfg(feature = "edge")))]
pub mod edge;
pub mod headers;
pub mod hub;
pub mod last_event_id;
pub mod origin;
pub mod query;
mod receiver;
pub mod restart;
#[cfg(feature = "signal")]
pub mod signal;
mod stall;
mod window;

pub use body::{IntoFrame, KeepAlive, Shutdown, SseBody, Stalled};
pub use broadcast::Broadcast;
pub use receiver::ReceiverStream;
/// The protocol crate, [`ssekit_proto`]: the encoder, [`Frame`], the parser and its streams.
/// Its everyday types are also at this crate's root.
pub use ssekit_proto as proto;
pub use ssekit_proto::{Event, EventBuilder, EventError, EventName, Frame, event_name};

/// This crate's README: its examples are compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
