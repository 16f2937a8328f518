//! The initial schema: tenants, staff, API keys, leads and their identities, sessions,
//! messages, notes, summaries, profile history, the event outbox, jobs and the audit log.
//!
//! Every tenant-owned table is keyed `(tenant_id, id)` and references other tenant-owned rows
//! through composite foreign keys `(tenant_id, x_id)`, so the database itself refuses a row that
//! points at another tenant's lead or session. Every unique key leads with `tenant_id`.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.create_table(tenants()).await?;
        manager.create_table(staff_users()).await?;
        manager.create_table(api_keys()).await?;
        manager.create_table(leads()).await?;
        manager.create_table(lead_identities()).await?;
        manager.create_table(sessions()).await?;
        manager.create_table(messages()).await?;
        manager.create_table(notes()).await?;
        manager.create_table(interaction_summaries()).await?;
        manager.create_table(profile_field_changes()).await?;
        manager.create_table(events()).await?;
        manager.create_table(jobs()).await?;
        manager.create_table(audit_entries()).await?;

        for index in plain_indexes() {
            manager.create_index(index).await?;
        }
        // Partial indexes (sea-query has no builder for them) as SQL valid on both backends.
        let db = manager.get_connection();
        for sql in SQL_INDEXES {
            db.execute_unprepared(sql).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            AuditEntries::Table.into_iden(),
            Jobs::Table.into_iden(),
            Events::Table.into_iden(),
            ProfileFieldChanges::Table.into_iden(),
            InteractionSummaries::Table.into_iden(),
            Notes::Table.into_iden(),
            Messages::Table.into_iden(),
            Sessions::Table.into_iden(),
            LeadIdentities::Table.into_iden(),
            Leads::Table.into_iden(),
            ApiKeys::Table.into_iden(),
            StaffUsers::Table.into_iden(),
            Tenants::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).if_exists().to_owned())
                .await?;
        }
        Ok(())
    }
}

const SQL_INDEXES: &[&str] = &[
    // One open session per (lead, channel): concurrent first messages cannot open two.
    "CREATE UNIQUE INDEX IF NOT EXISTS ux_sessions_open_per_lead_channel \
     ON sessions (tenant_id, lead_id, channel) WHERE status = 'open'",
    // A call id (session_ref) names exactly one session per channel.
    "CREATE UNIQUE INDEX IF NOT EXISTS ux_sessions_ref \
     ON sessions (tenant_id, channel, session_ref) WHERE session_ref IS NOT NULL",
    // The sweeper scans open sessions across tenants by age.
    "CREATE INDEX IF NOT EXISTS ix_sessions_open_idle \
     ON sessions (last_message_at) WHERE status = 'open'",
    // The same work is never queued twice while an earlier copy still waits to run.
    "CREATE UNIQUE INDEX IF NOT EXISTS ux_jobs_pending_dedupe \
     ON jobs (tenant_id, dedupe_key) WHERE status = 'pending'",
    // Login knows only the email: the one lookup that cannot start from a tenant.
    "CREATE INDEX IF NOT EXISTS ix_staff_users_login ON staff_users (email)",
    // Runners claim due jobs across tenants.
    "CREATE INDEX IF NOT EXISTS ix_jobs_due ON jobs (run_at) WHERE status = 'pending'",
    "CREATE INDEX IF NOT EXISTS ix_jobs_leases ON jobs (lease_expires_at) WHERE status = 'running'",
];

