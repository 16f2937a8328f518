//! The change feed over the event outbox: which leads changed between two sequence numbers.
//!
//! Every change to a lead (profile, identities, summary, notes, messages, erasure) appends an
//! event naming the lead in the same transaction, so "events of the lead after N" is exactly
//! "the lead changed after N", with no reliance on `updated_at`.

use sea_orm::{DbErr, Statement};
use uuid::Uuid;

use crate::db::executor::Executor;
use crate::entities::lead;

/// The event type erasure writes (ids only); its lead is reported as a deletion marker.
pub const LEAD_ERASED: &str = "lead.erased";

/// The tenant's last committed sequence number. Writers bump the tenant's counter and insert
/// their events in one transaction holding the tenant row, so every event up to this number is
/// committed and visible (`MAX(seq)` of the table would read 0 once retention emptied it).
pub async fn committed_head<C: Executor>(conn: &C, tenant_id: Uuid) -> Result<i64, DbErr> {
    Ok(conn
        .query_i64(Statement::from_sql_and_values(
            conn.backend(),
            "SELECT event_seq FROM tenants WHERE id = $1",
            [tenant_id.into()],
        ))
        .await?
        .unwrap_or(0))
}

/// The oldest retained event of the tenant, if any.
pub async fn first_retained<C: Executor>(conn: &C, tenant_id: Uuid) -> Result<Option<i64>, DbErr> {
    let first: Vec<(i64,)> = conn
        .rows(Statement::from_sql_and_values(
            conn.backend(),
            "SELECT seq FROM events WHERE tenant_id = $1 ORDER BY seq LIMIT 1",
            [tenant_id.into()],
        ))
        .await?;
    Ok(first.first().map(|(seq,)| *seq))
}

/// Up to `limit` events naming a lead in `(after, upto]`, in order: `(seq, lead id, type)`.
pub async fn lead_events<C: Executor>(
    conn: &C,
    tenant_id: Uuid,
    after: i64,
    upto: i64,
    limit: u64,
) -> Result<Vec<(i64, Uuid, String)>, DbErr> {
    conn.rows(Statement::from_sql_and_values(
        conn.backend(),
        "SELECT seq, lead_id, event_type FROM events \
         WHERE tenant_id = $1 AND seq > $2 AND seq <= $3 AND lead_id IS NOT NULL \
         ORDER BY seq LIMIT $4",
        [
            tenant_id.into(),
            after.into(),
            upto.into(),
            (limit as i64).into(),
        ],
    ))
    .await
}

/// A page of the leads (in id order, after `after_id`) with an event in `(after, upto]`; every
/// lead when `after` is 0 (a first, full sync).
pub async fn changed_leads<C: Executor>(
    conn: &C,
    tenant_id: Uuid,
    after: i64,
    upto: i64,
    after_id: Option<Uuid>,
    limit: u64,
) -> Result<Vec<lead::Model>, DbErr> {
    let mut sql = String::from("SELECT l.* FROM leads l WHERE l.tenant_id = $1");
    let mut values: Vec<sea_orm::Value> = vec![tenant_id.into(), (limit as i64).into()];
    if let Some(id) = after_id {
        values.push(id.into());
        sql.push_str(&format!(" AND l.id > ${}", values.len()));
    }
    if after > 0 {
        values.push(after.into());
        values.push(upto.into());
        let (a, b) = (values.len() - 1, values.len());
        sql.push_str(&format!(
            " AND EXISTS (SELECT 1 FROM events e WHERE e.tenant_id = l.tenant_id \
               AND e.lead_id = l.id AND e.seq > ${a} AND e.seq <= ${b})"
        ));
    }
    sql.push_str(" ORDER BY l.id LIMIT $2");
    conn.raw::<lead::Entity>(Statement::from_sql_and_values(conn.backend(), sql, values))
        .await
}

/// Leads named by events in `(after, upto]` that are gone: erased (or otherwise deleted).
pub async fn erased_leads<C: Executor>(
    conn: &C,
    tenant_id: Uuid,
    after: i64,
    upto: i64,
) -> Result<Vec<Uuid>, DbErr> {
    let rows: Vec<(Uuid,)> = conn
        .rows(Statement::from_sql_and_values(
            conn.backend(),
            "SELECT DISTINCT e.lead_id FROM events e \
             WHERE e.tenant_id = $1 AND e.seq > $2 AND e.seq <= $3 AND e.lead_id IS NOT NULL \
               AND (e.event_type = $4 OR NOT EXISTS (SELECT 1 FROM leads l \
                    WHERE l.tenant_id = e.tenant_id AND l.id = e.lead_id)) \
             ORDER BY e.lead_id",
            [
                tenant_id.into(),
                after.into(),
                upto.into(),
                LEAD_ERASED.into(),
            ],
        ))
        .await?;
    Ok(rows.into_iter().map(|(id,)| id).collect())
}
