//! Admission: [`Broker::admit`] and its variants check a selection against the [`Authorize`]
//! hook and the limits, and hand out a [`Ticket`]; a ticket's subscribe opens the
//! subscription.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use super::metrics;
use super::state::{Slot, Status};
use super::{
    Broker, BrokerResume, BrokerSubscription, Denied, Limit, Rejection, RequestInfo, Selection,
    Selector, TOPIC_PARAM, Ticket, TopicError,
};
use crate::stall::Progress;

impl Broker {
    /// Admits a subscription to what the request `asked` for: checks its size, runs the
    /// [`Authorize`](crate::broker::Authorize) hook's [`subscribe`](crate::broker::Authorize::subscribe), which decides the selection
    /// the subscription will receive, and the admission limits. The [`Ticket`] holds its place
    /// (it counts against the limits) until it is subscribed or dropped.
    ///
    /// Call it before the response starts, and answer an `Err` with its
    /// [`status`](Rejection::status).
    pub fn admit(&self, request: &RequestInfo, asked: &Selection) -> Result<Ticket, Rejection> {
        self.check_selection(asked)?;
        let grant = match self.shared.authorize.grant(request, asked) {
            Ok(grant) if !grant.selection.is_empty() => grant,
            Ok(_) => {
                metrics::denied(1);
                return Err(Rejection::Denied(Denied::NotAllowed(
                    "no topic of the selection".into(),
                )));
            }
            Err(denied) => {
                metrics::denied(1);
                return Err(Rejection::Denied(denied));
            }
        };
        if grant
            .expires
            .is_some_and(|expires| expires <= std::time::SystemTime::now())
        {
            metrics::denied(1);
            return Err(Rejection::Denied(Denied::InvalidCredentials(
                "the grant has expired".into(),
            )));
        }
        let mut ticket = self.subscribe_to(&grant.selection)?;
        ticket.expires = grant.expires;
        Ok(ticket)
    }

    /// [`Broker::admit`] for what the request asks in its query string: one `topic`
    /// parameter per selector (`?topic=rooms/42/*&topic=users/7`, as Mercure's hub reads
    /// them). A missing or malformed selection is [`Rejection::BadRequest`] (400).
    ///
    /// This is what an adapter's handler calls, so each one reads the same request the same
    /// way:
    ///
    /// ```
    /// use ssekit::broker::{Broker, RequestInfo};
    ///
    /// let broker = Broker::new();
    /// let request = RequestInfo::new().query("topic=rooms%2F42%2F*&topic=users/7");
    /// let ticket = broker.admit_query(&request).unwrap();
    /// assert_eq!(ticket.selection().selectors().len(), 2);
    /// assert_eq!(broker.admit_query(&RequestInfo::new()).unwrap_err().status(), 400);
    /// ```
    pub fn admit_query(&self, request: &RequestInfo) -> Result<Ticket, Rejection> {
        let asked =
            Selection::new(request.query_params(TOPIC_PARAM)).map_err(Rejection::BadRequest)?;
        self.admit(request, &asked)
    }

    /// Admits a subscription to `selection` without the [`Authorize`](crate::broker::Authorize) hook (the server
    /// decided what it receives): only the size and admission limits are checked.
    pub fn subscribe_to(&self, selection: &Selection) -> Result<Ticket, Rejection> {
        self.check_selection(selection)?;
        let keys = self.reserve(selection.selectors())?;
        Ok(Ticket {
            shared: self.shared.clone(),
            keys,
            selection: selection.clone(),
            unused: AtomicBool::new(true),
            expires: None,
        })
    }

    fn check_selection(&self, selection: &Selection) -> Result<(), Rejection> {
        let config = &self.shared.config;
        let selectors = selection.selectors();
        if selectors.is_empty() {
            return Err(Rejection::BadRequest(TopicError::None));
        }
        if selectors.len() > config.max_selectors {
            return Err(Rejection::BadRequest(TopicError::TooMany {
                count: selectors.len(),
                max: config.max_selectors,
            }));
        }
        if let Some(long) = selectors
            .iter()
            .find(|s| s.as_str().len() > config.max_topic_len)
        {
            return Err(Rejection::BadRequest(TopicError::TooLong {
                len: long.as_str().len(),
                max: config.max_topic_len,
            }));
        }
        Ok(())
    }

