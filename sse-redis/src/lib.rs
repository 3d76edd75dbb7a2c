//! # sse-redis
//!
//! The resumable fan-out hub of [`sse_server::hub`], shared by every instance of a server through
//! a [Redis Stream](https://redis.io/docs/latest/develop/data-types/streams/), so that a client
//! that reconnects to another instance behind the load balancer resumes after its
//! `Last-Event-ID` as if it had come back to the same one.
//!
//! Redis Streams fit SSE exactly: `XADD` gives every entry an id, and `XREAD` after an id is
//! "resume after `Last-Event-ID`". The entry id *is* the SSE id.
//!
//! ```no_run
//! use axum::{Router, extract::State, routing::get};
//! use sse_axum::{Event, LastEventId, Sse};
//! use sse_redis::{RedisHub, RedisHubConfig, RedisSubscription};
//!
//! async fn events(State(hub): State<RedisHub>, last: LastEventId) -> Sse<RedisSubscription> {
//!     // The same line serves the in-memory `sse_axum::Hub`: both are a `Broadcast`.
//!     Sse::from_broadcast(&hub, &last)
//! }
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let client = sse_redis::redis::Client::open("redis://127.0.0.1:6379")?;
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
//! ## How it works
//!
//! Each instance has one [`RedisHub`], which owns:
//!
//! - a local [`Hub`] (the in-memory hub of `sse-core`): the replay window and the fan-out to this
//!   instance's subscribers, each a cursor into the shared window;
//! - one reader task with **one** Redis connection, looping `XREAD BLOCK` on the stream after
//!   the last entry it has read, and publishing each new entry into the local hub, with the
//!   entry id as its event id. SSE clients never get a Redis connection of their own: 10 000 clients
//!   on an instance cost one blocked `XREAD`;
//! - one multiplexed [`ConnectionManager`] for
//!   [`RedisHub::publish`], which runs `XADD <key> MAXLEN ~ <max_len> * <fields>`. A publish does
//!   not touch the local hub: the event reaches it, like every other instance's hub, through the
//!   reader, so all instances see one order, the stream's.
//!
//! ### Encoded once per instance
//!
//! A frame carries `id: <entry id>`, and the entry id only exists once `XADD` has run, so an
//! entry stores the event's *fields* (`data`, `event`, `retry`, `comment`), and each instance's
//! reader encodes it once (through the same checked encoder as every event) into a shared
//! [`Frame`](sse_core::Frame) that every local subscriber and every
//! replay reuses. Encoding is cheap next to the Redis round trip, and the entries stay plain
//! data that other programs can write (`XADD sse:news * event tick data 42`) or read. Unknown
//! fields are ignored; an entry the encoder refuses (an event name with a line break, written
//! by hand) is delivered as an id-only frame, so it injects nothing and the ids stay in
//! sequence. The event's own id, if it has one, is not stored: the entry id replaces it.
//!
//! ### The replay window
//!
//! [`RedisHubConfig::max_len`] is both the stream's `MAXLEN ~` and the local window's capacity.
//! At start the reader loads the newest `max_len` entries (`XREVRANGE ... COUNT max_len`) into
//! the local window, so a new instance can resume a client that has never been there. Redis
//! keeps at least `max_len` entries (`~` trims whole nodes, so a few more), the local window
//! exactly `max_len`: a `Last-Event-ID` is resumable on every instance as long as it is among
//! the last `max_len` events, and the local window is what answers (no Redis round trip per
//! client). An id older than that gets the local hub's reset frame, then the whole window (see
//! [`Resume::Reset`]). The local hub's byte bound ([`HubConfig::max_bytes`]) still applies:
//! raise it for large events.
//!
//! ### A client that hops instances
//!
//! A client may have received entry `X` from instance A and reconnect to instance B before B's
//! reader has read `X` (the readers follow the same stream, but not in lockstep). Subscribed to
//! B's window at once, the id would be unknown and the client would get a reset and the whole
//! window again. [`RedisHub::subscribe`] therefore first waits until B's reader has read `X`
//! (bounded by [`RedisHubConfig::catch_up_timeout`]), then subscribes: the client gets every
//! event after `X` exactly once, in order. (Subscribing to the local window without that wait
//! would be wrong: in the tests, a client hopping between two instances every 30 events while
//! events are published got a reset, and the window again, in about one run in three. So the
//! local hub is not exposed; [`RedisHub`] is the only [`Broadcast`] of this crate.)
//!
//! ### Redis going away
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
//! A [`RedisHub::publish`] while Redis is down fails ([`Error::Redis`]) and is not retried: the
//! caller knows whether the event may be sent twice. The publishing connection reconnects by
//! itself.
//!
//! Every error the reader retries is logged through [`tracing`](https://docs.rs/tracing)
//! (`warn` when it loses Redis or cannot reconnect, `info` when it is back).
//!
//! Limits: events published while an instance's reader was disconnected are read when it
//! reconnects, unless more than `max_len` were added meanwhile (the oldest of them are trimmed
//! before it reads them). Ids compare as Redis orders them; ids from another backend (the
//! in-memory hub's `"42"`) are unknown ids and get a reset.
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
mod reader;
mod subscription;

