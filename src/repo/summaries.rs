//! Interaction summary queries.

use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use uuid::Uuid;

use crate::entities::interaction_summary;

pub async fn for_session<C: ConnectionTrait>(
    conn: &C,
    tenant_id: Uuid,
    session_id: Uuid,
) -> Result<Option<interaction_summary::Model>, DbErr> {
    interaction_summary::Entity::find()
        .filter(interaction_summary::Column::TenantId.eq(tenant_id))
        .filter(interaction_summary::Column::SessionId.eq(session_id))
        .one(conn)
        .await
}

pub async fn for_sessions<C: ConnectionTrait>(
    conn: &C,
    tenant_id: Uuid,
    session_ids: &[Uuid],
) -> Result<Vec<interaction_summary::Model>, DbErr> {
    if session_ids.is_empty() {
        return Ok(Vec::new());
    }
    interaction_summary::Entity::find()
        .filter(interaction_summary::Column::TenantId.eq(tenant_id))
        .filter(interaction_summary::Column::SessionId.is_in(session_ids.iter().copied()))
        .all(conn)
        .await
}

/// A lead's summaries, newest first.
pub async fn for_lead<C: ConnectionTrait>(
    conn: &C,
    tenant_id: Uuid,
    lead_id: Uuid,
    limit: u64,
) -> Result<Vec<interaction_summary::Model>, DbErr> {
    interaction_summary::Entity::find()
        .filter(interaction_summary::Column::TenantId.eq(tenant_id))
        .filter(interaction_summary::Column::LeadId.eq(lead_id))
        .order_by_desc(interaction_summary::Column::CreatedAt)
        .order_by_desc(interaction_summary::Column::Id)
        .limit(limit)
        .all(conn)
        .await
}
