//! Live event streams for subscriptions: what a subscriber missed (from the outbox), then what
//! happens next (from the hub), filtered, in order, for the caller's tenant only.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use futures::Stream;
use uuid::Uuid;

use crate::auth::{Actor, Permission};
use crate::domain::EventType;
use crate::entities::event;
use crate::error::{AppError, AppResult};
use crate::events::Delivered;
use crate::events::hub;
use crate::repo;
use crate::services::credentials;
use crate::state::AppState;

/// How often a long-lived subscription checks its credential against the database, besides
/// the credential events that end it at once.
const CREDENTIAL_RECHECK: Duration = Duration::from_secs(30);
const REPLAY_PAGE: u64 = 500;

/// What a subscriber wants to see.
#[derive(Debug, Clone, Default)]
pub struct LiveFilter {
    pub lead_id: Option<Uuid>,
    pub session_id: Option<Uuid>,
    /// `None`: every type.
    pub types: Option<HashSet<EventType>>,
}

impl LiveFilter {
    fn matches(&self, event: &event::Model) -> bool {
        let Some(event_type) = EventType::parse(&event.event_type) else {
            return false;
        };
        !event_type.is_internal()
            && self.lead_id.is_none_or(|id| event.lead_id == Some(id))
            && self
                .session_id
                .is_none_or(|id| event.session_id == Some(id))
            && self
                .types
                .as_ref()
                .is_none_or(|types| types.contains(&event_type))
    }
}

/// One item of a live stream.
#[derive(Debug, Clone)]
pub enum LiveItem {
    Event(Arc<Delivered>),
    /// The stream cannot continue without a gap (the subscriber fell behind, or asked to resume
    /// from events that were deleted). Reload, then subscribe again with `after`.
    Resync {
        after: i64,
        reason: &'static str,
    },
}

/// Reads a resume cursor.
pub fn parse_cursor(text: &str) -> AppResult<i64> {
    text.trim()
        .parse::<i64>()
        .ok()
        .filter(|n| *n >= 0)
        .ok_or_else(|| {
            AppError::bad_input(
                "after",
                "not a cursor of this stream (use an event's `cursor`)",
            )
        })
}

