//! Session queries.

use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{
    ColumnTrait, Condition, DbErr, EntityTrait, Order, QueryFilter, QueryOrder, QuerySelect, Select,
};
use uuid::Uuid;

use super::leads::keyset_after;
use super::pagination::{Cursor, Direction, PageRequest};
use super::{for_update, group_keys};
use crate::db::executor::Executor;
use crate::domain::{Channel, SessionStatus};
use crate::entities::{lead, session};

pub async fn find<C: Executor>(
    conn: &C,
    tenant_id: Uuid,
    id: Uuid,
) -> Result<Option<session::Model>, DbErr> {
    conn.one(session::Entity::find_by_id((tenant_id, id))).await
}

/// The conversation a lead's last summary is about, found through the lead in one indexed read
/// (so it can run beside the lead's own read).
pub async fn last_summarized_of_lead<C: Executor>(
    conn: &C,
    tenant_id: Uuid,
    lead_id: Uuid,
) -> Result<Option<session::Model>, DbErr> {
    let summarized = sea_orm::sea_query::Query::select()
        .column(lead::Column::LastSummarySessionId)
        .from(lead::Entity)
        .and_where(lead::Column::TenantId.eq(tenant_id))
        .and_where(lead::Column::Id.eq(lead_id))
        .to_owned();
    conn.one(
        session::Entity::find()
            .filter(session::Column::TenantId.eq(tenant_id))
            .filter(session::Column::Id.in_subquery(summarized)),
    )
    .await
}

pub async fn find_many<C: Executor>(
    conn: &C,
    tenant_id: Uuid,
    ids: &[Uuid],
) -> Result<Vec<session::Model>, DbErr> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    conn.all(
        session::Entity::find()
            .filter(session::Column::TenantId.eq(tenant_id))
            .filter(session::Column::Id.is_in(ids.iter().copied())),
    )
    .await
}

/// The sessions ingest may touch, locked: open sessions of `lead_ids`, and sessions named by
/// `(channel, session_ref)`.
///
/// Two index lookups rather than one `OR`: SQLite answers `(open AND lead IN …) OR (ref …)`,
/// or anything ordered by id, by walking every session of the tenant.
pub async fn lock_for_ingest<C: Executor>(
    conn: &C,
    tenant_id: Uuid,
    lead_ids: &[Uuid],
    refs: &[(Channel, String)],
) -> Result<Vec<session::Model>, DbErr> {
    let postgres = conn.backend() == sea_orm::DatabaseBackend::Postgres;
    let mut rows = Vec::new();
    if !lead_ids.is_empty() {
        let mut select = session::Entity::find()
            .filter(session::Column::TenantId.eq(tenant_id))
            .filter(is_open())
            .filter(session::Column::LeadId.is_in(lead_ids.iter().copied()));
        if postgres {
            // Lock in id order so overlapping batches cannot deadlock.
            select = select.order_by_asc(session::Column::Id);
        }
        rows.extend(conn.all(for_update(select, conn)).await?);
    }
    for select in by_refs(tenant_id, refs) {
        for row in conn.all(for_update(select, conn)).await? {
            if !rows.iter().any(|r: &session::Model| r.id == row.id) {
                rows.push(row);
            }
        }
    }
    Ok(rows)
}

/// The closed sessions of a lead whose last message is at `since` or later, locked (ingest
/// may place a late message in one of them): the past a history import or a late delivery
/// goes back to. Found through the lead's sessions by start time.
pub async fn lock_closed_since<C: Executor>(
    conn: &C,
    tenant_id: Uuid,
    lead_id: Uuid,
    since: chrono::DateTime<chrono::Utc>,
) -> Result<Vec<session::Model>, DbErr> {
    let select = session::Entity::find()
        .filter(session::Column::TenantId.eq(tenant_id))
        .filter(session::Column::LeadId.eq(lead_id))
        .filter(session::Column::LastMessageAt.gte(since))
        .filter(session::Column::Status.eq(SessionStatus::Closed))
        .order_by_asc(session::Column::Id);
    conn.all(for_update(select, conn)).await
}

