//! WAL checkpoints off the writer's path.
//!
//! By default SQLite checkpoints inside the commit that pushes the WAL past 1 000 pages: that
//! commit copies the WAL into the database file and fsyncs it before the writer can go on.
//! With one writer connection, every writer waits for it (in a profile of batched ingest it was
//! a quarter of the writer's time). The writer runs with automatic checkpoints off, and this
//! task checkpoints from its own connection instead. A PASSIVE checkpoint never blocks the
//! writer or a reader.
//!
//! A passive checkpoint alone is not enough under a steady stream of writes: SQLite only goes
//! back to the top of the WAL when a write begins with every frame copied, and a writer that
//! never pauses always finds a few new ones. The WAL would grow without end (and every write
//! that extends the file costs the kernel more than one that reuses it). So once the WAL holds
//! more than [`RESTART_AFTER_FRAMES`], the task runs a RESTART checkpoint: it waits for the
//! writer's current transaction, copies the little the passive runs left, and makes the next
//! write start the WAL over.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rusqlite::Connection;
use tokio::task::JoinHandle;

/// How often the WAL is copied back.
const INTERVAL: Duration = Duration::from_millis(100);

/// WAL frames (pages) after which the WAL is started over: about 128 MiB. Each restart holds
/// off the writer for an fsync of the database file; at full ingest speed this is one every few
/// seconds.
pub const RESTART_AFTER_FRAMES: i64 = 32_768;

/// Stops the checkpoint task when the last clone of the database handle is dropped.
#[derive(Debug, Clone)]
pub struct Checkpointer {
    _task: Arc<Task>,
}

#[derive(Debug)]
struct Task(JoinHandle<()>);

impl Drop for Task {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Checkpointer {
    /// Starts checkpointing the SQLite file at `path` (which the writer keeps in WAL mode),
    /// starting the WAL over once it holds more than `restart_after` frames.
    pub fn start(path: &Path, restart_after: i64) -> anyhow::Result<Self> {
        let conn = open(path)?;
        let path: PathBuf = path.to_owned();
        let task = tokio::spawn(async move {
            let mut state = Some((conn, Wal::new(restart_after)));
            let mut tick = tokio::time::interval(INTERVAL);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut failing = false;
            loop {
                tick.tick().await;
                let Some((conn, mut wal)) = state.take() else {
                    return;
                };
                let ran = tokio::task::spawn_blocking(move || {
                    let result = wal.checkpoint(&conn);
                    (conn, wal, result)
                })
                .await;
                let Ok((conn, wal, result)) = ran else {
                    tracing::error!(
                        file = %path.display(),
                        "the WAL checkpointer stopped; the WAL now grows until restart"
                    );
                    return;
                };
                // Said once when it starts failing and once when it recovers, not every tick.
                match result {
                    Err(err) if !failing => {
                        failing = true;
                        tracing::warn!(file = %path.display(), error = %err, "WAL checkpoints fail");
                    }
                    Ok(()) if failing => {
                        failing = false;
                        tracing::info!(file = %path.display(), "WAL checkpoints work again");
                    }
                    _ => {}
                }
                state = Some((conn, wal));
            }
        });
        Ok(Self {
            _task: Arc::new(Task(task)),
        })
    }
}

fn open(path: &Path) -> anyhow::Result<Connection> {
    let conn = Connection::open(path)?;
    // A RESTART checkpoint holds off new writers while it waits for the writer and for readers
    // of older snapshots: give up soon rather than stall ingest.
    conn.busy_timeout(Duration::from_millis(50))?;
    Ok(conn)
}

/// What the checkpointer remembers between ticks.
struct Wal {
    restart_after: i64,
    /// The WAL's length at the last RESTART: SQLite only starts the WAL over at the next write,
    /// so until then the same length is reported and must not trigger another RESTART.
    restarted_at: Option<i64>,
    /// Ticks to skip RESTARTs after one found a reader still on old frames.
    back_off: u32,
}

impl Wal {
    /// Ticks without RESTART attempts after a busy one (about a second).
    const BACK_OFF_TICKS: u32 = 10;

    fn new(restart_after: i64) -> Self {
        Self {
            restart_after,
            restarted_at: None,
            back_off: 0,
        }
    }

