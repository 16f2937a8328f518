//! History: every proposal for a profile field and what became of it.

use sea_orm::entity::prelude::*;

use crate::domain::profile::{Outcome, Source};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "profile_field_changes")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub lead_id: Uuid,
    pub field_key: String,
    pub item: Option<String>,
    pub old_value: Option<String>,
    pub new_value: Option<String>,
    pub source: Source,
    pub confidence: f64,
    pub outcome: Outcome,
    /// JSON array of message ids.
    #[sea_orm(column_type = "JsonBinary")]
    pub evidence: Json,
    pub actor: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
