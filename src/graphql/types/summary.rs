//! Conversation summaries.

use async_graphql::{ID, Object, SimpleObject};
use chrono::{DateTime, Utc};

use super::enums::{ChannelGql, IntentGql};
use crate::domain::classify::Intent;
use crate::domain::summarize::SummaryFact;
use crate::entities::interaction_summary;
use crate::graphql::context::to_id;

/// The AI summary of one closed conversation.
pub struct InteractionSummary(pub interaction_summary::Model);

/// The AI summary of one closed conversation.
#[Object]
impl InteractionSummary {
    /// Opaque id.
    async fn id(&self) -> ID {
        to_id(self.0.id)
    }

    /// The summarized session.
    async fn session_id(&self) -> ID {
        to_id(self.0.session_id)
    }

    /// The customer.
    async fn lead_id(&self) -> ID {
        to_id(self.0.lead_id)
    }

    /// Where the conversation happened.
    async fn channel(&self) -> ChannelGql {
        self.0.channel.into()
    }

    /// 5–10 lines in the conversation's language.
    async fn summary(&self) -> &str {
        &self.0.summary
    }

    /// Short points: products, amounts, dates, commitments.
    async fn key_points(&self) -> Vec<String> {
        serde_json::from_value(self.0.key_points.clone()).unwrap_or_default()
    }

    /// Facts about the customer found in the conversation (merged into the profile).
    async fn facts(&self) -> Vec<SummaryFactGql> {
        serde_json::from_value::<Vec<SummaryFact>>(self.0.facts.clone())
            .unwrap_or_default()
            .into_iter()
            .map(|f| SummaryFactGql {
                key: f.key,
                value: f.value,
                confidence: f.confidence,
                evidence: f.evidence.into_iter().map(to_id).collect(),
            })
            .collect()
    }

    /// What the customer wanted.
    async fn intents(&self) -> Vec<IntentGql> {
        serde_json::from_value::<Vec<String>>(self.0.intents.clone())
            .unwrap_or_default()
            .iter()
            .filter_map(|i| Intent::parse(i))
            .map(Into::into)
            .collect()
    }

    /// positive, neutral, negative or mixed.
    async fn sentiment(&self) -> Option<&str> {
        self.0.sentiment.as_deref()
    }

    /// The conversation's language (ISO 639-1).
    async fn language(&self) -> Option<&str> {
        self.0.language.as_deref()
    }

    /// What should happen next, if anything.
    async fn next_step(&self) -> Option<&str> {
        self.0.next_step.as_deref()
    }

    /// `builtin` or the LLM provider that wrote it.
    async fn provider(&self) -> &str {
        &self.0.provider
    }

    /// The model (or built-in summarizer version).
    async fn model(&self) -> &str {
        &self.0.model
    }

    /// The prompt version used.
    async fn prompt_version(&self) -> &str {
        &self.0.prompt_version
    }

    /// Why the built-in summarizer was used instead of the LLM, when it was a fallback.
    async fn fallback_reason(&self) -> Option<&str> {
        self.0.fallback_reason.as_deref()
    }

    /// LLM prompt tokens used (0 for the built-in summarizer).
    async fn prompt_tokens(&self) -> i32 {
        self.0.prompt_tokens
    }

    /// LLM completion tokens used.
    async fn completion_tokens(&self) -> i32 {
        self.0.completion_tokens
    }

    /// When it was first written.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// When it was last rewritten.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

/// A fact a summary found.
#[derive(SimpleObject, Clone, Debug)]
#[graphql(name = "SummaryFact")]
pub struct SummaryFactGql {
    /// The profile key.
    pub key: String,
    /// The value.
    pub value: String,
    /// How sure the summarizer is, 0 to 1.
    pub confidence: f64,
    /// The messages it comes from.
    pub evidence: Vec<ID>,
}
