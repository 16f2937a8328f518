//! Privacy queries: deleting a lead's rows by catalogue entry, tombstones and identity hashes,
//! the tenant's privacy key, and retention's batched deletes by age.

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, DbErr, EntityTrait, QueryFilter, Statement, Value, sea_query::Expr};
use uuid::Uuid;

use crate::db::executor::Executor;
use crate::entities::{erased_identity, lead_erasure, tenant};

fn statement<C: Executor>(conn: &C, sql: &str, values: Vec<Value>) -> Statement {
    Statement::from_sql_and_values(conn.backend(), sql, values)
}

/// Deletes the rows of `table` whose `column` is the lead's id; returns how many.
pub async fn delete_by_lead<C: Executor>(
    conn: &C,
    tenant_id: Uuid,
    lead_id: Uuid,
    table: &str,
    column: &str,
) -> Result<u64, DbErr> {
    conn.execute(statement(
        conn,
        &format!("DELETE FROM {table} WHERE tenant_id = $1 AND {column} = $2"),
        vec![tenant_id.into(), lead_id.into()],
    ))
    .await
}

/// The JSON text of `column`'s `key` (a string), on either backend.
fn json_text(conn: &impl Executor, column: &str, key: &str) -> String {
    match conn.backend() {
        sea_orm::DatabaseBackend::Postgres => format!("({column} ->> '{key}')"),
        _ => format!("json_extract({column}, '$.{key}')"),
    }
}

/// Deletes the rows of `table` whose JSON `column` names, under one of `keys`, one of `ids`
/// (as the hyphenated text JSON payloads carry); returns how many.
pub async fn delete_by_json_ids<C: Executor>(
    conn: &C,
    tenant_id: Uuid,
    table: &str,
    column: &str,
    keys: &[&str],
    ids: &[Uuid],
) -> Result<u64, DbErr> {
    if ids.is_empty() || keys.is_empty() {
        return Ok(0);
    }
    let mut values: Vec<Value> = vec![tenant_id.into()];
    let placeholders: Vec<String> = ids
        .iter()
        .map(|id| {
            values.push(id.to_string().into());
            format!("${}", values.len())
        })
        .collect();
    let list = placeholders.join(", ");
    let matches: Vec<String> = keys
        .iter()
        .map(|key| format!("{} IN ({list})", json_text(conn, column, key)))
        .collect();
    conn.execute(statement(
        conn,
        &format!(
            "DELETE FROM {table} WHERE tenant_id = $1 AND ({})",
            matches.join(" OR ")
        ),
        values,
    ))
    .await
}

/// What an erased row's JSON becomes.
fn erased_json() -> serde_json::Value {
    serde_json::json!({ "erased": true })
}

/// Replaces the JSON `column` of `table`'s rows about the lead (its `lead_column`, or a
/// `session_id` among `sessions`) with `{"erased": true}`; returns how many rows.
pub async fn scrub_json<C: Executor>(
    conn: &C,
    tenant_id: Uuid,
    lead_id: Uuid,
    sessions: &[Uuid],
    table: &str,
    lead_column: &str,
    column: &str,
) -> Result<u64, DbErr> {
    let mut values: Vec<Value> = vec![tenant_id.into(), lead_id.into(), erased_json().into()];
    let mut condition = format!("{lead_column} = $2");
    if !sessions.is_empty() {
        let placeholders: Vec<String> = sessions
            .iter()
            .map(|id| {
                values.push((*id).into());
                format!("${}", values.len())
            })
            .collect();
        condition = format!(
            "({condition} OR session_id IN ({}))",
            placeholders.join(", ")
        );
    }
    conn.execute(statement(
        conn,
        &format!("UPDATE {table} SET {column} = $3 WHERE tenant_id = $1 AND {condition}"),
        values,
    ))
    .await
}

/// The ids of a lead's sessions.
pub async fn session_ids<C: Executor>(
    conn: &C,
    tenant_id: Uuid,
    lead_id: Uuid,
) -> Result<Vec<Uuid>, DbErr> {
    let rows: Vec<(Uuid,)> = conn
        .rows(statement(
            conn,
            "SELECT id FROM sessions WHERE tenant_id = $1 AND lead_id = $2",
            vec![tenant_id.into(), lead_id.into()],
        ))
        .await?;
    Ok(rows.into_iter().map(|(id,)| id).collect())
}

/// The tenant's privacy key, made (and stored) on first use.
pub async fn privacy_key<C: Executor>(conn: &C, tenant_id: Uuid) -> Result<String, DbErr> {
    if let Some(key) = stored_privacy_key(conn, tenant_id).await? {
        return Ok(key);
    }
    let fresh: [u8; 32] = rand::random();
    let fresh: String = fresh.iter().map(|b| format!("{b:02x}")).collect();
    // Only if still unset: a racing first erasure keeps the key the other one stored.
    conn.run(
        &tenant::Entity::update_many()
            .col_expr(tenant::Column::PrivacyKey, Expr::value(fresh))
            .filter(tenant::Column::Id.eq(tenant_id))
            .filter(tenant::Column::PrivacyKey.is_null()),
    )
    .await?;
    stored_privacy_key(conn, tenant_id)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound("tenant".into()))
}

