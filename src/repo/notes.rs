//! Note queries.

use sea_orm::{ColumnTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Statement};
use uuid::Uuid;

use crate::db::executor::Executor;
use crate::entities::note;

pub async fn find<C: Executor>(
    conn: &C,
    tenant_id: Uuid,
    id: Uuid,
) -> Result<Option<note::Model>, DbErr> {
    conn.one(note::Entity::find_by_id((tenant_id, id))).await
}

/// A lead's notes, newest first; at most `limit` (all when `None`).
pub async fn for_lead<C: Executor>(
    conn: &C,
    tenant_id: Uuid,
    lead_id: Uuid,
    limit: Option<u64>,
) -> Result<Vec<note::Model>, DbErr> {
    let mut select = note::Entity::find()
        .filter(note::Column::TenantId.eq(tenant_id))
        .filter(note::Column::LeadId.eq(lead_id))
        .order_by_desc(note::Column::CreatedAt)
        .order_by_desc(note::Column::Id);
    if let Some(limit) = limit {
        select = select.limit(limit);
    }
    conn.all(select).await
}

/// The newest `limit` notes plus every pinned note, newest first, in one statement (two index
/// scans of the lead's notes).
pub async fn for_context<C: Executor>(
    conn: &C,
    tenant_id: Uuid,
    lead_id: Uuid,
    limit: u64,
) -> Result<Vec<note::Model>, DbErr> {
    // The limit is part of the SQL: SQLite prepares a statement with a bound LIMIT again on
    // every run.
    let newest_and_pinned = Statement::from_sql_and_values(
        conn.backend(),
        format!(
            "SELECT * FROM (SELECT * FROM notes WHERE tenant_id = $1 AND lead_id = $2 \
             ORDER BY created_at DESC, id DESC LIMIT {limit}) AS newest \
             UNION SELECT * FROM notes WHERE tenant_id = $1 AND lead_id = $2 AND pinned = $3"
        ),
        [tenant_id.into(), lead_id.into(), true.into()],
    );
    Ok(newest_first(
        conn.raw::<note::Entity>(newest_and_pinned).await?,
    ))
}

/// Newest first, each note once (a pinned note can also be one of the newest).
fn newest_first(mut notes: Vec<note::Model>) -> Vec<note::Model> {
    notes.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.id.cmp(&a.id)));
    notes.dedup_by_key(|n| n.id);
    notes
}
