//! Retention: messages, summaries and audit entries past their tenant's limits are deleted,
//! oldest first, in small transactions paced to share the writer with live traffic (see
//! [`Pace`]), with the rows derived from them (through the catalogue) and the sessions they
//! leave empty. Profiles, their history and notes stay: they are the customer's record.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use uuid::Uuid;

use super::catalogue;
use crate::auth::Actor;
use crate::error::AppResult;
use crate::repo;
use crate::repo::privacy::SessionKey;
use crate::services::audit;
use crate::state::AppState;

/// Rows one transaction deletes at most.
pub const BATCH: u64 = 200;

/// Rows the first batch of a step deletes; later batches are sized by [`Pace`].
const FIRST_BATCH: u64 = 50;

/// Rows one transaction deletes at least (unless fewer are left).
const MIN_BATCH: u64 = 10;

/// How long a batch should hold the writer. Ingest takes the writer in turn with retention
/// (first come first served), so a message recorded during a run waits for at most one batch:
/// this is what retention adds to ingest's latency at worst.
const BATCH_BUDGET: Duration = Duration::from_millis(2);

/// How long the run rests after a batch, as a multiple of the time the batch held the writer:
/// retention takes at most a third of the writer's time (and of the machine's, which the
/// writer shares with the requests).
const REST: u32 = 2;

/// How retention shares the writer with live traffic. Each batch is sized so that it holds
/// the writer for about [`BATCH_BUDGET`] (the time per row grows with the database and with
/// what else the machine is doing, so it is measured, not assumed), and after each batch the
/// run rests [`REST`] times as long as the batch held the writer: ingest waits for at most one
/// short batch, and retention takes a bounded share of the writer however long the backlog.
#[derive(Debug)]
struct Pace {
    rows: u64,
}

impl Pace {
    fn new() -> Self {
        Self { rows: FIRST_BATCH }
    }

    /// Rows the next batch should delete.
    fn rows(&self) -> u64 {
        self.rows
    }

    /// Learns from a batch of `rows` rows that held the writer for `held`; returns how long
    /// to rest before the next one.
    fn after(&mut self, rows: u64, held: Duration) -> Duration {
        if rows > 0 {
            let per_row = held.as_secs_f64() / rows as f64;
            let fit = if per_row > 0.0 {
                (BATCH_BUDGET.as_secs_f64() / per_row) as u64
            } else {
                BATCH
            };
            // At most doubling per batch: one quick batch (a warm cache, an idle moment) is
            // not a measure of the next.
            self.rows = fit.min(self.rows.saturating_mul(2)).clamp(MIN_BATCH, BATCH);
        }
        held * REST
    }
}

/// What one retention run deleted, by table (`leads` counts lead rows whose copy of an expired
/// summary was cleared).
pub type RetentionCounts = BTreeMap<String, u64>;

/// The limits of one tenant, in days (0 = forever).
#[derive(Debug, Clone, Copy)]
struct Limits {
    messages: i32,
    summaries: i32,
    audit: i32,
}

/// Records how long one batch held the writer (from its first statement to its commit).
fn held(kind: &'static str, started: Instant) -> Duration {
    let elapsed = started.elapsed();
    metrics::histogram!("memodesk_retention_batch_seconds", "table" => kind)
        .record(elapsed.as_secs_f64());
    tracing::debug!(
        table = kind,
        ms = elapsed.as_secs_f64() * 1e3,
        "retention batch"
    );
    elapsed
}

/// Counts `n` deleted rows of `table`.
fn add(counts: &mut RetentionCounts, table: &str, n: u64) {
    if n > 0 {
        *counts.entry(table.to_owned()).or_default() += n;
        metrics::counter!("memodesk_retention_deleted_total", "table" => table.to_owned())
            .increment(n);
    }
}

fn cutoff(now: DateTime<Utc>, days: i32) -> Option<DateTime<Utc>> {
    (days > 0).then(|| now - TimeDelta::days(i64::from(days)))
}

