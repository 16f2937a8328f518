//! Sessions: one conversation on one channel.

use std::sync::Arc;

use async_graphql::{Context, ID, Object, Result};
use chrono::{DateTime, Utc};

use super::connection::connection;
use super::enums::{ChannelGql, CloseReasonGql, IntentGql, MessageOrder, SessionStatusGql};
use super::lead::Lead;
use super::message::{Message, MessageConnection};
use super::summary::InteractionSummary;
use super::text::{SHORT, Text};
use crate::domain::classify::Intent;
use crate::entities::session;
use crate::error::AppError;
use crate::graphql::context::{ContextExt, page_request, to_id};
use crate::services;

/// One conversation with a lead on one channel.
#[derive(Clone)]
pub struct Session(pub session::Model);

connection!(
    SessionConnection,
    SessionEdge,
    Session,
    "A page of sessions.",
    "A session with its position in the list."
);

/// One conversation with a lead on one channel.
#[Object]
impl Session {
    /// Opaque id.
    async fn id(&self) -> ID {
        to_id(self.0.id)
    }

    /// The lead's id.
    async fn lead_id(&self) -> ID {
        to_id(self.0.lead_id)
    }

    /// The customer.
    async fn lead(&self, ctx: &Context<'_>) -> Result<Lead> {
        ctx.loaders()?
            .leads
            .load_one(self.0.lead_id)
            .await?
            .map(Lead)
            .ok_or_else(|| AppError::not_found("lead").into())
    }

    /// Where the conversation happens.
    async fn channel(&self) -> ChannelGql {
        self.0.channel.into()
    }

    /// Open or closed.
    async fn status(&self) -> SessionStatusGql {
        self.0.status.into()
    }

    /// The call id (or similar) that groups this session's messages, if any.
    async fn session_ref(&self) -> Option<&str> {
        self.0.session_ref.as_deref()
    }

    /// When the first message was said.
    async fn started_at(&self) -> DateTime<Utc> {
        self.0.started_at
    }

    /// When the last message was said.
    async fn last_message_at(&self) -> DateTime<Utc> {
        self.0.last_message_at
    }

    /// When the session was closed.
    async fn closed_at(&self) -> Option<DateTime<Utc>> {
        self.0.closed_at
    }

    /// Why the session was closed.
    async fn close_reason(&self) -> Option<CloseReasonGql> {
        self.0.close_reason.map(Into::into)
    }

    /// The customer's language (ISO 639-1), as detected.
    async fn language(&self) -> Option<&str> {
        self.0.language.as_deref()
    }

    /// What the customer wanted, in order of first appearance.
    async fn intents(&self) -> Vec<IntentGql> {
        serde_json::from_value::<Vec<String>>(self.0.intents.clone())
            .unwrap_or_default()
            .iter()
            .filter_map(|i| Intent::parse(i))
            .map(Into::into)
            .collect()
    }

    /// Messages in the session.
    async fn message_count(&self) -> i64 {
        self.0.message_count
    }

    /// When the lead last spoke before this session started.
    async fn previous_interaction_at(&self) -> Option<DateTime<Utc>> {
        self.0.previous_interaction_at
    }

    /// The AI summary, once the session is closed and summarized.
    async fn summary(&self, ctx: &Context<'_>) -> Result<Option<InteractionSummary>> {
        Ok(ctx
            .loaders()?
            .summaries
            .load_one(self.0.id)
            .await?
            .map(InteractionSummary))
    }

    /// The session's messages, oldest first unless `order` says otherwise.
    async fn messages(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        #[graphql(desc = "The cursor of the item to start after; at most 200 characters.")]
        after: Option<Text<SHORT>>,
        last: Option<i32>,
        #[graphql(desc = "The cursor of the item to end before; at most 200 characters.")]
        before: Option<Text<SHORT>>,
        #[graphql(default)] order: MessageOrder,
    ) -> Result<MessageConnection> {
        let state = ctx.state()?;
        let actor = ctx.actor()?;
        let request = page_request(ctx, first, after.as_deref(), last, before.as_deref())?;
        let newest_first = order == MessageOrder::NewestFirst;
        let page =
            services::sessions::messages(state, actor, self.0.id, newest_first, &request).await?;
        let (state, actor, session_id) = (state.clone(), actor.clone(), self.0.id);
        Ok(MessageConnection::new(
            page.map(Message::from),
            Arc::new(move || {
                let (state, actor) = (state.clone(), actor.clone());
                Box::pin(async move {
                    services::sessions::count_messages(&state, &actor, session_id).await
                })
            }),
        ))
    }
}
