//! Staff users and API keys, as admins see them.

use async_graphql::{ID, Object, SimpleObject};
use chrono::{DateTime, Utc};

use super::enums::{ApiScopeGql, RoleGql};
use crate::domain::ApiScope;
use crate::entities::{api_key, staff_user};
use crate::graphql::context::to_id;

/// A person who uses the dashboard.
pub struct StaffUser(pub staff_user::Model);

/// A person who uses the dashboard.
#[Object]
impl StaffUser {
    /// Opaque id.
    async fn id(&self) -> ID {
        to_id(self.0.id)
    }

    /// Login email.
    async fn email(&self) -> &str {
        &self.0.email
    }

    /// Name shown on notes.
    async fn display_name(&self) -> Option<&str> {
        self.0.display_name.as_deref()
    }

    /// What the user may do.
    async fn role(&self) -> RoleGql {
        self.0.role.into()
    }

    /// Last successful login.
    async fn last_login_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_login_at
    }

    /// Whether the user may sign in (false once an admin deactivated them).
    async fn active(&self) -> bool {
        self.0.deactivated_at.is_none()
    }

    /// When an admin deactivated the user.
    async fn deactivated_at(&self) -> Option<DateTime<Utc>> {
        self.0.deactivated_at
    }

    /// When the user was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// A machine client's credential (the secret is shown only when created).
pub struct ApiKey(pub api_key::Model);

/// A machine client's credential (the secret is shown only when created).
#[Object]
impl ApiKey {
    /// Opaque id.
    async fn id(&self) -> ID {
        to_id(self.0.id)
    }

    /// What the key is for.
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// What the key may do.
    async fn scopes(&self) -> Vec<ApiScopeGql> {
        serde_json::from_value::<Vec<ApiScope>>(self.0.scopes.clone())
            .unwrap_or_default()
            .into_iter()
            .map(Into::into)
            .collect()
    }

    /// Last use (updated at most once a minute).
    async fn last_used_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_used_at
    }

    /// When the key was revoked; revoked keys are refused.
    async fn revoked_at(&self) -> Option<DateTime<Utc>> {
        self.0.revoked_at
    }

    /// When the key was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// A new API key and its secret, shown this once.
#[derive(SimpleObject)]
pub struct CreatedApiKey {
    /// The key's record.
    pub api_key: ApiKey,
    /// The secret: send it as `Authorization: Bearer <token>` or `X-Api-Key`. Store it now;
    /// it cannot be shown again.
    pub token: String,
}
