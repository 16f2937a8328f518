use async_graphql::{Context, ID, Object, Result};

use crate::graphql::context::{ContextExt, parse_id};
use crate::graphql::types::session::Session;
use crate::services;

#[derive(Default)]
pub struct SessionQuery;

#[Object]
impl SessionQuery {
    /// One conversation.
    async fn session(&self, ctx: &Context<'_>, id: ID) -> Result<Session> {
        let id = parse_id(&id, "id")?;
        Ok(Session(
            services::sessions::get(ctx.state()?, ctx.actor()?, id).await?,
        ))
    }
}
