//! A load generator for Server-Sent Events servers, and the pieces it is made of.
//!
//! [`run`] opens many HTTP/1.1 connections to one `http://` event stream from one tokio
//! thread and measures what they receive: events and events per second, events per
//! connection, delivery latency, connect time, time to first event, connections the server
//! ended, `sse-reset` events and failures. It is what `ssekit bench` (the `ssekit-cli` crate)
//! runs, and what the workspace's server-scale benchmark drives from a thread of its own while
//! it watches the run through [`Progress`].
//!
//! [`run`]'s documentation shows a run from start to report.
//!
//! ## How a connection works
//!
//! Each connection is a small hand-written HTTP/1.1 client over a `tokio::net::TcpStream`: a
//! `GET` with `Accept: text/event-stream`, the response head (a status other than 200 or a
//! `Content-Type` other than `text/event-stream` is a failure), then the body (chunked,
//! decoded by [`chunked::ChunkedDecoder`]; `Content-Length`; or up to the end of the
//! connection) fed straight into an [`ssekit_proto::Parser`] with `Parser::feed_with`, so an
//! event costs no allocation. All connections share one read buffer. Connects go through a
//! concurrency limit ([`Options::connect_concurrency`]) with up to 8 attempts and exponential
//! backoff (50 ms, doubling, at most 1 s), so a server's listen queue is not flooded unless
//! asked for. Connections are not reopened.
//!
//! Delivery latency follows the [`latency`] convention: an event's data carries its send time.
//!
//! ## Modules
//!
//! - [`chunked`]: an incremental, sans-I/O HTTP/1.1 chunked-body decoder, also used by the
//!   workspace's test clients.
//! - [`latency`]: the send-time convention ([`latency::send_time_us`]).
//!
//! ## Features
//!
//! - `runner` (default): the load generator ([`run`], [`Options`], [`Report`], [`Progress`]),
//!   on tokio and [`ssekit_proto`]. Without it the crate is [`chunked`] and [`latency`] alone.
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod chunked;
pub mod latency;
#[cfg(feature = "runner")]
mod runner;

#[cfg(feature = "runner")]
pub use runner::{DRAIN, Error, Options, Percentiles, Progress, Report, raise_fd_limit, run};

/// This crate's README: its examples are compiled as doctests.
#[cfg(all(doctest, feature = "runner"))]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
