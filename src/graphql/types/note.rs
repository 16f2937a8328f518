//! Notes: what staff (or memodesk) wrote about a lead.

use async_graphql::{ID, Object};
use chrono::{DateTime, Utc};

use super::enums::NoteKindGql;
use crate::entities::note;
use crate::graphql::context::to_id;

/// A staff note, call summary or system note about a lead.
pub struct Note(pub note::Model);

/// A staff note, call summary or system note about a lead.
#[Object]
impl Note {
    /// Opaque id.
    async fn id(&self) -> ID {
        to_id(self.0.id)
    }

    /// The lead it is about.
    async fn lead_id(&self) -> ID {
        to_id(self.0.lead_id)
    }

    /// The conversation it is about, if any.
    async fn session_id(&self) -> Option<ID> {
        self.0.session_id.map(to_id)
    }

    /// Note, call summary or system note.
    async fn kind(&self) -> NoteKindGql {
        self.0.kind.into()
    }

    /// The text.
    async fn body(&self) -> &str {
        &self.0.body
    }

    /// Who wrote it, as shown.
    async fn author(&self) -> &str {
        &self.0.author_label
    }

    /// The staff user who wrote it, if a person did.
    async fn author_id(&self) -> Option<ID> {
        self.0.author_id.map(to_id)
    }

    /// Pinned notes are always part of the memory context.
    async fn pinned(&self) -> bool {
        self.0.pinned
    }

    /// When it was written.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// When it was last edited.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}
