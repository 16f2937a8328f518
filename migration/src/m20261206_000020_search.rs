//! Full-text search over messages, summaries and notes (issue 30).
//!
//! `search_documents` holds one row per searchable record, keyed like the record, with the
//! columns search filters on. The application writes it in the same transaction as the record
//! (the terms are made in Rust: stemming, niqqud, Hebrew prefix letters). Deleting a record,
//! directly or through a cascade from its lead or session, deletes its row by trigger, so
//! erasure and retention need do nothing more.
//!
//! SQLite: the terms live in the contentless FTS5 table `search_fts` (rowid = the document's
//! rowid), with a `scope` column holding the tenant and lead tokens.
//! PostgreSQL: the terms are a `tsvector` column with a GIN index.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

const COMMON: &str = "CREATE TABLE search_documents (
    tenant_id uuid_text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id uuid_text NOT NULL,
    kind text NOT NULL,
    lead_id uuid_text NOT NULL,
    session_id uuid_text NULL,
    channel text NULL,
    role text NULL,
    occurred_at timestamp_tz NOT NULL,
    terms_column
    PRIMARY KEY (tenant_id, id)
)";

const SOURCES: [&str; 3] = ["messages", "notes", "interaction_summaries"];

const SQLITE: &[&str] = &[
    "CREATE VIRTUAL TABLE search_fts USING fts5(scope, body, content='', contentless_delete=1, \
     tokenize='unicode61 remove_diacritics 0')",
    "CREATE TRIGGER search_documents_forget AFTER DELETE ON search_documents \
     BEGIN DELETE FROM search_fts WHERE rowid = OLD.rowid; END",
];

const POSTGRES: &[&str] = &[
    "CREATE INDEX ix_search_documents_terms ON search_documents USING GIN (terms)",
    "CREATE FUNCTION search_forget() RETURNS trigger LANGUAGE plpgsql AS $$ \
     BEGIN DELETE FROM search_documents WHERE tenant_id = OLD.tenant_id AND id = OLD.id; \
     RETURN OLD; END $$",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let postgres = manager.get_database_backend() == DatabaseBackend::Postgres;
        // The same column types the initial schema's builder produced on each backend.
        let table = if postgres {
            COMMON
                .replace("uuid_text", "uuid")
                .replace("timestamp_tz", "timestamp with time zone")
                .replace("terms_column", "terms tsvector NOT NULL,")
        } else {
            COMMON
                .replace("timestamp_tz", "timestamp_with_timezone_text")
                .replace("terms_column", "")
        };
        db.execute_unprepared(&table).await?;
        db.execute_unprepared(
            "CREATE INDEX ix_search_documents_lead \
             ON search_documents (tenant_id, lead_id, occurred_at)",
        )
        .await?;
        if postgres {
            for sql in POSTGRES {
                db.execute_unprepared(sql).await?;
            }
            for source in SOURCES {
                db.execute_unprepared(&format!(
                    "CREATE TRIGGER {source}_search_forget AFTER DELETE ON {source} \
                     FOR EACH ROW EXECUTE FUNCTION search_forget()"
                ))
                .await?;
            }
        } else {
            for sql in SQLITE {
                db.execute_unprepared(sql).await?;
            }
            for source in SOURCES {
                db.execute_unprepared(&format!(
                    "CREATE TRIGGER {source}_search_forget AFTER DELETE ON {source} BEGIN \
                     DELETE FROM search_documents WHERE tenant_id = OLD.tenant_id AND id = OLD.id; \
                     END"
                ))
                .await?;
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let postgres = manager.get_database_backend() == DatabaseBackend::Postgres;
        for source in SOURCES {
            db.execute_unprepared(&format!(
                "DROP TRIGGER IF EXISTS {source}_search_forget{}",
                if postgres {
                    format!(" ON {source}")
                } else {
                    String::new()
                }
            ))
            .await?;
        }
        if postgres {
            db.execute_unprepared("DROP FUNCTION IF EXISTS search_forget()")
                .await?;
        } else {
            db.execute_unprepared("DROP TABLE IF EXISTS search_fts")
                .await?;
        }
        db.execute_unprepared("DROP TABLE IF EXISTS search_documents")
            .await?;
        Ok(())
    }
}
