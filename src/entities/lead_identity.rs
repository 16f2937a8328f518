//! How a channel (or a contact detail) knows a lead; unique per (tenant, kind, value).

use sea_orm::entity::prelude::*;

use crate::domain::{Channel, IdentityKind};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "lead_identities")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub lead_id: Uuid,
    pub kind: IdentityKind,
    pub value: String,
    /// The channel this identity was first seen on.
    pub channel: Channel,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
