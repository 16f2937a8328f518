//! Profiles with provenance: applying proposals to a lead, and the staff edits that beat them.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use uuid::Uuid;

use crate::auth::{Actor, Permission};
use crate::domain::profile::{
    ChangeRecord, FieldKey, KnownKey, ManualEdit, Outcome, Profile, Proposal, keys::normalize_value,
};
use crate::domain::{Channel, EventType, IdentityKind, InvalidInput};
use crate::entities::{lead, lead_identity, profile_field_change};
use crate::error::{AppError, AppResult};
use crate::events::{NewEvent, outbox};
use crate::repo;
use crate::services::audit;
use crate::state::AppState;

/// Reads a lead's stored profile.
pub fn profile_of(lead: &lead::Model) -> AppResult<Profile> {
    Profile::deserialize(&lead.profile).map_err(|err| {
        AppError::internal(anyhow::anyhow!(
            "lead {} has an unreadable profile: {err}",
            lead.id
        ))
    })
}

/// What applying changes to a lead did.
#[derive(Debug, Default)]
pub struct Applied {
    /// One per proposal or staff action, for the history table.
    pub records: Vec<ChangeRecord>,
    /// Keys whose value changed, sorted, without repeats.
    pub changed_keys: Vec<String>,
    /// Contact details that changed and should find this lead from now on.
    pub new_identities: Vec<(IdentityKind, String)>,
}

/// Applies proposals to `lead` in memory: the profile JSON and the columns that mirror it.
/// `owners` are the leads known by the contact details proposed (see [`Editing::apply`]).
pub fn apply_proposals(
    lead: &mut lead::Model,
    proposals: impl IntoIterator<Item = Proposal>,
    owners: &IdentityOwners,
) -> AppResult<Applied> {
    let mut proposals = proposals.into_iter().peekable();
    if proposals.peek().is_none() {
        return Ok(Applied::default());
    }
    let mut editing = Editing::of(lead)?;
    let applied = editing.apply(lead, proposals, owners);
    editing.store(lead)?;
    Ok(applied)
}

/// Which lead each known identity (channel id, phone number, email address) finds.
pub type IdentityOwners = HashMap<(IdentityKind, String), Uuid>;

/// The identity a proposed value would become: phone numbers and email addresses find leads.
pub fn identity_of(proposal: &Proposal) -> Option<(IdentityKind, String)> {
    let kind = match proposal.key.known_key()? {
        KnownKey::Phone => IdentityKind::Phone,
        KnownKey::Email => IdentityKind::Email,
        _ => return None,
    };
    Some((kind, proposal.value.clone()))
}

/// A lead's profile, read once for several rounds of proposals (ingest applies each message's
/// in turn): each round updates the lead's name, phone and email columns at once, and
/// [`Editing::store`] writes the profile's JSON back once at the end.
pub struct Editing {
    profile: Profile,
    changed: bool,
}

impl Editing {
    pub fn of(lead: &lead::Model) -> AppResult<Self> {
        Ok(Self {
            profile: profile_of(lead)?,
            changed: false,
        })
    }

    /// Applies `proposals` to the profile and to `lead`'s mirrored columns. A phone number or
    /// email address that `owners` says finds another lead is declined (`AnotherLead`): one
    /// contact detail finds one customer, and staff decide which.
    pub fn apply(
        &mut self,
        lead: &mut lead::Model,
        proposals: impl IntoIterator<Item = Proposal>,
        owners: &IdentityOwners,
    ) -> Applied {
        let records: Vec<ChangeRecord> = proposals
            .into_iter()
            .map(|p| match identity_of(&p).and_then(|id| owners.get(&id)) {
                Some(&owner) if owner != lead.id => self.profile.decline(p, Outcome::AnotherLead),
                _ => self.profile.propose(p),
            })
            .collect();
        self.record(lead, records)
    }

    /// Takes note of what a round did to the profile, mirroring it into `lead`'s columns.
    fn record(&mut self, lead: &mut lead::Model, records: Vec<ChangeRecord>) -> Applied {
        let mut changed_keys: Vec<String> = records
            .iter()
            .filter(|r| r.changed())
            .map(|r| r.key.clone())
            .collect();
        changed_keys.sort();
        changed_keys.dedup();
        let mut new_identities = Vec::new();
        if !changed_keys.is_empty() {
            self.changed = true;
            let phone = self.profile.value(KnownKey::Phone.as_str());
            let email = self.profile.value(KnownKey::Email.as_str());
            if phone.is_some() && phone != lead.primary_phone {
                new_identities.extend(phone.clone().map(|p| (IdentityKind::Phone, p)));
            }
            if email.is_some() && email != lead.email {
                new_identities.extend(email.clone().map(|e| (IdentityKind::Email, e)));
            }
            lead.display_name = self.profile.value(KnownKey::Name.as_str());
            lead.primary_phone = phone;
            lead.email = email;
        }
        Applied {
            records,
            changed_keys,
            new_identities,
        }
    }

