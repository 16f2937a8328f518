//! Staff corrections of what memodesk learned: setting, rejecting and releasing profile fields.

use async_graphql::{Context, ID, Object, Result};

use crate::graphql::context::{ContextExt, parse_id};
use crate::graphql::types::lead::Lead;
use crate::graphql::types::text::{self, SHORT, Text, VALUE};
use crate::services;
use crate::services::profile::StaffAction;

#[derive(Default)]
pub struct ProfileMutation;

#[Object]
impl ProfileMutation {
    /// Sets a profile field as staff (source MANUAL). For list fields (`interests`) pass the
    /// whole list, comma-separated: items left out are blocked.
    async fn set_profile_field(
        &self,
        ctx: &Context<'_>,
        lead_id: ID,
        #[graphql(desc = "The field (e.g. `city`); at most 200 characters.")] key: Text<SHORT>,
        #[graphql(desc = "The value; at most 1000 characters.")] value: Text<VALUE>,
    ) -> Result<Lead> {
        let lead_id = parse_id(&lead_id, "leadId")?;
        let lead = services::profile::staff_edit(
            ctx.state()?,
            ctx.actor()?,
            lead_id,
            &key,
            StaffAction::Set(value.into_string()),
        )
        .await?;
        Ok(Lead(lead))
    }

    /// Rejects a profile field (or one `item` of a list field): it is emptied and the AI cannot
    /// put it back until staff release it.
    async fn reject_profile_field(
        &self,
        ctx: &Context<'_>,
        lead_id: ID,
        #[graphql(desc = "The field (e.g. `interests`); at most 200 characters.")] key: Text<SHORT>,
        #[graphql(desc = "One item of a list field; at most 1000 characters.")] item: Option<
            Text<VALUE>,
        >,
    ) -> Result<Lead> {
        let lead_id = parse_id(&lead_id, "leadId")?;
        let lead = services::profile::staff_edit(
            ctx.state()?,
            ctx.actor()?,
            lead_id,
            &key,
            StaffAction::Reject {
                item: text::opt(item),
            },
        )
        .await?;
        Ok(Lead(lead))
    }

    /// Drops staff's hold on a field: the value stays, and AI proposals may replace it again.
    async fn release_profile_field(
        &self,
        ctx: &Context<'_>,
        lead_id: ID,
        #[graphql(desc = "The field (e.g. `city`); at most 200 characters.")] key: Text<SHORT>,
    ) -> Result<Lead> {
        let lead_id = parse_id(&lead_id, "leadId")?;
        let lead = services::profile::staff_edit(
            ctx.state()?,
            ctx.actor()?,
            lead_id,
            &key,
            StaffAction::Release,
        )
        .await?;
        Ok(Lead(lead))
    }
}
