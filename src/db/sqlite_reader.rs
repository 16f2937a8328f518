//! The hot read path on SQLite: SeaORM-built SELECTs run on plain `rusqlite` connections, all of
//! a request's statements in one hop to the blocking pool.
//!
//! sqlx-sqlite gives each connection its own thread and hands every statement (and its rows)
//! between that thread and tokio's workers. On the memory context that hand-off, not SQLite,
//! was most of the time. Here a request's statements run back to back on one blocking thread;
//! the SQL is the same SeaORM builds for the sqlx path, and the rows become the same `Model`s
//! through SeaORM's own active-model setters, so both paths read identical data.
//!
//! Only reads go through here; every write stays on the single sqlx writer connection.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::types::{Value as SqlValue, ValueRef};
use rusqlite::{Connection, OpenFlags};
use sea_orm::sea_query::{ColumnType, Nullable};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseBackend, DbErr, EntityTrait, IdenStatic, Iterable,
    QueryTrait, Select, Statement, TryIntoModel, Value,
};
use uuid::Uuid;

/// A fixed set of read-only connections to one SQLite file; at most that many reads run at once
/// (the rest wait for a connection, as in any pool), so every read finds its statements already
/// prepared.
#[derive(Clone)]
pub struct SqliteReader {
    inner: Arc<Inner>,
}

/// Told of every statement, as SeaORM's metric callback is.
type Observer = Arc<dyn Fn(&sea_orm::metric::Info<'_>) + Send + Sync>;

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
        F: FnOnce(&Reads<'_>) -> Result<T, DbErr> + Send + 'static,
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
            let result = work(&Reads {
                conn: &conn,
                observer: inner.observer.as_deref(),
            });
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

fn driver_err(err: rusqlite::Error) -> DbErr {
    DbErr::Custom(format!("SQLite: {err}"))
}

/// One connection, lent to a `read` closure.
pub struct Reads<'c> {
    conn: &'c Connection,
    observer: Option<&'c (dyn Fn(&sea_orm::metric::Info<'_>) + Send + Sync)>,
}

impl Reads<'_> {
    /// The first row of a SeaORM query, if any. For queries of a few rows at most: there is
    /// no `LIMIT 1`, because SQLite prepares a statement with a bound LIMIT again on every run
    /// (it plans with the bound value), which costs more than reading a row or two.
    pub fn one<E: EntityTrait>(&self, select: Select<E>) -> Result<Option<E::Model>, DbErr>
    where
        E::ActiveModel: TryIntoModel<E::Model>,
    {
        let statement = select.build(DatabaseBackend::Sqlite);
        Ok(self.raw::<E>(&statement)?.into_iter().next())
    }

    /// Runs a SELECT of `E`'s columns and decodes each row as `E`'s model.
    pub fn raw<E: EntityTrait>(&self, statement: &Statement) -> Result<Vec<E::Model>, DbErr>
    where
        E::ActiveModel: TryIntoModel<E::Model>,
    {
        let started = std::time::Instant::now();
        let result = self.query::<E>(statement);
        if let Some(observer) = self.observer {
            observer(&sea_orm::metric::Info {
                elapsed: started.elapsed(),
                statement,
                failed: result.is_err(),
            });
        }
        result
    }

    fn query<E: EntityTrait>(&self, statement: &Statement) -> Result<Vec<E::Model>, DbErr>
    where
        E::ActiveModel: TryIntoModel<E::Model>,
    {
        let mut stmt = self
            .conn
            .prepare_cached(&statement.sql)
            .map_err(driver_err)?;
        bind(&mut stmt, statement)?;
        // Which entity column each result column is (by name: `SELECT *` has the table's order,
        // SeaORM's select lists the entity's).
        let columns: Vec<Option<(E::Column, ColumnType)>> = stmt
            .column_names()
            .iter()
            .map(|name| {
                E::Column::iter()
                    .find(|c| c.as_str() == *name)
                    .map(|c| (c, c.def().get_column_type().clone()))
            })
            .collect();
        let mut rows = stmt.raw_query();
        let mut models = Vec::new();
        while let Some(row) = rows.next().map_err(driver_err)? {
            // Through the active model: its setters check each value against the field, and
            // `try_into_model` fails on any column left unset.
            let mut model = <E::ActiveModel as ActiveModelTrait>::default();
            for (i, column) in columns.iter().enumerate() {
                let Some((column, ty)) = column else { continue };
                let value = row.get_ref(i).map_err(driver_err)?;
                model.try_set(*column, typed(value, ty, column.as_str())?)?;
            }
            models.push(model.try_into_model()?);
        }
        Ok(models)
    }
}

