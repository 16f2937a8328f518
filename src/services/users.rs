//! Staff users: creation (CLI and admins) and listing.

use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ActiveValue::Set};
use uuid::Uuid;

use crate::auth::{Actor, Permission, password};
use crate::db::Db;
use crate::domain::{InvalidInput, StaffRole, email::EmailAddress};
use crate::entities::staff_user;
use crate::error::{AppError, AppResult};
use crate::repo;
use crate::services::audit;
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
    let display_name = match input.display_name.as_deref().map(str::trim) {
        Some("") | None => None,
        Some(name) if name.chars().count() > 200 => {
            return Err(InvalidInput::new("displayName", "at most 200 characters").into());
        }
        Some(name) => Some(name.to_owned()),
    };
    let hash = password::hash(input.password).await?;
    let model = staff_user::ActiveModel {
        tenant_id: Set(tenant_id),
        id: Set(Uuid::now_v7()),
        email: Set(email.into_string()),
        display_name: Set(display_name),
        password_hash: Set(hash),
        role: Set(input.role),
        last_login_at: Set(None),
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

pub async fn get(state: &AppState, actor: &Actor, id: Uuid) -> AppResult<staff_user::Model> {
    actor.require(Permission::Read)?;
    repo::users::find(state.db.reader(), actor.tenant_id, id)
        .await?
        .ok_or(AppError::not_found("user"))
}
