//! Queries over the connection. Every function takes the tenant and filters by it; none knows
//! about GraphQL or the caller's permissions.
//!
//! Every function takes its connection as `C: Executor` (`crate::db::executor`): the same query
//! then runs on SeaORM (PostgreSQL, SQLite through sqlx) and on the rusqlite connections of the
//! two SQLite hot paths, so a query is written once whichever driver serves it.

pub mod api_keys;
pub mod audit;
pub mod changes;
pub mod events;
pub mod identities;
pub mod jobs;
pub mod leads;
pub mod messages;
pub mod notes;
pub mod pagination;
pub mod privacy;
pub mod profile_changes;
pub mod search;
pub mod sessions;
pub mod subject;
pub mod summaries;
pub mod tenants;
pub mod users;
pub mod webhooks;

use std::collections::BTreeMap;

use sea_orm::{DatabaseBackend, DbErr, ModelTrait, QuerySelect};

use crate::db::executor::Executor;

/// Groups `(a, b)` keys by `a`, so that a lookup of many keys runs as one
/// `a = ? AND b IN (…)` per group.
///
/// Without statistics, SQLite's planner answers an `OR` of three or more `(a = ? AND b = ?)`
/// pairs by walking every row of the tenant (seconds on a large tenant), while
/// `a = ? AND b IN (…)` always searches the unique index. The groups are few (channels,
/// identity kinds), so the extra statements cost less than any scan.
pub fn group_keys<A: Copy + Ord, B: AsRef<str>>(keys: &[(A, B)]) -> BTreeMap<A, Vec<&str>> {
    let mut groups: BTreeMap<A, Vec<&str>> = BTreeMap::new();
    for (a, b) in keys {
        groups.entry(*a).or_default().push(b.as_ref());
    }
    for values in groups.values_mut() {
        values.sort_unstable();
        values.dedup();
    }
    groups
}

/// Row-locks the selected rows until the transaction ends (PostgreSQL). SQLite has a single
/// writer, so the transaction itself already excludes every other writer.
pub fn for_update<S: QuerySelect, C: Executor>(select: S, conn: &C) -> S {
    if conn.backend() == DatabaseBackend::Postgres {
        select.lock_exclusive()
    } else {
        select
    }
}

/// Writes the columns in which `after` differs from `before` (the same row as loaded in this
/// transaction) to that row, found by primary key; writes nothing when they are equal.
///
/// For SQLite: an upsert names every column, and SQLite rewrites the entries of every index
/// on a column named in `SET` even when the value is the same. Naming only what changed leaves
/// the other indexes' pages (phone, email, open sessions, a lead's sessions) clean, so the
/// commit writes fewer pages. (PostgreSQL writes a new row version either way, and gets one
/// upsert for many rows instead.)
pub async fn update_changed<C, M>(conn: &C, before: &M, after: &M) -> Result<(), DbErr>
where
    C: Executor,
    M: ColumnDiff,
{
    use sea_orm::sea_query::Expr;
    use sea_orm::{ColumnTrait, EntityTrait, Iterable, PrimaryKeyToColumn, QueryFilter};

    let mut update = M::Entity::update_many();
    let mut any = false;
    for column in <M::Entity as EntityTrait>::Column::iter() {
        if after.differs(before, column) {
            update = update.col_expr(column, Expr::value(after.get(column)));
            any = true;
        }
    }
    if !any {
        return Ok(());
    }
    for key in <M::Entity as EntityTrait>::PrimaryKey::iter() {
        let column = key.into_column();
        update = update.filter(column.eq(before.get(column)));
    }
    updated_one(conn.run(&update).await?)
}

/// Compares one column of two models in place. Comparing through `ModelTrait::get` would clone
/// both sides first, a lead's whole profile JSON included, for every column of every row that
/// ingest writes.
pub trait ColumnDiff: ModelTrait {
    /// Whether `self` and `other` hold different values in `column`.
    fn differs(&self, other: &Self, column: <Self::Entity as sea_orm::EntityTrait>::Column)
    -> bool;
}

/// Implements [`ColumnDiff`] for an entity's model, one arm per column: a column added to the
/// entity and not listed here fails to compile (the match is exhaustive).
macro_rules! column_diff {
    ($entity:ident { $($column:ident => $field:ident),+ $(,)? }) => {
        impl ColumnDiff for crate::entities::$entity::Model {
            fn differs(&self, other: &Self, column: crate::entities::$entity::Column) -> bool {
                use crate::entities::$entity::Column;
                match column {
                    $(Column::$column => self.$field != other.$field,)+
                }
            }
        }
    };
}