/// `status = 'open'` as literal SQL. The partial indexes over open sessions say
/// `WHERE status = 'open'`; with the value bound instead, SQLite can only decide whether they
/// apply once it sees the value, so it prepares the statement again on every execution (a
/// full parse and plan each time).
fn is_open() -> Expr {
    let open = format!("'{}'", SessionStatus::Open.as_str());
    Expr::col((session::Entity, session::Column::Status)).eq(Expr::cust(open))
}

/// Sessions named by any of `(channel, session_ref)`: one statement per channel (see
/// [`group_keys`]).
pub fn by_refs(tenant_id: Uuid, refs: &[(Channel, String)]) -> Vec<Select<session::Entity>> {
    group_keys(refs)
        .into_iter()
        .map(|(channel, references)| {
            session::Entity::find()
                .filter(session::Column::TenantId.eq(tenant_id))
                .filter(session::Column::Channel.eq(channel))
                .filter(session::Column::SessionRef.is_in(references))
        })
        .collect()
}

/// Writes new and changed sessions in one statement. Existing rows must come first: a session
/// closed and its successor opened in the same batch would otherwise collide on the "one open
/// session per lead and channel" index.
pub async fn upsert_many<C: Executor>(
    conn: &C,
    sessions: Vec<session::Model>,
) -> Result<(), DbErr> {
    if sessions.is_empty() {
        return Ok(());
    }
    use session::Column as S;
    conn.insert_rows(
        sessions
            .into_iter()
            .map(session::ActiveModel::from)
            .collect(),
        Some(
            OnConflict::columns([S::TenantId, S::Id])
                .update_columns([
                    S::Status,
                    S::StartedAt,
                    S::LastMessageAt,
                    S::ClosedAt,
                    S::CloseReason,
                    S::Language,
                    S::Intents,
                    S::MessageCount,
                    S::Awaiting,
                    S::UpdatedAt,
                ])
                .to_owned(),
        ),
    )
    .await?;
    Ok(())
}

/// The most recent session of each lead.
pub async fn latest_for_leads<C: Executor>(
    conn: &C,
    tenant_id: Uuid,
    lead_ids: &[Uuid],
) -> Result<Vec<session::Model>, DbErr> {
    if lead_ids.is_empty() {
        return Ok(Vec::new());
    }
    let backend = conn.backend();
    let placeholders: Vec<String> = (0..lead_ids.len()).map(|i| format!("${}", i + 2)).collect();
    // The newest session per lead, found through the (tenant_id, lead_id, started_at) index.
    let sql = format!(
        "SELECT s.* FROM sessions s \
         WHERE s.tenant_id = $1 AND s.lead_id IN ({}) \
         AND s.id = (SELECT s2.id FROM sessions s2 \
                     WHERE s2.tenant_id = s.tenant_id AND s2.lead_id = s.lead_id \
                     ORDER BY s2.started_at DESC, s2.id DESC LIMIT 1)",
        placeholders.join(", ")
    );
    let mut values: Vec<sea_orm::Value> = Vec::with_capacity(lead_ids.len() + 1);
    values.push(tenant_id.into());
    values.extend(lead_ids.iter().map(|id| sea_orm::Value::from(*id)));
    conn.raw::<session::Entity>(sea_orm::Statement::from_sql_and_values(
        backend, sql, values,
    ))
    .await
}

/// The open session of a lead on a channel, if any.
pub async fn open_for_lead<C: Executor>(
    conn: &C,
    tenant_id: Uuid,
    lead_id: Uuid,
    channel: Option<Channel>,
) -> Result<Option<session::Model>, DbErr> {
    conn.one(open_for_lead_select(tenant_id, lead_id, channel))
        .await
}

/// The query of [`open_for_lead`] (also run by the SQLite reader).
pub fn open_for_lead_select(
    tenant_id: Uuid,
    lead_id: Uuid,
    channel: Option<Channel>,
) -> Select<session::Entity> {
    let mut select = session::Entity::find()
        .filter(session::Column::TenantId.eq(tenant_id))
        .filter(session::Column::LeadId.eq(lead_id))
        .filter(is_open());
    if let Some(channel) = channel {
        select = select.filter(session::Column::Channel.eq(channel));
    }
    // The id breaks ties, so every path picks the same session.
    select
        .order_by_desc(session::Column::LastMessageAt)
        .order_by_desc(session::Column::Id)
}

