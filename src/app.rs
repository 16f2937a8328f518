//! Assembling the process: database, state, schema, router, workers, and a bound listener.
//!
//! `App::build` binds before it serves, so tests start the real server on port 0 and read the
//! address back.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use metrics::{describe_counter, describe_gauge, describe_histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::auth::jwt::JwtKeys;
use crate::auth::links::LinkKeys;
use crate::auth::login_limiter::LoginLimiter;
use crate::clock::{SharedClock, SystemClock};
use crate::config::{Environment, Settings};
use crate::db::{Db, PoolOptions};
use crate::events::EventHub;
use crate::graphql;
use crate::http::{self, HttpState};
use crate::llm::embeddings::{self, SharedEmbedder};
use crate::llm::{self, SharedLanguageModel};
use crate::repo::tenants::TenantCache;
use crate::services::ingest::Ingest;
use crate::state::AppState;

/// What tests and embedders may swap.
#[derive(Clone)]
pub struct AppOptions {
    pub clock: SharedClock,
    /// The summarizer; the built-in one (or the configured LLM) when `None`.
    pub llm: Option<SharedLanguageModel>,
    /// The embedder of semantic search; the configured one (if any) when `None`.
    pub embedder: Option<SharedEmbedder>,
}

impl Default for AppOptions {
    fn default() -> Self {
        Self {
            clock: Arc::new(SystemClock),
            llm: None,
            embedder: None,
        }
    }
}

/// A built, not yet serving, memodesk.
pub struct App {
    listener: TcpListener,
    router: Router,
    state: AppState,
    ingest: Ingest,
    shutdown: CancellationToken,
}

impl App {
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        Self::build_with(settings, AppOptions::default()).await
    }

    /// Connects and migrates the database, builds the state and binds `settings.addr`.
    pub async fn build_with(settings: Settings, options: AppOptions) -> anyhow::Result<Self> {
        let state = build_state(settings, options).await?;
        let ingest = Ingest::start(&state).context("starting the ingest writer")?;
        let schema = graphql::build_schema(state.clone(), ingest.clone());
        let router = http::router(HttpState {
            app: state.clone(),
            ingest: ingest.clone(),
            schema,
            metrics: Some(metrics_handle()),
            documents: Default::default(),
        });
        let listener = TcpListener::bind(state.settings.addr)
            .await
            .with_context(|| format!("cannot listen on {}", state.settings.addr))?;
        Ok(Self {
            listener,
            router,
            state,
            ingest,
            shutdown: CancellationToken::new(),
        })
    }

    pub fn local_addr(&self) -> anyhow::Result<SocketAddr> {
        Ok(self.listener.local_addr()?)
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Records messages through this app's ingest writers.
    pub fn ingest(&self) -> &Ingest {
        &self.ingest
    }

    /// Cancelling this token stops the server gracefully.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// Serves until Ctrl-C or SIGTERM.
    pub async fn run(self) -> anyhow::Result<()> {
        let token = self.shutdown.clone();
        tokio::spawn(async move {
            shutdown_signal().await;
            token.cancel();
        });
        self.run_until_cancelled().await
    }

    /// Serves until the shutdown token is cancelled, then drains in-flight requests and lets
    /// running jobs finish (up to `shutdown_grace`).
    pub async fn run_until_cancelled(self) -> anyhow::Result<()> {
        let token = self.shutdown.clone();
        let addr = self.listener.local_addr()?;
        let mut workers = if self.state.settings.workers_enabled {
            crate::workers::spawn(&self.state, &self.shutdown)
        } else {
            tokio::task::JoinSet::new()
        };
        let dispatcher = self.state.events.start(&self.state.db, &self.shutdown);
        tracing::info!(%addr, workers = self.state.settings.workers_enabled, "memodesk listening");
        let served = axum::serve(
            self.listener,
            self.router
                .into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .with_graceful_shutdown(async move { token.cancelled().await })
        .await
        .context("server error");
        self.shutdown.cancel();
        while workers.join_next().await.is_some() {}
        for task in dispatcher {
            let _ = task.await;
        }
        served?;
        self.state.db.clone().close().await;
        tracing::info!("memodesk stopped");
        Ok(())
    }
}

/// Everything but the network and ingest's writers ([`Ingest::start`]): usable by the CLI and
/// tests without serving.
pub async fn build_state(settings: Settings, options: AppOptions) -> anyhow::Result<AppState> {
    settings.validate()?;
    let jwt_secret = resolve_jwt_secret(&settings)?;
    let queries = Arc::new(AtomicU64::new(0));
    let mut db = Db::connect(
        &settings.database_url(),
        PoolOptions {
            max_connections: settings.db_max_connections,
            sqlite_read_connections: settings.sqlite_read_connections,
        },
    )
    .await?;
    instrument(&mut db, queries.clone());
    db.migrate().await?;
    let llm = match options.llm {
        Some(llm) => llm,
        None => llm::from_settings(&settings)?,
    };
    let embedder = match options.embedder {
        Some(embedder) => Some(embedder),
        None => embeddings::from_settings(&settings)?,
    };
    Ok(AppState {
        embedder,
        jwt: Arc::new(JwtKeys::new(&jwt_secret, settings.jwt_leeway_secs)),
        links: Arc::new(LinkKeys::new(&jwt_secret)),
        clock: options.clock,
        tenants: TenantCache::new(Duration::from_secs(5)),
        events: EventHub::new(),
        llm,
        login_limiter: Arc::new(LoginLimiter::default()),
        db_queries: queries,
        instance_id: format!("{}-{}", hostname(), uuid::Uuid::now_v7().simple()).into(),
        jobs_notify: Arc::new(tokio::sync::Notify::new()),
        db,
        settings: Arc::new(settings),
    })
}

/// Counts statements and records their latency.
fn instrument(db: &mut Db, counter: Arc<AtomicU64>) {
    let callback = move |info: &sea_orm::metric::Info<'_>| {
        counter.fetch_add(1, Ordering::Relaxed);
        metrics::histogram!("memodesk_db_statement_seconds").record(info.elapsed.as_secs_f64());
        if info.failed {
            metrics::counter!("memodesk_db_statement_errors_total").increment(1);
        }
    };
    db.set_metric_callback(callback);
}

