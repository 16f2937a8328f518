//! Signing in.

use async_graphql::{Context, ID, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};

use crate::graphql::context::{ClientAddr, ContextExt, parse_id};
use crate::graphql::types::admin::StaffUser;
use crate::graphql::types::text::{SHORT, Text, VALUE};
use crate::services;

#[derive(Default)]
pub struct AuthMutation;

/// A signed-in session.
#[derive(SimpleObject)]
pub struct LoginPayload {
    /// Send as `Authorization: Bearer <token>`.
    pub token: String,
    /// When the token stops working.
    pub expires_at: DateTime<Utc>,
    /// Who signed in.
    pub user: StaffUser,
}

#[Object]
impl AuthMutation {
    /// Signs a staff user in. `tenantId` is needed only when the email has accounts in several
    /// workspaces.
    async fn login(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Login email; at most 200 characters.")] email: Text<SHORT>,
        #[graphql(desc = "Password; at most 1000 characters.")] password: Text<VALUE>,
        tenant_id: Option<ID>,
    ) -> Result<LoginPayload> {
        let tenant_id = tenant_id.map(|id| parse_id(&id, "tenantId")).transpose()?;
        let client = ctx.data_opt::<ClientAddr>().and_then(|c| c.0);
        let result =
            services::auth::login(ctx.state()?, &email, &password, tenant_id, client).await?;
        Ok(LoginPayload {
            token: result.token,
            expires_at: result.expires_at,
            user: StaffUser(result.user),
        })
    }
}
