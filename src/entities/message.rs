//! One utterance in a session.

use sea_orm::entity::prelude::*;

use crate::domain::{Channel, MessageRole, classify::Intent};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "messages")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub session_id: Uuid,
    pub lead_id: Uuid,
    pub channel: Channel,
    pub role: MessageRole,
    pub content: String,
    pub intent: Option<Intent>,
    pub intent_confidence: Option<f64>,
    /// Entities, language and channel-specific raw parts.
    #[sea_orm(column_type = "JsonBinary")]
    pub metadata: Json,
    /// The provider's message id: unique per (tenant, channel), makes ingest idempotent.
    pub external_id: Option<String>,
    pub delivery_status: Option<String>,
    pub occurred_at: DateTimeUtc,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
