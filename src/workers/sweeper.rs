//! The sweeper: closes sessions whose customer has been quiet for longer than their tenant's
//! idle timeout, and queues their summaries. Safe on every replica at once: sessions being
//! written are skipped (row locks), and summary jobs are deduplicated.

use std::collections::BTreeMap;

use sea_orm::{FromQueryResult, Statement};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::domain::CloseReason;
use crate::events::{NewEvent, outbox};
use crate::repo;
use crate::services::sessions::close_in_memory;
use crate::state::AppState;

/// Sessions closed per transaction.
const BATCH: u64 = 200;

/// Closes every idle session once; returns how many it closed.
pub async fn sweep(state: &AppState) -> anyhow::Result<usize> {
    #[derive(FromQueryResult)]
    struct Idle {
        session_idle_minutes: i32,
    }
    let db = &state.db.write;
    let idle_values = Idle::find_by_statement(Statement::from_string(
        db.get_database_backend(),
        "SELECT DISTINCT session_idle_minutes FROM tenants",
    ))
    .all(&state.db.read)
    .await?;
    let mut closed = 0;
    for idle in idle_values {
        let now = state.now();
        let cutoff = now - chrono::Duration::minutes(i64::from(idle.session_idle_minutes));
        loop {
            let n = close_batch(state, idle.session_idle_minutes, cutoff).await?;
            closed += n;
            if (n as u64) < BATCH {
                break;
            }
        }
    }
    if closed > 0 {
        tracing::info!(closed, "sweeper closed idle sessions");
        state.jobs_notify.notify_one();
    }
    Ok(closed)
}

async fn close_batch(
    state: &AppState,
    idle_minutes: i32,
    cutoff: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<usize> {
    let now = state.now();
    let txn = state.db.begin_write().await?;
    let mut sessions = repo::sessions::lock_idle(&txn, idle_minutes, cutoff, BATCH).await?;
    if sessions.is_empty() {
        return Ok(0);
    }
    let mut events: BTreeMap<Uuid, Vec<NewEvent>> = BTreeMap::new();
    let mut jobs = Vec::with_capacity(sessions.len());
    for session in &mut sessions {
        let (event, job) = close_in_memory(session, CloseReason::IdleTimeout, now, now, state);
        events.entry(session.tenant_id).or_default().push(event);
        jobs.extend(job);
    }
    let count = sessions.len();
    repo::sessions::upsert_many(&txn, sessions).await?;
    repo::jobs::enqueue_many(&txn, jobs, now).await?;
    // Tenants in id order, so two sweepers lock tenant counters in the same order.
    for (tenant_id, tenant_events) in &events {
        outbox::append(&txn, *tenant_id, tenant_events.clone(), now).await?;
    }
    txn.commit().await?;
    for tenant_id in events.keys() {
        state.events.notify_committed(*tenant_id);
    }
    Ok(count)
}

/// Sweeps every `sweep_interval` until shutdown.
pub async fn run_loop(state: AppState, shutdown: CancellationToken) {
    let mut interval = tokio::time::interval(state.settings.sweep_interval);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = interval.tick() => {}
        }
        if let Err(err) = sweep(&state).await {
            tracing::warn!(
                error = format!("{err:#}"),
                "sweep failed; retrying next interval"
            );
        }
    }
}
