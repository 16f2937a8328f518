use async_graphql::{Context, ID, Object, Result};

use crate::graphql::context::{ContextExt, parse_id};
use crate::graphql::types::enums::ChannelGql;
use crate::graphql::types::memory::MemoryContext;
use crate::graphql::types::text::{self, SHORT, Text};
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
        #[graphql(desc = "The customer's phone number, any format; at most 200 characters.")]
        phone: Option<Text<SHORT>>,
        channel: Option<ChannelGql>,
        #[graphql(
            desc = "A BCP 47 tag (`en`, `he`, `he-IL`) to render in; the customer's language when absent. At most 200 characters."
        )]
        locale: Option<Text<SHORT>>,
    ) -> Result<MemoryContext> {
        let lead_id = lead_id.map(|id| parse_id(&id, "leadId")).transpose()?;
        let request = ContextRequest {
            lead_id,
            phone: text::opt(phone),
            channel: channel.map(Into::into),
            locale: text::opt(locale),
        };
        Ok(MemoryContext(
            memory::context(ctx.state()?, ctx.actor()?, request).await?,
        ))
    }
}
