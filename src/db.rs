//! Database connections: the embedded SQLite file or PostgreSQL, and migrations.
//!
//! On SQLite, writes go through one sqlx connection: SQLite has one writer anyway, and queueing
//! in the pool is far cheaper than sleeping in SQLite's busy handler. Reads use a separate pool
//! of read-only connections (WAL lets them run beside the writer). On PostgreSQL both are the
//! same pool. On an SQLite file the two hot paths skip sqlx (see [`direct`]): the memory
//! context reads through [`sqlite_reader`], and ingest writes through [`sqlite_writer`], whose
//! one connection shares SQLite's write lock with the sqlx writer.

pub mod checkpoint;
pub mod direct;
pub mod executor;
pub mod fts5_rank;
pub mod sqlite_reader;
pub mod sqlite_writer;

use std::str::FromStr;
use std::time::Duration;

use anyhow::Context;
use checkpoint::Checkpointer;
use executor::Executor;
use futures::FutureExt;
use migration::{Migrator, MigratorTrait};
use sea_orm::{
    ConnectionTrait, DatabaseBackend, DatabaseConnection, DatabaseTransaction, DbErr,
    SqliteTransactionMode, SqlxPostgresConnector, SqlxSqliteConnector, TransactionOptions,
    TransactionTrait,
};
use sqlite_reader::SqliteReader;
use sqlite_writer::SqliteWriter;

/// Each SQLite connection's page cache, as `PRAGMA cache_size` takes it (negative: KiB).
pub const SQLITE_CACHE_SIZE: &str = "-32000";
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

/// Registers `memodesk_rank` (see [`fts5_rank`]) on each new sqlx SQLite connection.
fn with_rank(
    counts: &fts5_rank::WordCounts,
) -> impl for<'c> Fn(
    &'c mut sqlx::SqliteConnection,
    sqlx::pool::PoolConnectionMetadata,
) -> futures::future::BoxFuture<'c, Result<(), sqlx::Error>>
+ Send
+ Sync
+ 'static {
    let counts = counts.clone();
    move |conn, _| {
        let counts = counts.clone();
        Box::pin(async move {
            let mut handle = conn.lock_handle().await?;
            // SAFETY: the locked handle keeps sqlx's worker off the connection meanwhile.
            unsafe { fts5_rank::register(handle.as_raw_handle(), &counts) }
                .map_err(|e| sqlx::Error::Configuration(e.into()))
        })
    }
}

/// The connections the services use. Which driver serves which path is decided here and
/// nowhere else: services ask for [`Db::reader`], [`Db::writer`], [`Db::run_reads`] or (ingest
/// only) [`Db::ingest_writer`].
#[derive(Debug, Clone)]
pub struct Db {
    /// Every write and every transaction.
    write: DatabaseConnection,
    /// Reads that need not see an uncommitted write (most queries).
    read: DatabaseConnection,
    /// On an SQLite file: [`Db::run_reads`], without sqlx's per-statement thread hand-offs.
    /// `None` on PostgreSQL and in-memory SQLite.
    sqlite_reader: Option<SqliteReader>,
    /// On an SQLite file: ingest's write transactions, without sqlx's per-statement thread
    /// hand-offs. `None` on PostgreSQL and in-memory SQLite.
    sqlite_writer: Option<SqliteWriter>,
    /// On an SQLite file: checkpoints the WAL beside the writer (see [`checkpoint`]).
    _checkpointer: Option<Checkpointer>,
    /// On SQLite: the word counts search's ranking remembers (see [`fts5_rank`]).
    word_counts: fts5_rank::WordCounts,
}

/// Several reads that belong together (the memory context's), written once against
/// [`Executor`] and run by [`Db::run_reads`] on whichever driver serves them best.
#[allow(async_fn_in_trait)] // implemented in this crate only; callers see concrete types
pub trait ReadPlan: Send + 'static {
    type Output: Send + 'static;

    async fn run<C: Executor>(self, conn: &C) -> Result<Self::Output, DbErr>;
}

/// Connection options beyond the URL.
#[derive(Debug, Clone, Copy)]
pub struct PoolOptions {
    pub max_connections: u32,
    pub sqlite_read_connections: u32,
}

impl Default for PoolOptions {
    fn default() -> Self {
        Self {
            max_connections: 20,
            sqlite_read_connections: 4,
        }
    }
}

