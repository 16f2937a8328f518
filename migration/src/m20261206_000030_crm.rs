//! CRM integration: the change feed reads a lead's events in order, so the outbox gets an index
//! by lead; outbound webhooks get their endpoints, deliveries (one per event per endpoint) and
//! the record of every attempt.

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
            .await?;
        manager.create_table(webhook_endpoints()).await?;
        manager.create_table(webhook_deliveries()).await?;
        manager.create_table(webhook_attempts()).await?;
        for (name, table, columns, unique) in [
            (
                "ux_webhook_deliveries_event",
                "webhook_deliveries",
                &["tenant_id", "endpoint_id", "event_seq"][..],
                true,
            ),
            (
                "ix_webhook_deliveries_due",
                "webhook_deliveries",
                &["status", "next_attempt_at"][..],
                false,
            ),
            (
                "ix_webhook_deliveries_lead",
                "webhook_deliveries",
                &["tenant_id", "lead_id"][..],
                false,
            ),
            (
                "ix_webhook_deliveries_created",
                "webhook_deliveries",
                &["tenant_id", "created_at"][..],
                false,
            ),
            (
                "ix_webhook_attempts_delivery",
                "webhook_attempts",
                &["tenant_id", "delivery_id", "attempt"][..],
                false,
            ),
            (
                "ix_webhook_attempts_lead",
                "webhook_attempts",
                &["tenant_id", "lead_id"][..],
                false,
            ),
        ] {
            let mut index = Index::create();
            index.name(name).table(Alias::new(table));
            for column in columns {
                index.col(Alias::new(*column));
            }
            if unique {
                index.unique();
            }
            manager.create_index(index.to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            "webhook_attempts",
            "webhook_deliveries",
            "webhook_endpoints",
        ] {
            manager
                .drop_table(
                    Table::drop()
                        .table(Alias::new(table))
                        .if_exists()
                        .to_owned(),
                )
                .await?;
        }
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

fn id_columns(table: &str) -> TableCreateStatement {
    Table::create()
        .table(Alias::new(table))
        .if_not_exists()
        .col(ColumnDef::new(Alias::new("tenant_id")).uuid().not_null())
        .col(ColumnDef::new(Alias::new("id")).uuid().not_null())
        .primary_key(
            Index::create()
                .col(Alias::new("tenant_id"))
                .col(Alias::new("id")),
        )
        .foreign_key(
            ForeignKey::create()
                .from(Alias::new(table), Alias::new("tenant_id"))
                .to(Alias::new("tenants"), Alias::new("id"))
                .on_delete(ForeignKeyAction::Cascade),
        )
        .to_owned()
}

fn text(name: &str) -> ColumnDef {
    ColumnDef::new(Alias::new(name))
        .text()
        .not_null()
        .to_owned()
}

fn text_null(name: &str) -> ColumnDef {
    ColumnDef::new(Alias::new(name)).text().null().to_owned()
}

fn time(name: &str) -> ColumnDef {
    ColumnDef::new(Alias::new(name))
        .timestamp_with_time_zone()
        .not_null()
        .to_owned()
}

fn time_null(name: &str) -> ColumnDef {
    ColumnDef::new(Alias::new(name))
        .timestamp_with_time_zone()
        .null()
        .to_owned()
}

/// A tenant's receiver: where to send which event types, and the signing secrets.
fn webhook_endpoints() -> TableCreateStatement {
    let mut t = id_columns("webhook_endpoints");
    t.col(text("url"))
        .col(text("description"))
        .col(
            ColumnDef::new(Alias::new("event_types"))
                .json_binary()
                .not_null(),
        )
        .col(text("secret"))
        .col(text_null("previous_secret"))
        .col(time_null("previous_secret_expires_at"))
        .col(ColumnDef::new(Alias::new("enabled")).boolean().not_null())
        .col(text_null("disabled_reason"))
        .col(
            ColumnDef::new(Alias::new("event_cursor"))
                .big_integer()
                .not_null(),
        )
        .col(time_null("failing_since"))
        .col(time("created_at"))
        .col(time("updated_at"));
    t.to_owned()
}

/// One event for one endpoint: the message (its id is `webhook-id`), its state and its lease.
fn webhook_deliveries() -> TableCreateStatement {
    let mut t = id_columns("webhook_deliveries");
    t.col(ColumnDef::new(Alias::new("endpoint_id")).uuid().not_null())
        .col(
            ColumnDef::new(Alias::new("event_seq"))
                .big_integer()
                .not_null(),
        )
        .col(text("event_type"))
        .col(ColumnDef::new(Alias::new("lead_id")).uuid().null())
        .col(text("body"))
        .col(text("status"))
        .col(ColumnDef::new(Alias::new("attempts")).integer().not_null())
        .col(time("next_attempt_at"))
        .col(text_null("lease_owner"))
        .col(time_null("lease_expires_at"))
        .col(
            ColumnDef::new(Alias::new("last_response_code"))
                .integer()
                .null(),
        )
        .col(text_null("last_error"))
        .col(time_null("delivered_at"))
        .col(time("created_at"))
        .col(time("updated_at"))
        .foreign_key(
            ForeignKey::create()
                .from(
                    Alias::new("webhook_deliveries"),
                    (Alias::new("tenant_id"), Alias::new("endpoint_id")),
                )
                .to(
                    Alias::new("webhook_endpoints"),
                    (Alias::new("tenant_id"), Alias::new("id")),
                )
                .on_delete(ForeignKeyAction::Cascade),
        );
    t.to_owned()
}

/// Every attempt to send a delivery: what the receiver answered, how long it took.
fn webhook_attempts() -> TableCreateStatement {
    let mut t = id_columns("webhook_attempts");
    t.col(ColumnDef::new(Alias::new("delivery_id")).uuid().not_null())
        .col(ColumnDef::new(Alias::new("endpoint_id")).uuid().not_null())
        .col(ColumnDef::new(Alias::new("lead_id")).uuid().null())
        .col(ColumnDef::new(Alias::new("attempt")).integer().not_null())
        .col(ColumnDef::new(Alias::new("succeeded")).boolean().not_null())
        .col(ColumnDef::new(Alias::new("response_code")).integer().null())
        .col(
            ColumnDef::new(Alias::new("duration_ms"))
                .big_integer()
                .not_null(),
        )
        .col(text_null("response_body"))
        .col(text_null("error"))
        .col(time("created_at"))
        .foreign_key(
            ForeignKey::create()
                .from(
                    Alias::new("webhook_attempts"),
                    (Alias::new("tenant_id"), Alias::new("delivery_id")),
                )
                .to(
                    Alias::new("webhook_deliveries"),
                    (Alias::new("tenant_id"), Alias::new("id")),
                )
                .on_delete(ForeignKeyAction::Cascade),
        );
    t.to_owned()
}
