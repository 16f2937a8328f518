//! Profile history queries.

use sea_orm::{ColumnTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use crate::db::executor::Executor;
use crate::entities::profile_field_change;

pub async fn insert_many<C: Executor>(
    conn: &C,
    rows: Vec<profile_field_change::Model>,
) -> Result<(), DbErr> {
    if rows.is_empty() {
        return Ok(());
    }
    conn.insert_rows(
        rows.into_iter()
            .map(profile_field_change::ActiveModel::from)
            .collect(),
        None,
    )
    .await?;
    Ok(())
}

/// A lead's history, newest first, optionally for one key.
pub async fn for_lead<C: Executor>(
    conn: &C,
    tenant_id: Uuid,
    lead_id: Uuid,
    key: Option<&str>,
    limit: u64,
) -> Result<Vec<profile_field_change::Model>, DbErr> {
    let mut select = profile_field_change::Entity::find()
        .filter(profile_field_change::Column::TenantId.eq(tenant_id))
        .filter(profile_field_change::Column::LeadId.eq(lead_id));
    if let Some(key) = key {
        select = select.filter(profile_field_change::Column::FieldKey.eq(key));
    }
    conn.all(
        select
            .order_by_desc(profile_field_change::Column::CreatedAt)
            .order_by_desc(profile_field_change::Column::Id)
            .limit(limit),
    )
    .await
}
