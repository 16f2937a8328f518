//! A lead's profile: fields that each say where their value came from and how sure we are.
//!
//! Precedence (see ARCHITECTURE.md): MANUAL > IMPORT > CHANNEL > AI. A manual value is changed
//! only by staff; otherwise a proposal wins when its source ranks higher, or ranks the same with
//! at least the current confidence. Every proposal, applied or not, yields a [`ChangeRecord`].

pub mod keys;
mod merge;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub use keys::{FieldKey, KnownKey};

use super::vocabulary::vocabulary;

vocabulary! {
    /// Where a profile value came from, strongest first.
    Source {
        /// Written by staff.
        Manual => "manual",
        /// Imported from a CRM.
        Import => "import",
        /// Told by the channel itself (e.g. the WhatsApp profile name).
        Channel => "channel",
        /// Extracted from conversation by the LLM or the built-in extractor.
        Ai => "ai",
    }
}

impl Source {
    /// Higher wins.
    pub const fn rank(self) -> u8 {
        match self {
            Source::Manual => 3,
            Source::Import => 2,
            Source::Channel => 1,
            Source::Ai => 0,
        }
    }
}

vocabulary! {
    /// Whether staff hold a field.
    FieldLock {
        /// Proposals compete by source and confidence.
        Open => "open",
        /// Staff wrote the value; only staff change it.
        Manual => "manual",
        /// Staff rejected the value: the field stays empty and no proposal fills it.
        Rejected => "rejected",
    }
}

vocabulary! {
    /// What became of a proposal or a staff action.
    Outcome {
        /// The value was written.
        Applied => "applied",
        /// The proposal repeated the current value; nothing changed.
        Unchanged => "unchanged",
        /// A staff value holds the field; the proposal was recorded, not applied.
        KeptManual => "kept_manual",
        /// The current value has a stronger source or higher confidence.
        LowerConfidence => "lower_confidence",
        /// The current value, as strong, was learned from a later message: an older observation
        /// (a history import, a late delivery, a summary of an earlier conversation) does not
        /// replace a newer one.
        Outdated => "outdated",
        /// The value (a phone number, an email address) already identifies another lead: a
        /// contact detail finds one customer, so the proposal was recorded, not applied.
        AnotherLead => "another_lead",
        /// Staff rejected this field (or list item); the proposal was recorded, not applied.
        RejectedByStaff => "rejected_by_staff",
        /// Staff rejected the field or an item: it is now locked empty.
        StaffRejected => "staff_rejected",
        /// Staff released the field: proposals may replace it again.
        StaffReleased => "staff_released",
    }
}

/// The message a value was learned from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    pub message_id: Uuid,
    /// A short excerpt (≤ 160 chars) of the message, so the dashboard can show why.
    pub snippet: String,
}

impl Evidence {
    pub const SNIPPET_CHARS: usize = 160;

    /// Evidence from a message, its content cut to [`Self::SNIPPET_CHARS`] characters.
    pub fn from_message(message_id: Uuid, content: &str) -> Self {
        let trimmed = content.trim();
        let snippet = if trimmed.chars().count() > Self::SNIPPET_CHARS {
            let mut s: String = trimmed.chars().take(Self::SNIPPET_CHARS - 1).collect();
            s.push('…');
            s
        } else {
            trimmed.to_owned()
        };
        Self {
            message_id,
            snippet,
        }
    }
}

/// One value of a list field (e.g. one interest), with its own provenance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListItem {
    pub value: String,
    pub source: Source,
    pub confidence: f64,
    pub updated_at: DateTime<Utc>,
    pub updated_by: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<Evidence>,
    /// Staff removed this item: it is hidden and proposals of it are not applied.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub blocked: bool,
}

/// One profile field. Scalar fields use `value`; list fields (see [`KnownKey::is_list`]) use
/// `items`, and `value` stays `None`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProfileField {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<ListItem>,
    pub source: Source,
    pub confidence: f64,
    pub updated_at: DateTime<Utc>,
    pub updated_by: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_value: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<Evidence>,
    pub lock: FieldLock,
}

impl ProfileField {
    /// The value as one string: the scalar value, or the visible list items joined by ", ".
    /// `None` when empty.
    pub fn display_value(&self) -> Option<String> {
        if self.items.is_empty() {
            return self.value.clone();
        }
        let visible: Vec<&str> = self.visible_items().map(|i| i.value.as_str()).collect();
        (!visible.is_empty()).then(|| visible.join(", "))
    }

    /// List items staff have not removed.
    pub fn visible_items(&self) -> impl Iterator<Item = &ListItem> {
        self.items.iter().filter(|i| !i.blocked)
    }

    /// Whether the field currently holds anything worth showing.
    pub fn is_empty(&self) -> bool {
        self.display_value().is_none()
    }
}

/// All of a lead's fields, by key (`snake_case`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Profile {
    pub fields: BTreeMap<String, ProfileField>,
}

/// A candidate value for a field, from anything but a staff edit.
#[derive(Debug, Clone, PartialEq)]
pub struct Proposal {
    pub key: FieldKey,
    /// Already normalized (see [`keys::normalize_value`]). For list keys: one item.
    pub value: String,
    pub source: Source,
    /// In `0.0..=1.0`.
    pub confidence: f64,
    /// Who proposed it, e.g. `ai:builtin`, `ai:gpt-4o-mini`, `channel:whatsapp`, `import:crm`.
    pub actor: String,
    pub evidence: Vec<Evidence>,
    pub at: DateTime<Utc>,
}

/// A staff edit: a value for a scalar field, or the whole list for a list field.
#[derive(Debug, Clone, PartialEq)]
pub struct ManualEdit {
    pub key: FieldKey,
    /// Normalized. For list keys: every item staff want; items that disappear become blocked.
    pub values: Vec<String>,
    /// e.g. `staff:<uuid>`.
    pub actor: String,
    pub at: DateTime<Utc>,
}

/// The history row every proposal and staff action produces.
#[derive(Debug, Clone, PartialEq)]
pub struct ChangeRecord {
    pub key: String,
    /// For list fields: the item concerned (`None` for whole-field actions).
    pub item: Option<String>,
    pub old_value: Option<String>,
    pub new_value: Option<String>,
    pub source: Source,
    pub confidence: f64,
    pub outcome: Outcome,
    pub evidence: Vec<Uuid>,
    pub actor: String,
    pub at: DateTime<Utc>,
}

impl ChangeRecord {
    /// Whether the profile changed.
    pub fn changed(&self) -> bool {
        matches!(
            self.outcome,
            Outcome::Applied | Outcome::StaffRejected | Outcome::StaffReleased
        )
    }
}

impl Profile {
    pub fn get(&self, key: &str) -> Option<&ProfileField> {
        self.fields.get(key)
    }

    /// The current value of a field as one string (see [`ProfileField::display_value`]).
    pub fn value(&self, key: &str) -> Option<String> {
        self.fields.get(key).and_then(ProfileField::display_value)
    }

    /// Fields that hold a value, in key order.
    pub fn filled(&self) -> impl Iterator<Item = (&String, &ProfileField)> {
        self.fields.iter().filter(|(_, f)| !f.is_empty())
    }
}
