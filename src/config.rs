//! Settings: built-in defaults, then an optional `memodesk.toml`, then `MEMODESK_*` environment
//! variables (and `DATABASE_URL`), then command-line flags.
//!
//! Keys are flat so each has exactly one spelling everywhere: `llm_base_url` in the file is
//! `MEMODESK_LLM_BASE_URL` in the environment.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

/// Where the process runs; production refuses unsafe defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    Development,
    Production,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

/// How the OpenAI-compatible client asks for JSON: `json_schema` (OpenAI, vLLM, LM Studio,
/// Ollama ≥ 0.5), `json_object` (older servers) or `none` (prompt only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResponseFormat {
    JsonSchema,
    JsonObject,
    None,
}

/// A secret that never shows up in `Debug` output or logs.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Settings whose environment value is used verbatim (see `Settings::apply_raw_environment`).
const RAW_TEXT_KEYS: &[&str] = &[
    "JWT_SECRET",
    "LLM_API_KEY",
    "DATABASE_URL",
    "LLM_BASE_URL",
    "LLM_MODEL",
    "EMBEDDINGS_API_KEY",
    "EMBEDDINGS_BASE_URL",
    "EMBEDDINGS_MODEL",
    "EMBEDDINGS_MODEL_DIR",
    "PUBLIC_URL",
];

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Settings {
    /// `development` (default) or `production`.
    pub env: Environment,
    /// Where `serve` listens.
    pub addr: SocketAddr,
    /// `sqlite://…` or `postgres://…`; `None` means `sqlite://{data_dir}/memodesk.db`.
    pub database_url: Option<String>,
    /// Holds the embedded database and the generated JWT secret.
    pub data_dir: PathBuf,
    /// HS256 key; generated into `data_dir` in development when unset.
    pub jwt_secret: Option<Secret>,
    /// Lifetime of tokens issued by `login`.
    #[serde(with = "humantime_serde_compat")]
    pub login_token_ttl: std::time::Duration,
    /// Clock skew tolerated when checking `exp`, in seconds.
    pub jwt_leeway_secs: u64,
    /// PostgreSQL pool size.
    pub db_max_connections: u32,
    /// SQLite read connections (writes go through one connection).
    pub sqlite_read_connections: u32,
    /// How often the sweeper closes idle sessions.
    #[serde(with = "humantime_serde_compat")]
    pub sweep_interval: std::time::Duration,
    /// Whether this process runs background work (sweeper, jobs, event retention).
    pub workers_enabled: bool,
    /// Jobs one process runs at once.
    pub job_concurrency: usize,
    /// How long a claimed job is ours before another runner may take it over.
    #[serde(with = "humantime_serde_compat")]
    pub job_lease: std::time::Duration,
    pub job_max_attempts: i32,
    /// How long graceful shutdown waits for running jobs.
    #[serde(with = "humantime_serde_compat")]
    pub shutdown_grace: std::time::Duration,
    /// OpenAI-compatible base URL, e.g. `https://api.openai.com/v1` or
    /// `http://localhost:11434/v1`; unset means the built-in summarizer only.
    pub llm_base_url: Option<String>,
    pub llm_api_key: Option<Secret>,
    pub llm_model: String,
    #[serde(with = "humantime_serde_compat")]
    pub llm_timeout: std::time::Duration,
    pub llm_max_retries: u32,
    pub llm_response_format: ResponseFormat,
    /// Semantic search: an OpenAI-compatible base URL whose `/embeddings` endpoint embeds
    /// records and queries (e.g. `https://api.openai.com/v1`); unset means no endpoint.
    pub embeddings_base_url: Option<String>,
    pub embeddings_api_key: Option<Secret>,
    /// The endpoint's model.
    pub embeddings_model: String,
    /// Semantic search with a local static model instead: a directory in the model2vec format
    /// (`model.safetensors`, `tokenizer.json`, `config.json`). Ignored when a base URL is set.
    pub embeddings_model_dir: Option<PathBuf>,
    /// How long a batch of records may take to embed (background jobs).
    #[serde(with = "humantime_serde_compat")]
    pub embeddings_timeout: std::time::Duration,
    /// How long a search or memory context waits for its query's embedding before answering
    /// with lexical results alone.
    #[serde(with = "humantime_serde_compat")]
    pub embeddings_query_timeout: std::time::Duration,
    /// Records embedded per call to the embedder (and per transaction).
    pub embeddings_batch_size: usize,
    /// How often the background embedder looks for records without a vector of the current
    /// model.
    #[serde(with = "humantime_serde_compat")]
    pub embeddings_interval: std::time::Duration,
    /// The weight of the semantic ranking in reciprocal rank fusion (the lexical one weighs 1).
    pub search_semantic_weight: f64,
    /// Records less similar than this to the query are not semantic hits.
    pub search_min_similarity: f64,
    /// GraphQL query limits.
    pub graphql_max_depth: usize,
    /// The most a document may cost: each field 1, a page (`first`/`last`) multiplies what it
    /// selects by its size (see `graphql::cost`).
    pub graphql_max_complexity: usize,
    pub graphql_max_aliases: usize,
    /// Largest `first`/`last` of a connection.
    pub max_page_size: usize,
    /// Largest request body, bytes.
    pub max_body_bytes: usize,
    /// Per-request timeout.
    #[serde(with = "humantime_serde_compat")]
    pub request_timeout: std::time::Duration,
    /// How long a WebSocket may stay open without sending `connection_init`.
    #[serde(with = "humantime_serde_compat")]
    pub ws_init_timeout: std::time::Duration,
    /// Browser origins allowed to call the API (the bundled dashboard is same-origin).
    pub cors_origins: Vec<String>,
    /// The URL the outside world calls this server at (e.g. `https://memodesk.example.com`).
    /// Twilio signs the URL it called; behind a proxy, set this so signatures check against
    /// it rather than against forwarded headers.
    pub public_url: Option<String>,
    /// Behind a reverse proxy: take the client's address from the last `X-Forwarded-For`
    /// entry (the one the proxy added) for login throttling. Off by default: a client could
    /// otherwise pick its own address.
    pub trust_forwarded_for: bool,
    /// Outbound webhooks may target loopback, private, link-local and cloud-metadata addresses
    /// (`MEMODESK_WEBHOOKS_ALLOW_PRIVATE=true`; for tests and closed networks only).
    pub webhooks_allow_private: bool,
    /// The webhook sender wakes when an event is committed (in this process, or on another
    /// replica through PostgreSQL NOTIFY); it also looks for due retries and missed events this
    /// often (`MEMODESK_WEBHOOKS_POLL_INTERVAL`, e.g. `5s`).
    #[serde(with = "humantime_serde_compat")]
    pub webhooks_poll_interval: std::time::Duration,
    /// Wake the webhook sender on commits (`MEMODESK_WEBHOOKS_WAKE_ON_COMMIT`, default true);
    /// `false` leaves only the poll (the bench measures both).
    pub webhooks_wake_on_commit: bool,
    /// Webhook requests one process has in flight at once.
    pub webhooks_concurrency: usize,
    /// Each webhook request's limit, connecting included (`MEMODESK_WEBHOOKS_REQUEST_TIMEOUT`).
    #[serde(with = "humantime_serde_compat")]
    pub webhooks_request_timeout: std::time::Duration,
    pub log_format: LogFormat,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            env: Environment::Development,
            addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            database_url: None,
            data_dir: PathBuf::from("data"),
            jwt_secret: None,
            login_token_ttl: std::time::Duration::from_secs(12 * 3600),
            jwt_leeway_secs: 30,
            db_max_connections: 20,
            sqlite_read_connections: 4,
            sweep_interval: std::time::Duration::from_secs(60),
            workers_enabled: true,
            job_concurrency: 4,
            job_lease: std::time::Duration::from_secs(120),
            job_max_attempts: 5,
            shutdown_grace: std::time::Duration::from_secs(20),
            llm_base_url: None,
            llm_api_key: None,
            llm_model: "gpt-4o-mini".into(),
            llm_timeout: std::time::Duration::from_secs(30),
            llm_max_retries: 3,
            llm_response_format: ResponseFormat::JsonSchema,
            embeddings_base_url: None,
            embeddings_api_key: None,
            embeddings_model: "text-embedding-3-small".into(),
            embeddings_model_dir: None,
            embeddings_timeout: std::time::Duration::from_secs(30),
            embeddings_query_timeout: std::time::Duration::from_millis(1500),
            embeddings_batch_size: 64,
            embeddings_interval: std::time::Duration::from_secs(30),
            search_semantic_weight: 1.0,
            search_min_similarity: 0.2,
            graphql_max_depth: 12,
            graphql_max_complexity: 10_000,
            graphql_max_aliases: 30,
            max_page_size: 100,
            max_body_bytes: 8 * 1024 * 1024,
            request_timeout: std::time::Duration::from_secs(30),
            ws_init_timeout: std::time::Duration::from_secs(10),
            cors_origins: Vec::new(),
            public_url: None,
            trust_forwarded_for: false,
            webhooks_allow_private: false,
            webhooks_poll_interval: std::time::Duration::from_secs(5),
            webhooks_wake_on_commit: true,
            webhooks_concurrency: 64,
            webhooks_request_timeout: std::time::Duration::from_secs(15),
            log_format: LogFormat::Text,
        }
    }
}