/// Binds a statement's values. Numbered (`$1`, `?1`) placeholders take the value they name;
/// bare `?` take the values in order.
fn bind(stmt: &mut rusqlite::Statement<'_>, statement: &Statement) -> Result<(), DbErr> {
    let values: &[Value] = statement.values.as_ref().map_or(&[], |v| v.0.as_slice());
    let mut next = 0;
    for index in 1..=stmt.parameter_count() {
        let position = match stmt.parameter_name(index) {
            Some(name) => name[1..]
                .parse::<usize>()
                .ok()
                .and_then(|n| n.checked_sub(1))
                .ok_or_else(|| DbErr::Custom(format!("unsupported placeholder {name}")))?,
            None => {
                next += 1;
                next - 1
            }
        };
        let value = values.get(position).ok_or_else(|| {
            DbErr::Custom(format!(
                "no value for placeholder {index} of {}",
                values.len()
            ))
        })?;
        stmt.raw_bind_parameter(index, parameter(value)?)
            .map_err(driver_err)?;
    }
    Ok(())
}

/// A value as sqlx-sqlite stores it (uuids as 16-byte blobs, times as RFC 3339 text, JSON as
/// text), so comparisons in SQL match what the writer wrote.
fn parameter(value: &Value) -> Result<SqlValue, DbErr> {
    Ok(match value {
        Value::Bool(v) => v.map_or(SqlValue::Null, |b| SqlValue::Integer(i64::from(b))),
        Value::TinyInt(v) => v.map_or(SqlValue::Null, |n| SqlValue::Integer(n.into())),
        Value::SmallInt(v) => v.map_or(SqlValue::Null, |n| SqlValue::Integer(n.into())),
        Value::Int(v) => v.map_or(SqlValue::Null, |n| SqlValue::Integer(n.into())),
        Value::BigInt(v) => v.map_or(SqlValue::Null, SqlValue::Integer),
        Value::TinyUnsigned(v) => v.map_or(SqlValue::Null, |n| SqlValue::Integer(n.into())),
        Value::SmallUnsigned(v) => v.map_or(SqlValue::Null, |n| SqlValue::Integer(n.into())),
        Value::Unsigned(v) => v.map_or(SqlValue::Null, |n| SqlValue::Integer(n.into())),
        Value::BigUnsigned(v) => match v {
            None => SqlValue::Null,
            Some(n) => SqlValue::Integer(
                i64::try_from(*n).map_err(|_| DbErr::Custom("integer out of range".into()))?,
            ),
        },
        Value::Float(v) => v.map_or(SqlValue::Null, |x| SqlValue::Real(x.into())),
        Value::Double(v) => v.map_or(SqlValue::Null, SqlValue::Real),
        Value::String(v) => v
            .as_ref()
            .map_or(SqlValue::Null, |s| SqlValue::Text(s.clone())),
        Value::Char(v) => v.map_or(SqlValue::Null, |c| SqlValue::Text(c.to_string())),
        Value::Bytes(v) => v
            .as_ref()
            .map_or(SqlValue::Null, |b| SqlValue::Blob(b.clone())),
        Value::Uuid(v) => v.map_or(SqlValue::Null, |u| SqlValue::Blob(u.as_bytes().to_vec())),
        Value::ChronoDateTimeUtc(v) => v.map_or(SqlValue::Null, |t| {
            SqlValue::Text(t.to_rfc3339_opts(SecondsFormat::AutoSi, false))
        }),
        Value::Json(v) => v
            .as_ref()
            .map_or(SqlValue::Null, |j| SqlValue::Text(j.to_string())),
        other => {
            return Err(DbErr::Custom(format!(
                "unsupported parameter type for the SQLite reader: {other:?}"
            )));
        }
    })
}

/// A column's value as the `Value` variant its model field decodes from (SeaORM's setters are
/// strict about variants, NULLs included).
fn typed(value: ValueRef<'_>, ty: &ColumnType, column: &str) -> Result<Value, DbErr> {
    let mismatch = || DbErr::Custom(format!("unexpected SQLite value in column {column}"));
    let text = |value: ValueRef<'_>| -> Result<String, DbErr> {
        value.as_str().map(str::to_owned).map_err(|_| mismatch())
    };
    if let ValueRef::Null = value {
        return Ok(match ty {
            ColumnType::Uuid => <Uuid as Nullable>::null(),
            ColumnType::TimestampWithTimeZone | ColumnType::Timestamp | ColumnType::DateTime => {
                <DateTime<Utc> as Nullable>::null()
            }
            ColumnType::Json | ColumnType::JsonBinary => <serde_json::Value as Nullable>::null(),
            ColumnType::Boolean => <bool as Nullable>::null(),
            ColumnType::Integer => <i32 as Nullable>::null(),
            ColumnType::BigInteger => <i64 as Nullable>::null(),
            ColumnType::Double | ColumnType::Float | ColumnType::Decimal(_) => {
                <f64 as Nullable>::null()
            }
            _ => <String as Nullable>::null(),
        });
    }
    Ok(match ty {
        ColumnType::Uuid => match value {
            ValueRef::Blob(bytes) => Uuid::from_slice(bytes).map_err(|_| mismatch())?.into(),
            ValueRef::Text(_) => Uuid::parse_str(&text(value)?)
                .map_err(|_| mismatch())?
                .into(),
            _ => return Err(mismatch()),
        },
        ColumnType::TimestampWithTimeZone | ColumnType::Timestamp | ColumnType::DateTime => {
            parse_time(&text(value)?).ok_or_else(mismatch)?.into()
        }
        ColumnType::Json | ColumnType::JsonBinary => {
            let json: serde_json::Value = match value {
                ValueRef::Text(bytes) | ValueRef::Blob(bytes) => {
                    serde_json::from_slice(bytes).map_err(|_| mismatch())?
                }
                _ => return Err(mismatch()),
            };
            json.into()
        }
        ColumnType::Boolean => (value.as_i64().map_err(|_| mismatch())? != 0).into(),
        ColumnType::Integer => i32::try_from(value.as_i64().map_err(|_| mismatch())?)
            .map_err(|_| mismatch())?
            .into(),
        ColumnType::BigInteger => value.as_i64().map_err(|_| mismatch())?.into(),
        ColumnType::Double | ColumnType::Float | ColumnType::Decimal(_) => match value {
            ValueRef::Real(x) => x.into(),
            ValueRef::Integer(n) => (n as f64).into(),
            _ => return Err(mismatch()),
        },
        _ => text(value)?.into(),
    })
}

