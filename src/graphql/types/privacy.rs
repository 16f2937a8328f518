//! Privacy: erasure receipts and the audit log.

use crate::graphql::types::text::{SHORT, Text};
use async_graphql::{ID, InputObject, Json, Object, SimpleObject};
use chrono::{DateTime, Utc};

use super::connection::connection;
use crate::entities::audit_entry;
use crate::graphql::context::to_id;
use crate::services::privacy::erasure::ErasureReport;
use crate::services::privacy::subject_export::ExportLink;

/// What erasing a lead removed. The lead's data is gone; this receipt (and a tombstone with
/// the same ids, the reason and the counts) is what stays.
#[derive(SimpleObject, Clone, Debug)]
pub struct LeadErasure {
    /// The tombstone's id.
    pub id: ID,
    /// The erased lead's id (no longer found).
    pub lead_id: ID,
    /// When it was erased.
    pub erased_at: DateTime<Utc>,
    /// Rows removed (or, for the event log, emptied of content), by table.
    pub removed: Vec<ErasedRows>,
}

/// Rows an erasure removed from one table.
#[derive(SimpleObject, Clone, Debug)]
pub struct ErasedRows {
    /// The table (`messages`, `sessions`, …).
    pub table: String,
    /// How many rows.
    pub rows: i64,
}

impl From<ErasureReport> for LeadErasure {
    fn from(r: ErasureReport) -> Self {
        Self {
            id: to_id(r.erasure_id),
            lead_id: to_id(r.lead_id),
            erased_at: r.erased_at,
            removed: r
                .counts
                .into_iter()
                .map(|(table, rows)| ErasedRows {
                    table,
                    rows: i64::try_from(rows).unwrap_or(i64::MAX),
                })
                .collect(),
        }
    }
}

/// A short-lived link to download everything held about one customer (a ZIP: profile with
/// provenance, conversations, messages, summaries, notes, access log, README).
#[derive(SimpleObject, Clone, Debug)]
pub struct LeadDataExport {
    /// `GET` it without a bearer token: the path (or, when the server's `public_url` is set,
    /// the full URL) with a signed token bound to this tenant and lead.
    pub url: String,
    /// When the link stops working (about 15 minutes after it was made).
    pub expires_at: DateTime<Utc>,
}

impl From<ExportLink> for LeadDataExport {
    fn from(link: ExportLink) -> Self {
        Self {
            url: link.url,
            expires_at: link.expires_at,
        }
    }
}

/// Who did what, when: one entry of the audit log. Entries carry ids and field names, never
/// message content or personal data, and nothing changes or deletes them except the tenant's
/// audit retention.
#[derive(Clone)]
pub struct AuditEntry(pub audit_entry::Model);

connection!(
    AuditEntryConnection,
    AuditEntryEdge,
    AuditEntry,
    "A page of audit entries.",
    "An audit entry with its position in the log."
);

/// Who did what, when: one entry of the audit log.
#[Object]
impl AuditEntry {
    /// Opaque id.
    async fn id(&self) -> ID {
        to_id(self.0.id)
    }

    /// Who acted: `staff`, `api_key`, `service` (an operator's token) or `system`.
    async fn actor_kind(&self) -> &str {
        &self.0.actor_kind
    }

    /// The staff user or API key that acted.
    async fn actor_id(&self) -> Option<ID> {
        self.0.actor_id.map(to_id)
    }

    /// What was done: `lead.viewed`, `lead.erased`, `profile.field_set`, `auth.login`, …
    async fn action(&self) -> &str {
        &self.0.action
    }

    /// What it was done to: `lead`, `note`, `tenant`, `staff_user`, `api_key`, …
    async fn target_type(&self) -> &str {
        &self.0.target_type
    }

    /// The id of what it was done to.
    async fn target_id(&self) -> Option<&str> {
        self.0.target_id.as_deref()
    }

    /// Ids, counts and field names (never content).
    async fn details(&self) -> Json<serde_json::Value> {
        Json(self.0.details.clone())
    }

    /// When.
    async fn at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// Which audit entries to list; every field narrows the list.
#[derive(InputObject, Clone, Debug, Default)]
pub struct AuditLogFilter {
    /// The staff user or API key that acted.
    pub actor: Option<ID>,
    /// The action, e.g. `lead.viewed`; at most 200 characters.
    pub action: Option<Text<SHORT>>,
    /// Entries about this lead.
    pub lead_id: Option<ID>,
    /// At or after this time.
    pub from: Option<DateTime<Utc>>,
    /// Before this time.
    pub to: Option<DateTime<Utc>>,
}