impl Settings {
    /// Defaults ← `config_file` (or `./memodesk.toml` when present) ← environment.
    pub fn load(config_file: Option<&Path>) -> anyhow::Result<Self> {
        let mut figment = Figment::from(Serialized::defaults(Settings::default()));
        match config_file {
            Some(path) => {
                if !path.exists() {
                    bail!("config file {} does not exist", path.display());
                }
                figment = figment.merge(Toml::file_exact(path));
            }
            None => figment = figment.merge(Toml::file("memodesk.toml")),
        }
        let mut settings: Settings = figment
            .merge(
                Env::raw()
                    .only(&["DATABASE_URL"])
                    .map(|_| "database_url".into()),
            )
            .merge(
                Env::prefixed("MEMODESK_")
                    .ignore(&["CONFIG"])
                    .ignore(RAW_TEXT_KEYS),
            )
            .extract()
            .context("invalid configuration")?;
        settings.apply_raw_environment();
        settings.validate()?;
        Ok(settings)
    }

    /// Text settings taken from the environment exactly as written: the environment provider
    /// would otherwise read `MEMODESK_JWT_SECRET=0123456789` as the number 123456789.
    fn apply_raw_environment(&mut self) {
        let raw = |key: &str| {
            std::env::var(format!("MEMODESK_{}", key.to_ascii_uppercase()))
                .ok()
                .filter(|v| !v.is_empty())
        };
        if let Some(v) = raw("jwt_secret") {
            self.jwt_secret = Some(Secret::new(v));
        }
        if let Some(v) = raw("llm_api_key") {
            self.llm_api_key = Some(Secret::new(v));
        }
        if let Some(v) = raw("database_url") {
            self.database_url = Some(v);
        }
        if let Some(v) = raw("llm_base_url") {
            self.llm_base_url = Some(v);
        }
        if let Some(v) = raw("llm_model") {
            self.llm_model = v;
        }
        if let Some(v) = raw("embeddings_api_key") {
            self.embeddings_api_key = Some(Secret::new(v));
        }
        if let Some(v) = raw("embeddings_base_url") {
            self.embeddings_base_url = Some(v);
        }
        if let Some(v) = raw("embeddings_model") {
            self.embeddings_model = v;
        }
        if let Some(v) = raw("embeddings_model_dir") {
            self.embeddings_model_dir = Some(PathBuf::from(v));
        }
        if let Some(v) = raw("public_url") {
            self.public_url = Some(v);
        }
    }