impl Db {
    /// Connects to `url` (`sqlite://path`, `sqlite::memory:`, `postgres://…`); creates the
    /// SQLite file and its directory when missing.
    pub async fn connect(url: &str, options: PoolOptions) -> anyhow::Result<Self> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let connect = PgConnectOptions::from_str(url).context("invalid PostgreSQL URL")?;
            let pool = PgPoolOptions::new()
                .max_connections(options.max_connections)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(connect)
                .await
                .context("cannot connect to PostgreSQL")?;
            let db = SqlxPostgresConnector::from_sqlx_postgres_pool(pool);
            return Ok(Self {
                write: db.clone(),
                read: db,
                sqlite_reader: None,
                sqlite_writer: None,
                _checkpointer: None,
                word_counts: Default::default(),
            });
        }
        if url.starts_with("sqlite:") {
            return Self::connect_sqlite(url, options).await;
        }
        anyhow::bail!("unsupported database URL: use sqlite://path/to/file.db or postgres://…")
    }

    async fn connect_sqlite(url: &str, options: PoolOptions) -> anyhow::Result<Self> {
        let base = SqliteConnectOptions::from_str(url)
            .context("invalid SQLite URL")?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // WAL + NORMAL is durable across application crashes; only an OS crash can lose
            // the last transactions, which is the usual trade for an embedded default.
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10))
            .pragma("temp_store", "memory")
            .pragma("cache_size", SQLITE_CACHE_SIZE);
        let word_counts = fts5_rank::WordCounts::default();
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        if !in_memory
            && let Some(dir) = base.get_filename().parent()
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        // A file's WAL is checkpointed by `checkpoint::Checkpointer`, not inside the writer's
        // commits.
        let writer = if in_memory {
            base.clone()
        } else {
            base.clone().pragma("wal_autocheckpoint", "0")
        };
        let write_pool = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .acquire_timeout(Duration::from_secs(30))
            // A local file: a ping before each use would cost a thread hand-off and tell
            // nothing.
            .test_before_acquire(false)
            .idle_timeout(None)
            .max_lifetime(None)
            .after_connect(with_rank(&word_counts))
            .connect_with(writer)
            .await
            .context("cannot open the SQLite database")?;
        let write = SqlxSqliteConnector::from_sqlx_sqlite_pool(write_pool.clone());
        if in_memory {
            // A second pool would open a second, empty in-memory database.
            return Ok(Self {
                read: write.clone(),
                write,
                sqlite_reader: None,
                sqlite_writer: None,
                _checkpointer: None,
                word_counts,
            });
        }
        let readers = options.sqlite_read_connections.max(1);
        let read_pool = SqlitePoolOptions::new()
            .max_connections(readers)
            .acquire_timeout(Duration::from_secs(30))
            .idle_timeout(None)
            .max_lifetime(None)
            .after_connect(with_rank(&word_counts))
            .connect_with(base.clone().read_only(true).create_if_missing(false))
            .await
            .context("cannot open the SQLite database for reading")?;
        let sqlite_reader = SqliteReader::open(base.get_filename(), readers as usize)
            .context("cannot open the SQLite database for reading")?;
        let sqlite_writer = SqliteWriter::open(base.get_filename(), write_pool.clone())
            .context("cannot open the SQLite database for writing")?;
        let checkpointer = Checkpointer::start(base.get_filename())
            .context("cannot open the SQLite database for checkpoints")?;
        Ok(Self {
            write,
            read: SqlxSqliteConnector::from_sqlx_sqlite_pool(read_pool),
            sqlite_reader: Some(sqlite_reader),
            sqlite_writer: Some(sqlite_writer),
            _checkpointer: Some(checkpointer),
            word_counts,
        })
    }

    /// Forgets the word counts search's ranking remembers (see [`fts5_rank`]): erasure and
    /// retention call it, since they are counts of words customers wrote.
    pub fn forget_search_counts(&self) {
        self.word_counts.forget();
    }

    /// How many words' counts search's ranking remembers (for tests and diagnostics).
    pub fn remembered_search_words(&self) -> usize {
        self.word_counts.len()
    }

    /// The connection for reads that need not see an uncommitted write (most queries).
    pub fn reader(&self) -> &DatabaseConnection {
        &self.read
    }

    /// The connection for writes outside a transaction, and for reads that must see every
    /// committed write at once (a lookup right before a write).
    pub fn writer(&self) -> &DatabaseConnection {
        &self.write
    }

    /// On an SQLite file, the connection ingest writes through from a thread of its own (see
    /// [`sqlite_writer`]); `None` where ingest writes through [`Db::begin_write`].
    pub fn ingest_writer(&self) -> Option<&SqliteWriter> {
        self.sqlite_writer.as_ref()
    }

    /// Runs `plan`'s reads: on an SQLite file all of them on one `rusqlite` read-only
    /// connection in one hop to the blocking pool (sqlx would hand each statement between
    /// threads); elsewhere on the read pool.
    pub async fn run_reads<P: ReadPlan>(&self, plan: P) -> Result<P::Output, DbErr> {
        match &self.sqlite_reader {
            Some(reader) => {
                reader
                    .read(move |statements| {
                        // The rusqlite futures finish at their first poll.
                        plan.run(statements).now_or_never().unwrap_or_else(|| {
                            Err(DbErr::Custom("an SQLite read did not finish".into()))
                        })
                    })
                    .await
            }
            None => plan.run(&self.read).await,
        }
    }

    /// Whether the `rusqlite` paths ([`Db::run_reads`], [`Db::ingest_writer`]) are in use.
    pub fn has_rusqlite_paths(&self) -> bool {
        self.sqlite_reader.is_some()
    }

    /// The same database with every read and write through SeaORM, for comparing the two
    /// drivers (tests and benchmarks).
    pub fn seaorm_only(&self) -> Self {
        Self {
            sqlite_reader: None,
            sqlite_writer: None,
            ..self.clone()
        }
    }

    /// Calls `observer` after each statement on every connection (metrics).
    pub fn set_metric_callback<F>(&mut self, observer: F)
    where
        F: Fn(&sea_orm::metric::Info<'_>) + Send + Sync + Clone + 'static,
    {
        self.write.set_metric_callback(observer.clone());
        self.read.set_metric_callback(observer.clone());
        if let Some(reader) = &mut self.sqlite_reader {
            reader.set_metric_callback(observer.clone());
        }
        if let Some(writer) = &mut self.sqlite_writer {
            writer.set_metric_callback(observer);
        }
    }

    /// Starts a write transaction. On SQLite it takes the write lock at once (`BEGIN
    /// IMMEDIATE`): a transaction that reads first and then tries to write cannot wait for the
    /// lock (SQLite answers busy at once rather than risk a deadlock), and the WAL checkpointer
    /// and the CLI may hold it for a moment.
    pub async fn begin_write(&self) -> Result<DatabaseTransaction, DbErr> {
        if self.is_postgres() {
            return self.write.begin().await;
        }
        self.write
            .begin_with_options(TransactionOptions {
                sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
                ..Default::default()
            })
            .await
    }

    pub fn backend(&self) -> DatabaseBackend {
        self.write.get_database_backend()
    }

    pub fn is_postgres(&self) -> bool {
        self.backend() == DatabaseBackend::Postgres
    }

    /// Applies pending migrations; harmless when there are none. On PostgreSQL an advisory
    /// lock makes replicas that start together take turns.
    pub async fn migrate(&self) -> anyhow::Result<()> {
        if self.is_postgres() {
            let txn = self.write.begin().await?;
            txn.execute_unprepared("SELECT pg_advisory_xact_lock(4173920117)")
                .await?;
            Migrator::up(&txn, None).await.context("migration failed")?;
            txn.commit().await?;
        } else {
            Migrator::up(&self.write, None)
                .await
                .context("migration failed")?;
        }
        Ok(())
    }

    /// Whether the database answers (for `/readyz`).
    pub async fn ping(&self) -> bool {
        self.read.ping().await.is_ok() && self.write.ping().await.is_ok()
    }

    pub async fn close(self) {
        let _ = self.read.close().await;
        let _ = self.write.close().await;
    }
}

