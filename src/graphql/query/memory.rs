use async_graphql::{Context, ID, Object, Result};

use crate::graphql::context::{ContextExt, parse_id};
use crate::graphql::types::enums::ChannelGql;
use crate::graphql::types::memory::MemoryContext;
use crate::services::memory::{self, ContextRequest};

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
    async fn memory_context(
        &self,
        ctx: &Context<'_>,
        lead_id: Option<ID>,
        phone: Option<String>,
        channel: Option<ChannelGql>,
        #[graphql(
            desc = "A BCP 47 tag (`en`, `he`, `he-IL`) to render in; the customer's language when absent."
        )]
        locale: Option<String>,
    ) -> Result<MemoryContext> {
        let lead_id = lead_id.map(|id| parse_id(&id, "leadId")).transpose()?;
        let request = ContextRequest {
            lead_id,
            phone,
            channel: channel.map(Into::into),
            locale,
        };
        Ok(MemoryContext(
            memory::context(ctx.state()?, ctx.actor()?, request).await?,
        ))
    }
}
