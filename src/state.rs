//! What every request and worker shares: settings, database, keys, clock, caches, event hub.
//! Only components of the layers below the services: the services' own parts (ingest's
//! writers) are built on top of it (see `app`).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::auth::jwt::JwtKeys;
use crate::auth::links::LinkKeys;
use crate::auth::login_limiter::LoginLimiter;
use crate::clock::SharedClock;
use crate::config::Settings;
use crate::db::Db;
use crate::events::EventHub;
use crate::llm::SharedLanguageModel;
use crate::llm::embeddings::SharedEmbedder;
use crate::repo::tenants::TenantCache;

#[derive(Clone)]
pub struct AppState {
    pub settings: Arc<Settings>,
    pub db: Db,
    pub jwt: Arc<JwtKeys>,
    /// Signs download links (the subject access export).
    pub links: Arc<LinkKeys>,
    pub clock: SharedClock,
    pub tenants: TenantCache,
    pub events: EventHub,
    pub llm: SharedLanguageModel,
    /// Semantic search's embedder; `None` when not configured (search is lexical).
    pub embedder: Option<SharedEmbedder>,
    pub login_limiter: Arc<LoginLimiter>,
    /// Statements this process sent to the database (exported on `/metrics`).
    pub db_queries: Arc<AtomicU64>,
    /// Names this process in job leases.
    pub instance_id: Arc<str>,
    /// Wakes this process's job runner when work was queued here.
    pub jobs_notify: Arc<tokio::sync::Notify>,
}

impl AppState {
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
    }

    pub fn db_query_count(&self) -> u64 {
        self.db_queries.load(Ordering::Relaxed)
    }
}
