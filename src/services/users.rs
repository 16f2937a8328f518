//! Staff users: creation (CLI and admins), listing, roles, deactivation and password resets.

use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, IntoActiveModel};
use uuid::Uuid;

use crate::auth::{Actor, Permission, password};
use crate::db::Db;
use crate::domain::{InvalidInput, StaffRole, email::EmailAddress};
use crate::entities::staff_user;
use crate::error::{AppError, AppResult};
use crate::repo;
use crate::services::{audit, credentials};
use crate::state::AppState;

/// A staff user to create.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub email: String,
    pub password: String,
    pub role: StaffRole,
    pub display_name: Option<String>,
}

/// Creates a user in `tenant_id` (no permission check: the CLI and `create_as_admin` call it).
pub async fn create(
    db: &Db,
    tenant_id: Uuid,
    input: NewUser,
    now: DateTime<Utc>,
) -> AppResult<staff_user::Model> {
    let email = EmailAddress::parse(&input.email, "email")?;
    password::validate(&input.password, "password")?;
    let display_name = display_name(input.display_name.as_deref())?;
    let hash = password::hash(input.password).await?;
    let model = staff_user::ActiveModel {
        tenant_id: Set(tenant_id),
        id: Set(Uuid::now_v7()),
        email: Set(email.into_string()),
        display_name: Set(display_name),
        password_hash: Set(hash),
        role: Set(input.role),
        last_login_at: Set(None),
        deactivated_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    };
    model.insert(db.writer()).await.map_err(|err| {
        let err = AppError::from(err);
        if err.is_conflict() {
            AppError::Conflict("a user with this email already exists in this workspace".into())
        } else {
            err
        }
    })
}

/// An admin creates a user in their own tenant.
pub async fn create_as_admin(
    state: &AppState,
    actor: &Actor,
    input: NewUser,
) -> AppResult<staff_user::Model> {
    actor.require(Permission::ManageUsers)?;
    let now = state.now();
    let user = create(&state.db, actor.tenant_id, input, now).await?;
    audit::record(
        state.db.writer(),
        actor,
        "staff_user.created",
        "staff_user",
        Some(user.id.to_string()),
        serde_json::json!({ "role": user.role.as_str() }),
        now,
    )
    .await?;
    Ok(user)
}

pub async fn list(state: &AppState, actor: &Actor) -> AppResult<Vec<staff_user::Model>> {
    actor.require(Permission::ManageUsers)?;
    Ok(repo::users::list(state.db.reader(), actor.tenant_id).await?)
}

/// The staff user with `email` in `tenant_id` (the CLI names users by email).
pub async fn find_by_email(db: &Db, tenant_id: Uuid, email: &str) -> AppResult<staff_user::Model> {
    let email = EmailAddress::parse(email, "email")?;
    repo::users::find_by_email(db.reader(), tenant_id, email.as_str())
        .await?
        .ok_or(AppError::not_found("user"))
}

pub async fn get(state: &AppState, actor: &Actor, id: Uuid) -> AppResult<staff_user::Model> {
    actor.require(Permission::Read)?;
    repo::users::find(state.db.reader(), actor.tenant_id, id)
        .await?
        .ok_or(AppError::not_found("user"))
}

/// A change an admin makes to a staff user.
#[derive(Debug, Clone, Default)]
pub struct UserUpdate {
    pub role: Option<StaffRole>,
    /// `Some("")` clears the name.
    pub display_name: Option<String>,
    /// `Some(false)` deactivates the user, `Some(true)` lets them in again.
    pub active: Option<bool>,
}

/// Changes a staff user's role, name or standing (admins only). A deactivated user's or a
/// changed role's live streams end at once, on every replica; their requests are refused (or
/// carry the new role) from the next one on. The workspace always keeps an active admin.
pub async fn update(
    state: &AppState,
    actor: &Actor,
    id: Uuid,
    update: UserUpdate,
) -> AppResult<staff_user::Model> {
    actor.require(Permission::ManageUsers)?;
    let now = state.now();
    let txn = state.db.begin_write().await?;
    let user = repo::users::find(&txn, actor.tenant_id, id)
        .await?
        .ok_or(AppError::not_found("user"))?;
    let mut active = user.clone().into_active_model();
    let mut changed: Vec<&str> = Vec::new();
    let mut changes = Vec::new();
    if let Some(role) = update.role.filter(|&r| r != user.role) {
        active.role = Set(role);
        changed.push("role");
        changes.push(credentials::Change::UserRoleChanged(id));
    }
    if let Some(name) = update.display_name {
        active.display_name = Set(display_name(Some(&name))?);
        changed.push("displayName");
    }
    match update.active {
        Some(false) if user.deactivated_at.is_none() => {
            active.deactivated_at = Set(Some(now));
            changed.push("deactivated");
            changes.push(credentials::Change::UserDeactivated(id));
        }
        Some(true) if user.deactivated_at.is_some() => {
            active.deactivated_at = Set(None);
            changed.push("reactivated");
        }
        _ => {}
    }
    if changed.is_empty() {
        return Ok(user);
    }
    active.updated_at = Set(now);
    let saved = active.update(&txn).await?;
    if user.role == StaffRole::Admin
        && user.deactivated_at.is_none()
        && (saved.role != StaffRole::Admin || saved.deactivated_at.is_some())
        && repo::users::active_admins(&txn, actor.tenant_id).await? == 0
    {
        return Err(AppError::Conflict(
            "this is the workspace's last active admin: make someone else an admin first".into(),
        ));
    }
    audit::record(
        &txn,
        actor,
        "staff_user.updated",
        "staff_user",
        Some(id.to_string()),
        serde_json::json!({ "changed": changed, "role": saved.role.as_str() }),
        now,
    )
    .await?;
    for change in &changes {
        credentials::announce(&txn, actor.tenant_id, *change, now).await?;
    }
    txn.commit().await?;
    if !changes.is_empty() {
        state.events.notify_committed(actor.tenant_id);
    }
    Ok(saved)
}

/// Sets a staff user's password (the CLI's reset for a locked-out admin).
pub async fn set_password(
    db: &Db,
    tenant_id: Uuid,
    email: &str,
    password_text: String,
    now: DateTime<Utc>,
) -> AppResult<staff_user::Model> {
    let email = EmailAddress::parse(email, "email")?;
    password::validate(&password_text, "password")?;
    let user = repo::users::find_by_email(db.writer(), tenant_id, email.as_str())
        .await?
        .ok_or(AppError::not_found("user"))?;
    let hash = password::hash(password_text).await?;
    let mut active = user.into_active_model();
    active.password_hash = Set(hash);
    active.updated_at = Set(now);
    let user = active.update(db.writer()).await?;
    audit::record(
        db.writer(),
        &Actor::system(tenant_id),
        "staff_user.password_reset",
        "staff_user",
        Some(user.id.to_string()),
        serde_json::json!({}),
        now,
    )
    .await?;
    Ok(user)
}

/// A display name as given: trimmed, empty for none, at most 200 characters.
fn display_name(name: Option<&str>) -> Result<Option<String>, InvalidInput> {
    match name.map(str::trim) {
        Some("") | None => Ok(None),
        Some(name) if name.chars().count() > 200 => {
            Err(InvalidInput::new("displayName", "at most 200 characters"))
        }
        Some(name) => Ok(Some(name.to_owned())),
    }
}
