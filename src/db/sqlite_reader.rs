//! The hot read path on SQLite: the memory context's SELECTs on plain `rusqlite` connections
//! (see [`super::direct`]), all of a request's statements in one hop to the blocking pool.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, OpenFlags};
use sea_orm::DbErr;

use super::direct::{Observer, Statements, driver_err};

#[derive(Clone)]
pub struct SqliteReader {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    observer: Option<Observer>,
    size: usize,
    /// One permit per connection.
    permits: Arc<tokio::sync::Semaphore>,
    idle: Mutex<Vec<Connection>>,
}

impl std::fmt::Debug for SqliteReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteReader")
            .field("size", &self.inner.size)
            .finish_non_exhaustive()
    }
}

impl SqliteReader {
    /// Opens `size` read-only connections to the database file at `path` (which must exist
    /// and be in WAL mode, as the writer leaves it).
    pub fn open(path: &Path, size: usize) -> Result<Self, DbErr> {
        let size = size.max(1);
        let idle = (0..size)
            .map(|_| connect(path))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            inner: Arc::new(Inner {
                path: path.to_owned(),
                observer: None,
                size,
                permits: Arc::new(tokio::sync::Semaphore::new(size)),
                idle: Mutex::new(idle),
            }),
        })
    }

    /// Calls `observer` after each statement (the same callback the SeaORM connections get, so
    /// `/metrics` counts these statements too). Call before the reader is cloned.
    pub fn set_metric_callback<F>(&mut self, observer: F)
    where
        F: Fn(&sea_orm::metric::Info<'_>) + Send + Sync + 'static,
    {
        if let Some(inner) = Arc::get_mut(&mut self.inner) {
            inner.observer = Some(Arc::new(observer));
        }
    }

    /// Runs `work` on a connection on tokio's blocking pool.
    pub async fn read<T, F>(&self, work: F) -> Result<T, DbErr>
    where
        T: Send + 'static,
        F: FnOnce(&Statements<'_>) -> Result<T, DbErr> + Send + 'static,
    {
        let inner = self.inner.clone();
        let permit = inner
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| DbErr::Custom("the SQLite reader is closed".into()))?;
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            // With a permit there is an idle connection; a connection lost to a panic is
            // replaced here.
            let conn = match inner.idle.lock().ok().and_then(|mut idle| idle.pop()) {
                Some(conn) => conn,
                None => connect(&inner.path)?,
            };
            let result = work(&Statements::new(&conn, inner.observer.as_deref()));
            if let Ok(mut idle) = inner.idle.lock() {
                idle.push(conn);
            }
            result
        })
        .await
        .map_err(|err| DbErr::Custom(format!("SQLite read task failed: {err}")))?
    }
}

fn connect(path: &Path) -> Result<Connection, DbErr> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(driver_err)?;
    // The same settings as the sqlx read pool (see `Db::connect_sqlite`).
    conn.busy_timeout(std::time::Duration::from_secs(10))
        .map_err(driver_err)?;
    conn.execute_batch(&format!(
        "PRAGMA temp_store = memory; PRAGMA cache_size = {};",
        super::SQLITE_CACHE_SIZE
    ))
    .map_err(driver_err)?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(conn)
}