/// The most recent session of a lead (any status, optionally on one channel).
pub async fn latest_for_lead<C: Executor>(
    conn: &C,
    tenant_id: Uuid,
    lead_id: Uuid,
    channel: Option<Channel>,
) -> Result<Option<session::Model>, DbErr> {
    let mut select = session::Entity::find()
        .filter(session::Column::TenantId.eq(tenant_id))
        .filter(session::Column::LeadId.eq(lead_id));
    if let Some(channel) = channel {
        select = select.filter(session::Column::Channel.eq(channel));
    }
    conn.one(
        select
            .order_by_desc(session::Column::StartedAt)
            .order_by_desc(session::Column::Id),
    )
    .await
}

pub fn cursor_of(session: &session::Model) -> Cursor {
    Cursor {
        at: session.started_at,
        id: session.id,
    }
}

/// A page of a lead's sessions, newest first (walking order; see `PageRequest::fetch`).
pub async fn page_for_lead<C: Executor>(
    conn: &C,
    tenant_id: Uuid,
    lead_id: Uuid,
    request: &PageRequest,
) -> Result<Vec<session::Model>, DbErr> {
    let descending = request.direction == Direction::Forward;
    let mut cond = Condition::all()
        .add(session::Column::TenantId.eq(tenant_id))
        .add(session::Column::LeadId.eq(lead_id));
    if let Some(c) = request.cursor {
        cond = cond.add(keyset_after(
            session::Column::StartedAt,
            session::Column::Id,
            c,
            descending,
        ));
    }
    let sort = if descending { Order::Desc } else { Order::Asc };
    conn.all(
        session::Entity::find()
            .filter(cond)
            .order_by(session::Column::StartedAt, sort.clone())
            .order_by(session::Column::Id, sort)
            .limit(request.fetch()),
    )
    .await
}

pub async fn count_for_lead<C: Executor>(
    conn: &C,
    tenant_id: Uuid,
    lead_id: Uuid,
) -> Result<u64, DbErr> {
    conn.count(
        session::Entity::find()
            .filter(session::Column::TenantId.eq(tenant_id))
            .filter(session::Column::LeadId.eq(lead_id)),
    )
    .await
}

/// Loads one session and locks it for the rest of the transaction.
pub async fn lock_one<C: Executor>(
    conn: &C,
    tenant_id: Uuid,
    id: Uuid,
) -> Result<Option<session::Model>, DbErr> {
    let select = session::Entity::find()
        .filter(session::Column::TenantId.eq(tenant_id))
        .filter(session::Column::Id.eq(id));
    conn.one(for_update(select, conn)).await
}

/// Open sessions idle since before `cutoff`, in tenants whose idle timeout is `idle_minutes`;
/// locked, skipping any another transaction holds (ingest is writing to it: not idle).
pub async fn lock_idle<C: Executor>(
    conn: &C,
    idle_minutes: i32,
    cutoff: chrono::DateTime<chrono::Utc>,
    limit: u64,
) -> Result<Vec<session::Model>, DbErr> {
    let backend = conn.backend();
    let lock = if backend == sea_orm::DatabaseBackend::Postgres {
        "FOR UPDATE SKIP LOCKED"
    } else {
        ""
    };
    let sql = format!(
        "SELECT * FROM sessions WHERE status = 'open' AND last_message_at < $1 \
         AND tenant_id IN (SELECT id FROM tenants WHERE session_idle_minutes = $2) \
         ORDER BY last_message_at LIMIT $3 {lock}"
    );
    conn.raw::<session::Entity>(sea_orm::Statement::from_sql_and_values(
        backend,
        sql,
        [cutoff.into(), idle_minutes.into(), (limit as i64).into()],
    ))
    .await
}
