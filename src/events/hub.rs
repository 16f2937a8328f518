//! Fan-out of committed events to live subscribers in this process.
//!
//! One dispatcher per process reads each tenant's new events once (in sequence order) and hands
//! them to that tenant's subscribers through bounded channels. It is woken in-process after a
//! local commit, by PostgreSQL NOTIFY for commits on other replicas, and by a slow poll as a
//! safety net. A subscriber whose buffer is full is dropped and told to resync; it never slows
//! the writer or other subscribers.
//!
//! Sequence numbers are per tenant, gapless and in commit order, so a subscriber registered at
//! cursor `C` receives exactly the events after `C`, and a client resuming from `N` replays
//! `(N, C]` from the outbox first: no gap and no duplicate at the seam.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter};
use tokio::sync::{broadcast, mpsc};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::outbox::PG_CHANNEL;
use crate::db::Db;
use crate::entities::{event, lead, message};
use crate::repo;

/// An event as subscribers receive it, with the rows it is about loaded once for all of them
/// (so a thousand chat views do not each query the same message).
#[derive(Debug)]
pub struct Delivered {
    pub event: event::Model,
    pub message: Option<Arc<message::Model>>,
    pub lead: Option<lead::Model>,
}

/// Loads, in two queries, the messages and leads a batch of events is about.
pub async fn with_rows<C: ConnectionTrait>(
    db: &C,
    tenant_id: Uuid,
    events: Vec<event::Model>,
) -> Result<Vec<Delivered>, DbErr> {
    let message_ids: Vec<Uuid> = events
        .iter()
        .filter_map(|e| e.payload.get("messageId")?.as_str()?.parse().ok())
        .collect();
    let lead_ids: Vec<Uuid> = {
        let mut ids: Vec<Uuid> = events
            .iter()
            .filter(|e| e.event_type.starts_with("lead."))
            .filter_map(|e| e.lead_id)
            .collect();
        ids.sort();
        ids.dedup();
        ids
    };
    let mut messages: HashMap<Uuid, message::Model> = if message_ids.is_empty() {
        HashMap::new()
    } else {
        message::Entity::find()
            .filter(message::Column::TenantId.eq(tenant_id))
            .filter(message::Column::Id.is_in(message_ids))
            .all(db)
            .await?
            .into_iter()
            .map(|m| (m.id, m))
            .collect()
    };
    let leads: HashMap<Uuid, lead::Model> = repo::leads::find_many(db, tenant_id, &lead_ids)
        .await?
        .into_iter()
        .map(|l| (l.id, l))
        .collect();
    Ok(events
        .into_iter()
        .map(|event| {
            let message = event
                .payload
                .get("messageId")
                .and_then(|id| id.as_str()?.parse::<Uuid>().ok())
                .and_then(|id| messages.remove(&id))
                .map(Arc::new);
            let lead = event
                .event_type
                .starts_with("lead.")
                .then(|| event.lead_id.and_then(|id| leads.get(&id).cloned()))
                .flatten();
            Delivered {
                event,
                message,
                lead,
            }
        })
        .collect())
}

/// Events buffered per subscriber before it counts as too slow.
pub const SUBSCRIBER_BUFFER: usize = 512;
/// Events read per query.
const PAGE: u64 = 500;
/// How often the dispatcher re-reads tenants with subscribers even without a wake-up.
const SAFETY_POLL: Duration = Duration::from_secs(2);

/// Wakes event consumers when a tenant's outbox grows, and fans events out to subscribers.
#[derive(Clone)]
pub struct EventHub {
    inner: Arc<Inner>,
}

struct Inner {
    committed: broadcast::Sender<Uuid>,
    wake: mpsc::UnboundedSender<Uuid>,
    wake_rx: Mutex<Option<mpsc::UnboundedReceiver<Uuid>>>,
    feeds: Mutex<HashMap<Uuid, Feed>>,
    next_id: AtomicU64,
}

/// A tenant's live feed: how far it has been delivered, and to whom.
struct Feed {
    cursor: i64,
    subscribers: HashMap<u64, Subscriber>,
}

struct Subscriber {
    tx: mpsc::Sender<Arc<Delivered>>,
    lagged: Arc<AtomicBool>,
}

