//! SeaORM-built statements on a plain `rusqlite` connection: the SQLite reader's and the SQLite
//! writer's shared layer.
//!
//! sqlx-sqlite gives each connection its own thread and hands every statement (and its rows)
//! between that thread and tokio's workers; that hand-off, not SQLite, was most of the time of
//! the memory context and of ingest. Here statements run on the calling thread. The SQL is the
//! one SeaORM builds for the sqlx path, values are bound as sqlx-sqlite binds them, and rows
//! become the same `Model`s through SeaORM's own active-model setters, so both paths read and
//! write identical data.

use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::types::{ToSqlOutput, Value as SqlValue, ValueRef};
use rusqlite::{Connection, ErrorCode};
use sea_orm::sea_query::{ColumnType, Nullable, OnConflict};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseBackend, DbErr, EntityTrait, IdenStatic, Iterable,
    QueryTrait, Select, Statement, TryIntoModel, Value,
};
use uuid::Uuid;

use super::executor::{Executor, FromRow, RowReader};

/// Told of every statement, as SeaORM's metric callback is.
pub type Observer = std::sync::Arc<dyn Fn(&sea_orm::metric::Info<'_>) + Send + Sync>;

/// The start of the text of a [`DbErr`] for a unique-key violation on a rusqlite connection
/// (see [`crate::db::is_unique_violation`]).
pub(crate) const UNIQUE_VIOLATION: &str = "SQLite unique violation: ";

pub(crate) fn driver_err(err: rusqlite::Error) -> DbErr {
    let unique = matches!(
        err.sqlite_error(),
        Some(e) if e.code == ErrorCode::ConstraintViolation
            && matches!(
                e.extended_code,
                rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE | rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
            )
    );
    if unique {
        DbErr::Custom(format!("{UNIQUE_VIOLATION}{err}"))
    } else {
        DbErr::Custom(format!("SQLite: {err}"))
    }
}

/// One connection, lent to a closure by the reader or the writer. Every statement is reported
/// to the observer (the metric callback the SeaORM connections get, so `/metrics` counts these
/// statements too).
pub struct Statements<'c> {
    conn: &'c Connection,
    observer: Option<&'c (dyn Fn(&sea_orm::metric::Info<'_>) + Send + Sync)>,
}

