//! Message queries.

use sea_orm::{
    ColumnTrait, Condition, DbErr, EntityTrait, Order, QueryFilter, QueryOrder, QuerySelect,
    Select, Statement,
};
use uuid::Uuid;

use super::group_keys;
use super::leads::keyset_after;
use super::pagination::{Cursor, Direction, PageRequest};
use super::search::SearchDocument;
use crate::db::executor::Executor;
use crate::domain::Channel;
use crate::entities::message;

/// Messages already recorded under any of `(channel, external_id)`.
pub async fn find_by_external_ids<C: Executor>(
    conn: &C,
    tenant_id: Uuid,
    keys: &[(Channel, String)],
) -> Result<Vec<message::Model>, DbErr> {
    let mut found = Vec::new();
    for select in by_external_ids(tenant_id, keys) {
        found.extend(conn.all(select).await?);
    }
    Ok(found)
}

/// The statements behind [`find_by_external_ids`]: one per channel (see [`group_keys`]).
fn by_external_ids(tenant_id: Uuid, keys: &[(Channel, String)]) -> Vec<Select<message::Entity>> {
    group_keys(keys)
        .into_iter()
        .map(|(channel, external_ids)| {
            message::Entity::find()
                .filter(message::Column::TenantId.eq(tenant_id))
                .filter(message::Column::Channel.eq(channel))
                .filter(message::Column::ExternalId.is_in(external_ids))
        })
        .collect()
}

pub async fn find<C: Executor>(
    conn: &C,
    tenant_id: Uuid,
    id: Uuid,
) -> Result<Option<message::Model>, DbErr> {
    conn.one(message::Entity::find_by_id((tenant_id, id))).await
}

/// Inserts new messages and their search index entries (same transaction); `terms[i]` is
/// message `i`'s index terms in the database's format (see `search::format_for`), made by the
/// caller off the writer.
pub async fn insert_many<C: Executor>(
    conn: &C,
    rows: &[message::Model],
    terms: &[&str],
) -> Result<(), DbErr> {
    if rows.is_empty() {
        return Ok(());
    }
    if terms.len() != rows.len() {
        return Err(DbErr::Custom(format!(
            "{} messages came with {} sets of index terms",
            rows.len(),
            terms.len()
        )));
    }
    conn.insert_rows(
        rows.iter()
            .cloned()
            .map(message::ActiveModel::from)
            .collect(),
        None,
    )
    .await?;
    let docs: Vec<SearchDocument<'_>> = rows
        .iter()
        .zip(terms)
        .map(|(m, t)| SearchDocument::of_message(m).with_terms(t))
        .collect();
    super::search::index_new(conn, &docs).await
}

/// The last `limit` messages of a session, oldest first.
pub async fn latest_in_session<C: Executor>(
    conn: &C,
    tenant_id: Uuid,
    session_id: Uuid,
    limit: u64,
) -> Result<Vec<message::Model>, DbErr> {
    // The limit is part of the SQL, not a bound value: SQLite plans with a bound LIMIT's value
    // and so prepares such a statement again on every run.
    let newest_first = Statement::from_sql_and_values(
        conn.backend(),
        format!(
            "SELECT * FROM messages WHERE tenant_id = $1 AND session_id = $2 \
             ORDER BY occurred_at DESC, id DESC LIMIT {limit}"
        ),
        [tenant_id.into(), session_id.into()],
    );
    let mut rows = conn.raw::<message::Entity>(newest_first).await?;
    rows.reverse();
    Ok(rows)
}

