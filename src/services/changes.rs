//! The change feed: "which leads changed after cursor N", for CRM syncs and exports.
//!
//! It is the event outbox read by lead: the outbox is written in the transaction of every change
//! and numbered per tenant without gaps in commit order, so a cursor is a sequence number and
//! nothing committed before the head can appear behind it later. Retention deletes old events;
//! a cursor older than the oldest retained event is refused with a request to sync from scratch.

use std::collections::{HashMap, HashSet};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use uuid::Uuid;

use crate::auth::{Actor, Permission};
use crate::entities::lead;
use crate::error::{AppError, AppResult};
use crate::repo;
use crate::state::AppState;

/// Where a sync stands in one tenant's change sequence. Opaque to clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChangeCursor {
    pub tenant_id: Uuid,
    pub position: Position,
}

/// A position in the feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Position {
    /// Every change up to this sequence number has been read.
    Seq(i64),
    /// A sync from scratch, part way: every lead up to `last_id` (in id order) has been read as
    /// it was at or after `head`; changes after `head` come next.
    Scan { head: i64, last_id: Uuid },
}

impl ChangeCursor {
    pub fn encode(self) -> String {
        let tenant = self.tenant_id.simple();
        let raw = match self.position {
            Position::Seq(seq) => format!("chg1:{tenant}:{seq}"),
            Position::Scan { head, last_id } => {
                format!("chg1:{tenant}:{head}:{}", last_id.simple())
            }
        };
        URL_SAFE_NO_PAD.encode(raw)
    }

    /// The position `cursor` names, refused (naming `field`) unless it is one of this tenant's.
    /// A cursor from another tenant is refused exactly like a garbled one.
    pub fn parse(tenant_id: Uuid, cursor: &str, field: &str) -> AppResult<Position> {
        let refused = || bad_cursor(field);
        let raw = URL_SAFE_NO_PAD
            .decode(cursor.trim())
            .map_err(|_| refused())?;
        let raw = String::from_utf8(raw).map_err(|_| refused())?;
        let parts: Vec<&str> = raw.split(':').collect();
        let (tenant, seq, last) = match parts.as_slice() {
            ["chg1", tenant, seq] => (tenant, seq, None),
            ["chg1", tenant, seq, last] => (tenant, seq, Some(last)),
            _ => return Err(refused()),
        };
        let tenant = Uuid::parse_str(tenant).map_err(|_| refused())?;
        let seq: i64 = seq.parse().map_err(|_| refused())?;
        if tenant != tenant_id || seq < 0 {
            return Err(refused());
        }
        Ok(match last {
            None => Position::Seq(seq),
            Some(last) => Position::Scan {
                head: seq,
                last_id: Uuid::parse_str(last).map_err(|_| refused())?,
            },
        })
    }
}

fn bad_cursor(field: &str) -> AppError {
    AppError::bad_input(
        field,
        "not a change cursor of this tenant: pass the cursor a previous sync returned, or none \
         to sync from scratch",
    )
}

/// One page of the feed.
#[derive(Debug, Clone)]
pub struct ChangePage {
    /// Leads that changed, each once, as they are now.
    pub leads: Vec<lead::Model>,
    /// Leads erased since the cursor: ids only.
    pub erased: Vec<Uuid>,
    /// Ask with this next time.
    pub next_cursor: ChangeCursor,
    /// Whether more changes were already committed when this page was read.
    pub has_more: bool,
}

/// What a read covers: the client's position and the head committed when the read started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChangeRange {
    /// Where the client stands; `Scan { head, last_id: nil }` for a sync from scratch.
    pub position: Position,
    /// Changes up to this number are covered by a read that reaches the end.
    pub head: i64,
}

impl ChangeRange {
    /// Whether this read lists every lead (a sync from scratch) rather than changed ones.
    pub fn is_scan(&self) -> bool {
        matches!(self.position, Position::Scan { .. })
    }
}