/// A registered subscriber: live events after `start` arrive on `rx`.
pub struct Subscription {
    pub tenant_id: Uuid,
    /// Everything up to here was delivered before this subscription existed.
    pub start: i64,
    pub rx: mpsc::Receiver<Arc<Delivered>>,
    /// Set when the dispatcher dropped this subscriber for falling behind.
    pub lagged: Arc<AtomicBool>,
    id: u64,
    hub: EventHub,
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.hub.unsubscribe(self.tenant_id, self.id);
    }
}

impl Default for EventHub {
    fn default() -> Self {
        Self::new()
    }
}

impl EventHub {
    pub fn new() -> Self {
        let (committed, _) = broadcast::channel(1024);
        let (wake, wake_rx) = mpsc::unbounded_channel();
        Self {
            inner: Arc::new(Inner {
                committed,
                wake,
                wake_rx: Mutex::new(Some(wake_rx)),
                feeds: Mutex::new(HashMap::new()),
                next_id: AtomicU64::new(1),
            }),
        }
    }

    /// Call after a transaction that appended events for `tenant_id` has committed.
    pub fn notify_committed(&self, tenant_id: Uuid) {
        // No receiver is fine: consumers read the outbox from their own cursor.
        let _ = self.inner.committed.send(tenant_id);
        if self.has_feed(tenant_id) {
            let _ = self.inner.wake.send(tenant_id);
        }
    }

    /// Tenants whose outbox grew: after a commit in this process (`notify_committed`) and, on
    /// PostgreSQL, after a commit on any replica (NOTIFY). A receiver that lags has missed
    /// wake-ups, not events: consumers read the outbox from their own cursor.
    pub fn subscribe_commits(&self) -> broadcast::Receiver<Uuid> {
        self.inner.committed.subscribe()
    }

    fn has_feed(&self, tenant_id: Uuid) -> bool {
        self.feeds().contains_key(&tenant_id)
    }

