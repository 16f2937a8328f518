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
    let backend = txn.backend();
    let last = txn
        .query_i64(Statement::from_sql_and_values(
            backend,
            "UPDATE tenants SET event_seq = event_seq + $1 WHERE id = $2 RETURNING event_seq",
            [count.into(), tenant_id.into()],
        ))
        .await?
        .ok_or_else(|| DbErr::RecordNotFound("tenant".into()))?;
    let first = last - count + 1;
    let rows = events
        .into_iter()
        .zip(first..)
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
    if backend == DatabaseBackend::Postgres {
        // Delivered to listeners on every replica when (and only if) the transaction commits.
        txn.execute(Statement::from_sql_and_values(
            backend,
            "SELECT pg_notify($1, $2)",
            [PG_CHANNEL.into(), tenant_id.to_string().into()],
        ))
        .await?;
    }
    Ok(Some(last))
}
