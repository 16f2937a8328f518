//! The audit log: who did what to which record, with details that carry no personal data.

use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ConnectionTrait, DbErr};
use serde_json::Value;
use uuid::Uuid;

use crate::auth::Actor;
use crate::entities::audit_entry;

/// Writes one audit entry in the caller's transaction.
pub async fn record<C: ConnectionTrait>(
    conn: &C,
    actor: &Actor,
    action: &str,
    target_type: &str,
    target_id: Option<String>,
    details: Value,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let (actor_kind, actor_id) = actor.audit_identity();
    audit_entry::ActiveModel {
        tenant_id: Set(actor.tenant_id),
        id: Set(Uuid::now_v7()),
        actor_kind: Set(actor_kind.to_owned()),
        actor_id: Set(actor_id),
        action: Set(action.to_owned()),
        target_type: Set(target_type.to_owned()),
        target_id: Set(target_id),
        details: Set(details),
        created_at: Set(now),
    }
    .insert(conn)
    .await?;
    Ok(())
}
