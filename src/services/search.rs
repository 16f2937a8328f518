//! Search over a tenant's messages, summaries and notes, and the relevant memories of the
//! memory context. Lexical inside the database (see `repo::search`); with an embedder, a
//! semantic ranking by cosine similarity over the stored vectors (see `services::embeddings`),
//! fused with the lexical one by weighted reciprocal rank fusion.

use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::auth::{Actor, Permission};
use crate::db::executor::Executor;
use crate::domain::InvalidInput;
use crate::domain::context::{self, ContextDocument, Rendered};
use crate::domain::search::{
    MAX_QUERY_CHARS, RelevantMemory, SearchKind, SearchQuery, relevant_section, snippet,
};
use crate::entities::{interaction_summary, message, note};
use crate::error::{AppError, AppResult};
use crate::llm::embeddings;
use crate::repo;
use crate::repo::search::{LexicalHit, SearchFilter};
use crate::state::AppState;

/// Hits per page when the client does not say.
pub const DEFAULT_PAGE_SIZE: usize = 20;
/// The largest page.
pub const MAX_PAGE_SIZE: usize = 50;
/// How deep paging goes: past this, refine the query.
pub const MAX_OFFSET: usize = 1000;
/// Reciprocal rank fusion's constant: a hit at rank r adds weight / (K + r).
pub const RRF_K: f64 = 60.0;

/// What to search for, as the API received it.
#[derive(Debug, Clone, Default)]
pub struct SearchRequest {
    pub query: String,
    pub filter: SearchFilter,
    pub first: Option<i32>,
    pub after: Option<String>,
}

/// The record a hit points at.
#[derive(Debug, Clone)]
pub enum SearchRecord {
    Message(message::Model),
    Summary(interaction_summary::Model),
    Note(note::Model),
}

impl SearchRecord {
    fn text(&self) -> &str {
        match self {
            SearchRecord::Message(m) => &m.content,
            SearchRecord::Summary(s) => &s.summary,
            SearchRecord::Note(n) => &n.body,
        }
    }
}

/// One hit, with how it ranked.
#[derive(Debug, Clone)]
pub struct SearchHit {
    pub kind: SearchKind,
    pub record: SearchRecord,
    /// Fused score: the sum over rankings of weight / (60 + rank).
    pub score: f64,
    /// 1-based position in the lexical ranking; `None` for a semantic-only hit.
    pub lexical_rank: Option<usize>,
    /// BM25 (SQLite) or `ts_rank_cd` (PostgreSQL): comparable within one search only.
    pub lexical_score: Option<f64>,
    /// 1-based position in the semantic ranking; `None` when semantic search did not find it
    /// (or did not run).
    pub semantic_rank: Option<usize>,
    /// Cosine similarity of the record to the query.
    pub semantic_similarity: Option<f64>,
    /// HTML-escaped excerpt, matching words in `<mark>`.
    pub snippet: String,
    /// Where this hit sits, for `after`.
    pub cursor: String,
}

/// A page of hits.
#[derive(Debug, Clone)]
pub struct SearchResults {
    pub hits: Vec<SearchHit>,
    pub has_next_page: bool,
    pub has_previous_page: bool,
    /// No record had every word, so these have some of them.
    pub relaxed: bool,
    /// Whether semantic search took part: `None` when no embedder is configured, `Some(false)`
    /// when it failed (see `semantic_error`).
    pub semantic: Option<bool>,
    /// Why the embedder could not take part (the hits are then lexical only).
    pub semantic_error: Option<String>,
}

/// A hit's position, and whether its search was relaxed to any word (so later pages are too).
fn encode_cursor(offset: usize, relaxed: bool) -> String {
    let mode = if relaxed { "any" } else { "all" };
    URL_SAFE_NO_PAD.encode(format!("search|{offset}|{mode}"))
}

fn decode_cursor(text: &str) -> Result<(usize, bool), InvalidInput> {
    let invalid = || InvalidInput::new("after", "not a cursor returned by search");
    let raw = URL_SAFE_NO_PAD.decode(text.trim()).map_err(|_| invalid())?;
    let raw = String::from_utf8(raw).map_err(|_| invalid())?;
    match raw.split('|').collect::<Vec<_>>().as_slice() {
        ["search", n, mode @ ("all" | "any")] => {
            Ok((n.parse::<usize>().map_err(|_| invalid())?, *mode == "any"))
        }
        _ => Err(invalid()),
    }
}

