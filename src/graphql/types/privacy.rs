//! Privacy: erasure receipts.

use async_graphql::{ID, SimpleObject};
use chrono::{DateTime, Utc};

use crate::graphql::context::to_id;
use crate::services::privacy::erasure::ErasureReport;

/// What erasing a lead removed. The lead's data is gone; this receipt (and a tombstone with
/// the same ids, the reason and the counts) is what stays.
#[derive(SimpleObject, Clone, Debug)]
pub struct LeadErasure {
    /// The tombstone's id.
    pub id: ID,
    /// The erased lead's id (no longer found).
    pub lead_id: ID,
    /// When it was erased.
    pub erased_at: DateTime<Utc>,
    /// Rows removed (or, for the event log, emptied of content), by table.
    pub removed: Vec<ErasedRows>,
}

/// Rows an erasure removed from one table.
#[derive(SimpleObject, Clone, Debug)]
pub struct ErasedRows {
    /// The table (`messages`, `sessions`, …).
    pub table: String,
    /// How many rows.
    pub rows: i64,
}

impl From<ErasureReport> for LeadErasure {
    fn from(r: ErasureReport) -> Self {
        Self {
            id: to_id(r.erasure_id),
            lead_id: to_id(r.lead_id),
            erased_at: r.erased_at,
            removed: r
                .counts
                .into_iter()
                .map(|(table, rows)| ErasedRows {
                    table,
                    rows: i64::try_from(rows).unwrap_or(i64::MAX),
                })
                .collect(),
        }
    }
}
