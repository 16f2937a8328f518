//! Shared bench plumbing: configuration from the environment, a fresh database per run (a
//! SQLite file, or a PostgreSQL database created under `MEMODESK_BENCH_POSTGRES_URL`), the real
//! server on port 0, closed-loop clients with latency histograms, and the report format.

pub mod dataset;
pub mod process;
pub mod sql;
pub mod text;

/// The server's allocator (see `src/main.rs`), so the app measured here is the app that runs.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use hdrhistogram::Histogram;
use indicatif::{ProgressBar, ProgressStyle};
use memodesk::app::{App, AppOptions};
use memodesk::config::{Secret, Settings};
use memodesk::domain::StaffRole;
use memodesk::state::AppState;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

pub const JWT_SECRET: &str = "bench-secret-bench-secret-bench-secret-0123";

/// What to run, from the environment.
#[derive(Debug, Clone)]
pub struct Config {
    pub leads: usize,
    pub messages: usize,
    /// Measured operations (requests, or messages for ingest).
    pub samples: usize,
    pub clients: usize,
    pub seed: u64,
    /// A measured phase stops sending after this long (a slow build still finishes); what was
    /// sent is what is reported, and the baseline replays the same operations.
    pub max_phase: Duration,
    /// SQLite only: run `ANALYZE` after generating (the app never does; PostgreSQL's
    /// autovacuum does, so the generator always analyzes there).
    pub analyze: bool,
    /// The admin URL of a PostgreSQL server; SQLite when unset.
    pub postgres_url: Option<String>,
    /// Not started by `cargo bench` (e.g. `cargo test --benches`): a tiny run that only checks
    /// the bench still works.
    pub smoke: bool,
}

impl Config {
    /// `MEMODESK_BENCH_LEADS` (100000), `MEMODESK_BENCH_MESSAGES` (1000000),
    /// `MEMODESK_BENCH_SAMPLES` (`default_samples`), `MEMODESK_BENCH_CLIENTS` (8),
    /// `MEMODESK_BENCH_SEED` (42), `MEMODESK_BENCH_MAX_SECONDS` (300, per measured phase),
    /// `MEMODESK_BENCH_ANALYZE` (unset), `MEMODESK_BENCH_POSTGRES_URL`.
    pub fn from_env(default_samples: usize) -> anyhow::Result<Self> {
        let smoke = !std::env::args().any(|a| a == "--bench");
        let (leads, messages, samples) = if smoke {
            (300, 3_000, 200)
        } else {
            (100_000, 1_000_000, default_samples)
        };
        let config = Self {
            leads: env_number("MEMODESK_BENCH_LEADS", leads)?,
            messages: env_number("MEMODESK_BENCH_MESSAGES", messages)?,
            samples: env_number("MEMODESK_BENCH_SAMPLES", samples)?,
            clients: env_number("MEMODESK_BENCH_CLIENTS", 8)?,
            seed: env_number("MEMODESK_BENCH_SEED", 42)? as u64,
            max_phase: Duration::from_secs(env_number("MEMODESK_BENCH_MAX_SECONDS", 300)? as u64),
            analyze: std::env::var_os("MEMODESK_BENCH_ANALYZE").is_some(),
            postgres_url: std::env::var("MEMODESK_BENCH_POSTGRES_URL")
                .ok()
                .filter(|u| !u.trim().is_empty()),
            smoke,
        };
        if config.leads < 100 {
            bail!("MEMODESK_BENCH_LEADS must be at least 100");
        }
        if config.messages < config.leads {
            bail!("MEMODESK_BENCH_MESSAGES must be at least MEMODESK_BENCH_LEADS (one per lead)");
        }
        if config.leads > 8_000_000 {
            bail!("MEMODESK_BENCH_LEADS above 8000000 would repeat phone numbers");
        }
        if config.clients == 0 || config.samples < config.clients {
            bail!("MEMODESK_BENCH_CLIENTS must be at least 1 and at most MEMODESK_BENCH_SAMPLES");
        }
        Ok(config)
    }

    pub fn backend(&self) -> &'static str {
        if self.postgres_url.is_some() {
            "postgres"
        } else {
            "sqlite"
        }
    }

    pub fn size(&self) -> dataset::Size {
        dataset::Size {
            leads: self.leads,
            messages: self.messages,
            seed: self.seed,
            analyze: self.analyze,
        }
    }

    /// When a phase starting now must stop sending (warm-ups get a fifth of the time).
    pub fn deadline(&self, warmup: bool) -> Instant {
        let limit = if warmup {
            self.max_phase / 5
        } else {
            self.max_phase
        };
        Instant::now() + limit
    }
}

