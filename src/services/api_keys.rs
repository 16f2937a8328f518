//! API keys: creation (the secret is shown once), listing, revocation.

use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, IntoActiveModel};
use uuid::Uuid;

use crate::auth::{Actor, Permission, api_key};
use crate::db::Db;
use crate::domain::{ApiScope, InvalidInput};
use crate::entities::api_key as api_key_entity;
use crate::error::{AppError, AppResult};
use crate::repo;
use crate::services::{audit, credentials};
use crate::state::AppState;

/// Checks a key's name and scopes.
fn validate(name: &str, scopes: &[ApiScope]) -> Result<String, InvalidInput> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(InvalidInput::new("name", "name is 1 to 100 characters"));
    }
    if scopes.is_empty() {
        return Err(InvalidInput::new(
            "scopes",
            "give at least one scope: ingest, read or export",
        ));
    }
    Ok(name.to_owned())
}

/// Creates a key in `tenant_id`; returns the row and the token to show once.
pub async fn create(
    db: &Db,
    tenant_id: Uuid,
    name: &str,
    scopes: &[ApiScope],
    created_by: Option<Uuid>,
    now: DateTime<Utc>,
) -> AppResult<(api_key_entity::Model, String)> {
    let name = validate(name, scopes)?;
    let mut scopes = scopes.to_vec();
    scopes.sort();
    scopes.dedup();
    let key = api_key::generate(tenant_id);
    let model = api_key_entity::ActiveModel {
        tenant_id: Set(tenant_id),
        id: Set(key.id),
        name: Set(name),
        secret_hash: Set(key.secret_hash),
        scopes: Set(serde_json::json!(scopes)),
        created_by: Set(created_by),
        last_used_at: Set(None),
        revoked_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db.writer())
    .await?;
    Ok((model, key.token))
}

pub async fn create_as_admin(
    state: &AppState,
    actor: &Actor,
    name: &str,
    scopes: &[ApiScope],
) -> AppResult<(api_key_entity::Model, String)> {
    actor.require(Permission::ManageUsers)?;
    let now = state.now();
    let (model, token) = create(
        &state.db,
        actor.tenant_id,
        name,
        scopes,
        actor.user_id(),
        now,
    )
    .await?;
    audit::record(
        state.db.writer(),
        actor,
        "api_key.created",
        "api_key",
        Some(model.id.to_string()),
        serde_json::json!({ "scopes": model.scopes }),
        now,
    )
    .await?;
    Ok((model, token))
}

pub async fn list(state: &AppState, actor: &Actor) -> AppResult<Vec<api_key_entity::Model>> {
    actor.require(Permission::ManageUsers)?;
    Ok(repo::api_keys::list(state.db.reader(), actor.tenant_id).await?)
}

/// Revokes a key (admins only): its requests are refused from now on, and its live streams
/// end at once, on every replica.
pub async fn revoke(state: &AppState, actor: &Actor, id: Uuid) -> AppResult<api_key_entity::Model> {
    actor.require(Permission::ManageUsers)?;
    let (key, revoked) = revoke_in(&state.db, actor, id, state.now()).await?;
    if revoked {
        state.events.notify_committed(actor.tenant_id);
    }
    Ok(key)
}

/// Revokes a key in one transaction with its audit entry and credential event; says whether
/// it was revoked now (`false`: it already was). The CLI calls it directly.
pub async fn revoke_in(
    db: &Db,
    actor: &Actor,
    id: Uuid,
    now: DateTime<Utc>,
) -> AppResult<(api_key_entity::Model, bool)> {
    let txn = db.begin_write().await?;
    let key = repo::api_keys::find(&txn, actor.tenant_id, id)
        .await?
        .ok_or(AppError::not_found("API key"))?;
    if key.revoked_at.is_some() {
        return Ok((key, false));
    }
    let mut active = key.into_active_model();
    active.revoked_at = Set(Some(now));
    active.updated_at = Set(now);
    let key = active.update(&txn).await?;
    audit::record(
        &txn,
        actor,
        "api_key.revoked",
        "api_key",
        Some(id.to_string()),
        serde_json::json!({}),
        now,
    )
    .await?;
    credentials::announce(
        &txn,
        actor.tenant_id,
        credentials::Change::ApiKeyRevoked(id),
        now,
    )
    .await?;
    txn.commit().await?;
    Ok((key, true))
}
