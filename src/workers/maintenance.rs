//! Housekeeping: events past their tenant's retention, finished jobs past a week.

use sea_orm::{ConnectionTrait, FromQueryResult, Statement};
use tokio_util::sync::CancellationToken;

use crate::repo;
use crate::state::AppState;

/// How long finished jobs stay visible to admins.
const DONE_JOB_RETENTION: chrono::Duration = chrono::Duration::days(7);

/// One housekeeping pass; returns (events deleted, jobs deleted).
pub async fn run_once(state: &AppState) -> anyhow::Result<(u64, u64)> {
    #[derive(FromQueryResult)]
    struct Tenant {
        id: uuid::Uuid,
        event_retention_days: i32,
    }
    let db = &state.db.write;
    let backend = db.get_database_backend();
    let now = state.now();
    let tenants = Tenant::find_by_statement(Statement::from_string(
        backend,
        "SELECT id, event_retention_days FROM tenants",
    ))
    .all(&state.db.read)
    .await?;
    let mut events = 0;
    for tenant in tenants {
        let before = now - chrono::Duration::days(i64::from(tenant.event_retention_days));
        let result = db
            .execute_raw(Statement::from_sql_and_values(
                backend,
                "DELETE FROM events WHERE tenant_id = $1 AND created_at < $2",
                [tenant.id.into(), before.into()],
            ))
            .await?;
        events += result.rows_affected();
    }
    let jobs = repo::jobs::delete_done_before(db, now - DONE_JOB_RETENTION).await?;
    if events + jobs > 0 {
        tracing::info!(events, jobs, "housekeeping deleted expired rows");
    }
    Ok((events, jobs))
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
