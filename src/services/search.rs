//! Search over a tenant's messages, summaries and notes, and the relevant memories of the
//! memory context. Lexical, inside the database (see `repo::search`); hits are fused by
//! reciprocal rank so that a semantic ranking can join them without changing the API.

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
    /// Fused score: the sum over rankings of 1 / (60 + rank).
    pub score: f64,
    /// 1-based position in the lexical ranking.
    pub lexical_rank: usize,
    /// BM25 (SQLite) or `ts_rank_cd` (PostgreSQL): comparable within one search only.
    pub lexical_score: f64,
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
    let fetch = (limit + 1) as u64;
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
        repo::search::lexical(conn, tenant_id, &ran, &request.filter, fetch, offset as u64).await?;
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
    let has_next_page = found.len() > limit;
    found.truncate(limit);
    let terms = ran.wanted_terms();
    let hits = hydrate(conn, tenant_id, found, offset, relaxed, &terms).await?;
    Ok(SearchResults {
        hits,
        has_next_page,
        has_previous_page: offset > 0,
        relaxed,
    })
}

/// The lead's past messages, summaries and notes most relevant to `text` (any of its words),
/// outside the conversation in progress: for the memory context. A few indexed reads.
pub async fn relevant_memories<C: Executor>(
    conn: &C,
    tenant_id: Uuid,
    lead_id: Uuid,
    text: &str,
    exclude_session: Option<Uuid>,
    first: usize,
) -> AppResult<Vec<SearchHit>> {
    let Some(query) = SearchQuery::any_of(text) else {
        return Ok(Vec::new());
    };
    if first == 0 {
        return Ok(Vec::new());
    }
    let filter = SearchFilter {
        lead_id: Some(lead_id),
        exclude_session,
        ..SearchFilter::default()
    };
    let found = repo::search::lexical(conn, tenant_id, &query, &filter, first as u64, 0).await?;
    hydrate(conn, tenant_id, found, 0, false, &query.wanted_terms()).await
}

/// Loads the records of `found` (in its order) and builds the hits.
async fn hydrate<C: Executor>(
    conn: &C,
    tenant_id: Uuid,
    found: Vec<LexicalHit>,
    offset: usize,
    relaxed: bool,
    terms: &[&str],
) -> AppResult<Vec<SearchHit>> {
    let ids_of = |kind: SearchKind| -> Vec<Uuid> {
        found
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
    Ok(found
        .into_iter()
        .enumerate()
        .filter_map(|(i, hit)| {
            let record = records.remove(&hit.id)?;
            let rank = offset + i + 1;
            Some(SearchHit {
                kind: hit.kind,
                snippet: snippet(record.text(), terms),
                record,
                score: 1.0 / (RRF_K + rank as f64),
                lexical_rank: rank,
                lexical_score: hit.score,
                cursor: encode_cursor(offset + i, relaxed),
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
