//! SQLite: each tenant's search documents get rowids in a range of their own (issue 30).
//!
//! A tenant's number (`search_ranges`, given to every tenant by trigger, never reused) puts its
//! documents' rowids in `[number << 40, (number + 1) << 40)`. A search then confines FTS5 to the
//! tenant with a rowid range, which FTS5 applies while it walks the word's matches, instead of
//! matching a tenant token that every one of the tenant's documents holds: at 1 M messages that
//! merge was most of a tenant-wide search's time. The `scope` column keeps the lead token only.
//!
//! Existing documents are renumbered into their tenant's range. Their terms cannot be moved
//! (the FTS5 table is contentless, so it holds no text to re-index from), so the index is
//! emptied and `search_rebuild` records that the documents need their terms again: the server
//! restores them in the background when it starts, and so does `memodesk search reindex`
//! (`services::embeddings::restore_terms`). Searches find the records again as that goes.
//!
//! PostgreSQL is untouched: its tenant check is a column of the GIN-indexed rows.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

const UP: &[&str] = &[
    "CREATE TABLE search_ranges (
        number INTEGER PRIMARY KEY AUTOINCREMENT,
        tenant_id uuid_text NOT NULL UNIQUE REFERENCES tenants (id) ON DELETE CASCADE
    )",
    "CREATE TRIGGER tenants_search_range AFTER INSERT ON tenants BEGIN \
     INSERT INTO search_ranges (tenant_id) VALUES (NEW.id); END",
    "INSERT INTO search_ranges (tenant_id) SELECT id FROM tenants ORDER BY created_at, id",
    // Documents waiting for their terms, from `after_rowid` on (one row, while any wait).
    "CREATE TABLE search_rebuild (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        after_rowid INTEGER NOT NULL
    )",
    "INSERT INTO search_rebuild (id, after_rowid) \
     SELECT 1, 0 WHERE EXISTS (SELECT 1 FROM search_documents)",
    // Old rowids are below 2^40, so no new one collides with a row not yet moved.
    "UPDATE search_documents SET rowid = moved.new_rowid FROM (
        SELECT d.rowid AS old_rowid,
               (r.number << 40) + ROW_NUMBER() OVER (PARTITION BY d.tenant_id ORDER BY d.rowid)
                   AS new_rowid
        FROM search_documents d JOIN search_ranges r ON r.tenant_id = d.tenant_id
    ) AS moved WHERE search_documents.rowid = moved.old_rowid",
    "INSERT INTO search_fts (search_fts) VALUES ('delete-all')",
];

/// Going back empties the index: the old code numbers documents from 1 and would not find
/// these; `memodesk search reindex` (of that version) builds it again.
const DOWN: &[&str] = &[
    "INSERT INTO search_fts (search_fts) VALUES ('delete-all')",
    "DELETE FROM search_vectors",
    "DELETE FROM search_documents",
    "DROP TABLE IF EXISTS search_rebuild",
    "DROP TRIGGER IF EXISTS tenants_search_range",
    "DROP TABLE IF EXISTS search_ranges",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == DatabaseBackend::Postgres {
            return Ok(());
        }
        let db = manager.get_connection();
        for sql in UP {
            db.execute_unprepared(sql).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == DatabaseBackend::Postgres {
            return Ok(());
        }
        let db = manager.get_connection();
        for sql in DOWN {
            db.execute_unprepared(sql).await?;
        }
        Ok(())
    }
}
