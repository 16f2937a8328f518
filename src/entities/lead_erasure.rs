//! The tombstone of an erased lead: who, when, why and how much, with no personal data.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "lead_erasures")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The erased lead's id (the row itself is gone).
    pub lead_id: Uuid,
    pub erased_at: DateTimeUtc,
    pub actor_kind: String,
    pub actor_id: Option<Uuid>,
    pub reason: String,
    /// Rows removed, by table: `{"messages": 12, …}`.
    #[sea_orm(column_type = "JsonBinary")]
    pub counts: Json,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
