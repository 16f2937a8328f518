//! Leads: customers, one across all channels.

use std::sync::Arc;

use async_graphql::{ComplexObject, Context, ID, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};

use super::connection::connection;
use super::enums::{ChannelGql, IdentityKindGql};
use super::message::Message;
use super::note::Note;
use super::profile::ProfileField;
use super::session::{Session, SessionConnection};
use super::summary::InteractionSummary;
use super::text::{SHORT, Text};
use crate::entities::{lead, lead_identity};
use crate::graphql::context::{ContextExt, list_limit, page_request, to_id};
use crate::services;

/// A customer: one lead across WhatsApp, calls, web chat, SMS and email.
#[derive(Clone)]
pub struct Lead(pub lead::Model);

connection!(
    LeadConnection,
    LeadEdge,
    Lead,
    "A page of leads.",
    "A lead with its position in the list."
);

/// A customer: one lead across WhatsApp, calls, web chat, SMS and email.
#[Object]
impl Lead {
    /// Opaque id.
    async fn id(&self) -> ID {
        to_id(self.0.id)
    }

    /// The best known name (the profile's `name`).
    async fn display_name(&self) -> Option<&str> {
        self.0.display_name.as_deref()
    }

    /// The profile's phone number, E.164.
    async fn primary_phone(&self) -> Option<&str> {
        self.0.primary_phone.as_deref()
    }

    /// The profile's email address.
    async fn email(&self) -> Option<&str> {
        self.0.email.as_deref()
    }

    /// Every field we know, with where it came from and how sure we are.
    async fn profile(&self) -> Result<Vec<ProfileField>> {
        Ok(ProfileField::list(&services::profile::profile_of(&self.0)?))
    }

    /// How channels and contact details find this lead.
    async fn identities(&self, ctx: &Context<'_>) -> Result<Vec<LeadIdentity>> {
        let rows = ctx.loaders()?.identities.load_one(self.0.id).await?;
        Ok(rows
            .unwrap_or_default()
            .into_iter()
            .map(LeadIdentity)
            .collect())
    }

    /// The lead's conversations, newest first.
    async fn sessions(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        #[graphql(desc = "The cursor of the item to start after; at most 200 characters.")]
        after: Option<Text<SHORT>>,
        last: Option<i32>,
        #[graphql(desc = "The cursor of the item to end before; at most 200 characters.")]
        before: Option<Text<SHORT>>,
    ) -> Result<SessionConnection> {
        let state = ctx.state()?;
        let actor = ctx.actor()?;
        let request = page_request(ctx, first, after.as_deref(), last, before.as_deref())?;
        let page = services::sessions::for_lead(state, actor, self.0.id, &request).await?;
        let (state, actor, lead_id) = (state.clone(), actor.clone(), self.0.id);
        Ok(SessionConnection::new(
            page.map(Session),
            Arc::new(move || {
                let (state, actor) = (state.clone(), actor.clone());
                Box::pin(async move {
                    services::sessions::count_for_lead(&state, &actor, lead_id).await
                })
            }),
        ))
    }

    /// The most recent conversation.
    async fn last_session(&self, ctx: &Context<'_>) -> Result<Option<Session>> {
        Ok(ctx
            .loaders()?
            .last_sessions
            .load_one(self.0.id)
            .await?
            .map(Session))
    }

    /// The last thing said to or by the lead (the newest message of its most recently active
    /// conversation), e.g. for a preview in a list.
    async fn last_message(&self, ctx: &Context<'_>) -> Result<Option<Message>> {
        Ok(ctx
            .loaders()?
            .last_messages
            .load_one(self.0.id)
            .await?
            .map(|m| Message(Arc::new(m))))
    }

