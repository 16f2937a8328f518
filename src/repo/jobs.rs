//! The durable job queue: enqueueing with a dedupe key, claiming with a lease, and fenced
//! completion (only the lease holder may finish a job).

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ColumnTrait, Condition, DatabaseBackend, DbErr, EntityTrait, Order, QueryFilter, QueryOrder,
    QuerySelect, Statement,
};
use serde_json::Value;
use uuid::Uuid;

use super::pagination::{Cursor, Direction, PageRequest};
use crate::db::executor::Executor;
use crate::entities::job;

/// Job states.
pub mod status {
    pub const PENDING: &str = "pending";
    pub const RUNNING: &str = "running";
    pub const DONE: &str = "done";
    pub const DEAD: &str = "dead";
}

/// Work to queue.
#[derive(Debug, Clone, PartialEq)]
pub struct NewJob {
    pub tenant_id: Uuid,
    pub kind: String,
    pub payload: Value,
    /// While a job with this key is still pending, the same key is not queued again.
    pub dedupe_key: Option<String>,
    pub run_at: DateTime<Utc>,
    pub max_attempts: i32,
}

/// Queues jobs; those whose dedupe key is already pending are skipped.
pub async fn enqueue_many<C: Executor>(
    conn: &C,
    jobs: Vec<NewJob>,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    if jobs.is_empty() {
        return Ok(());
    }
    let rows = jobs.into_iter().map(|j| {
        job::ActiveModel::from(job::Model {
            tenant_id: j.tenant_id,
            id: Uuid::now_v7(),
            kind: j.kind,
            payload: j.payload,
            dedupe_key: j.dedupe_key,
            status: status::PENDING.into(),
            attempts: 0,
            max_attempts: j.max_attempts,
            run_at: j.run_at,
            lease_owner: None,
            lease_expires_at: None,
            last_error: None,
            finished_at: None,
            created_at: now,
            updated_at: now,
        })
    });
    conn.insert_rows(
        rows.collect(),
        Some(
            OnConflict::columns([job::Column::TenantId, job::Column::DedupeKey])
                // A literal, not a bound value: SQLite matches the partial index only when it
                // can see the predicate is the index's own.
                .target_and_where(Expr::cust("status = 'pending'"))
                .do_nothing()
                .to_owned(),
        ),
    )
    .await?;
    Ok(())
}

/// Claims up to `limit` jobs for `owner` until `lease_until`: due pending jobs, and running jobs
/// whose lease expired (their worker died). Each claim counts as an attempt.
pub async fn claim<C: Executor>(
    conn: &C,
    owner: &str,
    limit: u64,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
) -> Result<Vec<job::Model>, DbErr> {
    let backend = conn.backend();
    // PostgreSQL: concurrent runners skip rows another runner is claiming. SQLite: the single
    // writer connection already serializes claims.
    let lock = if backend == DatabaseBackend::Postgres {
        "FOR UPDATE SKIP LOCKED"
    } else {
        ""
    };
    let mut claimed = Vec::new();
    for candidates in [
        "status = 'running' AND lease_expires_at < $3 ORDER BY lease_expires_at",
        "status = 'pending' AND run_at <= $3 ORDER BY run_at",
    ] {
        let remaining = limit.saturating_sub(claimed.len() as u64);
        if remaining == 0 {
            break;
        }
        let sql = format!(
            "UPDATE jobs SET status = 'running', lease_owner = $1, lease_expires_at = $2, \
             attempts = attempts + 1, updated_at = $3 \
             WHERE (tenant_id, id) IN (SELECT tenant_id, id FROM jobs WHERE {candidates} LIMIT $4 {lock}) \
             RETURNING *"
        );
        let rows = conn
            .raw::<job::Entity>(Statement::from_sql_and_values(
                backend,
                sql,
                [
                    owner.into(),
                    lease_until.into(),
                    now.into(),
                    (remaining as i64).into(),
                ],
            ))
            .await?;
        claimed.extend(rows);
    }
    Ok(claimed)
}

/// Runs `UPDATE jobs SET {set}` on `job` only while `owner` holds its lease; `values` bind
/// `$1…$n` in `set`. Returns whether the job was updated (`false`: the lease was lost).
async fn fenced<C: Executor>(
    conn: &C,
    job: &job::Model,
    owner: &str,
    set: &str,
    mut values: Vec<sea_orm::Value>,
) -> Result<bool, DbErr> {
    let n = values.len();
    let sql = format!(
        "UPDATE jobs SET {set} WHERE tenant_id = ${} AND id = ${} AND status = 'running' AND lease_owner = ${}",
        n + 1,
        n + 2,
        n + 3
    );
    values.extend([job.tenant_id.into(), job.id.into(), owner.into()]);
    let changed = conn
        .execute(Statement::from_sql_and_values(conn.backend(), sql, values))
        .await?;
    Ok(changed == 1)
}

