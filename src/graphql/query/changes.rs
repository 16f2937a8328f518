//! The change feed: what changed since a CRM's last sync.

use async_graphql::{Context, ID, Object, Result, SimpleObject};

use crate::error::AppError;
use crate::graphql::context::{ContextExt, to_id};
use crate::graphql::types::lead::Lead;
use crate::graphql::types::text::{SHORT, Text};
use crate::services;

#[derive(Default)]
pub struct ChangeQuery;

/// One page of the change feed.
#[derive(SimpleObject)]
pub struct LeadChanges {
    /// Leads that changed after the cursor, each once, as they are now.
    pub leads: Vec<Lead>,
    /// Leads erased after the cursor: ids only. Delete them from the CRM.
    pub erased_lead_ids: Vec<ID>,
    /// Pass this as `after` next time (store it once the page is processed).
    pub next_cursor: String,
    /// Whether more changes are already waiting: ask again at once with `nextCursor`.
    pub has_more: bool,
}

#[Object]
impl ChangeQuery {
    /// Leads that changed (profile, identities, summary, notes, messages) or were erased after
    /// `after`, a cursor returned by an earlier call or by `GET /export/leads`; without it, every
    /// lead (a sync from scratch). Reads at most `first` changes (default 100, at most 10 000).
    /// Needs the `export` scope or the admin role. A cursor older than the retained history is
    /// refused (`BAD_USER_INPUT` on `after`): sync from scratch then.
    async fn lead_changes(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The cursor of an earlier sync; at most 200 characters.")] after: Option<
            Text<SHORT>,
        >,
        first: Option<i32>,
    ) -> Result<LeadChanges> {
        let state = ctx.state()?;
        let actor = ctx.actor()?;
        let limit = u64::try_from(first.unwrap_or(100))
            .ok()
            .filter(|n| (1..=10_000).contains(n))
            .ok_or_else(|| AppError::bad_input("first", "must be between 1 and 10000"))?;
        let page = services::changes::page(state, actor, after.as_deref(), limit).await?;
        Ok(LeadChanges {
            leads: page.leads.into_iter().map(Lead).collect(),
            erased_lead_ids: page.erased.into_iter().map(to_id).collect(),
            next_cursor: page.next_cursor.encode(),
            has_more: page.has_more,
        })
    }
}
