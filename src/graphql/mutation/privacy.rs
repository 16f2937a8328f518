use async_graphql::{Context, ID, Object, Result};

use crate::graphql::context::{ContextExt, parse_id};
use crate::graphql::types::privacy::LeadErasure;
use crate::graphql::types::text::{Text, VALUE};
use crate::services;

#[derive(Default)]
pub struct PrivacyMutation;

#[Object]
impl PrivacyMutation {
    /// Erases a customer and everything held about them (admins only): messages,
    /// conversations, summaries, notes, profile and its history, identities, pending work.
    /// Cannot be undone. A tombstone keeps the ids, who, when, `reason` and the counts, and a
    /// keyed hash of each phone number and email, so the customer writing again shows up as a
    /// new lead with `previouslyErased`. Subscribers get a `LEAD_ERASED` event with ids only.
    async fn erase_lead(
        &self,
        ctx: &Context<'_>,
        id: ID,
        #[graphql(
            desc = "Why the customer is erased (kept in the tombstone); at most 1000 characters."
        )]
        reason: Text<VALUE>,
    ) -> Result<LeadErasure> {
        let id = parse_id(&id, "id")?;
        Ok(
            services::privacy::erasure::erase_lead(ctx.state()?, ctx.actor()?, id, &reason)
                .await?
                .into(),
        )
    }
}
