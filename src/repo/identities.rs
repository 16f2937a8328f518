//! Lead identities: how channels and contact details find a lead.

use sea_orm::{ColumnTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, Select};
use uuid::Uuid;

use super::group_keys;
use crate::db::executor::Executor;
use crate::domain::IdentityKind;
use crate::entities::lead_identity;

/// Identities matching any of `(kind, value)`.
pub async fn find_by_values<C: Executor>(
    conn: &C,
    tenant_id: Uuid,
    values: &[(IdentityKind, String)],
) -> Result<Vec<lead_identity::Model>, DbErr> {
    let mut found = Vec::new();
    for select in by_values(tenant_id, values) {
        found.extend(conn.all(select).await?);
    }
    Ok(found)
}

/// The statements behind [`find_by_values`]: one per identity kind (see [`group_keys`]).
pub fn by_values(
    tenant_id: Uuid,
    values: &[(IdentityKind, String)],
) -> Vec<Select<lead_identity::Entity>> {
    group_keys(values)
        .into_iter()
        .map(|(kind, group)| {
            lead_identity::Entity::find()
                .filter(lead_identity::Column::TenantId.eq(tenant_id))
                .filter(lead_identity::Column::Kind.eq(kind))
                .filter(lead_identity::Column::Value.is_in(group))
        })
        .collect()
}

pub async fn for_leads<C: Executor>(
    conn: &C,
    tenant_id: Uuid,
    lead_ids: &[Uuid],
) -> Result<Vec<lead_identity::Model>, DbErr> {
    if lead_ids.is_empty() {
        return Ok(Vec::new());
    }
    conn.all(
        lead_identity::Entity::find()
            .filter(lead_identity::Column::TenantId.eq(tenant_id))
            .filter(lead_identity::Column::LeadId.is_in(lead_ids.iter().copied()))
            .order_by_asc(lead_identity::Column::CreatedAt),
    )
    .await
}

/// Inserts identities. One that already exists (for any lead) is a unique violation: callers
/// look values up first, so it means a racing writer took it, and the caller's retry (or the
/// client's CONFLICT) sees who.
pub async fn insert_many<C: Executor>(
    conn: &C,
    rows: Vec<lead_identity::Model>,
) -> Result<(), DbErr> {
    if rows.is_empty() {
        return Ok(());
    }
    conn.insert_rows(
        rows.into_iter()
            .map(lead_identity::ActiveModel::from)
            .collect(),
        None,
    )
    .await?;
    Ok(())
}
