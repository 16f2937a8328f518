//! Outbound webhook endpoints, deliveries and attempts.

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, DatabaseBackend, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    Statement,
};
use uuid::Uuid;

use super::for_update;
use crate::db::executor::Executor;
use crate::entities::{event, webhook_attempt, webhook_delivery, webhook_endpoint};

pub mod status {
    pub const PENDING: &str = "pending";
    pub const SUCCEEDED: &str = "succeeded";
    pub const FAILED: &str = "failed";
}

pub async fn endpoint<C: Executor>(
    conn: &C,
    tenant_id: Uuid,
    id: Uuid,
) -> Result<Option<webhook_endpoint::Model>, DbErr> {
    conn.one(webhook_endpoint::Entity::find_by_id((tenant_id, id)))
        .await
}

/// Loads an endpoint and locks it for the rest of the transaction.
pub async fn lock_endpoint<C: Executor>(
    conn: &C,
    tenant_id: Uuid,
    id: Uuid,
) -> Result<Option<webhook_endpoint::Model>, DbErr> {
    conn.one(for_update(
        webhook_endpoint::Entity::find_by_id((tenant_id, id)),
        conn,
    ))
    .await
}

pub async fn endpoints<C: Executor>(
    conn: &C,
    tenant_id: Uuid,
) -> Result<Vec<webhook_endpoint::Model>, DbErr> {
    conn.all(
        webhook_endpoint::Entity::find()
            .filter(webhook_endpoint::Column::TenantId.eq(tenant_id))
            .order_by_asc(webhook_endpoint::Column::CreatedAt)
            .order_by_asc(webhook_endpoint::Column::Id),
    )
    .await
}

/// Enabled endpoints of every tenant that have events to fan out: `(tenant, endpoint)`.
pub async fn behind<C: Executor>(conn: &C) -> Result<Vec<(Uuid, Uuid)>, DbErr> {
    conn.rows(Statement::from_sql_and_values(
        conn.backend(),
        "SELECT w.tenant_id, w.id FROM webhook_endpoints w JOIN tenants t ON t.id = w.tenant_id \
         WHERE w.enabled AND w.event_cursor < t.event_seq",
        [],
    ))
    .await
}

/// Events of a tenant after `seq`, in order.
pub async fn events_after<C: Executor>(
    conn: &C,
    tenant_id: Uuid,
    seq: i64,
    limit: u64,
) -> Result<Vec<event::Model>, DbErr> {
    super::events::after(conn, tenant_id, seq, limit).await
}

/// Inserts deliveries; one that exists for the same endpoint and event is skipped.
pub async fn insert_deliveries<C: Executor>(
    conn: &C,
    rows: Vec<webhook_delivery::Model>,
) -> Result<(), DbErr> {
    if rows.is_empty() {
        return Ok(());
    }
    use sea_orm::sea_query::OnConflict;
    use webhook_delivery::Column as D;
    let rows = rows
        .into_iter()
        .map(webhook_delivery::ActiveModel::from)
        .collect();
    conn.insert_rows(
        rows,
        Some(
            OnConflict::columns([D::TenantId, D::EndpointId, D::EventSeq])
                .do_nothing()
                .to_owned(),
        ),
    )
    .await?;
    Ok(())
}

/// Claims due deliveries for `owner` until `lease_until`, counting the attempt.
pub async fn claim<C: Executor>(
    conn: &C,
    owner: &str,
    limit: u64,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
) -> Result<Vec<webhook_delivery::Model>, DbErr> {
    let backend = conn.backend();
    let lock = if backend == DatabaseBackend::Postgres {
        "FOR UPDATE SKIP LOCKED"
    } else {
        ""
    };
    let sql = format!(
        "UPDATE webhook_deliveries SET lease_owner = $1, lease_expires_at = $2, \
         attempts = attempts + 1, updated_at = $3 \
         WHERE (tenant_id, id) IN (SELECT tenant_id, id FROM webhook_deliveries \
           WHERE status = 'pending' AND next_attempt_at <= $3 \
             AND (lease_expires_at IS NULL OR lease_expires_at < $3) \
           ORDER BY next_attempt_at LIMIT $4 {lock}) \
         RETURNING *"
    );
    conn.raw::<webhook_delivery::Entity>(Statement::from_sql_and_values(
        backend,
        sql,
        [
            owner.into(),
            lease_until.into(),
            now.into(),
            (limit as i64).into(),
        ],
    ))
    .await
}

