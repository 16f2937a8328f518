//! Search hits: the record found, how it ranked, and a snippet with the matching words.

use crate::graphql::types::text::{SHORT, Text};
use async_graphql::{Context, Enum, InputObject, Object, Result, Union};

use super::connection::PageInfo;
use super::enums::{ChannelGql, MessageRoleGql};
use super::lead::Lead;
use super::message::Message;
use super::note::Note;
use super::session::Session;
use super::summary::InteractionSummary;
use crate::domain;
use crate::error::AppError;
use crate::graphql::context::{ContextExt, parse_id, parse_time};
use crate::repo::search::SearchFilter as Filter;
use crate::services::search::{self, SearchRecord as Record};

/// What a search hit is.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
#[graphql(remote = "domain::search::SearchKind", name = "SearchKind")]
pub enum SearchKindGql {
    /// A message of a conversation.
    Message,
    /// The summary of a closed conversation.
    Summary,
    /// A staff note or call summary.
    Note,
}

/// Narrows a search; all given conditions must hold.
#[derive(InputObject, Clone, Debug, Default)]
pub struct SearchFilter {
    /// Only this lead's messages, summaries and notes.
    pub lead_id: Option<async_graphql::ID>,
    /// Only records of conversations on these channels (notes have no channel).
    pub channels: Option<Vec<ChannelGql>>,
    /// Only messages said by these roles (summaries and notes have no role).
    pub roles: Option<Vec<MessageRoleGql>>,
    /// Only these kinds of record.
    pub kinds: Option<Vec<SearchKindGql>>,
    /// Only records from this time on (RFC 3339): a message's time, a summary's or note's
    /// creation. At most 200 characters.
    pub from: Option<Text<SHORT>>,
    /// Only records before this time (RFC 3339); at most 200 characters.
    pub to: Option<Text<SHORT>>,
}

impl SearchFilter {
    pub fn into_filter(self) -> Result<Filter, AppError> {
        Ok(Filter {
            lead_id: self
                .lead_id
                .map(|id| parse_id(&id, "filter.leadId"))
                .transpose()?,
            channels: self
                .channels
                .unwrap_or_default()
                .into_iter()
                .map(Into::into)
                .collect(),
            roles: self
                .roles
                .unwrap_or_default()
                .into_iter()
                .map(Into::into)
                .collect(),
            kinds: self
                .kinds
                .unwrap_or_default()
                .into_iter()
                .map(Into::into)
                .collect(),
            from: self
                .from
                .as_deref()
                .map(|t| parse_time(t, "filter.from"))
                .transpose()?,
            to: self
                .to
                .as_deref()
                .map(|t| parse_time(t, "filter.to"))
                .transpose()?,
            exclude_session: None,
        })
    }
}

/// The record a search hit points at.
#[derive(Union)]
pub enum SearchRecord {
    /// A message (its `session` has the conversation).
    Message(Message),
    /// A conversation summary.
    Summary(Box<InteractionSummary>),
    /// A staff note or call summary.
    Note(Note),
}

/// One record that matched a search.
pub struct SearchHit(pub search::SearchHit);

impl SearchHit {
    fn lead_id(&self) -> uuid::Uuid {
        match &self.0.record {
            Record::Message(m) => m.lead_id,
            Record::Summary(s) => s.lead_id,
            Record::Note(n) => n.lead_id,
        }
    }

    fn session_id(&self) -> Option<uuid::Uuid> {
        match &self.0.record {
            Record::Message(m) => Some(m.session_id),
            Record::Summary(s) => Some(s.session_id),
            Record::Note(n) => n.session_id,
        }
    }
}

/// One record that matched a search.
#[Object]
impl SearchHit {
    /// What the record is.
    async fn kind(&self) -> SearchKindGql {
        self.0.kind.into()
    }

    /// The message, summary or note.
    async fn record(&self) -> SearchRecord {
        match &self.0.record {
            Record::Message(m) => SearchRecord::Message(Message::from(m.clone())),
            Record::Summary(s) => SearchRecord::Summary(Box::new(InteractionSummary(s.clone()))),
            Record::Note(n) => SearchRecord::Note(Note(n.clone())),
        }
    }

