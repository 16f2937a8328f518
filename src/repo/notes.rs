//! Note queries.

use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Statement,
};
use uuid::Uuid;

use crate::entities::note;

pub async fn find<C: ConnectionTrait>(
    conn: &C,
    tenant_id: Uuid,
    id: Uuid,
) -> Result<Option<note::Model>, DbErr> {
    note::Entity::find_by_id((tenant_id, id)).one(conn).await
}

/// A lead's notes, newest first; at most `limit` (all when `None`).
pub async fn for_lead<C: ConnectionTrait>(
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
    select.all(conn).await
}

/// The newest `limit` notes plus every pinned note, newest first, in one statement (two index
/// scans of the lead's notes).
pub async fn for_context<C: ConnectionTrait>(
    conn: &C,
    tenant_id: Uuid,
    lead_id: Uuid,
    limit: u64,
) -> Result<Vec<note::Model>, DbErr> {
    let statement = for_context_statement(conn.get_database_backend(), tenant_id, lead_id, limit);
    let notes = note::Entity::find()
        .from_raw_sql(statement)
        .all(conn)
        .await?;
    Ok(newest_first(notes))
}

/// The statement of [`for_context`] (also run by the SQLite reader); its rows go through
/// [`newest_first`]. The limit is part of the SQL: SQLite prepares a statement with a bound
/// LIMIT again on every run.
pub fn for_context_statement(
    backend: DatabaseBackend,
    tenant_id: Uuid,
    lead_id: Uuid,
    limit: u64,
) -> Statement {
    Statement::from_sql_and_values(
        backend,
        format!(
            "SELECT * FROM (SELECT * FROM notes WHERE tenant_id = $1 AND lead_id = $2 \
             ORDER BY created_at DESC, id DESC LIMIT {limit}) AS newest \
             UNION SELECT * FROM notes WHERE tenant_id = $1 AND lead_id = $2 AND pinned = $3"
        ),
        [tenant_id.into(), lead_id.into(), true.into()],
    )
}

/// Newest first, each note once (a pinned note can also be one of the newest).
pub fn newest_first(mut notes: Vec<note::Model>) -> Vec<note::Model> {
    notes.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.id.cmp(&a.id)));
    notes.dedup_by_key(|n| n.id);
    notes
}
