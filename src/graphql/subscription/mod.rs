//! Subscriptions: live conversation events, resumable with `after`.

use std::collections::HashSet;

use async_graphql::{Context, Enum, ID, Json, Object, Result, Subscription as SubscriptionRoot};
use chrono::{DateTime, Utc};
use futures::{Stream, StreamExt};

use crate::domain::EventType;
use crate::entities::event;
use crate::error::AppError;
use crate::graphql::context::{ContextExt, parse_id, to_id};
use crate::graphql::types::lead::Lead;
use crate::graphql::types::message::Message;
use crate::graphql::types::text::{SHORT, Text};
use crate::services::live::{self, LiveFilter, LiveItem};

/// What an event reports.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
#[graphql(name = "EventType")]
pub enum EventTypeGql {
    /// A message was recorded.
    MessageCreated,
    /// A message changed (e.g. its delivery status).
    MessageUpdated,
    /// A conversation started, or a call closed while on hold went on (`"reopened": true` in
    /// the payload).
    SessionOpened,
    /// A conversation ended.
    SessionClosed,
    /// A conversation was summarized.
    SummaryCreated,
    /// A customer was seen for the first time.
    LeadCreated,
    /// A customer's profile or fields changed (`data.keys` says which).
    LeadUpdated,
    /// A note was added.
    NoteCreated,
    /// A note changed.
    NoteUpdated,
    /// A note was deleted.
    NoteDeleted,
    /// A customer and everything about them was erased (`data` carries ids only).
    LeadErased,
    /// This stream cannot continue without a gap: reload what you show, then subscribe again
    /// with `after` set to this event's cursor.
    Resync,
}

impl EventTypeGql {
    /// The type subscribers see an event as; `None` for memodesk's internal events.
    fn public(t: EventType) -> Option<Self> {
        Some(match t {
            EventType::MessageCreated => Self::MessageCreated,
            EventType::MessageUpdated => Self::MessageUpdated,
            EventType::SessionOpened => Self::SessionOpened,
            EventType::SessionClosed => Self::SessionClosed,
            EventType::SummaryCreated => Self::SummaryCreated,
            EventType::LeadCreated => Self::LeadCreated,
            EventType::LeadUpdated => Self::LeadUpdated,
            EventType::NoteCreated => Self::NoteCreated,
            EventType::NoteUpdated => Self::NoteUpdated,
            EventType::NoteDeleted => Self::NoteDeleted,
            EventType::LeadErased => Self::LeadErased,
            EventType::CredentialChanged => return None,
        })
    }

    fn domain(self) -> Option<EventType> {
        EventType::ALL
            .iter()
            .copied()
            .find(|t| EventTypeGql::public(*t) == Some(self))
    }
}

/// One thing that happened in the tenant, in order.
pub struct ConversationEvent(LiveItem);

/// One thing that happened in the tenant, in order.
#[Object]
impl ConversationEvent {
    /// Pass as `after` to resume right after this event.
    async fn cursor(&self) -> String {
        match &self.0 {
            LiveItem::Event(e) => e.event.seq.to_string(),
            LiveItem::Resync { after, .. } => after.to_string(),
        }
    }

    /// What happened.
    #[graphql(name = "type")]
    async fn event_type(&self) -> EventTypeGql {
        match &self.0 {
            LiveItem::Event(e) => EventType::parse(&e.event.event_type)
                .and_then(EventTypeGql::public)
                .unwrap_or(EventTypeGql::Resync),
            LiveItem::Resync { .. } => EventTypeGql::Resync,
        }
    }

    /// The customer concerned.
    async fn lead_id(&self) -> Option<ID> {
        self.event().and_then(|e| e.lead_id).map(to_id)
    }

    /// The conversation concerned.
    async fn session_id(&self) -> Option<ID> {
        self.event().and_then(|e| e.session_id).map(to_id)
    }

    /// When it happened.
    async fn occurred_at(&self) -> Option<DateTime<Utc>> {
        self.event().map(|e| e.created_at)
    }

    /// The event's ids and small facts (no message text or personal data).
    async fn data(&self) -> Json<serde_json::Value> {
        Json(match &self.0 {
            LiveItem::Event(e) => e.event.payload.clone(),
            LiveItem::Resync { reason, .. } => serde_json::json!({ "reason": reason }),
        })
    }

    /// For message events: the message.
    async fn message(&self) -> Option<Message> {
        match &self.0 {
            LiveItem::Event(e) => e.message.clone().map(Message),
            LiveItem::Resync { .. } => None,
        }
    }