fn plain_indexes() -> Vec<IndexCreateStatement> {
    fn index<T: IntoIden + Copy + 'static>(
        name: &str,
        table: T,
        columns: &[&'static str],
        unique: bool,
    ) -> IndexCreateStatement {
        let mut stmt = Index::create();
        stmt.name(name).table(table).if_not_exists();
        for column in columns {
            stmt.col(Alias::new(*column));
        }
        if unique {
            stmt.unique();
        }
        stmt.to_owned()
    }
    vec![
        index(
            "ux_staff_users_email",
            StaffUsers::Table,
            &["tenant_id", "email"],
            true,
        ),
        index(
            "ix_leads_last_activity",
            Leads::Table,
            &["tenant_id", "last_activity_at", "id"],
            false,
        ),
        index(
            "ix_leads_created",
            Leads::Table,
            &["tenant_id", "created_at", "id"],
            false,
        ),
        index(
            "ix_leads_phone",
            Leads::Table,
            &["tenant_id", "primary_phone"],
            false,
        ),
        index(
            "ix_leads_email",
            Leads::Table,
            &["tenant_id", "email"],
            false,
        ),
        index(
            "ux_lead_identities_value",
            LeadIdentities::Table,
            &["tenant_id", "kind", "value"],
            true,
        ),
        index(
            "ix_lead_identities_lead",
            LeadIdentities::Table,
            &["tenant_id", "lead_id"],
            false,
        ),
        index(
            "ix_sessions_lead",
            Sessions::Table,
            &["tenant_id", "lead_id", "started_at"],
            false,
        ),
        index(
            "ux_messages_external_id",
            Messages::Table,
            &["tenant_id", "channel", "external_id"],
            true,
        ),
        index(
            "ix_messages_session",
            Messages::Table,
            &["tenant_id", "session_id", "occurred_at", "id"],
            false,
        ),
        index(
            "ix_notes_lead",
            Notes::Table,
            &["tenant_id", "lead_id", "created_at"],
            false,
        ),
        index(
            "ux_summaries_session",
            InteractionSummaries::Table,
            &["tenant_id", "session_id"],
            true,
        ),
        index(
            "ix_summaries_lead",
            InteractionSummaries::Table,
            &["tenant_id", "lead_id", "created_at"],
            false,
        ),
        index(
            "ix_profile_changes_field",
            ProfileFieldChanges::Table,
            &["tenant_id", "lead_id", "field_key", "created_at"],
            false,
        ),
        index(
            "ix_events_created",
            Events::Table,
            &["tenant_id", "created_at"],
            false,
        ),
        index(
            "ix_jobs_tenant",
            Jobs::Table,
            &["tenant_id", "status", "created_at"],
            false,
        ),
        index(
            "ix_audit_entries_created",
            AuditEntries::Table,
            &["tenant_id", "created_at"],
            false,
        ),
    ]
}

/// Columns every tenant-owned table starts with: `tenant_id`, `id`, keyed together.
fn tenant_owned<T: IntoIden + Copy + 'static>(table: T) -> TableCreateStatement {
    Table::create()
        .table(table)
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
                .from(table, Alias::new("tenant_id"))
                .to(Tenants::Table, Tenants::Id)
                .on_delete(ForeignKeyAction::Cascade),
        )
        .to_owned()
}

/// A composite foreign key `(tenant_id, column)` → `target (tenant_id, id)`.
fn tenant_fk<F: IntoIden + Copy + 'static, T: IntoIden + Copy + 'static>(
    from: F,
    column: &'static str,
    to: T,
    on_delete: ForeignKeyAction,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(from, (Alias::new("tenant_id"), Alias::new(column)))
        .to(to, (Alias::new("tenant_id"), Alias::new("id")))
        .on_delete(on_delete)
        .to_owned()
}

fn timestamps(table: &mut TableCreateStatement) -> &mut TableCreateStatement {
    table
        .col(
            ColumnDef::new(Alias::new("created_at"))
                .timestamp_with_time_zone()
                .not_null(),
        )
        .col(
            ColumnDef::new(Alias::new("updated_at"))
                .timestamp_with_time_zone()
                .not_null(),
        )
}

