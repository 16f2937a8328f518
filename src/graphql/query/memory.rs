use async_graphql::{Context, ID, Object, Result};

use crate::graphql::context::{ContextExt, parse_id};
use crate::graphql::types::enums::ChannelGql;
use crate::graphql::types::memory::MemoryContext;
use crate::services::memory::{self, ContextRequest};
use crate::services::search::RelevantRequest;

#[derive(Default)]
pub struct MemoryQuery;

#[Object]
impl MemoryQuery {
    /// What memodesk remembers about a customer, for an agent about to reply. Pass exactly one
    /// of `leadId` or `phone`; an unknown phone gives an empty context for a new customer.
    /// With `relevantTo` (usually the customer's latest message), also the lead's past
    /// messages, summaries and notes most relevant to it, outside the conversation in progress
    /// (`relevantMemories`, and a section of `rendered`); at most `relevantFirst` (0–20).
    #[allow(clippy::too_many_arguments)]
    async fn memory_context(
        &self,
        ctx: &Context<'_>,
        lead_id: Option<ID>,
        phone: Option<String>,
        channel: Option<ChannelGql>,
        locale: Option<String>,
        relevant_to: Option<String>,
        #[graphql(default = 5)] relevant_first: i32,
    ) -> Result<MemoryContext> {
        let lead_id = lead_id.map(|id| parse_id(&id, "leadId")).transpose()?;
        let request = ContextRequest {
            lead_id,
            phone,
            channel: channel.map(Into::into),
            locale,
            relevant: RelevantRequest::parse(relevant_to, relevant_first)?,
        };
        Ok(MemoryContext(
            memory::context(ctx.state()?, ctx.actor()?, request).await?,
        ))
    }
}
