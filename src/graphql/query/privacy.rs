use std::sync::Arc;

use crate::graphql::types::text::{SHORT, Text};
use async_graphql::{Context, Object, Result};

use crate::graphql::context::{ContextExt, page_request, parse_id};
use crate::graphql::types::privacy::{AuditEntry, AuditEntryConnection, AuditLogFilter};
use crate::repo::audit::AuditFilter;
use crate::services;

#[derive(Default)]
pub struct PrivacyQuery;

#[Object]
impl PrivacyQuery {
    /// The audit log, newest first (admins only): who signed in, changed settings, users or
    /// keys, wrote or erased customer data, and which staff opened a customer's data.
    async fn audit_log(
        &self,
        ctx: &Context<'_>,
        filter: Option<AuditLogFilter>,
        first: Option<i32>,
        #[graphql(desc = "The cursor of the entry to start after; at most 200 characters.")]
        after: Option<Text<SHORT>>,
    ) -> Result<AuditEntryConnection> {
        let state = ctx.state()?;
        let actor = ctx.actor()?;
        let request = page_request(ctx, first, after.as_deref(), None, None)?;
        let f = filter.unwrap_or_default();
        let filter = AuditFilter {
            actor_id: f
                .actor
                .map(|id| parse_id(&id, "filter.actor"))
                .transpose()?,
            action: f.action.map(Text::into_string),
            lead_id: f
                .lead_id
                .map(|id| parse_id(&id, "filter.leadId"))
                .transpose()?,
            from: f.from,
            to: f.to,
        };
        let page = services::audit::list(state, actor, &filter, &request).await?;
        let (state, actor) = (state.clone(), actor.clone());
        Ok(AuditEntryConnection::new(
            page.map(AuditEntry),
            Arc::new(move || {
                let (state, actor, filter) = (state.clone(), actor.clone(), filter.clone());
                Box::pin(async move { services::audit::count(&state, &actor, &filter).await })
            }),
        ))
    }
}
