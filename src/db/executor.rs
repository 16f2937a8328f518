//! What the ingest path needs from a connection, so that one body of queries runs on SeaORM
//! (PostgreSQL, in-memory SQLite) and on the SQLite writer's own connection
//! ([`super::sqlite_writer`]).
//!
//! SeaORM's `ConnectionTrait` cannot be implemented outside SeaORM (its row and result types
//! have no public constructors), hence this smaller trait. Every `ConnectionTrait` has it.

use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveModelTrait, ConnectionTrait, DatabaseBackend, DatabaseTransaction, DbErr, EntityTrait,
    QueryTrait, Select, Statement, TransactionTrait, TryIntoModel,
};

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

    /// Runs a statement that returns no rows; returns how many rows it changed.
    async fn execute(&self, statement: Statement) -> Result<u64, DbErr>;

    /// The first column of the first row as an integer (`UPDATE … RETURNING n`).
    async fn query_i64(&self, statement: Statement) -> Result<Option<i64>, DbErr>;

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

/// A write transaction with savepoints. Dropping one without `commit` rolls it back.
#[allow(async_fn_in_trait)] // implemented in this crate only; callers see concrete types
pub trait WriteTx: Executor + Sized {
    /// A savepoint inside this transaction (its own commit and rollback).
    async fn savepoint(&self) -> Result<Self, DbErr>;
    async fn commit(self) -> Result<(), DbErr>;
    async fn rollback(self) -> Result<(), DbErr>;
}

impl WriteTx for DatabaseTransaction {
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