/// Checks the filter's own consistency.
fn check_filter(filter: &SearchFilter) -> Result<(), InvalidInput> {
    if let (Some(from), Some(to)) = (filter.from, filter.to)
        && from >= to
    {
        return Err(InvalidInput::new("filter.to", "must be after filter.from"));
    }
    Ok(())
}

/// Searches the caller's tenant.
pub async fn search(
    state: &AppState,
    actor: &Actor,
    request: SearchRequest,
) -> AppResult<SearchResults> {
    actor.require(Permission::Read)?;
    let query = SearchQuery::parse(&request.query, "query")?;
    check_filter(&request.filter)?;
    let limit = match request.first {
        None => DEFAULT_PAGE_SIZE,
        Some(n) if (0..=MAX_PAGE_SIZE as i32).contains(&n) => n as usize,
        Some(_) => {
            return Err(AppError::bad_input(
                "first",
                format!("must be between 0 and {MAX_PAGE_SIZE}"),
            ));
        }
    };
    let (offset, relaxed_before) = match &request.after {
        Some(cursor) => decode_cursor(cursor).map(|(n, relaxed)| (n + 1, relaxed))?,
        None => (0, false),
    };
    if offset + limit > MAX_OFFSET {
        return Err(AppError::bad_input(
            "after",
            format!("search pages reach the first {MAX_OFFSET} hits: refine the query"),
        ));
    }
    let conn = state.db.reader();
    if let Some(lead_id) = request.filter.lead_id {
        repo::leads::find(conn, actor.tenant_id, lead_id)
            .await?
            .ok_or(AppError::not_found("lead"))?;
    }
    let tenant_id = actor.tenant_id;
    // With a semantic ranking to fuse, both rankings are read from the top.
    let semantic = semantic_ranking(state, tenant_id, &request.query, &request.filter).await?;
    let (fetch, skip) = match &semantic {
        Semantic::Ranked(_) => ((offset + limit + 1) as u64, 0),
        _ => ((limit + 1) as u64, offset as u64),
    };
    // Plain words that no record has all of: records with any of them, most words first.
    let relax = |q: &SearchQuery| {
        q.is_plain()
            .then(|| SearchQuery::any_of(&request.query))
            .flatten()
    };
    let (mut ran, mut relaxed) = match relax(&query) {
        Some(any) if relaxed_before => (any, true),
        _ => (query, false),
    };
    let mut found =
        repo::search::lexical(conn, tenant_id, &ran, &request.filter, fetch, skip).await?;
    if found.is_empty()
        && offset == 0
        && !relaxed
        && ran.groups.len() > 1
        && let Some(any) = relax(&ran)
    {
        relaxed = true;
        found = repo::search::lexical(conn, tenant_id, &any, &request.filter, fetch, 0).await?;
        ran = any;
    }
    let terms = ran.wanted_terms();
    let weight = state.settings.search_semantic_weight;
    let ranked = match &semantic {
        Semantic::Ranked(by_similarity) => fuse(&found, by_similarity, weight),
        _ => lexical_only(&found),
    };
    let (page, has_next_page) = match &semantic {
        Semantic::Ranked(_) => {
            let has_next = ranked.len() > offset + limit;
            let page: Vec<Ranked> = ranked.into_iter().skip(offset).take(limit).collect();
            (page, has_next)
        }
        _ => {
            let has_next = ranked.len() > limit;
            (ranked.into_iter().take(limit).collect(), has_next)
        }
    };
    let hits = hydrate(conn, tenant_id, page, offset, relaxed, &terms).await?;
    let (semantic, semantic_error) = match semantic {
        Semantic::Off => (None, None),
        Semantic::Failed(reason) => (Some(false), Some(reason)),
        Semantic::Ranked(_) => (Some(true), None),
    };
    Ok(SearchResults {
        hits,
        has_next_page,
        has_previous_page: offset > 0,
        relaxed,
        semantic,
        semantic_error,
    })
}

