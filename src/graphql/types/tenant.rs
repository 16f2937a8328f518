//! The tenant, its settings, and the caller.

use std::sync::Arc;

use async_graphql::{ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};

use super::enums::{ApiScopeGql, PiiKindGql, PiiRedactionGql, RoleGql};
use super::text::{self, SHORT, Text};
use crate::auth::{Actor, Principal};
use crate::graphql::context::to_id;
use crate::repo::tenants::TenantSettings as Settings;
use crate::services::tenants::SettingsUpdate;

/// A business using memodesk.
pub struct Tenant(pub Arc<Settings>);

/// A business using memodesk.
#[Object]
impl Tenant {
    /// Opaque id.
    async fn id(&self) -> ID {
        to_id(self.0.id)
    }

    /// The business's name.
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// How memodesk behaves for this business.
    async fn settings(&self) -> TenantSettings {
        let s = &self.0;
        TenantSettings {
            customer_service_mode: s.customer_service_mode,
            session_idle_minutes: s.session_idle_minutes,
            context_messages: s.context_messages,
            context_notes: s.context_notes,
            context_char_budget: s.context_char_budget,
            locale: s.locale.as_str().to_owned(),
            default_region: s.default_region.clone(),
            retention_days: s.retention_days,
            event_retention_days: s.event_retention_days,
            message_retention_days: s.message_retention_days,
            summary_retention_days: s.summary_retention_days,
            audit_retention_days: s.audit_retention_days,
            pii_redaction: s.redaction.mode.into(),
            pii_redaction_kinds: s.redaction.kinds.iter().map(|k| (*k).into()).collect(),
            reset_keywords: s.reset_keywords.clone(),
            whatsapp_app_secret_configured: s.whatsapp_app_secret.is_some(),
            whatsapp_verify_token_configured: s.whatsapp_verify_token.is_some(),
            twilio_auth_token_configured: s.twilio_auth_token.is_some(),
        }
    }

