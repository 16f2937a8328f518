//! Staff user queries.

use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

use crate::entities::staff_user;

pub async fn find<C: ConnectionTrait>(
    conn: &C,
    tenant_id: Uuid,
    id: Uuid,
) -> Result<Option<staff_user::Model>, DbErr> {
    staff_user::Entity::find_by_id((tenant_id, id))
        .one(conn)
        .await
}

/// Every account with this (normalized) email, across tenants: login knows no tenant yet.
pub async fn find_by_email_any_tenant<C: ConnectionTrait>(
    conn: &C,
    email: &str,
) -> Result<Vec<staff_user::Model>, DbErr> {
    staff_user::Entity::find()
        .filter(staff_user::Column::Email.eq(email))
        .order_by_asc(staff_user::Column::CreatedAt)
        .all(conn)
        .await
}

pub async fn list<C: ConnectionTrait>(
    conn: &C,
    tenant_id: Uuid,
) -> Result<Vec<staff_user::Model>, DbErr> {
    staff_user::Entity::find()
        .filter(staff_user::Column::TenantId.eq(tenant_id))
        .order_by_asc(staff_user::Column::Email)
        .all(conn)
        .await
}
