//! What a subject access export reads: a lead's conversations, messages, summaries and audit
//! entries, a page at a time, oldest first, so an export of a long history stays small in
//! memory.

use sea_orm::{ColumnTrait, Condition, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use super::leads::keyset_after;
use super::pagination::Cursor;
use crate::db::executor::Executor;
use crate::entities::{audit_entry, interaction_summary, message, session};

/// A page of a lead's conversations by start, oldest first, after `after`.
pub async fn sessions<C: Executor>(
    conn: &C,
    tenant_id: Uuid,
    lead_id: Uuid,
    after: Option<Cursor>,
    limit: u64,
) -> Result<Vec<session::Model>, DbErr> {
    let mut cond = Condition::all()
        .add(session::Column::TenantId.eq(tenant_id))
        .add(session::Column::LeadId.eq(lead_id));
    if let Some(c) = after {
        cond = cond.add(keyset_after(
            session::Column::StartedAt,
            session::Column::Id,
            c,
            false,
        ));
    }
    conn.all(
        session::Entity::find()
            .filter(cond)
            .order_by_asc(session::Column::StartedAt)
            .order_by_asc(session::Column::Id)
            .limit(limit),
    )
    .await
}

/// A page of a conversation's messages, oldest first, after `after` (the session index).
pub async fn messages<C: Executor>(
    conn: &C,
    tenant_id: Uuid,
    session_id: Uuid,
    after: Option<Cursor>,
    limit: u64,
) -> Result<Vec<message::Model>, DbErr> {
    let mut cond = Condition::all()
        .add(message::Column::TenantId.eq(tenant_id))
        .add(message::Column::SessionId.eq(session_id));
    if let Some(c) = after {
        cond = cond.add(keyset_after(
            message::Column::OccurredAt,
            message::Column::Id,
            c,
            false,
        ));
    }
    conn.all(
        message::Entity::find()
            .filter(cond)
            .order_by_asc(message::Column::OccurredAt)
            .order_by_asc(message::Column::Id)
            .limit(limit),
    )
    .await
}

/// Messages by id (the evidence of profile values); missing ids are skipped.
pub async fn messages_by_id<C: Executor>(
    conn: &C,
    tenant_id: Uuid,
    ids: &[Uuid],
) -> Result<Vec<message::Model>, DbErr> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    conn.all(
        message::Entity::find()
            .filter(message::Column::TenantId.eq(tenant_id))
            .filter(message::Column::Id.is_in(ids.iter().copied())),
    )
    .await
}

/// A page of a lead's conversation summaries, oldest first, after `after`.
pub async fn summaries<C: Executor>(
    conn: &C,
    tenant_id: Uuid,
    lead_id: Uuid,
    after: Option<Cursor>,
    limit: u64,
) -> Result<Vec<interaction_summary::Model>, DbErr> {
    let mut cond = Condition::all()
        .add(interaction_summary::Column::TenantId.eq(tenant_id))
        .add(interaction_summary::Column::LeadId.eq(lead_id));
    if let Some(c) = after {
        cond = cond.add(keyset_after(
            interaction_summary::Column::CreatedAt,
            interaction_summary::Column::Id,
            c,
            false,
        ));
    }
    conn.all(
        interaction_summary::Entity::find()
            .filter(cond)
            .order_by_asc(interaction_summary::Column::CreatedAt)
            .order_by_asc(interaction_summary::Column::Id)
            .limit(limit),
    )
    .await
}

/// A page of the audit entries about a lead, oldest first, after `after`.
pub async fn audit_entries<C: Executor>(
    conn: &C,
    tenant_id: Uuid,
    lead_id: Uuid,
    after: Option<Cursor>,
    limit: u64,
) -> Result<Vec<audit_entry::Model>, DbErr> {
    let mut cond = Condition::all()
        .add(audit_entry::Column::TenantId.eq(tenant_id))
        .add(audit_entry::Column::TargetType.eq("lead"))
        .add(audit_entry::Column::TargetId.eq(lead_id.to_string()));
    if let Some(c) = after {
        cond = cond.add(keyset_after(
            audit_entry::Column::CreatedAt,
            audit_entry::Column::Id,
            c,
            false,
        ));
    }
    conn.all(
        audit_entry::Entity::find()
            .filter(cond)
            .order_by_asc(audit_entry::Column::CreatedAt)
            .order_by_asc(audit_entry::Column::Id)
            .limit(limit),
    )
    .await
}