/// The process-wide Prometheus recorder (installed once, shared by every `App` in a process).
pub fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Suffix("_seconds".into()),
                    &[
                        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
                        5.0, 10.0, 30.0,
                    ],
                )
                .unwrap_or_else(|_| PrometheusBuilder::new());
            let recorder = builder.build_recorder();
            let handle = recorder.handle();
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!("a metrics recorder was already installed; /metrics may be empty");
            }
            register_metrics();
            handle
        })
        .clone()
}

/// Registers every metric the README documents, zero-valued, with its help text, so a fresh
/// server's `/metrics` already lists them (dashboards and alerts need not wait for first use).
/// Labelled metrics get their known label values.
fn register_metrics() {
    crate::services::privacy::register_metrics();
    describe_counter!(
        "memodesk_messages_recorded_total",
        "Messages recorded (duplicates of an external id not counted)"
    );
    metrics::counter!("memodesk_messages_recorded_total").increment(0);
    describe_counter!(
        "memodesk_sessions_closed_total",
        "Conversations closed, by reason"
    );
    for reason in crate::domain::CloseReason::ALL {
        metrics::counter!("memodesk_sessions_closed_total", "reason" => reason.as_str())
            .increment(0);
    }
    describe_counter!(
        "memodesk_jobs_total",
        "Background job attempts by kind and outcome (done, retried, dead, lost)"
    );
    describe_histogram!("memodesk_job_seconds", "Time a job attempt took, by kind");
    describe_gauge!(
        "memodesk_jobs",
        "Jobs queued, by kind and status (pending, running, dead)"
    );
    for kind in JOB_KINDS {
        for outcome in ["done", "retried", "dead", "lost"] {
            metrics::counter!("memodesk_jobs_total", "kind" => *kind, "outcome" => outcome)
                .increment(0);
        }
        let _ = metrics::histogram!("memodesk_job_seconds", "kind" => *kind);
        for status in ["pending", "running", "dead"] {
            metrics::gauge!("memodesk_jobs", "kind" => *kind, "status" => status).set(0.0);
        }
    }
    describe_histogram!(
        "memodesk_summary_seconds",
        "Time to summarize one conversation (LLM or built-in, storing included)"
    );
    let _ = metrics::histogram!("memodesk_summary_seconds");
    describe_counter!(
        "memodesk_summaries_written_total",
        "Summaries stored, by provider and whether the built-in summarizer stood in"
    );
    metrics::counter!("memodesk_summaries_written_total", "provider" => "builtin", "fallback" => "false")
        .increment(0);
    describe_counter!(
        "memodesk_summary_fallbacks_total",
        "Summaries the built-in summarizer wrote because the LLM failed or answered badly"
    );
    metrics::counter!("memodesk_summary_fallbacks_total").increment(0);
    describe_histogram!("memodesk_llm_request_seconds", "Time of one LLM request");
    let _ = metrics::histogram!("memodesk_llm_request_seconds");
    describe_counter!(
        "memodesk_llm_errors_total",
        "Failed LLM requests by kind (connect, timeout, or the HTTP status)"
    );
    for kind in ["connect", "timeout"] {
        metrics::counter!("memodesk_llm_errors_total", "kind" => kind).increment(0);
    }
    describe_counter!(
        "memodesk_llm_circuit_opened_total",
        "Times the circuit breaker stopped calling a failing LLM provider"
    );
    metrics::counter!("memodesk_llm_circuit_opened_total").increment(0);
    describe_gauge!(
        "memodesk_subscribers",
        "Live subscriptions open in this process"
    );
    metrics::gauge!("memodesk_subscribers").set(0.0);
    describe_counter!(
        "memodesk_subscribers_lagged_total",
        "Subscribers dropped for falling too far behind (they get a RESYNC)"
    );
    metrics::counter!("memodesk_subscribers_lagged_total").increment(0);
    describe_histogram!(
        "memodesk_db_statement_seconds",
        "Time of one database statement"
    );
    let _ = metrics::histogram!("memodesk_db_statement_seconds");
    describe_counter!(
        "memodesk_db_statement_errors_total",
        "Database statements that failed"
    );
    metrics::counter!("memodesk_db_statement_errors_total").increment(0);
}