/// Whether `err` is a unique-key violation, from sqlx or from a rusqlite connection.
pub fn is_unique_violation(err: &DbErr) -> bool {
    matches!(
        err.sql_err(),
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
    ) || matches!(err, DbErr::Custom(text) if text.starts_with(direct::UNIQUE_VIOLATION))
}

/// A fresh SQLite file in a temporary directory (removed with the returned guard), and the
/// app's connections to it.
#[cfg(test)]
pub(crate) async fn temp_sqlite() -> (tempfile::TempDir, std::path::PathBuf, Db) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("test.db");
    let db = Db::connect(
        &format!("sqlite://{}", path.display()),
        PoolOptions::default(),
    )
    .await
    .expect("SQLite file");
    (dir, path, db)
}

#[cfg(test)]
mod tests {
    #[test]
    fn each_sqlite_connection_keeps_its_own_page_cache() {
        // `.cargo/config.toml` builds the bundled SQLite without SQLITE_ENABLE_MEMORY_MANAGEMENT,
        // under which every connection's page reads would queue for one process-wide mutex.
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        let mut stmt = conn.prepare("PRAGMA compile_options").unwrap();
        let options: Vec<String> = stmt
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert!(options.iter().any(|o| o == "ENABLE_FTS5"), "{options:?}");
        assert!(
            !options.iter().any(|o| o == "ENABLE_MEMORY_MANAGEMENT"),
            "build from the repository (its .cargo/config.toml sets LIBSQLITE3_FLAGS): {options:?}"
        );
    }
}
