//! The catalogue of what holds data about a lead: every table (and, later, index, vector,
//! rollup and delivery table) with how erasure removes a lead's rows and how retention ages
//! them out. Erasure, retention and the subject access export all read it, so a feature that
//! stores customer data adds one [`Entry`] here and is then erased and aged with the rest.
//!
//! Adding a table: push an `Entry` to [`CATALOGUE`] *before* the tables its rows point at
//! (erasure runs the list in order, children first), with
//! - `erase`: [`Erase::LeadColumn`] when the table has the lead's id in a column,
//!   [`Erase::JsonIds`] when only a JSON payload names the lead or its sessions,
//!   [`Erase::ScrubJson`] for an ordered log whose rows must stay (ids kept, content dropped),
//!   [`Erase::SearchIndex`] for the search index alone,
//!   [`Erase::Keep`] (with why) for rows that carry no personal data;
//! - `retention`: [`Retention::WithMessage`] / [`Retention::WithSummary`] for rows derived from a
//!   message or a summary (deleted in the same batch, before it), or the other variants.

/// How erasure removes a lead's rows from a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Erase {
    /// Delete the rows whose `column` holds the lead's id.
    LeadColumn(&'static str),
    /// Delete the rows whose JSON `column` names the lead or one of its sessions under one of
    /// `keys` (e.g. a job's `{"sessionId": …}`).
    JsonIds {
        column: &'static str,
        keys: &'static [&'static str],
    },
    /// Keep the rows (an ordered log: the event outbox keeps its gapless sequence) and replace
    /// their JSON `column` with `{"erased": true}`; rows are the lead's by `lead_column` or by
    /// a `session_id` of one of its sessions.
    ScrubJson {
        lead_column: &'static str,
        column: &'static str,
    },
    /// The search index: the lead's entries, found the way the index can find them
    /// (`repo::search::forget_lead`: by column on PostgreSQL, by FTS5's lead token on SQLite,
    /// which has no index on the column).
    SearchIndex,
    /// Nothing to remove: the rows hold no personal data (why).
    Keep(&'static str),
}

/// How retention ages a table's rows out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retention {
    /// The messages themselves: older than the tenant's `messageRetentionDays`.
    Messages,
    /// Rows derived from a message, deleted with it; `column` holds the message id.
    WithMessage(&'static str),
    /// Conversation summaries: older than the tenant's `summaryRetentionDays`.
    Summaries,
    /// Rows derived from a summary, deleted with it; `column` holds the summary id.
    WithSummary(&'static str),
    /// Closed sessions left with neither messages nor a summary.
    EmptySessions,
    /// Audit entries: older than the tenant's `auditRetentionDays`.
    Audit,
    /// Kept for the life of the lead: the customer's record (profile, history, notes, ids).
    Kept,
    /// Aged out elsewhere (which rule).
    Elsewhere(&'static str),
}

/// One table holding data about leads.
#[derive(Debug, Clone, Copy)]
pub struct Entry {
    pub table: &'static str,
    /// What it holds, in a customer's words (the export's README lists these).
    pub holds: &'static str,
    pub erase: Erase,
    pub retention: Retention,
}

/// Every table holding data about a lead, in erasure order (rows before what they point at).
pub const CATALOGUE: &[Entry] = &[
    Entry {
        table: "webhook_attempts",
        holds: "what the business's integrations answered when told about a change to you",
        erase: Erase::LeadColumn("lead_id"),
        retention: Retention::Elsewhere("with the events they deliver (housekeeping)"),
    },
    Entry {
        table: "webhook_deliveries",
        holds: "notices about changes to you sent to the business's integrations",
        erase: Erase::LeadColumn("lead_id"),
        retention: Retention::Elsewhere("with the events they deliver (housekeeping)"),
    },
    Entry {
        table: "search_vectors",
        holds: "semantic search vectors computed from your messages, summaries and notes",
        erase: Erase::LeadColumn("lead_id"),
        retention: Retention::Elsewhere(
            "deleted with its search document (foreign key), itself deleted with its record",
        ),
    },
    Entry {
        table: "search_documents",
        holds: "the search index of your messages, summaries and notes (and, on SQLite, its \
                words in search_fts)",
        erase: Erase::SearchIndex,
        retention: Retention::Elsewhere("deleted with its record, by a database trigger"),
    },
    Entry {
        table: "jobs",
        holds: "background work about a conversation (summaries to write)",
        erase: Erase::JsonIds {
            column: "payload",
            keys: &["sessionId", "leadId"],
        },
        retention: Retention::Elsewhere("finished jobs are deleted after 7 days (housekeeping)"),
    },
    Entry {
        table: "events",
        holds: "the change feed live views and integrations read",
        erase: Erase::ScrubJson {
            lead_column: "lead_id",
            column: "payload",
        },
        retention: Retention::Elsewhere("the tenant's eventRetentionDays (housekeeping)"),
    },
    Entry {
        table: "messages",
        holds: "what you and the business said, on every channel",
        erase: Erase::LeadColumn("lead_id"),
        retention: Retention::Messages,
    },
    Entry {
        table: "interaction_summaries",
        holds: "summaries of your conversations, with the facts drawn from them",
        erase: Erase::LeadColumn("lead_id"),
        retention: Retention::Summaries,
    },
    Entry {
        table: "notes",
        holds: "notes staff wrote about you, and call summaries",
        erase: Erase::LeadColumn("lead_id"),
        retention: Retention::Kept,
    },
    Entry {
        table: "profile_field_changes",
        holds: "the history of every value of your profile, with where it came from",
        erase: Erase::LeadColumn("lead_id"),
        retention: Retention::Kept,
    },
    Entry {
        table: "sessions",
        holds: "your conversations: channel, when, how they ended",
        erase: Erase::LeadColumn("lead_id"),
        retention: Retention::EmptySessions,
    },
    Entry {
        table: "lead_identities",
        holds: "how each channel knows you (phone number, WhatsApp id, email)",
        erase: Erase::LeadColumn("lead_id"),
        retention: Retention::Kept,
    },
    Entry {
        table: "leads",
        holds: "your profile: name, contact details, preferences and the last summary",
        erase: Erase::LeadColumn("id"),
        retention: Retention::Kept,
    },
    Entry {
        table: "audit_entries",
        holds: "who viewed or changed your data, and when (no content)",
        erase: Erase::Keep("who did what, with ids only: the record of the erasure itself"),
        retention: Retention::Audit,
    },
];

/// The tables whose rows are derived from messages, with the column holding the message id.
pub fn derived_from_messages() -> Vec<(&'static str, &'static str)> {
    CATALOGUE
        .iter()
        .filter_map(|e| match e.retention {
            Retention::WithMessage(column) => Some((e.table, column)),
            _ => None,
        })
        .collect()
}

/// The tables whose rows are derived from summaries, with the column holding the summary id.
pub fn derived_from_summaries() -> Vec<(&'static str, &'static str)> {
    CATALOGUE
        .iter()
        .filter_map(|e| match e.retention {
            Retention::WithSummary(column) => Some((e.table, column)),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_table_is_listed_once_and_the_lead_row_goes_after_its_children() {
        let mut tables: Vec<&str> = CATALOGUE.iter().map(|e| e.table).collect();
        let leads = tables.iter().position(|t| *t == "leads").unwrap();
        let sessions = tables.iter().position(|t| *t == "sessions").unwrap();
        let messages = tables.iter().position(|t| *t == "messages").unwrap();
        assert!(messages < sessions && sessions < leads);
        tables.sort_unstable();
        let before = tables.len();
        tables.dedup();
        assert_eq!(before, tables.len());
    }
}
