//! A staff note, call summary or system note about a lead.

use sea_orm::entity::prelude::*;

use crate::domain::NoteKind;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "notes")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub lead_id: Uuid,
    pub session_id: Option<Uuid>,
    pub kind: NoteKind,
    pub body: String,
    pub author_id: Option<Uuid>,
    /// Who wrote it, as shown ("Dana (staff)", "memodesk").
    pub author_label: String,
    pub pinned: bool,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
