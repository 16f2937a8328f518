//! What repo queries need from a connection, so that one body of queries runs on SeaORM
//! (PostgreSQL, SQLite through sqlx) and on the `rusqlite` connections of the two SQLite hot
//! paths ([`super::sqlite_reader`], [`super::sqlite_writer`]).
//!
//! SeaORM's `ConnectionTrait` cannot be implemented outside SeaORM (its row and result types
//! have no public constructors), hence this smaller trait. Every `ConnectionTrait` has it.

use sea_orm::sea_query::{Alias, Expr, OnConflict, Query};
use sea_orm::{
    ActiveModelTrait, ConnectionTrait, DatabaseBackend, DatabaseTransaction, DbErr, EntityTrait,
    QueryTrait, Select, Statement, TransactionTrait, TryIntoModel,
};
use uuid::Uuid;

/// Runs SeaORM-built statements. The futures of the rusqlite implementation finish at their
/// first poll (the work happens on the calling thread); the SeaORM ones are `Send` whenever the
/// connection is, so callers keep whatever `Send`-ness their connection gives them.
#[allow(async_fn_in_trait)] // implemented in this crate only; callers see concrete types
pub trait Executor {
    fn backend(&self) -> DatabaseBackend;

    /// Every row of `select`.
    async fn all<E: EntityTrait>(&self, select: Select<E>) -> Result<Vec<E::Model>, DbErr>
    where
        E::ActiveModel: TryIntoModel<E::Model>;

    /// The first row of `select` (a lookup by key: at most a row or two).
    async fn one<E: EntityTrait>(&self, select: Select<E>) -> Result<Option<E::Model>, DbErr>
    where
        E::ActiveModel: TryIntoModel<E::Model>;

    /// The rows of a hand-written statement that selects `E`'s columns (`SELECT *`,
    /// `UPDATE … RETURNING *`).
    async fn raw<E: EntityTrait>(&self, statement: Statement) -> Result<Vec<E::Model>, DbErr>
    where
        E::ActiveModel: TryIntoModel<E::Model>;

    /// The rows of a statement whose columns are not an entity's (aggregates, a few columns),
    /// decoded by position.
    async fn rows<R: FromRow>(&self, statement: Statement) -> Result<Vec<R>, DbErr>;

    /// Runs a statement that returns no rows; returns how many rows it changed.
    async fn execute(&self, statement: Statement) -> Result<u64, DbErr>;

    /// The first column of the first row as an integer (`UPDATE … RETURNING n`).
    async fn query_i64(&self, statement: Statement) -> Result<Option<i64>, DbErr>;

    /// How many rows `select` finds.
    async fn count<E: EntityTrait>(&self, select: Select<E>) -> Result<u64, DbErr> {
        let counted = Query::select()
            .expr(Expr::cust("COUNT(*)"))
            .from_subquery(select.into_query(), Alias::new("counted"))
            .to_owned();
        let n = self
            .query_i64(self.backend().build(&counted))
            .await?
            .unwrap_or(0);
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// Builds `query` for this backend and runs it (inserts, upserts).
    async fn run<Q: QueryTrait>(&self, query: &Q) -> Result<u64, DbErr> {
        self.execute(query.build(self.backend())).await
    }

    /// Inserts `rows` (at least one, all with the same columns set), with `on_conflict` if
    /// given; returns how many rows were written. Here one multi-row statement: one round trip.
    async fn insert_rows<A: ActiveModelTrait>(
        &self,
        rows: Vec<A>,
        on_conflict: Option<OnConflict>,
    ) -> Result<u64, DbErr> {
        let mut insert = A::Entity::insert_many(rows);
        if let Some(on_conflict) = on_conflict {
            insert = insert.on_conflict(on_conflict);
        }
        self.run(&insert).await
    }
}

impl<C: ConnectionTrait> Executor for C {
    fn backend(&self) -> DatabaseBackend {
        self.get_database_backend()
    }

    async fn all<E: EntityTrait>(&self, select: Select<E>) -> Result<Vec<E::Model>, DbErr>
    where
        E::ActiveModel: TryIntoModel<E::Model>,
    {
        select.all(self).await
    }

    async fn one<E: EntityTrait>(&self, select: Select<E>) -> Result<Option<E::Model>, DbErr>
    where
        E::ActiveModel: TryIntoModel<E::Model>,
    {
        select.one(self).await
    }

    async fn raw<E: EntityTrait>(&self, statement: Statement) -> Result<Vec<E::Model>, DbErr>
    where
        E::ActiveModel: TryIntoModel<E::Model>,
    {
        E::find().from_raw_sql(statement).all(self).await
    }

    async fn rows<R: FromRow>(&self, statement: Statement) -> Result<Vec<R>, DbErr> {
        self.query_all_raw(statement)
            .await?
            .iter()
            .map(|row| R::from_row(&mut SeaRow { row, next: 0 }))
            .collect()
    }

    async fn execute(&self, statement: Statement) -> Result<u64, DbErr> {
        Ok(self.execute_raw(statement).await?.rows_affected())
    }