/// Records the outcome of the attempt `owner` made, only while it holds the lease; returns
/// whether it did (`false`: another sender took over, and its outcome counts).
#[allow(clippy::too_many_arguments)]
pub async fn finish_attempt<C: Executor>(
    conn: &C,
    delivery: &webhook_delivery::Model,
    owner: &str,
    status: &str,
    next_attempt_at: DateTime<Utc>,
    response_code: Option<i32>,
    error: Option<&str>,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let delivered = (status == status::SUCCEEDED).then_some(now);
    let changed = conn
        .execute(Statement::from_sql_and_values(
            conn.backend(),
            "UPDATE webhook_deliveries SET status = $1, next_attempt_at = $2, \
               last_response_code = $3, last_error = $4, delivered_at = $5, updated_at = $6, \
               lease_owner = NULL, lease_expires_at = NULL \
             WHERE tenant_id = $7 AND id = $8 AND lease_owner = $9 AND status = 'pending'",
            [
                status.into(),
                next_attempt_at.into(),
                response_code.into(),
                error.map(str::to_owned).into(),
                delivered.into(),
                now.into(),
                delivery.tenant_id.into(),
                delivery.id.into(),
                owner.into(),
            ],
        ))
        .await?;
    Ok(changed == 1)
}

/// Makes a delivery due again now with a fresh retry schedule (a replay), unless an attempt
/// holds a live lease on it; `false` when it does (or the delivery is missing). Conditional in
/// the statement itself, so a sender claiming it at the same moment is never overwritten.
pub async fn reset_for_replay<C: Executor>(
    conn: &C,
    tenant_id: Uuid,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let changed = conn
        .execute(Statement::from_sql_and_values(
            conn.backend(),
            "UPDATE webhook_deliveries SET status = 'pending', attempts = 0, \
               next_attempt_at = $1, lease_owner = NULL, lease_expires_at = NULL, updated_at = $1 \
             WHERE tenant_id = $2 AND id = $3 \
               AND NOT (status = 'pending' AND lease_owner IS NOT NULL \
                        AND lease_expires_at > $1)",
            [now.into(), tenant_id.into(), id.into()],
        ))
        .await?;
    Ok(changed == 1)
}

pub async fn insert_attempt<C: Executor>(
    conn: &C,
    attempt: webhook_attempt::Model,
) -> Result<(), DbErr> {
    conn.insert_rows(vec![webhook_attempt::ActiveModel::from(attempt)], None)
        .await?;
    Ok(())
}

pub async fn delivery<C: Executor>(
    conn: &C,
    tenant_id: Uuid,
    id: Uuid,
) -> Result<Option<webhook_delivery::Model>, DbErr> {
    conn.one(webhook_delivery::Entity::find_by_id((tenant_id, id)))
        .await
}

/// An endpoint's deliveries, newest first, after the delivery `after` (a page's last id).
pub async fn deliveries<C: Executor>(
    conn: &C,
    tenant_id: Uuid,
    endpoint_id: Uuid,
    status: Option<&str>,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<webhook_delivery::Model>, DbErr> {
    use webhook_delivery::Column as D;
    let mut select = webhook_delivery::Entity::find()
        .filter(D::TenantId.eq(tenant_id))
        .filter(D::EndpointId.eq(endpoint_id));
    if let Some(status) = status {
        select = select.filter(D::Status.eq(status));
    }
    if let Some(after) = after {
        select = select.filter(D::Id.lt(after));
    }
    conn.all(select.order_by_desc(D::Id).limit(limit)).await
}

/// The attempts of deliveries, oldest first.
pub async fn attempts<C: Executor>(
    conn: &C,
    tenant_id: Uuid,
    delivery_ids: &[Uuid],
) -> Result<Vec<webhook_attempt::Model>, DbErr> {
    if delivery_ids.is_empty() {
        return Ok(Vec::new());
    }
    use webhook_attempt::Column as A;
    conn.all(
        webhook_attempt::Entity::find()
            .filter(A::TenantId.eq(tenant_id))
            .filter(A::DeliveryId.is_in(delivery_ids.iter().copied()))
            .order_by_asc(A::Attempt),
    )
    .await
}

/// Erasure: every delivery and attempt about `lead_id`. Returns the deliveries deleted.
pub async fn delete_for_lead<C: Executor>(
    conn: &C,
    tenant_id: Uuid,
    lead_id: Uuid,
) -> Result<u64, DbErr> {
    conn.execute(Statement::from_sql_and_values(
        conn.backend(),
        "DELETE FROM webhook_attempts WHERE tenant_id = $1 AND lead_id = $2",
        [tenant_id.into(), lead_id.into()],
    ))
    .await?;
    conn.execute(Statement::from_sql_and_values(
        conn.backend(),
        "DELETE FROM webhook_deliveries WHERE tenant_id = $1 AND lead_id = $2",
        [tenant_id.into(), lead_id.into()],
    ))
    .await
}

/// Retention: deliveries (and their attempts) created before `before`.
pub async fn delete_before<C: Executor>(
    conn: &C,
    tenant_id: Uuid,
    before: DateTime<Utc>,
) -> Result<u64, DbErr> {
    conn.execute(Statement::from_sql_and_values(
        conn.backend(),
        "DELETE FROM webhook_attempts WHERE tenant_id = $1 AND created_at < $2",
        [tenant_id.into(), before.into()],
    ))
    .await?;
    conn.execute(Statement::from_sql_and_values(
        conn.backend(),
        "DELETE FROM webhook_deliveries WHERE tenant_id = $1 AND created_at < $2",
        [tenant_id.into(), before.into()],
    ))
    .await
}
