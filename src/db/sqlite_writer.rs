//! Ingest's write transactions on an SQLite file: one `rusqlite` connection, used by the ingest
//! thread (`services::ingest`) with [`SqliteWriter::run_blocking`] (see [`super::direct`] for
//! why not sqlx).
//!
//! The rest of the app keeps writing through the sqlx writer connection, and SQLite has one
//! write lock for both. So that in-process writers take turns in order rather than poll in
//! SQLite's busy handler (where a steady stream of ingest could starve a staff edit), a writer
//! here first takes the sqlx write pool's only connection (the [`Turn`]) and holds it, unused,
//! until its transaction ends (the ingest thread: until a short run of them ends): every writer
//! in the process queues in that pool, first come first served.
//! Transactions still begin `IMMEDIATE`, and wait in the busy handler only for other processes
//! (the CLI) and the checkpointer.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};
use sea_orm::DbErr;

use super::direct::{Observer, Statements, driver_err};
use super::executor::{BeginWrite, WriteTx};

/// The connection, taken by one transaction at a time.
#[derive(Clone)]
pub struct SqliteWriter {
    /// Only ever locked by a holder of the turn, so never contended; a plain mutex lets the
    /// ingest writer thread (`services::ingest`) use it without a runtime.
    conn: Arc<std::sync::Mutex<Connection>>,
    /// The sqlx write pool (one connection): its slot is the process's turn to write.
    turn: sqlx::SqlitePool,
    observer: Option<Observer>,
}

impl std::fmt::Debug for SqliteWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteWriter").finish_non_exhaustive()
    }
}

