//! The broker's metrics, through the `metrics` facade (feature `metrics`); without the feature
//! every function here is empty and compiles away.
//!
//! | name | kind | labels |
//! | --- | --- | --- |
//! | `sse_broker_subscriptions` | gauge | |
//! | `sse_broker_topic_subscriptions` | gauge | `topic`: only topics under [`BrokerConfig::metric_topic_prefixes`](super::BrokerConfig::metric_topic_prefixes) (none by default), at most [`BrokerConfig::metric_topic_labels`](super::BrokerConfig::metric_topic_labels) values; the rest `_other` |
//! | `sse_broker_events_published_total` | counter | |
//! | `sse_broker_frames_delivered_total` | counter | |
//! | `sse_broker_bytes_delivered_total` | counter | |
//! | `sse_broker_replays_total` | counter | |
//! | `sse_broker_resets_total` | counter | |
//! | `sse_broker_disconnects_total` | counter | `reason`: `lag` or `budget` |
//! | `sse_broker_subscribe_denied_total` | counter | |
//! | `sse_broker_subscribe_rejected_total` | counter | `limit`: see [`Limit::name`](super::Limit::name) |
//! | `sse_broker_topics` | gauge | |
//! | `sse_broker_topics_evicted_total` | counter | |
//!
//! **Private topics are not labels by default.** A topic name can be private (`users/8` tells
//! whoever reads the metrics that user 8 is online), so by default no topic name is a label:
//! every subscription counts under `topic="_other"`. Name the public topics with
//! [`BrokerConfig::metric_topic_prefixes`](super::BrokerConfig::metric_topic_prefixes)
//! (`["rooms/"]`; `[""]` for every topic, the behaviour before); the label count stays bounded
//! by [`BrokerConfig::metric_topic_labels`](super::BrokerConfig::metric_topic_labels) so that
//! invented topic names cannot fill the exporter. Serve the metrics page behind authentication
//! or on a private listener anyway.

#[cfg(feature = "metrics")]
use std::collections::HashSet;
use std::sync::Arc;

/// The topic label values handed out so far: at most `max`, for the process lifetime of the
/// broker, so a client inventing topic names cannot grow the exporter's series.
#[derive(Debug, Default)]
pub(crate) struct TopicLabels {
    #[cfg(feature = "metrics")]
    given: HashSet<Arc<str>>,
    #[cfg(feature = "metrics")]
    max: usize,
    /// Only topics starting with one of these are labelled by name.
    #[cfg(feature = "metrics")]
    prefixes: Vec<Arc<str>>,
}

/// The label of topics past the cardinality bound.
#[cfg(feature = "metrics")]
const OTHER: &str = "_other";

impl TopicLabels {
    #[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
    pub(crate) fn new(max: usize, prefixes: &[String]) -> TopicLabels {
        TopicLabels {
            #[cfg(feature = "metrics")]
            given: HashSet::new(),
            #[cfg(feature = "metrics")]
            max,
            #[cfg(feature = "metrics")]
            prefixes: prefixes.iter().map(|p| Arc::from(p.as_str())).collect(),
        }
    }

    /// One more (`delta` 1) or one fewer (-1) subscription of `topic`.
    #[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
    #[inline]
    pub(crate) fn subscribed(&mut self, topic: &Arc<str>, delta: f64) {
        #[cfg(feature = "metrics")]
        {
            let public = self.prefixes.iter().any(|p| topic.starts_with(&**p));
            let label: Arc<str> = if !public {
                Arc::from(OTHER)
            } else if self.given.contains(topic) {
                topic.clone()
            } else if self.given.len() < self.max && delta > 0.0 {
                self.given.insert(topic.clone());
                topic.clone()
            } else {
                Arc::from(OTHER)
            };
            metrics::gauge!("sse_broker_topic_subscriptions", "topic" => label.to_string())
                .increment(delta);
        }
    }
}

macro_rules! counter {
    ($fn:ident, $name:literal) => {
        #[doc = concat!("Counts `", $name, "`.")]
        #[inline]
        pub(crate) fn $fn(n: u64) {
            #[cfg(feature = "metrics")]
            metrics::counter!($name).increment(n);
            #[cfg(not(feature = "metrics"))]
            let _ = n;
        }
    };
}

counter!(published, "sse_broker_events_published_total");
counter!(frames_delivered, "sse_broker_frames_delivered_total");
counter!(bytes_delivered, "sse_broker_bytes_delivered_total");
counter!(replays, "sse_broker_replays_total");
counter!(resets, "sse_broker_resets_total");
counter!(denied, "sse_broker_subscribe_denied_total");
counter!(topics_evicted, "sse_broker_topics_evicted_total");

/// A subscriber ended for lag (`"lag"`) or for its byte budget (`"budget"`).
#[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
#[inline]
pub(crate) fn disconnected(reason: &'static str) {
    #[cfg(feature = "metrics")]
    metrics::counter!("sse_broker_disconnects_total", "reason" => reason).increment(1);
}

/// A subscribe refused by an admission limit.
#[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
#[inline]
pub(crate) fn rejected(limit: &'static str) {
    #[cfg(feature = "metrics")]
    metrics::counter!("sse_broker_subscribe_rejected_total", "limit" => limit).increment(1);
}

/// The number of open subscriptions and of topics alive.
#[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
#[inline]
pub(crate) fn gauges(subscriptions: usize, topics: usize) {
    #[cfg(feature = "metrics")]
    {
        metrics::gauge!("sse_broker_subscriptions").set(subscriptions as f64);
        metrics::gauge!("sse_broker_topics").set(topics as f64);
    }
}
