//! Tenants and their settings: creation and edits.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, IntoActiveModel};

use crate::auth::{Actor, Permission};
use crate::db::Db;
use crate::domain::redact::{PiiKind, RedactionMode, RedactionPolicy};
use crate::domain::{InvalidInput, Locale, phone};
use crate::entities::tenant;
use crate::error::{AppError, AppResult};
use crate::repo;
use crate::repo::tenants::TenantSettings;
use crate::services::audit;
use crate::state::AppState;

/// Checks a tenant name.
pub fn validate_name(name: &str, field: &str) -> Result<String, InvalidInput> {
    let name = name.trim();
    if name.is_empty() {
        return Err(InvalidInput::new(field, "name is empty"));
    }
    if name.chars().count() > 200 {
        return Err(InvalidInput::new(
            field,
            "name is longer than 200 characters",
        ));
    }
    Ok(name.to_owned())
}

/// Creates a tenant with default settings (used by the CLI and the demo).
pub async fn create(db: &Db, name: &str, now: DateTime<Utc>) -> AppResult<tenant::Model> {
    let name = validate_name(name, "name")?;
    Ok(repo::tenants::insert(db.writer(), name, now).await?)
}

/// Every tenant, oldest first (operators' `memodesk tenant list`).
pub async fn list(db: &Db) -> AppResult<Vec<tenant::Model>> {
    Ok(repo::tenants::list(db.reader()).await?)
}

/// A settings edit; `None` leaves a setting as it is. Secrets are write-only: `Some("")`
/// clears one.
#[derive(Debug, Default, Clone)]
pub struct SettingsUpdate {
    pub name: Option<String>,
    pub customer_service_mode: Option<bool>,
    pub session_idle_minutes: Option<i32>,
    pub context_messages: Option<i32>,
    pub context_notes: Option<i32>,
    pub context_char_budget: Option<i32>,
    pub locale: Option<String>,
    pub default_region: Option<String>,
    pub retention_days: Option<i32>,
    pub event_retention_days: Option<i32>,
    pub message_retention_days: Option<i32>,
    pub summary_retention_days: Option<i32>,
    pub audit_retention_days: Option<i32>,
    pub pii_redaction: Option<RedactionMode>,
    pub pii_redaction_kinds: Option<Vec<PiiKind>>,
    pub reset_keywords: Option<Vec<String>>,
    pub whatsapp_app_secret: Option<String>,
    pub whatsapp_verify_token: Option<String>,
    pub twilio_auth_token: Option<String>,
}

fn in_range(value: i32, min: i32, max: i32, field: &str) -> Result<i32, InvalidInput> {
    if (min..=max).contains(&value) {
        Ok(value)
    } else {
        Err(InvalidInput::new(
            field,
            format!("must be between {min} and {max}, got {value}"),
        ))
    }
}

fn secret(value: String, field: &str) -> Result<Option<String>, InvalidInput> {
    let value = value.trim().to_owned();
    if value.is_empty() {
        return Ok(None);
    }
    if value.len() > 512 || value.chars().any(char::is_control) {
        return Err(InvalidInput::new(
            field,
            "must be at most 512 characters without control characters",
        ));
    }
    Ok(Some(value))
}

