use std::sync::Arc;

use async_graphql::{Context, Object, Result};

use crate::graphql::context::{ContextExt, page_request};
use crate::graphql::types::admin::{ApiKey, StaffUser};
use crate::graphql::types::job::{Job, JobConnection, JobStatus};
use crate::services;

#[derive(Default)]
pub struct AdminQuery;

#[Object]
impl AdminQuery {
    /// The tenant's staff users (admins only).
    async fn staff_users(&self, ctx: &Context<'_>) -> Result<Vec<StaffUser>> {
        let users = services::users::list(ctx.state()?, ctx.actor()?).await?;
        Ok(users.into_iter().map(StaffUser).collect())
    }

    /// The tenant's background jobs, newest first (admins only).
    async fn jobs(
        &self,
        ctx: &Context<'_>,
        status: Option<JobStatus>,
        kind: Option<String>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<JobConnection> {
        let state = ctx.state()?;
        let actor = ctx.actor()?;
        let request = page_request(ctx, first, after.as_deref(), None, None)?;
        let status = status.map(JobStatus::as_str);
        let page = services::jobs::list(state, actor, status, kind.as_deref(), &request).await?;
        let (db, tenant_id, kind) = (state.db.clone(), actor.tenant_id, kind.clone());
        Ok(JobConnection::new(
            page.map(Job),
            Arc::new(move || {
                let (db, kind) = (db.clone(), kind.clone());
                Box::pin(async move {
                    use crate::entities::job;
                    use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
                    let mut select =
                        job::Entity::find().filter(job::Column::TenantId.eq(tenant_id));
                    if let Some(status) = status {
                        select = select.filter(job::Column::Status.eq(status));
                    }
                    if let Some(kind) = kind {
                        select = select.filter(job::Column::Kind.eq(kind));
                    }
                    Ok(select.count(db.reader()).await?)
                })
            }),
        ))
    }

    /// The tenant's API keys (admins only).
    async fn api_keys(&self, ctx: &Context<'_>) -> Result<Vec<ApiKey>> {
        let keys = services::api_keys::list(ctx.state()?, ctx.actor()?).await?;
        Ok(keys.into_iter().map(ApiKey).collect())
    }
}
