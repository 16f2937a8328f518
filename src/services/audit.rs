//! The audit log: who did what to which record, with details that carry no personal data.

use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ConnectionTrait, DbErr};
use serde_json::Value;
use uuid::Uuid;

use crate::auth::{Actor, Permission, Principal};
use crate::entities::audit_entry;
use crate::error::AppResult;
use crate::repo;
use crate::repo::audit::AuditFilter;
use crate::repo::pagination::{Page, PageRequest};
use crate::state::AppState;

/// Writes one audit entry in the caller's transaction.
pub async fn record<C: ConnectionTrait>(
    conn: &C,
    actor: &Actor,
    action: &str,
    target_type: &str,
    target_id: Option<String>,
    details: Value,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let (actor_kind, actor_id) = actor.audit_identity();
    audit_entry::ActiveModel {
        tenant_id: Set(actor.tenant_id),
        id: Set(Uuid::now_v7()),
        actor_kind: Set(actor_kind.to_owned()),
        actor_id: Set(actor_id),
        action: Set(action.to_owned()),
        target_type: Set(target_type.to_owned()),
        target_id: Set(target_id),
        details: Set(details),
        created_at: Set(now),
    }
    .insert(conn)
    .await?;
    Ok(())
}

/// What of a lead's data a caller opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeadView {
    Lead,
    MemoryContext,
    History,
    Export,
}

impl LeadView {
    fn as_str(self) -> &'static str {
        match self {
            LeadView::Lead => "lead",
            LeadView::MemoryContext => "memory_context",
            LeadView::History => "history",
            LeadView::Export => "export",
        }
    }
}

/// Records that a person (a staff user or an operator's token) opened a lead's data, as a
/// `lead.viewed` entry. Machines are counted, not logged: an agent's API key reads the memory
/// context before every reply (`memodesk_lead_reads_total{view, actor}`). A failure to write
/// the entry is logged and does not fail the read.
pub async fn lead_viewed(state: &AppState, actor: &Actor, lead_id: uuid::Uuid, view: LeadView) {
    let person = matches!(
        actor.principal,
        Principal::User { .. } | Principal::Service { .. }
    );
    let kind = if person { "staff" } else { "machine" };
    metrics::counter!("memodesk_lead_reads_total", "view" => view.as_str(), "actor" => kind)
        .increment(1);
    if !person {
        return;
    }
    if let Err(err) = record(
        state.db.writer(),
        actor,
        "lead.viewed",
        "lead",
        Some(lead_id.to_string()),
        serde_json::json!({ "view": view.as_str() }),
        state.now(),
    )
    .await
    {
        tracing::warn!(error = %err, %lead_id, "could not record a lead view in the audit log");
    }
}

/// A page of the tenant's audit log, newest first (admins only).
pub async fn list(
    state: &AppState,
    actor: &Actor,
    filter: &AuditFilter,
    request: &PageRequest,
) -> AppResult<Page<audit_entry::Model>> {
    actor.require(Permission::Erase)?;
    let rows = repo::audit::page(state.db.reader(), actor.tenant_id, filter, request)
        .await?
        .into_iter()
        .map(|e| (repo::audit::cursor_of(&e), e))
        .collect();
    Ok(Page::from_rows(request, rows))
}

/// How many entries [`list`] pages through with the same filter.
pub async fn count(state: &AppState, actor: &Actor, filter: &AuditFilter) -> AppResult<u64> {
    actor.require(Permission::Erase)?;
    Ok(repo::audit::count(state.db.reader(), actor.tenant_id, filter).await?)
}
