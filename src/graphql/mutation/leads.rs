//! Leads created and edited by hand.

use async_graphql::{Context, ID, InputObject, Object, Result};

use crate::graphql::context::{ContextExt, parse_id};
use crate::graphql::types::lead::Lead;
use crate::graphql::types::text::{self, SHORT, Text};
use crate::services;
use crate::services::leads::LeadDetails;

#[derive(Default)]
pub struct LeadMutation;

/// A lead's contact details as staff type them; they become staff-held profile values.
#[derive(InputObject, Clone, Debug, Default)]
pub struct LeadInput {
    /// The customer's name; at most 200 characters.
    pub display_name: Option<Text<SHORT>>,
    /// Any format (the tenant's region fills in the country code); at most 200 characters.
    pub phone: Option<Text<SHORT>>,
    /// Email address; at most 200 characters.
    pub email: Option<Text<SHORT>>,
}

impl From<LeadInput> for LeadDetails {
    fn from(i: LeadInput) -> Self {
        LeadDetails {
            display_name: text::opt(i.display_name),
            phone: text::opt(i.phone),
            email: text::opt(i.email),
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
}
