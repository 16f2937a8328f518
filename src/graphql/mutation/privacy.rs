use async_graphql::{Context, ID, Object, Result};

use crate::graphql::context::{ContextExt, parse_id};
use crate::graphql::types::privacy::{LeadDataExport, LeadErasure};
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

    /// A short-lived download link to everything held about a customer (subject access
    /// export), for admins or an API key with the `export` scope: a ZIP with `subject.json`
    /// (the profile, where each value came from and the message an AI value was learned
    /// from), `conversations.json`, `messages.csv`, `summaries.json`, `notes.json`,
    /// `access_log.json` and a `README.txt` in the tenant's language. Each download is in the
    /// audit log (`lead.exported`). Another tenant's lead is `NOT_FOUND`.
    async fn export_lead_data(&self, ctx: &Context<'_>, id: ID) -> Result<LeadDataExport> {
        let id = parse_id(&id, "id")?;
        Ok(
            services::privacy::subject_export::link(ctx.state()?, ctx.actor()?, id)
                .await?
                .into(),
        )
    }
}