fn tenants() -> TableCreateStatement {
    let mut t = Table::create()
        .table(Tenants::Table)
        .if_not_exists()
        .col(ColumnDef::new(Tenants::Id).uuid().not_null().primary_key())
        .col(ColumnDef::new(Tenants::Name).text().not_null())
        .col(
            ColumnDef::new(Tenants::CustomerServiceMode)
                .boolean()
                .not_null()
                .default(true),
        )
        .col(
            ColumnDef::new(Tenants::SessionIdleMinutes)
                .integer()
                .not_null()
                .default(15),
        )
        .col(
            ColumnDef::new(Tenants::ContextMessages)
                .integer()
                .not_null()
                .default(12),
        )
        .col(
            ColumnDef::new(Tenants::ContextNotes)
                .integer()
                .not_null()
                .default(5),
        )
        .col(
            ColumnDef::new(Tenants::ContextCharBudget)
                .integer()
                .not_null()
                .default(6000),
        )
        .col(
            ColumnDef::new(Tenants::Locale)
                .text()
                .not_null()
                .default("en"),
        )
        .col(
            ColumnDef::new(Tenants::DefaultRegion)
                .text()
                .not_null()
                .default("US"),
        )
        .col(
            ColumnDef::new(Tenants::RetentionDays)
                .integer()
                .not_null()
                .default(365),
        )
        .col(
            ColumnDef::new(Tenants::EventRetentionDays)
                .integer()
                .not_null()
                .default(7),
        )
        .col(
            ColumnDef::new(Tenants::ResetKeywords)
                .json_binary()
                .not_null(),
        )
        .col(ColumnDef::new(Tenants::WhatsappAppSecret).text().null())
        .col(ColumnDef::new(Tenants::WhatsappVerifyToken).text().null())
        .col(ColumnDef::new(Tenants::TwilioAuthToken).text().null())
        .col(
            ColumnDef::new(Tenants::EventSeq)
                .big_integer()
                .not_null()
                .default(0),
        )
        .to_owned();
    timestamps(&mut t).to_owned()
}

fn staff_users() -> TableCreateStatement {
    let mut t = tenant_owned(StaffUsers::Table);
    t.col(ColumnDef::new(StaffUsers::Email).text().not_null())
        .col(ColumnDef::new(StaffUsers::DisplayName).text().null())
        .col(ColumnDef::new(StaffUsers::PasswordHash).text().not_null())
        .col(ColumnDef::new(StaffUsers::Role).text().not_null())
        .col(
            ColumnDef::new(StaffUsers::LastLoginAt)
                .timestamp_with_time_zone()
                .null(),
        );
    timestamps(&mut t).to_owned()
}

fn api_keys() -> TableCreateStatement {
    let mut t = tenant_owned(ApiKeys::Table);
    t.col(ColumnDef::new(ApiKeys::Name).text().not_null())
        .col(ColumnDef::new(ApiKeys::SecretHash).binary().not_null())
        .col(ColumnDef::new(ApiKeys::Scopes).json_binary().not_null())
        .col(ColumnDef::new(ApiKeys::CreatedBy).uuid().null())
        .col(
            ColumnDef::new(ApiKeys::LastUsedAt)
                .timestamp_with_time_zone()
                .null(),
        )
        .col(
            ColumnDef::new(ApiKeys::RevokedAt)
                .timestamp_with_time_zone()
                .null(),
        );
    timestamps(&mut t).to_owned()
}