/// Times as sqlx-sqlite writes them (RFC 3339), or as SQLite's own functions do.
fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.with_timezone(&Utc));
    }
    ["%F %T%.f%:z", "%F %T%.fZ"]
        .iter()
        .find_map(|f| DateTime::parse_from_str(text, f).ok())
        .map(|t| t.with_timezone(&Utc))
        .or_else(|| {
            chrono::NaiveDateTime::parse_from_str(text, "%F %T%.f")
                .ok()
                .map(|t| t.and_utc())
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Channel, IdentityKind, SessionStatus};
    use crate::entities::session;
    use crate::repo;
    use rusqlite::StatementStatus;
    use sea_orm::{QueryFilter, QuerySelect};

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

    #[test]
    fn times_parse_in_the_formats_sqlite_holds() {
        let want = DateTime::parse_from_rfc3339("2026-03-01T10:20:30.123456Z")
            .unwrap()
            .with_timezone(&Utc);
        for text in [
            "2026-03-01T10:20:30.123456+00:00",
            "2026-03-01T10:20:30.123456Z",
            "2026-03-01 10:20:30.123456+00:00",
            "2026-03-01 10:20:30.123456",
        ] {
            assert_eq!(parse_time(text), Some(want), "{text}");
        }
        assert_eq!(parse_time("yesterday"), None);
    }

    #[test]
    fn parameters_are_stored_as_sqlx_stores_them() {
        let id = Uuid::from_u128(7);
        assert_eq!(
            parameter(&id.into()).unwrap(),
            SqlValue::Blob(id.as_bytes().to_vec())
        );
        let at = parse_time("2026-03-01T10:20:30Z").unwrap();
        assert_eq!(
            parameter(&at.into()).unwrap(),
            SqlValue::Text("2026-03-01T10:20:30+00:00".into())
        );
        assert_eq!(parameter(&true.into()).unwrap(), SqlValue::Integer(1));
        assert_eq!(
            parameter(&<Uuid as Nullable>::null()).unwrap(),
            SqlValue::Null
        );
    }

    /// Every column of the entities the reader decodes has a type `typed` knows (anything else
    /// would be read as text and fail at run time).
    #[test]
    fn the_reader_knows_every_column_type_it_reads() {
        use crate::entities::{lead, message, note};
        fn check<E: EntityTrait>() {
            for column in E::Column::iter() {
                let ty = column.def().get_column_type().clone();
                let known = matches!(
                    ty,
                    ColumnType::Uuid
                        | ColumnType::TimestampWithTimeZone
                        | ColumnType::Json
                        | ColumnType::JsonBinary
                        | ColumnType::Boolean
                        | ColumnType::Integer
                        | ColumnType::BigInteger
                        | ColumnType::Double
                        | ColumnType::Text
                        | ColumnType::String(_)
                );
                assert!(known, "{}: {ty:?}", column.as_str());
            }
        }
        check::<lead::Entity>();
        check::<session::Entity>();
        check::<message::Entity>();
        check::<note::Entity>();
    }

    #[test]
    fn nulls_keep_their_column_type() {
        let null = typed(ValueRef::Null, &ColumnType::Uuid, "x").unwrap();
        assert_eq!(null, <Uuid as Nullable>::null());
        let null = typed(ValueRef::Null, &ColumnType::BigInteger, "x").unwrap();
        assert_eq!(null, <i64 as Nullable>::null());
        assert!(typed(ValueRef::Text(b"x"), &ColumnType::Uuid, "x").is_err());
    }
}
