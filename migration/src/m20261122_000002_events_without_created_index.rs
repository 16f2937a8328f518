//! Drops the index of events by creation time.
//!
//! Event retention now deletes a prefix of each tenant's sequence, found by walking the primary
//! key `(tenant_id, seq)` (see `workers::maintenance` in the app). The time index served only the
//! old time-based delete, and every event insert, the busiest insert of ingest (a message
//! writes one or more events), paid a b-tree write for it.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const INDEX: &str = "ix_events_created";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name(INDEX)
                    .table(Events::Table)
                    .if_exists()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name(INDEX)
                    .table(Events::Table)
                    .col(Events::TenantId)
                    .col(Events::CreatedAt)
                    .if_not_exists()
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Events {
    Table,
    TenantId,
    CreatedAt,
}
