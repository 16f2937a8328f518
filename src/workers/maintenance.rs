//! Housekeeping: events past their tenant's retention, finished jobs past a week.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbErr, FromQueryResult, Statement};
use tokio_util::sync::CancellationToken;

use crate::events::hub;
use crate::repo;
use crate::state::AppState;

/// How long finished jobs stay visible to admins.
const DONE_JOB_RETENTION: chrono::Duration = chrono::Duration::days(7);

/// How many rows (events, finished jobs) one deleting statement removes at most: each chunk is
/// a short write of its own, so ingest never queues behind one long deletion (SQLite has a
/// single writer).
pub const DELETE_CHUNK: i64 = 2_000;

/// One housekeeping pass; returns (events deleted, jobs deleted).
pub async fn run_once(state: &AppState) -> anyhow::Result<(u64, u64)> {
    #[derive(FromQueryResult)]
    struct Tenant {
        id: uuid::Uuid,
        event_retention_days: i32,
    }
    let now = state.now();
    let tenants = Tenant::find_by_statement(Statement::from_string(
        state.db.read.get_database_backend(),
        "SELECT id, event_retention_days FROM tenants",
    ))
    .all(&state.db.read)
    .await?;
    let mut events = 0;
    for tenant in tenants {
        let before = now - chrono::Duration::days(i64::from(tenant.event_retention_days));
        events += expire_events(state, tenant.id, before, DELETE_CHUNK).await?;
    }
    let jobs = repo::jobs::delete_done_before(
        &state.db.write,
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
/// are a suffix, so one resuming from a deleted cursor is told to resync (`hub::first_seq`), and
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
    let read = &state.db.read;
    let Some(first) = hub::first_seq(read, tenant_id).await? else {
        return Ok(0);
    };
    // Read before looking for the first kept event: an event committed in between is numbered
    // after `head` and then found below, not deleted with the old ones.
    let head = hub::head_seq(read, tenant_id).await?;
    let kept = read
        .query_one_raw(Statement::from_sql_and_values(
            read.get_database_backend(),
            "SELECT seq FROM events WHERE tenant_id = $1 AND created_at >= $2 \
             ORDER BY seq LIMIT 1",
            [tenant_id.into(), before.into()],
        ))
        .await?
        .map(|row| row.try_get_by_index::<i64>(0))
        .transpose()?;
    // None kept: every event up to `head` is past retention.
    let end = kept.unwrap_or(head + 1);
    let write = &state.db.write;
    let mut deleted = 0;
    let mut from = first;
    while from < end {
        let to = end.min(from.saturating_add(chunk.max(1)));
        deleted += write
            .execute_raw(Statement::from_sql_and_values(
                write.get_database_backend(),
                "DELETE FROM events WHERE tenant_id = $1 AND seq >= $2 AND seq < $3",
                [tenant_id.into(), from.into(), to.into()],
            ))
            .await?
            .rows_affected();
        from = to;
    }
    Ok(deleted)
}

/// Runs housekeeping hourly until shutdown.
pub async fn run_loop(state: AppState, shutdown: CancellationToken) {
    let mut interval = tokio::time::interval(std::time::Duration::from_secs(3600));
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = interval.tick() => {}
        }
        if let Err(err) = run_once(&state).await {
            tracing::warn!(error = format!("{err:#}"), "housekeeping failed");
        }
    }
}
