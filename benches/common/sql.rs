//! Raw SQL access for the generator and the baselines: one pool type over sqlx (SQLite and
//! PostgreSQL) and a plain rusqlite connection, and multi-row INSERTs of rows built as value
//! lists.
//!
//! Values are bound with the same Rust types SeaORM binds (Uuid, DateTime<Utc>, JSON), and on
//! rusqlite stored as sqlx stores them, so the rows read back through the app exactly as if the
//! app had written them.

use std::sync::Arc;

use anyhow::Context;
use chrono::{DateTime, Utc};
use sqlx::query_builder::Separated;
use sqlx::{Postgres, QueryBuilder, Sqlite};
use uuid::Uuid;

/// One column value.
#[derive(Debug, Clone)]
pub enum Val {
    Uuid(Uuid),
    OptUuid(Option<Uuid>),
    Text(String),
    OptText(Option<String>),
    Time(DateTime<Utc>),
    OptTime(Option<DateTime<Utc>>),
    I32(i32),
    I64(i64),
    F64(f64),
    OptF64(Option<f64>),
    Bool(bool),
    Json(serde_json::Value),
}

impl From<Uuid> for Val {
    fn from(v: Uuid) -> Self {
        Val::Uuid(v)
    }
}
impl From<Option<Uuid>> for Val {
    fn from(v: Option<Uuid>) -> Self {
        Val::OptUuid(v)
    }
}
impl From<String> for Val {
    fn from(v: String) -> Self {
        Val::Text(v)
    }
}
impl From<&str> for Val {
    fn from(v: &str) -> Self {
        Val::Text(v.to_owned())
    }
}
impl From<Option<String>> for Val {
    fn from(v: Option<String>) -> Self {
        Val::OptText(v)
    }
}
impl From<DateTime<Utc>> for Val {
    fn from(v: DateTime<Utc>) -> Self {
        Val::Time(v)
    }
}
impl From<Option<DateTime<Utc>>> for Val {
    fn from(v: Option<DateTime<Utc>>) -> Self {
        Val::OptTime(v)
    }
}
impl From<i32> for Val {
    fn from(v: i32) -> Self {
        Val::I32(v)
    }
}
impl From<i64> for Val {
    fn from(v: i64) -> Self {
        Val::I64(v)
    }
}
impl From<f64> for Val {
    fn from(v: f64) -> Self {
        Val::F64(v)
    }
}
impl From<Option<f64>> for Val {
    fn from(v: Option<f64>) -> Self {
        Val::OptF64(v)
    }
}
impl From<bool> for Val {
    fn from(v: bool) -> Self {
        Val::Bool(v)
    }
}
impl From<serde_json::Value> for Val {
    fn from(v: serde_json::Value) -> Self {
        Val::Json(v)
    }
}

/// Builds a row: `row![a, b, c]` is `vec![Val::from(a), …]`.
#[macro_export]
macro_rules! row {
    ($($value:expr),* $(,)?) => {
        vec![$($crate::common::sql::Val::from($value)),*]
    };
}

/// A table and the columns rows are given in.
pub struct Table {
    pub name: &'static str,
    pub columns: &'static [&'static str],
}

pub const LEADS: Table = Table {
    name: "leads",
    columns: &[
        "tenant_id",
        "id",
        "display_name",
        "primary_phone",
        "email",
        "search_text",
        "profile",
        "last_summary",
        "last_summary_channel",
        "last_summary_session_id",
        "summary_updated_at",
        "last_interaction_at",
        "last_channel",
        "last_activity_at",
        "message_count",
        "session_count",
        "created_at",
        "updated_at",
    ],
};

pub const LEAD_IDENTITIES: Table = Table {
    name: "lead_identities",
    columns: &[
        "tenant_id",
        "id",
        "lead_id",
        "kind",
        "value",
        "channel",
        "created_at",
    ],
};

pub const SESSIONS: Table = Table {
    name: "sessions",
    columns: &[
        "tenant_id",
        "id",
        "lead_id",
        "channel",
        "status",
        "session_ref",
        "started_at",
        "last_message_at",
        "closed_at",
        "close_reason",
        "language",
        "intents",
        "message_count",
        "previous_interaction_at",
        "created_at",
        "updated_at",
    ],
};

pub const MESSAGES: Table = Table {
    name: "messages",
    columns: &[
        "tenant_id",
        "id",
        "session_id",
        "lead_id",
        "channel",
        "role",
        "content",
        "intent",
        "intent_confidence",
        "metadata",
        "external_id",
        "delivery_status",
        "occurred_at",
        "created_at",
    ],
};

pub const NOTES: Table = Table {
    name: "notes",
    columns: &[
        "tenant_id",
        "id",
        "lead_id",
        "session_id",
        "kind",
        "body",
        "author_id",
        "author_label",
        "pinned",
        "created_at",
        "updated_at",
    ],
};