    fn feeds(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, Feed>> {
        self.inner.feeds.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Live subscribers across tenants (for metrics and tests).
    pub fn subscriber_count(&self) -> usize {
        self.feeds().values().map(|f| f.subscribers.len()).sum()
    }

    /// Registers a subscriber for `tenant_id`. Its `start` is the feed's delivered cursor (or
    /// the outbox head for a tenant nobody in this process follows yet).
    pub async fn subscribe(
        &self,
        db: &DatabaseConnection,
        tenant_id: Uuid,
    ) -> Result<Subscription, DbErr> {
        // Read the head first (outside the lock); a feed created meanwhile by another
        // subscriber wins and its cursor is used instead.
        let head = if self.has_feed(tenant_id) {
            None
        } else {
            Some(repo::events::head_seq(db, tenant_id).await?)
        };
        let (tx, rx) = mpsc::channel(SUBSCRIBER_BUFFER);
        let lagged = Arc::new(AtomicBool::new(false));
        let id = self.inner.next_id.fetch_add(1, Ordering::Relaxed);
        let start = {
            let mut feeds = self.feeds();
            let feed = feeds.entry(tenant_id).or_insert_with(|| Feed {
                cursor: head.unwrap_or(0),
                subscribers: HashMap::new(),
            });
            feed.subscribers.insert(
                id,
                Subscriber {
                    tx,
                    lagged: lagged.clone(),
                },
            );
            feed.cursor
        };
        metrics::gauge!("memodesk_subscribers").increment(1.0);
        // Catch anything committed between reading the head and registering.
        let _ = self.inner.wake.send(tenant_id);
        Ok(Subscription {
            tenant_id,
            start,
            rx,
            lagged,
            id,
            hub: self.clone(),
        })
    }

    fn unsubscribe(&self, tenant_id: Uuid, id: u64) {
        let mut feeds = self.feeds();
        if let Some(feed) = feeds.get_mut(&tenant_id) {
            if feed.subscribers.remove(&id).is_some() {
                metrics::gauge!("memodesk_subscribers").decrement(1.0);
            }
            if feed.subscribers.is_empty() {
                feeds.remove(&tenant_id);
            }
        }
    }

    /// Starts the dispatcher (and, on PostgreSQL, the NOTIFY listener). Call once per process.
    pub fn start(&self, db: &Db, shutdown: &CancellationToken) -> Vec<tokio::task::JoinHandle<()>> {
        let Some(wake_rx) = self
            .inner
            .wake_rx
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
        else {
            return Vec::new();
        };
        let mut tasks = vec![tokio::spawn(dispatch(
            self.clone(),
            db.reader().clone(),
            wake_rx,
            shutdown.clone(),
        ))];
        if db.is_postgres() {
            tasks.push(tokio::spawn(listen(
                self.clone(),
                db.reader().get_postgres_connection_pool().clone(),
                shutdown.clone(),
            )));
        }
        tasks
    }

    /// Reads and delivers a tenant's events past its feed cursor.
    async fn deliver(&self, db: &DatabaseConnection, tenant_id: Uuid) {
        loop {
            let Some(cursor) = self.feeds().get(&tenant_id).map(|f| f.cursor) else {
                return;
            };
            let rows = match repo::events::after(db, tenant_id, cursor, PAGE).await {
                Ok(rows) => with_rows(db, tenant_id, rows).await,
                Err(err) => Err(err),
            };
            let rows = match rows {
                Ok(rows) => rows,
                Err(err) => {
                    tracing::warn!(error = %err, "reading events for subscribers failed");
                    return;
                }
            };
            let count = rows.len() as u64;
            if count == 0 {
                return;
            }
            let mut feeds = self.feeds();
            let Some(feed) = feeds.get_mut(&tenant_id) else {
                return;
            };
            for row in rows {
                // Another delivery pass may have got here first.
                if row.event.seq <= feed.cursor {
                    continue;
                }
                let seq = row.event.seq;
                let row = Arc::new(row);
                feed.subscribers
                    .retain(|_, sub| match sub.tx.try_send(row.clone()) {
                        Ok(()) => true,
                        Err(mpsc::error::TrySendError::Full(_)) => {
                            sub.lagged.store(true, Ordering::Release);
                            metrics::counter!("memodesk_subscribers_lagged_total").increment(1);
                            false
                        }
                        Err(mpsc::error::TrySendError::Closed(_)) => false,
                    });
                feed.cursor = seq;
            }
            if feed.subscribers.is_empty() {
                feeds.remove(&tenant_id);
                return;
            }
            drop(feeds);
            if count < PAGE {
                return;
            }
        }
    }
}

async fn dispatch(
    hub: EventHub,
    db: DatabaseConnection,
    mut wake: mpsc::UnboundedReceiver<Uuid>,
    shutdown: CancellationToken,
) {
    let mut poll = tokio::time::interval(SAFETY_POLL);
    poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let mut tenants = HashSet::new();
        tokio::select! {
            () = shutdown.cancelled() => return,
            Some(tenant) = wake.recv() => {
                tenants.insert(tenant);
                // Coalesce a burst of wake-ups into one pass per tenant.
                while let Ok(more) = wake.try_recv() {
                    tenants.insert(more);
                }
            }
            _ = poll.tick() => tenants.extend(hub.feeds().keys().copied()),
        }
        for tenant in tenants {
            hub.deliver(&db, tenant).await;
        }
    }
}

/// Turns PostgreSQL notifications from every replica into wake-ups.
async fn listen(hub: EventHub, pool: sqlx::PgPool, shutdown: CancellationToken) {
    let mut retry = Duration::from_millis(200);
    loop {
        let mut listener = match sqlx::postgres::PgListener::connect_with(&pool).await {
            Ok(listener) => listener,
            Err(err) => {
                tracing::warn!(error = %err, "cannot LISTEN for events; retrying");
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    () = tokio::time::sleep(retry) => {}
                }
                retry = (retry * 2).min(Duration::from_secs(10));
                continue;
            }
        };
        if let Err(err) = listener.listen(PG_CHANNEL).await {
            tracing::warn!(error = %err, "LISTEN failed; retrying");
            continue;
        }
        retry = Duration::from_millis(200);
        // Anything committed while we were not listening.
        for tenant in hub.feeds().keys() {
            let _ = hub.inner.wake.send(*tenant);
        }
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                notification = listener.recv() => match notification {
                    Ok(n) => {
                        if let Ok(tenant) = Uuid::parse_str(n.payload()) {
                            // Consumers of the outbox (the webhook sender) hear of every
                            // replica's commits; subscribers only of their tenants'.
                            let _ = hub.inner.committed.send(tenant);
                            if hub.has_feed(tenant) {
                                let _ = hub.inner.wake.send(tenant);
                            }
                        }
                    }
                    Err(err) => {
                        tracing::warn!(error = %err, "event listener lost its connection; reconnecting");
                        break;
                    }
                }
            }
        }
    }
}
