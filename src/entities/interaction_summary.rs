//! The AI summary of one closed session (one per session).

use sea_orm::entity::prelude::*;

use crate::domain::Channel;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "interaction_summaries")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub session_id: Uuid,
    pub lead_id: Uuid,
    pub channel: Channel,
    pub summary: String,
    #[sea_orm(column_type = "JsonBinary")]
    pub key_points: Json,
    #[sea_orm(column_type = "JsonBinary")]
    pub facts: Json,
    #[sea_orm(column_type = "JsonBinary")]
    pub intents: Json,
    pub sentiment: Option<String>,
    pub language: Option<String>,
    pub next_step: Option<String>,
    pub provider: String,
    pub model: String,
    pub prompt_version: String,
    pub fallback_reason: Option<String>,
    pub prompt_tokens: i32,
    pub completion_tokens: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