    /// The customer (as of lead events: after the change; otherwise as they are now).
    async fn lead(&self, ctx: &Context<'_>) -> Result<Option<Lead>> {
        let LiveItem::Event(e) = &self.0 else {
            return Ok(None);
        };
        if let Some(lead) = &e.lead {
            return Ok(Some(Lead(lead.clone())));
        }
        let Some(id) = e.event.lead_id else {
            return Ok(None);
        };
        Ok(ctx.loaders()?.leads.load_one(id).await?.map(Lead))
    }
}

impl ConversationEvent {
    fn event(&self) -> Option<&event::Model> {
        match &self.0 {
            LiveItem::Event(e) => Some(&e.event),
            LiveItem::Resync { .. } => None,
        }
    }
}

fn filter(
    lead_id: Option<ID>,
    session_id: Option<ID>,
    types: Option<HashSet<EventType>>,
) -> Result<LiveFilter, AppError> {
    Ok(LiveFilter {
        lead_id: lead_id.map(|id| parse_id(&id, "leadId")).transpose()?,
        session_id: session_id
            .map(|id| parse_id(&id, "sessionId"))
            .transpose()?,
        types,
    })
}

#[derive(Default)]
pub struct Subscription;

/// Live updates over WebSockets at `/graphql/ws` (graphql-transport-ws or graphql-ws); send the
/// credential in `connection_init` as `{"Authorization": "Bearer <token>"}`.
#[SubscriptionRoot]
impl Subscription {
    /// Everything that happens in the tenant, optionally for one lead or session and some types.
    /// With `after` (a cursor from an earlier event), first replays what was missed, then goes
    /// on live, with no gap and no duplicate. A RESYNC event ends the stream: reload, then
    /// subscribe again from its cursor.
    async fn conversation_events(
        &self,
        ctx: &Context<'_>,
        lead_id: Option<ID>,
        session_id: Option<ID>,
        types: Option<Vec<EventTypeGql>>,
        #[graphql(desc = "The cursor of the last event seen; at most 200 characters.")]
        after: Option<Text<SHORT>>,
    ) -> Result<impl Stream<Item = Result<ConversationEvent>> + use<>> {
        let types = types.map(|t| t.into_iter().filter_map(EventTypeGql::domain).collect());
        let filter = filter(lead_id, session_id, types)?;
        let after = after.as_deref().map(live::parse_cursor).transpose()?;
        let stream = live::events(ctx.state()?, ctx.actor()?, filter, after).await?;
        Ok(stream.map(|item| item.map(ConversationEvent).map_err(Into::into)))
    }

    /// New messages, for chat views (optionally of one lead or session).
    async fn message_added(
        &self,
        ctx: &Context<'_>,
        lead_id: Option<ID>,
        session_id: Option<ID>,
    ) -> Result<impl Stream<Item = Result<Message>> + use<>> {
        let types = Some(HashSet::from([EventType::MessageCreated]));
        let filter = filter(lead_id, session_id, types)?;
        let stream = live::events(ctx.state()?, ctx.actor()?, filter, None).await?;
        Ok(stream.filter_map(|item| async move {
            match item {
                Ok(LiveItem::Event(e)) => e.message.clone().map(|m| Ok(Message(m))),
                Ok(LiveItem::Resync { .. }) => Some(Err(AppError::Conflict(
                    "the subscriber fell behind; reload the conversation and subscribe again"
                        .into(),
                )
                .into())),
                Err(err) => Some(Err(err.into())),
            }
        }))
    }

    /// Leads as they change (optionally one lead), with their new profile.
    async fn lead_updated(
        &self,
        ctx: &Context<'_>,
        lead_id: Option<ID>,
    ) -> Result<impl Stream<Item = Result<Lead>> + use<>> {
        let types = Some(HashSet::from([
            EventType::LeadUpdated,
            EventType::LeadCreated,
        ]));
        let filter = filter(lead_id, None, types)?;
        let stream = live::events(ctx.state()?, ctx.actor()?, filter, None).await?;
        Ok(stream.filter_map(|item| async move {
            match item {
                Ok(LiveItem::Event(e)) => e.lead.clone().map(|l| Ok(Lead(l))),
                Ok(LiveItem::Resync { .. }) => Some(Err(AppError::Conflict(
                    "the subscriber fell behind; reload and subscribe again".into(),
                )
                .into())),
                Err(err) => Some(Err(err.into())),
            }
        }))
    }
}
