//! A lead's profile history: every proposal for every field, applied or not.

use async_graphql::{Context, ID, Object, Result};

use crate::graphql::context::{ContextExt, list_limit, parse_id};
use crate::graphql::types::profile::ProfileFieldChange;
use crate::graphql::types::text::{SHORT, Text};
use crate::services;

#[derive(Default)]
pub struct ProfileQuery;

#[Object]
impl ProfileQuery {
    /// The history of a lead's profile (one field, or all), newest first.
    async fn profile_history(
        &self,
        ctx: &Context<'_>,
        lead_id: ID,
        #[graphql(desc = "Only this field (e.g. `city`); at most 200 characters.")] key: Option<
            Text<SHORT>,
        >,
        #[graphql(default = 50)] first: i32,
    ) -> Result<Vec<ProfileFieldChange>> {
        let state = ctx.state()?;
        let lead_id = parse_id(&lead_id, "leadId")?;
        let limit = list_limit(ctx, first)?;
        let rows =
            services::profile::history(state, ctx.actor()?, lead_id, key.as_deref(), limit).await?;
        Ok(rows.into_iter().map(ProfileFieldChange).collect())
    }
}
