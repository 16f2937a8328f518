//! API key queries.

use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

use crate::entities::api_key;

pub async fn find<C: ConnectionTrait>(
    conn: &C,
    tenant_id: Uuid,
    id: Uuid,
) -> Result<Option<api_key::Model>, DbErr> {
    api_key::Entity::find_by_id((tenant_id, id)).one(conn).await
}

pub async fn list<C: ConnectionTrait>(
    conn: &C,
    tenant_id: Uuid,
) -> Result<Vec<api_key::Model>, DbErr> {
    api_key::Entity::find()
        .filter(api_key::Column::TenantId.eq(tenant_id))
        .order_by_desc(api_key::Column::CreatedAt)
        .all(conn)
        .await
}
