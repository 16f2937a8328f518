//! Profile fields with provenance, and their history.

use async_graphql::{Context, ID, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};

use super::enums::{ProfileChangeOutcomeGql, ProfileSourceGql};
use crate::domain::phone::PhoneNumber;
use crate::domain::profile::{self, FieldLock, KnownKey, Profile};
use crate::entities::profile_field_change;
use crate::graphql::context::{ContextExt, to_id};

/// One field of a lead's profile.
pub struct ProfileField {
    key: String,
    field: profile::ProfileField,
}

impl ProfileField {
    /// Every field with something to show, plus fields staff locked empty.
    pub fn list(profile: &Profile) -> Vec<ProfileField> {
        profile
            .fields
            .iter()
            .filter(|(_, f)| !f.is_empty() || f.lock == FieldLock::Rejected)
            .map(|(key, field)| ProfileField {
                key: key.clone(),
                field: field.clone(),
            })
            .collect()
    }

    pub fn new(key: String, field: profile::ProfileField) -> Self {
        Self { key, field }
    }
}

/// One field of a lead's profile, with where its value came from.
#[Object]
impl ProfileField {
    /// `snake_case` key, e.g. `name`, `city`, `preferred_currency`.
    async fn key(&self) -> &str {
        &self.key
    }

    /// The value; list fields join their items with ", ". Null when staff locked it empty.
    async fn value(&self) -> Option<String> {
        self.field.display_value()
    }

    /// For list fields (e.g. `interests`): each item with its own provenance.
    async fn items(&self) -> Vec<ProfileItem> {
        self.field
            .visible_items()
            .map(|i| ProfileItem {
                value: i.value.clone(),
                source: i.source.into(),
                confidence: i.confidence,
                updated_at: i.updated_at,
                updated_by: i.updated_by.clone(),
            })
            .collect()
    }

    /// Where the value came from.
    async fn source(&self) -> ProfileSourceGql {
        self.field.source.into()
    }

    /// How sure we are, 0 to 1 (staff values are 1).
    async fn confidence(&self) -> f64 {
        self.field.confidence
    }

    /// When the value last changed.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.field.updated_at
    }

    /// Who changed it: `staff:<id>`, `ai:builtin`, `channel:whatsapp`, …
    async fn updated_by(&self) -> &str {
        &self.field.updated_by
    }

    /// The value it replaced.
    async fn previous_value(&self) -> Option<&str> {
        self.field.previous_value.as_deref()
    }

    /// The messages the value was learned from.
    async fn evidence(&self) -> Vec<Evidence> {
        self.field
            .evidence
            .iter()
            .map(|e| Evidence {
                message_id: to_id(e.message_id),
                snippet: e.snippet.clone(),
            })
            .collect()
    }

    /// For the `phone` field: true when the number is in a range the built-in numbering plan
    /// lists as assigned; false when only its length fits its country (a range newer than the
    /// plan, or a typo worth checking with the customer). Null for other fields.
    async fn verified(&self) -> Option<bool> {
        if self.key != KnownKey::Phone.as_str() {
            return None;
        }
        let number = PhoneNumber::from_e164(self.field.value.as_deref()?)?;
        Some(number.is_verified())
    }

    /// Staff wrote this value: only staff change it (AI proposals are recorded, not applied).
    async fn locked(&self) -> bool {
        self.field.lock == FieldLock::Manual
    }

    /// Staff rejected this field: it stays empty and AI proposals are not applied.
    async fn rejected(&self) -> bool {
        self.field.lock == FieldLock::Rejected
    }
}

/// One item of a list field.
#[derive(SimpleObject, Clone, Debug)]
pub struct ProfileItem {
    /// The item.
    pub value: String,
    /// Where it came from.
    pub source: ProfileSourceGql,
    /// How sure we are, 0 to 1.
    pub confidence: f64,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// Who changed it.
    pub updated_by: String,
}

/// A message a value was learned from.
#[derive(SimpleObject, Clone, Debug)]
pub struct Evidence {
    /// The message.
    pub message_id: ID,
    /// An excerpt of it.
    pub snippet: String,
}

/// One entry of a field's history: a proposal or staff action and what became of it.
pub struct ProfileFieldChange(pub profile_field_change::Model);

/// One entry of a field's history: a proposal or staff action and what became of it.
#[Object]
impl ProfileFieldChange {
    /// Opaque id.
    async fn id(&self) -> ID {
        to_id(self.0.id)
    }

    /// The field.
    async fn key(&self) -> &str {
        &self.0.field_key
    }

    /// For list fields: the item concerned.
    async fn item(&self) -> Option<&str> {
        self.0.item.as_deref()
    }

    /// The value before.
    async fn old_value(&self) -> Option<&str> {
        self.0.old_value.as_deref()
    }

    /// The value proposed (or written).
    async fn new_value(&self) -> Option<&str> {
        self.0.new_value.as_deref()
    }

    /// Where the proposal came from.
    async fn source(&self) -> ProfileSourceGql {
        self.0.source.into()
    }

    /// The proposal's confidence, 0 to 1.
    async fn confidence(&self) -> f64 {
        self.0.confidence
    }

    /// What became of it.
    async fn outcome(&self) -> ProfileChangeOutcomeGql {
        self.0.outcome.into()
    }

    /// The messages behind the proposal.
    async fn evidence(&self) -> Vec<ID> {
        serde_json::from_value::<Vec<uuid::Uuid>>(self.0.evidence.clone())
            .unwrap_or_default()
            .into_iter()
            .map(to_id)
            .collect()
    }

    /// Who proposed or acted: `staff:<id>`, `ai:builtin`, `channel:whatsapp`, …
    async fn actor(&self) -> &str {
        &self.0.actor
    }

    /// The staff member's name (or email) when a person acted (`staff:<id>`); null for the AI,
    /// channels and imports, and for a user no longer known.
    async fn actor_name(&self, ctx: &Context<'_>) -> Result<Option<String>> {
        let Some(id) = self
            .0
            .actor
            .strip_prefix("staff:")
            .and_then(|id| uuid::Uuid::parse_str(id).ok())
        else {
            return Ok(None);
        };
        ctx.loaders()?.staff_names.load_one(id).await
    }

    /// When.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}