fn leads() -> TableCreateStatement {
    let mut t = tenant_owned(Leads::Table);
    t.col(ColumnDef::new(Leads::DisplayName).text().null())
        .col(ColumnDef::new(Leads::PrimaryPhone).text().null())
        .col(ColumnDef::new(Leads::Email).text().null())
        .col(ColumnDef::new(Leads::Profile).json_binary().not_null())
        // Name, phone and email lowercased by the application (Unicode-aware, unlike SQLite's
        // LOWER), so search behaves the same on both backends.
        .col(
            ColumnDef::new(Leads::SearchText)
                .text()
                .not_null()
                .default(""),
        )
        .col(ColumnDef::new(Leads::LastSummary).text().null())
        .col(ColumnDef::new(Leads::LastSummaryChannel).text().null())
        .col(ColumnDef::new(Leads::LastSummarySessionId).uuid().null())
        .col(
            ColumnDef::new(Leads::SummaryUpdatedAt)
                .timestamp_with_time_zone()
                .null(),
        )
        .col(
            ColumnDef::new(Leads::LastInteractionAt)
                .timestamp_with_time_zone()
                .null(),
        )
        .col(ColumnDef::new(Leads::LastChannel).text().null())
        // Sort key for "recently active": the last interaction, or creation for a lead that
        // has not spoken yet. Never null, so keyset pagination needs no NULL handling.
        .col(
            ColumnDef::new(Leads::LastActivityAt)
                .timestamp_with_time_zone()
                .not_null(),
        )
        .col(
            ColumnDef::new(Leads::MessageCount)
                .big_integer()
                .not_null()
                .default(0),
        )
        .col(
            ColumnDef::new(Leads::SessionCount)
                .big_integer()
                .not_null()
                .default(0),
        );
    timestamps(&mut t).to_owned()
}

fn lead_identities() -> TableCreateStatement {
    let mut t = tenant_owned(LeadIdentities::Table);
    t.col(ColumnDef::new(LeadIdentities::LeadId).uuid().not_null())
        .col(ColumnDef::new(LeadIdentities::Kind).text().not_null())
        .col(ColumnDef::new(LeadIdentities::Value).text().not_null())
        .col(ColumnDef::new(LeadIdentities::Channel).text().not_null())
        .col(
            ColumnDef::new(LeadIdentities::CreatedAt)
                .timestamp_with_time_zone()
                .not_null(),
        )
        .foreign_key(&mut tenant_fk(
            LeadIdentities::Table,
            "lead_id",
            Leads::Table,
            ForeignKeyAction::Cascade,
        ));
    t
}

fn sessions() -> TableCreateStatement {
    let mut t = tenant_owned(Sessions::Table);
    t.col(ColumnDef::new(Sessions::LeadId).uuid().not_null())
        .col(ColumnDef::new(Sessions::Channel).text().not_null())
        .col(ColumnDef::new(Sessions::Status).text().not_null())
        .col(ColumnDef::new(Sessions::SessionRef).text().null())
        .col(
            ColumnDef::new(Sessions::StartedAt)
                .timestamp_with_time_zone()
                .not_null(),
        )
        .col(
            ColumnDef::new(Sessions::LastMessageAt)
                .timestamp_with_time_zone()
                .not_null(),
        )
        .col(
            ColumnDef::new(Sessions::ClosedAt)
                .timestamp_with_time_zone()
                .null(),
        )
        .col(ColumnDef::new(Sessions::CloseReason).text().null())
        .col(ColumnDef::new(Sessions::Language).text().null())
        .col(ColumnDef::new(Sessions::Intents).json_binary().not_null())
        .col(
            ColumnDef::new(Sessions::MessageCount)
                .big_integer()
                .not_null()
                .default(0),
        )
        .col(
            ColumnDef::new(Sessions::PreviousInteractionAt)
                .timestamp_with_time_zone()
                .null(),
        )
        .foreign_key(&mut tenant_fk(
            Sessions::Table,
            "lead_id",
            Leads::Table,
            ForeignKeyAction::Cascade,
        ));
    timestamps(&mut t).to_owned()
}