    /// Checks what defaults cannot: nothing here touches the disk.
    pub fn validate(&self) -> anyhow::Result<()> {
        if self.env == Environment::Production {
            match &self.jwt_secret {
                None => bail!(
                    "MEMODESK_JWT_SECRET is required in production (at least 32 random bytes)"
                ),
                Some(secret) if secret.expose().len() < 32 => bail!(
                    "MEMODESK_JWT_SECRET is too short for production: {} bytes, at least 32 needed",
                    secret.expose().len()
                ),
                Some(_) => {}
            }
        }
        if self.max_page_size == 0 {
            bail!("max_page_size must be at least 1");
        }
        if self.job_concurrency == 0 {
            bail!("job_concurrency must be at least 1");
        }
        if self.ws_init_timeout.is_zero() {
            bail!("ws_init_timeout must be longer than zero");
        }
        if let Some(url) = &self.llm_base_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            bail!("llm_base_url must start with http:// or https://");
        }
        if let Some(url) = &self.embeddings_base_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            bail!("embeddings_base_url must start with http:// or https://");
        }
        if self.embeddings_batch_size == 0 {
            bail!("embeddings_batch_size must be at least 1");
        }
        if !(0.0..=10.0).contains(&self.search_semantic_weight) {
            bail!("search_semantic_weight must be between 0 and 10");
        }
        if let Some(url) = &self.public_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            bail!("public_url must start with http:// or https://");
        }
        Ok(())
    }

    /// The database to use: the configured URL or the embedded SQLite file in `data_dir`.
    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.clone(),
            None => format!("sqlite://{}/memodesk.db", self.data_dir.display()),
        }
    }
}

