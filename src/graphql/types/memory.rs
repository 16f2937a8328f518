//! The memory context an agent reads before replying.

use async_graphql::{Object, SimpleObject};

use super::lead::{LastSummary, Lead};
use super::message::Message;
use super::note::Note;
use super::profile::ProfileField;
use super::session::Session;
use crate::graphql::context::to_id;
use crate::services::memory;

/// What memodesk remembers about a customer, ready for an agent's prompt.
pub struct MemoryContext(pub memory::MemoryContext);

/// What memodesk remembers about a customer, ready for an agent's prompt.
#[Object]
impl MemoryContext {
    /// The customer; null when the phone number is new to us.
    async fn lead(&self) -> Option<Lead> {
        self.0.lead.clone().map(Lead)
    }

    /// True when we have never seen this customer.
    async fn is_new_customer(&self) -> bool {
        self.0.lead.is_none()
    }

    /// Profile fields with their source and confidence (empty when customer-service mode is off).
    async fn profile(&self) -> Vec<ProfileField> {
        self.0
            .profile
            .iter()
            .map(|(k, f)| ProfileField::new(k.clone(), f.clone()))
            .collect()
    }

    /// The summary of the last summarized conversation, on any channel.
    async fn last_summary(&self) -> Option<LastSummary> {
        self.0.last_summary.as_ref().map(|s| LastSummary {
            text: s.text.clone(),
            channel: s.channel.into(),
            at: s.at,
            session_id: s.session_id.map(to_id),
            ended: s.conversation_ended_at,
            session: s.session_id,
        })
    }

    /// The latest staff notes, newest first; pinned notes are always included.
    async fn notes(&self) -> Vec<Note> {
        self.0.notes.iter().cloned().map(Note).collect()
    }

    /// The conversation in progress, if any.
    async fn session(&self) -> Option<Session> {
        self.0.session.clone().map(Session)
    }

    /// The last messages of the conversation in progress, oldest first.
    async fn messages(&self) -> Vec<Message> {
        self.0.messages.iter().cloned().map(Message::from).collect()
    }

    /// The customer's previous interaction is older than the idle timeout and there is
    /// something to remember: ask whether to continue or start fresh.
    async fn is_returning(&self) -> bool {
        self.0.is_returning
    }

    /// For returning customers: the opening line, in the context's locale.
    async fn suggested_opening(&self) -> Option<&str> {
        self.0.suggested_opening.as_deref()
    }

    /// The locale the context is rendered in.
    async fn locale(&self) -> &str {
        self.0.locale.as_str()
    }

    /// Whether the tenant's customer-service mode is on.
    async fn customer_service_mode(&self) -> bool {
        self.0.customer_service_mode
    }

    /// The lead's past messages, summaries and notes most relevant to `relevantTo`, best
    /// first, outside the conversation in progress (empty without `relevantTo`, and when the
    /// tenant's customer-service mode is off).
    async fn relevant_memories(&self) -> Vec<super::search::SearchHit> {
        self.0
            .relevant
            .iter()
            .cloned()
            .map(super::search::SearchHit)
            .collect()
    }

    /// Everything above as prompt-ready text.
    async fn rendered(&self) -> RenderedContext {
        let r = &self.0.rendered;
        RenderedContext {
            text: r.text.clone(),
            estimated_tokens: i32::try_from(r.estimated_tokens).unwrap_or(i32::MAX),
            characters: i32::try_from(r.text.chars().count()).unwrap_or(i32::MAX),
            omitted_messages: i32::try_from(r.omitted_messages).unwrap_or(i32::MAX),
            truncated: r.truncated,
        }
    }
}

/// The memory context as prompt-ready text.
#[derive(SimpleObject, Clone, Debug)]
pub struct RenderedContext {
    /// The text, within the tenant's character budget.
    pub text: String,
    /// An estimate of its LLM tokens.
    pub estimated_tokens: i32,
    /// Its length in characters.
    pub characters: i32,
    /// Oldest messages left out to fit the budget.
    pub omitted_messages: i32,
    /// Whether notes or the summary had to be shortened too.
    pub truncated: bool,
}