    async fn query_i64(&self, statement: Statement) -> Result<Option<i64>, DbErr> {
        match self.query_one_raw(statement).await? {
            Some(row) => Ok(Some(row.try_get_by_index(0)?)),
            None => Ok(None),
        }
    }
}

/// Reads a row's columns in order (see [`FromRow`]).
pub trait RowReader {
    fn next_i64(&mut self) -> Result<i64, DbErr>;
    fn next_string(&mut self) -> Result<String, DbErr>;
    fn next_uuid(&mut self) -> Result<Uuid, DbErr>;
    fn next_f64(&mut self) -> Result<f64, DbErr>;
    fn next_bytes(&mut self) -> Result<Vec<u8>, DbErr>;
}

/// A row type of [`Executor::rows`]: tuples of the column types below, in select order.
pub trait FromRow: Sized {
    fn from_row(row: &mut dyn RowReader) -> Result<Self, DbErr>;
}

/// One column of a [`FromRow`] tuple.
pub trait Column: Sized {
    fn read(row: &mut dyn RowReader) -> Result<Self, DbErr>;
}

impl Column for i64 {
    fn read(row: &mut dyn RowReader) -> Result<Self, DbErr> {
        row.next_i64()
    }
}

impl Column for i32 {
    fn read(row: &mut dyn RowReader) -> Result<Self, DbErr> {
        i32::try_from(row.next_i64()?).map_err(|_| DbErr::Custom("integer out of range".into()))
    }
}

impl Column for String {
    fn read(row: &mut dyn RowReader) -> Result<Self, DbErr> {
        row.next_string()
    }
}

impl Column for Uuid {
    fn read(row: &mut dyn RowReader) -> Result<Self, DbErr> {
        row.next_uuid()
    }
}

impl Column for f64 {
    fn read(row: &mut dyn RowReader) -> Result<Self, DbErr> {
        row.next_f64()
    }
}

impl Column for Vec<u8> {
    fn read(row: &mut dyn RowReader) -> Result<Self, DbErr> {
        row.next_bytes()
    }
}

impl<A: Column> FromRow for (A,) {
    fn from_row(row: &mut dyn RowReader) -> Result<Self, DbErr> {
        Ok((A::read(row)?,))
    }
}

impl<A: Column, B: Column> FromRow for (A, B) {
    fn from_row(row: &mut dyn RowReader) -> Result<Self, DbErr> {
        Ok((A::read(row)?, B::read(row)?))
    }
}

impl<A: Column, B: Column, C: Column> FromRow for (A, B, C) {
    fn from_row(row: &mut dyn RowReader) -> Result<Self, DbErr> {
        Ok((A::read(row)?, B::read(row)?, C::read(row)?))
    }
}

impl<A: Column, B: Column, C: Column, D: Column> FromRow for (A, B, C, D) {
    fn from_row(row: &mut dyn RowReader) -> Result<Self, DbErr> {
        Ok((A::read(row)?, B::read(row)?, C::read(row)?, D::read(row)?))
    }
}

impl<A: Column, B: Column, C: Column, D: Column, E: Column> FromRow for (A, B, C, D, E) {
    fn from_row(row: &mut dyn RowReader) -> Result<Self, DbErr> {
        Ok((
            A::read(row)?,
            B::read(row)?,
            C::read(row)?,
            D::read(row)?,
            E::read(row)?,
        ))
    }
}

/// A SeaORM row, read column by column.
struct SeaRow<'r> {
    row: &'r sea_orm::QueryResult,
    next: usize,
}

impl SeaRow<'_> {
    fn next<T: sea_orm::TryGetable>(&mut self) -> Result<T, DbErr> {
        let value = self.row.try_get_by_index(self.next)?;
        self.next += 1;
        Ok(value)
    }
}

impl RowReader for SeaRow<'_> {
    fn next_i64(&mut self) -> Result<i64, DbErr> {
        // PostgreSQL integer columns are 4 bytes, counts 8.
        match self.row.try_get_by_index::<i64>(self.next) {
            Ok(n) => {
                self.next += 1;
                Ok(n)
            }
            Err(_) => self.next::<i32>().map(i64::from),
        }
    }

    fn next_string(&mut self) -> Result<String, DbErr> {
        self.next()
    }

    fn next_uuid(&mut self) -> Result<Uuid, DbErr> {
        self.next()
    }

    fn next_bytes(&mut self) -> Result<Vec<u8>, DbErr> {
        self.next()
    }

    fn next_f64(&mut self) -> Result<f64, DbErr> {
        // ts_rank_cd is a 4-byte real.
        match self.row.try_get_by_index::<f64>(self.next) {
            Ok(x) => {
                self.next += 1;
                Ok(x)
            }
            Err(_) => self.next::<f32>().map(f64::from),
        }
    }
}

/// A write transaction with savepoints. Dropping one without `commit` rolls it back.
#[allow(async_fn_in_trait)] // implemented in this crate only; callers see concrete types
pub trait WriteTx: Sized {
    /// What the transaction's statements run on.
    type Conn: Executor;

    fn conn(&self) -> &Self::Conn;

    /// A savepoint inside this transaction (its own commit and rollback).
    async fn savepoint(&self) -> Result<Self, DbErr>;
    async fn commit(self) -> Result<(), DbErr>;
    async fn rollback(self) -> Result<(), DbErr>;
}

impl WriteTx for DatabaseTransaction {
    type Conn = Self;

    fn conn(&self) -> &Self {
        self
    }

    async fn savepoint(&self) -> Result<Self, DbErr> {
        TransactionTrait::begin(self).await
    }

    async fn commit(self) -> Result<(), DbErr> {
        DatabaseTransaction::commit(self).await
    }

    async fn rollback(self) -> Result<(), DbErr> {
        DatabaseTransaction::rollback(self).await
    }
}

/// Where write transactions begin: the app's [`Db`](super::Db) (SeaORM), or the SQLite
/// writer's connection.
#[allow(async_fn_in_trait)] // implemented in this crate only; callers see concrete types
pub trait BeginWrite {
    type Tx<'a>: WriteTx
    where
        Self: 'a;

    /// A write transaction that holds the write lock from its start on SQLite.
    async fn begin_write(&self) -> Result<Self::Tx<'_>, DbErr>;
}

impl BeginWrite for super::Db {
    type Tx<'a> = DatabaseTransaction;

    async fn begin_write(&self) -> Result<DatabaseTransaction, DbErr> {
        super::Db::begin_write(self).await
    }
}