/// The semantic side of a search.
enum Semantic {
    /// No embedder configured.
    Off,
    /// The embedder failed (why, for the client: no text of the query or the key).
    Failed(String),
    /// The records most similar to the query first, `(id, kind, similarity)`.
    Ranked(Vec<(Uuid, SearchKind, f64)>),
}

/// How deep the semantic ranking goes (the deepest page search serves, and one more).
const SEMANTIC_DEPTH: usize = MAX_OFFSET + 1;

/// Embeds `text` (one call, bounded by `embeddings_query_timeout`) and ranks the tenant's
/// vectors of the current model that `filter` allows by cosine similarity. A failing embedder
/// is reported, never raised.
async fn semantic_ranking(
    state: &AppState,
    tenant_id: Uuid,
    text: &str,
    filter: &SearchFilter,
) -> AppResult<Semantic> {
    let Some(embedder) = &state.embedder else {
        return Ok(Semantic::Off);
    };
    let texts = [text.trim().to_owned()];
    let timeout = state.settings.embeddings_query_timeout;
    let vector = match tokio::time::timeout(timeout, embedder.embed(&texts)).await {
        Err(_) => {
            metrics::counter!("memodesk_search_semantic_errors_total").increment(1);
            return Ok(Semantic::Failed(format!(
                "the embeddings provider did not answer within {} ms",
                timeout.as_millis()
            )));
        }
        Ok(Err(err)) => {
            metrics::counter!("memodesk_search_semantic_errors_total").increment(1);
            tracing::warn!(error = %err, "query embedding failed; search is lexical");
            return Ok(Semantic::Failed(err.to_string()));
        }
        Ok(Ok(mut vectors)) => match vectors.pop() {
            Some(v) if !v.is_empty() => embeddings::normalized(v),
            _ => {
                return Ok(Semantic::Failed(
                    "the embeddings provider returned no vector".into(),
                ));
            }
        },
    };
    let stored =
        repo::search::vectors(state.db.reader(), tenant_id, embedder.model_id(), filter).await?;
    Ok(Semantic::Ranked(rank_by_similarity(
        &vector,
        &stored,
        state.settings.search_min_similarity,
    )))
}

/// Stored vectors most similar to `query` (unit length) first, those at least `min` similar,
/// as far down as search pages go: `(id, kind, similarity)`.
pub fn rank_by_similarity(
    query: &[f32],
    stored: &[(Uuid, SearchKind, Vec<u8>)],
    min: f64,
) -> Vec<(Uuid, SearchKind, f64)> {
    let mut ranked: Vec<(Uuid, SearchKind, f64)> = stored
        .iter()
        .map(|(id, kind, bytes)| (*id, *kind, f64::from(embeddings::dot_bytes(query, bytes))))
        .filter(|(_, _, similarity)| *similarity >= min)
        .collect();
    ranked.sort_by(|a, b| b.2.total_cmp(&a.2).then(b.0.cmp(&a.0)));
    ranked.truncate(SEMANTIC_DEPTH);
    ranked
}

/// The ids of two rankings fused as `search` fuses them, best first (for the benchmark).
pub fn fused_ids(
    lexical: &[LexicalHit],
    semantic: &[(Uuid, SearchKind, f64)],
    semantic_weight: f64,
) -> Vec<Uuid> {
    fuse(lexical, semantic, semantic_weight)
        .into_iter()
        .map(|r| r.id)
        .collect()
}

/// One record's place in the rankings, before its record is loaded.
#[derive(Debug, Clone)]
struct Ranked {
    id: Uuid,
    kind: SearchKind,
    score: f64,
    lexical: Option<(usize, f64)>,
    semantic: Option<(usize, f64)>,
}

fn lexical_only(found: &[LexicalHit]) -> Vec<Ranked> {
    found
        .iter()
        .map(|hit| Ranked {
            id: hit.id,
            kind: hit.kind,
            score: 0.0,
            lexical: Some((0, hit.score)),
            semantic: None,
        })
        .collect()
}

