use async_graphql::{Context, Object, Result};

use crate::auth::Permission;
use crate::graphql::context::ContextExt;
use crate::graphql::types::tenant::{Me, Tenant};

#[derive(Default)]
pub struct MeQuery;

#[Object]
impl MeQuery {
    /// Who is calling.
    async fn me(&self, ctx: &Context<'_>) -> Result<Me> {
        Ok(Me(ctx.actor()?.clone()))
    }

    /// The caller's tenant and its settings.
    async fn tenant(&self, ctx: &Context<'_>) -> Result<Tenant> {
        let actor = ctx.actor()?;
        actor.require(Permission::Read)?;
        let state = ctx.state()?;
        Ok(Tenant(
            state
                .tenants
                .get(state.db.reader(), actor.tenant_id)
                .await?,
        ))
    }
}