impl<'c> Statements<'c> {
    pub fn new(
        conn: &'c Connection,
        observer: Option<&'c (dyn Fn(&sea_orm::metric::Info<'_>) + Send + Sync)>,
    ) -> Self {
        Self { conn, observer }
    }

    /// The connection itself, for what SeaORM statements do not cover.
    pub fn connection(&self) -> &'c Connection {
        self.conn
    }

    /// The first row of a SeaORM query, if any. For queries of a few rows at most: there is
    /// no `LIMIT 1`, because SQLite prepares a statement with a bound LIMIT again on every run
    /// (it plans with the bound value), which costs more than reading a row or two.
    pub fn one<E: EntityTrait>(&self, select: Select<E>) -> Result<Option<E::Model>, DbErr>
    where
        E::ActiveModel: TryIntoModel<E::Model>,
    {
        Ok(self.all(select)?.into_iter().next())
    }

    /// Every row of a SeaORM query.
    pub fn all<E: EntityTrait>(&self, select: Select<E>) -> Result<Vec<E::Model>, DbErr>
    where
        E::ActiveModel: TryIntoModel<E::Model>,
    {
        self.raw::<E>(&select.build(DatabaseBackend::Sqlite))
    }

    /// Runs a SELECT of `E`'s columns and decodes each row as `E`'s model.
    pub fn raw<E: EntityTrait>(&self, statement: &Statement) -> Result<Vec<E::Model>, DbErr>
    where
        E::ActiveModel: TryIntoModel<E::Model>,
    {
        self.observed(statement, || self.query::<E>(statement))
    }

    /// Runs a statement that returns no rows; returns how many rows it changed.
    pub fn execute(&self, statement: &Statement) -> Result<u64, DbErr> {
        self.observed(statement, || {
            let mut stmt = self.prepared(statement)?;
            Ok(stmt.raw_execute().map_err(driver_err)? as u64)
        })
    }

    /// Inserts `rows` (all of one entity), with `on_conflict` if given; returns how many rows
    /// were written. One single-row statement per row: a multi-row `INSERT` of a batch's size
    /// is parsed afresh for each size, and keeps a statement journal (a copy of every page it
    /// changes, to undo a failure halfway); a one-row statement needs neither. The statement is
    /// built from the first row and prepared once; each row after it binds its own values to
    /// it (a row that sets other columns gets a statement of its own).
    pub fn insert_rows<A: ActiveModelTrait>(
        &self,
        rows: Vec<A>,
        on_conflict: Option<&OnConflict>,
    ) -> Result<u64, DbErr> {
        let build = |row: A| {
            let mut insert = A::Entity::insert(row);
            if let Some(on_conflict) = on_conflict {
                insert = insert.on_conflict(on_conflict.clone());
            }
            insert.build(DatabaseBackend::Sqlite)
        };
        let mut rows = rows.into_iter();
        let Some(first) = rows.next() else {
            return Ok(0);
        };
        let columns: Vec<&str> = set_columns(&first).collect();
        let template = build(first);
        let mut written = self.execute(&template)?;
        // Every value of the first row is a bound parameter, in column order.
        let reusable = template
            .values
            .as_ref()
            .is_some_and(|values| values.0.len() == columns.len());
        for mut row in rows {
            if !reusable || !set_columns(&row).eq(columns.iter().copied()) {
                written += self.execute(&build(row))?;
                continue;
            }
            let values: Vec<Value> = <A::Entity as EntityTrait>::Column::iter()
                .filter_map(|column| row.take(column).into_value())
                .collect();
            // The observer is told the statement's text (its values are the first row's).
            written += self.observed(&template, || {
                let mut stmt = self
                    .conn
                    .prepare_cached(&template.sql)
                    .map_err(driver_err)?;
                bind_values(&mut stmt, &values)?;
                Ok(stmt.raw_execute().map_err(driver_err)? as u64)
            })?;
        }
        Ok(written)
    }

    /// The first column of the first row, as an integer (`UPDATE … RETURNING n`, counts).
    /// Every row is stepped through, so a `RETURNING` statement completes.
    pub fn query_i64(&self, statement: &Statement) -> Result<Option<i64>, DbErr> {
        self.observed(statement, || {
            let mut stmt = self.prepared(statement)?;
            let mut rows = stmt.raw_query();
            let mut first = None;
            while let Some(row) = rows.next().map_err(driver_err)? {
                if first.is_none() {
                    first = Some(row.get::<_, i64>(0).map_err(driver_err)?);
                }
            }
            Ok(first)
        })
    }

    /// Runs SQL without parameters (transaction control).
    pub fn batch(&self, sql: &str) -> Result<(), DbErr> {
        let statement = Statement::from_string(DatabaseBackend::Sqlite, sql);
        self.observed(&statement, || {
            self.conn
                .prepare_cached(sql)
                .and_then(|mut stmt| stmt.raw_execute())
                .map(|_| ())
                .map_err(driver_err)
        })
    }

    /// The cached prepared statement for `statement`, with its values bound.
    fn prepared(&self, statement: &Statement) -> Result<rusqlite::CachedStatement<'c>, DbErr> {
        let mut stmt = self
            .conn
            .prepare_cached(&statement.sql)
            .map_err(driver_err)?;
        bind(&mut stmt, statement)?;
        Ok(stmt)
    }

    fn observed<T>(
        &self,
        statement: &Statement,
        run: impl FnOnce() -> Result<T, DbErr>,
    ) -> Result<T, DbErr> {
        let started = std::time::Instant::now();
        let result = run();
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
        let mut stmt = self.prepared(statement)?;
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

/// The async face of the statements above, for code written once for every driver. Each
/// future finishes at its first poll: the work happens on the calling thread.
impl Executor for Statements<'_> {
    fn backend(&self) -> DatabaseBackend {
        DatabaseBackend::Sqlite
    }

    async fn all<E: EntityTrait>(&self, select: Select<E>) -> Result<Vec<E::Model>, DbErr>
    where
        E::ActiveModel: TryIntoModel<E::Model>,
    {
        Statements::all(self, select)
    }

    async fn one<E: EntityTrait>(&self, select: Select<E>) -> Result<Option<E::Model>, DbErr>
    where
        E::ActiveModel: TryIntoModel<E::Model>,
    {
        Statements::one(self, select)
    }

    async fn raw<E: EntityTrait>(&self, statement: Statement) -> Result<Vec<E::Model>, DbErr>
    where
        E::ActiveModel: TryIntoModel<E::Model>,
    {
        Statements::raw::<E>(self, &statement)
    }

    async fn rows<R: FromRow>(&self, statement: Statement) -> Result<Vec<R>, DbErr> {
        self.observed(&statement, || {
            let mut stmt = self.prepared(&statement)?;
            let mut rows = stmt.raw_query();
            let mut decoded = Vec::new();
            while let Some(row) = rows.next().map_err(driver_err)? {
                decoded.push(R::from_row(&mut SqliteRow { row, next: 0 })?);
            }
            Ok(decoded)
        })
    }

    async fn execute(&self, statement: Statement) -> Result<u64, DbErr> {
        Statements::execute(self, &statement)
    }

    async fn query_i64(&self, statement: Statement) -> Result<Option<i64>, DbErr> {
        Statements::query_i64(self, &statement)
    }

    async fn insert_rows<A: ActiveModelTrait>(
        &self,
        rows: Vec<A>,
        on_conflict: Option<OnConflict>,
    ) -> Result<u64, DbErr> {
        Statements::insert_rows(self, rows, on_conflict.as_ref())
    }
}

