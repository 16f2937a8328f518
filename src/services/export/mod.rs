//! CRM export: the leads that changed after a cursor (or all of them), streamed page by page in
//! a CRM's import shape (plain CSV, HubSpot batch-upsert JSON lines, Salesforce Bulk API 2.0
//! CSV). Memory stays bounded: pages of leads are read, written and handed to the consumer
//! through a small channel, so a slow client slows the reads rather than filling memory. All of
//! an export's reads run in one read transaction: one consistent snapshot, on one pooled
//! connection (so an export warms one connection's page cache, not every reader's).

mod formats;
mod record;

use std::collections::HashMap;

use sea_orm::{
    AccessMode, ConnectionTrait, DatabaseBackend, DatabaseConnection, DatabaseTransaction,
    IsolationLevel, TransactionTrait,
};
use tokio::sync::mpsc;
use uuid::Uuid;

use crate::auth::Actor;
use crate::error::{AppError, AppResult};
use crate::repo;
use crate::services::changes::{self, ChangeCursor, Position};
use crate::state::AppState;

use formats::Writer;
pub use formats::{CSV_COLUMNS, SALESFORCE_LEAD_COLUMNS, SALESFORCE_TASK_COLUMNS};
use record::LeadRecord;

/// Leads read and written per step. A page's leads, with their profiles parsed, are most of
/// what an export holds in memory at once: in the export bench the server grew by 62 MB with
/// pages of 500, about 50 MB with pages of 200 and 21–23 MB with pages of 100, at the same speed
/// (benches/HISTORY.md).
pub const PAGE: u64 = 100;
/// Pages written ahead of the consumer.
const AHEAD: usize = 4;
/// An export connection's SQLite page cache (KiB, negative as `PRAGMA cache_size` takes it).
const EXPORT_CACHE_SIZE: i32 = -2000;

/// Hands a chunk to the response; false when the consumer went away.
async fn send(tx: &mpsc::Sender<AppResult<Chunk>>, bytes: Vec<u8>, leads: usize) -> bool {
    tx.send(Ok(Chunk { bytes, leads })).await.is_ok()
}

/// What shape to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// One row per lead, our column names.
    Csv,
    /// JSON lines: HubSpot CRM v3 batch-upsert inputs (contacts) and notes.
    Hubspot,
    /// Salesforce Bulk API 2.0 CSV.
    Salesforce(SalesforceObject),
}

/// Which Salesforce file: `object=lead` (default), `task` or `erased`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SalesforceObject {
    /// Upsert into `Lead` by `Memodesk_Id__c`.
    Lead,
    /// Upsert into `Task` by `Memodesk_Summary_Id__c`: one per lead's last summary.
    Task,
    /// The external ids of erased leads, to delete.
    Erased,
}

/// An export as asked for: `GET /export/leads?format=…&after=…&bom=…&provenance=…&object=…`.
#[derive(Debug, Clone, Default)]
pub struct ExportRequest {
    pub format: Option<String>,
    pub after: Option<String>,
    pub bom: bool,
    pub provenance: bool,
    pub object: Option<String>,
}

impl ExportRequest {
    /// The format asked for, or `BAD_USER_INPUT` naming `format` or `object`.
    pub fn parse_format(&self) -> AppResult<Format> {
        let object = self.object.as_deref().map(str::to_ascii_lowercase);
        let format = match self
            .format
            .as_deref()
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            None | Some("csv") => Format::Csv,
            Some("hubspot") => Format::Hubspot,
            Some("salesforce") => Format::Salesforce(match object.as_deref() {
                None | Some("lead") => SalesforceObject::Lead,
                Some("task") => SalesforceObject::Task,
                Some("erased") => SalesforceObject::Erased,
                Some(_) => {
                    return Err(AppError::bad_input(
                        "object",
                        "use lead, task or erased (Salesforce only)",
                    ));
                }
            }),
            Some(_) => {
                return Err(AppError::bad_input(
                    "format",
                    "use csv, hubspot or salesforce",
                ));
            }
        };
        if object.is_some() && !matches!(format, Format::Salesforce(_)) {
            return Err(AppError::bad_input(
                "object",
                "only the salesforce format has objects",
            ));
        }
        Ok(format)
    }
}

/// A piece of the output.
#[derive(Debug)]
pub struct Chunk {
    pub bytes: Vec<u8>,
    /// Leads (or markers) it holds.
    pub leads: usize,
}

/// A started export: where the next sync continues, and the output as it is written.
pub struct Export {
    pub format: Format,
    /// The cursor to pass as `after` next time (known before the first byte).
    pub next_cursor: String,
    /// An estimate of the leads to come (for progress bars).
    pub estimated_leads: u64,
    /// The output; an `Err` ends it early (the consumer should then abort, not truncate
    /// silently).
    pub chunks: mpsc::Receiver<AppResult<Chunk>>,
}

impl Export {
    pub fn content_type(&self) -> &'static str {
        match self.format {
            Format::Hubspot => "application/x-ndjson; charset=utf-8",
            _ => "text/csv; charset=utf-8",
        }
    }

    pub fn file_name(&self) -> &'static str {
        match self.format {
            Format::Csv => "leads.csv",
            Format::Hubspot => "leads.hubspot.jsonl",
            Format::Salesforce(SalesforceObject::Lead) => "Lead.csv",
            Format::Salesforce(SalesforceObject::Task) => "Task.csv",
            Format::Salesforce(SalesforceObject::Erased) => "Lead.erased.csv",
        }
    }
}

