//! WAL checkpoints off the writer's path.
//!
//! By default SQLite checkpoints inside the commit that pushes the WAL past 1 000 pages: that
//! commit copies the WAL into the database file and fsyncs it before the writer can go on.
//! With one writer connection, every writer waits for it (in a profile of batched ingest it was
//! a quarter of the writer's time). The writer runs with automatic checkpoints off, and this
//! task checkpoints from its own connection instead. A PASSIVE checkpoint never blocks the
//! writer or a reader; SQLite restarts the WAL from the top once it has all been copied.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rusqlite::Connection;
use tokio::task::JoinHandle;

/// How often the WAL is copied back.
const INTERVAL: Duration = Duration::from_millis(250);

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
    /// Starts checkpointing the SQLite file at `path` (which the writer keeps in WAL mode).
    pub fn start(path: &Path) -> anyhow::Result<Self> {
        let conn = open(path)?;
        let path: PathBuf = path.to_owned();
        let task = tokio::spawn(async move {
            let mut conn = Some(conn);
            let mut tick = tokio::time::interval(INTERVAL);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let Some(c) = conn.take() else { return };
                let (back, result) = match tokio::task::spawn_blocking(move || {
                    let result = checkpoint(&c);
                    (c, result)
                })
                .await
                {
                    Ok(done) => done,
                    Err(_) => return,
                };
                if let Err(err) = result {
                    tracing::warn!(file = %path.display(), error = %err, "WAL checkpoint failed");
                }
                conn = Some(back);
            }
        });
        Ok(Self {
            _task: Arc::new(Task(task)),
        })
    }
}

fn open(path: &Path) -> anyhow::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(Duration::from_secs(5))?;
    Ok(conn)
}

/// Copies what it can of the WAL into the database file; returns the frames copied.
fn checkpoint(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| row.get(2))
}

#[cfg(test)]
mod tests {
    use sea_orm::ConnectionTrait;

    use crate::db::{Db, PoolOptions};

    #[tokio::test]
    async fn the_writer_leaves_checkpoints_to_the_background_task() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("wal.db");
        let db = Db::connect(
            &format!("sqlite://{}", path.display()),
            PoolOptions::default(),
        )
        .await
        .unwrap();
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
