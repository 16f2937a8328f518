//! Lead queries: by id, pages with filters, counts, upserts.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{
    ColumnTrait, Condition, DbErr, EntityTrait, Order, QueryFilter, QueryOrder, QuerySelect, Select,
};
use uuid::Uuid;

use super::pagination::{Cursor, Direction, PageRequest};
use super::{for_update, like_escape};
use crate::db::executor::Executor;
use crate::domain::{Channel, IdentityKind, SessionStatus};
use crate::entities::{lead, lead_identity, session};

pub async fn find<C: Executor>(
    conn: &C,
    tenant_id: Uuid,
    id: Uuid,
) -> Result<Option<lead::Model>, DbErr> {
    conn.one(by_id_select(tenant_id, id)).await
}

/// The query of [`find`] (also run by the SQLite reader).
pub fn by_id_select(tenant_id: Uuid, id: Uuid) -> Select<lead::Entity> {
    lead::Entity::find_by_id((tenant_id, id))
}

pub async fn find_many<C: Executor>(
    conn: &C,
    tenant_id: Uuid,
    ids: &[Uuid],
) -> Result<Vec<lead::Model>, DbErr> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    conn.all(
        lead::Entity::find()
            .filter(lead::Column::TenantId.eq(tenant_id))
            .filter(lead::Column::Id.is_in(ids.iter().copied())),
    )
    .await
}

/// Loads leads and locks them for the rest of the transaction, in id order (so two writers
/// locking overlapping sets cannot deadlock).
pub async fn lock_many<C: Executor>(
    conn: &C,
    tenant_id: Uuid,
    ids: &[Uuid],
) -> Result<Vec<lead::Model>, DbErr> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let select = lead::Entity::find()
        .filter(lead::Column::TenantId.eq(tenant_id))
        .filter(lead::Column::Id.is_in(ids.iter().copied()))
        .order_by_asc(lead::Column::Id);
    conn.all(for_update(select, conn)).await
}

/// Writes new and changed leads in one statement.
pub async fn upsert_many<C: Executor>(conn: &C, leads: Vec<lead::Model>) -> Result<(), DbErr> {
    if leads.is_empty() {
        return Ok(());
    }
    use lead::Column as L;
    let leads = leads
        .into_iter()
        .map(|mut l| {
            l.search_text = l.compute_search_text();
            lead::ActiveModel::from(l)
        })
        .collect();
    conn.insert_rows(
        leads,
        Some(
            OnConflict::columns([L::TenantId, L::Id])
                .update_columns([
                    L::DisplayName,
                    L::PrimaryPhone,
                    L::Email,
                    L::SearchText,
                    L::Profile,
                    L::LastSummary,
                    L::LastSummaryChannel,
                    L::LastSummarySessionId,
                    L::SummaryUpdatedAt,
                    L::LastInteractionAt,
                    L::LastChannel,
                    L::LastActivityAt,
                    L::MessageCount,
                    L::SessionCount,
                    L::UpdatedAt,
                ])
                .to_owned(),
        ),
    )
    .await?;
    Ok(())
}

/// Writes what changed in a lead read earlier in this transaction (see
/// [`super::update_changed`]), its search text following its name, phone and email.
pub async fn update_changed<C: Executor>(
    conn: &C,
    before: &lead::Model,
    after: &lead::Model,
) -> Result<(), DbErr> {
    let search_text = after.compute_search_text();
    if search_text == after.search_text {
        return super::update_changed(conn, before, after).await;
    }
    let after = lead::Model {
        search_text,
        ..after.clone()
    };
    super::update_changed(conn, before, &after).await
}

/// The order of a lead list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LeadOrder {
    /// Most recently active first.
    #[default]
    LastActivityDesc,
    CreatedAtDesc,
    CreatedAtAsc,
}

