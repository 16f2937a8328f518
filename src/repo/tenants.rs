//! Tenants: their rows, and the settings cache the hot paths read.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use sea_orm::{DbErr, EntityTrait, QueryOrder, Statement};
use uuid::Uuid;

use crate::db::executor::Executor;
use crate::domain::Locale;
use crate::domain::redact::RedactionPolicy;
use crate::domain::session_policy::{DEFAULT_RESET_PHRASES, ResetPhrases};
use crate::entities::tenant;
use crate::error::{AppError, AppResult};

pub async fn find<C: Executor>(conn: &C, tenant_id: Uuid) -> Result<Option<tenant::Model>, DbErr> {
    conn.one(tenant::Entity::find_by_id(tenant_id)).await
}

/// Every tenant, oldest first.
pub async fn list<C: Executor>(conn: &C) -> Result<Vec<tenant::Model>, DbErr> {
    conn.all(tenant::Entity::find().order_by_asc(tenant::Column::CreatedAt))
        .await
}

/// The idle timeouts (minutes) tenants use, each once: the sweeper closes sessions per value.
pub async fn idle_timeouts<C: Executor>(conn: &C) -> Result<Vec<i32>, DbErr> {
    let rows: Vec<(i32,)> = conn
        .rows(Statement::from_string(
            conn.backend(),
            "SELECT DISTINCT session_idle_minutes FROM tenants",
        ))
        .await?;
    Ok(rows.into_iter().map(|(minutes,)| minutes).collect())
}

/// Every tenant's id and event retention (days), for housekeeping.
pub async fn event_retention<C: Executor>(conn: &C) -> Result<Vec<(Uuid, i32)>, DbErr> {
    conn.rows(Statement::from_string(
        conn.backend(),
        "SELECT id, event_retention_days FROM tenants",
    ))
    .await
}

/// Inserts a tenant named `name` with default settings.
pub async fn insert<C: Executor>(
    conn: &C,
    name: String,
    now: DateTime<Utc>,
) -> Result<tenant::Model, DbErr> {
    let model = tenant::Model {
        id: Uuid::now_v7(),
        name,
        customer_service_mode: true,
        session_idle_minutes: 15,
        context_messages: 12,
        context_notes: 5,
        context_char_budget: 6000,
        locale: Locale::En,
        default_region: "US".into(),
        retention_days: 365,
        event_retention_days: 7,
        message_retention_days: 90,
        summary_retention_days: 730,
        audit_retention_days: 730,
        pii_redaction: RedactionPolicy::default().mode.as_str().to_owned(),
        pii_kinds: RedactionPolicy::default().stored_kinds(),
        privacy_key: None,
        reset_keywords: serde_json::json!(DEFAULT_RESET_PHRASES),
        whatsapp_app_secret: None,
        whatsapp_verify_token: None,
        twilio_auth_token: None,
        event_seq: 0,
        created_at: now,
        updated_at: now,
    };
    conn.insert_rows(vec![tenant::ActiveModel::from(model.clone())], None)
        .await?;
    Ok(model)
}

/// The settings rules read on every message and every memory context.
#[derive(Debug, Clone, PartialEq)]
pub struct TenantSettings {
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
    /// Days messages are kept (0: forever).
    pub message_retention_days: i32,
    /// Days conversation summaries are kept (0: forever).
    pub summary_retention_days: i32,
    /// Days audit entries are kept (0: forever).
    pub audit_retention_days: i32,
    /// What ingest redacts.
    pub redaction: RedactionPolicy,
    pub reset_keywords: Vec<String>,
    /// `reset_keywords` as messages are compared with them.
    pub reset_phrases: ResetPhrases,
    pub whatsapp_app_secret: Option<String>,
    pub whatsapp_verify_token: Option<String>,
    pub twilio_auth_token: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl TenantSettings {
    pub fn idle_timeout(&self) -> chrono::Duration {
        chrono::Duration::minutes(i64::from(self.session_idle_minutes))
    }

    pub fn from_model(model: tenant::Model) -> Self {
        let reset_keywords: Vec<String> =
            serde_json::from_value(model.reset_keywords).unwrap_or_default();
        Self {
            id: model.id,
            name: model.name,
            customer_service_mode: model.customer_service_mode,
            session_idle_minutes: model.session_idle_minutes,
            context_messages: model.context_messages,
            context_notes: model.context_notes,
            context_char_budget: model.context_char_budget,
            locale: model.locale,
            default_region: model.default_region,
            retention_days: model.retention_days,
            event_retention_days: model.event_retention_days,
            message_retention_days: model.message_retention_days,
            summary_retention_days: model.summary_retention_days,
            audit_retention_days: model.audit_retention_days,
            redaction: RedactionPolicy::from_stored(&model.pii_redaction, &model.pii_kinds),
            reset_phrases: ResetPhrases::new(&reset_keywords),
            reset_keywords,
            whatsapp_app_secret: model.whatsapp_app_secret,
            whatsapp_verify_token: model.whatsapp_verify_token,
            twilio_auth_token: model.twilio_auth_token,
            created_at: model.created_at,
        }
    }
}

type CacheEntries = HashMap<Uuid, (Arc<TenantSettings>, Instant)>;

/// Tenant settings by id, kept for a few seconds: other replicas' edits show up within the TTL,
/// this replica's at once.
#[derive(Clone)]
pub struct TenantCache {
    entries: Arc<RwLock<CacheEntries>>,
    ttl: Duration,
}

impl TenantCache {
    pub fn new(ttl: Duration) -> Self {
        Self {
            entries: Arc::default(),
            ttl,
        }
    }

    /// The tenant's settings; `NOT_FOUND` when the tenant does not exist.
    pub async fn get<C: Executor>(
        &self,
        conn: &C,
        tenant_id: Uuid,
    ) -> AppResult<Arc<TenantSettings>> {
        if let Some((settings, at)) = self.read().get(&tenant_id)
            && at.elapsed() < self.ttl
        {
            return Ok(settings.clone());
        }
        let model = find(conn, tenant_id)
            .await?
            .ok_or(AppError::not_found("tenant"))?;
        let settings = Arc::new(TenantSettings::from_model(model));
        self.write()
            .insert(tenant_id, (settings.clone(), Instant::now()));
        Ok(settings)
    }

    pub fn invalidate(&self, tenant_id: Uuid) {
        self.write().remove(&tenant_id);
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, CacheEntries> {
        self.entries.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, CacheEntries> {
        self.entries.write().unwrap_or_else(|p| p.into_inner())
    }
}