pub const PROFILE_FIELD_CHANGES: Table = Table {
    name: "profile_field_changes",
    columns: &[
        "tenant_id",
        "id",
        "lead_id",
        "field_key",
        "item",
        "old_value",
        "new_value",
        "source",
        "confidence",
        "outcome",
        "evidence",
        "actor",
        "created_at",
    ],
};

/// A connection pool on either backend.
#[derive(Clone)]
pub enum Pool {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
    /// One rusqlite connection to an SQLite file. Its statements run on the calling task: no
    /// thread hand-off at all, the floor under the app's one hop per transaction.
    Native(Arc<tokio::sync::Mutex<rusqlite::Connection>>),
}

/// An open transaction on either backend.
pub enum Tx {
    Sqlite(sqlx::Transaction<'static, Sqlite>),
    Postgres(sqlx::Transaction<'static, Postgres>),
    Native(tokio::sync::OwnedMutexGuard<rusqlite::Connection>),
}

/// Most values one statement binds: SQLite allows 32766, PostgreSQL 65535.
const MAX_BINDS: usize = 30_000;
/// Rows per statement, whatever the bind limit allows: bigger statements stop paying off.
const MAX_ROWS: usize = 1_000;

macro_rules! bind_val {
    ($b:expr, $v:expr) => {
        match $v {
            Val::Uuid(x) => $b.push_bind(x),
            Val::OptUuid(x) => $b.push_bind(x),
            Val::Text(x) => $b.push_bind(x),
            Val::OptText(x) => $b.push_bind(x),
            Val::Time(x) => $b.push_bind(x),
            Val::OptTime(x) => $b.push_bind(x),
            Val::I32(x) => $b.push_bind(x),
            Val::I64(x) => $b.push_bind(x),
            Val::F64(x) => $b.push_bind(x),
            Val::OptF64(x) => $b.push_bind(x),
            Val::Bool(x) => $b.push_bind(x),
            Val::Json(x) => $b.push_bind(x),
        }
    };
}

/// Binds every value of `$values` to the sqlx query `$q`, in order.
macro_rules! bind_all {
    ($q:expr, $values:expr) => {{
        let mut q = $q;
        for v in $values {
            q = match v {
                Val::Uuid(x) => q.bind(x),
                Val::OptUuid(x) => q.bind(x),
                Val::Text(x) => q.bind(x),
                Val::OptText(x) => q.bind(x),
                Val::Time(x) => q.bind(x),
                Val::OptTime(x) => q.bind(x),
                Val::I32(x) => q.bind(x),
                Val::I64(x) => q.bind(x),
                Val::F64(x) => q.bind(x),
                Val::OptF64(x) => q.bind(x),
                Val::Bool(x) => q.bind(x),
                Val::Json(x) => q.bind(x),
            };
        }
        q
    }};
}

fn bind_sqlite(mut b: Separated<'_, Sqlite, &'static str>, row: Vec<Val>) {
    for v in row {
        bind_val!(b, v);
    }
}

fn bind_postgres(mut b: Separated<'_, Postgres, &'static str>, row: Vec<Val>) {
    for v in row {
        bind_val!(b, v);
    }
}

/// A value as sqlx-sqlite stores it (see `memodesk::db::direct`).
fn native_value(v: Val) -> rusqlite::types::Value {
    use rusqlite::types::Value as V;
    let time = |t: DateTime<Utc>| V::Text(t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, false));
    match v {
        Val::Uuid(x) => V::Blob(x.as_bytes().to_vec()),
        Val::OptUuid(x) => x.map_or(V::Null, |x| V::Blob(x.as_bytes().to_vec())),
        Val::Text(x) => V::Text(x),
        Val::OptText(x) => x.map_or(V::Null, V::Text),
        Val::Time(x) => time(x),
        Val::OptTime(x) => x.map_or(V::Null, time),
        Val::I32(x) => V::Integer(x.into()),
        Val::I64(x) => V::Integer(x),
        Val::F64(x) => V::Real(x),
        Val::OptF64(x) => x.map_or(V::Null, V::Real),
        Val::Bool(x) => V::Integer(x.into()),
        Val::Json(x) => V::Text(x.to_string()),
    }
}

/// Runs `sql` with `values` bound in order on a rusqlite connection.
fn native_execute(
    conn: &rusqlite::Connection,
    sql: &str,
    values: impl IntoIterator<Item = Val>,
) -> rusqlite::Result<usize> {
    let mut stmt = conn.prepare_cached(sql)?;
    for (i, v) in values.into_iter().enumerate() {
        stmt.raw_bind_parameter(i + 1, native_value(v))?;
    }
    stmt.raw_execute()
}

impl Pool {
    /// A rusqlite connection to the SQLite file at `path`, set up as the app's writer.
    pub fn native(path: &std::path::Path) -> anyhow::Result<Self> {
        let conn = rusqlite::Connection::open(path)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; \
             PRAGMA temp_store = memory; PRAGMA cache_size = -32000;",
        )?;
        conn.set_prepared_statement_cache_capacity(128);
        Ok(Pool::Native(Arc::new(tokio::sync::Mutex::new(conn))))
    }