/// Filters of a lead list.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LeadFilter {
    /// Case-insensitive substring of the name, phone or email.
    pub search: Option<String>,
    /// The phone number `search` reads as, in E.164 (set by the service, which knows the
    /// tenant's region): also matches leads with that primary phone or phone identity.
    pub search_phone: Option<String>,
    /// The digits of a `search` written like a phone number (`555-1234`): also matched as a
    /// substring, since stored numbers have no separators.
    pub search_digits: Option<String>,
    /// Leads who talked on this channel.
    pub channel: Option<Channel>,
    /// Leads whose last interaction is at or after this time.
    pub active_since: Option<DateTime<Utc>>,
    /// Leads with (or without) a conversation summary.
    pub has_summary: Option<bool>,
    /// Returning leads (more than one conversation), or (false) first-time ones.
    pub returning: Option<bool>,
    /// Leads with (or without) an open conversation.
    pub has_open_conversation: Option<bool>,
    /// Leads who spoke this language (ISO 639-1, lower case) in a conversation.
    pub language: Option<String>,
}

fn condition(tenant_id: Uuid, filter: &LeadFilter) -> Condition {
    let mut cond = Condition::all().add(lead::Column::TenantId.eq(tenant_id));
    if let Some(search) = &filter.search {
        let contains = |text: &str| {
            let pattern = format!("%{}%", like_escape(&text.to_lowercase()));
            Expr::col((lead::Entity, lead::Column::SearchText))
                .like(sea_orm::sea_query::LikeExpr::new(pattern).escape('\\'))
        };
        let mut matches = Condition::any().add(contains(search));
        if let Some(digits) = &filter.search_digits {
            matches = matches.add(contains(digits));
        }
        if let Some(phone) = &filter.search_phone {
            matches = matches
                .add(lead::Column::PrimaryPhone.eq(phone.as_str()))
                .add(
                    lead::Column::Id.in_subquery(
                        sea_orm::sea_query::Query::select()
                            .column(lead_identity::Column::LeadId)
                            .from(lead_identity::Entity)
                            .and_where(lead_identity::Column::TenantId.eq(tenant_id))
                            .and_where(lead_identity::Column::Kind.eq(IdentityKind::Phone))
                            .and_where(lead_identity::Column::Value.eq(phone.as_str()))
                            .to_owned(),
                    ),
                );
        }
        cond = cond.add(matches);
    }
    if let Some(channel) = filter.channel {
        // Talked on the channel: a session there, or the channel's own identity.
        cond = cond.add(
            Condition::any()
                .add(
                    lead::Column::Id.in_subquery(
                        sea_orm::sea_query::Query::select()
                            .column(session::Column::LeadId)
                            .from(session::Entity)
                            .and_where(session::Column::TenantId.eq(tenant_id))
                            .and_where(session::Column::Channel.eq(channel))
                            .to_owned(),
                    ),
                )
                .add(
                    lead::Column::Id.in_subquery(
                        sea_orm::sea_query::Query::select()
                            .column(lead_identity::Column::LeadId)
                            .from(lead_identity::Entity)
                            .and_where(lead_identity::Column::TenantId.eq(tenant_id))
                            .and_where(
                                lead_identity::Column::Kind.eq(IdentityKind::for_channel(channel)),
                            )
                            .to_owned(),
                    ),
                ),
        );
    }
    if let Some(since) = filter.active_since {
        cond = cond.add(lead::Column::LastInteractionAt.gte(since));
    }
    match filter.has_summary {
        Some(true) => cond = cond.add(lead::Column::LastSummary.is_not_null()),
        Some(false) => cond = cond.add(lead::Column::LastSummary.is_null()),
        None => {}
    }
    match filter.returning {
        Some(true) => cond = cond.add(lead::Column::SessionCount.gt(1)),
        Some(false) => cond = cond.add(lead::Column::SessionCount.lte(1)),
        None => {}
    }
    if let Some(open) = filter.has_open_conversation {
        let open_sessions = sea_orm::sea_query::Query::select()
            .column(session::Column::LeadId)
            .from(session::Entity)
            .and_where(session::Column::TenantId.eq(tenant_id))
            .and_where(session::Column::Status.eq(SessionStatus::Open))
            .to_owned();
        cond = cond.add(if open {
            lead::Column::Id.in_subquery(open_sessions)
        } else {
            lead::Column::Id.not_in_subquery(open_sessions)
        });
    }
    if let Some(language) = &filter.language {
        cond = cond.add(
            lead::Column::Id.in_subquery(
                sea_orm::sea_query::Query::select()
                    .column(session::Column::LeadId)
                    .from(session::Entity)
                    .and_where(session::Column::TenantId.eq(tenant_id))
                    .and_where(session::Column::Language.eq(language.as_str()))
                    .to_owned(),
            ),
        );
    }
    cond
}