/// Checks the request and starts writing. Errors in the request come back here, before any
/// output; errors while writing end the stream with an `Err`.
pub async fn start(state: &AppState, actor: &Actor, request: ExportRequest) -> AppResult<Export> {
    let format = request.parse_format()?;
    let range = changes::range(state, actor, request.after.as_deref()).await?;
    let tenant_id = actor.tenant_id;
    let next_cursor = ChangeCursor {
        tenant_id,
        position: Position::Seq(range.head),
    }
    .encode();
    let (after, start_id) = match range.position {
        Position::Seq(seq) => (seq, None),
        Position::Scan { last_id, .. } => (0, (!last_id.is_nil()).then_some(last_id)),
    };
    let estimated_leads = if after == 0 {
        repo::leads::count(state.db.reader(), tenant_id, &Default::default()).await?
    } else {
        0
    };
    let (tx, chunks) = mpsc::channel(AHEAD);
    let job = Job {
        state: state.clone(),
        tenant_id,
        format,
        after,
        head: range.head,
        start_id,
        options: formats::Options {
            bom: request.bom,
            provenance: request.provenance,
        },
    };
    tokio::spawn(async move {
        if let Err(err) = job.run(&tx).await {
            let _ = tx.send(Err(err)).await;
        }
    });
    Ok(Export {
        format,
        next_cursor,
        estimated_leads,
        chunks,
    })
}

/// A read-only transaction that sees one snapshot: SQLite's deferred transaction does by
/// itself; PostgreSQL needs `REPEATABLE READ` (its default would see each later commit).
async fn read_snapshot(conn: &DatabaseConnection) -> AppResult<DatabaseTransaction> {
    Ok(match conn.get_database_backend() {
        DatabaseBackend::Postgres => {
            conn.begin_with_config(
                Some(IsolationLevel::RepeatableRead),
                Some(AccessMode::ReadOnly),
            )
            .await?
        }
        _ => conn.begin().await?,
    })
}

struct Job {
    state: AppState,
    tenant_id: Uuid,
    format: Format,
    after: i64,
    head: i64,
    start_id: Option<Uuid>,
    options: formats::Options,
}

impl Job {
    async fn run(self, tx: &mpsc::Sender<AppResult<Chunk>>) -> AppResult<()> {
        let mut writer = Writer::new(self.format, self.options);
        // The consumer went away (client disconnected): stop reading.
        if !send(tx, writer.header()?, 0).await {
            return Ok(());
        }
        let txn = read_snapshot(self.state.db.reader()).await?;
        // An export reads each page once: on SQLite its connection's page cache would fill to
        // its whole size (32 MB, most of the server's memory growth during an export) with pages
        // it will not read again. The cache is set back before the connection goes back to the
        // pool, whether the export finished or not.
        let sqlite = txn.get_database_backend() == DatabaseBackend::Sqlite;
        if sqlite {
            txn.execute_unprepared(&format!("PRAGMA cache_size = {EXPORT_CACHE_SIZE}"))
                .await?;
        }
        let streamed = self.stream(&txn, &mut writer, tx).await;
        if sqlite {
            txn.execute_unprepared(&format!(
                "PRAGMA cache_size = {}",
                crate::db::SQLITE_CACHE_SIZE
            ))
            .await?;
        }
        streamed?;
        txn.commit().await?;
        Ok(())
    }

    /// The leads (and erased leads) after the header, page by page; stops early when the
    /// consumer went away.
    async fn stream(
        &self,
        conn: &DatabaseTransaction,
        writer: &mut Writer,
        tx: &mpsc::Sender<AppResult<Chunk>>,
    ) -> AppResult<()> {
        if self.format != Format::Salesforce(SalesforceObject::Erased) {
            let mut after_id = self.start_id;
            loop {
                let leads = repo::changes::changed_leads(
                    conn,
                    self.tenant_id,
                    self.after,
                    self.head,
                    after_id,
                    PAGE,
                )
                .await?;
                let Some(last) = leads.last() else { break };
                after_id = Some(last.id);
                let count = leads.len();
                let records = self.records(conn, leads).await?;
                let bytes = writer.leads(&records)?;
                if !send(tx, bytes, count).await {
                    return Ok(());
                }
                if (count as u64) < PAGE {
                    break;
                }
            }
        }
        if self.after > 0 {
            let erased =
                repo::changes::erased_leads(conn, self.tenant_id, self.after, self.head).await?;
            for ids in erased.chunks(PAGE as usize) {
                let bytes = writer.erased(ids)?;
                if !send(tx, bytes, ids.len()).await {
                    return Ok(());
                }
            }
        }
        Ok(())
    }

    /// A page of leads with what the formats need beside them.
    async fn records(
        &self,
        conn: &DatabaseTransaction,
        leads: Vec<crate::entities::lead::Model>,
    ) -> AppResult<Vec<LeadRecord>> {
        let ids: Vec<Uuid> = leads.iter().map(|l| l.id).collect();
        let identities = repo::identities::for_leads(conn, self.tenant_id, &ids).await?;
        let sessions: Vec<Uuid> = leads
            .iter()
            .filter_map(|l| l.last_summary_session_id)
            .collect();
        let summaries = repo::summaries::for_sessions(conn, self.tenant_id, &sessions).await?;
        let mut by_session: HashMap<Uuid, _> =
            summaries.into_iter().map(|s| (s.session_id, s)).collect();
        let mut by_lead: HashMap<Uuid, Vec<_>> = HashMap::new();
        for identity in identities {
            by_lead.entry(identity.lead_id).or_default().push(identity);
        }
        Ok(leads
            .into_iter()
            .map(|lead| {
                let identities = by_lead.remove(&lead.id).unwrap_or_default();
                let summary = lead
                    .last_summary_session_id
                    .and_then(|s| by_session.remove(&s));
                LeadRecord::new(lead, &identities, summary)
            })
            .collect())
    }
}
