//! A keyed hash (HMAC-SHA256 with the tenant's privacy key) of an erased lead's identity, so a
//! later contact from it can be flagged without the identity being stored.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "erased_identities")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub erasure_id: Uuid,
    /// Hex HMAC-SHA256 of `kind:value`.
    pub identity_hash: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