    /// Writes the profile back into `lead` if a round changed it.
    pub fn store(&self, lead: &mut lead::Model) -> AppResult<()> {
        if self.changed {
            lead.profile = serde_json::to_value(&self.profile).map_err(|err| {
                AppError::internal(anyhow::anyhow!("profile serialization: {err}"))
            })?;
        }
        Ok(())
    }
}

/// History rows for `records`, skipping automatic proposals that merely repeated the current
/// value (they change nothing and would bury the history in re-confirmations).
pub fn history_rows(
    tenant_id: Uuid,
    lead_id: Uuid,
    records: &[ChangeRecord],
) -> Vec<profile_field_change::Model> {
    records
        .iter()
        .filter(|r| r.outcome != Outcome::Unchanged)
        .map(|r| profile_field_change::Model {
            tenant_id,
            id: Uuid::now_v7(),
            lead_id,
            field_key: r.key.clone(),
            item: r.item.clone(),
            old_value: r.old_value.clone(),
            new_value: r.new_value.clone(),
            source: r.source,
            confidence: r.confidence,
            outcome: r.outcome,
            evidence: serde_json::json!(r.evidence),
            actor: r.actor.clone(),
            created_at: r.at,
        })
        .collect()
}

/// Identity rows for contact details a profile change introduced (skipped when taken).
pub fn identity_rows(
    tenant_id: Uuid,
    lead_id: Uuid,
    identities: &[(IdentityKind, String)],
    channel: Channel,
    now: DateTime<Utc>,
) -> Vec<lead_identity::Model> {
    identities
        .iter()
        .map(|(kind, value)| lead_identity::Model {
            tenant_id,
            id: Uuid::now_v7(),
            lead_id,
            kind: *kind,
            value: value.clone(),
            channel,
            created_at: now,
        })
        .collect()
}

/// A staff edit of one field.
pub enum StaffAction {
    /// A value (a comma-separated list for list keys).
    Set(String),
    /// Empty the field (or block one list item) and keep proposals out.
    Reject { item: Option<String> },
    /// Let proposals compete for the field again.
    Release,
}

/// One staff edit and the input field to blame when it is invalid.
pub struct StaffEdit {
    pub key: String,
    pub action: StaffAction,
    /// e.g. `value` for `setProfileField`, `input.phone` for `updateLead`.
    pub field: String,
}

/// A staff edit, checked and normalized.
enum Prepared {
    Set(FieldKey, Vec<String>),
    Reject(FieldKey, Option<String>),
    Release(FieldKey),
}

fn prepare(edit: StaffEdit, region: &str) -> Result<Prepared, InvalidInput> {
    let key_field = if edit.field == "value" {
        "key".to_owned()
    } else {
        edit.field.clone()
    };
    let key = FieldKey::parse(&edit.key, &key_field)?;
    Ok(match edit.action {
        StaffAction::Set(value) => {
            let values = if key.is_list() {
                let items = value
                    .split(',')
                    .filter(|item| !item.trim().is_empty())
                    .map(|item| normalize_value(&key, item, region, &edit.field))
                    .collect::<Result<Vec<_>, _>>()?;
                if items.is_empty() {
                    return Err(InvalidInput::new(edit.field, "value is empty"));
                }
                items
            } else {
                vec![normalize_value(&key, &value, region, &edit.field)?]
            };
            Prepared::Set(key, values)
        }
        StaffAction::Reject { item: Some(_) } if !key.is_list() => {
            return Err(InvalidInput::new(
                "item",
                format!("`{key}` is not a list field; reject the whole field without item"),
            ));
        }
        StaffAction::Reject { item } => Prepared::Reject(key, item),
        StaffAction::Release => Prepared::Release(key),
    })
}