    pub async fn begin(&self) -> anyhow::Result<Tx> {
        Ok(match self {
            Pool::Sqlite(p) => Tx::Sqlite(p.begin().await?),
            Pool::Postgres(p) => Tx::Postgres(p.begin().await?),
            Pool::Native(conn) => {
                let conn = conn.clone().lock_owned().await;
                if !conn.is_autocommit() {
                    // An earlier transaction failed half-way.
                    conn.execute_batch("ROLLBACK")?;
                }
                conn.execute_batch("BEGIN IMMEDIATE")?;
                Tx::Native(conn)
            }
        })
    }

    /// Runs SQL without parameters (one or more statements).
    pub async fn exec(&self, sql: &str) -> anyhow::Result<()> {
        let raw = sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()));
        match self {
            Pool::Sqlite(p) => raw.execute(p).await.map(|_| ()),
            Pool::Postgres(p) => raw.execute(p).await.map(|_| ()),
            Pool::Native(conn) => {
                conn.lock().await.execute_batch(sql)?;
                Ok(())
            }
        }
        .with_context(|| format!("running {sql}"))?;
        Ok(())
    }

    pub async fn close(&self) {
        match self {
            Pool::Sqlite(p) => p.close().await,
            Pool::Postgres(p) => p.close().await,
            Pool::Native(_) => {}
        }
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self, Pool::Postgres(_))
    }
}

impl Tx {
    /// Inserts `rows` (in `table.columns` order) with as few multi-row statements as the bind
    /// limit allows; drains `rows`.
    pub async fn insert(&mut self, table: &Table, rows: &mut Vec<Vec<Val>>) -> anyhow::Result<()> {
        let per_statement = (MAX_BINDS / table.columns.len()).min(MAX_ROWS);
        let head = format!("INSERT INTO {} ({}) ", table.name, table.columns.join(", "));
        while !rows.is_empty() {
            let take = rows.len().min(per_statement);
            let chunk = rows.drain(..take);
            match self {
                Tx::Sqlite(tx) => {
                    let mut qb = QueryBuilder::<Sqlite>::new(head.clone());
                    qb.push_values(chunk, bind_sqlite);
                    qb.build()
                        .execute(&mut **tx)
                        .await
                        .map(|_| ())
                        .map_err(anyhow::Error::from)
                }
                Tx::Postgres(tx) => {
                    let mut qb = QueryBuilder::<Postgres>::new(head.clone());
                    qb.push_values(chunk, bind_postgres);
                    qb.build()
                        .execute(&mut **tx)
                        .await
                        .map(|_| ())
                        .map_err(anyhow::Error::from)
                }
                Tx::Native(conn) => {
                    let row = format!("({})", vec!["?"; table.columns.len()].join(", "));
                    let sql = format!("{head}VALUES {}", vec![row; take].join(", "));
                    native_execute(conn, &sql, chunk.flatten())
                        .map(|_| ())
                        .map_err(anyhow::Error::from)
                }
            }
            .with_context(|| format!("inserting into {}", table.name))?;
        }
        Ok(())
    }

    /// Runs one prepared statement with bound values.
    pub async fn execute(&mut self, stmt: &Stmt, values: Vec<Val>) -> anyhow::Result<u64> {
        let affected = match self {
            Tx::Sqlite(tx) => bind_all!(stmt.query::<Sqlite>(), values)
                .execute(&mut **tx)
                .await?
                .rows_affected(),
            Tx::Postgres(tx) => bind_all!(stmt.query::<Postgres>(), values)
                .execute(&mut **tx)
                .await?
                .rows_affected(),
            Tx::Native(conn) => native_execute(conn, &stmt.0, values)? as u64,
        };
        Ok(affected)
    }

    pub async fn commit(self) -> anyhow::Result<()> {
        match self {
            Tx::Sqlite(tx) => tx.commit().await?,
            Tx::Postgres(tx) => tx.commit().await?,
            Tx::Native(conn) => conn.execute_batch("COMMIT")?,
        }
        Ok(())
    }
}

/// A statement written with `$1`, `$2`, … placeholders, in the spelling of one backend
/// (SQLite reads the same numbers as `?1`, `?2`, …). Cheap to clone; sqlx caches the prepared
/// statement per connection.
#[derive(Clone)]
pub struct Stmt(Arc<str>);

impl Stmt {
    pub fn new(sql: &str, postgres: bool) -> Self {
        let sql = if postgres {
            sql.to_owned()
        } else {
            sql.replace('$', "?")
        };
        Self(sql.into())
    }

    pub fn query<DB: sqlx::Database>(&self) -> sqlx::query::Query<'static, DB, DB::Arguments>
    where
        DB::Arguments: Default,
    {
        sqlx::query(sqlx::AssertSqlSafe(self.0.clone()))
    }
}