fn messages() -> TableCreateStatement {
    let mut t = tenant_owned(Messages::Table);
    t.col(ColumnDef::new(Messages::SessionId).uuid().not_null())
        .col(ColumnDef::new(Messages::LeadId).uuid().not_null())
        .col(ColumnDef::new(Messages::Channel).text().not_null())
        .col(ColumnDef::new(Messages::Role).text().not_null())
        .col(ColumnDef::new(Messages::Content).text().not_null())
        .col(ColumnDef::new(Messages::Intent).text().null())
        .col(ColumnDef::new(Messages::IntentConfidence).double().null())
        .col(ColumnDef::new(Messages::Metadata).json_binary().not_null())
        .col(ColumnDef::new(Messages::ExternalId).text().null())
        .col(ColumnDef::new(Messages::DeliveryStatus).text().null())
        .col(
            ColumnDef::new(Messages::OccurredAt)
                .timestamp_with_time_zone()
                .not_null(),
        )
        .col(
            ColumnDef::new(Messages::CreatedAt)
                .timestamp_with_time_zone()
                .not_null(),
        )
        // A message reaches its lead through its session, whose key cascades from the lead:
        // `lead_id` is a copy of the session's, kept for the results and events of ingest.
        // With its own key it would need an index of its own (a page more written per
        // conversation, for a lookup nothing makes).
        .foreign_key(&mut tenant_fk(
            Messages::Table,
            "session_id",
            Sessions::Table,
            ForeignKeyAction::Cascade,
        ));
    t
}

fn notes() -> TableCreateStatement {
    let mut t = tenant_owned(Notes::Table);
    t.col(ColumnDef::new(Notes::LeadId).uuid().not_null())
        .col(ColumnDef::new(Notes::SessionId).uuid().null())
        .col(ColumnDef::new(Notes::Kind).text().not_null())
        .col(ColumnDef::new(Notes::Body).text().not_null())
        .col(ColumnDef::new(Notes::AuthorId).uuid().null())
        .col(ColumnDef::new(Notes::AuthorLabel).text().not_null())
        .col(
            ColumnDef::new(Notes::Pinned)
                .boolean()
                .not_null()
                .default(false),
        )
        .foreign_key(&mut tenant_fk(
            Notes::Table,
            "lead_id",
            Leads::Table,
            ForeignKeyAction::Cascade,
        ))
        .foreign_key(&mut tenant_fk(
            Notes::Table,
            "session_id",
            Sessions::Table,
            ForeignKeyAction::SetNull,
        ));
    timestamps(&mut t).to_owned()
}

fn interaction_summaries() -> TableCreateStatement {
    let mut t = tenant_owned(InteractionSummaries::Table);
    t.col(
        ColumnDef::new(InteractionSummaries::SessionId)
            .uuid()
            .not_null(),
    )
    .col(
        ColumnDef::new(InteractionSummaries::LeadId)
            .uuid()
            .not_null(),
    )
    .col(
        ColumnDef::new(InteractionSummaries::Channel)
            .text()
            .not_null(),
    )
    .col(
        ColumnDef::new(InteractionSummaries::Summary)
            .text()
            .not_null(),
    )
    .col(
        ColumnDef::new(InteractionSummaries::KeyPoints)
            .json_binary()
            .not_null(),
    )
    .col(
        ColumnDef::new(InteractionSummaries::Facts)
            .json_binary()
            .not_null(),
    )
    .col(
        ColumnDef::new(InteractionSummaries::Intents)
            .json_binary()
            .not_null(),
    )
    .col(
        ColumnDef::new(InteractionSummaries::Sentiment)
            .text()
            .null(),
    )
    .col(ColumnDef::new(InteractionSummaries::Language).text().null())
    .col(ColumnDef::new(InteractionSummaries::NextStep).text().null())
    .col(
        ColumnDef::new(InteractionSummaries::Provider)
            .text()
            .not_null(),
    )
    .col(
        ColumnDef::new(InteractionSummaries::Model)
            .text()
            .not_null(),
    )
    .col(
        ColumnDef::new(InteractionSummaries::PromptVersion)
            .text()
            .not_null(),
    )
    .col(
        ColumnDef::new(InteractionSummaries::FallbackReason)
            .text()
            .null(),
    )
    .col(
        ColumnDef::new(InteractionSummaries::PromptTokens)
            .integer()
            .not_null()
            .default(0),
    )
    .col(
        ColumnDef::new(InteractionSummaries::CompletionTokens)
            .integer()
            .not_null()
            .default(0),
    )
    .foreign_key(&mut tenant_fk(
        InteractionSummaries::Table,
        "session_id",
        Sessions::Table,
        ForeignKeyAction::Cascade,
    ))
    .foreign_key(&mut tenant_fk(
        InteractionSummaries::Table,
        "lead_id",
        Leads::Table,
        ForeignKeyAction::Cascade,
    ));
    timestamps(&mut t).to_owned()
}

