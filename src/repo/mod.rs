//! Queries over the connection. Every function takes the tenant and filters by it; none knows
//! about GraphQL or the caller's permissions.

pub mod api_keys;
pub mod identities;
pub mod jobs;
pub mod leads;
pub mod messages;
pub mod notes;
pub mod profile_changes;
pub mod sessions;
pub mod summaries;
pub mod users;

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
    M: ModelTrait,
{
    use sea_orm::sea_query::Expr;
    use sea_orm::{ColumnTrait, EntityTrait, Iterable, PrimaryKeyToColumn, QueryFilter};

    let mut update = M::Entity::update_many();
    let mut any = false;
    for column in <M::Entity as EntityTrait>::Column::iter() {
        let value = after.get(column);
        if value != before.get(column) {
            update = update.col_expr(column, Expr::value(value));
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

    /// Only the columns that differ between the two models are written: a column changed in
    /// the row behind the models' back keeps that change unless the models change it too.
    #[tokio::test]
    async fn update_changed_writes_only_what_differs_and_only_that_row() {
        let (_dir, _path, db) = crate::db::temp_sqlite().await;
        db.migrate().await.unwrap();
        let now = chrono::Utc::now();
        let tenant = crate::services::tenants::create(&db, "Changed", now)
            .await
            .unwrap();
        let other = crate::services::tenants::create(&db, "Other", now)
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
        super::leads::upsert_many(&db.write, vec![before.clone()])
            .await
            .unwrap();
        let before = super::leads::find(&db.write, tenant.id, before.id)
            .await
            .unwrap()
            .unwrap();
        // Someone else changes the email and the session count meanwhile.
        db.write
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
        super::leads::update_changed(&db.write, &before, &after)
            .await
            .unwrap();
        let stored_row = async || {
            lead::Entity::find_by_id((tenant.id, before.id))
                .one(&db.write)
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
        super::update_changed(&db.write, &after, &after)
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
        let err = super::update_changed(&db.write, &foreign, &moved)
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