/// A `rusqlite` row, read column by column (see [`FromRow`]).
struct SqliteRow<'r, 's> {
    row: &'r rusqlite::Row<'s>,
    next: usize,
}

impl SqliteRow<'_, '_> {
    fn value(&mut self) -> Result<ValueRef<'_>, DbErr> {
        let value = self.row.get_ref(self.next).map_err(driver_err)?;
        self.next += 1;
        Ok(value)
    }
}

impl RowReader for SqliteRow<'_, '_> {
    fn next_i64(&mut self) -> Result<i64, DbErr> {
        self.value()?
            .as_i64()
            .map_err(|_| DbErr::Custom("expected an integer column".into()))
    }

    fn next_string(&mut self) -> Result<String, DbErr> {
        self.value()?
            .as_str()
            .map(str::to_owned)
            .map_err(|_| DbErr::Custom("expected a text column".into()))
    }

    fn next_uuid(&mut self) -> Result<Uuid, DbErr> {
        match typed(self.value()?, &ColumnType::Uuid, "uuid")? {
            Value::Uuid(Some(id)) => Ok(id),
            _ => Err(DbErr::Custom("expected a uuid column".into())),
        }
    }

    fn next_bytes(&mut self) -> Result<Vec<u8>, DbErr> {
        self.value()?
            .as_blob()
            .map(<[u8]>::to_vec)
            .map_err(|_| DbErr::Custom("expected a blob column".into()))
    }

    fn next_f64(&mut self) -> Result<f64, DbErr> {
        match self.value()? {
            ValueRef::Real(x) => Ok(x),
            ValueRef::Integer(n) => Ok(n as f64),
            _ => Err(DbErr::Custom("expected a number column".into())),
        }
    }
}