use std::borrow::Borrow;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use sse_core::Event;
use sse_server::Broadcast;
use sse_server::hub::{Hub, HubConfig};
use tokio::sync::watch;
use tokio::task::AbortHandle;

use crate::entry::EntryId;
use crate::reader::{Reader, Settings};

pub use crate::error::Error;
pub use crate::subscription::RedisSubscription;
/// The `redis` crate this one is built on (for [`redis::Client`] and [`redis::RedisError`]).
pub use redis;
#[doc(no_inline)]
pub use sse_server::hub::Resume;

/// Settings of a [`RedisHub`]: the stream key, the window, the reader's timings.
#[derive(Debug, Clone)]
#[must_use = "settings do nothing until given to RedisHub::connect"]
pub struct RedisHubConfig {
    key: String,
    max_len: usize,
    hub: HubConfig,
    catch_up: Duration,
    publish_timeout: Duration,
    settings: Settings,
}

impl RedisHubConfig {
    /// Settings for the stream at `key`, with the defaults: `max_len` 1024, a 2 s `XREAD`
    /// block, batches of 512 entries, reconnection backoff from 50 ms to 2 s, a 5 s catch-up
    /// timeout, 1 s connection and publish timeouts, and the local hub's default settings.
    pub fn new(key: impl Into<String>) -> RedisHubConfig {
        RedisHubConfig {
            key: key.into(),
            max_len: 1024,
            hub: HubConfig::default(),
            catch_up: Duration::from_secs(5),
            publish_timeout: Duration::from_secs(1),
            settings: Settings {
                block: Duration::from_secs(2),
                batch: 512,
                backoff_min: Duration::from_millis(50),
                backoff_max: Duration::from_secs(2),
                connect_timeout: Duration::from_secs(1),
            },
        }
    }

    /// The replay window, in events (default 1024; at least 1): the stream's `MAXLEN ~` and the
    /// local hub's capacity, which it overrides.
    pub fn max_len(mut self, events: usize) -> RedisHubConfig {
        self.max_len = events.max(1);
        self
    }

    /// The local hub's settings (byte bound, lag policy, reset event name); its capacity is
    /// replaced by [`max_len`](Self::max_len).
    pub fn hub_config(mut self, config: HubConfig) -> RedisHubConfig {
        self.hub = config;
        self
    }

    /// How long one `XREAD` blocks waiting for entries (default 2 s). Shorter notices a dead
    /// connection sooner; new entries are delivered at once either way.
    pub fn block(mut self, block: Duration) -> RedisHubConfig {
        self.settings.block = block.max(Duration::from_millis(1));
        self
    }

