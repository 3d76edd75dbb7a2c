//! The reader: one task and one Redis connection per instance, following the stream into the
//! local hub or broker (its [`Sink`]).
//!
//! It loops `XREAD BLOCK <ms> COUNT <n> STREAMS <key> <last id>`, always with an explicit id
//! (never `$`, which would skip what was added while no `XREAD` was pending), and hands each
//! new entry to its sink, which encodes it once and publishes it locally. Every error it retries is logged through
//! `tracing` (`warn` when the reader loses Redis, `info` when it is back). On any error it reconnects with
//! exponential backoff and works out where to go on from (see [`Reader::resume_point`]).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use redis::aio::MultiplexedConnection;
use redis::streams::{StreamId, StreamRangeReply, StreamReadOptions, StreamReadReply};
use redis::{AsyncCommands, Value};
use ssekit::hub::Hub;
use tokio::sync::watch;

use crate::entry::{self, EntryId};

/// Where the reader puts what it reads: the local hub, or the local broker.
pub(crate) trait Sink: Send + Sync + 'static {
    /// Takes the entry `id` with the fields `map`, in stream order.
    fn apply(&mut self, id: &str, map: &HashMap<String, Value>);

    /// Entries may have been lost between the last one applied and the next: the stream came
    /// back without the last entry read (see [`Reader::resume_point`]).
    fn gap(&mut self) {}
}

impl Sink for Hub {
    fn apply(&mut self, id: &str, map: &HashMap<String, Value>) {
        self.publish(entry::event(id, map));
    }
}

/// The reader's settings, from [`crate::RedisHubConfig`] or [`crate::RedisBrokerConfig`].
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub(crate) block: Duration,
    pub(crate) batch: usize,
    pub(crate) backoff_min: Duration,
    pub(crate) backoff_max: Duration,
    pub(crate) connect_timeout: Duration,
}

impl Settings {
    /// The reader connection's settings: a response may take the whole `BLOCK` time, so the
    /// response timeout is that plus a margin (it still catches a half-open connection).
    pub(crate) fn connection_config(&self) -> redis::AsyncConnectionConfig {
        redis::AsyncConnectionConfig::new()
            .set_connection_timeout(Some(self.connect_timeout))
            .set_response_timeout(Some(self.block + Duration::from_secs(2)))
    }
}

pub(crate) struct Reader<S> {
    pub(crate) client: redis::Client,
    pub(crate) key: String,
    pub(crate) sink: S,
    /// How many entries the start-up load reads (about the local window's capacity).
    pub(crate) window: usize,
    pub(crate) settings: Settings,
    /// The id of the last entry given to the sink, for subscribers waiting to catch up.
    pub(crate) applied: watch::Sender<Option<EntryId>>,
    pub(crate) connected: Arc<AtomicBool>,
    /// The last entry given to the sink.
    last: Option<EntryId>,
    /// Where the next `XREAD` starts (exclusive).
    from: EntryId,
}

impl<S: Sink> Reader<S> {
    pub(crate) fn new(
        client: redis::Client,
        key: String,
        sink: S,
        window: usize,
        settings: Settings,
        applied: watch::Sender<Option<EntryId>>,
        connected: Arc<AtomicBool>,
    ) -> Reader<S> {
        Reader {
            client,
            key,
            sink,
            window,
            settings,
            applied,
            connected,
            last: None,
            from: EntryId::ZERO,
        }
    }

    pub(crate) async fn connect(&self) -> redis::RedisResult<MultiplexedConnection> {
        self.client
            .get_multiplexed_async_connection_with_config(&self.settings.connection_config())
            .await
    }

    /// Loads the newest `window` entries into the sink (oldest first) and goes on after them.
    pub(crate) async fn load(
        &mut self,
        conn: &mut MultiplexedConnection,
    ) -> redis::RedisResult<()> {
        let newest: StreamRangeReply = conn
            .xrevrange_count(&self.key, "+", "-", self.window)
            .await?;
        self.apply(newest.ids.iter().rev());
        self.from = self.last.unwrap_or(EntryId::ZERO);
        Ok(())
    }

