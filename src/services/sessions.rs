//! Sessions: lookups, message pages, and closing (by staff, by a call's end, or for idleness).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::json;
use uuid::Uuid;

use crate::auth::{Actor, Permission};
use crate::domain::{Channel, CloseReason, EventType, SessionStatus};
use crate::entities::{message, session};
use crate::error::{AppError, AppResult};
use crate::events::{NewEvent, outbox};
use crate::repo;
use crate::repo::jobs::NewJob;
use crate::repo::pagination::{Page, PageRequest};
use crate::services::summaries;
use crate::state::AppState;

pub async fn get(state: &AppState, actor: &Actor, id: Uuid) -> AppResult<session::Model> {
    actor.require(Permission::Read)?;
    repo::sessions::find(state.db.reader(), actor.tenant_id, id)
        .await?
        .ok_or(AppError::not_found("session"))
}

pub async fn for_lead(
    state: &AppState,
    actor: &Actor,
    lead_id: Uuid,
    request: &PageRequest,
) -> AppResult<Page<session::Model>> {
    actor.require(Permission::Read)?;
    let rows = repo::sessions::page_for_lead(state.db.reader(), actor.tenant_id, lead_id, request)
        .await?
        .into_iter()
        .map(|s| (repo::sessions::cursor_of(&s), s))
        .collect();
    Ok(Page::from_rows(request, rows))
}

/// How many conversations [`for_lead`] pages through.
pub async fn count_for_lead(state: &AppState, actor: &Actor, lead_id: Uuid) -> AppResult<u64> {
    actor.require(Permission::Read)?;
    Ok(repo::sessions::count_for_lead(state.db.reader(), actor.tenant_id, lead_id).await?)
}

/// How many messages [`messages`] pages through.
pub async fn count_messages(state: &AppState, actor: &Actor, session_id: Uuid) -> AppResult<u64> {
    actor.require(Permission::Read)?;
    Ok(repo::messages::count_in_session(state.db.reader(), actor.tenant_id, session_id).await?)
}

pub async fn messages(
    state: &AppState,
    actor: &Actor,
    session_id: Uuid,
    newest_first: bool,
    request: &PageRequest,
) -> AppResult<Page<message::Model>> {
    actor.require(Permission::Read)?;
    let rows = repo::messages::page_in_session(
        state.db.reader(),
        actor.tenant_id,
        session_id,
        newest_first,
        request,
    )
    .await?
    .into_iter()
    .map(|m| (repo::messages::cursor_of(&m), m))
    .collect();
    Ok(Page::from_rows(request, rows))
}

/// Why a conversation that staff or an integration ended is closed: a call ended, anything
/// else was closed by hand.
pub fn ended(channel: Channel) -> CloseReason {
    if channel == Channel::Call {
        CloseReason::CallEnded
    } else {
        CloseReason::Manual
    }
}

/// Marks a session closed in memory and returns its `session.closed` event and summary job
/// (of `job_max_attempts`), for the caller to write in its transaction. A session that holds
/// nothing but the customer's request to start over (a returning customer's first words) gets
/// no job: there is nothing to summarize, and its summary, the newest, would replace the lead's
/// summary of the conversation before it.
pub fn close_in_memory(
    model: &mut session::Model,
    reason: CloseReason,
    at: DateTime<Utc>,
    now: DateTime<Utc>,
    job_max_attempts: i32,
) -> (NewEvent, Option<NewJob>) {
    model.status = SessionStatus::Closed;
    model.close_reason = Some(reason);
    model.closed_at = Some(at);
    model.updated_at = now;
    metrics::counter!("memodesk_sessions_closed_total", "reason" => reason.as_str()).increment(1);
    (
        NewEvent::new(
            EventType::SessionClosed,
            Some(model.lead_id),
            Some(model.id),
            json!({
                "sessionId": model.id,
                "leadId": model.lead_id,
                "channel": model.channel,
                "reason": reason,
            }),
        ),
        (reason != CloseReason::Reset || model.message_count > 1)
            .then(|| summaries::summary_job(model.tenant_id, model.id, now, job_max_attempts)),
    )
}

