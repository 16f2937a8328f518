//! The event outbox as a table: reading a tenant's sequence, and deleting its oldest prefix.

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Statement};
use uuid::Uuid;

use crate::db::executor::Executor;
use crate::entities::event;

/// Events of a tenant after `seq`, in order.
pub async fn after<C: Executor>(
    conn: &C,
    tenant_id: Uuid,
    seq: i64,
    limit: u64,
) -> Result<Vec<event::Model>, DbErr> {
    conn.all(
        event::Entity::find()
            .filter(event::Column::TenantId.eq(tenant_id))
            .filter(event::Column::Seq.gt(seq))
            .order_by_asc(event::Column::Seq)
            .limit(limit),
    )
    .await
}

/// The last committed event of a tenant (0 when none).
pub async fn head_seq<C: Executor>(conn: &C, tenant_id: Uuid) -> Result<i64, DbErr> {
    let head = conn
        .query_i64(Statement::from_sql_and_values(
            conn.backend(),
            "SELECT COALESCE(MAX(seq), 0) FROM events WHERE tenant_id = $1",
            [tenant_id.into()],
        ))
        .await?;
    Ok(head.unwrap_or(0))
}

/// The first retained event of a tenant (retention deletes old ones).
pub async fn first_seq<C: Executor>(conn: &C, tenant_id: Uuid) -> Result<Option<i64>, DbErr> {
    let first: Vec<(i64,)> = conn
        .rows(Statement::from_sql_and_values(
            conn.backend(),
            "SELECT seq FROM events WHERE tenant_id = $1 ORDER BY seq LIMIT 1",
            [tenant_id.into()],
        ))
        .await?;
    Ok(first.first().map(|(seq,)| *seq))
}

/// The first event of a tenant, in sequence order, written at or after `at`.
pub async fn first_seq_since<C: Executor>(
    conn: &C,
    tenant_id: Uuid,
    at: DateTime<Utc>,
) -> Result<Option<i64>, DbErr> {
    let first: Vec<(i64,)> = conn
        .rows(Statement::from_sql_and_values(
            conn.backend(),
            "SELECT seq FROM events WHERE tenant_id = $1 AND created_at >= $2 \
             ORDER BY seq LIMIT 1",
            [tenant_id.into(), at.into()],
        ))
        .await?;
    Ok(first.first().map(|(seq,)| *seq))
}

/// Deletes a tenant's events numbered `from..to`; returns how many there were.
pub async fn delete_seq_range<C: Executor>(
    conn: &C,
    tenant_id: Uuid,
    from: i64,
    to: i64,
) -> Result<u64, DbErr> {
    conn.execute(Statement::from_sql_and_values(
        conn.backend(),
        "DELETE FROM events WHERE tenant_id = $1 AND seq >= $2 AND seq < $3",
        [tenant_id.into(), from.into(), to.into()],
    ))
    .await
}
