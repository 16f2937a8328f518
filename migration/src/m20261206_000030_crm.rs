//! CRM integration: the change feed reads a lead's events in order, so the outbox gets an index
//! by lead.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // "Did this lead change after cursor N?" is one probe of this index per lead.
        manager
            .create_index(
                Index::create()
                    .name("ix_events_lead_seq")
                    .table(Events::Table)
                    .col(Events::TenantId)
                    .col(Events::LeadId)
                    .col(Events::Seq)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("ix_events_lead_seq")
                    .table(Events::Table)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Events {
    Table,
    TenantId,
    LeadId,
    Seq,
}