/// SQLite read connections for the app and for the baseline: `MEMODESK_BENCH_SQLITE_READERS`
/// (default 4, the app's default).
pub fn sqlite_readers() -> anyhow::Result<u32> {
    let readers = env_number("MEMODESK_BENCH_SQLITE_READERS", 4)?;
    if readers == 0 || readers > 64 {
        bail!("MEMODESK_BENCH_SQLITE_READERS must be between 1 and 64");
    }
    Ok(readers as u32)
}

fn env_number(name: &str, default: usize) -> anyhow::Result<usize> {
    match std::env::var(name) {
        Ok(value) if !value.trim().is_empty() => value
            .trim()
            .replace('_', "")
            .parse()
            .with_context(|| format!("{name} must be a whole number, got `{value}`")),
        _ => Ok(default),
    }
}

/// Process-wide setup: the rustls provider (as `main` and the tests install it), and the app's
/// logs on standard error when `MEMODESK_BENCH_LOG` is set (levels from `RUST_LOG`, e.g.
/// `RUST_LOG=sqlx::query=debug` for every statement with its time).
pub fn init() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    if std::env::var_os("MEMODESK_BENCH_LOG").is_some() {
        memodesk::telemetry::init(memodesk::config::LogFormat::Text);
    }
}

/// A multi-threaded runtime with one worker per core, like `#[tokio::main]`.
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

/// A database that lives as long as the bench: a SQLite file in a temporary directory, or a
/// PostgreSQL database dropped when this is dropped.
pub struct BenchDb {
    pub url: String,
    kind: DbKind,
}

enum DbKind {
    Sqlite {
        _dir: tempfile::TempDir,
        path: PathBuf,
    },
    Postgres {
        admin_url: String,
        name: String,
    },
}

impl BenchDb {
    /// An empty database (the generator migrates it).
    pub async fn create(config: &Config, label: &str) -> anyhow::Result<Self> {
        match &config.postgres_url {
            None => {
                let dir = tempfile::Builder::new()
                    .prefix("memodesk-bench-")
                    .tempdir()
                    .context("creating a temporary directory")?;
                let path = dir.path().join("memodesk.db");
                Ok(Self {
                    url: format!("sqlite://{}", path.display()),
                    kind: DbKind::Sqlite { _dir: dir, path },
                })
            }
            Some(admin_url) => {
                drop_stale_databases(admin_url).await?;
                let name = format!("memodesk_bench_{}_{label}", std::process::id());
                pg_exec(
                    admin_url,
                    &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
                )
                .await?;
                pg_exec(admin_url, &format!("CREATE DATABASE {name}")).await?;
                Ok(Self {
                    url: database_url(admin_url, &name)?,
                    kind: DbKind::Postgres {
                        admin_url: admin_url.clone(),
                        name,
                    },
                })
            }
        }
    }

    /// The file, on SQLite.
    pub fn sqlite_path(&self) -> Option<&std::path::Path> {
        match &self.kind {
            DbKind::Sqlite { path, .. } => Some(path),
            DbKind::Postgres { .. } => None,
        }
    }