    /// Staff notes and call summaries, newest first.
    async fn notes(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 20)] first: i32,
    ) -> Result<Vec<Note>> {
        let state = ctx.state()?;
        let limit = list_limit(ctx, first)?;
        let notes = services::notes::for_lead(state, ctx.actor()?, self.0.id, limit).await?;
        Ok(notes.into_iter().map(Note).collect())
    }

    /// Summaries of the lead's conversations, newest first.
    async fn summaries(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 10)] first: i32,
    ) -> Result<Vec<InteractionSummary>> {
        let state = ctx.state()?;
        let limit = list_limit(ctx, first)?;
        let rows = services::summaries::for_lead(state, ctx.actor()?, self.0.id, limit).await?;
        Ok(rows.into_iter().map(InteractionSummary).collect())
    }

    /// The AI summary of the most recent summarized conversation.
    async fn last_summary(&self) -> Option<LastSummary> {
        match (
            &self.0.last_summary,
            self.0.last_summary_channel,
            self.0.summary_updated_at,
        ) {
            (Some(text), Some(channel), Some(at)) => Some(LastSummary {
                text: text.clone(),
                channel: channel.into(),
                at,
                session_id: self.0.last_summary_session_id.map(to_id),
                ended: None,
                session: self.0.last_summary_session_id,
            }),
            _ => None,
        }
    }

    /// When the customer last wrote or spoke.
    async fn last_interaction_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_interaction_at
    }

    /// The channel of the last interaction.
    async fn last_channel(&self) -> Option<ChannelGql> {
        self.0.last_channel.map(Into::into)
    }

    /// Messages recorded for this lead.
    async fn message_count(&self) -> i64 {
        self.0.message_count
    }

    /// Conversations recorded for this lead.
    async fn session_count(&self) -> i64 {
        self.0.session_count
    }

    /// Whether one of this lead's phone numbers, emails or channel ids belonged to a lead that
    /// was erased: the customer came back after asking to be forgotten (what they said before
    /// is gone; only a keyed hash of the identity was kept).
    async fn previously_erased(&self, ctx: &Context<'_>) -> Result<bool> {
        let state = ctx.state()?;
        Ok(services::privacy::erasure::previously_erased(
            state.db.reader(),
            self.0.tenant_id,
            self.0.id,
        )
        .await?)
    }

    /// When the lead was first seen.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// When anything about the lead last changed.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

/// The summary of an earlier conversation.
#[derive(SimpleObject, Clone, Debug)]
#[graphql(complex)]
pub struct LastSummary {
    /// The summary text, in the conversation's language.
    pub text: String,
    /// Where that conversation happened.
    pub channel: ChannelGql,
    /// When the summary was written (see `conversationEndedAt` for when the conversation
    /// happened).
    pub at: DateTime<Utc>,
    /// The summarized session.
    pub session_id: Option<ID>,
    /// Filled in when already known; otherwise read on request.
    #[graphql(skip)]
    pub ended: Option<DateTime<Utc>>,
    #[graphql(skip)]
    pub session: Option<uuid::Uuid>,
}

#[ComplexObject]
impl LastSummary {
    /// When the summarized conversation ended (its last message): the time to quote when
    /// saying "last time". Null when that conversation is no longer stored.
    async fn conversation_ended_at(&self, ctx: &Context<'_>) -> Result<Option<DateTime<Utc>>> {
        if self.ended.is_some() {
            return Ok(self.ended);
        }
        let Some(id) = self.session else {
            return Ok(None);
        };
        Ok(ctx
            .loaders()?
            .sessions
            .load_one(id)
            .await?
            .map(|s| s.last_message_at))
    }

    /// How long ago, in whole minutes, the summary was written.
    async fn age_minutes(&self, ctx: &Context<'_>) -> Result<i64> {
        Ok((ctx.state()?.now() - self.at).num_minutes())
    }
}

/// How a channel or contact detail identifies a lead.
pub struct LeadIdentity(pub lead_identity::Model);

/// How a channel or contact detail identifies a lead.
#[Object]
impl LeadIdentity {
    /// What kind of identifier this is.
    async fn kind(&self) -> IdentityKindGql {
        self.0.kind.into()
    }

    /// The identifier (a phone number, an email, a WhatsApp id…).
    async fn value(&self) -> &str {
        &self.0.value
    }

    /// The channel it was first seen on.
    async fn channel(&self) -> ChannelGql {
        self.0.channel.into()
    }

    /// When it was first seen.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}
