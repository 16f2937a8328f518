//! Appending to the outbox. Sequence numbers are per tenant, gapless and in commit order: the
//! tenant row's counter is bumped inside the writing transaction, so two writers for the same
//! tenant take turns from that statement to their commit. Callers append last, just before
//! committing, to keep that window short (lock order: lead → session → tenant).

use chrono::{DateTime, Utc};
use sea_orm::{ActiveValue::Set, DatabaseBackend, DbErr, Statement};
use serde_json::Value;
use uuid::Uuid;

use crate::db::executor::Executor;
use crate::domain::EventType;
use crate::entities::event;

/// The PostgreSQL channel that tells other replicas a tenant has new events.
pub const PG_CHANNEL: &str = "memodesk_events";

/// An event to append.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    pub event_type: EventType,
    pub lead_id: Option<Uuid>,
    pub session_id: Option<Uuid>,
    /// Ids and small facts only: no message content, names or contact details.
    pub payload: Value,
}

impl NewEvent {
    pub fn new(
        event_type: EventType,
        lead_id: Option<Uuid>,
        session_id: Option<Uuid>,
        payload: Value,
    ) -> Self {
        Self {
            event_type,
            lead_id,
            session_id,
            payload,
        }
    }
}

/// Appends `events` for `tenant_id` inside the caller's transaction; returns the last sequence
/// number (or `None` when there was nothing to append).
pub async fn append<C: Executor>(
    txn: &C,
    tenant_id: Uuid,
    events: Vec<NewEvent>,
    now: DateTime<Utc>,
) -> Result<Option<i64>, DbErr> {
    if events.is_empty() {
        return Ok(None);
    }
    let count = events.len() as i64;
    let (bump, rows) = match txn.backend() {
        DatabaseBackend::Postgres => (append_on_postgres(tenant_id, events, now), None),
        // SQLite has one writer, so nothing waits: bump the counter, then insert the rows.
        backend => (
            Statement::from_sql_and_values(
                backend,
                "UPDATE tenants SET event_seq = event_seq + $1 WHERE id = $2 RETURNING event_seq",
                [count.into(), tenant_id.into()],
            ),
            Some(events),
        ),
    };
    let last = txn
        .query_i64(bump)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound("tenant".into()))?;
    if let Some(events) = rows {
        let rows = events
            .into_iter()
            .zip(last - count + 1..)
            .map(|(e, seq)| event::ActiveModel {
                tenant_id: Set(tenant_id),
                seq: Set(seq),
                event_type: Set(e.event_type.as_str().to_owned()),
                lead_id: Set(e.lead_id),
                session_id: Set(e.session_id),
                payload: Set(e.payload),
                created_at: Set(now),
            });
        txn.insert_rows(rows.collect(), None).await?;
    }
    Ok(Some(last))
}

/// PostgreSQL: one statement that bumps the counter (returning its new value), inserts the rows
/// and queues the notification (delivered to listeners on every replica when, and only if, the
/// transaction commits).
///
/// From the counter's `UPDATE` to `COMMIT`, every other writer of the tenant waits for this
/// transaction (that is what keeps the numbers gapless and in commit order). Done in three
/// statements, that wait spanned three round trips to the app, and under batched ingest the
/// writers spent most of their time in it; now it spans one.
fn append_on_postgres(tenant_id: Uuid, events: Vec<NewEvent>, now: DateTime<Utc>) -> Statement {
    let count = events.len() as i64;
    let mut values: Vec<sea_orm::Value> = Vec::with_capacity(5 + events.len() * 4);
    values.extend([
        count.into(),
        tenant_id.into(),
        now.into(),
        PG_CHANNEL.into(),
        tenant_id.to_string().into(),
    ]);
    let mut rows = String::with_capacity(events.len() * 48);
    for (i, e) in events.into_iter().enumerate() {
        let p = values.len();
        if i > 0 {
            rows.push_str(", ");
        }
        // The position is a literal: row i gets the counter's old value + i + 1.
        rows.push_str(&format!(
            "({}, ${}, ${}::uuid, ${}::uuid, ${}::jsonb)",
            i + 1,
            p + 1,
            p + 2,
            p + 3,
            p + 4
        ));
        values.extend([
            e.event_type.as_str().into(),
            e.lead_id.into(),
            e.session_id.into(),
            e.payload.into(),
        ]);
    }
    let sql = format!(
        "WITH bumped AS (\
           UPDATE tenants SET event_seq = event_seq + $1 WHERE id = $2 RETURNING event_seq), \
         appended AS (\
           INSERT INTO events (tenant_id, seq, event_type, lead_id, session_id, payload, \
                               created_at) \
           SELECT $2, bumped.event_seq - $1 + v.pos, v.event_type, v.lead_id, v.session_id, \
                  v.payload, $3 \
           FROM bumped, (VALUES {rows}) AS v (pos, event_type, lead_id, session_id, payload)), \
         notified AS (SELECT pg_notify($4, $5) FROM bumped) \
         SELECT bumped.event_seq FROM bumped, notified"
    );
    Statement::from_sql_and_values(DatabaseBackend::Postgres, sql, values)
}