    /// An identical copy, for a baseline that must start from the same rows. Nothing may be
    /// connected to `self` while copying.
    pub async fn copy(&self, label: &str) -> anyhow::Result<Self> {
        match &self.kind {
            DbKind::Sqlite { path, .. } => {
                let dir = tempfile::Builder::new()
                    .prefix("memodesk-bench-")
                    .tempdir()
                    .context("creating a temporary directory")?;
                let copy = dir.path().join("memodesk.db");
                std::fs::copy(path, &copy)
                    .with_context(|| format!("copying {}", path.display()))?;
                for suffix in ["-wal", "-shm"] {
                    let side = PathBuf::from(format!("{}{suffix}", path.display()));
                    if side.exists() {
                        std::fs::copy(&side, format!("{}{suffix}", copy.display()))?;
                    }
                }
                let copy = Self {
                    url: format!("sqlite://{}", copy.display()),
                    kind: DbKind::Sqlite {
                        _dir: dir,
                        path: copy,
                    },
                };
                copy.settle()?;
                Ok(copy)
            }
            DbKind::Postgres { admin_url, name } => {
                let copy = format!("memodesk_bench_{}_{label}", std::process::id());
                pg_exec(
                    admin_url,
                    &format!("DROP DATABASE IF EXISTS {copy} WITH (FORCE)"),
                )
                .await?;
                pg_exec(
                    admin_url,
                    &format!("CREATE DATABASE {copy} TEMPLATE {name}"),
                )
                .await?;
                Ok(Self {
                    url: database_url(admin_url, &copy)?,
                    kind: DbKind::Postgres {
                        admin_url: admin_url.clone(),
                        name: copy,
                    },
                })
            }
        }
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self.kind, DbKind::Postgres { .. })
    }

    /// SQLite: waits until the file and its WAL are on disk. A freshly generated database is
    /// a gigabyte of dirty pages, and its copies as much again: without this, the kernel writes
    /// them back during the first measured phases, which then share the disk with it (and run
    /// slower than the phases after them). PostgreSQL checkpoints on its own.
    pub fn settle(&self) -> anyhow::Result<()> {
        if let DbKind::Sqlite { path, .. } = &self.kind {
            for suffix in ["", "-wal"] {
                let file = PathBuf::from(format!("{}{suffix}", path.display()));
                if file.exists() {
                    std::fs::File::open(&file)
                        .and_then(|f| f.sync_all())
                        .with_context(|| format!("syncing {}", file.display()))?;
                }
            }
        }
        Ok(())
    }

    /// On-disk size (SQLite: the file; PostgreSQL: `pg_database_size`).
    pub async fn size_bytes(&self) -> anyhow::Result<u64> {
        match &self.kind {
            DbKind::Sqlite { path, .. } => {
                let mut total = std::fs::metadata(path)?.len();
                if let Ok(wal) = std::fs::metadata(format!("{}-wal", path.display())) {
                    total += wal.len();
                }
                Ok(total)
            }
            DbKind::Postgres { admin_url, name } => {
                use sqlx::Connection;
                let mut conn = sqlx::PgConnection::connect(admin_url).await?;
                let size: i64 = sqlx::query_scalar("SELECT pg_database_size($1)")
                    .bind(name)
                    .fetch_one(&mut conn)
                    .await?;
                conn.close().await?;
                Ok(size as u64)
            }
        }
    }
}

impl Drop for BenchDb {
    fn drop(&mut self) {
        if std::env::var_os("MEMODESK_BENCH_KEEP").is_some() {
            if let DbKind::Sqlite { _dir: dir, .. } = &mut self.kind {
                dir.disable_cleanup(true);
            }
            eprintln!(
                "kept the bench database (MEMODESK_BENCH_KEEP): {}",
                self.url
            );
            return;
        }
        if let DbKind::Postgres { admin_url, name } = &self.kind {
            let (admin_url, name) = (admin_url.clone(), name.clone());
            // Drop may run inside the runtime: do the async cleanup on a thread of its own.
            let result = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()?;
                rt.block_on(pg_exec(
                    &admin_url,
                    &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
                ))
            })
            .join();
            if !matches!(result, Ok(Ok(()))) {
                eprintln!("warning: could not drop the bench database {}", self.url);
            }
        }
    }
}

/// `admin_url` with its database replaced by `name`.
fn database_url(admin_url: &str, name: &str) -> anyhow::Result<String> {
    let (base, query) = match admin_url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (admin_url, None),
    };
    let Some(scheme_end) = base.find("://") else {
        bail!("MEMODESK_BENCH_POSTGRES_URL is not a URL: {admin_url}");
    };
    let authority_start = scheme_end + 3;
    let server = match base[authority_start..].find('/') {
        Some(slash) => &base[..authority_start + slash],
        None => base,
    };
    Ok(match query {
        Some(q) => format!("{server}/{name}?{q}"),
        None => format!("{server}/{name}"),
    })
}

async fn pg_connect(url: &str) -> anyhow::Result<sqlx::PgConnection> {
    use sqlx::Connection;
    sqlx::PgConnection::connect(url).await.with_context(|| {
        format!(
            "cannot connect to PostgreSQL at {url} (MEMODESK_BENCH_POSTGRES_URL): is it running, \
             and may this user create databases?"
        )
    })
}

async fn pg_exec(url: &str, sql: &str) -> anyhow::Result<()> {
    use sqlx::Connection;
    let mut conn = pg_connect(url).await?;
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()))
        .execute(&mut conn)
        .await
        .with_context(|| format!("PostgreSQL refused: {sql}"))?;
    let _ = conn.close().await;
    Ok(())
}

