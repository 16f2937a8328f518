//! Erasure on request: a lead and everything about them goes in one transaction, through the
//! catalogue; a tombstone without personal data stays (who, when, why, how much, and keyed
//! hashes of the identities, so a later contact from the same number is flagged).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use uuid::Uuid;

use super::catalogue::{CATALOGUE, Erase};
use crate::auth::{Actor, Permission};
use crate::db::executor::Executor;
use crate::domain::{EventType, IdentityKind};
use crate::entities::lead_erasure;
use crate::error::{AppError, AppResult};
use crate::events::{NewEvent, outbox};
use crate::repo;
use crate::services::audit;
use crate::state::AppState;

/// What an erasure removed.
#[derive(Debug, Clone)]
pub struct ErasureReport {
    pub erasure_id: Uuid,
    pub lead_id: Uuid,
    pub erased_at: DateTime<Utc>,
    /// Rows removed (or, for logs that keep their rows, emptied), by table.
    pub counts: BTreeMap<String, u64>,
}

/// The longest reason kept.
const REASON_MAX: usize = 500;

/// Erases a lead (admins only). A missing lead, or another tenant's, is `NOT_FOUND`.
pub async fn erase_lead(
    state: &AppState,
    actor: &Actor,
    lead_id: Uuid,
    reason: &str,
) -> AppResult<ErasureReport> {
    actor.require(Permission::Erase)?;
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(AppError::bad_input(
            "reason",
            "say why the lead is erased (e.g. the customer's request)",
        ));
    }
    if reason.chars().count() > REASON_MAX {
        return Err(AppError::bad_input(
            "reason",
            format!("at most {REASON_MAX} characters"),
        ));
    }
    let tenant_id = actor.tenant_id;
    let now = state.now();
    let txn = state.db.begin_write().await?;
    let lead = repo::leads::find(&txn, tenant_id, lead_id)
        .await?
        .ok_or(AppError::not_found("lead"))?;

    let key = repo::privacy::privacy_key(&txn, tenant_id).await?;
    let mut identities: Vec<(IdentityKind, String)> =
        repo::identities::for_leads(&txn, tenant_id, &[lead_id])
            .await?
            .into_iter()
            .map(|i| (i.kind, i.value))
            .collect();
    identities.extend(lead.primary_phone.clone().map(|p| (IdentityKind::Phone, p)));
    identities.extend(lead.email.clone().map(|e| (IdentityKind::Email, e)));
    let mut hashes: Vec<String> = identities
        .iter()
        .map(|(kind, value)| identity_hash(&key, *kind, value))
        .collect();
    hashes.sort_unstable();
    hashes.dedup();

    let sessions = repo::privacy::session_ids(&txn, tenant_id, lead_id).await?;
    let mut ids = sessions.clone();
    ids.push(lead_id);
    let mut counts = BTreeMap::new();
    for entry in CATALOGUE {
        let n = match entry.erase {
            Erase::LeadColumn(column) => {
                repo::privacy::delete_by_lead(&txn, tenant_id, lead_id, entry.table, column).await?
            }
            Erase::JsonIds { column, keys } => {
                repo::privacy::delete_by_json_ids(&txn, tenant_id, entry.table, column, keys, &ids)
                    .await?
            }
            Erase::ScrubJson {
                lead_column,
                column,
            } => {
                repo::privacy::scrub_json(
                    &txn,
                    tenant_id,
                    lead_id,
                    &sessions,
                    entry.table,
                    lead_column,
                    column,
                )
                .await?
            }
            Erase::SearchIndex => repo::search::forget_lead(&txn, tenant_id, lead_id).await?,
            Erase::Keep(_) => continue,
        };
        counts.insert(entry.table.to_owned(), n);
    }

    let erasure_id = Uuid::now_v7();
    let (actor_kind, actor_id) = actor.audit_identity();
    repo::privacy::insert_tombstone(
        &txn,
        lead_erasure::Model {
            tenant_id,
            id: erasure_id,
            lead_id,
            erased_at: now,
            actor_kind: actor_kind.to_owned(),
            actor_id,
            reason: reason.to_owned(),
            counts: serde_json::json!(counts),
        },
        hashes,
    )
    .await?;
    audit::record(
        &txn,
        actor,
        "lead.erased",
        "lead",
        Some(lead_id.to_string()),
        serde_json::json!({ "erasureId": erasure_id, "counts": counts }),
        now,
    )
    .await?;
    outbox::append(
        &txn,
        tenant_id,
        vec![NewEvent::new(
            EventType::LeadErased,
            Some(lead_id),
            None,
            serde_json::json!({ "leadId": lead_id, "erasureId": erasure_id }),
        )],
        now,
    )
    .await?;
    txn.commit().await?;
    // Search's ranking remembers counts of the words in the index (see `db::fts5_rank`).
    state.db.forget_search_counts();
    state.events.notify_committed(tenant_id);
    tracing::info!(%tenant_id, %lead_id, %erasure_id, "lead erased");
    metrics::counter!("memodesk_leads_erased_total").increment(1);
    Ok(ErasureReport {
        erasure_id,
        lead_id,
        erased_at: now,
        counts,
    })
}

/// The keyed hash of an identity kept in tombstones: HMAC-SHA256 of `kind:value` under the
/// tenant's privacy key, as hex.
pub fn identity_hash(key: &str, kind: IdentityKind, value: &str) -> String {
    // HMAC takes keys of any length: this never fails.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key.as_bytes()) else {
        return String::new();
    };
    mac.update(kind.as_str().as_bytes());
    mac.update(b":");
    mac.update(value.as_bytes());
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Whether one of the lead's identities belonged to an erased lead ("previously erased").
pub async fn previously_erased<C: Executor>(
    conn: &C,
    tenant_id: Uuid,
    lead_id: Uuid,
) -> AppResult<bool> {
    let Some(key) = repo::privacy::stored_privacy_key(conn, tenant_id).await? else {
        return Ok(false);
    };
    let hashes: Vec<String> = repo::identities::for_leads(conn, tenant_id, &[lead_id])
        .await?
        .into_iter()
        .map(|i| identity_hash(&key, i.kind, &i.value))
        .collect();
    Ok(repo::privacy::any_erased(conn, tenant_id, &hashes).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_hashes_depend_on_the_key_and_the_kind() {
        let a = identity_hash("k1", IdentityKind::Phone, "+972501234567");
        assert_eq!(a.len(), 64);
        assert_eq!(a, identity_hash("k1", IdentityKind::Phone, "+972501234567"));
        assert_ne!(a, identity_hash("k2", IdentityKind::Phone, "+972501234567"));
        assert_ne!(
            a,
            identity_hash("k1", IdentityKind::Whatsapp, "+972501234567")
        );
        assert!(!a.contains("972501234567"));
    }
}
