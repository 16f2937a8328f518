//! SQLite: the search index loses its `(tenant_id, lead_id, occurred_at)` index (issue 28's
//! ingest figure).
//!
//! Leads are spread over the whole history, so each batch of messages put its entries at as
//! many random places of that index, and every commit wrote (and the WAL copier copied back)
//! a page of it per message. On SQLite nothing needed it: a lead's search matches FTS5's `scope`
//! token, and erasing a lead's entries finds them the same way (`repo::search::forget_lead`).
//! PostgreSQL keeps it: there the lead filter and erasure read the column.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == DatabaseBackend::Postgres {
            return Ok(());
        }
        manager
            .get_connection()
            .execute_unprepared("DROP INDEX IF EXISTS ix_search_documents_lead")
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == DatabaseBackend::Postgres {
            return Ok(());
        }
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE INDEX IF NOT EXISTS ix_search_documents_lead \
                 ON search_documents (tenant_id, lead_id, occurred_at)",
            )
            .await?;
        Ok(())
    }
}