    /// Follows the stream for ever (the task is aborted when the hub or broker goes away).
    pub(crate) async fn run(mut self, mut conn: Option<MultiplexedConnection>) {
        let mut delay = self.settings.backoff_min;
        loop {
            let mut c = match conn.take() {
                Some(c) => c,
                None => match self.reconnect().await {
                    Ok(c) => {
                        tracing::info!(key = %self.key, from = %self.from, "ssekit-redis reader reconnected");
                        c
                    }
                    Err(error) => {
                        tracing::warn!(key = %self.key, %error, retry_in = ?delay, "ssekit-redis reader cannot reconnect");
                        tokio::time::sleep(delay).await;
                        delay = (delay * 2).min(self.settings.backoff_max);
                        continue;
                    }
                },
            };
            self.connected.store(true, Ordering::Relaxed);
            match self.read(&mut c).await {
                Ok(()) => {
                    delay = self.settings.backoff_min;
                    conn = Some(c);
                }
                Err(error) => {
                    tracing::warn!(key = %self.key, %error, retry_in = ?delay, "ssekit-redis reader lost Redis; reconnecting");
                    self.connected.store(false, Ordering::Relaxed);
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(self.settings.backoff_max);
                }
            }
        }
    }

    async fn reconnect(&mut self) -> redis::RedisResult<MultiplexedConnection> {
        let mut conn = self.connect().await?;
        let from = self.resume_point(&mut conn).await?;
        if self.last.is_some_and(|last| last != from) {
            // The last entry read is gone (Redis lost the stream or its tail, or it was trimmed
            // past us): entries added after it, not read yet, may be gone too.
            tracing::warn!(key = %self.key, last = ?self.last.map(|l| l.to_string()), from = %from, "ssekit-redis reader: the stream lost the last entry read; entries may have been lost");
            self.sink.gap();
        }
        self.from = from;
        Ok(conn)
    }

    /// Where to go on after a reconnection: after the newest entry of the stream that is not
    /// newer than the last entry read (`XREVRANGE key <last> - COUNT 1`), or from `0-0` when
    /// there is none. Normally that is the last entry read itself. But the stream may have been
    /// lost or rolled back meanwhile, and the last id read must not become a wall:
    ///
    /// - Redis restarted without persistence (or the key was deleted): the stream is empty or
    ///   holds only entries added since, whose `*` ids (the clock's milliseconds) are above the
    ///   last id read. Read from `0-0`: everything in it is new.
    /// - Redis restarted from a snapshot that lacks the newest entries: the newest entry at or
    ///   before the last id read is the snapshot's last one, which this instance has already
    ///   read. Read after it: what follows was added since the restart.
    ///
    /// (A new stream whose ids are below the last id read, which takes a clock that went back
    /// across the restart, has its entries up to that id skipped by this rule: it cannot tell
    /// them from a snapshot's.)
    async fn resume_point(&self, conn: &mut MultiplexedConnection) -> redis::RedisResult<EntryId> {
        let Some(last) = self.last else {
            return Ok(EntryId::ZERO);
        };
        let at_or_before: StreamRangeReply = conn
            .xrevrange_count(&self.key, last.to_string(), "-", 1)
            .await?;
        Ok(at_or_before
            .ids
            .first()
            .and_then(|e| EntryId::parse(&e.id))
            .unwrap_or(EntryId::ZERO))
    }

    /// One `XREAD`: waits up to the block time, applies what came.
    async fn read(&mut self, conn: &mut MultiplexedConnection) -> redis::RedisResult<()> {
        let block = usize::try_from(self.settings.block.as_millis())
            .unwrap_or(usize::MAX)
            .max(1);
        let options = StreamReadOptions::default()
            .block(block)
            .count(self.settings.batch);
        let reply: Option<StreamReadReply> = conn
            .xread_options(&[&self.key], &[self.from.to_string()], &options)
            .await?;
        for key in reply.iter().flat_map(|r| &r.keys) {
            self.apply(key.ids.iter());
        }
        Ok(())
    }

    /// Hands each entry to the sink, which encodes it once and publishes it.
    fn apply<'a>(&mut self, entries: impl Iterator<Item = &'a StreamId>) {
        let before = self.last;
        for entry in entries {
            // Redis ids always parse; an entry that did not could not be read past anyway.
            let Some(id) = EntryId::parse(&entry.id) else {
                continue;
            };
            self.sink.apply(&entry.id, &entry.map);
            self.last = Some(id);
            self.from = id;
        }
        if self.last != before {
            self.applied.send_replace(self.last);
        }
    }
}
