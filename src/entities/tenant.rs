//! A business using memodesk, with its settings and channel secrets.

use sea_orm::entity::prelude::*;

use crate::domain::Locale;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "tenants")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub name: String,
    pub customer_service_mode: bool,
    pub session_idle_minutes: i32,
    pub context_messages: i32,
    pub context_notes: i32,
    pub context_char_budget: i32,
    pub locale: Locale,
    pub default_region: String,
    pub retention_days: i32,
    pub event_retention_days: i32,
    /// JSON array of phrases.
    #[sea_orm(column_type = "JsonBinary")]
    pub reset_keywords: Json,
    pub whatsapp_app_secret: Option<String>,
    pub whatsapp_verify_token: Option<String>,
    pub twilio_auth_token: Option<String>,
    /// Days a message is kept (0: forever).
    pub message_retention_days: i32,
    /// Days a conversation summary is kept (0: forever).
    pub summary_retention_days: i32,
    /// Days an audit entry is kept (0: forever).
    pub audit_retention_days: i32,
    /// `off` or `redact` (`domain::redact::RedactionMode`).
    pub pii_redaction: String,
    /// Comma-separated `domain::redact::PiiKind`s redacted when `pii_redaction` is `redact`.
    pub pii_kinds: String,
    /// The key of this tenant's identity hashes in erasure tombstones (hex); made on first use.
    pub privacy_key: Option<String>,
    /// The last event sequence number handed out for this tenant.
    pub event_seq: i64,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
