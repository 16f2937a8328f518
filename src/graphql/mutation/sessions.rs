//! Ending a conversation, and summarizing it again.

use async_graphql::{Context, ID, Object, Result};

use crate::graphql::context::{ContextExt, parse_id};
use crate::graphql::types::session::Session;
use crate::graphql::types::summary::InteractionSummary;
use crate::services;

#[derive(Default)]
pub struct SessionMutation;

#[Object]
impl SessionMutation {
    /// Ends a conversation now (e.g. the call hung up); its summary is queued. Calls close as
    /// CALL_ENDED, other channels as MANUAL; a closed session is returned unchanged.
    async fn close_session(&self, ctx: &Context<'_>, id: ID) -> Result<Session> {
        let id = parse_id(&id, "id")?;
        Ok(Session(
            services::sessions::close(ctx.state()?, ctx.actor()?, id).await?,
        ))
    }

    /// Summarizes a closed session again, now (replacing its summary).
    async fn summarize_session(&self, ctx: &Context<'_>, id: ID) -> Result<InteractionSummary> {
        let id = parse_id(&id, "id")?;
        Ok(InteractionSummary(
            services::summaries::resummarize(ctx.state()?, ctx.actor()?, id).await?,
        ))
    }
}
