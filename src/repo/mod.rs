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

use sea_orm::{ConnectionTrait, DatabaseBackend, QuerySelect};

/// Row-locks the selected rows until the transaction ends (PostgreSQL). SQLite has a single
/// writer, so the transaction itself already excludes every other writer.
pub fn for_update<S: QuerySelect, C: ConnectionTrait>(select: S, conn: &C) -> S {
    if conn.get_database_backend() == DatabaseBackend::Postgres {
        select.lock_exclusive()
    } else {
        select
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
