//! Interaction summary queries.

use sea_orm::{ColumnTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use crate::db::executor::Executor;
use crate::entities::interaction_summary;

pub async fn for_session<C: Executor>(
    conn: &C,
    tenant_id: Uuid,
    session_id: Uuid,
) -> Result<Option<interaction_summary::Model>, DbErr> {
    conn.one(
        interaction_summary::Entity::find()
            .filter(interaction_summary::Column::TenantId.eq(tenant_id))
            .filter(interaction_summary::Column::SessionId.eq(session_id)),
    )
    .await
}

pub async fn for_sessions<C: Executor>(
    conn: &C,
    tenant_id: Uuid,
    session_ids: &[Uuid],
) -> Result<Vec<interaction_summary::Model>, DbErr> {
    if session_ids.is_empty() {
        return Ok(Vec::new());
    }
    conn.all(
        interaction_summary::Entity::find()
            .filter(interaction_summary::Column::TenantId.eq(tenant_id))
            .filter(interaction_summary::Column::SessionId.is_in(session_ids.iter().copied())),
    )
    .await
}

/// A lead's summaries, newest first.
pub async fn for_lead<C: Executor>(
    conn: &C,
    tenant_id: Uuid,
    lead_id: Uuid,
    limit: u64,
) -> Result<Vec<interaction_summary::Model>, DbErr> {
    conn.all(
        interaction_summary::Entity::find()
            .filter(interaction_summary::Column::TenantId.eq(tenant_id))
            .filter(interaction_summary::Column::LeadId.eq(lead_id))
            .order_by_desc(interaction_summary::Column::CreatedAt)
            .order_by_desc(interaction_summary::Column::Id)
            .limit(limit),
    )
    .await
}

/// The summary of a lead's most recent conversation (by its last message) other than
/// `except_session`: what the lead's own `last_summary` would be without that conversation.
pub async fn latest_for_lead_except<C: Executor>(
    conn: &C,
    tenant_id: Uuid,
    lead_id: Uuid,
    except_session: Uuid,
) -> Result<Option<interaction_summary::Model>, DbErr> {
    // Through the (tenant_id, lead_id, created_at) index: a lead has few summaries.
    let sql = "SELECT su.* FROM interaction_summaries su \
               JOIN sessions s ON s.tenant_id = su.tenant_id AND s.id = su.session_id \
               WHERE su.tenant_id = $1 AND su.lead_id = $2 AND su.session_id <> $3 \
               ORDER BY s.last_message_at DESC, s.id DESC LIMIT 1";
    Ok(conn
        .raw::<interaction_summary::Entity>(sea_orm::Statement::from_sql_and_values(
            conn.backend(),
            sql,
            [tenant_id.into(), lead_id.into(), except_session.into()],
        ))
        .await?
        .into_iter()
        .next())
}