/// The last message of each lead: the newest message of its newest session (the lead's
/// `lastSession`), through the `(tenant_id, lead_id, started_at)` and
/// `(tenant_id, session_id, occurred_at)` indexes.
pub async fn latest_for_leads<C: Executor>(
    conn: &C,
    tenant_id: Uuid,
    lead_ids: &[Uuid],
) -> Result<Vec<message::Model>, DbErr> {
    if lead_ids.is_empty() {
        return Ok(Vec::new());
    }
    let placeholders: Vec<String> = (0..lead_ids.len()).map(|i| format!("${}", i + 2)).collect();
    let sql = format!(
        "SELECT m.* FROM sessions s JOIN messages m ON m.tenant_id = s.tenant_id \
         AND m.id = (SELECT m2.id FROM messages m2 \
                     WHERE m2.tenant_id = s.tenant_id AND m2.session_id = s.id \
                     ORDER BY m2.occurred_at DESC, m2.id DESC LIMIT 1) \
         WHERE s.tenant_id = $1 AND s.lead_id IN ({}) \
         AND s.id = (SELECT s2.id FROM sessions s2 \
                     WHERE s2.tenant_id = s.tenant_id AND s2.lead_id = s.lead_id \
                     ORDER BY s2.started_at DESC, s2.id DESC LIMIT 1)",
        placeholders.join(", ")
    );
    let mut values: Vec<sea_orm::Value> = Vec::with_capacity(lead_ids.len() + 1);
    values.push(tenant_id.into());
    values.extend(lead_ids.iter().map(|id| sea_orm::Value::from(*id)));
    conn.raw::<message::Entity>(Statement::from_sql_and_values(conn.backend(), sql, values))
        .await
}

/// Every message of a session, oldest first (for summaries).
pub async fn all_in_session<C: Executor>(
    conn: &C,
    tenant_id: Uuid,
    session_id: Uuid,
) -> Result<Vec<message::Model>, DbErr> {
    conn.all(
        message::Entity::find()
            .filter(message::Column::TenantId.eq(tenant_id))
            .filter(message::Column::SessionId.eq(session_id))
            .order_by_asc(message::Column::OccurredAt)
            .order_by_asc(message::Column::Id),
    )
    .await
}

pub fn cursor_of(message: &message::Model) -> Cursor {
    Cursor {
        at: message.occurred_at,
        id: message.id,
    }
}

/// A page of a session's messages in walking order; `newest_first` picks the order.
pub async fn page_in_session<C: Executor>(
    conn: &C,
    tenant_id: Uuid,
    session_id: Uuid,
    newest_first: bool,
    request: &PageRequest,
) -> Result<Vec<message::Model>, DbErr> {
    let descending = newest_first ^ (request.direction == Direction::Backward);
    let mut cond = Condition::all()
        .add(message::Column::TenantId.eq(tenant_id))
        .add(message::Column::SessionId.eq(session_id));
    if let Some(c) = request.cursor {
        cond = cond.add(keyset_after(
            message::Column::OccurredAt,
            message::Column::Id,
            c,
            descending,
        ));
    }
    let sort = if descending { Order::Desc } else { Order::Asc };
    conn.all(
        message::Entity::find()
            .filter(cond)
            .order_by(message::Column::OccurredAt, sort.clone())
            .order_by(message::Column::Id, sort)
            .limit(request.fetch()),
    )
    .await
}

pub async fn count_in_session<C: Executor>(
    conn: &C,
    tenant_id: Uuid,
    session_id: Uuid,
) -> Result<u64, DbErr> {
    conn.count(
        message::Entity::find()
            .filter(message::Column::TenantId.eq(tenant_id))
            .filter(message::Column::SessionId.eq(session_id)),
    )
    .await
}

/// Sets a message's delivery status unless it already holds one of `not_behind` (statuses the
/// new one may not replace). Returns whether it changed.
pub async fn set_delivery_status<C: Executor>(
    conn: &C,
    tenant_id: Uuid,
    id: Uuid,
    status: &str,
    not_behind: &[&str],
) -> Result<bool, DbErr> {
    use sea_orm::sea_query::Expr;
    let update = message::Entity::update_many()
        .col_expr(message::Column::DeliveryStatus, Expr::value(status))
        .filter(message::Column::TenantId.eq(tenant_id))
        .filter(message::Column::Id.eq(id))
        .filter(
            Condition::any()
                .add(message::Column::DeliveryStatus.is_null())
                .add(message::Column::DeliveryStatus.is_not_in(not_behind.iter().copied())),
        );
    Ok(conn.run(&update).await? == 1)
}