impl SqliteWriter {
    /// Opens a read-write connection to the database file at `path` (which must exist and be
    /// in WAL mode, as the sqlx writer leaves it), with the settings of the sqlx writer, whose
    /// pool is `turn`.
    pub fn open(path: &Path, turn: sqlx::SqlitePool) -> Result<Self, DbErr> {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(driver_err)?;
        conn.busy_timeout(Duration::from_secs(10))
            .map_err(driver_err)?;
        // As `Db::connect_sqlite` sets up the sqlx writer; the WAL is checkpointed by
        // `checkpoint::Checkpointer`, not inside commits, except that a commit leaving the WAL
        // long copies the rest and so starts it over (see `checkpoint`). The hook comes after
        // the pragma, which would replace it.
        conn.execute_batch(&format!(
            "PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL; \
             PRAGMA temp_store = memory; PRAGMA cache_size = {}; \
             PRAGMA wal_autocheckpoint = 0;",
            super::SQLITE_CACHE_SIZE
        ))
        .map_err(driver_err)?;
        conn.wal_hook(Some(
            super::checkpoint::after_commit::<{ super::checkpoint::RESTART_AFTER_FRAMES }>,
        ));
        // Batches of different sizes are different statements (`IN (…)` lists, multi-row
        // `VALUES`): room for the usual shapes of every ingest statement.
        conn.set_prepared_statement_cache_capacity(512);
        Ok(Self {
            conn: Arc::new(std::sync::Mutex::new(conn)),
            turn,
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

    /// Waits for the process's turn to write (first come, first served with every other
    /// writer of the process). Hold it briefly: every other writer waits while it is held.
    pub async fn turn(&self) -> Result<Turn, DbErr> {
        self.turn
            .acquire()
            .await
            .map(|connection| Turn {
                _connection: connection,
            })
            .map_err(|err| DbErr::Custom(format!("no turn to write: {err}")))
    }

    /// Runs `work` with the connection on tokio's blocking pool, in turn with every other
    /// writer of the process. `work` begins its own transactions with [`SqliteTx::begin`].
    /// (The app writes from the ingest thread with [`SqliteWriter::run_blocking`]; the tests
    /// take turns with the sqlx writer through this.)
    #[cfg(test)]
    pub async fn run<T, F>(&self, work: F) -> Result<T, DbErr>
    where
        T: Send + 'static,
        F: FnOnce(&Statements<'_>) -> T + Send + 'static,
    {
        let turn = self.turn().await?;
        let writer = self.clone();
        let result = tokio::task::spawn_blocking(move || writer.run_blocking(&turn, work)).await;
        result.map_err(|err| DbErr::Custom(format!("SQLite write task failed: {err}")))?
    }

    /// Runs `work` with the connection on the calling thread, which blocks: call it from a
    /// thread of its own or tokio's blocking pool, holding the `turn`.
    pub fn run_blocking<T>(
        &self,
        _turn: &Turn,
        work: impl FnOnce(&Statements<'_>) -> T,
    ) -> Result<T, DbErr> {
        // A panic in an earlier caller's `work` poisons the lock; the connection is still
        // sound, and its leftover transaction is rolled back just below.
        let conn = self
            .conn
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // A transaction an earlier caller left open (a panic, a failed rollback) ends here,
        // not inside this caller's.
        if !conn.is_autocommit() {
            conn.execute_batch("ROLLBACK").map_err(driver_err)?;
        }
        Ok(work(&Statements::new(&conn, self.observer.as_deref())))
    }
}

/// The process's turn to write (see [`SqliteWriter::turn`]); dropping it passes the turn on.
/// Drop it inside the tokio runtime: the sqlx pool hands its connection back on a task.
pub struct Turn {
    _connection: sqlx::pool::PoolConnection<sqlx::Sqlite>,
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

impl<'c> WriteTx for SqliteTx<'_, 'c> {
    type Conn = Statements<'c>;

    fn conn(&self) -> &Statements<'c> {
        self.statements
    }

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::is_unique_violation;
    use futures::executor::block_on;
    use sea_orm::{DatabaseBackend, Statement};

    fn insert(statements: &Statements<'_>, x: i64) -> Result<u64, DbErr> {
        statements.execute(&Statement::from_sql_and_values(
            DatabaseBackend::Sqlite,
            "INSERT INTO scratch (x) VALUES (?)",
            [x.into()],
        ))
    }

    /// Inserts `x` in a transaction of its own.
    fn insert_committed(statements: &Statements<'_>, x: i64) -> Result<(), DbErr> {
        let tx = SqliteTx::begin(statements)?;
        insert(statements, x)?;
        block_on(tx.commit())
    }

    async fn stored(writer: &SqliteWriter) -> Vec<i64> {
        writer
            .run(|s| {
                let mut values = Vec::new();
                let mut stmt = s
                    .connection()
                    .prepare("SELECT x FROM scratch ORDER BY x")
                    .unwrap();
                let mut rows = stmt.raw_query();
                while let Some(row) = rows.next().unwrap() {
                    values.push(row.get::<_, i64>(0).unwrap());
                }
                values
            })
            .await
            .unwrap()
    }

    async fn writer_with_scratch_table() -> (
        tempfile::TempDir,
        std::path::PathBuf,
        crate::db::Db,
        SqliteWriter,
    ) {
        let (dir, path, db) = crate::db::temp_sqlite().await;
        let writer = db
            .ingest_writer()
            .cloned()
            .expect("an SQLite file has a writer");
        writer
            .run(|s| s.batch("CREATE TABLE scratch (x INTEGER PRIMARY KEY)"))
            .await
            .unwrap()
            .unwrap();
        (dir, path, db, writer)
    }

    #[tokio::test]
    async fn a_panic_in_one_callers_work_leaves_the_connection_usable() {
        let (_dir, _path, _db, writer) = writer_with_scratch_table().await;
        let turn = writer.turn().await.unwrap();
        // Panics with a raw transaction open (no `SqliteTx` to roll it back as it unwinds),
        // holding the connection's lock.
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            writer.run_blocking(&turn, |s| {
                s.batch("BEGIN IMMEDIATE").unwrap();
                insert(s, 1).unwrap();
                panic!("the work failed");
            })
        }));
        assert!(panicked.is_err());
        writer
            .run_blocking(&turn, |s| insert_committed(s, 2))
            .unwrap()
            .unwrap();
        drop(turn);
        assert_eq!(stored(&writer).await, vec![2]);
    }

    #[tokio::test]
    async fn savepoints_roll_back_alone_and_an_unfinished_transaction_rolls_back() {
        let (_dir, _path, db, writer) = writer_with_scratch_table().await;
        writer
            .run(|s| {
                block_on(async {
                    let tx = s.begin_write().await?;
                    insert(s, 1)?;
                    let undone = tx.savepoint().await?;
                    insert(s, 2)?;
                    undone.rollback().await?;
                    let kept = tx.savepoint().await?;
                    insert(s, 3)?;
                    let nested = kept.savepoint().await?;
                    insert(s, 4)?;
                    drop(nested);
                    kept.commit().await?;
                    tx.commit().await
                })
            })
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stored(&writer).await, vec![1, 3]);

        // Dropped without commit: rolled back.
        writer
            .run(|s| {
                let _tx = SqliteTx::begin(s).unwrap();
                insert(s, 5).unwrap();
            })
            .await
            .unwrap();
        // Leaked while open: the next caller's transaction does not inherit it.
        writer
            .run(|s| {
                std::mem::forget(SqliteTx::begin(s).unwrap());
                insert(s, 6).unwrap();
            })
            .await
            .unwrap();
        writer
            .run(|s| insert_committed(s, 7))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stored(&writer).await, vec![1, 3, 7]);
        db.close().await;
    }

    /// The writer waits for the sqlx writer's transaction ...
    #[tokio::test]
    async fn the_writer_waits_for_the_sqlx_writers_transaction() {
        let (_dir, _path, db, writer) = writer_with_scratch_table().await;
        let held = db.begin_write().await.unwrap();
        let write = tokio::spawn({
            let writer = writer.clone();
            async move { writer.run(|s| insert_committed(s, 1)).await }
        });
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        assert!(
            !write.is_finished(),
            "the write went past a held write lock"
        );
        held.commit().await.unwrap();
        write.await.unwrap().unwrap().unwrap();
        assert_eq!(stored(&writer).await, vec![1]);
        db.close().await;
    }

    /// ... and the sqlx writer waits for the writer's transaction, in the pool's queue.
    #[tokio::test]
    async fn the_sqlx_writer_waits_for_the_writers_transaction() {
        let (_dir, _path, db, writer) = writer_with_scratch_table().await;
        let (started_tx, started) = std::sync::mpsc::channel();
        let (release, release_rx) = std::sync::mpsc::channel::<()>();
        let held = tokio::spawn({
            let writer = writer.clone();
            async move {
                writer
                    .run(move |s| {
                        let tx = SqliteTx::begin(s)?;
                        insert(s, 1)?;
                        started_tx.send(()).unwrap();
                        release_rx.recv().unwrap();
                        block_on(tx.commit())
                    })
                    .await
            }
        });
        tokio::task::spawn_blocking(move || started.recv().unwrap())
            .await
            .unwrap();
        // The writer holds the process's turn: the sqlx writer's only connection.
        assert_eq!(db.writer().get_sqlite_connection_pool().num_idle(), 0);
        let sqlx_write = tokio::spawn({
            let write = db.writer().clone();
            async move {
                use sea_orm::ConnectionTrait;
                write
                    .execute_unprepared("INSERT INTO scratch (x) VALUES (2)")
                    .await
            }
        });
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        assert!(
            !sqlx_write.is_finished(),
            "the sqlx write did not wait its turn"
        );
        release.send(()).unwrap();
        held.await.unwrap().unwrap().unwrap();
        sqlx_write.await.unwrap().unwrap();
        assert_eq!(stored(&writer).await, vec![1, 2]);
        db.close().await;
    }

    /// Another process's write lock (the CLI's, the checkpointer's) is waited for in SQLite's
    /// busy handler.
    #[tokio::test]
    async fn the_writer_waits_for_another_connections_lock() {
        let (_dir, path, db, writer) = writer_with_scratch_table().await;
        let other = Connection::open(&path).unwrap();
        other.execute_batch("BEGIN IMMEDIATE").unwrap();
        let write = tokio::spawn({
            let writer = writer.clone();
            async move { writer.run(|s| insert_committed(s, 1)).await }
        });
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        assert!(
            !write.is_finished(),
            "the write went past another connection's lock"
        );
        other.execute_batch("COMMIT").unwrap();
        write.await.unwrap().unwrap().unwrap();
        assert_eq!(stored(&writer).await, vec![1]);
        db.close().await;
    }

    #[tokio::test]
    async fn unique_violations_are_recognized() {
        let (_dir, _path, db, writer) = writer_with_scratch_table().await;
        let err = writer
            .run(|s| {
                insert(s, 1)?;
                insert(s, 1)
            })
            .await
            .unwrap()
            .unwrap_err();
        assert!(is_unique_violation(&err), "{err}");
        assert!(matches!(
            crate::error::AppError::from(err),
            crate::error::AppError::Conflict(_)
        ));
        let other = writer
            .run(|s| s.batch("INSERT INTO missing_table VALUES (1)"))
            .await
            .unwrap()
            .unwrap_err();
        assert!(!is_unique_violation(&other), "{other}");
        db.close().await;
    }
}