/// Drops bench databases left behind by runs that were killed (their process is gone).
async fn drop_stale_databases(admin_url: &str) -> anyhow::Result<()> {
    use sqlx::Connection;
    let mut conn = pg_connect(admin_url).await?;
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT datname FROM pg_database WHERE datname LIKE 'memodesk\\_bench\\_%'",
    )
    .fetch_all(&mut conn)
    .await?;
    for name in names {
        let pid = name.split('_').nth(2).and_then(|p| p.parse::<u32>().ok());
        let alive = pid.is_some_and(|p| std::path::Path::new(&format!("/proc/{p}")).exists());
        if !alive {
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
            )))
            .execute(&mut conn)
            .await?;
        }
    }
    let _ = conn.close().await;
    Ok(())
}

/// The real server, on port 0, serving from a task of this runtime.
pub struct Server {
    pub addr: SocketAddr,
    pub state: AppState,
    shutdown: CancellationToken,
    handle: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Server {
    /// Builds the app on `url` with the default pools (PostgreSQL: 20 connections; SQLite: one
    /// writer and `MEMODESK_BENCH_SQLITE_READERS` readers, 4 by default) and no background
    /// workers.
    pub async fn start(url: &str) -> anyhow::Result<Self> {
        let settings = Settings {
            addr: "127.0.0.1:0".parse()?,
            database_url: Some(url.to_owned()),
            jwt_secret: Some(Secret::new(JWT_SECRET)),
            workers_enabled: false,
            sqlite_read_connections: sqlite_readers()?,
            ..Settings::default()
        };
        let app = App::build_with(settings, AppOptions::default())
            .await
            .context("building the app")?;
        let addr = app.local_addr()?;
        let state = app.state().clone();
        let shutdown = app.shutdown_token();
        let handle = tokio::spawn(app.run_until_cancelled());
        Ok(Self {
            addr,
            state,
            shutdown,
            handle,
        })
    }

    pub fn token(&self, tenant_id: Uuid, role: StaffRole) -> anyhow::Result<String> {
        self.state.jwt.issue(
            "bench",
            tenant_id,
            role,
            self.state.now(),
            chrono::Duration::hours(12),
        )
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Statement counters from `/metrics`.
    pub async fn scrape(&self) -> anyhow::Result<Scrape> {
        let body = reqwest::Client::new()
            .get(self.url("/metrics"))
            .send()
            .await?
            .text()
            .await?;
        let value = |name: &str| {
            body.lines()
                .find_map(|line| {
                    let (key, value) = line.split_once(' ')?;
                    (key == name).then(|| value.trim().parse::<f64>().ok())?
                })
                .unwrap_or(0.0)
        };
        Ok(Scrape {
            statements: value("memodesk_db_statements_total"),
            statement_seconds: value("memodesk_db_statement_seconds_sum"),
        })
    }

    pub async fn stop(self) -> anyhow::Result<()> {
        self.shutdown.cancel();
        self.handle.await??;
        Ok(())
    }
}

/// What `/metrics` says about database statements.
#[derive(Debug, Clone, Copy, Default)]
pub struct Scrape {
    pub statements: f64,
    /// Total time SeaORM measured around statements.
    pub statement_seconds: f64,
}

impl std::ops::Sub for Scrape {
    type Output = Scrape;
    fn sub(self, other: Scrape) -> Scrape {
        Scrape {
            statements: self.statements - other.statements,
            statement_seconds: self.statement_seconds - other.statement_seconds,
        }
    }
}

/// A GraphQL client with its own keep-alive connection.
pub struct GqlClient {
    client: reqwest::Client,
    url: String,
    auth: String,
}

impl GqlClient {
    pub fn new(server: &Server, token: &str) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(1)
            .tcp_nodelay(true)
            .build()?;
        Ok(Self {
            client,
            url: server.url("/graphql"),
            auth: format!("Bearer {token}"),
        })
    }

    /// Posts a prepared JSON body; an HTTP error or a top-level GraphQL error fails.
    pub async fn post(&self, body: Vec<u8>) -> anyhow::Result<impl AsRef<[u8]> + use<>> {
        let response = self
            .client
            .post(&self.url)
            .header(reqwest::header::AUTHORIZATION, &self.auth)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .await?;
        let status = response.status();
        let bytes = response.bytes().await?;
        if !status.is_success() || memchr_errors(&bytes) {
            bail!(
                "HTTP {status}: {}",
                String::from_utf8_lossy(&bytes[..bytes.len().min(600)])
            );
        }
        Ok(bytes)
    }
}

/// Whether a GraphQL response carries top-level errors (cheaply: responses put `data` first
/// and errors in an `"errors"` member).
fn memchr_errors(body: &[u8]) -> bool {
    body.windows(9).any(|w| w == b"\"errors\":")
}

/// A GraphQL request body.
pub fn gql_body(query: &str, variables: serde_json::Value) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({ "query": query, "variables": variables }))
        .unwrap_or_default()
}