    /// Copies what it can of the WAL into the database file, and starts the WAL over when it
    /// has grown past `restart_after` frames and everything in it has been copied.
    fn checkpoint(&mut self, conn: &Connection) -> rusqlite::Result<()> {
        let (frames, copied): (i64, i64) =
            conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| {
                Ok((row.get(1)?, row.get(2)?))
            })?;
        if self.back_off > 0 {
            self.back_off -= 1;
            return Ok(());
        }
        if frames <= self.restart_after || copied < frames || self.restarted_at == Some(frames) {
            return Ok(());
        }
        let busy: i64 = conn.query_row("PRAGMA wal_checkpoint(RESTART)", [], |row| row.get(0))?;
        if busy == 0 {
            self.restarted_at = Some(frames);
        } else {
            // A long read still needs the old frames: let the writer be for a while.
            self.back_off = Self::BACK_OFF_TICKS;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use sea_orm::ConnectionTrait;

    use super::*;

    /// A writer that never pauses still gets its WAL started over.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_wal_stays_bounded_under_a_steady_stream_of_writes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("steady.db");
        let writer = Connection::open(&path).unwrap();
        writer
            .execute_batch(
                "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                 PRAGMA wal_autocheckpoint = 0; CREATE TABLE t (b BLOB);",
            )
            .unwrap();
        let _checkpointer = Checkpointer::start(&path, 256).unwrap();
        let wal = dir.path().join("steady.db-wal");
        let written = tokio::task::spawn_blocking(move || {
            // 48 MiB in 8 KiB transactions, about 40 MiB/s: a pause of 20 ms after each MiB.
            for n in 1..=6144 {
                writer
                    .execute("INSERT INTO t VALUES (zeroblob(8192))", [])
                    .unwrap();
                if n % 128 == 0 {
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
        })
        .await;
        written.unwrap();
        let size = std::fs::metadata(&wal).unwrap().len();
        // Without restarts the WAL would hold every page written (over 48 MiB). With them it
        // stays far below, though on a loaded machine a RESTART may lose to the writer and back
        // off for a second, during which the WAL grows by that second's writes.
        assert!(size < 40 << 20, "the WAL grew to {size} bytes");
    }

    /// A write transaction that reads before it writes still waits for a lock held elsewhere
    /// (here by another connection, as a RESTART checkpoint holds it) instead of failing.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn write_transactions_wait_for_the_write_lock() {
        use sea_orm::TransactionTrait;

        let (_dir, path, db) = crate::db::temp_sqlite().await;
        db.write
            .execute_unprepared("CREATE TABLE t (n INTEGER)")
            .await
            .unwrap();
        let read_then_write = async |txn: sea_orm::DatabaseTransaction| {
            txn.execute_unprepared("SELECT count(*) FROM t").await?;
            txn.execute_unprepared("INSERT INTO t VALUES (1)").await?;
            txn.commit().await
        };
        let hold_lock = || {
            let other = Connection::open(&path).unwrap();
            other.execute_batch("BEGIN IMMEDIATE").unwrap();
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(300));
                other.execute_batch("COMMIT").unwrap();
            })
        };

        let holder = hold_lock();
        let immediate = db.begin_write().await.unwrap();
        read_then_write(immediate).await.unwrap();
        holder.join().unwrap();

        // What `begin_write` avoids: a deferred transaction fails at its first write.
        let deferred = db.write.begin().await.unwrap();
        deferred
            .execute_unprepared("SELECT count(*) FROM t")
            .await
            .unwrap();
        let holder = hold_lock();
        let failed = deferred
            .execute_unprepared("INSERT INTO t VALUES (2)")
            .await;
        assert!(failed.is_err());
        drop(deferred);
        holder.join().unwrap();
        db.close().await;
    }

    #[tokio::test]
    async fn the_writer_leaves_checkpoints_to_the_background_task() {
        let (_dir, path, db) = crate::db::temp_sqlite().await;
        let off = db
            .write
            .query_one_raw(sea_orm::Statement::from_string(
                db.backend(),
                "PRAGMA wal_autocheckpoint",
            ))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(off.try_get_by_index::<i64>(0).unwrap(), 0);

        db.write
            .execute_unprepared("CREATE TABLE blob_rows (b BLOB)")
            .await
            .unwrap();
        // 2 MiB: about 512 pages, below the 1 000 at which SQLite would checkpoint by itself.
        for _ in 0..32 {
            db.write
                .execute_unprepared("INSERT INTO blob_rows VALUES (zeroblob(65536))")
                .await
                .unwrap();
        }
        // The task copies the WAL into the file within a few intervals.
        let copied = async {
            while std::fs::metadata(&path).unwrap().len() < 2 << 20 {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        };
        tokio::time::timeout(std::time::Duration::from_secs(10), copied)
            .await
            .expect("the checkpointer copied the WAL into the database file");
        db.close().await;
    }
}