    /// Counts a subscription of `selectors` against the limits.
    pub(super) fn reserve(&self, selectors: &[Selector]) -> Result<Box<[Arc<str>]>, Rejection> {
        let config = &self.shared.config;
        let mut state = self.shared.lock();
        let unavailable = |limit: Limit| {
            metrics::rejected(limit.name());
            Rejection::Unavailable {
                limit,
                retry_after: config.retry_after,
            }
        };
        if state.subscriptions >= config.max_subscriptions {
            return Err(unavailable(Limit::Subscriptions));
        }
        let mut keys: Vec<Arc<str>> = Vec::with_capacity(selectors.len());
        let mut failed = None;
        for selector in selectors {
            let key = match state.node(selector.as_str(), config) {
                Ok(key) => key,
                Err(limit) => {
                    failed = Some(limit);
                    break;
                }
            };
            let node = state.nodes.get_mut(&key);
            let Some(node) = node else { continue };
            if node.subscribers.len() + node.reserved >= config.max_subscribers_per_topic {
                state.settle(&key, config);
                failed = Some(Limit::SubscribersPerTopic(selector.as_str().to_owned()));
                break;
            }
            node.reserved += 1;
            keys.push(key);
        }
        if let Some(limit) = failed {
            state.release(&keys, config);
            return Err(unavailable(limit));
        }
        state.subscriptions += 1;
        state.report();
        Ok(keys.into_boxed_slice())
    }

    pub(super) fn open(
        &self,
        keys: Box<[Arc<str>]>,
        last_event_id: Option<&str>,
        expires: Option<std::time::SystemTime>,
    ) -> BrokerSubscription {
        let mut guard = self.shared.lock();
        let state = &mut *guard;
        let (next_seq, first) = (state.window.next_seq(), state.window.first_seq());
        let config = &self.shared.config;
        let (cursor, resume) = match (last_event_id, &config.external) {
            (None, _) => (next_seq, BrokerResume::Live),
            (Some(id), None) => match config.seq_of(id) {
                Some(seq) if seq < next_seq && seq + 1 >= first => {
                    (seq + 1, BrokerResume::Replayed)
                }
                // Older than the window: nothing is lost if none of its topics had an event
                // since (each one's history since then is known, and it is quiet).
                Some(seq) if seq < next_seq && state.quiet_since(&keys, u128::from(seq)) => {
                    (next_seq, BrokerResume::Replayed)
                }
                _ => (first, BrokerResume::Reset),
            },
            (Some(id), Some(ids)) => state.resume_external(ids.position(id), &keys),
        };
        match resume {
            BrokerResume::Replayed => metrics::replays(1),
            BrokerResume::Reset => metrics::resets(1),
            BrokerResume::Live => {}
        }
        let fresh = Slot {
            keys: Box::default(),
            cursor,
            start: next_seq,
            status: Status::Live,
            waker: None,
            progress: Progress::new(cursor),
            pending_events: 0,
            pending_bytes: 0,
            lost: false,
            visited: 0,
            evict_visited: 0,
            expires,
        };
        let slot = state.slots.insert(fresh);
        for key in keys.iter() {
            if let Some(node) = state.nodes.get_mut(key) {
                node.reserved = node.reserved.saturating_sub(1);
                node.subscribers.insert(slot);
            }
            state.labels.subscribed(key, 1.0);
        }
        state.slots[slot].keys = keys;
        state.report();
        let reaper = expires.is_some() && !std::mem::replace(&mut state.reaper, true);
        drop(guard);
        if reaper {
            self.start_reaper();
        }
        BrokerSubscription {
            shared: self.shared.clone(),
            slot: Some(slot),
            reset: (resume == BrokerResume::Reset).then(|| Arc::from(last_event_id.unwrap_or(""))),
            resume,
            last_seq: None,
            last_id: None,
            ready: 0,
            stalled: false,
        }
    }
}
