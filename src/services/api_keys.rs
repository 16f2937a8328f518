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
use crate::services::audit;
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

pub async fn revoke(state: &AppState, actor: &Actor, id: Uuid) -> AppResult<api_key_entity::Model> {
    actor.require(Permission::ManageUsers)?;
    let key = repo::api_keys::find(state.db.writer(), actor.tenant_id, id)
        .await?
        .ok_or(AppError::not_found("API key"))?;
    if key.revoked_at.is_some() {
        return Ok(key);
    }
    let now = state.now();
    let mut active = key.into_active_model();
    active.revoked_at = Set(Some(now));
    active.updated_at = Set(now);
    let key = active.update(state.db.writer()).await?;
    audit::record(
        state.db.writer(),
        actor,
        "api_key.revoked",
        "api_key",
        Some(id.to_string()),
        serde_json::json!({}),
        now,
    )
    .await?;
    Ok(key)
}
