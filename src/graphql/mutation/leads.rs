use async_graphql::{Context, ID, InputObject, Object, Result};

use crate::graphql::context::{ContextExt, parse_id};
use crate::graphql::types::lead::Lead;
use crate::services;
use crate::services::leads::LeadDetails;
use crate::services::profile::StaffAction;

#[derive(Default)]
pub struct LeadMutation;

/// A lead's contact details as staff type them; they become staff-held profile values.
#[derive(InputObject, Clone, Debug, Default)]
pub struct LeadInput {
    /// The customer's name.
    pub display_name: Option<String>,
    /// Any format; the tenant's region fills in the country code.
    pub phone: Option<String>,
    /// Email address.
    pub email: Option<String>,
}

impl From<LeadInput> for LeadDetails {
    fn from(i: LeadInput) -> Self {
        LeadDetails {
            display_name: i.display_name,
            phone: i.phone,
            email: i.email,
        }
    }
}

#[Object]
impl LeadMutation {
    /// Creates a lead by hand (at least one of name, phone or email).
    async fn create_lead(&self, ctx: &Context<'_>, input: LeadInput) -> Result<Lead> {
        Ok(Lead(
            services::leads::create(ctx.state()?, ctx.actor()?, input.into()).await?,
        ))
    }

    /// Changes a lead's name, phone or email (staff values: the AI will not overwrite them).
    async fn update_lead(&self, ctx: &Context<'_>, id: ID, input: LeadInput) -> Result<Lead> {
        let id = parse_id(&id, "id")?;
        Ok(Lead(
            services::leads::update(ctx.state()?, ctx.actor()?, id, input.into()).await?,
        ))
    }

    /// Sets a profile field as staff (source MANUAL). For list fields (`interests`) pass the
    /// whole list, comma-separated: items left out are blocked.
    async fn set_profile_field(
        &self,
        ctx: &Context<'_>,
        lead_id: ID,
        key: String,
        value: String,
    ) -> Result<Lead> {
        let lead_id = parse_id(&lead_id, "leadId")?;
        let lead = services::profile::staff_edit(
            ctx.state()?,
            ctx.actor()?,
            lead_id,
            &key,
            StaffAction::Set(value),
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
        key: String,
        item: Option<String>,
    ) -> Result<Lead> {
        let lead_id = parse_id(&lead_id, "leadId")?;
        let lead = services::profile::staff_edit(
            ctx.state()?,
            ctx.actor()?,
            lead_id,
            &key,
            StaffAction::Reject { item },
        )
        .await?;
        Ok(Lead(lead))
    }

    /// Drops staff's hold on a field: the value stays, and AI proposals may replace it again.
    async fn release_profile_field(
        &self,
        ctx: &Context<'_>,
        lead_id: ID,
        key: String,
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