/// The tenant's privacy key if one was made (none before the first erasure).
pub async fn stored_privacy_key<C: Executor>(
    conn: &C,
    tenant_id: Uuid,
) -> Result<Option<String>, DbErr> {
    Ok(conn
        .one(tenant::Entity::find_by_id(tenant_id))
        .await?
        .and_then(|t| t.privacy_key))
}

/// Stores a tombstone and its identity hashes.
pub async fn insert_tombstone<C: Executor>(
    conn: &C,
    tombstone: lead_erasure::Model,
    hashes: Vec<String>,
) -> Result<(), DbErr> {
    let (tenant_id, erasure_id) = (tombstone.tenant_id, tombstone.id);
    conn.insert_rows(vec![lead_erasure::ActiveModel::from(tombstone)], None)
        .await?;
    if hashes.is_empty() {
        return Ok(());
    }
    let rows = hashes
        .into_iter()
        .map(|identity_hash| {
            erased_identity::ActiveModel::from(erased_identity::Model {
                tenant_id,
                id: Uuid::now_v7(),
                erasure_id,
                identity_hash,
            })
        })
        .collect();
    conn.insert_rows(rows, None).await?;
    Ok(())
}

/// Whether any of `hashes` belongs to an erased lead of the tenant.
pub async fn any_erased<C: Executor>(
    conn: &C,
    tenant_id: Uuid,
    hashes: &[String],
) -> Result<bool, DbErr> {
    if hashes.is_empty() {
        return Ok(false);
    }
    let found = conn
        .count(
            erased_identity::Entity::find()
                .filter(erased_identity::Column::TenantId.eq(tenant_id))
                .filter(erased_identity::Column::IdentityHash.is_in(hashes.iter().cloned())),
        )
        .await?;
    Ok(found > 0)
}