/// Applies a settings edit (admin only) and records it in the audit log.
pub async fn update_settings(
    state: &AppState,
    actor: &Actor,
    update: SettingsUpdate,
) -> AppResult<Arc<TenantSettings>> {
    actor.require(Permission::ManageTenant)?;
    let model = repo::tenants::find(state.db.writer(), actor.tenant_id)
        .await?
        .ok_or(AppError::not_found("tenant"))?;
    let mut active = model.into_active_model();
    let mut changed: Vec<&'static str> = Vec::new();
    let f = "input";
    if let Some(name) = update.name {
        active.name = Set(validate_name(&name, &format!("{f}.name"))?);
        changed.push("name");
    }
    if let Some(on) = update.customer_service_mode {
        active.customer_service_mode = Set(on);
        changed.push("customerServiceMode");
    }
    if let Some(v) = update.session_idle_minutes {
        active.session_idle_minutes =
            Set(in_range(v, 1, 1440, &format!("{f}.sessionIdleMinutes"))?);
        changed.push("sessionIdleMinutes");
    }
    if let Some(v) = update.context_messages {
        active.context_messages = Set(in_range(v, 1, 100, &format!("{f}.contextMessages"))?);
        changed.push("contextMessages");
    }
    if let Some(v) = update.context_notes {
        active.context_notes = Set(in_range(v, 0, 50, &format!("{f}.contextNotes"))?);
        changed.push("contextNotes");
    }
    if let Some(v) = update.context_char_budget {
        active.context_char_budget = Set(in_range(
            v,
            500,
            100_000,
            &format!("{f}.contextCharBudget"),
        )?);
        changed.push("contextCharBudget");
    }
    if let Some(tag) = update.locale {
        let locale = Locale::from_tag(&tag).ok_or_else(|| {
            InvalidInput::new(format!("{f}.locale"), "supported locales are en and he")
        })?;
        active.locale = Set(locale);
        changed.push("locale");
    }
    if let Some(region) = update.default_region {
        let id =
            phone::parse_region(&region).map_err(|e| e.for_field(format!("{f}.defaultRegion")))?;
        active.default_region = Set(id.as_ref().to_owned());
        changed.push("defaultRegion");
    }
    if let Some(v) = update.retention_days {
        active.retention_days = Set(in_range(v, 1, 3650, &format!("{f}.retentionDays"))?);
        changed.push("retentionDays");
    }
    if let Some(v) = update.event_retention_days {
        active.event_retention_days = Set(in_range(v, 1, 90, &format!("{f}.eventRetentionDays"))?);
        changed.push("eventRetentionDays");
    }
    // 0 keeps forever; otherwise a day to ten years.
    for (value, column, name) in [
        (
            update.message_retention_days,
            &mut active.message_retention_days,
            "messageRetentionDays",
        ),
        (
            update.summary_retention_days,
            &mut active.summary_retention_days,
            "summaryRetentionDays",
        ),
        (
            update.audit_retention_days,
            &mut active.audit_retention_days,
            "auditRetentionDays",
        ),
    ] {
        if let Some(v) = value {
            *column = Set(in_range(v, 0, 3650, &format!("{f}.{name}"))?);
            changed.push(name);
        }
    }
    if let Some(mode) = update.pii_redaction {
        active.pii_redaction = Set(mode.as_str().to_owned());
        changed.push("piiRedaction");
    }
    if let Some(kinds) = update.pii_redaction_kinds {
        let policy = RedactionPolicy {
            mode: RedactionMode::Redact,
            kinds: RedactionPolicy::normalize(kinds),
        };
        active.pii_kinds = Set(policy.stored_kinds());
        changed.push("piiRedactionKinds");
    }
    if let Some(keywords) = update.reset_keywords {
        let field = format!("{f}.resetKeywords");
        if keywords.len() > 50 {
            return Err(InvalidInput::new(field, "at most 50 reset keywords").into());
        }
        let mut cleaned = Vec::with_capacity(keywords.len());
        for keyword in keywords {
            let k = keyword.trim();
            if k.is_empty() || k.chars().count() > 60 {
                return Err(
                    InvalidInput::new(field, "each reset keyword is 1 to 60 characters").into(),
                );
            }
            if !cleaned.iter().any(|c: &String| c.eq_ignore_ascii_case(k)) {
                cleaned.push(k.to_owned());
            }
        }
        active.reset_keywords = Set(serde_json::json!(cleaned));
        changed.push("resetKeywords");
    }
    if let Some(v) = update.whatsapp_app_secret {
        active.whatsapp_app_secret = Set(secret(v, &format!("{f}.whatsappAppSecret"))?);
        changed.push("whatsappAppSecret");
    }
    if let Some(v) = update.whatsapp_verify_token {
        active.whatsapp_verify_token = Set(secret(v, &format!("{f}.whatsappVerifyToken"))?);
        changed.push("whatsappVerifyToken");
    }
    if let Some(v) = update.twilio_auth_token {
        active.twilio_auth_token = Set(secret(v, &format!("{f}.twilioAuthToken"))?);
        changed.push("twilioAuthToken");
    }
    let now = state.now();
    active.updated_at = Set(now);
    let txn = state.db.begin_write().await?;
    let saved = active.update(&txn).await?;
    audit::record(
        &txn,
        actor,
        "tenant.settings_updated",
        "tenant",
        Some(actor.tenant_id.to_string()),
        serde_json::json!({ "changed": changed }),
        now,
    )
    .await?;
    txn.commit().await?;
    state.tenants.invalidate(actor.tenant_id);
    Ok(Arc::new(TenantSettings::from_model(saved)))
}
