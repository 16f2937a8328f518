//! WAL checkpoints off the writer's path, and a bound on the WAL's length.
//!
//! By default SQLite checkpoints inside the commit that pushes the WAL past 1 000 pages: that
//! commit copies the WAL into the database file and fsyncs it before the writer can go on.
//! With one writer connection, every writer waits for it (in a profile of batched ingest it was
//! a quarter of the writer's time). The writers run with automatic checkpoints off, and a
//! background task ([`Checkpointer`]) runs a PASSIVE checkpoint from its own connection every
//! [`INTERVAL`]: it copies what is committed, syncs the database file, and never blocks a
//! writer or a reader.
//!
//! That alone does not bound the WAL under a steady stream of writes. SQLite only goes back to
//! the top of the WAL when a write transaction begins with every frame copied, and a writer
//! that never pauses always leaves a few new ones. The WAL then grows without end, and each
//! frame past its old end costs the kernel a new block (zeroed, and, on ext4, written before
//! the checkpointer's next fsync can finish): in a profile of steady batched ingest that was a
//! third of the writer's time. So the ingest writer's connection carries [`after_commit`]:
//! once a commit leaves more than [`RESTART_AFTER_FRAMES`] in the WAL, it copies the little the
//! background task has not copied yet, right there, before the writer goes on. Its next
//! transaction then starts the WAL over, and the file's blocks are reused from then on.

use std::cell::Cell;
use std::ffi::c_int;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rusqlite::Connection;
use rusqlite::hooks::{CheckpointMode, Wal};
use tokio::task::JoinHandle;

/// How often the WAL is copied back.
const INTERVAL: Duration = Duration::from_millis(100);

/// WAL frames (pages) after which the writer starts the WAL over: 256 MiB. Each time, the
/// commit that passes it copies the frames of the last [`INTERVAL`] or so and waits for two
/// fsyncs: the WAL's, and the database file's for what the background task copied since it
/// last synced (12–50 ms together under batched ingest on a 2-core VM; 55–180 ms, and the
/// batched p99, before the background task synced its own copies). At 64 MiB that happened
/// every 0.6 s and held the writer for 11% of its time; at 256 MiB it is four times rarer, and
/// batched ingest ran about 8% faster.
pub const RESTART_AFTER_FRAMES: c_int = 65_536;

/// A WAL hook (`Connection::wal_hook`) for a writer connection: after a commit that leaves more
/// than `LIMIT` frames in the WAL, copies the rest of the WAL into the database file, so that the
/// connection's next write transaction starts the WAL over (unless a reader still needs old
/// frames; then the next commit tries again).
///
/// It never fails: SQLite would report an error here as the failure of a commit that has
/// already happened. A checkpoint the background task holds is simply left to it.
///
/// A reader on old frames when the next transaction begins keeps the WAL from starting over,
/// and under a steady mix of reads and writes (agents read a memory context before each reply)
/// that can go on for many commits. Each of them would find the WAL still long, and copying at
/// every one would cost each commit two fsyncs while the background task copies the same frames
/// anyway. So until the WAL starts over, the writer copies again only after another `LIMIT / 16`
/// frames.
pub fn after_commit<const LIMIT: c_int>(wal: &Wal, frames: c_int) -> rusqlite::Result<()> {
    thread_local! {
        /// The WAL's length when this thread's writer last copied it back; 0 once it started
        /// over. Per thread, not per connection: a writer used from several threads (tests)
        /// may copy once more or once less, never for longer than `LIMIT / 16` frames.
        static COPIED_AT: Cell<c_int> = const { Cell::new(0) };
    }
    if frames <= LIMIT {
        COPIED_AT.set(0);
        return Ok(());
    }
    let copied_at = COPIED_AT.get();
    if copied_at != 0 && (copied_at..copied_at.saturating_add(LIMIT / 16)).contains(&frames) {
        return Ok(());
    }
    COPIED_AT.set(frames);
    if let Err(err) = wal.checkpoint_v2(CheckpointMode::PASSIVE)
        && err.sqlite_error_code() != Some(rusqlite::ErrorCode::DatabaseBusy)
    {
        tracing::warn!(error = %err, "the writer could not copy the WAL back");
    }
    Ok(())
}

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
    /// Starts checkpointing the SQLite file at `path` (which the writers keep in WAL mode).
    pub fn start(path: &Path) -> anyhow::Result<Self> {
        let copier = Copier::open(path)?;
        let path: PathBuf = path.to_owned();
        let task = tokio::spawn(async move {
            let mut state = Some(copier);
            let mut tick = tokio::time::interval(INTERVAL);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut failing = false;
            loop {
                tick.tick().await;
                let Some(mut copier) = state.take() else {
                    return;
                };
                let ran = tokio::task::spawn_blocking(move || {
                    let result = copier.run();
                    (copier, result.map(|_synced| ()))
                })
                .await;
                let Ok((copier, result)) = ran else {
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
                state = Some(copier);
            }
        });
        Ok(Self {
            _task: Arc::new(Task(task)),
        })
    }
}

