//! What [`RedisHub`](crate::RedisHub) and [`RedisBroker`](crate::RedisBroker) share: the
//! stream's settings, and an instance's link to it (the publishing connection, the reader task,
//! how far the reader has read).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tokio::sync::watch;
use tokio::task::AbortHandle;

use crate::entry::EntryId;
use crate::error::Error;
use crate::reader::{Reader, Settings, Sink};

/// A wait for the reader to reach an id, bounded by the catch-up timeout.
pub(crate) type Wait = Pin<Box<dyn Future<Output = ()> + Send>>;

/// The settings both configurations have.
#[derive(Debug, Clone)]
pub(crate) struct Common {
    pub(crate) key: String,
    pub(crate) max_len: usize,
    pub(crate) catch_up: Duration,
    pub(crate) publish_timeout: Duration,
    pub(crate) settings: Settings,
}

impl Common {
    /// The defaults documented on `RedisHubConfig::new` and `RedisBrokerConfig::new`.
    pub(crate) fn new(key: String) -> Common {
        Common {
            key,
            max_len: 1024,
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

    pub(crate) fn max_len(&mut self, events: usize) {
        self.max_len = events.max(1);
    }

    pub(crate) fn block(&mut self, block: Duration) {
        self.settings.block = block.max(Duration::from_millis(1));
    }

    pub(crate) fn batch(&mut self, entries: usize) {
        self.settings.batch = entries.max(1);
    }

    pub(crate) fn reconnect_backoff(&mut self, min: Duration, max: Duration) {
        self.settings.backoff_min = min.max(Duration::from_millis(1));
        self.settings.backoff_max = max.max(self.settings.backoff_min);
    }
}

/// One instance's link to the stream.
pub(crate) struct Link {
    pub(crate) key: String,
    pub(crate) max_len: usize,
    catch_up: Duration,
    publisher: ConnectionManager,
    applied: watch::Receiver<Option<EntryId>>,
    connected: Arc<AtomicBool>,
    reader: AbortHandle,
}

impl Drop for Link {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

impl Link {
    /// Connects the publishing connection and the reader's, loads the newest `load` entries
    /// into `sink` and starts the reader task.
    pub(crate) async fn connect<S: Sink>(
        client: redis::Client,
        common: Common,
        sink: S,
        load: usize,
    ) -> Result<Link, Error> {
        let Common {
            key,
            max_len,
            catch_up,
            publish_timeout,
            settings,
        } = common;
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
            sink,
            load,
            settings,
            applied_tx,
            connected.clone(),
        );
        let mut conn = reader.connect().await?;
        reader.load(&mut conn).await?;
        let task = tokio::spawn(reader.run(Some(conn)));
        Ok(Link {
            key,
            max_len,
            catch_up,
            publisher,
            applied,
            connected,
            reader: task.abort_handle(),
        })
    }

    /// `XADD <key> MAXLEN ~ <max_len> * <fields>`: the new entry's id.
    pub(crate) async fn xadd<'a>(
        &self,
        fields: impl IntoIterator<Item = (&'static str, std::borrow::Cow<'a, str>)>,
    ) -> Result<Arc<str>, Error> {
        let mut xadd = redis::cmd("XADD");
        xadd.arg(&self.key)
            .arg("MAXLEN")
            .arg("~")
            .arg(self.max_len)
            .arg("*");
        for (name, value) in fields {
            xadd.arg(name).arg(value.as_bytes());
        }
        let mut conn = self.publisher.clone();
        let id: Option<String> = xadd.query_async(&mut conn).await?;
        id.map(Arc::from).ok_or(Error::NoEntryId)
    }

    /// When a client resumes from `last_event_id`, an entry this instance has not read yet
    /// (it saw it on another instance): the wait until the reader has read it, at most the
    /// catch-up timeout. `None` when there is nothing to wait for.
    pub(crate) fn catch_up(&self, last_event_id: &str) -> Option<Wait> {
        // `0-0` is before every entry: nothing to wait for.
        let target = EntryId::parse(last_event_id).filter(|id| *id != EntryId::ZERO)?;
        let reached = move |applied: &Option<EntryId>| applied.is_some_and(|a| a >= target);
        if self.catch_up.is_zero() || reached(&self.applied.borrow()) {
            return None;
        }
        let mut applied = self.applied.clone();
        let timeout = self.catch_up;
        Some(Box::pin(async move {
            // Ends when the reader has read `target`, when it is gone, or at the timeout.
            let _ = tokio::time::timeout(timeout, applied.wait_for(reached)).await;
        }))
    }

    pub(crate) fn last_entry_id(&self) -> Option<String> {
        self.applied.borrow().map(|id| id.to_string())
    }

    pub(crate) fn reader_connected(&self) -> bool {
        self.connected.load(Ordering::Relaxed)
    }

    pub(crate) fn stop_reader(&self) {
        self.reader.abort();
        self.connected.store(false, Ordering::Relaxed);
    }
}
