//! Ingest's write transactions on an SQLite file: one `rusqlite` connection, a whole transaction
//! in one hop to the blocking pool (see [`super::direct`] for why not sqlx).
//!
//! The rest of the app keeps writing through the sqlx writer connection. SQLite has one write
//! lock for both: every transaction takes it at its start (`BEGIN IMMEDIATE`), and whoever
//! finds it taken waits in SQLite's busy handler, as the checkpointer and the CLI already do.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};
use sea_orm::{DatabaseBackend, DbErr, EntityTrait, Select, Statement, TryIntoModel};

use super::direct::{Observer, Statements, driver_err};
use super::executor::{BeginWrite, Executor, WriteTx};

/// The connection, taken by one transaction at a time.
#[derive(Clone)]
pub struct SqliteWriter {
    conn: Arc<tokio::sync::Mutex<Connection>>,
    observer: Option<Observer>,
}

impl std::fmt::Debug for SqliteWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteWriter").finish_non_exhaustive()
    }
}

impl SqliteWriter {
    /// Opens a read-write connection to the database file at `path` (which must exist and be
    /// in WAL mode, as the sqlx writer leaves it), with the sqlx writer's settings.
    pub fn open(path: &Path) -> Result<Self, DbErr> {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(driver_err)?;
        conn.busy_timeout(Duration::from_secs(10))
            .map_err(driver_err)?;
        // As `Db::connect_sqlite` sets up the sqlx writer; the WAL is checkpointed by
        // `checkpoint::Checkpointer`, not inside commits.
        conn.execute_batch(
            "PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL; \
             PRAGMA temp_store = memory; PRAGMA cache_size = -32000; \
             PRAGMA wal_autocheckpoint = 0;",
        )
        .map_err(driver_err)?;
        conn.set_prepared_statement_cache_capacity(128);
        Ok(Self {
            conn: Arc::new(tokio::sync::Mutex::new(conn)),
            observer: None,
        })
    }

    /// Calls `observer` after each statement (see `SqliteReader::set_metric_callback`). Call
    /// before the writer is cloned.
    pub fn set_metric_callback<F>(&mut self, observer: F)
    where
        F: Fn(&sea_orm::metric::Info<'_>) + Send + Sync + 'static,
    {
        self.observer = Some(Arc::new(observer));
    }

    /// Runs `work` with the connection on tokio's blocking pool, after any transaction before
    /// it. `work` begins its own transactions with [`SqliteTx::begin`].
    pub async fn run<T, F>(&self, work: F) -> Result<T, DbErr>
    where
        T: Send + 'static,
        F: FnOnce(&Statements<'_>) -> T + Send + 'static,
    {
        let conn = self.conn.clone().lock_owned().await;
        let observer = self.observer.clone();
        tokio::task::spawn_blocking(move || {
            // A transaction an earlier caller left open (a panic, a failed rollback) ends
            // here, not inside this caller's.
            if !conn.is_autocommit() {
                conn.execute_batch("ROLLBACK").map_err(driver_err)?;
            }
            Ok(work(&Statements::new(&conn, observer.as_deref())))
        })
        .await
        .map_err(|err| DbErr::Custom(format!("SQLite write task failed: {err}")))?
    }
}

/// A transaction (or a savepoint in one) on the writer's connection. Dropped without
/// [`WriteTx::commit`], it rolls back.
pub struct SqliteTx<'s, 'c> {
    statements: &'s Statements<'c>,
    /// 0 for the transaction, n for its n-th nested savepoint.
    depth: usize,
    open: bool,
}

impl<'s, 'c> SqliteTx<'s, 'c> {
    /// `BEGIN IMMEDIATE`: takes the write lock now (waiting for it in the busy handler), so
    /// that no statement of the transaction can find it taken later.
    pub fn begin(statements: &'s Statements<'c>) -> Result<Self, DbErr> {
        statements.batch("BEGIN IMMEDIATE")?;
        Ok(Self {
            statements,
            depth: 0,
            open: true,
        })
    }

    /// Commits or rolls back. A failed commit leaves the transaction open, for `drop` to roll
    /// back.
    fn finish(&mut self, commit: bool) -> Result<(), DbErr> {
        match (self.depth, commit) {
            (0, true) => self.statements.batch("COMMIT")?,
            (0, false) => self.statements.batch("ROLLBACK")?,
            (n, true) => self.statements.batch(&format!("RELEASE sp{n}"))?,
            (n, false) => {
                self.statements.batch(&format!("ROLLBACK TO sp{n}"))?;
                self.statements.batch(&format!("RELEASE sp{n}"))?;
            }
        }
        self.open = false;
        Ok(())
    }
}

impl Drop for SqliteTx<'_, '_> {
    fn drop(&mut self) {
        if self.open
            && let Err(err) = self.finish(false)
        {
            // `SqliteWriter::run` rolls back whatever is left before the next transaction.
            tracing::error!(error = %err, "SQLite rollback failed");
        }
    }
}

impl Executor for SqliteTx<'_, '_> {
    fn backend(&self) -> DatabaseBackend {
        DatabaseBackend::Sqlite
    }

    async fn all<E: EntityTrait>(&self, select: Select<E>) -> Result<Vec<E::Model>, DbErr>
    where
        E::ActiveModel: TryIntoModel<E::Model>,
    {
        self.statements.all(select)
    }

    async fn one<E: EntityTrait>(&self, select: Select<E>) -> Result<Option<E::Model>, DbErr>
    where
        E::ActiveModel: TryIntoModel<E::Model>,
    {
        self.statements.one(select)
    }

    async fn execute(&self, statement: Statement) -> Result<u64, DbErr> {
        self.statements.execute(&statement)
    }

    async fn query_i64(&self, statement: Statement) -> Result<Option<i64>, DbErr> {
        self.statements.query_i64(&statement)
    }
}

impl WriteTx for SqliteTx<'_, '_> {
    async fn savepoint(&self) -> Result<Self, DbErr> {
        let depth = self.depth + 1;
        self.statements.batch(&format!("SAVEPOINT sp{depth}"))?;
        Ok(Self {
            statements: self.statements,
            depth,
            open: true,
        })
    }

    async fn commit(mut self) -> Result<(), DbErr> {
        self.finish(true)
    }

    async fn rollback(mut self) -> Result<(), DbErr> {
        self.finish(false)
    }
}

impl<'c> BeginWrite for Statements<'c> {
    type Tx<'a>
        = SqliteTx<'a, 'c>
    where
        Self: 'a;

    async fn begin_write(&self) -> Result<SqliteTx<'_, 'c>, DbErr> {
        SqliteTx::begin(self)
    }
}