/// The ids of up to `limit` of the tenant's oldest rows of `table` whose `time_column` is
/// before `before`, oldest first. A read: it runs before the write transaction that deletes
/// them ([`delete_with_derived`]), so the writer is held for the deletes only.
pub async fn oldest_ids<C: Executor>(
    conn: &C,
    tenant_id: Uuid,
    table: &str,
    time_column: &str,
    before: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<Uuid>, DbErr> {
    let ids: Vec<(Uuid,)> = conn
        .rows(statement(
            conn,
            &format!(
                "SELECT id FROM {table} WHERE tenant_id = $1 AND {time_column} < $2 \
                 ORDER BY {time_column} LIMIT {limit}"
            ),
            vec![tenant_id.into(), before.into()],
        ))
        .await?;
    Ok(ids.into_iter().map(|(id,)| id).collect())
}

/// Deletes the tenant's rows of `table` with these ids, and first the rows of the `derived`
/// tables (`(table, column)` holding the deleted row's id); returns (rows of `table` deleted,
/// rows of derived tables deleted). A row already gone (erased since [`oldest_ids`] read it)
/// is simply not counted.
pub async fn delete_with_derived<C: Executor>(
    conn: &C,
    tenant_id: Uuid,
    table: &str,
    ids: &[Uuid],
    derived: &[(&str, &str)],
) -> Result<(u64, u64), DbErr> {
    if ids.is_empty() {
        return Ok((0, 0));
    }
    let in_list = |values: &mut Vec<Value>| -> String {
        ids.iter()
            .map(|id| {
                values.push((*id).into());
                format!("${}", values.len())
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut derived_deleted = 0;
    for (derived_table, column) in derived {
        let mut values: Vec<Value> = vec![tenant_id.into()];
        let list = in_list(&mut values);
        derived_deleted += conn
            .execute(statement(
                conn,
                &format!(
                    "DELETE FROM {derived_table} WHERE tenant_id = $1 AND {column} IN ({list})"
                ),
                values,
            ))
            .await?;
    }
    let mut values: Vec<Value> = vec![tenant_id.into()];
    let list = in_list(&mut values);
    let deleted = conn
        .execute(statement(
            conn,
            &format!("DELETE FROM {table} WHERE tenant_id = $1 AND id IN ({list})"),
            values,
        ))
        .await?;
    Ok((deleted, derived_deleted))
}

/// Where a walk over a tenant's closed sessions stands: the last `(last_message_at, id)` seen.
pub type SessionKey = (DateTime<Utc>, Uuid);

/// The next `limit` closed sessions of the tenant that ended before `before` and hold no
/// messages or summaries, after `after` in `(last_message_at, id)` order. A read: the scan
/// passes every closed session that still has messages, so it runs before the write
/// transaction, not inside it.
pub async fn empty_sessions<C: Executor>(
    conn: &C,
    tenant_id: Uuid,
    before: DateTime<Utc>,
    after: Option<SessionKey>,
    limit: u64,
) -> Result<Vec<SessionKey>, DbErr> {
    let mut values: Vec<Value> = vec![tenant_id.into(), before.into()];
    let mut from = String::new();
    if let Some((at, id)) = after {
        values.push(at.into());
        values.push(id.into());
        from = " AND s.last_message_at >= $3 AND (s.last_message_at > $3 OR s.id > $4)".into();
    }
    let sql = format!(
        "SELECT s.* FROM sessions s \
         WHERE s.tenant_id = $1 AND s.status = 'closed' AND s.last_message_at < $2{from} \
           AND NOT EXISTS (SELECT 1 FROM messages m \
                           WHERE m.tenant_id = s.tenant_id AND m.session_id = s.id) \
           AND NOT EXISTS (SELECT 1 FROM interaction_summaries i \
                           WHERE i.tenant_id = s.tenant_id AND i.session_id = s.id) \
         ORDER BY s.last_message_at, s.id LIMIT {limit}"
    );
    let sessions = conn
        .raw::<crate::entities::session::Entity>(statement(conn, &sql, values))
        .await?;
    Ok(sessions
        .into_iter()
        .map(|s| (s.last_message_at, s.id))
        .collect())
}

/// Deletes those of `ids` that are still closed sessions without messages or summaries (a
/// late message may have joined one since [`empty_sessions`] read it); returns how many it
/// deleted. Lookups by primary key: a short write. Notes about those conversations stay (they
/// are the customer's record) and lose their link to the session first: the notes' foreign key
/// is `(tenant_id, session_id)`, whose `ON DELETE SET NULL` would clear the tenant too. Run it
/// in a transaction.
pub async fn delete_sessions_if_empty<C: Executor>(
    conn: &C,
    tenant_id: Uuid,
    ids: &[Uuid],
) -> Result<u64, DbErr> {
    if ids.is_empty() {
        return Ok(0);
    }
    let mut values: Vec<Value> = vec![tenant_id.into()];
    let list = ids
        .iter()
        .map(|id| {
            values.push((*id).into());
            format!("${}", values.len())
        })
        .collect::<Vec<_>>()
        .join(", ");
    let empty: Vec<(Uuid,)> = conn
        .rows(statement(
            conn,
            &format!(
                "SELECT s.id FROM sessions s \
                 WHERE s.tenant_id = $1 AND s.id IN ({list}) AND s.status = 'closed' \
                   AND NOT EXISTS (SELECT 1 FROM messages m \
                                   WHERE m.tenant_id = s.tenant_id AND m.session_id = s.id) \
                   AND NOT EXISTS (SELECT 1 FROM interaction_summaries i \
                                   WHERE i.tenant_id = s.tenant_id AND i.session_id = s.id)"
            ),
            values,
        ))
        .await?;
    if empty.is_empty() {
        return Ok(0);
    }
    let mut values: Vec<Value> = vec![tenant_id.into()];
    let list = empty
        .iter()
        .map(|(id,)| {
            values.push((*id).into());
            format!("${}", values.len())
        })
        .collect::<Vec<_>>()
        .join(", ");
    conn.execute(statement(
        conn,
        &format!(
            "UPDATE notes SET session_id = NULL WHERE tenant_id = $1 AND session_id IN ({list})"
        ),
        values.clone(),
    ))
    .await?;
    conn.execute(statement(
        conn,
        &format!("DELETE FROM sessions WHERE tenant_id = $1 AND id IN ({list})"),
        values,
    ))
    .await
}

/// Clears the copy of the last summary on up to `limit` leads whose summary is older than
/// `before` (the summary itself goes by retention); returns how many leads.
pub async fn clear_expired_lead_summaries<C: Executor>(
    conn: &C,
    tenant_id: Uuid,
    before: DateTime<Utc>,
    limit: u64,
) -> Result<u64, DbErr> {
    conn.execute(statement(
        conn,
        &format!(
            "UPDATE leads SET last_summary = NULL, last_summary_channel = NULL, \
             last_summary_session_id = NULL, summary_updated_at = NULL \
             WHERE tenant_id = $1 AND id IN (SELECT id FROM leads \
                 WHERE tenant_id = $1 AND summary_updated_at < $2 LIMIT {limit})"
        ),
        vec![tenant_id.into(), before.into()],
    ))
    .await
}

/// Every tenant's id and retention settings (messages, summaries, audit; days, 0 = forever).
pub async fn retention_settings<C: Executor>(
    conn: &C,
) -> Result<Vec<(Uuid, i32, i32, i32)>, DbErr> {
    Ok(conn
        .all(tenant::Entity::find())
        .await?
        .into_iter()
        .map(|t| {
            (
                t.id,
                t.message_retention_days,
                t.summary_retention_days,
                t.audit_retention_days,
            )
        })
        .collect())
}
