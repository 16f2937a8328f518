use async_graphql::{Context, ID, InputObject, Object, Result};

use crate::graphql::context::{ContextExt, parse_id, to_id};
use crate::graphql::types::note::Note;
use crate::graphql::types::text::{BODY, Text};
use crate::services;
use crate::services::notes::NewNote;

#[derive(Default)]
pub struct NoteMutation;

/// A new note about a lead.
#[derive(InputObject, Clone, Debug)]
pub struct AddNoteInput {
    /// The lead it is about.
    pub lead_id: ID,
    /// The conversation it is about, if any (must be the lead's).
    pub session_id: Option<ID>,
    /// The text, 1 to 10000 characters.
    pub body: Text<BODY>,
    /// Pinned notes are always part of the memory context.
    #[graphql(default = false)]
    pub pinned: bool,
}

#[Object]
impl NoteMutation {
    /// Adds a note to a lead.
    async fn add_note(&self, ctx: &Context<'_>, input: AddNoteInput) -> Result<Note> {
        let note = NewNote {
            lead_id: parse_id(&input.lead_id, "input.leadId")?,
            session_id: input
                .session_id
                .map(|id| parse_id(&id, "input.sessionId"))
                .transpose()?,
            body: input.body.into_string(),
            pinned: input.pinned,
        };
        Ok(Note(
            services::notes::add(ctx.state()?, ctx.actor()?, note).await?,
        ))
    }

    /// Changes a note's text.
    async fn update_note(
        &self,
        ctx: &Context<'_>,
        id: ID,
        #[graphql(desc = "The new text, 1 to 10000 characters.")] body: Text<BODY>,
    ) -> Result<Note> {
        let id = parse_id(&id, "id")?;
        Ok(Note(
            services::notes::update(
                ctx.state()?,
                ctx.actor()?,
                id,
                Some(body.into_string()),
                None,
            )
            .await?,
        ))
    }

    /// Pins (or unpins) a note.
    async fn pin_note(
        &self,
        ctx: &Context<'_>,
        id: ID,
        #[graphql(default = true)] pinned: bool,
    ) -> Result<Note> {
        let id = parse_id(&id, "id")?;
        Ok(Note(
            services::notes::update(ctx.state()?, ctx.actor()?, id, None, Some(pinned)).await?,
        ))
    }

    /// Deletes a note; returns its id.
    async fn delete_note(&self, ctx: &Context<'_>, id: ID) -> Result<ID> {
        let id = parse_id(&id, "id")?;
        Ok(to_id(
            services::notes::delete(ctx.state()?, ctx.actor()?, id).await?,
        ))
    }
}