/// Marks a claimed job done, only if `owner` still holds its lease. Run it inside the
/// transaction that carries the job's effects: `false` means the lease was lost and the caller
/// must roll back.
pub async fn complete<C: Executor>(
    conn: &C,
    job: &job::Model,
    owner: &str,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    fenced(
        conn,
        job,
        owner,
        "status = 'done', finished_at = $1, updated_at = $1, lease_owner = NULL, lease_expires_at = NULL",
        vec![now.into()],
    )
    .await
}

/// Records a failed attempt: back to pending at `retry_at`, or dead when `dead` (attempts used
/// up, or an error no retry can fix). Fenced by the lease like `complete`.
pub async fn fail<C: Executor>(
    conn: &C,
    job: &job::Model,
    owner: &str,
    error: &str,
    dead: bool,
    retry_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let (next_status, finished): (&str, Option<DateTime<Utc>>) = if dead {
        (status::DEAD, Some(now))
    } else {
        (status::PENDING, None)
    };
    let error: String = error.chars().take(2000).collect();
    fenced(
        conn,
        job,
        owner,
        "status = $1, run_at = $2, last_error = $3, finished_at = $4, updated_at = $5, \
         lease_owner = NULL, lease_expires_at = NULL",
        vec![
            next_status.into(),
            retry_at.into(),
            error.into(),
            finished.into(),
            now.into(),
        ],
    )
    .await
}

/// Extends the lease of a job still held by `owner`.
pub async fn heartbeat<C: Executor>(
    conn: &C,
    job: &job::Model,
    owner: &str,
    lease_until: DateTime<Utc>,
) -> Result<bool, DbErr> {
    fenced(
        conn,
        job,
        owner,
        "lease_expires_at = $1",
        vec![lease_until.into()],
    )
    .await
}

pub async fn find<C: Executor>(
    conn: &C,
    tenant_id: Uuid,
    id: Uuid,
) -> Result<Option<job::Model>, DbErr> {
    conn.one(job::Entity::find_by_id((tenant_id, id))).await
}

pub fn cursor_of(job: &job::Model) -> Cursor {
    Cursor {
        at: job.created_at,
        id: job.id,
    }
}

/// The filter of a job list: the tenant's jobs, optionally by status and kind.
fn listed(tenant_id: Uuid, status: Option<&str>, kind: Option<&str>) -> Condition {
    let mut cond = Condition::all().add(job::Column::TenantId.eq(tenant_id));
    if let Some(status) = status {
        cond = cond.add(job::Column::Status.eq(status));
    }
    if let Some(kind) = kind {
        cond = cond.add(job::Column::Kind.eq(kind));
    }
    cond
}

/// A page of a tenant's jobs, newest first (walking order), optionally by status and kind.
pub async fn page<C: Executor>(
    conn: &C,
    tenant_id: Uuid,
    status: Option<&str>,
    kind: Option<&str>,
    request: &PageRequest,
) -> Result<Vec<job::Model>, DbErr> {
    let descending = request.direction == Direction::Forward;
    let mut cond = listed(tenant_id, status, kind);
    if let Some(c) = request.cursor {
        cond = cond.add(super::leads::keyset_after(
            job::Column::CreatedAt,
            job::Column::Id,
            c,
            descending,
        ));
    }
    let sort = if descending { Order::Desc } else { Order::Asc };
    conn.all(
        job::Entity::find()
            .filter(cond)
            .order_by(job::Column::CreatedAt, sort.clone())
            .order_by(job::Column::Id, sort)
            .limit(request.fetch()),
    )
    .await
}

/// How many of a tenant's jobs [`page`] walks through with the same filter.
pub async fn count<C: Executor>(
    conn: &C,
    tenant_id: Uuid,
    status: Option<&str>,
    kind: Option<&str>,
) -> Result<u64, DbErr> {
    conn.count(job::Entity::find().filter(listed(tenant_id, status, kind)))
        .await
}

/// Queue sizes by kind and status (pending, running and dead only: done jobs are history).
pub async fn depth<C: Executor>(conn: &C) -> Result<Vec<(String, String, i64)>, DbErr> {
    conn.rows(Statement::from_string(
        conn.backend(),
        "SELECT kind, status, COUNT(*) AS n FROM jobs \
         WHERE status IN ('pending', 'running', 'dead') GROUP BY kind, status",
    ))
    .await
}

/// Deletes finished jobs older than `before`, at most `chunk` per statement (each a short write
/// of its own: SQLite has one writer, and ingest waits behind whatever holds it), and returns
/// how many it deleted. The oldest jobs come first in the table, so each chunk finds its rows
/// near the start.
pub async fn delete_done_before<C: Executor>(
    conn: &C,
    before: DateTime<Utc>,
    chunk: u64,
) -> Result<u64, DbErr> {
    let chunk = chunk.max(1);
    let mut deleted = 0;
    loop {
        let n = conn
            .execute(Statement::from_sql_and_values(
                conn.backend(),
                "DELETE FROM jobs WHERE (tenant_id, id) IN (\
                   SELECT tenant_id, id FROM jobs \
                   WHERE status = 'done' AND finished_at < $1 LIMIT $2)",
                [before.into(), (chunk as i64).into()],
            ))
            .await?;
        deleted += n;
        if n < chunk {
            return Ok(deleted);
        }
    }
}