/// Closes a session now (staff, or an integration when a call ends). Calls close as
/// `call_ended`, other channels as `manual`; an already closed session is returned as it is.
pub async fn close(state: &AppState, actor: &Actor, id: Uuid) -> AppResult<session::Model> {
    actor.require(Permission::WriteMessages)?;
    let now = state.now();
    let txn = state.db.begin_write().await?;
    let Some(mut session) = repo::sessions::find(&txn, actor.tenant_id, id).await? else {
        return Err(AppError::not_found("session"));
    };
    if session.status == SessionStatus::Closed {
        return Ok(session);
    }
    // Lock order: the lead first, as ingest does.
    repo::leads::lock_many(&txn, actor.tenant_id, &[session.lead_id]).await?;
    if let Some(locked) = repo::sessions::lock_one(&txn, actor.tenant_id, id).await? {
        session = locked;
    }
    if session.status == SessionStatus::Closed {
        return Ok(session);
    }
    let reason = ended(session.channel);
    let (event, job) = close_in_memory(
        &mut session,
        reason,
        now,
        now,
        state.settings.job_max_attempts,
    );
    repo::sessions::upsert_many(&txn, vec![session.clone()]).await?;
    repo::jobs::enqueue_many(&txn, job.into_iter().collect(), now).await?;
    outbox::append(&txn, actor.tenant_id, vec![event], now).await?;
    crate::services::audit::record(
        &txn,
        actor,
        "session.closed",
        "session",
        Some(id.to_string()),
        serde_json::json!({ "leadId": session.lead_id, "reason": reason.as_str() }),
        now,
    )
    .await?;
    txn.commit().await?;
    state.events.notify_committed(actor.tenant_id);
    state.jobs_notify.notify_one();
    Ok(session)
}

/// Sessions the sweeper closes per transaction.
const SWEEP_BATCH: u64 = 200;

/// Closes every session whose customer has been quiet for longer than their tenant's idle
/// timeout, and queues their summaries; returns how many it closed. Safe on every replica at
/// once: sessions being written are skipped (row locks), and summary jobs are deduplicated.
pub async fn close_idle(state: &AppState) -> AppResult<usize> {
    let mut closed = 0;
    for idle_minutes in repo::tenants::idle_timeouts(state.db.reader()).await? {
        let cutoff = state.now() - chrono::Duration::minutes(i64::from(idle_minutes));
        loop {
            let n = close_idle_batch(state, idle_minutes, cutoff).await?;
            closed += n;
            if (n as u64) < SWEEP_BATCH {
                break;
            }
        }
    }
    if closed > 0 {
        tracing::info!(closed, "closed idle sessions");
        state.jobs_notify.notify_one();
    }
    Ok(closed)
}

/// Closes up to [`SWEEP_BATCH`] sessions of tenants whose idle timeout is `idle_minutes` and
/// whose last message is before `cutoff`, in one transaction.
async fn close_idle_batch(
    state: &AppState,
    idle_minutes: i32,
    cutoff: DateTime<Utc>,
) -> AppResult<usize> {
    let now = state.now();
    let txn = state.db.begin_write().await?;
    let mut sessions = repo::sessions::lock_idle(&txn, idle_minutes, cutoff, SWEEP_BATCH).await?;
    if sessions.is_empty() {
        return Ok(0);
    }
    let mut events: BTreeMap<Uuid, Vec<NewEvent>> = BTreeMap::new();
    let mut jobs = Vec::with_capacity(sessions.len());
    for session in &mut sessions {
        let (event, job) = close_in_memory(
            session,
            CloseReason::IdleTimeout,
            now,
            now,
            state.settings.job_max_attempts,
        );
        events.entry(session.tenant_id).or_default().push(event);
        jobs.extend(job);
    }
    let count = sessions.len();
    repo::sessions::upsert_many(&txn, sessions).await?;
    repo::jobs::enqueue_many(&txn, jobs, now).await?;
    let tenants: Vec<Uuid> = events.keys().copied().collect();
    // Tenants in id order, so two sweepers lock tenant counters in the same order.
    for (tenant_id, tenant_events) in events {
        outbox::append(&txn, tenant_id, tenant_events, now).await?;
    }
    txn.commit().await?;
    for tenant_id in tenants {
        state.events.notify_committed(tenant_id);
    }
    Ok(count)
}