/// The sort key of a lead in `order`.
pub fn cursor_of(lead: &lead::Model, order: LeadOrder) -> Cursor {
    let at = match order {
        LeadOrder::LastActivityDesc => lead.last_activity_at,
        LeadOrder::CreatedAtDesc | LeadOrder::CreatedAtAsc => lead.created_at,
    };
    Cursor { at, id: lead.id }
}

/// One page of leads (one row more than asked, see `PageRequest::fetch`), in walking order.
pub async fn page<C: Executor>(
    conn: &C,
    tenant_id: Uuid,
    filter: &LeadFilter,
    order: LeadOrder,
    request: &PageRequest,
) -> Result<Vec<lead::Model>, DbErr> {
    let (column, descending) = match order {
        LeadOrder::LastActivityDesc => (lead::Column::LastActivityAt, true),
        LeadOrder::CreatedAtDesc => (lead::Column::CreatedAt, true),
        LeadOrder::CreatedAtAsc => (lead::Column::CreatedAt, false),
    };
    // Walking backward flips the order; the page is reversed again afterwards.
    let descending = descending ^ (request.direction == Direction::Backward);
    let mut cond = condition(tenant_id, filter);
    if let Some(c) = request.cursor {
        cond = cond.add(keyset_after(column, lead::Column::Id, c, descending));
    }
    let sort = if descending { Order::Desc } else { Order::Asc };
    conn.all(
        lead::Entity::find()
            .filter(cond)
            .order_by(column, sort.clone())
            .order_by(lead::Column::Id, sort)
            .limit(request.fetch()),
    )
    .await
}

/// `(key, id)` strictly after `cursor` in the walking order.
pub fn keyset_after<K: ColumnTrait, I: ColumnTrait>(
    key: K,
    id: I,
    cursor: Cursor,
    descending: bool,
) -> Condition {
    if descending {
        Condition::any().add(key.lt(cursor.at)).add(
            Condition::all()
                .add(key.eq(cursor.at))
                .add(id.lt(cursor.id)),
        )
    } else {
        Condition::any().add(key.gt(cursor.at)).add(
            Condition::all()
                .add(key.eq(cursor.at))
                .add(id.gt(cursor.id)),
        )
    }
}

pub async fn count<C: Executor>(
    conn: &C,
    tenant_id: Uuid,
    filter: &LeadFilter,
) -> Result<u64, DbErr> {
    conn.count(lead::Entity::find().filter(condition(tenant_id, filter)))
        .await
}

/// The lead that owns an identity, in one query.
pub async fn find_by_identity<C: Executor>(
    conn: &C,
    tenant_id: Uuid,
    kind: IdentityKind,
    value: &str,
) -> Result<Option<lead::Model>, DbErr> {
    conn.one(by_identity_select(tenant_id, kind, value)).await
}

/// The query of [`find_by_identity`] (also run by the SQLite reader).
pub fn by_identity_select(
    tenant_id: Uuid,
    kind: IdentityKind,
    value: &str,
) -> Select<lead::Entity> {
    lead::Entity::find()
        .filter(lead::Column::TenantId.eq(tenant_id))
        .filter(
            lead::Column::Id.in_subquery(
                sea_orm::sea_query::Query::select()
                    .column(lead_identity::Column::LeadId)
                    .from(lead_identity::Entity)
                    .and_where(lead_identity::Column::TenantId.eq(tenant_id))
                    .and_where(lead_identity::Column::Kind.eq(kind))
                    .and_where(lead_identity::Column::Value.eq(value))
                    .to_owned(),
            ),
        )
}
