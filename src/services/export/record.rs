//! One lead as the export formats see it: its row, its profile read, and the facts that live
//! in other tables (first channel, last summary).

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::domain::profile::Profile;
use crate::domain::{Channel, IdentityKind};
use crate::entities::{interaction_summary, lead, lead_identity};

/// Profile keys with their own column in every format; other keys go to `other_fields`.
pub const KNOWN_KEYS: [&str; 10] = [
    "name",
    "email",
    "phone",
    "city",
    "preferred_language",
    "preferred_currency",
    "interests",
    "service_interest",
    "preferences",
    "budget",
];

pub struct LeadRecord {
    pub lead: lead::Model,
    pub profile: Profile,
    /// The channel the lead first reached us on.
    pub first_channel: Option<Channel>,
    /// Whether the lead writes on WhatsApp (so the phone is a mobile).
    pub on_whatsapp: bool,
    /// The summary of the lead's most recent summarized conversation.
    pub summary: Option<interaction_summary::Model>,
}

impl LeadRecord {
    /// `identities` oldest first.
    pub fn new(
        lead: lead::Model,
        identities: &[lead_identity::Model],
        summary: Option<interaction_summary::Model>,
    ) -> Self {
        // A profile that no longer parses is exported without its fields rather than not at all.
        let profile = serde_json::from_value(lead.profile.clone()).unwrap_or_default();
        Self {
            profile,
            first_channel: identities.first().map(|i| i.channel),
            on_whatsapp: identities.iter().any(|i| i.kind == IdentityKind::Whatsapp),
            summary,
            lead,
        }
    }

    pub fn id(&self) -> Uuid {
        self.lead.id
    }

    /// A profile field's value as text (list fields joined by ", ").
    pub fn field(&self, key: &str) -> Option<String> {
        self.profile
            .fields
            .get(key)
            .and_then(|f| f.display_value())
            .filter(|v| !v.is_empty())
    }

    /// Where a field's value came from: `manual`, `import`, `channel` or `ai`.
    pub fn source(&self, key: &str) -> Option<&'static str> {
        self.profile
            .fields
            .get(key)
            .filter(|f| !f.is_empty())
            .map(|f| f.source.as_str())
    }

    pub fn full_name(&self) -> Option<String> {
        self.field("name")
            .or_else(|| self.lead.display_name.clone())
    }

    /// The name split at its first space: "Dana Levi Cohen" -> ("Dana", "Levi Cohen").
    pub fn first_and_last_name(&self) -> (Option<String>, Option<String>) {
        let Some(name) = self.full_name() else {
            return (None, None);
        };
        let name = name.trim();
        match name.split_once(char::is_whitespace) {
            Some((first, last)) => (Some(first.to_owned()), Some(last.trim().to_owned())),
            None if name.is_empty() => (None, None),
            None => (Some(name.to_owned()), None),
        }
    }

    pub fn email(&self) -> Option<String> {
        self.lead.email.clone().or_else(|| self.field("email"))
    }

    /// E.164.
    pub fn phone(&self) -> Option<String> {
        self.lead.primary_phone.clone()
    }

    pub fn language(&self) -> Option<String> {
        self.field("preferred_language")
            .or_else(|| self.summary.as_ref().and_then(|s| s.language.clone()))
    }

    pub fn company(&self) -> Option<String> {
        self.field("company")
    }

    pub fn last_activity(&self) -> DateTime<Utc> {
        self.lead.last_activity_at
    }

    /// Profile fields without a column of their own, as a JSON object (`None` when none).
    pub fn other_fields(&self) -> Option<String> {
        let others: serde_json::Map<String, serde_json::Value> = self
            .profile
            .fields
            .keys()
            .filter(|k| !KNOWN_KEYS.contains(&k.as_str()))
            .filter_map(|k| self.field(k).map(|v| (k.clone(), v.into())))
            .collect();
        (!others.is_empty()).then(|| serde_json::Value::Object(others).to_string())
    }
}
