//! Semantic search's vectors: background jobs embed the search index's records with the
//! configured embedder (never on the ingest path), and the reindex command backfills the index
//! and the vectors of records written before either existed. Both work in small transactions
//! and pick up where they stopped: what is missing is found again from the data.

use serde_json::json;
use uuid::Uuid;

use crate::domain::search::{TermsFormat, index_terms};
use crate::error::{AppError, AppResult};
use crate::llm::embeddings::{self, SharedEmbedder};
use crate::repo;
use crate::repo::jobs::NewJob;
use crate::repo::search::{NewVector, RecordTable, SearchDocument};
use crate::state::AppState;

/// The job that embeds a tenant's records without a vector of the current model.
pub const EMBED_SEARCH_DOCUMENTS: &str = "embed_search_documents";

/// Batches one job embeds before it hands over to a fresh job (so a large backfill does not
/// hold one lease for hours, and other work gets its turn).
const BATCHES_PER_JOB: usize = 20;

/// Records the reindex command indexes per transaction.
const REINDEX_BATCH: u64 = 500;

/// What an embedding run did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct EmbedProgress {
    /// Records embedded.
    pub embedded: usize,
    /// Whether records are still waiting.
    pub more: bool,
    /// The last record embedded (where to carry on).
    pub last: Option<Uuid>,
}

/// Queues an embedding job for each tenant with records that lack a vector of the current
/// model (new records, records from before the embedder, or a model change). Nothing without
/// an embedder. Returns how many tenants had work.
pub async fn schedule(state: &AppState) -> AppResult<usize> {
    let Some(embedder) = &state.embedder else {
        return Ok(0);
    };
    let tenants =
        repo::search::tenants_pending_embeddings(state.db.reader(), embedder.model_id()).await?;
    enqueue(state, &tenants, None).await?;
    Ok(tenants.len())
}

async fn enqueue(state: &AppState, tenants: &[Uuid], after: Option<Uuid>) -> AppResult<()> {
    if tenants.is_empty() {
        return Ok(());
    }
    let now = state.now();
    let jobs = tenants
        .iter()
        .map(|tenant_id| NewJob {
            tenant_id: *tenant_id,
            kind: EMBED_SEARCH_DOCUMENTS.into(),
            // Where the previous job stopped, so a long backfill reads each record once.
            payload: match after {
                Some(id) => json!({ "after": id }),
                None => json!({}),
            },
            dedupe_key: Some(EMBED_SEARCH_DOCUMENTS.into()),
            run_at: now,
            max_attempts: state.settings.job_max_attempts,
        })
        .collect();
    repo::jobs::enqueue_many(state.db.writer(), jobs, now).await?;
    state.jobs_notify.notify_one();
    Ok(())
}

/// The job's body: embeds up to `max_batches` batches of the tenant's waiting records, each
/// batch in its own transaction, and queues a follow-up job when records are still waiting.
pub async fn run_job(
    state: &AppState,
    tenant_id: Uuid,
    payload: &serde_json::Value,
) -> AppResult<EmbedProgress> {
    let Some(embedder) = state.embedder.clone() else {
        // The embedder was switched off since the job was queued: nothing to do.
        return Ok(EmbedProgress::default());
    };
    let after = payload
        .get("after")
        .and_then(|v| v.as_str())
        .and_then(|s| Uuid::parse_str(s).ok());
    let progress = embed_pending(state, &embedder, tenant_id, after, BATCHES_PER_JOB).await?;
    if progress.more {
        enqueue(state, &[tenant_id], progress.last).await?;
    }
    Ok(progress)
}

/// Embeds up to `max_batches` batches of the tenant's records that lack a vector of the
/// embedder's model.
pub async fn embed_pending(
    state: &AppState,
    embedder: &SharedEmbedder,
    tenant_id: Uuid,
    after: Option<Uuid>,
    max_batches: usize,
) -> AppResult<EmbedProgress> {
    let batch = state.settings.embeddings_batch_size.max(1) as u64;
    let model = embedder.model_id();
    let mut progress = EmbedProgress {
        last: after,
        ..EmbedProgress::default()
    };
    for _ in 0..max_batches {
        let waiting = repo::search::pending_embeddings(
            state.db.writer(),
            tenant_id,
            model,
            progress.last,
            batch,
        )
        .await?;
        if waiting.is_empty() {
            progress.more = false;
            return Ok(progress);
        }
        let texts: Vec<String> = waiting.iter().map(|(_, _, text)| text.clone()).collect();
        let vectors = embedder
            .embed(&texts)
            .await
            .map_err(|err| AppError::Internal(err.context("embedding search records failed")))?;
        if vectors.len() != waiting.len() {
            return Err(AppError::Internal(anyhow::anyhow!(
                "the embedder returned {} vectors for {} records",
                vectors.len(),
                waiting.len()
            )));
        }
        let rows: Vec<NewVector> = waiting
            .iter()
            .zip(vectors)
            .map(|((id, lead_id, _), vector)| NewVector {
                id: *id,
                lead_id: *lead_id,
                vector: embeddings::normalized(vector),
            })
            .collect();
        let txn = state.db.begin_write().await?;
        repo::search::store_vectors(&txn, tenant_id, model, &rows, state.now()).await?;
        txn.commit().await?;
        progress.embedded += rows.len();
        progress.last = rows.last().map(|r| r.id);
        progress.more = waiting.len() as u64 == batch;
        if !progress.more {
            return Ok(progress);
        }
    }
    Ok(progress)
}

