//! # ssekit-redis
//!
//! The resumable fan-out hub of [`ssekit::hub`] and the topic broker of
//! [`ssekit::broker`], shared by every instance of a server through a
//! [Redis Stream](https://redis.io/docs/latest/develop/data-types/streams/), so that a client
//! that reconnects to another instance behind the load balancer resumes after its
//! `Last-Event-ID` as if it had come back to the same one: [`RedisHub`] for one channel,
//! [`RedisBroker`] for many topics (see [below](#topics-redisbroker)).
//!
//! Redis Streams fit SSE exactly: `XADD` gives every entry an id, and `XREAD` after an id is
//! "resume after `Last-Event-ID`". The entry id *is* the SSE id.
//!
//! ## The hub: [`RedisHub`]
//!
//! ```no_run
//! use axum::{Router, extract::State, routing::get};
//! use ssekit_axum::{Event, LastEventId, Sse};
//! use ssekit_redis::{RedisHub, RedisHubConfig, RedisHubSubscription};
//!
//! async fn events(State(hub): State<RedisHub>, last: LastEventId) -> Sse<RedisHubSubscription> {
//!     // The same line serves the in-memory `ssekit_axum::Hub`: both are a `Broadcast`.
//!     Sse::from_broadcast(&hub, &last)
//! }
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let client = ssekit_redis::redis::Client::open("redis://127.0.0.1:6379")?;
//!     let hub = RedisHub::connect(client, RedisHubConfig::new("sse:news").max_len(1000)).await?;
//!
//!     // Any instance may publish; every instance's subscribers get it, once, in stream order.
//!     let id = hub.publish(Event::message("hello")).await?; // e.g. "1718000000000-0"
//!     # let _ = id;
//!
//!     let app = Router::new().route("/events", get(events)).with_state(hub);
//!     let listener = tokio::net::TcpListener::bind("0.0.0.0:3000").await?;
//!     axum::serve(listener, app).await?;
//!     Ok(())
//! }
//! ```
//!
//! ### How it works
//!
//! Each instance has one [`RedisHub`], which owns:
//!
//! - a local [`Hub`](ssekit::hub::Hub) (the in-memory hub of `ssekit`): the replay window and the fan-out to this
//!   instance's subscribers, each a cursor into the shared window;
//! - one reader task with **one** Redis connection, looping `XREAD BLOCK` on the stream after
//!   the last entry it has read, and publishing each new entry into the local hub, with the
//!   entry id as its event id. SSE clients never get a Redis connection of their own: 10 000 clients
//!   on an instance cost one blocked `XREAD`;
//! - one multiplexed [`ConnectionManager`](redis::aio::ConnectionManager) for
//!   [`RedisHub::publish`], which runs `XADD <key> MAXLEN ~ <max_len> * <fields>`. A publish does
//!   not touch the local hub: the event reaches it, like every other instance's hub, through the
//!   reader, so all instances see one order, the stream's.
//!
//! #### Encoded once per instance
//!
//! A frame carries `id: <entry id>`, and the entry id only exists once `XADD` has run, so an
//! entry stores the event's *fields* (`data`, `event`, `retry`, `comment`), and each instance's
//! reader encodes it once (through the same checked encoder as every event) into a shared
//! [`Frame`](ssekit_proto::Frame) that every local subscriber and every
//! replay reuses. Encoding is cheap next to the Redis round trip, and the entries stay plain
//! data that other programs can write (`XADD sse:news * event tick data 42`) or read. Unknown
//! fields are ignored; an entry the encoder refuses (an event name with a line break, written
//! by hand) is delivered as an id-only frame, so it injects nothing and the ids stay in
//! sequence. The event's own id, if it has one, is not stored: the entry id replaces it.
//!
//! #### The replay window
//!
//! [`RedisHubConfig::max_len`] is both the stream's `MAXLEN ~` and the local window's capacity.
//! At start the reader loads the newest `max_len` entries (`XREVRANGE ... COUNT max_len`) into
//! the local window, so a new instance can resume a client that has never been there. Redis
//! keeps at least `max_len` entries (`~` trims whole nodes, so a few more), the local window
//! exactly `max_len`: a `Last-Event-ID` is resumable on every instance as long as it is among
//! the last `max_len` events, and the local window is what answers (no Redis round trip per
//! client). An id older than that gets the local hub's reset frame, then the whole window (see
//! [`HubResume::Reset`]). The local hub's byte bound ([`HubConfig::max_bytes`](ssekit::hub::HubConfig::max_bytes)) still applies:
//! raise it for large events.
//!
//! #### A client that hops instances
//!
//! A client may have received entry `X` from instance A and reconnect to instance B before B's
//! reader has read `X` (the readers follow the same stream, but not in lockstep). Subscribed to
//! B's window at once, the id would be unknown and the client would get a reset and the whole
//! window again. [`RedisHub::subscribe`] therefore first waits until B's reader has read `X`
//! (bounded by [`RedisHubConfig::catch_up_timeout`]), then subscribes: the client gets every
//! event after `X` exactly once, in order. (Subscribing to the local window without that wait
//! would be wrong: in the tests, a client hopping between two instances every 30 events while
//! events are published got a reset, and the window again, in about one run in three. So the
//! local hub is not exposed: [`RedisHub`], and [`RedisTicket`] for the broker, are this
//! crate's [`Broadcast`](ssekit::Broadcast)s, and both wait.)
//!
//! #### Redis going away
//!
//! (What follows holds for [`RedisBroker`]'s reader too.)
//!
//! On any error the reader reconnects with exponential backoff
//! ([`RedisHubConfig::reconnect_backoff`]) and goes on after the last entry it read; the local
//! hub and its subscribers are untouched meanwhile (they just get no new events). The last id
//! read must not become a wall when Redis comes back without the stream's tail, so the reader
//! goes on after the newest entry that is *not newer* than the last one it read:
//!
//! - Redis restarted without persistence, or the key was deleted: the stream is empty or holds
//!   only entries added since, whose `*` ids (the clock's milliseconds) are above every id read
//!   before. The reader reads it from `0-0`, and clients resume across the restart.
//! - Redis restarted from a snapshot (RDB, or an AOF that lost its last second): the stream
//!   ends at an entry this instance has already read. The reader goes on after it, so nothing
//!   is delivered twice and nothing added since the restart is missed.
//!
//! The one case this cannot tell apart: a *new* stream whose ids are below the last id read
//! (it takes a clock that went back across the restart) has the entries that are already there
//! when the reader reconnects skipped; later entries are read.
//!
//! In both cases entries may have been lost with the stream: added before the crash, not read
//! by this instance yet. A [`RedisBroker`] says so in-band: when its reader comes back to a
//! stream that no longer holds the last entry it read, every subscriber gets the reset frame
//! before its next event, and a client resuming from an id before that point gets one too
//! (then what follows its id, nothing twice); a reconnection that finds the last entry read
//! still there is no loss and resets nobody. A [`RedisHub`]'s subscribers go on without a
//! reset.
//!
//! A [`RedisHub::publish`] while Redis is down fails ([`Error::Redis`]) and is not retried: the
//! caller knows whether the event may be sent twice. The publishing connection reconnects by
//! itself.
//!
//! Every error the reader retries is logged through [`tracing`](https://docs.rs/tracing)
//! (`warn` when it loses Redis or cannot reconnect, `info` when it is back).
//!
//! Limits: events published while an instance's reader was disconnected are read when it
//! reconnects, unless more than `max_len` were added meanwhile (the oldest of them are trimmed
//! before it reads them; a [`RedisBroker`] then signals the loss as above, since its last entry
//! read was trimmed too). Ids compare as Redis orders them; ids from another backend (the
//! in-memory hub's `"42"`) are unknown ids and get a reset.
//!
//! ## Topics: [`RedisBroker`]
//!
//! [`RedisBroker`] is the topic broker of [`ssekit::broker`] across instances: publish an
//! event to one or more topics on any instance; a client selects topics and prefix patterns
//! (`rooms/42/*`), is admitted (authorization hook, admission limits) before its stream
//! starts, and resumes all its topics with one `Last-Event-ID` on whichever instance it
//! reaches, exactly once, in publish order.
//!
//! ```no_run
//! use axum::{Router, extract::State, routing::get};
//! use ssekit_axum::{BrokerRequest, Event, LastEventId, Rejected, Sse};
//! use ssekit_redis::{RedisBroker, RedisBrokerConfig, RedisBrokerSubscription};
//!
//! // GET /events?topic=rooms/42/*&topic=users/7
//! async fn events(
//!     State(broker): State<RedisBroker>,
//!     BrokerRequest(request): BrokerRequest,
//!     last: LastEventId,
//! ) -> Result<Sse<RedisBrokerSubscription>, Rejected> {
//!     let ticket = broker.admit_query(&request)?; // 400 / 403 / 503 before any stream starts
//!     Ok(Sse::from_broadcast(&ticket, &last)) // the same line as for the in-memory broker
//! }
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let client = ssekit_redis::redis::Client::open("redis://127.0.0.1:6379")?;
//! let config = RedisBrokerConfig::new("sse:rooms").max_len(10_000);
//! let broker = RedisBroker::connect(client, config).await?;
//! broker.publish(["rooms/42/chat"], Event::message("hi")).await?;
//! broker.publish(["users/7", "users/8"], Event::message("ping")).await?; // one entry, two topics
//! let app: Router = Router::new().route("/events", get(events)).with_state(broker);
//! # let _ = app; Ok(()) }
//! ```
//!
//! For an authorization hook (the JWT one of `ssekit::broker::jwt`, or your own
//! [`Authorize`](broker::Authorize)), connect with [`RedisBroker::connect_with_authorize`]; it
//! decides what [`RedisBroker::admit`] grants and what [`RedisBroker::publish_as`] allows.
//!
//! ### One stream for all topics
//!
//! Every topic lives in **one** stream key. An entry holds the event's fields, as for the hub,
//! and a `topics` field: its topics joined with LF, which no topic name can contain (names have
//! no control characters). `XADD sse:rooms * topics "users/7\nusers/8" data ping` is a valid
//! entry written by hand.
//!
//! Each instance has one reader task with **one** Redis connection, whatever the number of
//! topics, patterns and clients: it follows the stream as the hub's reader does and publishes
//! each entry into a local [`Broker`](ssekit::broker::Broker) with the entry id as the
//! event id ([`BrokerConfig::external_ids`](ssekit::broker::BrokerConfig::external_ids)).
//! That local broker is the whole in-memory broker: one window of (entry id, frame, topics)
//! for all topics, each entry encoded **once** per instance however many topics it names and
//! subscribers it reaches, subscriptions that are cursors skipping other topics' entries, the
//! authorization hook, admission limits, the stall rules and byte budget, metrics. Publishing
//! is one `XADD` on the instance's publishing connection; like the hub, a publish does not
//! touch the local broker, so every instance sees one order, the stream's.
//!
//! Why one stream and not one per topic: the entry ids of two streams do not say which event
//! came first, so with a stream per topic one `Last-Event-ID` could not resume several topics
//! (the client would need an id per topic, which `EventSource` cannot send), and the reader
//! would need an `XREAD` over every topic its clients select, a key list that changes as
//! clients come and go (or a connection per topic). One stream is one order that every
//! instance reads the same way, and the entry id names a place in it for every topic at once.
//!
//! What it costs: every instance reads every entry, including those of topics none of its
//! clients selects. Such an entry is one frame in the window and nothing more (no subscriber
//! looks at it twice), and the window is bounded by count (`max_len`) and bytes
//! ([`BrokerConfig::max_bytes`](ssekit::broker::BrokerConfig::max_bytes)). One stream
//! lives on one Redis node: past what one node writes, split the topics over several keys
//! (one [`RedisBroker`] each, by topic family).
//!
//! ### What an instance holds, and what a resume gets
//!
//! - The window: the newest `max_len` entries of all topics (at start, the reader loads them
//!   with `XREVRANGE`, and the id of the one before them), their frames and topic lists; the
//!   byte bound may hold fewer. A `Last-Event-ID` among them (or the one just before them)
//!   resumes on every instance, after the catch-up wait a
//!   [`RedisHub`] does too (a client coming from an instance a little ahead waits, up to
//!   [`RedisBrokerConfig::catch_up_timeout`], until this one has read its id).
//! - An id older than the window, an unknown one (not an entry id, from another stream, or
//!   one this instance never read) gets the broker's reset frame (`sse-reset`, with an `id:`),
//!   then what the window holds of the client's topics. Except, as in the in-memory broker,
//!   a subscription of topics none of which had an event since that id, when this instance
//!   has been following them since before it: it resumes without a reset.
//! - Per topic or pattern in use, a small state, bounded by
//!   [`BrokerConfig::max_topics`](ssekit::broker::BrokerConfig::max_topics) and
//!   [`max_idle_topics`](ssekit::broker::BrokerConfig::max_idle_topics). An entry is
//!   taken even when every topic slot is in use (its subscribers still get it), since it is
//!   already in the stream.
//! - Per subscriber, a cursor: no queue, no Redis connection.
//!
//! [`RedisBroker::publish`] checks the topics with the local broker's rules before `XADD`, so
//! that every instance takes the entry (give every instance the same
//! [`BrokerConfig`](ssekit::broker::BrokerConfig)). An entry without a `topics` field,
//! with a malformed topic, or with an id below the last one read (a stream recreated with a
//! clock that went back) is skipped with a `warn` log: no subscriber gets it. Ids need no
//! [`epoch`](ssekit::broker::BrokerConfig::epoch): an entry id stays the same across
//! instance restarts. Redis restarts are handled as for the hub, and a possible loss is
//! signalled in-band (above). Do not use one key
//! for both a [`RedisHub`] and a [`RedisBroker`]: the hub would serve every topic's entries
//! to everyone.
//!
//! ## Feature flags
//!
//! None. The crate uses `redis` with `tokio-comp`, `streams` and `connection-manager`, and
//! needs a tokio runtime ([`RedisHub::connect`] spawns the reader). For `rediss://` URLs,
//! enable a TLS feature of `redis` in your own `Cargo.toml` (for example
//! `redis = { version = "1", features = ["tokio-rustls-comp"] }`): Cargo unifies features, so
//! the [`redis::Client`] you pass in speaks TLS. Redis Cluster is not supported (one stream
//! lives on one node anyway).
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod entry;
mod error;
mod hub;
mod link;
mod reader;
mod subscription;
mod topics;

pub use crate::error::Error;
pub use crate::hub::{RedisHub, RedisHubConfig};
pub use crate::subscription::{RedisBrokerSubscription, RedisHubSubscription};
pub use crate::topics::{RedisBroker, RedisBrokerConfig, RedisTicket};
/// The `redis` crate this one is built on (for [`redis::Client`] and [`redis::RedisError`]).
pub use redis;
/// The topic broker of `ssekit` that [`RedisBroker`] runs on each instance: its
/// selections, authorization hook, rejections and resume kinds.
#[doc(no_inline)]
pub use ssekit::broker;
#[doc(no_inline)]
pub use ssekit::hub::HubResume;

/// This crate's README: its examples are compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