    /// When the tenant was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// How memodesk behaves for a business. Channel secrets are write-only: only whether they
/// are configured is shown.
#[derive(SimpleObject, Clone, Debug)]
pub struct TenantSettings {
    /// On: memory contexts include the profile, last summary and notes. Off: only the current
    /// conversation's messages.
    pub customer_service_mode: bool,
    /// Minutes of silence after which a conversation closes (default 15).
    pub session_idle_minutes: i32,
    /// Messages of the current conversation in a memory context (default 12).
    pub context_messages: i32,
    /// Notes in a memory context, besides pinned ones (default 5).
    pub context_notes: i32,
    /// Longest rendered memory context, in characters (default 6000).
    pub context_char_budget: i32,
    /// Language of rendered contexts and openings: `en` or `he`.
    pub locale: String,
    /// ISO 3166 region for phone numbers written without a country code.
    pub default_region: String,
    /// Superseded by `messageRetentionDays` (kept for existing clients; nothing reads it).
    #[graphql(deprecation = "use messageRetentionDays")]
    pub retention_days: i32,
    /// Days events are kept for replay (default 7).
    pub event_retention_days: i32,
    /// Days messages are kept, oldest deleted first by the daily retention run; 0 keeps them
    /// forever (default 90). Profiles, notes and profile history are kept.
    pub message_retention_days: i32,
    /// Days conversation summaries are kept; 0 keeps them forever (default 730).
    pub summary_retention_days: i32,
    /// Days audit entries are kept; 0 keeps them forever (default 730).
    pub audit_retention_days: i32,
    /// Whether messages are redacted at ingest (default `REDACT`).
    pub pii_redaction: PiiRedactionGql,
    /// What is redacted when `piiRedaction` is `REDACT` (default: `CARD` only).
    pub pii_redaction_kinds: Vec<PiiKindGql>,
    /// Phrases with which a customer starts over.
    pub reset_keywords: Vec<String>,
    /// Whether the WhatsApp app secret (webhook signatures) is set.
    pub whatsapp_app_secret_configured: bool,
    /// Whether the WhatsApp webhook verify token is set.
    pub whatsapp_verify_token_configured: bool,
    /// Whether the Twilio auth token (webhook signatures) is set.
    pub twilio_auth_token_configured: bool,
}

/// A settings change; omitted fields stay as they are. Secrets: a value sets or rotates one,
/// an empty string removes it; they can never be read back.
#[derive(InputObject, Clone, Debug, Default)]
pub struct UpdateTenantSettingsInput {
    /// The business's name; at most 200 characters.
    pub name: Option<Text<SHORT>>,
    /// See `TenantSettings.customerServiceMode`.
    pub customer_service_mode: Option<bool>,
    /// 1 to 1440.
    pub session_idle_minutes: Option<i32>,
    /// 1 to 100.
    pub context_messages: Option<i32>,
    /// 0 to 50.
    pub context_notes: Option<i32>,
    /// 500 to 100000.
    pub context_char_budget: Option<i32>,
    /// `en` or `he` (at most 200 characters).
    pub locale: Option<Text<SHORT>>,
    /// ISO 3166 region, e.g. `IL` (at most 200 characters).
    pub default_region: Option<Text<SHORT>>,
    /// Superseded by `messageRetentionDays`; 1 to 3650.
    #[graphql(deprecation = "use messageRetentionDays")]
    pub retention_days: Option<i32>,
    /// 1 to 90.
    pub event_retention_days: Option<i32>,
    /// 0 (forever) to 3650.
    pub message_retention_days: Option<i32>,
    /// 0 (forever) to 3650.
    pub summary_retention_days: Option<i32>,
    /// 0 (forever) to 3650.
    pub audit_retention_days: Option<i32>,
    /// `OFF` or `REDACT`.
    pub pii_redaction: Option<PiiRedactionGql>,
    /// The kinds redacted (replaces the list; empty redacts nothing).
    pub pii_redaction_kinds: Option<Vec<PiiKindGql>>,
    /// Up to 50 phrases of 1 to 60 characters.
    pub reset_keywords: Option<Vec<Text<SHORT>>>,
    /// WhatsApp app secret (signs webhook deliveries); at most 200 characters.
    pub whatsapp_app_secret: Option<Text<SHORT>>,
    /// WhatsApp webhook verify token; at most 200 characters.
    pub whatsapp_verify_token: Option<Text<SHORT>>,
    /// Twilio auth token (signs webhook deliveries); at most 200 characters.
    pub twilio_auth_token: Option<Text<SHORT>>,
}

impl From<UpdateTenantSettingsInput> for SettingsUpdate {
    fn from(i: UpdateTenantSettingsInput) -> Self {
        SettingsUpdate {
            name: text::opt(i.name),
            customer_service_mode: i.customer_service_mode,
            session_idle_minutes: i.session_idle_minutes,
            context_messages: i.context_messages,
            context_notes: i.context_notes,
            context_char_budget: i.context_char_budget,
            locale: text::opt(i.locale),
            default_region: text::opt(i.default_region),
            retention_days: i.retention_days,
            event_retention_days: i.event_retention_days,
            message_retention_days: i.message_retention_days,
            summary_retention_days: i.summary_retention_days,
            audit_retention_days: i.audit_retention_days,
            pii_redaction: i.pii_redaction.map(Into::into),
            pii_redaction_kinds: i
                .pii_redaction_kinds
                .map(|kinds| kinds.into_iter().map(Into::into).collect()),
            reset_keywords: i
                .reset_keywords
                .map(|k| k.into_iter().map(Text::into_string).collect()),
            whatsapp_app_secret: text::opt(i.whatsapp_app_secret),
            whatsapp_verify_token: text::opt(i.whatsapp_verify_token),
            twilio_auth_token: text::opt(i.twilio_auth_token),
        }
    }
}

/// The caller of this request.
pub struct Me(pub Actor);

/// The caller of this request.
#[Object]
impl Me {
    /// The tenant the credential belongs to.
    async fn tenant_id(&self) -> ID {
        to_id(self.0.tenant_id)
    }

    /// `user`, `api_key`, `service` or `system`.
    async fn kind(&self) -> &str {
        match self.0.principal {
            Principal::User { .. } => "user",
            Principal::ApiKey { .. } => "api_key",
            Principal::Service { .. } => "service",
            Principal::System => "system",
        }
    }

    /// The staff user, for people.
    async fn user_id(&self) -> Option<ID> {
        self.0.user_id().map(to_id)
    }

    /// The API key, for machine clients.
    async fn api_key_id(&self) -> Option<ID> {
        match self.0.principal {
            Principal::ApiKey { id } => Some(to_id(id)),
            _ => None,
        }
    }

    /// The role, for people and service tokens.
    async fn role(&self) -> Option<RoleGql> {
        self.0.role.map(Into::into)
    }

    /// The scopes, for API keys.
    async fn scopes(&self) -> Vec<ApiScopeGql> {
        self.0.scopes.iter().map(|s| (*s).into()).collect()
    }

    /// When the credential expires.
    async fn expires_at(&self) -> Option<DateTime<Utc>> {
        self.0.expires_at
    }
}