/// Runs retention for one tenant, or for every tenant; `progress` is told of every batch
/// (rows deleted so far). Each tenant's run writes an audit entry with its counts.
pub async fn run(
    state: &AppState,
    tenant: Option<Uuid>,
    progress: &(dyn Fn(u64) + Send + Sync),
) -> AppResult<BTreeMap<Uuid, RetentionCounts>> {
    let tenants = repo::privacy::retention_settings(state.db.reader()).await?;
    let mut report = BTreeMap::new();
    let mut total = 0;
    for (tenant_id, messages, summaries, audit) in tenants {
        if tenant.is_some_and(|t| t != tenant_id) {
            continue;
        }
        let limits = Limits {
            messages,
            summaries,
            audit,
        };
        let counts = run_tenant(state, tenant_id, limits, &mut |n| {
            total += n;
            progress(total);
        })
        .await?;
        report.insert(tenant_id, counts);
    }
    // Search's ranking remembers counts of the words in the index (see `db::fts5_rank`).
    state.db.forget_search_counts();
    metrics::counter!("memodesk_retention_runs_total").increment(1);
    Ok(report)
}

/// One kind of row retention deletes, one batch at a time.
enum Step {
    /// The oldest rows of `table` with `column` before the cutoff, with the rows `derived` from
    /// them.
    Oldest {
        table: &'static str,
        column: &'static str,
        derived: Vec<(&'static str, &'static str)>,
    },
    /// Leads' copies of expired summaries.
    LeadSummaries,
    /// Closed sessions left without messages or summaries.
    EmptySessions,
}

impl Step {
    /// The table the step's counts and metrics are reported under.
    fn table(&self) -> &'static str {
        match self {
            Step::Oldest { table, .. } => table,
            Step::LeadSummaries => "leads",
            Step::EmptySessions => "sessions",
        }
    }

    /// Deletes up to `limit` rows in a transaction of its own: (rows of the step's table,
    /// derived rows, whether there may be more, how long the transaction held the writer).
    /// What to delete is read before the transaction (so the writer is held for the deletes
    /// only); `walked` is where a step that walks its table stands.
    async fn batch(
        &self,
        state: &AppState,
        tenant_id: Uuid,
        before: DateTime<Utc>,
        limit: u64,
        walked: &mut Option<SessionKey>,
    ) -> AppResult<Batch> {
        let reader = state.db.reader();
        let ids = match self {
            Step::Oldest { table, column, .. } => {
                repo::privacy::oldest_ids(reader, tenant_id, table, column, before, limit).await?
            }
            Step::LeadSummaries => Vec::new(),
            Step::EmptySessions => {
                let found =
                    repo::privacy::empty_sessions(reader, tenant_id, before, *walked, limit)
                        .await?;
                *walked = found.last().copied();
                found.into_iter().map(|(_, id)| id).collect()
            }
        };
        let read = ids.len() as u64;
        if read == 0 && !matches!(self, Step::LeadSummaries) {
            return Ok(Batch::default());
        }
        let txn = state.db.begin_write().await?;
        let started = Instant::now();
        let (deleted, derived, more) = match self {
            Step::Oldest { table, derived, .. } => {
                let (n, d) =
                    repo::privacy::delete_with_derived(&txn, tenant_id, table, &ids, derived)
                        .await?;
                (n, d, read == limit)
            }
            Step::LeadSummaries => {
                let n = repo::privacy::clear_expired_lead_summaries(&txn, tenant_id, before, limit)
                    .await?;
                (n, 0, n == limit)
            }
            Step::EmptySessions => {
                let n = repo::privacy::delete_sessions_if_empty(&txn, tenant_id, &ids).await?;
                (n, 0, read == limit)
            }
        };
        txn.commit().await?;
        Ok(Batch {
            deleted,
            derived,
            more,
            held: held(self.table(), started),
        })
    }
}