    /// Most entries one `XREAD` returns (default 512; at least 1).
    pub fn batch(mut self, entries: usize) -> RedisHubConfig {
        self.settings.batch = entries.max(1);
        self
    }

    /// The reconnection backoff of the reader and of the publishing connection: the first
    /// retry after `min`, doubling up to `max` (defaults 50 ms and 2 s).
    pub fn reconnect_backoff(mut self, min: Duration, max: Duration) -> RedisHubConfig {
        self.settings.backoff_min = min.max(Duration::from_millis(1));
        self.settings.backoff_max = max.max(self.settings.backoff_min);
        self
    }

    /// How long [`RedisHub::subscribe`] waits for this instance to read the entry a client
    /// says it has seen elsewhere (default 5 s). After that (the id may be bogus) the client
    /// is subscribed as the local hub sees it: a reset, then the window.
    pub fn catch_up_timeout(mut self, timeout: Duration) -> RedisHubConfig {
        self.catch_up = timeout;
        self
    }

    /// How long connecting to Redis may take (default 1 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> RedisHubConfig {
        self.settings.connect_timeout = timeout;
        self
    }

    /// How long a publish waits for Redis's answer (default 1 s).
    pub fn publish_timeout(mut self, timeout: Duration) -> RedisHubConfig {
        self.publish_timeout = timeout;
        self
    }

    /// The stream key.
    pub fn key(&self) -> &str {
        &self.key
    }
}

/// One instance's view of the shared stream: publish to it, subscribe to it. Cheap to clone
/// (clones share the reader, the connections and the local hub).
///
/// Dropping the last clone (or calling [`RedisHub::close`]) stops the reader and closes the
/// local hub, which ends every subscription once it has delivered what it has.
#[derive(Clone)]
pub struct RedisHub {
    inner: Arc<Inner>,
}

struct Inner {
    hub: Hub,
    key: String,
    max_len: usize,
    catch_up: Duration,
    publisher: ConnectionManager,
    applied: watch::Receiver<Option<EntryId>>,
    connected: Arc<AtomicBool>,
    reader: AbortHandle,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.reader.abort();
        self.hub.close();
    }
}

impl std::fmt::Debug for RedisHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisHub")
            .field("key", &self.inner.key)
            .field("max_len", &self.inner.max_len)
            .field("last_entry_id", &self.last_entry_id())
            .field("reader_connected", &self.reader_connected())
            .field("hub", &self.inner.hub)
            .finish()
    }
}

impl RedisHub {
    /// Connects to Redis (a reader connection and a publishing connection), loads the newest
    /// [`max_len`](RedisHubConfig::max_len) entries of the stream into the local window and
    /// starts the reader task (on the current tokio runtime).
    ///
    /// Fails if Redis cannot be reached now; once connected, the reader and the publishing
    /// connection reconnect by themselves.
    pub async fn connect(client: redis::Client, config: RedisHubConfig) -> Result<RedisHub, Error> {
        let RedisHubConfig {
            key,
            max_len,
            hub,
            catch_up,
            publish_timeout,
            settings,
        } = config;
        let hub = Hub::with_config(hub.capacity(max_len));
        let publisher = ConnectionManager::new_with_config(
            client.clone(),
            ConnectionManagerConfig::new()
                .set_min_delay(settings.backoff_min)
                .set_max_delay(settings.backoff_max)
                .set_connection_timeout(Some(settings.connect_timeout))
                .set_response_timeout(Some(publish_timeout)),
        )
        .await?;
        let (applied_tx, applied) = watch::channel(None);
        let connected = Arc::new(AtomicBool::new(true));
        let mut reader = Reader::new(
            client,
            key.clone(),
            hub.clone(),
            max_len,
            settings,
            applied_tx,
            connected.clone(),
        );
        let mut conn = reader.connect().await?;
        reader.load(&mut conn).await?;
        let task = tokio::spawn(reader.run(Some(conn)));
        Ok(RedisHub {
            inner: Arc::new(Inner {
                hub,
                key,
                max_len,
                catch_up,
                publisher,
                applied,
                connected,
                reader: task.abort_handle(),
            }),
        })
    }

