use std::sync::Arc;

use async_graphql::{Context, Object, Result};

use crate::graphql::context::{ContextExt, page_request};
use crate::graphql::types::admin::{ApiKey, StaffUser};
use crate::graphql::types::job::{Job, JobConnection, JobStatus};
use crate::graphql::types::text::{self, SHORT, Text};
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
        #[graphql(
            desc = "Only jobs of this kind (e.g. `summarize_session`); at most 200 characters."
        )]
        kind: Option<Text<SHORT>>,
        first: Option<i32>,
        #[graphql(desc = "The cursor of the item to start after; at most 200 characters.")]
        after: Option<Text<SHORT>>,
    ) -> Result<JobConnection> {
        let state = ctx.state()?;
        let actor = ctx.actor()?;
        let request = page_request(ctx, first, after.as_deref(), None, None)?;
        let status = status.map(JobStatus::as_str);
        let kind = text::opt(kind);
        let page = services::jobs::list(state, actor, status, kind.as_deref(), &request).await?;
        let (state, actor) = (state.clone(), actor.clone());
        Ok(JobConnection::new(
            page.map(Job),
            Arc::new(move || {
                let (state, actor, kind) = (state.clone(), actor.clone(), kind.clone());
                Box::pin(async move {
                    services::jobs::count(&state, &actor, status, kind.as_deref()).await
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