/// Weighted reciprocal rank fusion: each ranking adds weight / (K + rank); the lexical one
/// weighs 1, the semantic one `semantic_weight`.
fn fuse(
    lexical: &[LexicalHit],
    semantic: &[(Uuid, SearchKind, f64)],
    semantic_weight: f64,
) -> Vec<Ranked> {
    let mut by_id: HashMap<Uuid, Ranked> = HashMap::new();
    for (i, hit) in lexical.iter().enumerate() {
        let rank = i + 1;
        by_id.insert(
            hit.id,
            Ranked {
                id: hit.id,
                kind: hit.kind,
                score: 1.0 / (RRF_K + rank as f64),
                lexical: Some((rank, hit.score)),
                semantic: None,
            },
        );
    }
    for (i, (id, kind, similarity)) in semantic.iter().enumerate() {
        let rank = i + 1;
        let entry = by_id.entry(*id).or_insert(Ranked {
            id: *id,
            kind: *kind,
            score: 0.0,
            lexical: None,
            semantic: None,
        });
        entry.score += semantic_weight / (RRF_K + rank as f64);
        entry.semantic = Some((rank, *similarity));
    }
    let mut fused: Vec<Ranked> = by_id.into_values().collect();
    fused.sort_by(|a, b| b.score.total_cmp(&a.score).then(b.id.cmp(&a.id)));
    fused
}

/// The lead's past messages, summaries and notes most relevant to `text` (any of its words),
/// outside the conversation in progress: for the memory context. A few indexed reads; with an
/// embedder, one embedding call too (fused with the words; words alone if it fails).
pub async fn relevant_memories(
    state: &AppState,
    tenant_id: Uuid,
    lead_id: Uuid,
    text: &str,
    exclude_session: Option<Uuid>,
    first: usize,
) -> AppResult<Vec<SearchHit>> {
    if first == 0 || text.trim().is_empty() {
        return Ok(Vec::new());
    }
    let conn = state.db.reader();
    let filter = SearchFilter {
        lead_id: Some(lead_id),
        exclude_session,
        ..SearchFilter::default()
    };
    let query = SearchQuery::any_of(text);
    let found = match &query {
        Some(query) => {
            repo::search::lexical(conn, tenant_id, query, &filter, first as u64, 0).await?
        }
        None => Vec::new(),
    };
    let terms = query.as_ref().map(|q| q.wanted_terms()).unwrap_or_default();
    let ranked = match semantic_ranking(state, tenant_id, text, &filter).await? {
        Semantic::Ranked(by_similarity) => {
            let weight = state.settings.search_semantic_weight;
            fuse(&found, &by_similarity, weight)
                .into_iter()
                .take(first)
                .collect()
        }
        _ => lexical_only(&found),
    };
    hydrate(conn, tenant_id, ranked, 0, false, &terms).await
}

