//! Authentication: turning a presented credential into an [`Actor`], and password login.

use std::net::IpAddr;

use chrono::Utc;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, IntoActiveModel};
use uuid::Uuid;

use crate::auth::{Actor, Principal, api_key, password};
use crate::domain::email::EmailAddress;
use crate::entities::staff_user;
use crate::error::{AppError, AppResult};
use crate::repo;
use crate::services::audit;
use crate::state::AppState;

/// What the client presented.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credential<'a> {
    None,
    /// `Authorization: Bearer …`: a JWT or an API key.
    Bearer(&'a str),
    /// `X-Api-Key: …`.
    ApiKey(&'a str),
}

/// The caller behind a credential: `Ok(None)` when none was presented, `UNAUTHENTICATED` when
/// one was presented and fails any check.
pub async fn authenticate(
    state: &AppState,
    credential: Credential<'_>,
) -> AppResult<Option<Actor>> {
    match credential {
        Credential::None => Ok(None),
        Credential::Bearer(token) if api_key::looks_like_api_key(token) => {
            authenticate_api_key(state, token).await.map(Some)
        }
        Credential::Bearer(token) => {
            let actor = state.jwt.verify(token)?;
            current_user(state, actor).await.map(Some)
        }
        Credential::ApiKey(token) => authenticate_api_key(state, token).await.map(Some),
    }
}

/// A staff user's token as the user is now: refused once the account is deactivated or gone,
/// and with the role the user has now (a changed role applies at once, not when the token
/// expires).
async fn current_user(state: &AppState, mut actor: Actor) -> AppResult<Actor> {
    let Principal::User { id } = actor.principal else {
        return Ok(actor);
    };
    let user = repo::users::find(state.db.reader(), actor.tenant_id, id)
        .await?
        .ok_or_else(|| AppError::Unauthenticated("this account no longer exists".into()))?;
    if user.deactivated_at.is_some() {
        return Err(AppError::Unauthenticated(
            "this account was deactivated".into(),
        ));
    }
    actor.role = Some(user.role);
    Ok(actor)
}

async fn authenticate_api_key(state: &AppState, token: &str) -> AppResult<Actor> {
    let invalid = || AppError::Unauthenticated("API key is not valid".into());
    let presented = api_key::parse(token.trim()).ok_or_else(invalid)?;
    let key = repo::api_keys::find(state.db.reader(), presented.tenant_id, presented.key_id)
        .await?
        .ok_or_else(invalid)?;
    if !presented.matches(&key.secret_hash) {
        return Err(invalid());
    }
    if key.revoked_at.is_some() {
        return Err(AppError::Unauthenticated("API key has been revoked".into()));
    }
    let scopes = serde_json::from_value(key.scopes.clone()).unwrap_or_default();
    let now = state.now();
    // Remember use at most once a minute, off the request path.
    if key
        .last_used_at
        .is_none_or(|at| now - at > chrono::Duration::minutes(1))
    {
        let db = state.db.writer().clone();
        tokio::spawn(async move {
            let mut active = key.into_active_model();
            active.last_used_at = Set(Some(now));
            if let Err(err) = active.update(&db).await {
                tracing::warn!(error = %err, "could not record API key use");
            }
        });
    }
    Ok(Actor {
        tenant_id: presented.tenant_id,
        principal: Principal::ApiKey {
            id: presented.key_id,
        },
        role: None,
        scopes,
        expires_at: None,
    })
}

/// A successful login.
pub struct LoginResult {
    pub token: String,
    pub expires_at: chrono::DateTime<Utc>,
    pub user: staff_user::Model,
}

/// Checks an email and password. Unknown email and wrong password fail alike, in similar time.
pub async fn login(
    state: &AppState,
    email: &str,
    password_text: &str,
    tenant_id: Option<Uuid>,
    client: Option<IpAddr>,
) -> AppResult<LoginResult> {
    let email = EmailAddress::parse(email, "email")?;
    state.login_limiter.check(email.as_str(), client)?;
    let failed = || AppError::Unauthenticated("email or password is incorrect".into());
    let mut candidates =
        repo::users::find_by_email_any_tenant(state.db.reader(), email.as_str()).await?;
    if let Some(tenant_id) = tenant_id {
        candidates.retain(|u| u.tenant_id == tenant_id);
    }
    if candidates.is_empty() {
        password::verify(password_text.to_owned(), None).await;
        return Err(failed());
    }
    let mut matching = Vec::new();
    for user in candidates {
        if password::verify(password_text.to_owned(), Some(user.password_hash.clone())).await {
            matching.push(user);
        }
    }
    // A deactivated account's password says nothing: it cannot sign in either way.
    matching.retain(|user| user.deactivated_at.is_none());
    let user = match matching.len() {
        0 => return Err(failed()),
        1 => matching.remove(0),
        _ => {
            return Err(AppError::bad_input(
                "tenantId",
                "this email has accounts in several workspaces: pass tenantId",
            ));
        }
    };
    let now = state.now();
    let ttl = chrono::Duration::from_std(state.settings.login_token_ttl)
        .unwrap_or_else(|_| chrono::Duration::hours(12));
    let token = state
        .jwt
        .issue(&user.id.to_string(), user.tenant_id, user.role, now, ttl)?;
    let mut active = user.clone().into_active_model();
    active.last_login_at = Set(Some(now));
    let user = active.update(state.db.writer()).await?;
    let actor = Actor {
        tenant_id: user.tenant_id,
        principal: Principal::User { id: user.id },
        role: Some(user.role),
        scopes: Vec::new(),
        expires_at: None,
    };
    audit::record(
        state.db.writer(),
        &actor,
        "auth.login",
        "staff_user",
        Some(user.id.to_string()),
        serde_json::json!({}),
        now,
    )
    .await?;
    Ok(LoginResult {
        token,
        expires_at: now + ttl,
        user,
    })
}