/// What one batch did.
#[derive(Debug, Default)]
struct Batch {
    /// Rows of the step's table deleted (or, for leads, cleared).
    deleted: u64,
    /// Rows derived from them deleted.
    derived: u64,
    /// Whether the step may have more to delete.
    more: bool,
    /// How long the batch held the writer.
    held: Duration,
}

async fn run_tenant(
    state: &AppState,
    tenant_id: Uuid,
    limits: Limits,
    progress: &mut (dyn FnMut(u64) + Send),
) -> AppResult<RetentionCounts> {
    let now = state.now();
    let messages = cutoff(now, limits.messages);
    let summaries = cutoff(now, limits.summaries);
    // In order: sessions are empty once their messages and summaries are gone.
    let steps = [
        (
            messages,
            Step::Oldest {
                table: "messages",
                column: "occurred_at",
                derived: catalogue::derived_from_messages(),
            },
        ),
        (
            summaries,
            Step::Oldest {
                table: "interaction_summaries",
                column: "created_at",
                derived: catalogue::derived_from_summaries(),
            },
        ),
        (summaries, Step::LeadSummaries),
        (messages, Step::EmptySessions),
        (
            cutoff(now, limits.audit),
            Step::Oldest {
                table: "audit_entries",
                column: "created_at",
                derived: Vec::new(),
            },
        ),
    ];
    let mut counts = RetentionCounts::new();
    for (before, step) in steps {
        let Some(before) = before else { continue };
        let mut walked = None;
        let mut pace = Pace::new();
        loop {
            let limit = pace.rows();
            let batch = step
                .batch(state, tenant_id, before, limit, &mut walked)
                .await?;
            add(&mut counts, step.table(), batch.deleted);
            add(&mut counts, "derived", batch.derived);
            progress(batch.deleted + batch.derived);
            if !batch.more {
                break;
            }
            let rest = pace.after(limit, batch.held);
            tokio::time::sleep(rest).await;
        }
    }
    let txn = state.db.begin_write().await?;
    audit::record(
        &txn,
        &Actor::system(tenant_id),
        "retention.run",
        "tenant",
        Some(tenant_id.to_string()),
        serde_json::json!({ "deleted": counts, "limits": {
            "messageRetentionDays": limits.messages,
            "summaryRetentionDays": limits.summaries,
            "auditRetentionDays": limits.audit,
        } }),
        now,
    )
    .await?;
    txn.commit().await?;
    if !counts.is_empty() {
        tracing::info!(%tenant_id, ?counts, "retention deleted expired rows");
    }
    Ok(counts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_slower_than_its_budget_makes_the_next_one_smaller() {
        let mut pace = Pace::new();
        // 50 rows in 10 ms: 0.2 ms a row, so 2 ms is 10 rows.
        pace.after(50, Duration::from_millis(10));
        assert_eq!(pace.rows(), 10);
        // Never fewer than the minimum, however slow.
        pace.after(10, Duration::from_millis(100));
        assert_eq!(pace.rows(), MIN_BATCH);
    }

    #[test]
    fn quick_batches_grow_at_most_twofold_and_never_past_the_maximum() {
        let mut pace = Pace::new();
        pace.after(FIRST_BATCH, Duration::from_micros(10));
        assert_eq!(pace.rows(), 2 * FIRST_BATCH);
        for _ in 0..10 {
            let rows = pace.rows();
            pace.after(rows, Duration::from_micros(10));
        }
        assert_eq!(pace.rows(), BATCH);
    }

    #[test]
    fn the_run_rests_twice_as_long_as_the_batch_held_the_writer() {
        let mut pace = Pace::new();
        let held = Duration::from_micros(2_500);
        assert_eq!(pace.after(FIRST_BATCH, held), 2 * held);
        // A batch that found nothing teaches nothing.
        let rows = pace.rows();
        pace.after(0, Duration::ZERO);
        assert_eq!(pace.rows(), rows);
    }
}