column_diff!(lead {
    TenantId => tenant_id,
    Id => id,
    DisplayName => display_name,
    PrimaryPhone => primary_phone,
    Email => email,
    SearchText => search_text,
    Profile => profile,
    LastSummary => last_summary,
    LastSummaryChannel => last_summary_channel,
    LastSummarySessionId => last_summary_session_id,
    SummaryUpdatedAt => summary_updated_at,
    LastInteractionAt => last_interaction_at,
    LastChannel => last_channel,
    LastActivityAt => last_activity_at,
    MessageCount => message_count,
    SessionCount => session_count,
    CreatedAt => created_at,
    UpdatedAt => updated_at,
});

column_diff!(session {
    TenantId => tenant_id,
    Id => id,
    LeadId => lead_id,
    Channel => channel,
    Status => status,
    SessionRef => session_ref,
    StartedAt => started_at,
    LastMessageAt => last_message_at,
    ClosedAt => closed_at,
    CloseReason => close_reason,
    Language => language,
    Intents => intents,
    MessageCount => message_count,
    Awaiting => awaiting,
    PreviousInteractionAt => previous_interaction_at,
    CreatedAt => created_at,
    UpdatedAt => updated_at,
});

/// An update by key changed exactly its one row (the row is locked or the writer is alone,
/// so anything else is a bug, reported rather than written past).
pub fn updated_one(changed: u64) -> Result<(), DbErr> {
    if changed == 1 {
        Ok(())
    } else {
        Err(DbErr::RecordNotUpdated)
    }
}