/// Binds `statement`'s values to `stmt`: numbered placeholders (`$1`, `?1`) take the value of
/// their number, bare `?` take the values in order.
pub fn bind(stmt: &mut rusqlite::Statement<'_>, statement: &Statement) -> Result<(), DbErr> {
    bind_values(
        stmt,
        statement.values.as_ref().map_or(&[], |v| v.0.as_slice()),
    )
}

/// Binds `values` to `stmt`'s placeholders, as [`bind`] does.
fn bind_values(stmt: &mut rusqlite::Statement<'_>, values: &[Value]) -> Result<(), DbErr> {
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

/// The columns `row` sets, in the entity's column order (the order of an insert's values).
fn set_columns<A: ActiveModelTrait>(row: &A) -> impl Iterator<Item = &'static str> + '_ {
    <A::Entity as EntityTrait>::Column::iter()
        .filter(|column| !row.is_not_set(*column))
        .map(|column| column.as_str())
}

/// A time as sqlx-sqlite stores it: RFC 3339 text, as long as its fraction needs.
pub(crate) fn time_text(at: &DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::AutoSi, false)
}

/// A value as sqlx-sqlite stores it (uuids as 16-byte blobs, times as RFC 3339 text, JSON as
/// text), so comparisons in SQL match what the writer wrote.
fn parameter(value: &Value) -> Result<ToSqlOutput<'_>, DbErr> {
    // Text and bytes are lent to SQLite (which copies them as it binds), not cloned first.
    let owned = |v: SqlValue| ToSqlOutput::Owned(v);
    let null = ToSqlOutput::Owned(SqlValue::Null);
    Ok(match value {
        Value::Bool(v) => v.map_or(null, |b| owned(SqlValue::Integer(i64::from(b)))),
        Value::TinyInt(v) => v.map_or(null, |n| owned(SqlValue::Integer(n.into()))),
        Value::SmallInt(v) => v.map_or(null, |n| owned(SqlValue::Integer(n.into()))),
        Value::Int(v) => v.map_or(null, |n| owned(SqlValue::Integer(n.into()))),
        Value::BigInt(v) => v.map_or(null, |n| owned(SqlValue::Integer(n))),
        Value::TinyUnsigned(v) => v.map_or(null, |n| owned(SqlValue::Integer(n.into()))),
        Value::SmallUnsigned(v) => v.map_or(null, |n| owned(SqlValue::Integer(n.into()))),
        Value::Unsigned(v) => v.map_or(null, |n| owned(SqlValue::Integer(n.into()))),
        Value::BigUnsigned(v) => match v {
            None => null,
            Some(n) => owned(SqlValue::Integer(
                i64::try_from(*n).map_err(|_| DbErr::Custom("integer out of range".into()))?,
            )),
        },
        Value::Float(v) => v.map_or(null, |x| owned(SqlValue::Real(x.into()))),
        Value::Double(v) => v.map_or(null, |x| owned(SqlValue::Real(x))),
        Value::String(v) => v.as_ref().map_or(null, |s| {
            ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes()))
        }),
        Value::Char(v) => v.map_or(null, |c| owned(SqlValue::Text(c.to_string()))),
        Value::Bytes(v) => v.as_ref().map_or(null, |b| {
            ToSqlOutput::Borrowed(ValueRef::Blob(b.as_slice()))
        }),
        Value::Uuid(v) => v.as_ref().map_or(null, |u| {
            ToSqlOutput::Borrowed(ValueRef::Blob(u.as_bytes()))
        }),
        Value::ChronoDateTimeUtc(v) => v.map_or(null, |t| owned(SqlValue::Text(time_text(&t)))),
        // `to_string` would go through `Display` and a formatter adapter, a third slower.
        Value::Json(v) => match v {
            None => null,
            Some(j) => owned(SqlValue::Text(serde_json::to_string(j).map_err(|err| {
                DbErr::Custom(format!("a JSON parameter did not serialize: {err}"))
            })?)),
        },
        other => {
            return Err(DbErr::Custom(format!(
                "unsupported parameter type for a rusqlite connection: {other:?}"
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

    /// What `parameter` binds, as an owned value.
    fn bound(value: &Value) -> SqlValue {
        match parameter(value).unwrap() {
            ToSqlOutput::Borrowed(ValueRef::Text(text)) => {
                SqlValue::Text(String::from_utf8(text.to_vec()).unwrap())
            }
            ToSqlOutput::Borrowed(ValueRef::Blob(bytes)) => SqlValue::Blob(bytes.to_vec()),
            ToSqlOutput::Owned(v) => v,
            other => panic!("unexpected binding {other:?}"),
        }
    }

    #[test]
    fn parameters_are_stored_as_sqlx_stores_them() {
        let id = Uuid::from_u128(7);
        assert_eq!(bound(&id.into()), SqlValue::Blob(id.as_bytes().to_vec()));
        let at = parse_time("2026-03-01T10:20:30Z").unwrap();
        assert_eq!(
            bound(&at.into()),
            SqlValue::Text("2026-03-01T10:20:30+00:00".into())
        );
        assert_eq!(bound(&true.into()), SqlValue::Integer(1));
        assert_eq!(bound(&<Uuid as Nullable>::null()), SqlValue::Null);
    }

    /// Rows after the first reuse its statement with their own values, a row that sets other
    /// columns gets a statement of its own, and a row `on_conflict` skips is not counted.
    #[tokio::test]
    async fn inserted_rows_each_keep_their_own_values() {
        use crate::domain::{Channel, MessageRole};
        use crate::entities::message;
        use sea_orm::{ActiveValue::NotSet, QueryOrder};

        let (_dir, path, db) = crate::db::temp_sqlite().await;
        db.migrate().await.unwrap();
        let conn = Connection::open(&path).unwrap();
        // The messages' tenant, lead and session are not there.
        conn.execute_batch("PRAGMA foreign_keys = OFF").unwrap();
        let statements = Statements::new(&conn, None);
        let at = parse_time("2026-03-01T10:20:30Z").unwrap();
        let row = |n: u8, external_id: &str| message::Model {
            tenant_id: Uuid::from_u128(1),
            id: Uuid::from_u128(n.into()),
            session_id: Uuid::from_u128(100 + u128::from(n)),
            lead_id: Uuid::from_u128(200),
            channel: Channel::Whatsapp,
            role: MessageRole::Customer,
            content: format!("message {n}"),
            intent: None,
            intent_confidence: Some(f64::from(n) / 10.0),
            metadata: serde_json::json!({ "n": n }),
            external_id: Some(external_id.into()),
            delivery_status: Some("sent".into()),
            occurred_at: at + chrono::Duration::seconds(n.into()),
            created_at: at,
        };
        let (first, second) = (row(1, "a"), row(2, "b"));
        let mut third = row(3, "c");
        third.delivery_status = None;
        let mut third_unset = message::ActiveModel::from(third.clone());
        third_unset.delivery_status = NotSet;
        let rows = vec![
            message::ActiveModel::from(first.clone()),
            second.clone().into(),
            third_unset,
            // The first one's external id again.
            row(4, "a").into(),
        ];
        let skip_repeats = OnConflict::columns([
            message::Column::TenantId,
            message::Column::Channel,
            message::Column::ExternalId,
        ])
        .do_nothing()
        .to_owned();
        assert_eq!(
            statements.insert_rows(rows, Some(&skip_repeats)).unwrap(),
            3
        );
        let stored = statements
            .all(message::Entity::find().order_by_asc(message::Column::Id))
            .unwrap();
        assert_eq!(stored, vec![first, second, third]);
    }

    /// Every column of the entities read through here has a type `typed` knows (anything else
    /// would be read as text and fail at run time).
    #[test]
    fn every_column_type_read_here_is_known() {
        use crate::entities::{lead, lead_identity, message, note, session};
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
        check::<lead_identity::Entity>();
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
