use async_graphql::{Context, Object, Result};

use crate::graphql::context::ContextExt;
use crate::graphql::types::tenant::{Tenant, UpdateTenantSettingsInput};
use crate::services;

#[derive(Default)]
pub struct TenantMutation;

#[Object]
impl TenantMutation {
    /// Changes tenant settings and channel secrets (admins only).
    async fn update_tenant_settings(
        &self,
        ctx: &Context<'_>,
        input: UpdateTenantSettingsInput,
    ) -> Result<Tenant> {
        let settings =
            services::tenants::update_settings(ctx.state()?, ctx.actor()?, input.into()).await?;
        Ok(Tenant(settings))
    }
}