/// Checks `after` (a cursor, or none for "from scratch") and fixes the head for this read.
pub async fn range(state: &AppState, actor: &Actor, after: Option<&str>) -> AppResult<ChangeRange> {
    actor.require(Permission::Export)?;
    let conn = state.db.reader();
    let head = repo::changes::committed_head(conn, actor.tenant_id).await?;
    let position = match after.filter(|c| !c.trim().is_empty()) {
        Some(cursor) => ChangeCursor::parse(actor.tenant_id, cursor, "after")?,
        None => Position::Scan {
            head,
            last_id: Uuid::nil(),
        },
    };
    let from = match position {
        Position::Seq(seq) => seq,
        Position::Scan { head, .. } => head,
    };
    if from > head {
        return Err(bad_cursor("after"));
    }
    if from < head {
        let first = repo::changes::first_retained(conn, actor.tenant_id).await?;
        if first.is_none_or(|first| first > from + 1) {
            return Err(AppError::bad_input(
                "after",
                "this cursor is older than the retained change history: sync from scratch \
                 (no cursor) and continue from the cursor that returns",
            ));
        }
    }
    let head = match position {
        // A scan finishes at the head it started from.
        Position::Scan { head, .. } => head,
        Position::Seq(_) => head,
    };
    Ok(ChangeRange { position, head })
}

/// The leads that changed after `after`, reading at most `limit` changes: each changed lead
/// once in its current state, erased leads as ids, and the cursor to continue from.
pub async fn page(
    state: &AppState,
    actor: &Actor,
    after: Option<&str>,
    limit: u64,
) -> AppResult<ChangePage> {
    let range = range(state, actor, after).await?;
    let conn = state.db.reader();
    let tenant_id = actor.tenant_id;
    let limit = limit.clamp(1, 10_000);
    let cursor = |position| ChangeCursor {
        tenant_id,
        position,
    };
    let after = match range.position {
        Position::Seq(seq) => seq,
        Position::Scan { head, last_id } => {
            let after_id = (!last_id.is_nil()).then_some(last_id);
            let leads =
                repo::changes::changed_leads(conn, tenant_id, 0, head, after_id, limit).await?;
            let has_more = leads.len() as u64 == limit;
            let next = match leads.last() {
                Some(last) if has_more => Position::Scan {
                    head,
                    last_id: last.id,
                },
                _ => Position::Seq(head),
            };
            return Ok(ChangePage {
                leads,
                erased: Vec::new(),
                next_cursor: cursor(next),
                has_more,
            });
        }
    };
    let head = range.head;
    let events = repo::changes::lead_events(conn, tenant_id, after, head, limit).await?;
    let has_more = events.len() as u64 == limit && events.last().is_some_and(|e| e.0 < head);
    let next = if has_more {
        events.last().map_or(head, |e| e.0)
    } else {
        head
    };
    let mut seen = HashSet::new();
    let ids: Vec<Uuid> = events
        .iter()
        .map(|(_, lead_id, _)| *lead_id)
        .filter(|id| seen.insert(*id))
        .collect();
    let erased_by_event: HashSet<Uuid> = events
        .iter()
        .filter(|(_, _, kind)| kind == repo::changes::LEAD_ERASED)
        .map(|(_, id, _)| *id)
        .collect();
    let mut found = repo::leads::find_many(conn, tenant_id, &ids).await?;
    found.retain(|l| !erased_by_event.contains(&l.id));
    let present: HashSet<Uuid> = found.iter().map(|l| l.id).collect();
    // In the order of their first change in this page.
    let order: HashMap<Uuid, usize> = ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
    found.sort_by_key(|l| order.get(&l.id).copied().unwrap_or(usize::MAX));
    let erased = ids.into_iter().filter(|id| !present.contains(id)).collect();
    Ok(ChangePage {
        leads: found,
        erased,
        next_cursor: cursor(Position::Seq(next)),
        has_more,
    })
}
