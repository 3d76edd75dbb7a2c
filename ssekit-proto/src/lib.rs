//! # ssekit-proto
//!
//! The Server-Sent Events protocol, and nothing else: an injection-proof [`Event`] encoder and a
//! sans-IO incremental [`Parser`] that follows the WHATWG HTML Living Standard
//! ("Server-sent events", "Interpreting an event stream") rule for rule. `no_std` + `alloc`,
//! no `unsafe` code but one small module (the SSE2 line-end search, its invariants written
//! down), two default dependencies (`memchr` for searches, `simdutf8` for UTF-8 validation).
//!
//! ## Encoding
//!
//! ```
//! use ssekit_proto::Event;
//!
//! let event = Event::builder().event("greeting").id("1").data("hello\nworld").build()?;
//! let mut wire = Vec::new();
//! event.encode(&mut wire); // reuses `wire`'s capacity
//! assert_eq!(wire, b"event: greeting\nid: 1\ndata: hello\ndata: world\n\n");
//! # Ok::<(), ssekit_proto::EventError>(())
//! ```
//!
//! ## Parsing
//!
//! ```
//! use ssekit_proto::{Parsed, Parser};
//!
//! let mut parser = Parser::new();
//! let mut seen = Vec::new();
//! for chunk in [&b"\xEF\xBB\xBFretry: 500\rdata: a\r"[..], b"\ndata: b\n\n"] {
//!     for item in parser.feed(chunk) {
//!         match item {
//!             Ok(Parsed::Event(event)) => seen.push(event.data().to_owned()),
//!             Ok(Parsed::Retry(retry)) => assert_eq!(retry.as_millis(), 500),
//!             Err(limit) => eprintln!("event discarded: {limit}"),
//!             Ok(_) => {} // outputs a later version may add
//!         }
//!     }
//! }
//! // The end of the input: nothing was left incomplete.
//! assert!(!parser.finish().discarded());
//! assert_eq!(seen, ["a\nb"]);
//! ```
//!
//! ## Feature flags
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `std` | yes | `std` support in dependencies (errors implement `core::error::Error` either way) |
//! | `bytes` | no | `Frame` (`Event::to_frame`), `Event::to_bytes`, `EventBuilder::to_bytes` and `Event::encode_buf` (`bytes::BufMut`) |
//! | `futures` | no | `stream`: a `Stream` of byte chunks into parsed events, and a `Stream` of events into `Bytes` frames (implies `bytes`) |
//! | `serde` | no | `EventBuilder::json_data` and `MessageEvent::json` (serde + serde_json, `alloc` only) |
//!
//! The server side (response bodies, keep-alive, shutdown, `Last-Event-ID`, the resumable hub)
//! is the `ssekit` crate, built on this one; the framework adapters build on that.
//!
//! Without default features the crate builds for bare-metal targets that have `alloc` and
//! atomic pointers (for example `thumbv7em-none-eabihf`).
#![no_std]
#![deny(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

mod event;
#[cfg(feature = "bytes")]
mod frame;
mod lines;
mod parser;
#[cfg(feature = "futures")]
pub mod stream;

pub use event::{Event, EventBuilder, EventError, EventName, KEEP_ALIVE};
#[cfg(feature = "bytes")]
pub use frame::Frame;
pub use parser::{
    EventRef, Feed, Finish, Limits, MessageEvent, ParseError, Parsed, ParsedRef, Parser,
};

/// This crate's README: its examples are compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
