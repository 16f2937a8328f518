//! API key queries.

use sea_orm::{ColumnTrait, DbErr, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

use crate::db::executor::Executor;
use crate::entities::api_key;

pub async fn find<C: Executor>(
    conn: &C,
    tenant_id: Uuid,
    id: Uuid,
) -> Result<Option<api_key::Model>, DbErr> {
    conn.one(api_key::Entity::find_by_id((tenant_id, id))).await
}

pub async fn list<C: Executor>(conn: &C, tenant_id: Uuid) -> Result<Vec<api_key::Model>, DbErr> {
    conn.all(
        api_key::Entity::find()
            .filter(api_key::Column::TenantId.eq(tenant_id))
            .order_by_desc(api_key::Column::CreatedAt),
    )
    .await
}