/// SQLite: gives the documents the `search_ranges` migration renumbered their terms back, in
/// transactions of [`REINDEX_BATCH`], carrying on where a previous run stopped; the terms are
/// made before each write transaction. Returns how many documents it gave terms; at once 0 when
/// none wait (always on PostgreSQL). `progress` hears the running total.
pub async fn restore_terms(
    state: &AppState,
    progress: &(dyn Fn(usize) + Sync),
) -> AppResult<usize> {
    let Some(mut after) = repo::search::terms_rebuild(state.db.reader()).await? else {
        return Ok(0);
    };
    let mut restored = 0;
    loop {
        let docs =
            repo::search::documents_without_terms(state.db.reader(), after, REINDEX_BATCH).await?;
        let next = match docs.last() {
            Some(&(rowid, _, _)) if docs.len() as u64 == REINDEX_BATCH => Some(rowid),
            _ => None,
        };
        let terms: Vec<(i64, Uuid, String)> = docs
            .into_iter()
            .map(|(rowid, lead, text)| (rowid, lead, index_terms(&text, TermsFormat::Fts5)))
            .collect();
        let txn = state.db.begin_write().await?;
        repo::search::restore_terms(&txn, &terms, next).await?;
        txn.commit().await?;
        restored += terms.len();
        progress(restored);
        match next {
            Some(rowid) => after = rowid,
            None => return Ok(restored),
        }
    }
}

/// What `memodesk search reindex` did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ReindexReport {
    /// Records added to the lexical index.
    pub indexed: usize,
    /// Records given a vector of the current model.
    pub embedded: usize,
}

/// Backfills the search index: records written before the index existed get their entry, and
/// with an embedder every entry gets a vector of the current model. Small transactions;
/// stopping and running it again carries on where it stopped. `tenant_id` limits it to one
/// tenant. `progress` hears the running totals.
pub async fn reindex(
    state: &AppState,
    tenant_id: Option<Uuid>,
    progress: &(dyn Fn(ReindexReport) + Sync),
) -> AppResult<ReindexReport> {
    let mut report = ReindexReport::default();
    // Documents first: their terms are all the index is missing for them. Every tenant's at
    // once (they wait in one rowid order), whichever tenant was asked for.
    report.indexed += restore_terms(state, &|restored| {
        progress(ReindexReport {
            indexed: restored,
            ..report
        })
    })
    .await?;
    let tenants = match tenant_id {
        Some(id) => vec![id],
        None => repo::tenants::list(state.db.reader())
            .await?
            .into_iter()
            .map(|t| t.id)
            .collect(),
    };
    for (tenant, table) in tenants
        .iter()
        .flat_map(|&t| RecordTable::ALL.map(|table| (t, table)))
    {
        let mut after = None;
        loop {
            let window =
                repo::search::record_window(state.db.reader(), table, tenant, after, REINDEX_BATCH)
                    .await?;
            let (Some(first), Some(last)) = (window.first().copied(), window.last().copied())
            else {
                break;
            };
            after = Some(last);
            let txn = state.db.begin_write().await?;
            let indexed = match table {
                RecordTable::Messages => {
                    let rows = repo::search::unindexed_messages(&txn, tenant, first, last).await?;
                    let docs: Vec<_> = rows.iter().map(SearchDocument::of_message).collect();
                    repo::search::index_new(&txn, &docs).await?;
                    docs.len()
                }
                RecordTable::Summaries => {
                    let rows = repo::search::unindexed_summaries(&txn, tenant, first, last).await?;
                    let docs: Vec<_> = rows.iter().map(SearchDocument::of_summary).collect();
                    repo::search::index_new(&txn, &docs).await?;
                    docs.len()
                }
                RecordTable::Notes => {
                    let rows = repo::search::unindexed_notes(&txn, tenant, first, last).await?;
                    let docs: Vec<_> = rows.iter().map(SearchDocument::of_note).collect();
                    repo::search::index_new(&txn, &docs).await?;
                    docs.len()
                }
            };
            txn.commit().await?;
            if indexed > 0 {
                report.indexed += indexed;
                progress(report);
            }
        }
    }
    if let Some(embedder) = state.embedder.clone() {
        let tenants = match tenant_id {
            Some(id) => vec![id],
            None => {
                repo::search::tenants_pending_embeddings(state.db.reader(), embedder.model_id())
                    .await?
            }
        };
        for tenant in tenants {
            let mut after = None;
            loop {
                let step = embed_pending(state, &embedder, tenant, after, 1).await?;
                after = step.last;
                report.embedded += step.embedded;
                progress(report);
                if !step.more {
                    break;
                }
            }
        }
    }
    Ok(report)
}
