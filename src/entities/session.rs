//! One conversation on one channel.

use sea_orm::entity::prelude::*;

use crate::domain::{Channel, CloseReason, SessionStatus};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "sessions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub lead_id: Uuid,
    pub channel: Channel,
    pub status: SessionStatus,
    /// A call id or similar: all messages with the same ref form this session.
    pub session_ref: Option<String>,
    pub started_at: DateTimeUtc,
    pub last_message_at: DateTimeUtc,
    pub closed_at: Option<DateTimeUtc>,
    pub close_reason: Option<CloseReason>,
    pub language: Option<String>,
    /// JSON array of intent names seen in customer messages.
    #[sea_orm(column_type = "JsonBinary")]
    pub intents: Json,
    pub message_count: i64,
    /// What the agent's last message asked the customer (`dialogue::Asked`, stored as
    /// question names separated by spaces): the customer's next messages are read as answers.
    pub awaiting: Option<String>,
    /// When the lead last spoke before this session started (for "returning customer").
    pub previous_interaction_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
