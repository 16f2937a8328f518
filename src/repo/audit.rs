//! The audit log: appended to by `services::audit::record`, read by admins. Nothing here
//! updates or deletes an entry (retention ages them out through `repo::privacy`).

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, Condition, DbErr, EntityTrait, Order, QueryFilter, QueryOrder, QuerySelect,
};
use uuid::Uuid;

use crate::db::executor::Executor;
use crate::entities::audit_entry;
use crate::repo::pagination::{Cursor, Direction, PageRequest};

/// Which entries to list.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// The staff user or API key that acted.
    pub actor_id: Option<Uuid>,
    /// `lead.erased`, `lead.viewed`, `tenant.settings_updated`, …
    pub action: Option<String>,
    /// Entries about this lead.
    pub lead_id: Option<Uuid>,
    /// At or after.
    pub from: Option<DateTime<Utc>>,
    /// Before.
    pub to: Option<DateTime<Utc>>,
}

fn listed(tenant_id: Uuid, filter: &AuditFilter) -> Condition {
    let mut cond = Condition::all().add(audit_entry::Column::TenantId.eq(tenant_id));
    if let Some(actor) = filter.actor_id {
        cond = cond.add(audit_entry::Column::ActorId.eq(actor));
    }
    if let Some(action) = &filter.action {
        cond = cond.add(audit_entry::Column::Action.eq(action.as_str()));
    }
    if let Some(lead) = filter.lead_id {
        cond = cond
            .add(audit_entry::Column::TargetType.eq("lead"))
            .add(audit_entry::Column::TargetId.eq(lead.to_string()));
    }
    if let Some(from) = filter.from {
        cond = cond.add(audit_entry::Column::CreatedAt.gte(from));
    }
    if let Some(to) = filter.to {
        cond = cond.add(audit_entry::Column::CreatedAt.lt(to));
    }
    cond
}

pub fn cursor_of(entry: &audit_entry::Model) -> Cursor {
    Cursor {
        at: entry.created_at,
        id: entry.id,
    }
}

/// A page of a tenant's audit entries, newest first.
pub async fn page<C: Executor>(
    conn: &C,
    tenant_id: Uuid,
    filter: &AuditFilter,
    request: &PageRequest,
) -> Result<Vec<audit_entry::Model>, DbErr> {
    let descending = request.direction == Direction::Forward;
    let mut cond = listed(tenant_id, filter);
    if let Some(c) = request.cursor {
        cond = cond.add(super::leads::keyset_after(
            audit_entry::Column::CreatedAt,
            audit_entry::Column::Id,
            c,
            descending,
        ));
    }
    let sort = if descending { Order::Desc } else { Order::Asc };
    conn.all(
        audit_entry::Entity::find()
            .filter(cond)
            .order_by(audit_entry::Column::CreatedAt, sort.clone())
            .order_by(audit_entry::Column::Id, sort)
            .limit(request.fetch()),
    )
    .await
}

/// How many entries [`page`] walks through with the same filter.
pub async fn count<C: Executor>(
    conn: &C,
    tenant_id: Uuid,
    filter: &AuditFilter,
) -> Result<u64, DbErr> {
    conn.count(audit_entry::Entity::find().filter(listed(tenant_id, filter)))
        .await
}
