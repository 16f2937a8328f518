//! Housekeeping: events (and the webhook deliveries made of them) past their tenant's
//! retention, finished jobs past a week.

use chrono::{DateTime, Utc};
use sea_orm::DbErr;

use crate::error::AppResult;
use crate::repo;
use crate::state::AppState;

/// How long finished jobs stay visible to admins.
const DONE_JOB_RETENTION: chrono::Duration = chrono::Duration::days(7);

/// How many rows (events, finished jobs) one deleting statement removes at most: each chunk is
/// a short write of its own, so ingest never queues behind one long deletion (SQLite has a
/// single writer).
pub const DELETE_CHUNK: i64 = 2_000;

/// One housekeeping pass; returns (events deleted, jobs deleted).
pub async fn run_once(state: &AppState) -> AppResult<(u64, u64)> {
    let now = state.now();
    let tenants = repo::tenants::event_retention(state.db.reader()).await?;
    let mut events = 0;
    for (tenant_id, retention_days) in tenants {
        let before = now - chrono::Duration::days(i64::from(retention_days));
        events += expire_events(state, tenant_id, before, DELETE_CHUNK).await?;
        // Outbound webhook deliveries carry event payloads: they go with the events.
        repo::webhooks::delete_before(state.db.writer(), tenant_id, before).await?;
    }
    let jobs = repo::jobs::delete_done_before(
        state.db.writer(),
        now - DONE_JOB_RETENTION,
        DELETE_CHUNK as u64,
    )
    .await?;
    if events + jobs > 0 {
        tracing::info!(events, jobs, "housekeeping deleted expired rows");
    }
    Ok((events, jobs))
}

/// Deletes a tenant's events written before `before`, `chunk` at most per statement, and
/// returns how many it deleted.
///
/// What goes is always a prefix of the tenant's sequence: every event before the first one (in
/// sequence order) written at or after `before`. Subscribers rely on that: the retained events
/// are a suffix, so one resuming from a deleted cursor is told to resync (`repo::events::first_seq`), and
/// none can miss a deleted event in the middle. A time-based `DELETE` would not promise it,
/// since `created_at` follows `seq` only roughly (a transaction takes its time before it takes
/// its numbers). Finding the prefix walks the primary key from the oldest event and reads only
/// the rows that are about to go.
pub async fn expire_events(
    state: &AppState,
    tenant_id: uuid::Uuid,
    before: DateTime<Utc>,
    chunk: i64,
) -> Result<u64, DbErr> {
    let read = state.db.reader();
    let Some(first) = repo::events::first_seq(read, tenant_id).await? else {
        return Ok(0);
    };
    // Read before looking for the first kept event: an event committed in between is numbered
    // after `head` and then found below, not deleted with the old ones.
    let head = repo::events::head_seq(read, tenant_id).await?;
    let kept = repo::events::first_seq_since(read, tenant_id, before).await?;
    // None kept: every event up to `head` is past retention.
    let end = kept.unwrap_or(head + 1);
    let write = state.db.writer();
    let mut deleted = 0;
    let mut from = first;
    while from < end {
        let to = end.min(from.saturating_add(chunk.max(1)));
        deleted += repo::events::delete_seq_range(write, tenant_id, from, to).await?;
        from = to;
    }
    Ok(deleted)
}