    /// Adds `event` to the stream (`XADD key MAXLEN ~ max_len * ...`) and returns its entry
    /// id, which is its SSE id. Every instance's subscribers receive it through their reader,
    /// this instance's included.
    ///
    /// The event's own id, if any, is not used. On an error the event may or may not have been
    /// added (see [`Error::Redis`]); publishing again may deliver it twice.
    pub async fn publish(&self, event: impl Borrow<Event>) -> Result<Arc<str>, Error> {
        let mut xadd = redis::cmd("XADD");
        xadd.arg(&self.inner.key)
            .arg("MAXLEN")
            .arg("~")
            .arg(self.inner.max_len)
            .arg("*");
        for (name, value) in entry::fields(event.borrow()) {
            xadd.arg(name).arg(value.as_bytes());
        }
        let mut conn = self.inner.publisher.clone();
        let id: Option<String> = xadd.query_async(&mut conn).await?;
        id.map(Arc::from).ok_or(Error::NoEntryId)
    }

    /// Subscribes, resuming after `last_event_id` when given: every retained event after it,
    /// then live events, as [`Hub::subscribe`] does on the local window, after waiting (up to
    /// [`RedisHubConfig::catch_up_timeout`]) for this instance to have read the entry
    /// `last_event_id` if it has not yet (a client coming from another instance).
    pub fn subscribe(&self, last_event_id: Option<&str>) -> RedisSubscription {
        let hub = &self.inner.hub;
        let Some((id, target)) = last_event_id.and_then(|id| Some((id, EntryId::parse(id)?)))
        else {
            return RedisSubscription::subscribed(hub.subscribe(last_event_id));
        };
        let reached = move |applied: &Option<EntryId>| applied.is_some_and(|a| a >= target);
        if self.inner.catch_up.is_zero() || reached(&self.inner.applied.borrow()) {
            return RedisSubscription::subscribed(hub.subscribe(last_event_id));
        }
        let mut applied = self.inner.applied.clone();
        let timeout = self.inner.catch_up;
        let wait = Box::pin(async move {
            // Ends when the reader has read `target`, when it is gone, or at the timeout.
            let _ = tokio::time::timeout(timeout, applied.wait_for(reached)).await;
        });
        RedisSubscription::catching_up(wait, hub.clone(), id.to_owned())
    }

    /// How many subscriptions of this instance are live (see [`Hub::subscriber_count`]).
    pub fn subscriber_count(&self) -> usize {
        self.inner.hub.subscriber_count()
    }

    /// How many events, and how many frame bytes, this instance's window holds.
    pub fn retained(&self) -> (usize, usize) {
        self.inner.hub.retained()
    }

    /// The stream key.
    pub fn key(&self) -> &str {
        &self.inner.key
    }

    /// The id of the newest entry this instance has read into its window, if any.
    pub fn last_entry_id(&self) -> Option<String> {
        self.inner.applied.borrow().map(|id| id.to_string())
    }

    /// Whether the reader's last command succeeded (false while it is reconnecting). A
    /// health check for the load balancer: an instance whose reader is down serves no new
    /// events.
    pub fn reader_connected(&self) -> bool {
        self.inner.connected.load(Ordering::Relaxed)
    }

    /// Stops the reader and closes the local hub: every subscription ends once it has
    /// delivered what it has (clients reconnect, to another instance). Publishing still works.
    pub fn close(&self) {
        self.inner.reader.abort();
        self.inner.connected.store(false, Ordering::Relaxed);
        self.inner.hub.close();
    }
}

impl Broadcast for RedisHub {
    type Subscription = RedisSubscription;

    fn subscribe(&self, last_event_id: Option<&str>) -> RedisSubscription {
        RedisHub::subscribe(self, last_event_id)
    }
}

/// This crate's README: its examples are compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
