//! Staff notes on a lead: add, edit, pin, delete.

use uuid::Uuid;

use crate::auth::{Actor, Permission, Principal};
use crate::domain::{EventType, InvalidInput, NoteKind};
use crate::entities::note;
use crate::error::{AppError, AppResult};
use crate::events::{NewEvent, outbox};
use crate::repo;
use crate::repo::search::SearchDocument;
use crate::services::audit;
use crate::state::AppState;

pub const MAX_BODY_CHARS: usize = 10_000;

fn validate_body(body: &str, field: &str) -> Result<String, InvalidInput> {
    let body = body.trim();
    if body.is_empty() {
        return Err(InvalidInput::new(field, "note is empty"));
    }
    if body.chars().count() > MAX_BODY_CHARS {
        return Err(InvalidInput::new(
            field,
            format!("note is longer than {MAX_BODY_CHARS} characters"),
        ));
    }
    Ok(body.to_owned())
}

/// How a note's author is shown.
async fn author_label(state: &AppState, actor: &Actor) -> AppResult<String> {
    Ok(match &actor.principal {
        Principal::User { id } => repo::users::find(state.db.reader(), actor.tenant_id, *id)
            .await?
            .map(|u| u.display_name.unwrap_or(u.email))
            .unwrap_or_else(|| "staff".into()),
        Principal::ApiKey { id } => repo::api_keys::find(state.db.reader(), actor.tenant_id, *id)
            .await?
            .map(|k| k.name)
            .unwrap_or_else(|| "integration".into()),
        Principal::Service { subject } => subject.clone(),
        Principal::System => "memodesk".into(),
    })
}

/// A new note.
#[derive(Debug, Clone)]
pub struct NewNote {
    pub lead_id: Uuid,
    pub session_id: Option<Uuid>,
    pub body: String,
    pub pinned: bool,
}

pub async fn add(state: &AppState, actor: &Actor, input: NewNote) -> AppResult<note::Model> {
    actor.require(Permission::WriteNotes)?;
    let body = validate_body(&input.body, "input.body")?;
    let author = author_label(state, actor).await?;
    let now = state.now();
    let txn = state.db.begin_write().await?;
    repo::leads::find(&txn, actor.tenant_id, input.lead_id)
        .await?
        .ok_or(AppError::not_found("lead"))?;
    if let Some(session_id) = input.session_id {
        let session = repo::sessions::find(&txn, actor.tenant_id, session_id)
            .await?
            .ok_or(AppError::not_found("session"))?;
        if session.lead_id != input.lead_id {
            return Err(AppError::bad_input(
                "input.sessionId",
                "that session belongs to another lead",
            ));
        }
    }
    let note = note::Model {
        tenant_id: actor.tenant_id,
        id: Uuid::now_v7(),
        lead_id: input.lead_id,
        session_id: input.session_id,
        kind: NoteKind::Note,
        body,
        author_id: actor.user_id(),
        author_label: author,
        pinned: input.pinned,
        created_at: now,
        updated_at: now,
    };
    let saved = sea_orm::ActiveModelTrait::insert(note::ActiveModel::from(note), &txn).await?;
    repo::search::index_new(&txn, &[SearchDocument::of_note(&saved)]).await?;
    finish(
        state,
        actor,
        &txn,
        &saved,
        EventType::NoteCreated,
        "note.created",
    )
    .await?;
    txn.commit().await?;
    state.events.notify_committed(actor.tenant_id);
    Ok(saved)
}

/// Audit entry and event for a note change, in the caller's transaction.
async fn finish(
    state: &AppState,
    actor: &Actor,
    txn: &sea_orm::DatabaseTransaction,
    note: &note::Model,
    event: EventType,
    action: &str,
) -> AppResult<()> {
    let now = state.now();
    audit::record(
        txn,
        actor,
        action,
        "note",
        Some(note.id.to_string()),
        serde_json::json!({ "leadId": note.lead_id }),
        now,
    )
    .await?;
    outbox::append(
        txn,
        actor.tenant_id,
        vec![NewEvent::new(
            event,
            Some(note.lead_id),
            note.session_id,
            serde_json::json!({ "noteId": note.id, "leadId": note.lead_id, "pinned": note.pinned }),
        )],
        now,
    )
    .await?;
    Ok(())
}

/// Changes a note's body and/or pin.
pub async fn update(
    state: &AppState,
    actor: &Actor,
    id: Uuid,
    body: Option<String>,
    pinned: Option<bool>,
) -> AppResult<note::Model> {
    actor.require(Permission::WriteNotes)?;
    let body = body.map(|b| validate_body(&b, "body")).transpose()?;
    let txn = state.db.begin_write().await?;
    let current = repo::notes::find(&txn, actor.tenant_id, id)
        .await?
        .ok_or(AppError::not_found("note"))?;
    let body_changed = body.as_ref().is_some_and(|b| *b != current.body);
    let mut active: note::ActiveModel = current.into();
    if let Some(body) = body {
        active.body = sea_orm::ActiveValue::Set(body);
    }
    if let Some(pinned) = pinned {
        active.pinned = sea_orm::ActiveValue::Set(pinned);
    }
    active.updated_at = sea_orm::ActiveValue::Set(state.now());
    let saved = sea_orm::ActiveModelTrait::update(active, &txn).await?;
    if body_changed {
        repo::search::reindex(&txn, &SearchDocument::of_note(&saved)).await?;
    }
    finish(
        state,
        actor,
        &txn,
        &saved,
        EventType::NoteUpdated,
        "note.updated",
    )
    .await?;
    txn.commit().await?;
    state.events.notify_committed(actor.tenant_id);
    Ok(saved)
}

/// Deletes a note; returns its id.
pub async fn delete(state: &AppState, actor: &Actor, id: Uuid) -> AppResult<Uuid> {
    actor.require(Permission::WriteNotes)?;
    let txn = state.db.begin_write().await?;
    let current = repo::notes::find(&txn, actor.tenant_id, id)
        .await?
        .ok_or(AppError::not_found("note"))?;
    <note::Entity as sea_orm::EntityTrait>::delete_by_id((actor.tenant_id, id))
        .exec(&txn)
        .await?;
    finish(
        state,
        actor,
        &txn,
        &current,
        EventType::NoteDeleted,
        "note.deleted",
    )
    .await?;
    txn.commit().await?;
    state.events.notify_committed(actor.tenant_id);
    Ok(id)
}

pub async fn get(state: &AppState, actor: &Actor, id: Uuid) -> AppResult<note::Model> {
    actor.require(Permission::Read)?;
    repo::notes::find(state.db.reader(), actor.tenant_id, id)
        .await?
        .ok_or(AppError::not_found("note"))
}

pub async fn for_lead(
    state: &AppState,
    actor: &Actor,
    lead_id: Uuid,
    limit: u64,
) -> AppResult<Vec<note::Model>> {
    actor.require(Permission::Read)?;
    Ok(repo::notes::for_lead(state.db.reader(), actor.tenant_id, lead_id, Some(limit)).await?)
}