/// Escapes `%`, `_` and `\` for a `LIKE … ESCAPE '\'` pattern.
pub fn like_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use sea_orm::{ConnectionTrait, DbErr, EntityTrait};

    use super::group_keys;
    use crate::entities::lead;

    /// Every column's arm of `column_diff!` compares its own field: two models that differ in
    /// every column, made equal in all but one, differ in that one alone.
    #[test]
    fn column_diff_compares_each_column_by_its_own_field() {
        use chrono::{Duration, TimeZone, Utc};
        use sea_orm::{IdenStatic, Iterable};
        use uuid::Uuid;

        use super::ColumnDiff;
        use crate::domain::{Channel, CloseReason, SessionStatus};
        use crate::entities::session;

        fn check<M: ColumnDiff + Clone>(a: &M, b: &M) {
            for column in <M::Entity as EntityTrait>::Column::iter() {
                assert!(
                    a.differs(b, column),
                    "the fixtures must differ in {column:?}"
                );
                let mut mixed = a.clone();
                for other in <M::Entity as EntityTrait>::Column::iter() {
                    if other.as_str() != column.as_str() {
                        mixed.set(other, b.get(other));
                    }
                }
                for other in <M::Entity as EntityTrait>::Column::iter() {
                    assert_eq!(
                        mixed.differs(b, other),
                        other.as_str() == column.as_str(),
                        "changing only {column:?}, {other:?} compared wrong"
                    );
                }
            }
        }

        let t0 = Utc
            .with_ymd_and_hms(2026, 1, 1, 9, 0, 0)
            .single()
            .expect("valid time");
        let t = |minutes: i64| Some(t0 + Duration::minutes(minutes));
        let lead_a = lead::Model::new(Uuid::now_v7(), Uuid::now_v7(), t0, t0);
        let lead_b = lead::Model {
            tenant_id: Uuid::now_v7(),
            id: Uuid::now_v7(),
            display_name: Some("Dana".into()),
            primary_phone: Some("+972501234567".into()),
            email: Some("dana@example.com".into()),
            search_text: "dana".into(),
            profile: serde_json::json!({ "name": "Dana" }),
            last_summary: Some("asked about prices".into()),
            last_summary_channel: Some(Channel::Call),
            last_summary_session_id: Some(Uuid::now_v7()),
            summary_updated_at: t(1),
            last_interaction_at: t(2),
            last_channel: Some(Channel::Whatsapp),
            last_activity_at: t0 + Duration::minutes(3),
            message_count: 4,
            session_count: 5,
            created_at: t0 + Duration::minutes(6),
            updated_at: t0 + Duration::minutes(7),
        };
        check(&lead_a, &lead_b);

        let session_a = session::Model {
            tenant_id: Uuid::now_v7(),
            id: Uuid::now_v7(),
            lead_id: Uuid::now_v7(),
            channel: Channel::Web,
            status: SessionStatus::Open,
            session_ref: None,
            started_at: t0,
            last_message_at: t0,
            closed_at: None,
            close_reason: None,
            language: None,
            intents: serde_json::json!([]),
            message_count: 0,
            awaiting: Some("name".into()),
            previous_interaction_at: None,
            created_at: t0,
            updated_at: t0,
        };
        let session_b = session::Model {
            tenant_id: Uuid::now_v7(),
            id: Uuid::now_v7(),
            lead_id: Uuid::now_v7(),
            channel: Channel::Call,
            status: SessionStatus::Closed,
            session_ref: Some("call-1".into()),
            started_at: t0 + Duration::minutes(1),
            last_message_at: t0 + Duration::minutes(2),
            closed_at: t(3),
            close_reason: Some(CloseReason::Reset),
            language: Some("he".into()),
            intents: serde_json::json!(["pricing"]),
            message_count: 4,
            awaiting: Some("phone".into()),
            previous_interaction_at: t(5),
            created_at: t0 + Duration::minutes(6),
            updated_at: t0 + Duration::minutes(7),
        };
        check(&session_a, &session_b);
    }

    /// Only the columns that differ between the two models are written: a column changed in
    /// the row behind the models' back keeps that change unless the models change it too.
    #[tokio::test]
    async fn update_changed_writes_only_what_differs_and_only_that_row() {
        let (_dir, _path, db) = crate::db::temp_sqlite().await;
        db.migrate().await.unwrap();
        let now = chrono::Utc::now();
        let tenant = super::tenants::insert(db.writer(), "Changed".into(), now)
            .await
            .unwrap();
        let other = super::tenants::insert(db.writer(), "Other".into(), now)
            .await
            .unwrap();
        let before = lead::Model {
            display_name: Some("Dana".into()),
            primary_phone: Some("+972501234567".into()),
            email: Some("dana@example.com".into()),
            message_count: 3,
            session_count: 1,
            ..lead::Model::new(tenant.id, uuid::Uuid::now_v7(), now, now)
        };
        super::leads::upsert_many(db.writer(), vec![before.clone()])
            .await
            .unwrap();
        let before = super::leads::find(db.writer(), tenant.id, before.id)
            .await
            .unwrap()
            .unwrap();
        // Someone else changes the email and the session count meanwhile.
        db.writer()
            .execute_unprepared(&format!(
                "UPDATE leads SET email = 'other@example.com', session_count = 9 \
                 WHERE id = x'{}'",
                before.id.simple()
            ))
            .await
            .unwrap();

        let after = lead::Model {
            primary_phone: Some("+972509999999".into()),
            message_count: 4,
            ..before.clone()
        };
        super::leads::update_changed(db.writer(), &before, &after)
            .await
            .unwrap();
        let stored_row = async || {
            lead::Entity::find_by_id((tenant.id, before.id))
                .one(db.writer())
                .await
                .unwrap()
                .unwrap()
        };
        let stored = stored_row().await;
        assert_eq!(stored.primary_phone.as_deref(), Some("+972509999999"));
        assert_eq!(stored.message_count, 4);
        // The search text follows the new phone (and the email the row now holds is not
        // the one the models carry, so it is the models' text that was written).
        assert_eq!(stored.search_text, after.compute_search_text());
        assert_eq!(stored.email.as_deref(), Some("other@example.com"));
        assert_eq!(stored.session_count, 9);

        // Equal models: nothing is written.
        super::update_changed(db.writer(), &after, &after)
            .await
            .unwrap();
        assert_eq!(stored_row().await, stored);

        // The same id under another tenant is not this row.
        let foreign = lead::Model {
            tenant_id: other.id,
            ..before.clone()
        };
        let moved = lead::Model {
            message_count: 5,
            ..foreign.clone()
        };
        let err = super::update_changed(db.writer(), &foreign, &moved)
            .await
            .unwrap_err();
        assert!(matches!(err, DbErr::RecordNotUpdated), "{err:?}");
        db.close().await;
    }

    #[test]
    fn keys_are_grouped_by_their_first_part_without_duplicates() {
        let keys = [
            (2, "b".to_string()),
            (1, "a".to_string()),
            (2, "a".to_string()),
            (2, "b".to_string()),
        ];
        let groups = group_keys(&keys);
        assert_eq!(groups.len(), 2);
        assert_eq!(groups[&1], vec!["a"]);
        assert_eq!(groups[&2], vec!["a", "b"]);
    }
}