/// Latencies and counts of one closed-loop run.
pub struct Run {
    pub hist: Histogram<u64>,
    pub wall: Duration,
    pub ops: u64,
    /// Operations there were to run; fewer ran when the phase hit its time limit.
    pub planned: u64,
    /// Operations each client completed, in client order.
    pub done: Vec<usize>,
    /// Messages, for ingest (one per op otherwise).
    pub items: u64,
}

impl Run {
    /// A percentile, in milliseconds.
    pub fn ms(&self, percentile: f64) -> f64 {
        self.hist.value_at_percentile(percentile) as f64 / 1e6
    }

    pub fn max_ms(&self) -> f64 {
        self.hist.max() as f64 / 1e6
    }

    pub fn ops_per_sec(&self) -> f64 {
        self.ops as f64 / self.wall.as_secs_f64()
    }

    pub fn items_per_sec(&self) -> f64 {
        self.items as f64 / self.wall.as_secs_f64()
    }

    /// A note when the phase stopped at its time limit.
    pub fn cut_note(&self) -> String {
        if self.ops < self.planned {
            format!(
                " (time limit: {} of {} operations ran)",
                self.ops, self.planned
            )
        } else {
            String::new()
        }
    }
}

/// Keeps, of each client's operations, those that client completed in `run`.
pub fn same_prefix<T>(hands: Vec<Vec<T>>, run: &Run) -> Vec<Vec<T>> {
    hands
        .into_iter()
        .zip(&run.done)
        .map(|(mut hand, &done)| {
            hand.truncate(done);
            hand
        })
        .collect()
}

fn histogram() -> Histogram<u64> {
    // 1 ns to 60 s at 3 significant digits.
    Histogram::new_with_bounds(1, 60_000_000_000, 3).expect("valid histogram bounds")
}

/// Runs each client's operations back to back (a closed loop: a client sends its next request
/// when the previous one is answered), all clients at once; times every operation.
pub async fn closed_loop<C, T, F, Fut>(
    label: &str,
    clients: Vec<(Arc<C>, Vec<T>)>,
    deadline: Instant,
    op: F,
) -> anyhow::Result<Run>
where
    C: Send + Sync + 'static,
    T: Send + 'static,
    F: Fn(Arc<C>, T) -> Fut + Send + Sync + Clone + 'static,
    Fut: Future<Output = anyhow::Result<u64>> + Send,
{
    let total: usize = clients.iter().map(|(_, ops)| ops.len()).sum();
    let bar = progress_bar(total as u64, label);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (client, ops) in clients {
        let op = op.clone();
        let bar = bar.clone();
        tasks.push(tokio::spawn(async move {
            let mut hist = histogram();
            let mut items = 0;
            for item in ops {
                if Instant::now() >= deadline {
                    break;
                }
                let t = Instant::now();
                items += op(client.clone(), item).await?;
                hist.record(t.elapsed().as_nanos().max(1) as u64)?;
                bar.inc(1);
            }
            Ok::<_, anyhow::Error>((hist, items))
        }));
    }
    let mut hist = histogram();
    let mut items = 0;
    let mut done = Vec::new();
    for task in tasks {
        let (h, n) = task.await??;
        done.push(h.len() as usize);
        hist.add(h)?;
        items += n;
    }
    let wall = started.elapsed();
    bar.finish_and_clear();
    Ok(Run {
        ops: hist.len(),
        planned: total as u64,
        done,
        hist,
        wall,
        items,
    })
}

/// Splits `items` round-robin over `n` clients.
pub fn deal<T>(items: Vec<T>, n: usize) -> Vec<Vec<T>> {
    let mut hands: Vec<Vec<T>> = (0..n).map(|_| Vec::new()).collect();
    for (i, item) in items.into_iter().enumerate() {
        hands[i % n].push(item);
    }
    hands
}

