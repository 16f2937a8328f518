//! Privacy: erasure on request, retention by age, and the catalogue both go through.

pub mod catalogue;
pub mod erasure;
pub mod retention;
pub mod subject_export;

use metrics::{describe_counter, describe_histogram};

/// Registers the privacy metrics the README documents, zero-valued (see `app::register_metrics`).
pub fn register_metrics() {
    describe_counter!(
        "memodesk_retention_runs_total",
        "Retention runs (daily, or `memodesk retention run`)"
    );
    metrics::counter!("memodesk_retention_runs_total").increment(0);
    describe_counter!(
        "memodesk_retention_deleted_total",
        "Rows retention deleted, by table"
    );
    for table in [
        "messages",
        "interaction_summaries",
        "sessions",
        "audit_entries",
    ] {
        metrics::counter!("memodesk_retention_deleted_total", "table" => table).increment(0);
    }
    describe_histogram!(
        "memodesk_retention_batch_seconds",
        "How long one retention batch held the database writer, by what it deleted"
    );
    for table in [
        "messages",
        "interaction_summaries",
        "leads",
        "sessions",
        "audit_entries",
    ] {
        let _ = metrics::histogram!("memodesk_retention_batch_seconds", "table" => table);
    }
    describe_counter!(
        "memodesk_lead_reads_total",
        "Reads of a lead's data (lead, memory context, history, export), by view and actor \
         (staff reads are also audit entries; machine reads are only counted)"
    );
    for view in ["lead", "memory_context", "history", "export"] {
        for actor in ["staff", "machine"] {
            metrics::counter!("memodesk_lead_reads_total", "view" => view, "actor" => actor)
                .increment(0);
        }
    }
    describe_counter!("memodesk_leads_erased_total", "Leads erased on request");
    metrics::counter!("memodesk_leads_erased_total").increment(0);
    describe_counter!(
        "memodesk_pii_redactions_total",
        "Personal data replaced at ingest, by kind"
    );
    for kind in crate::domain::redact::PiiKind::ALL {
        metrics::counter!("memodesk_pii_redactions_total", "kind" => kind.as_str()).increment(0);
    }
}
