use std::sync::Arc;

use async_graphql::{Context, ID, InputObject, Object, Result};

use crate::error::AppError;
use crate::graphql::context::{ContextExt, page_request, parse_id, parse_time};
use crate::graphql::types::enums::{ChannelGql, LeadOrder};
use crate::graphql::types::lead::{Lead, LeadConnection};
use crate::graphql::types::text::{SHORT, Text};
use crate::repo::leads::LeadFilter as Filter;
use crate::services;

#[derive(Default)]
pub struct LeadQuery;

/// Narrows a lead list; all given conditions must hold.
#[derive(InputObject, Clone, Debug, Default)]
pub struct LeadFilter {
    /// Case-insensitive part of the name, phone or email. A phone number in any format the
    /// tenant's region allows (`052-555-1234` in `IL`) finds the lead with that number. At most 200
    /// characters.
    pub search: Option<Text<SHORT>>,
    /// Leads who talked on this channel.
    pub channel: Option<ChannelGql>,
    /// Leads whose last interaction is at or after this time (RFC 3339); at most 200
    /// characters.
    pub active_since: Option<Text<SHORT>>,
    /// Leads with (true) or without (false) a conversation summary.
    pub has_summary: Option<bool>,
    /// Returning customers (more than one conversation: true) or first-timers (false).
    pub returning: Option<bool>,
    /// Leads with (true) or without (false) an open conversation.
    pub has_open_conversation: Option<bool>,
    /// Leads who spoke this language in a conversation (ISO 639-1, e.g. `he`); at most 200
    /// characters.
    pub language: Option<Text<SHORT>>,
}

impl LeadFilter {
    fn into_filter(self) -> Result<Filter, AppError> {
        Ok(Filter {
            search: self
                .search
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty()),
            channel: self.channel.map(Into::into),
            active_since: self
                .active_since
                .as_deref()
                .map(|t| parse_time(t, "filter.activeSince"))
                .transpose()?,
            has_summary: self.has_summary,
            returning: self.returning,
            has_open_conversation: self.has_open_conversation,
            language: self.language.map(|l| parse_language(&l)).transpose()?,
            ..Filter::default()
        })
    }
}

/// An ISO 639-1 code (`he`, `EN`): two or three letters, compared in lower case.
fn parse_language(text: &str) -> Result<String, AppError> {
    let code = text.trim().to_ascii_lowercase();
    if (2..=3).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_lowercase()) {
        Ok(code)
    } else {
        Err(AppError::bad_input(
            "filter.language",
            "a language code such as `en` or `he`",
        ))
    }
}

#[Object]
impl LeadQuery {
    /// Leads, most recently active first unless `orderBy` says otherwise. Pages hold at most
    /// 100 leads.
    #[allow(clippy::too_many_arguments)]
    async fn leads(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        #[graphql(desc = "The cursor of the item to start after; at most 200 characters.")]
        after: Option<Text<SHORT>>,
        last: Option<i32>,
        #[graphql(desc = "The cursor of the item to end before; at most 200 characters.")]
        before: Option<Text<SHORT>>,
        filter: Option<LeadFilter>,
        #[graphql(default)] order_by: LeadOrder,
    ) -> Result<LeadConnection> {
        let state = ctx.state()?;
        let actor = ctx.actor()?;
        let request = page_request(ctx, first, after.as_deref(), last, before.as_deref())?;
        let filter = filter.unwrap_or_default().into_filter()?;
        let page = services::leads::list(state, actor, &filter, order_by.into(), &request).await?;
        let (state, actor) = (state.clone(), actor.clone());
        Ok(LeadConnection::new(
            page.map(Lead),
            Arc::new(move || {
                let (state, actor, filter) = (state.clone(), actor.clone(), filter.clone());
                Box::pin(async move { services::leads::count(&state, &actor, &filter).await })
            }),
        ))
    }

    /// One lead.
    async fn lead(&self, ctx: &Context<'_>, id: ID) -> Result<Lead> {
        let id = parse_id(&id, "id")?;
        Ok(Lead(
            services::leads::get(ctx.state()?, ctx.actor()?, id).await?,
        ))
    }

    /// The lead a phone number belongs to (any format; the tenant's region fills in the
    /// country code).
    async fn lead_by_phone(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The phone number; at most 200 characters.")] phone: Text<SHORT>,
    ) -> Result<Lead> {
        Ok(Lead(
            services::leads::by_phone(ctx.state()?, ctx.actor()?, &phone).await?,
        ))
    }
}