/// Loads the records of `ranked` (in its order) and builds the hits; a hit without a fused
/// score is lexical only, ranked from `offset`.
async fn hydrate<C: Executor>(
    conn: &C,
    tenant_id: Uuid,
    ranked: Vec<Ranked>,
    offset: usize,
    relaxed: bool,
    terms: &[&str],
) -> AppResult<Vec<SearchHit>> {
    let ids_of = |kind: SearchKind| -> Vec<Uuid> {
        ranked
            .iter()
            .filter(|h| h.kind == kind)
            .map(|h| h.id)
            .collect()
    };
    let mut records: HashMap<Uuid, SearchRecord> = HashMap::new();
    let message_ids = ids_of(SearchKind::Message);
    if !message_ids.is_empty() {
        for m in conn
            .all(
                message::Entity::find()
                    .filter(message::Column::TenantId.eq(tenant_id))
                    .filter(message::Column::Id.is_in(message_ids)),
            )
            .await?
        {
            records.insert(m.id, SearchRecord::Message(m));
        }
    }
    let summary_ids = ids_of(SearchKind::Summary);
    if !summary_ids.is_empty() {
        for s in conn
            .all(
                interaction_summary::Entity::find()
                    .filter(interaction_summary::Column::TenantId.eq(tenant_id))
                    .filter(interaction_summary::Column::Id.is_in(summary_ids)),
            )
            .await?
        {
            records.insert(s.id, SearchRecord::Summary(s));
        }
    }
    let note_ids = ids_of(SearchKind::Note);
    if !note_ids.is_empty() {
        for n in conn
            .all(
                note::Entity::find()
                    .filter(note::Column::TenantId.eq(tenant_id))
                    .filter(note::Column::Id.is_in(note_ids)),
            )
            .await?
        {
            records.insert(n.id, SearchRecord::Note(n));
        }
    }
    Ok(ranked
        .into_iter()
        .enumerate()
        .filter_map(|(i, hit)| {
            let record = records.remove(&hit.id)?;
            let position = offset + i;
            // Lexical-only rankings arrive unnumbered: their rank is their position.
            let (lexical, score) = match hit.lexical {
                Some((0, s)) => (
                    Some((position + 1, s)),
                    1.0 / (RRF_K + (position + 1) as f64),
                ),
                other => (other, hit.score),
            };
            Some(SearchHit {
                kind: hit.kind,
                snippet: snippet(record.text(), terms),
                record,
                score,
                lexical_rank: lexical.map(|(r, _)| r),
                lexical_score: lexical.map(|(_, s)| s),
                semantic_rank: hit.semantic.map(|(r, _)| r),
                semantic_similarity: hit.semantic.map(|(_, s)| s),
                cursor: encode_cursor(position, relaxed),
            })
        })
        .collect())
}

/// The most relevant memories a memory context may ask for.
pub const MAX_RELEVANT: usize = 20;

/// What a memory context asks of search: the lead's past moments relevant to `text`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelevantRequest {
    pub text: String,
    pub first: usize,
}

impl RelevantRequest {
    /// Checks `relevantTo` and `relevantFirst`; `None` when there is nothing to look for.
    pub fn parse(text: Option<String>, first: i32) -> Result<Option<Self>, InvalidInput> {
        let first = usize::try_from(first)
            .ok()
            .filter(|n| *n <= MAX_RELEVANT)
            .ok_or_else(|| {
                InvalidInput::new(
                    "relevantFirst",
                    format!("must be between 0 and {MAX_RELEVANT}"),
                )
            })?;
        let Some(text) = text else {
            return Ok(None);
        };
        if text.chars().count() > MAX_QUERY_CHARS {
            return Err(InvalidInput::new(
                "relevantTo",
                format!("at most {MAX_QUERY_CHARS} characters"),
            ));
        }
        Ok((first > 0 && !text.trim().is_empty()).then_some(Self { text, first }))
    }
}

/// The memory context's text with the relevant memories under their own heading: they get
/// at most a quarter of the budget, the rest of the context what is left.
pub fn render_with_relevant(
    doc: &ContextDocument,
    relevant: &[SearchHit],
    budget: usize,
) -> Rendered {
    if relevant.is_empty() {
        return context::render(doc, budget);
    }
    let memories: Vec<RelevantMemory> = relevant
        .iter()
        .map(|hit| match &hit.record {
            SearchRecord::Message(m) => RelevantMemory {
                kind: hit.kind,
                text: m.content.clone(),
                at: m.occurred_at,
                channel: Some(m.channel),
                role: Some(m.role),
            },
            SearchRecord::Summary(s) => RelevantMemory {
                kind: hit.kind,
                text: s.summary.clone(),
                at: s.created_at,
                channel: Some(s.channel),
                role: None,
            },
            SearchRecord::Note(n) => RelevantMemory {
                kind: hit.kind,
                text: n.body.clone(),
                at: n.created_at,
                channel: None,
                role: None,
            },
        })
        .collect();
    let section = relevant_section(doc.locale, doc.now, &memories, budget / 4);
    if section.is_empty() {
        return context::render(doc, budget);
    }
    let section_chars = section.chars().count() + 2;
    let mut rendered = context::render(doc, budget.saturating_sub(section_chars));
    if !rendered.text.is_empty() {
        rendered.text.push_str("\n\n");
    }
    rendered.text.push_str(&section);
    rendered.estimated_tokens = context::estimate_tokens(&rendered.text);
    rendered
}