pub fn progress_bar(len: u64, label: &str) -> ProgressBar {
    let bar = ProgressBar::new(len);
    if let Ok(style) = ProgressStyle::with_template(
        "{msg:28} [{bar:40.cyan/blue}] {pos:>8}/{len:8} {per_sec:>12} eta {eta}",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(label.to_owned());
    bar
}

/// A phase announcement on standard error (progress bars hide when it is not a terminal).
pub fn step(text: &str) {
    eprintln!("[{}] {text}", chrono::Utc::now().format("%H:%M:%S"));
}

/// The database engine and its version, for the report header.
pub async fn engine(url: &str) -> String {
    use sqlx::Connection;
    let version = async {
        if url.starts_with("postgres") {
            let mut conn = sqlx::PgConnection::connect(url).await?;
            let v: String = sqlx::query_scalar("SHOW server_version")
                .fetch_one(&mut conn)
                .await?;
            conn.close().await?;
            Ok::<_, anyhow::Error>(format!("PostgreSQL {v}"))
        } else {
            let mut conn = sqlx::SqliteConnection::connect(url).await?;
            let v: String = sqlx::query_scalar("SELECT sqlite_version()")
                .fetch_one(&mut conn)
                .await?;
            conn.close().await?;
            let readers = sqlite_readers()?;
            Ok(format!("SQLite {v} (WAL; 1 writer, {readers} readers)"))
        }
    };
    version
        .await
        .unwrap_or_else(|err| format!("unknown version ({err})"))
}

/// The machine, for the report header.
pub fn machine() -> String {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, m)| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    format!("{cores} cores ({model})")
}

pub fn describe_dataset(data: &dataset::Dataset, bytes: u64) -> String {
    let c = &data.counts;
    format!(
        "{} tenants, {} leads ({} in the big tenant, {} in a live conversation), {} messages, \
         {} sessions, {} identities, {} notes, {} profile changes; {:.0} MiB; generated in {:.1} s \
         ({:.0} messages/s)",
        data.tenants.len(),
        c.leads,
        data.big_tenant().leads.len(),
        c.open_sessions,
        c.messages,
        c.sessions,
        c.identities,
        c.notes,
        c.profile_changes,
        bytes as f64 / (1024.0 * 1024.0),
        data.elapsed.as_secs_f64(),
        c.messages as f64 / data.elapsed.as_secs_f64(),
    )
}

/// `ok` or `MISSED`, for a target next to a figure.
pub fn verdict(ok: bool) -> &'static str {
    if ok { "ok" } else { "MISSED" }
}

/// Where one of this process's threads spent its time, from `/proc/self/task/*/schedstat`
/// (Linux): on a CPU, runnable but waiting for one, and blocked (I/O, locks, an empty queue).
/// Throughput on a shared 2-core VM moves with the neighbours; the writer's CPU time per
/// message moves far less, so builds are compared by it.
#[derive(Debug, Clone, Copy)]
pub struct ThreadTimes {
    at: Instant,
    on_cpu_ns: u64,
    runnable_ns: u64,
}

impl ThreadTimes {
    /// The totals so far of the first thread named `name`; `None` where there is no such
    /// thread or no `/proc`.
    pub fn of(name: &str) -> Option<Self> {
        for task in std::fs::read_dir("/proc/self/task").ok()? {
            let dir = task.ok()?.path();
            let comm = std::fs::read_to_string(dir.join("comm")).unwrap_or_default();
            if comm.trim_end() != name {
                continue;
            }
            let stat = std::fs::read_to_string(dir.join("schedstat")).ok()?;
            let mut fields = stat.split_whitespace().map(str::parse::<u64>);
            return Some(Self {
                at: Instant::now(),
                on_cpu_ns: fields.next()?.ok()?,
                runnable_ns: fields.next()?.ok()?,
            });
        }
        None
    }

    /// Since `earlier`, for `items` items: on-CPU µs per item, and the shares of the wall
    /// time on a CPU, waiting for one, and blocked.
    pub fn since(&self, earlier: &Self, items: u64) -> String {
        let wall = self.at.duration_since(earlier.at).as_nanos().max(1) as f64;
        let on = self.on_cpu_ns.saturating_sub(earlier.on_cpu_ns) as f64;
        let runnable = self.runnable_ns.saturating_sub(earlier.runnable_ns) as f64;
        let blocked = (wall - on - runnable).max(0.0);
        format!(
            "{:.1} µs of CPU per message; on a CPU {:.0}%, waiting for one {:.0}%, blocked {:.0}%",
            on / 1e3 / items.max(1) as f64,
            100.0 * on / wall,
            100.0 * runnable / wall,
            100.0 * blocked / wall,
        )
    }
}
