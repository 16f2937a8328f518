use async_graphql::{Context, ID, Object, Result};

use crate::graphql::context::{ContextExt, parse_id};
use crate::graphql::types::enums::ChannelGql;
use crate::graphql::types::memory::MemoryContext;
use crate::graphql::types::text::{self, SHORT, Text, VALUE};
use crate::services::memory::{self, ContextRequest};
use crate::services::search::RelevantRequest;

#[derive(Default)]
pub struct MemoryQuery;

#[Object]
impl MemoryQuery {
    /// What memodesk remembers about a customer, for an agent about to reply. Pass exactly one
    /// of `leadId` or `phone`; an unknown phone gives an empty context for a new customer.
    ///
    /// Without `locale`, the context speaks the customer's language: their preferred language
    /// when we are confident of it, else the language of the conversation in progress, else the
    /// tenant's locale.
    ///
    /// With `relevantTo` (usually the customer's latest message), also the lead's past
    /// messages, summaries and notes most relevant to it, outside the conversation in progress
    /// (`relevantMemories`, and a section of `rendered`); at most `relevantFirst` (0–20).
    #[allow(clippy::too_many_arguments)]
    async fn memory_context(
        &self,
        ctx: &Context<'_>,
        lead_id: Option<ID>,
        #[graphql(desc = "The customer's phone number, any format; at most 200 characters.")]
        phone: Option<Text<SHORT>>,
        channel: Option<ChannelGql>,
        #[graphql(
            desc = "A BCP 47 tag (`en`, `he`, `he-IL`) to render in; the customer's language when absent. At most 200 characters."
        )]
        locale: Option<Text<SHORT>>,
        #[graphql(
            desc = "Text to find relevant past moments for (usually the customer's latest message); at most 1000 characters."
        )]
        relevant_to: Option<Text<VALUE>>,
        #[graphql(
            default = 5,
            desc = "How many relevant past moments at most (0 to 20)."
        )]
        relevant_first: i32,
    ) -> Result<MemoryContext> {
        let lead_id = lead_id.map(|id| parse_id(&id, "leadId")).transpose()?;
        let request = ContextRequest {
            lead_id,
            phone: text::opt(phone),
            channel: channel.map(Into::into),
            locale: text::opt(locale),
            relevant: RelevantRequest::parse(text::opt(relevant_to), relevant_first)?,
        };
        Ok(MemoryContext(
            memory::context(ctx.state()?, ctx.actor()?, request).await?,
        ))
    }
}
