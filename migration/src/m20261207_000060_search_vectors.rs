//! Semantic search vectors (issue 30): one embedding per search document, with the model that
//! made it, so a change of model is seen and re-embedded.
//!
//! A vector belongs to its search document (foreign key, `ON DELETE CASCADE`): deleting a
//! record deletes its search document by trigger and the vector with it, so erasure and
//! retention forget vectors in the same transaction as the record.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

const TABLE: &str = "CREATE TABLE search_vectors (
    tenant_id uuid_text NOT NULL,
    document_id uuid_text NOT NULL,
    lead_id uuid_text NOT NULL,
    model text NOT NULL,
    dims integer NOT NULL,
    vector blob_type NOT NULL,
    embedded_at timestamp_tz NOT NULL,
    PRIMARY KEY (tenant_id, document_id),
    FOREIGN KEY (tenant_id, document_id) REFERENCES search_documents (tenant_id, id)
        ON DELETE CASCADE
)";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let table = if manager.get_database_backend() == DatabaseBackend::Postgres {
            TABLE
                .replace("uuid_text", "uuid")
                .replace("blob_type", "bytea")
                .replace("timestamp_tz", "timestamp with time zone")
        } else {
            TABLE
                .replace("blob_type", "blob")
                .replace("timestamp_tz", "timestamp_with_timezone_text")
        };
        db.execute_unprepared(&table).await?;
        // The per-lead scan of semantic search and of erasure.
        db.execute_unprepared(
            "CREATE INDEX ix_search_vectors_lead ON search_vectors (tenant_id, lead_id)",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("DROP TABLE IF EXISTS search_vectors")
            .await?;
        Ok(())
    }
}