    /// The customer the record is about.
    async fn lead(&self, ctx: &Context<'_>) -> Result<Lead> {
        ctx.loaders()?
            .leads
            .load_one(self.lead_id())
            .await?
            .map(Lead)
            .ok_or_else(|| AppError::not_found("lead").into())
    }

    /// The conversation the record belongs to (null for a note written outside one).
    async fn session(&self, ctx: &Context<'_>) -> Result<Option<Session>> {
        let Some(id) = self.session_id() else {
            return Ok(None);
        };
        Ok(ctx.loaders()?.sessions.load_one(id).await?.map(Session))
    }

    /// The fused score, higher is better: weighted reciprocal rank fusion, the sum over the
    /// rankings that found the record of weight / (60 + rank) (the lexical ranking weighs 1,
    /// the semantic one `search_semantic_weight`). With lexical search alone,
    /// 1 / (60 + lexicalRank).
    async fn score(&self) -> f64 {
        self.0.score
    }

    /// Position in the full-text ranking, from 1; null for a record only semantic search
    /// found.
    async fn lexical_rank(&self) -> Option<i32> {
        self.0
            .lexical_rank
            .map(|r| i32::try_from(r).unwrap_or(i32::MAX))
    }

    /// The full-text relevance (BM25 on SQLite, `ts_rank_cd` on PostgreSQL), higher is
    /// better; comparable only within one search. Null for a record only semantic search
    /// found.
    async fn lexical_score(&self) -> Option<f64> {
        self.0.lexical_score
    }

    /// Position in the semantic ranking, from 1; null when semantic search is off, failed, or
    /// did not find this record.
    async fn semantic_rank(&self) -> Option<i32> {
        self.0
            .semantic_rank
            .map(|r| i32::try_from(r).unwrap_or(i32::MAX))
    }

    /// Cosine similarity of the record to the query (-1 to 1, higher is closer); null when
    /// semantic search is off, failed, or did not find this record.
    async fn semantic_similarity(&self) -> Option<f64> {
        self.0.semantic_similarity
    }

    /// An excerpt around the first match, HTML-escaped, each matching word in
    /// `<mark>…</mark>`, `…` where the text was cut.
    async fn snippet(&self) -> &str {
        &self.0.snippet
    }
}

/// A page of search hits, best first.
pub struct SearchHitConnection(pub search::SearchResults);

/// A page of search hits, best first.
#[Object]
impl SearchHitConnection {
    /// The hits of this page, each with its cursor.
    async fn edges(&self) -> Vec<SearchHitEdge> {
        self.0
            .hits
            .iter()
            .map(|h| SearchHitEdge(SearchHit(h.clone())))
            .collect()
    }

    /// The hits of this page.
    async fn nodes(&self) -> Vec<SearchHit> {
        self.0.hits.iter().cloned().map(SearchHit).collect()
    }

    /// Where this page sits in the ranking.
    async fn page_info(&self) -> PageInfo {
        PageInfo {
            has_next_page: self.0.has_next_page,
            has_previous_page: self.0.has_previous_page,
            start_cursor: self.0.hits.first().map(|h| h.cursor.clone()),
            end_cursor: self.0.hits.last().map(|h| h.cursor.clone()),
        }
    }

    /// True when no record had every word of the query, so these hits have some of them
    /// (most first).
    async fn relaxed(&self) -> bool {
        self.0.relaxed
    }

    /// Whether semantic search took part: null when no embedder is configured (search is
    /// lexical), false when the embedder failed (see `semanticError`; the hits are then
    /// lexical only), true when the hits fuse both rankings.
    async fn semantic(&self) -> Option<bool> {
        self.0.semantic
    }

    /// Why semantic search did not take part although configured (the embeddings provider
    /// was down, slow or answered badly); the hits are then lexical only. Null otherwise.
    async fn semantic_error(&self) -> Option<&str> {
        self.0.semantic_error.as_deref()
    }
}

/// A search hit with its position.
pub struct SearchHitEdge(SearchHit);

/// A search hit with its position.
#[Object]
impl SearchHitEdge {
    /// An opaque position: pass it as `after` for the next page.
    async fn cursor(&self) -> &str {
        &self.0.0.cursor
    }

    /// The hit.
    async fn node(&self) -> &SearchHit {
        &self.0
    }
}