/// Durations as human text (`90s`, `15m`, `12h`) in files and the environment.
mod humantime_serde_compat {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &std::time::Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&humantime::format_duration(*d).to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<std::time::Duration, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Text(String),
            Seconds(u64),
        }
        match Raw::deserialize(d)? {
            Raw::Text(text) => humantime::parse_duration(&text).map_err(serde::de::Error::custom),
            Raw::Seconds(secs) => Ok(std::time::Duration::from_secs(secs)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn production_requires_a_long_secret() {
        let mut s = Settings {
            env: Environment::Production,
            ..Settings::default()
        };
        assert!(s.validate().unwrap_err().to_string().contains("required"));
        s.jwt_secret = Some(Secret::new("short"));
        assert!(s.validate().unwrap_err().to_string().contains("too short"));
        s.jwt_secret = Some(Secret::new("x".repeat(32)));
        assert!(s.validate().is_ok());
    }

    #[test]
    fn secrets_do_not_print() {
        let s = Settings {
            jwt_secret: Some(Secret::new("hunter2-hunter2")),
            ..Settings::default()
        };
        assert!(!format!("{s:?}").contains("hunter2"));
    }

    #[test]
    #[allow(clippy::result_large_err)] // figment's Jail API returns its own large error
    fn file_then_environment() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "memodesk.toml",
                "addr = \"0.0.0.0:9000\"\nllm_model = \"llama3\"\nsweep_interval = \"5m\"",
            )?;
            jail.set_env("MEMODESK_LLM_MODEL", "qwen2.5");
            jail.set_env("DATABASE_URL", "postgres://x@localhost/y");
            let s = Settings::load(None).map_err(|e| e.to_string())?;
            assert_eq!(s.addr.port(), 9000);
            assert_eq!(s.llm_model, "qwen2.5");
            assert_eq!(s.sweep_interval, std::time::Duration::from_secs(300));
            assert_eq!(s.database_url(), "postgres://x@localhost/y");
            jail.set_env("MEMODESK_DATABASE_URL", "sqlite://other.db");
            let s = Settings::load(None).map_err(|e| e.to_string())?;
            assert_eq!(s.database_url(), "sqlite://other.db");
            jail.set_env("MEMODESK_JWT_SECRET", "00123456789012345678901234567890123");
            let s = Settings::load(None).map_err(|e| e.to_string())?;
            assert_eq!(
                s.jwt_secret.as_ref().map(Secret::expose),
                Some("00123456789012345678901234567890123")
            );
            Ok(())
        });
    }
}