fn profile_field_changes() -> TableCreateStatement {
    let mut t = tenant_owned(ProfileFieldChanges::Table);
    t.col(
        ColumnDef::new(ProfileFieldChanges::LeadId)
            .uuid()
            .not_null(),
    )
    .col(
        ColumnDef::new(ProfileFieldChanges::FieldKey)
            .text()
            .not_null(),
    )
    .col(ColumnDef::new(ProfileFieldChanges::Item).text().null())
    .col(ColumnDef::new(ProfileFieldChanges::OldValue).text().null())
    .col(ColumnDef::new(ProfileFieldChanges::NewValue).text().null())
    .col(
        ColumnDef::new(ProfileFieldChanges::Source)
            .text()
            .not_null(),
    )
    .col(
        ColumnDef::new(ProfileFieldChanges::Confidence)
            .double()
            .not_null(),
    )
    .col(
        ColumnDef::new(ProfileFieldChanges::Outcome)
            .text()
            .not_null(),
    )
    .col(
        ColumnDef::new(ProfileFieldChanges::Evidence)
            .json_binary()
            .not_null(),
    )
    .col(ColumnDef::new(ProfileFieldChanges::Actor).text().not_null())
    .col(
        ColumnDef::new(ProfileFieldChanges::CreatedAt)
            .timestamp_with_time_zone()
            .not_null(),
    )
    .foreign_key(&mut tenant_fk(
        ProfileFieldChanges::Table,
        "lead_id",
        Leads::Table,
        ForeignKeyAction::Cascade,
    ));
    t
}

fn events() -> TableCreateStatement {
    Table::create()
        .table(Events::Table)
        .if_not_exists()
        .col(ColumnDef::new(Events::TenantId).uuid().not_null())
        .col(ColumnDef::new(Events::Seq).big_integer().not_null())
        .col(ColumnDef::new(Events::EventType).text().not_null())
        .col(ColumnDef::new(Events::LeadId).uuid().null())
        .col(ColumnDef::new(Events::SessionId).uuid().null())
        .col(ColumnDef::new(Events::Payload).json_binary().not_null())
        .col(
            ColumnDef::new(Events::CreatedAt)
                .timestamp_with_time_zone()
                .not_null(),
        )
        .primary_key(Index::create().col(Events::TenantId).col(Events::Seq))
        .foreign_key(
            ForeignKey::create()
                .from(Events::Table, Events::TenantId)
                .to(Tenants::Table, Tenants::Id)
                .on_delete(ForeignKeyAction::Cascade),
        )
        .to_owned()
}

fn jobs() -> TableCreateStatement {
    let mut t = tenant_owned(Jobs::Table);
    t.col(ColumnDef::new(Jobs::Kind).text().not_null())
        .col(ColumnDef::new(Jobs::Payload).json_binary().not_null())
        .col(ColumnDef::new(Jobs::DedupeKey).text().null())
        .col(ColumnDef::new(Jobs::Status).text().not_null())
        .col(
            ColumnDef::new(Jobs::Attempts)
                .integer()
                .not_null()
                .default(0),
        )
        .col(ColumnDef::new(Jobs::MaxAttempts).integer().not_null())
        .col(
            ColumnDef::new(Jobs::RunAt)
                .timestamp_with_time_zone()
                .not_null(),
        )
        .col(ColumnDef::new(Jobs::LeaseOwner).text().null())
        .col(
            ColumnDef::new(Jobs::LeaseExpiresAt)
                .timestamp_with_time_zone()
                .null(),
        )
        .col(ColumnDef::new(Jobs::LastError).text().null())
        .col(
            ColumnDef::new(Jobs::FinishedAt)
                .timestamp_with_time_zone()
                .null(),
        );
    timestamps(&mut t).to_owned()
}

