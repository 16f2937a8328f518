//! Messages: one utterance each.

use std::sync::Arc;

use async_graphql::{Context, ID, Object, Result, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};

use super::connection::connection;
use super::enums::{ChannelGql, IntentGql, MessageRoleGql};
use super::session::Session;
use crate::domain::classify::Entities;
use crate::entities::message;
use crate::error::AppError;
use crate::graphql::context::{ContextExt, to_id};

/// One utterance in a session. Shared (`Arc`) because a live event hands the same message to
/// every subscriber.
#[derive(Clone)]
pub struct Message(pub Arc<message::Model>);

impl From<message::Model> for Message {
    fn from(model: message::Model) -> Self {
        Self(Arc::new(model))
    }
}

connection!(
    MessageConnection,
    MessageEdge,
    Message,
    "A page of messages.",
    "A message with its position in the conversation."
);

/// One utterance in a session.
#[Object]
impl Message {
    /// Opaque id.
    async fn id(&self) -> ID {
        to_id(self.0.id)
    }

    /// The session's id.
    async fn session_id(&self) -> ID {
        to_id(self.0.session_id)
    }

    /// The lead's id.
    async fn lead_id(&self) -> ID {
        to_id(self.0.lead_id)
    }

    /// The conversation this message belongs to.
    async fn session(&self, ctx: &Context<'_>) -> Result<Session> {
        ctx.loaders()?
            .sessions
            .load_one(self.0.session_id)
            .await?
            .map(Session)
            .ok_or_else(|| AppError::not_found("session").into())
    }

    /// Where it was said.
    async fn channel(&self) -> ChannelGql {
        self.0.channel.into()
    }

    /// Who said it.
    async fn role(&self) -> MessageRoleGql {
        self.0.role.into()
    }

    /// What was said, as recorded (trimmed).
    async fn content(&self) -> &str {
        &self.0.content
    }

    /// Control characters (U+0000 and the other C0 controls except tab and newline) were
    /// removed from what the client or channel sent: from the content, the customer's name or
    /// ids, or the keys and strings of `channelData`.
    async fn text_cleaned(&self) -> bool {
        self.0
            .metadata
            .get("textCleaned")
            .and_then(|c| c.as_bool())
            .unwrap_or(false)
    }

    /// What it is about, per the built-in classifier.
    async fn intent(&self) -> Option<IntentGql> {
        self.0.intent.map(Into::into)
    }

    /// The classifier's confidence, 0 to 1.
    async fn intent_confidence(&self) -> Option<f64> {
        self.0.intent_confidence
    }

    /// Products, currencies, amounts and dates the message mentions.
    async fn entities(&self) -> MessageEntities {
        let entities: Entities = self
            .0
            .metadata
            .get("entities")
            .and_then(|e| serde_json::from_value(e.clone()).ok())
            .unwrap_or_default();
        MessageEntities {
            products: entities.products,
            currencies: entities.currencies,
            amounts: entities
                .amounts
                .into_iter()
                .map(|a| Amount {
                    value: a.value,
                    currency: a.currency,
                })
                .collect(),
            dates: entities
                .dates
                .into_iter()
                .map(|d| DateMention {
                    text: d.text,
                    date: d.date,
                })
                .collect(),
        }
    }

    /// Personal data replaced at ingest (kinds and how many), e.g. one `CARD`: the stored text
    /// holds `[card ••4242]` and the original was never written anywhere.
    async fn redactions(&self) -> Vec<Redaction> {
        let Some(map) = self
            .0
            .metadata
            .get("redactions")
            .and_then(|r| r.as_object())
        else {
            return Vec::new();
        };
        map.iter()
            .filter_map(|(kind, n)| {
                Some(Redaction {
                    kind: crate::domain::redact::PiiKind::parse(kind)?.into(),
                    count: i32::try_from(n.as_i64()?).ok()?,
                })
            })
            .collect()
    }

    /// The detected language (ISO 639-1).
    async fn language(&self) -> Option<&str> {
        self.0.metadata.get("language").and_then(|l| l.as_str())
    }

    /// The channel-specific raw part (media, location, reaction…), when the channel sent one.
    async fn channel_data(&self) -> Option<async_graphql::Json<serde_json::Value>> {
        self.0
            .metadata
            .get("channel")
            .cloned()
            .map(async_graphql::Json)
    }

    /// The provider's message id.
    async fn external_id(&self) -> Option<&str> {
        self.0.external_id.as_deref()
    }

    /// For outbound messages: sent, delivered, read or failed, when the channel reports it.
    async fn delivery_status(&self) -> Option<&str> {
        self.0.delivery_status.as_deref()
    }

    /// When it was said.
    async fn occurred_at(&self) -> DateTime<Utc> {
        self.0.occurred_at
    }

    /// When memodesk recorded it.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// What a message mentions.
#[derive(SimpleObject, Clone, Debug, Default)]
pub struct MessageEntities {
    /// Product categories (`flights`, `insurance`, …).
    pub products: Vec<String>,
    /// ISO 4217 currency codes.
    pub currencies: Vec<String>,
    /// Sums of money.
    pub amounts: Vec<Amount>,
    /// Dates and times.
    pub dates: Vec<DateMention>,
}

/// A sum of money.
#[derive(SimpleObject, Clone, Debug)]
pub struct Amount {
    /// The number.
    pub value: f64,
    /// ISO 4217 code, when the message says.
    pub currency: Option<String>,
}

/// A date a message mentions.
#[derive(SimpleObject, Clone, Debug)]
pub struct DateMention {
    /// The words as written.
    pub text: String,
    /// The calendar date, when it could be worked out.
    pub date: Option<NaiveDate>,
}

/// Personal data of one kind replaced in a message.
#[derive(async_graphql::SimpleObject, Clone, Debug)]
pub struct Redaction {
    /// What was replaced.
    pub kind: super::enums::PiiKindGql,
    /// How many times.
    pub count: i32,
}