/// The kinds of background job, for metrics registered before any job ran.
const JOB_KINDS: &[&str] = &[crate::services::summaries::SUMMARIZE_SESSION];

/// The JWT key: configured, or (development only) generated once into the data directory.
fn resolve_jwt_secret(settings: &Settings) -> anyhow::Result<Vec<u8>> {
    if let Some(secret) = &settings.jwt_secret {
        if secret.expose().len() < 32 {
            tracing::warn!(
                "MEMODESK_JWT_SECRET is shorter than 32 bytes; fine for development only"
            );
        }
        return Ok(secret.expose().as_bytes().to_vec());
    }
    if settings.env == Environment::Production {
        anyhow::bail!("MEMODESK_JWT_SECRET is required in production");
    }
    let path = settings.data_dir.join("jwt-secret");
    load_or_create_secret(&path)
}

fn load_or_create_secret(path: &Path) -> anyhow::Result<Vec<u8>> {
    use std::io::Write;
    if let Ok(existing) = std::fs::read_to_string(path) {
        let trimmed = existing.trim();
        if trimmed.len() >= 32 {
            return Ok(trimmed.as_bytes().to_vec());
        }
        anyhow::bail!("{} holds a secret shorter than 32 bytes", path.display());
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let mut bytes = [0u8; 48];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut bytes);
    let secret = base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, bytes);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(mut file) => {
            file.write_all(secret.as_bytes())?;
            tracing::info!(path = %path.display(), "generated a JWT secret for development");
            Ok(secret.into_bytes())
        }
        // Another process created it first: use theirs.
        Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {
            Ok(std::fs::read_to_string(path)?.trim().as_bytes().to_vec())
        }
        Err(err) => Err(err).with_context(|| format!("cannot write {}", path.display())),
    }
}

fn hostname() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "memodesk".into())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_secrets_are_private_and_stable() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/jwt-secret");
        let first = load_or_create_secret(&path).unwrap();
        assert!(first.len() >= 32);
        assert_eq!(load_or_create_secret(&path).unwrap(), first);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
