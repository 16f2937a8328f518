use async_graphql::{Context, ID, InputObject, Object, Result};

use crate::domain::ApiScope;
use crate::graphql::context::{ContextExt, parse_id};
use crate::graphql::types::admin::{ApiKey, CreatedApiKey, StaffUser};
use crate::graphql::types::enums::{ApiScopeGql, RoleGql};
use crate::graphql::types::job::Job;
use crate::graphql::types::text::{self, SHORT, Text, VALUE};
use crate::services;
use crate::services::users::{NewUser, UserUpdate};

#[derive(Default)]
pub struct AdminMutation;

/// A new staff user.
#[derive(InputObject, Clone, Debug)]
pub struct CreateStaffUserInput {
    /// Login email (unique in the tenant); at most 200 characters.
    pub email: Text<SHORT>,
    /// 8 to 1000 characters.
    pub password: Text<VALUE>,
    /// What the user may do.
    pub role: RoleGql,
    /// Name shown on notes; at most 200 characters.
    pub display_name: Option<Text<SHORT>>,
}

/// A change to a staff user; fields left out stay as they are.
#[derive(InputObject, Clone, Debug, Default)]
pub struct UpdateStaffUserInput {
    /// What the user may do from their next request on (their live streams end at once).
    pub role: Option<RoleGql>,
    /// Name shown on notes, at most 200 characters; an empty string clears it.
    pub display_name: Option<Text<SHORT>>,
    /// `false` deactivates the user: no sign-in, no request, and their live streams end at
    /// once. `true` lets them in again.
    pub active: Option<bool>,
}

#[Object]
impl AdminMutation {
    /// Changes a staff user's role, name or standing (admins only). The workspace keeps at
    /// least one active admin (CONFLICT otherwise).
    async fn update_staff_user(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UpdateStaffUserInput,
    ) -> Result<StaffUser> {
        let id = parse_id(&id, "id")?;
        let update = UserUpdate {
            role: input.role.map(Into::into),
            display_name: text::opt(input.display_name),
            active: input.active,
        };
        Ok(StaffUser(
            services::users::update(ctx.state()?, ctx.actor()?, id, update).await?,
        ))
    }

    /// Creates a staff user in the caller's tenant (admins only).
    async fn create_staff_user(
        &self,
        ctx: &Context<'_>,
        input: CreateStaffUserInput,
    ) -> Result<StaffUser> {
        let user = services::users::create_as_admin(
            ctx.state()?,
            ctx.actor()?,
            NewUser {
                email: input.email.into_string(),
                password: input.password.into_string(),
                role: input.role.into(),
                display_name: text::opt(input.display_name),
            },
        )
        .await?;
        Ok(StaffUser(user))
    }

    /// Creates an API key (admins only); the token is shown once.
    async fn create_api_key(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What the key is for (e.g. `crm sync`); at most 200 characters.")]
        name: Text<SHORT>,
        scopes: Vec<ApiScopeGql>,
    ) -> Result<CreatedApiKey> {
        let scopes: Vec<ApiScope> = scopes.into_iter().map(Into::into).collect();
        let (key, token) =
            services::api_keys::create_as_admin(ctx.state()?, ctx.actor()?, &name, &scopes).await?;
        Ok(CreatedApiKey {
            api_key: ApiKey(key),
            token,
        })
    }

    /// Runs a job again now, with fresh attempts (admins only; not while it is running).
    async fn retry_job(&self, ctx: &Context<'_>, id: ID) -> Result<Job> {
        let id = parse_id(&id, "id")?;
        Ok(Job(
            services::jobs::retry(ctx.state()?, ctx.actor()?, id).await?
        ))
    }

    /// Revokes an API key (admins only); it stops working at once.
    async fn revoke_api_key(&self, ctx: &Context<'_>, id: ID) -> Result<ApiKey> {
        let id = parse_id(&id, "id")?;
        Ok(ApiKey(
            services::api_keys::revoke(ctx.state()?, ctx.actor()?, id).await?,
        ))
    }
}
