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
    conn.execute_batch("PRAGMA temp_store = memory; PRAGMA cache_size = -32000;")
        .map_err(driver_err)?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(conn)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::direct::bind;
    use crate::domain::{Channel, IdentityKind, SessionStatus};
    use crate::entities::session;
    use crate::repo;
    use rusqlite::StatementStatus;
    use sea_orm::{
        ColumnTrait, DatabaseBackend, EntityTrait, QueryFilter, QuerySelect, QueryTrait, Statement,
    };
    use uuid::Uuid;

    /// How often SQLite prepared `statement` again over three runs with fresh bindings.
    fn reprepares(conn: &Connection, statement: &Statement) -> i32 {
        let mut stmt = conn.prepare(&statement.sql).unwrap();
        for _ in 0..3 {
            bind(&mut stmt, statement).unwrap();
            let mut rows = stmt.raw_query();
            while rows.next().unwrap().is_some() {}
        }
        stmt.get_status(StatementStatus::RePrepare)
    }

    /// Every statement of the memory context keeps its prepared plan.
    #[tokio::test]
    async fn context_statements_keep_their_prepared_plans() {
        let (_dir, path, db) = crate::db::temp_sqlite().await;
        db.migrate().await.unwrap();
        let conn = connect(&path).unwrap();
        let (tenant, lead) = (Uuid::now_v7(), Uuid::now_v7());
        let sqlite = DatabaseBackend::Sqlite;
        let statements = [
            (
                "lead",
                repo::leads::by_id_select(tenant, lead).build(sqlite),
            ),
            (
                "lead by phone",
                repo::leads::by_identity_select(tenant, IdentityKind::Phone, "+14155552671")
                    .build(sqlite),
            ),
            (
                "open session",
                repo::sessions::open_for_lead_select(tenant, lead, Some(Channel::Call))
                    .build(sqlite),
            ),
            (
                "messages",
                repo::messages::latest_in_session_statement(sqlite, tenant, lead, 12),
            ),
            (
                "notes",
                repo::notes::for_context_statement(sqlite, tenant, lead, 5),
            ),
        ];
        for (name, statement) in &statements {
            assert_eq!(reprepares(&conn, statement), 0, "{name}: {}", statement.sql);
        }
        // The traps avoided above: a bound LIMIT, or a bound status where a partial index
        // names a literal one, make SQLite prepare the statement again on every run.
        let limited = repo::leads::by_id_select(tenant, lead)
            .limit(1)
            .build(sqlite);
        assert!(reprepares(&conn, &limited) >= 2);
        let bound = session::Entity::find()
            .filter(session::Column::TenantId.eq(tenant))
            .filter(session::Column::LeadId.eq(lead))
            .filter(session::Column::Status.eq(SessionStatus::Open))
            .build(sqlite);
        assert!(reprepares(&conn, &bound) >= 2);
        db.close().await;
    }
}
