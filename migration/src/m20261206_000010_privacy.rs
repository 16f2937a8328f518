//! Privacy (issue 29): per-tenant retention and redaction settings, the tenant's erasure key,
//! erasure tombstones with keyed hashes of the erased identities, and the indexes retention
//! deletes by age through.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite alters one column per statement.
        for column in [
            ColumnDef::new(Tenants::MessageRetentionDays)
                .integer()
                .not_null()
                .default(90)
                .to_owned(),
            ColumnDef::new(Tenants::SummaryRetentionDays)
                .integer()
                .not_null()
                .default(730)
                .to_owned(),
            ColumnDef::new(Tenants::AuditRetentionDays)
                .integer()
                .not_null()
                .default(730)
                .to_owned(),
            ColumnDef::new(Tenants::PiiRedaction)
                .text()
                .not_null()
                .default("redact")
                .to_owned(),
            ColumnDef::new(Tenants::PiiKinds)
                .text()
                .not_null()
                .default("card")
                .to_owned(),
            // The key of the tenant's identity hashes in tombstones; made on first use.
            ColumnDef::new(Tenants::PrivacyKey).text().null().to_owned(),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Tenants::Table)
                        .add_column(column)
                        .to_owned(),
                )
                .await?;
        }

        manager
            .create_table(
                Table::create()
                    .table(LeadErasures::Table)
                    .if_not_exists()
                    .col(ColumnDef::new(LeadErasures::TenantId).uuid().not_null())
                    .col(ColumnDef::new(LeadErasures::Id).uuid().not_null())
                    .col(ColumnDef::new(LeadErasures::LeadId).uuid().not_null())
                    .col(
                        ColumnDef::new(LeadErasures::ErasedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(ColumnDef::new(LeadErasures::ActorKind).text().not_null())
                    .col(ColumnDef::new(LeadErasures::ActorId).uuid().null())
                    .col(ColumnDef::new(LeadErasures::Reason).text().not_null())
                    .col(
                        ColumnDef::new(LeadErasures::Counts)
                            .json_binary()
                            .not_null(),
                    )
                    .primary_key(
                        Index::create()
                            .col(LeadErasures::TenantId)
                            .col(LeadErasures::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(LeadErasures::Table, LeadErasures::TenantId)
                            .to(Tenants::Table, Tenants::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ErasedIdentities::Table)
                    .if_not_exists()
                    .col(ColumnDef::new(ErasedIdentities::TenantId).uuid().not_null())
                    .col(ColumnDef::new(ErasedIdentities::Id).uuid().not_null())
                    .col(
                        ColumnDef::new(ErasedIdentities::ErasureId)
                            .uuid()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ErasedIdentities::IdentityHash)
                            .text()
                            .not_null(),
                    )
                    .primary_key(
                        Index::create()
                            .col(ErasedIdentities::TenantId)
                            .col(ErasedIdentities::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(
                                ErasedIdentities::Table,
                                (ErasedIdentities::TenantId, ErasedIdentities::ErasureId),
                            )
                            .to(
                                LeadErasures::Table,
                                (LeadErasures::TenantId, LeadErasures::Id),
                            )
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;

        for (name, table, columns) in [
            (
                "ix_lead_erasures_lead",
                LeadErasures::Table.into_iden(),
                &["tenant_id", "lead_id"][..],
            ),
            (
                "ix_erased_identities_hash",
                ErasedIdentities::Table.into_iden(),
                &["tenant_id", "identity_hash"][..],
            ),
            // Retention deletes a tenant's oldest messages and summaries first.
            (
                "ix_messages_occurred",
                Alias::new("messages").into_iden(),
                &["tenant_id", "occurred_at"][..],
            ),
            (
                "ix_summaries_created",
                Alias::new("interaction_summaries").into_iden(),
                &["tenant_id", "created_at"][..],
            ),
        ] {
            let mut index = Index::create();
            index.name(name).table(table).if_not_exists();
            for column in columns {
                index.col(Alias::new(*column));
            }
            manager.create_index(index.to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (name, table) in [
            ("ix_messages_occurred", "messages"),
            ("ix_summaries_created", "interaction_summaries"),
        ] {
            manager
                .drop_index(Index::drop().name(name).table(Alias::new(table)).to_owned())
                .await?;
        }
        for table in [
            ErasedIdentities::Table.into_iden(),
            LeadErasures::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).if_exists().to_owned())
                .await?;
        }
        for column in [
            Tenants::MessageRetentionDays,
            Tenants::SummaryRetentionDays,
            Tenants::AuditRetentionDays,
            Tenants::PiiRedaction,
            Tenants::PiiKinds,
            Tenants::PrivacyKey,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Tenants::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Tenants {
    Table,
    Id,
    MessageRetentionDays,
    SummaryRetentionDays,
    AuditRetentionDays,
    PiiRedaction,
    PiiKinds,
    PrivacyKey,
}

#[derive(DeriveIden, Clone, Copy)]
enum LeadErasures {
    Table,
    TenantId,
    Id,
    LeadId,
    ErasedAt,
    ActorKind,
    ActorId,
    Reason,
    Counts,
}

#[derive(DeriveIden, Clone, Copy)]
enum ErasedIdentities {
    Table,
    TenantId,
    Id,
    ErasureId,
    IdentityHash,
}
