//! When a credential stops being what it was: an API key revoked, a staff user deactivated or
//! given another role. The change is written to the tenant's outbox in the same transaction, so
//! every replica's live streams of that credential end at once (see `services::live`); requests
//! check the credential's row each time (see `services::auth`).

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::auth::{Actor, Principal};
use crate::db::executor::Executor;
use crate::domain::EventType;
use crate::error::{AppError, AppResult};
use crate::events::{NewEvent, outbox};
use crate::repo;
use crate::state::AppState;

/// What happened to a credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    ApiKeyRevoked(Uuid),
    UserDeactivated(Uuid),
    UserRoleChanged(Uuid),
}

impl Change {
    fn parts(self) -> (&'static str, Uuid, &'static str) {
        match self {
            Change::ApiKeyRevoked(id) => ("api_key", id, "revoked"),
            Change::UserDeactivated(id) => ("user", id, "deactivated"),
            Change::UserRoleChanged(id) => ("user", id, "role_changed"),
        }
    }

    /// The event's payload: ids and the kind of change, nothing else.
    fn payload(self) -> Value {
        let (principal, id, change) = self.parts();
        json!({ "principal": principal, "id": id, "change": change })
    }

    /// Reads a `credential.changed` event's payload back.
    pub fn from_payload(payload: &Value) -> Option<Self> {
        let id = payload.get("id")?.as_str()?.parse().ok()?;
        match (
            payload.get("principal")?.as_str()?,
            payload.get("change")?.as_str()?,
        ) {
            ("api_key", "revoked") => Some(Change::ApiKeyRevoked(id)),
            ("user", "deactivated") => Some(Change::UserDeactivated(id)),
            ("user", "role_changed") => Some(Change::UserRoleChanged(id)),
            _ => None,
        }
    }

    /// Whether the change is about the credential `principal` holds.
    pub fn concerns(self, principal: &Principal) -> bool {
        match (self, principal) {
            (Change::ApiKeyRevoked(id), Principal::ApiKey { id: key }) => id == *key,
            (
                Change::UserDeactivated(id) | Change::UserRoleChanged(id),
                Principal::User { id: user },
            ) => id == *user,
            _ => false,
        }
    }

    /// What the holder of the credential is told.
    pub fn why(self) -> String {
        match self {
            Change::ApiKeyRevoked(_) => "the API key was revoked".into(),
            Change::UserDeactivated(_) => "this account was deactivated".into(),
            Change::UserRoleChanged(_) => {
                "your role changed; subscribe again to continue with it".into()
            }
        }
    }
}

/// Writes the change to `tenant_id`'s outbox in the caller's transaction; the caller tells the
/// hub after committing (`state.events.notify_committed`).
pub async fn announce<C: Executor>(
    txn: &C,
    tenant_id: Uuid,
    change: Change,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let event = NewEvent::new(EventType::CredentialChanged, None, None, change.payload());
    outbox::append(txn, tenant_id, vec![event], now).await?;
    Ok(())
}

/// Checks `actor`'s credential against the database as it is now: the API key is not revoked,
/// the staff user still exists, is active and has the role the actor carries.
pub async fn still_valid(state: &AppState, actor: &Actor) -> AppResult<()> {
    match actor.principal {
        Principal::ApiKey { id } => {
            let key = repo::api_keys::find(state.db.reader(), actor.tenant_id, id).await?;
            if key.is_none_or(|k| k.revoked_at.is_some()) {
                return Err(AppError::Unauthenticated(Change::ApiKeyRevoked(id).why()));
            }
        }
        Principal::User { id } => {
            let user = repo::users::find(state.db.reader(), actor.tenant_id, id).await?;
            match user {
                None => {
                    return Err(AppError::Unauthenticated(
                        "this account no longer exists".into(),
                    ));
                }
                Some(user) if user.deactivated_at.is_some() => {
                    return Err(AppError::Unauthenticated(Change::UserDeactivated(id).why()));
                }
                Some(user) if Some(user.role) != actor.role => {
                    return Err(AppError::Unauthenticated(Change::UserRoleChanged(id).why()));
                }
                Some(_) => {}
            }
        }
        Principal::Service { .. } | Principal::System => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_reads_back_from_its_payload_and_concerns_only_its_credential() {
        let (key, user) = (Uuid::now_v7(), Uuid::now_v7());
        for change in [
            Change::ApiKeyRevoked(key),
            Change::UserDeactivated(user),
            Change::UserRoleChanged(user),
        ] {
            assert_eq!(Change::from_payload(&change.payload()), Some(change));
        }
        let revoked = Change::ApiKeyRevoked(key);
        assert!(revoked.concerns(&Principal::ApiKey { id: key }));
        assert!(!revoked.concerns(&Principal::ApiKey { id: user }));
        assert!(!revoked.concerns(&Principal::User { id: key }));
        assert!(Change::UserDeactivated(user).concerns(&Principal::User { id: user }));
        assert_eq!(Change::from_payload(&json!({ "id": "x" })), None);
    }
}
