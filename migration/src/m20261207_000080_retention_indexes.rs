//! Indexes retention needs so that no batch holds the writer for long (issue 29).
//!
//! - `ix_notes_session`: deleting a session checks (SQLite) or cascades (`ON DELETE SET NULL`)
//!   into `notes (tenant_id, session_id)`. Without an index on the child columns every deleted
//!   session scanned all of its tenant's notes, so a batch of 500 emptied sessions held the
//!   writer for seconds.
//! - `ix_sessions_closed_last_message`: retention looks for a tenant's closed sessions by last
//!   activity, oldest first; the partial index finds them without sorting every session.
//! - `ix_leads_summary_updated`: retention clears the copy of an expired summary on leads in
//!   batches, finding them by the summary's age instead of reading every lead of the tenant.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const UP: &[&str] = &[
    "CREATE INDEX IF NOT EXISTS ix_notes_session ON notes (tenant_id, session_id)",
    "CREATE INDEX IF NOT EXISTS ix_sessions_closed_last_message \
     ON sessions (tenant_id, last_message_at) WHERE status = 'closed'",
    "CREATE INDEX IF NOT EXISTS ix_leads_summary_updated \
     ON leads (tenant_id, summary_updated_at) WHERE summary_updated_at IS NOT NULL",
];

const DOWN: &[&str] = &[
    "DROP INDEX IF EXISTS ix_leads_summary_updated",
    "DROP INDEX IF EXISTS ix_sessions_closed_last_message",
    "DROP INDEX IF EXISTS ix_notes_session",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for sql in UP {
            db.execute_unprepared(sql).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for sql in DOWN {
            db.execute_unprepared(sql).await?;
        }
        Ok(())
    }
}