/// The background checkpointer's connection and its handle on the database file.
struct Copier {
    conn: Connection,
    file: std::fs::File,
    /// The WAL's length and how much of it was copied, after the last checkpoint.
    copied: Option<(i64, i64)>,
}

impl Copier {
    fn open(path: &Path) -> anyhow::Result<Self> {
        // SQLite syncs the database file only at a checkpoint that copies the whole WAL. Under
        // steady writes the background checkpoints never do (a commit always lands meanwhile),
        // so their copies would stay in the page cache until the writer started the WAL over,
        // and its checkpoint synced them all at once, holding the writer for 55-180 ms on a
        // 2-core VM (the p99 of batched ingest). Syncing after each copy keeps that backlog to
        // about one interval's copies.
        Ok(Self {
            conn: Connection::open(path)?,
            file: std::fs::OpenOptions::new().write(true).open(path)?,
            copied: None,
        })
    }

    /// Copies what is committed into the database file, then syncs the file if that copied
    /// anything new. Says whether it synced.
    fn run(&mut self) -> anyhow::Result<bool> {
        // (busy, frames in the WAL, frames copied); -1 frames when another checkpoint held it.
        let copied: (i64, i64) =
            self.conn
                .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| {
                    Ok((row.get(1)?, row.get(2)?))
                })?;
        let new = copied.1 > 0 && self.copied != Some(copied);
        if new {
            self.file.sync_data()?;
        }
        self.copied = Some(copied);
        Ok(new)
    }
}

#[cfg(test)]
mod tests {
    use sea_orm::ConnectionTrait;

    use super::*;

    /// A writer connection to a new file at `path` as the ingest writer's is set up, with the
    /// hook bounding the WAL at 256 frames, and a table `t` of blobs.
    fn hooked_writer(path: &Path) -> Connection {
        let writer = Connection::open(path).unwrap();
        writer
            .execute_batch(
                "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                 PRAGMA wal_autocheckpoint = 0; CREATE TABLE t (b BLOB);",
            )
            .unwrap();
        writer.wal_hook(Some(after_commit::<256>));
        writer
    }

    /// `n` commits of one 8 KiB row each: about four pages (frames) per commit.
    fn write_rows(writer: &Connection, n: usize) {
        for _ in 0..n {
            writer
                .execute("INSERT INTO t VALUES (zeroblob(8192))", [])
                .unwrap();
        }
    }