/// Applies staff edits to one lead, with history rows, an audit entry and a `lead.updated`
/// event, in one transaction. Returns the updated lead.
pub async fn staff_edits(
    state: &AppState,
    actor: &Actor,
    lead_id: Uuid,
    edits: Vec<StaffEdit>,
    audit_action: &str,
) -> AppResult<lead::Model> {
    actor.require(Permission::WriteProfile)?;
    let settings = state
        .tenants
        .get(state.db.reader(), actor.tenant_id)
        .await?;
    // Validate everything before touching the database.
    let fields: HashMap<String, String> = edits
        .iter()
        .map(|e| (e.key.trim().to_owned(), e.field.clone()))
        .collect();
    let prepared = edits
        .into_iter()
        .map(|edit| prepare(edit, &settings.default_region))
        .collect::<Result<Vec<_>, _>>()?;
    let now = state.now();
    let label = actor.label();

    let txn = state.db.begin_write().await?;
    let mut lead = repo::leads::lock_many(&txn, actor.tenant_id, &[lead_id])
        .await?
        .pop()
        .ok_or(AppError::not_found("lead"))?;
    let mut profile = profile_of(&lead)?;
    let mut keys = Vec::new();
    let records: Vec<ChangeRecord> = prepared
        .into_iter()
        .map(|edit| match edit {
            Prepared::Set(key, values) => {
                keys.push(key.to_string());
                profile.set_manual(ManualEdit {
                    key,
                    values,
                    actor: label.clone(),
                    at: now,
                })
            }
            Prepared::Reject(key, item) => {
                keys.push(key.to_string());
                profile.reject(&key, item.as_deref(), &label, now)
            }
            Prepared::Release(key) => {
                keys.push(key.to_string());
                profile.release(&key, &label, now)
            }
        })
        .collect();
    let mut editing = Editing {
        profile,
        changed: false,
    };
    let applied = editing.record(&mut lead, records);
    editing.store(&mut lead)?;
    // Staff may not give this lead a phone or email another lead is known by.
    let taken =
        repo::identities::find_by_values(&txn, actor.tenant_id, &applied.new_identities).await?;
    if let Some(identity) = taken.iter().find(|i| i.lead_id != lead.id) {
        let key = match identity.kind {
            IdentityKind::Email => KnownKey::Email,
            _ => KnownKey::Phone,
        };
        let field = fields
            .get(key.as_str())
            .cloned()
            .unwrap_or_else(|| "value".into());
        return Err(AppError::Conflict(format!(
            "{field}: another lead already has this {}",
            identity.kind
        )));
    }
    if !applied.changed_keys.is_empty() {
        lead.updated_at = now;
        let lead_channel = lead.last_channel.unwrap_or(Channel::Web);
        // What the lookup found is this lead's already; the rest is inserted plainly, so a
        // writer that gave a value to another lead since makes this edit a CONFLICT.
        let unknown: Vec<_> = applied
            .new_identities
            .iter()
            .filter(|(kind, value)| !taken.iter().any(|i| i.kind == *kind && i.value == *value))
            .cloned()
            .collect();
        repo::identities::insert_many(
            &txn,
            identity_rows(actor.tenant_id, lead.id, &unknown, lead_channel, now),
        )
        .await?;
        repo::leads::upsert_many(&txn, vec![lead.clone()]).await?;
    }
    repo::profile_changes::insert_many(
        &txn,
        history_rows(actor.tenant_id, lead.id, &applied.records),
    )
    .await?;
    audit::record(
        &txn,
        actor,
        audit_action,
        "lead",
        Some(lead.id.to_string()),
        serde_json::json!({ "keys": keys, "changed": applied.changed_keys }),
        now,
    )
    .await?;
    let appended = if applied.changed_keys.is_empty() {
        None
    } else {
        outbox::append(
            &txn,
            actor.tenant_id,
            vec![NewEvent::new(
                EventType::LeadUpdated,
                Some(lead.id),
                None,
                serde_json::json!({ "leadId": lead.id, "keys": applied.changed_keys, "by": "staff" }),
            )],
            now,
        )
        .await?
    };
    txn.commit().await?;
    if appended.is_some() {
        state.events.notify_committed(actor.tenant_id);
    }
    Ok(lead)
}

/// One staff edit (see [`staff_edits`]).
pub async fn staff_edit(
    state: &AppState,
    actor: &Actor,
    lead_id: Uuid,
    key: &str,
    action: StaffAction,
) -> AppResult<lead::Model> {
    let audit_action = match action {
        StaffAction::Set(_) => "profile.field_set",
        StaffAction::Reject { .. } => "profile.field_rejected",
        StaffAction::Release => "profile.field_released",
    };
    staff_edits(
        state,
        actor,
        lead_id,
        vec![StaffEdit {
            key: key.to_owned(),
            action,
            field: "value".into(),
        }],
        audit_action,
    )
    .await
}

/// A lead's profile history, newest first (optionally one key).
pub async fn history(
    state: &AppState,
    actor: &Actor,
    lead_id: Uuid,
    key: Option<&str>,
    limit: u64,
) -> AppResult<Vec<profile_field_change::Model>> {
    actor.require(Permission::Read)?;
    let key = key.map(|k| FieldKey::parse(k, "key")).transpose()?;
    repo::leads::find(state.db.reader(), actor.tenant_id, lead_id)
        .await?
        .ok_or(AppError::not_found("lead"))?;
    audit::lead_viewed(state, actor, lead_id, audit::LeadView::History).await;
    Ok(repo::profile_changes::for_lead(
        state.db.reader(),
        actor.tenant_id,
        lead_id,
        key.as_ref().map(FieldKey::as_str),
        limit,
    )
    .await?)
}