fn audit_entries() -> TableCreateStatement {
    let mut t = tenant_owned(AuditEntries::Table);
    t.col(ColumnDef::new(AuditEntries::ActorKind).text().not_null())
        .col(ColumnDef::new(AuditEntries::ActorId).uuid().null())
        .col(ColumnDef::new(AuditEntries::Action).text().not_null())
        .col(ColumnDef::new(AuditEntries::TargetType).text().not_null())
        .col(ColumnDef::new(AuditEntries::TargetId).text().null())
        .col(
            ColumnDef::new(AuditEntries::Details)
                .json_binary()
                .not_null(),
        )
        .col(
            ColumnDef::new(AuditEntries::CreatedAt)
                .timestamp_with_time_zone()
                .not_null(),
        );
    t
}

#[derive(DeriveIden, Clone, Copy)]
enum Tenants {
    Table,
    Id,
    Name,
    CustomerServiceMode,
    SessionIdleMinutes,
    ContextMessages,
    ContextNotes,
    ContextCharBudget,
    Locale,
    DefaultRegion,
    RetentionDays,
    EventRetentionDays,
    ResetKeywords,
    WhatsappAppSecret,
    WhatsappVerifyToken,
    TwilioAuthToken,
    EventSeq,
}

#[derive(DeriveIden, Clone, Copy)]
enum StaffUsers {
    Table,
    Email,
    DisplayName,
    PasswordHash,
    Role,
    LastLoginAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum ApiKeys {
    Table,
    Name,
    SecretHash,
    Scopes,
    CreatedBy,
    LastUsedAt,
    RevokedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Leads {
    Table,
    DisplayName,
    PrimaryPhone,
    Email,
    Profile,
    SearchText,
    LastSummary,
    LastSummaryChannel,
    LastSummarySessionId,
    SummaryUpdatedAt,
    LastInteractionAt,
    LastChannel,
    LastActivityAt,
    MessageCount,
    SessionCount,
}

#[derive(DeriveIden, Clone, Copy)]
enum LeadIdentities {
    Table,
    LeadId,
    Kind,
    Value,
    Channel,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Sessions {
    Table,
    LeadId,
    Channel,
    Status,
    SessionRef,
    StartedAt,
    LastMessageAt,
    ClosedAt,
    CloseReason,
    Language,
    Intents,
    MessageCount,
    PreviousInteractionAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Messages {
    Table,
    SessionId,
    LeadId,
    Channel,
    Role,
    Content,
    Intent,
    IntentConfidence,
    Metadata,
    ExternalId,
    DeliveryStatus,
    OccurredAt,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Notes {
    Table,
    LeadId,
    SessionId,
    Kind,
    Body,
    AuthorId,
    AuthorLabel,
    Pinned,
}

#[derive(DeriveIden, Clone, Copy)]
enum InteractionSummaries {
    Table,
    SessionId,
    LeadId,
    Channel,
    Summary,
    KeyPoints,
    Facts,
    Intents,
    Sentiment,
    Language,
    NextStep,
    Provider,
    Model,
    PromptVersion,
    FallbackReason,
    PromptTokens,
    CompletionTokens,
}

#[derive(DeriveIden, Clone, Copy)]
enum ProfileFieldChanges {
    Table,
    LeadId,
    FieldKey,
    Item,
    OldValue,
    NewValue,
    Source,
    Confidence,
    Outcome,
    Evidence,
    Actor,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Events {
    Table,
    TenantId,
    Seq,
    EventType,
    LeadId,
    SessionId,
    Payload,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Jobs {
    Table,
    Kind,
    Payload,
    DedupeKey,
    Status,
    Attempts,
    MaxAttempts,
    RunAt,
    LeaseOwner,
    LeaseExpiresAt,
    LastError,
    FinishedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum AuditEntries {
    Table,
    ActorKind,
    ActorId,
    Action,
    TargetType,
    TargetId,
    Details,
    CreatedAt,
}
