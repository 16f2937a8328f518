//! The authenticated caller and what it may do.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::domain::{ApiScope, StaffRole};
use crate::error::{AppError, AppResult};

/// What authenticated the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// A staff user (JWT from `login`).
    User { id: Uuid },
    /// A machine client.
    ApiKey { id: Uuid },
    /// A token minted by `memodesk token` for an integration or an operator.
    Service { subject: String },
    /// memodesk itself (workers, webhooks, demo data).
    System,
}

/// Things a caller may be allowed to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// Read leads, sessions, notes, memory contexts; subscribe.
    Read,
    /// Record messages, close sessions.
    WriteMessages,
    /// Add, edit, pin and delete notes.
    WriteNotes,
    /// Edit leads and their profile fields.
    WriteProfile,
    /// Tenant settings and channel secrets.
    ManageTenant,
    /// Staff users and API keys.
    ManageUsers,
    /// Inspect and retry background jobs.
    ManageJobs,
    /// Bulk export.
    Export,
    /// Erase a lead, read the audit log (admins only: no API key scope grants it).
    Erase,
}

/// The caller of one request: tenant, identity and grants.
#[derive(Debug, Clone, PartialEq)]
pub struct Actor {
    pub tenant_id: Uuid,
    pub principal: Principal,
    /// Staff role (users and service tokens); `None` for API keys.
    pub role: Option<StaffRole>,
    /// API key scopes; empty for people.
    pub scopes: Vec<ApiScope>,
    /// When the credential stops being valid (JWT `exp`).
    pub expires_at: Option<DateTime<Utc>>,
}

impl Actor {
    /// memodesk acting for a tenant (workers, signed webhooks): may do anything in it.
    pub fn system(tenant_id: Uuid) -> Self {
        Self {
            tenant_id,
            principal: Principal::System,
            role: Some(StaffRole::Admin),
            scopes: Vec::new(),
            expires_at: None,
        }
    }

    pub fn can(&self, permission: Permission) -> bool {
        use Permission::*;
        if let Some(role) = self.role {
            return match role {
                StaffRole::Admin => true,
                StaffRole::Agent => {
                    matches!(permission, Read | WriteMessages | WriteNotes | WriteProfile)
                }
                StaffRole::Viewer => permission == Read,
            };
        }
        self.scopes.iter().any(|scope| match scope {
            ApiScope::Read => permission == Read,
            ApiScope::Ingest => permission == WriteMessages,
            ApiScope::Export => matches!(permission, Export | Read),
        })
    }

    /// `FORBIDDEN` unless the caller may do `permission`.
    pub fn require(&self, permission: Permission) -> AppResult<()> {
        if self.can(permission) {
            return Ok(());
        }
        let needed = match permission {
            Permission::Read => "read access",
            Permission::WriteMessages => "the agent role or the ingest scope",
            Permission::WriteNotes | Permission::WriteProfile => "the agent role",
            Permission::ManageTenant
            | Permission::ManageUsers
            | Permission::ManageJobs
            | Permission::Erase => "the admin role",
            Permission::Export => "the export scope or the admin role",
        };
        Err(AppError::Forbidden(format!("this needs {needed}")))
    }

    /// Whether the credential has expired at `now`.
    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        self.expires_at.is_some_and(|exp| exp <= now)
    }

    /// Stable label for history and notes: `staff:<id>`, `api_key:<id>`, `service:<sub>`, `system`.
    pub fn label(&self) -> String {
        match &self.principal {
            Principal::User { id } => format!("staff:{id}"),
            Principal::ApiKey { id } => format!("api_key:{id}"),
            Principal::Service { subject } => format!("service:{subject}"),
            Principal::System => "system".into(),
        }
    }

    /// For the audit log: (actor kind, actor id).
    pub fn audit_identity(&self) -> (&'static str, Option<Uuid>) {
        match &self.principal {
            Principal::User { id } => ("staff", Some(*id)),
            Principal::ApiKey { id } => ("api_key", Some(*id)),
            Principal::Service { .. } => ("service", None),
            Principal::System => ("system", None),
        }
    }

    pub fn user_id(&self) -> Option<Uuid> {
        match self.principal {
            Principal::User { id } => Some(id),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_role(role: StaffRole) -> Actor {
        Actor {
            tenant_id: Uuid::nil(),
            principal: Principal::User { id: Uuid::nil() },
            role: Some(role),
            scopes: vec![],
            expires_at: None,
        }
    }

    #[test]
    fn roles() {
        assert!(with_role(StaffRole::Viewer).can(Permission::Read));
        assert!(!with_role(StaffRole::Viewer).can(Permission::WriteNotes));
        assert!(with_role(StaffRole::Agent).can(Permission::WriteProfile));
        assert!(!with_role(StaffRole::Agent).can(Permission::ManageTenant));
        assert!(with_role(StaffRole::Admin).can(Permission::ManageUsers));
    }

    #[test]
    fn scopes() {
        let key = Actor {
            tenant_id: Uuid::nil(),
            principal: Principal::ApiKey { id: Uuid::nil() },
            role: None,
            scopes: vec![ApiScope::Ingest],
            expires_at: None,
        };
        assert!(key.can(Permission::WriteMessages));
        assert!(!key.can(Permission::Read));
        assert!(!key.can(Permission::WriteNotes));
        let err = key.require(Permission::Read).unwrap_err();
        assert_eq!(err.code(), "FORBIDDEN");
    }
}
