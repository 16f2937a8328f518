//! Staff user queries.

use sea_orm::{ColumnTrait, DbErr, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

use crate::db::executor::Executor;
use crate::domain::StaffRole;
use crate::entities::staff_user;

pub async fn find<C: Executor>(
    conn: &C,
    tenant_id: Uuid,
    id: Uuid,
) -> Result<Option<staff_user::Model>, DbErr> {
    conn.one(staff_user::Entity::find_by_id((tenant_id, id)))
        .await
}

/// Every account with this (normalized) email, across tenants: login knows no tenant yet.
pub async fn find_by_email_any_tenant<C: Executor>(
    conn: &C,
    email: &str,
) -> Result<Vec<staff_user::Model>, DbErr> {
    conn.all(
        staff_user::Entity::find()
            .filter(staff_user::Column::Email.eq(email))
            .order_by_asc(staff_user::Column::CreatedAt),
    )
    .await
}

/// Staff users by id (e.g. the authors named in a profile history).
pub async fn find_many<C: Executor>(
    conn: &C,
    tenant_id: Uuid,
    ids: &[Uuid],
) -> Result<Vec<staff_user::Model>, DbErr> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    conn.all(
        staff_user::Entity::find()
            .filter(staff_user::Column::TenantId.eq(tenant_id))
            .filter(staff_user::Column::Id.is_in(ids.iter().copied())),
    )
    .await
}

pub async fn list<C: Executor>(conn: &C, tenant_id: Uuid) -> Result<Vec<staff_user::Model>, DbErr> {
    conn.all(
        staff_user::Entity::find()
            .filter(staff_user::Column::TenantId.eq(tenant_id))
            .order_by_asc(staff_user::Column::Email),
    )
    .await
}

/// The staff user with `email` in the tenant.
pub async fn find_by_email<C: Executor>(
    conn: &C,
    tenant_id: Uuid,
    email: &str,
) -> Result<Option<staff_user::Model>, DbErr> {
    conn.one(
        staff_user::Entity::find()
            .filter(staff_user::Column::TenantId.eq(tenant_id))
            .filter(staff_user::Column::Email.eq(email)),
    )
    .await
}

/// How many active admins the tenant has.
pub async fn active_admins<C: Executor>(conn: &C, tenant_id: Uuid) -> Result<u64, DbErr> {
    conn.count(
        staff_user::Entity::find()
            .filter(staff_user::Column::TenantId.eq(tenant_id))
            .filter(staff_user::Column::Role.eq(StaffRole::Admin))
            .filter(staff_user::Column::DeactivatedAt.is_null()),
    )
    .await
}