    /// The background task syncs the database file after a checkpoint that copied new frames,
    /// and only then.
    #[test]
    fn the_background_copier_syncs_what_it_copied_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("copier.db");
        let writer = hooked_writer(&path);
        let mut copier = Copier::open(&path).unwrap();
        assert!(copier.run().unwrap(), "the new table was copied and synced");
        assert!(
            !copier.run().unwrap(),
            "nothing new was copied, so nothing synced"
        );
        write_rows(&writer, 4);
        assert!(
            copier.run().unwrap(),
            "four new rows were copied and synced"
        );
        assert!(
            !copier.run().unwrap(),
            "nothing new was copied, so nothing synced"
        );
    }

    /// A writer that never pauses still starts its WAL over, by its own commits; a reader on
    /// old frames only postpones that, and no commit fails meanwhile.
    #[test]
    fn the_writer_bounds_its_wal_under_a_steady_stream_of_writes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("steady.db");
        let writer = hooked_writer(&path);
        let wal = dir.path().join("steady.db-wal");
        let wal_size = || std::fs::metadata(&wal).unwrap().len();
        let write = |n: usize| write_rows(&writer, n);
        let frames_in_wal = || -> i64 {
            let other = Connection::open(&path).unwrap();
            other
                .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| row.get(1))
                .unwrap()
        };

        // 48 MiB; without the hook the WAL would hold all of it.
        write(6144);
        assert!(wal_size() < 2 << 20, "the WAL grew to {} bytes", wal_size());

        let reader = Connection::open(&path).unwrap();
        reader.execute_batch("BEGIN").unwrap();
        let seen: i64 = reader
            .query_row("SELECT count(*) FROM t", [], |row| row.get(0))
            .unwrap();
        assert_eq!(seen, 6144);
        write(1024);
        assert!(
            wal_size() > 8 << 20,
            "the WAL started over under a reader: {} bytes",
            wal_size()
        );
        reader.execute_batch("COMMIT").unwrap();

        write(16);
        let frames = frames_in_wal();
        assert!(
            frames <= 256,
            "{frames} frames in the WAL after the reader left"
        );
        let rows: i64 = writer
            .query_row("SELECT count(*) FROM t", [], |row| row.get(0))
            .unwrap();
        assert_eq!(rows, 6144 + 1024 + 16);
    }

    /// Readers that come and go keep the WAL from starting over, but each lets the next copy
    /// reach a little further: the writer copies again only every `LIMIT / 16` frames, not at
    /// every commit (each copy ends in fsyncs).
    #[test]
    fn while_readers_hold_the_wal_the_writer_copies_it_back_every_sixteenth_of_its_bound() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("readers.db");
        let writer = hooked_writer(&path);
        // New pages, appended to the file when copied back.
        let write = || write_rows(&writer, 1);
        let reader = Connection::open(&path).unwrap();
        reader.execute_batch("BEGIN").unwrap();
        let read_latest = || {
            reader.execute_batch("COMMIT; BEGIN").unwrap();
            let _: i64 = reader
                .query_row("SELECT count(*) FROM t", [], |row| row.get(0))
                .unwrap();
        };
        // Past the bound with a reader on old frames.
        read_latest();
        for _ in 0..128 {
            write();
        }
        let file_size = |path: &Path| std::fs::metadata(path).unwrap().len();
        let wal = dir.path().join("readers.db-wal");
        let wal_before = file_size(&wal);
        let mut copies = 0;
        for _ in 0..64 {
            let before = file_size(&path);
            // The reader moves to the latest commit, so a copy now reaches it.
            read_latest();
            write();
            if file_size(&path) > before {
                copies += 1;
            }
        }
        // Nothing started the WAL over: it grew by the frames (24-byte header and page) of the
        // 64 commits, and the writer copied once per 16 of them.
        let frames = (file_size(&wal) - wal_before) / (24 + 4096);
        assert!(frames >= 3 * 64, "the WAL grew by only {frames} frames");
        let expected = frames / 16;
        assert!(
            (expected - 1..=expected + 1).contains(&copies),
            "{copies} copies for {frames} frames in 64 commits under readers"
        );
        reader.execute_batch("COMMIT").unwrap();
        let rows: i64 = writer
            .query_row("SELECT count(*) FROM t", [], |row| row.get(0))
            .unwrap();
        assert_eq!(rows, 128 + 64);
    }

    /// A write transaction that reads before it writes still waits for a lock held elsewhere
    /// (here by another connection, as the CLI's writes hold it) instead of failing.
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
