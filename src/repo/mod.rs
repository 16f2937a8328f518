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

use sea_orm::{DatabaseBackend, DbErr, QuerySelect};

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

/// Escapes `%`, `_` and `\` for a `LIKE … ESCAPE '\'` pattern.
/// An update by key changed exactly its one row (the row is locked or the writer is alone,
/// so anything else is a bug, reported rather than written past).
pub fn updated_one(changed: u64) -> Result<(), DbErr> {
    if changed == 1 {
        Ok(())
    } else {
        Err(DbErr::RecordNotUpdated)
    }
}

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
    use super::group_keys;

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
