//! Staff notes and call summaries, one at a time (a lead's notes are on `Lead.notes`).

use async_graphql::{Context, ID, Object, Result};

use crate::graphql::context::{ContextExt, parse_id};
use crate::graphql::types::note::Note;
use crate::services;

#[derive(Default)]
pub struct NoteQuery;

#[Object]
impl NoteQuery {
    /// One note.
    async fn note(&self, ctx: &Context<'_>, id: ID) -> Result<Note> {
        let id = parse_id(&id, "id")?;
        Ok(Note(
            services::notes::get(ctx.state()?, ctx.actor()?, id).await?,
        ))
    }
}