/// Opens a live stream for the caller's tenant. With `after`, first replays the events after
/// that cursor, then continues live without a gap or a duplicate.
pub async fn events(
    state: &AppState,
    actor: &Actor,
    filter: LiveFilter,
    after: Option<i64>,
) -> AppResult<impl Stream<Item = AppResult<LiveItem>> + Send + use<>> {
    actor.require(Permission::Read)?;
    let tenant_id = actor.tenant_id;
    let db = state.db.reader().clone();
    if let Some(lead_id) = filter.lead_id {
        repo::leads::find(&db, tenant_id, lead_id)
            .await?
            .ok_or(AppError::not_found("lead"))?;
    }
    if let Some(session_id) = filter.session_id {
        repo::sessions::find(&db, tenant_id, session_id)
            .await?
            .ok_or(AppError::not_found("session"))?;
    }
    let mut subscription = state.events.subscribe(&db, tenant_id).await?;
    let start = subscription.start;
    let mut too_old = None;
    if let Some(after) = after {
        if after > start && after > repo::events::head_seq(&db, tenant_id).await? {
            return Err(AppError::bad_input(
                "after",
                "this cursor is ahead of the latest event",
            ));
        }
        if after < start
            && let Some(first) = repo::events::first_seq(&db, tenant_id).await?
            && after + 1 < first
        {
            too_old = Some(first - 1);
        }
    }
    let state = state.clone();
    let actor = actor.clone();
    Ok(async_stream::stream! {
        if let Some(resume) = too_old {
            yield Ok(LiveItem::Resync { after: resume, reason: "the events after your cursor were deleted by retention" });
            return;
        }
        // Replay (after, start] from the outbox.
        let mut last = after.unwrap_or(start);
        while last < start {
            let rows = match repo::events::after(&db, tenant_id, last, REPLAY_PAGE).await {
                Ok(rows) => rows,
                Err(err) => { yield Err(AppError::from(err)); return; }
            };
            if rows.is_empty() {
                break;
            }
            let rows: Vec<event::Model> = rows
                .into_iter()
                .take_while(|r| r.seq <= start)
                .filter(|r| {
                    last = r.seq;
                    filter.matches(r)
                })
                .collect();
            match hub::with_rows(&db, tenant_id, rows).await {
                Ok(rows) => {
                    for row in rows {
                        yield Ok(LiveItem::Event(Arc::new(row)));
                    }
                }
                Err(err) => { yield Err(AppError::from(err)); return; }
            }
        }
        last = last.max(start);
        let mut checked_at = Instant::now();
        let expiry = actor.expires_at.map(|at| {
            let left = (at - state.now()).to_std().unwrap_or_default();
            tokio::time::Instant::now() + left
        });
        // One timer for the whole stream: a fresh one per event would register and cancel a
        // timer entry per subscriber for every event fanned out.
        let expired = sleep_until(expiry);
        tokio::pin!(expired);
        loop {
            let next = tokio::select! {
                next = subscription.rx.recv() => next,
                () = &mut expired => {
                    yield Err(AppError::Unauthenticated("the token expired; reconnect with a new one".into()));
                    return;
                }
            };
            let Some(event) = next else {
                if subscription.lagged.load(Ordering::Acquire) {
                    yield Ok(LiveItem::Resync { after: last, reason: "the subscriber fell too far behind" });
                }
                return;
            };
            let seq = event.event.seq;
            if seq <= last {
                continue;
            }
            // Defensive: the hub delivers contiguously, but a gap is filled from the outbox.
            let mut batch = Vec::new();
            if seq > last + 1 {
                let missing = match repo::events::after(&db, tenant_id, last, (seq - last - 1) as u64).await {
                    Ok(rows) => hub::with_rows(&db, tenant_id, rows.into_iter().filter(|r| r.seq < seq).collect()).await,
                    Err(err) => Err(err),
                };
                match missing {
                    Ok(rows) => batch.extend(rows.into_iter().map(Arc::new)),
                    Err(err) => { yield Err(AppError::from(err)); return; }
                }
            }
            batch.push(event);
            // The caller is checked on every event, not only when it subscribed.
            if let Err(err) = still_allowed(&state, &actor, &mut checked_at).await {
                yield Err(err);
                return;
            }
            for delivered in batch {
                if delivered.event.tenant_id != actor.tenant_id {
                    continue;
                }
                if let Some(why) = credential_ended(&delivered.event, &actor) {
                    yield Err(AppError::Unauthenticated(why));
                    return;
                }
                last = delivered.event.seq;
                if filter.matches(&delivered.event) {
                    yield Ok(LiveItem::Event(delivered));
                }
            }
        }
    })
}

/// Why `event` ends `actor`'s streams, if it says their credential was revoked or changed.
fn credential_ended(event: &event::Model, actor: &Actor) -> Option<String> {
    if EventType::parse(&event.event_type) != Some(EventType::CredentialChanged) {
        return None;
    }
    let change = credentials::Change::from_payload(&event.payload)?;
    change.concerns(&actor.principal).then(|| change.why())
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

async fn still_allowed(state: &AppState, actor: &Actor, checked_at: &mut Instant) -> AppResult<()> {
    if actor.is_expired(state.now()) {
        return Err(AppError::Unauthenticated(
            "the token expired; reconnect with a new one".into(),
        ));
    }
    actor.require(Permission::Read)?;
    // A backstop for changes made around the API (the credential events end streams at once).
    if checked_at.elapsed() > CREDENTIAL_RECHECK {
        *checked_at = Instant::now();
        credentials::still_valid(state, actor).await?;
    }
    Ok(())
}
