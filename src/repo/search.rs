//! The search index: one row per message, summary and note, written in the record's own
//! transaction, and the lexical query over it (FTS5 on SQLite, `tsvector` on PostgreSQL).
//!
//! Deleting a record deletes its index row by trigger (see the `search` migration), so
//! erasure and retention forget the index with the records; [`forget_lead`] (erasure's count)
//! and [`forget_older_than`] exist for callers that delete the index on its own.

use chrono::{DateTime, Utc};
use sea_orm::{DatabaseBackend, DbErr, Statement, Value};
use uuid::Uuid;

use crate::db::executor::Executor;
use crate::domain::search::{SearchKind, SearchQuery, TermsFormat, index_terms};
use crate::domain::{Channel, MessageRole};
use crate::entities::{interaction_summary, message, note};

/// How many matches a lexical search ranks: the newest this many that pass the filters. A
/// common word matches a large part of a big tenant's records; ranking them all would cost a
/// search time in proportion to the tenant's history, and the newest are the ones staff look
/// for. As deep as pages go ([`crate::services::search::MAX_OFFSET`]), so every page search
/// serves is ranked. Ranking is most of a tenant-wide search's time, in proportion to this: at
/// 1 M messages 2 000 gave a p99 of 22.7 ms over HTTP (search_latency bench, HISTORY.md).
pub const CANDIDATES: u64 = crate::services::search::MAX_OFFSET as u64;

/// SQLite: a tenant's documents have rowids from `number << 40` (exclusive) to
/// `(number + 1) << 40`, `number` being the tenant's row in `search_ranges` (the
/// `search_ranges` migration): room for 2^40 documents per tenant and 2^23 tenants. As SQL over
/// `r`, a row of `search_ranges`.
const TENANT_RANGE_START: &str = "(r.number << 40)";
const TENANT_RANGE_END: &str = "((r.number + 1) << 40)";

/// A search document's text, over `d` (a row of `search_documents`) and [`DOCUMENT_TEXT_JOINS`].
const DOCUMENT_TEXT: &str = "COALESCE(m.content, s.summary, n.body, '')";
const DOCUMENT_TEXT_JOINS: &str = "\
    LEFT JOIN messages m ON d.kind = 'message' AND m.tenant_id = d.tenant_id AND m.id = d.id \
    LEFT JOIN interaction_summaries s ON d.kind = 'summary' \
        AND s.tenant_id = d.tenant_id AND s.id = d.id \
    LEFT JOIN notes n ON d.kind = 'note' AND n.tenant_id = d.tenant_id AND n.id = d.id";

/// Documents per PostgreSQL insert statement (9 values each).
const CHUNK: usize = 200;

/// One searchable record as the index sees it.
#[derive(Debug, Clone)]
pub struct SearchDocument<'a> {
    pub tenant_id: Uuid,
    pub id: Uuid,
    pub kind: SearchKind,
    pub lead_id: Uuid,
    pub session_id: Option<Uuid>,
    pub channel: Option<Channel>,
    pub role: Option<MessageRole>,
    pub occurred_at: DateTime<Utc>,
    pub text: &'a str,
    /// `text`'s index terms in the database's [`TermsFormat`], when the caller made them
    /// already (ingest does, off the writer); otherwise they are made on insert.
    pub terms: Option<&'a str>,
}

impl<'a> SearchDocument<'a> {
    pub fn of_message(m: &'a message::Model) -> Self {
        Self {
            tenant_id: m.tenant_id,
            id: m.id,
            kind: SearchKind::Message,
            lead_id: m.lead_id,
            session_id: Some(m.session_id),
            channel: Some(m.channel),
            role: Some(m.role),
            occurred_at: m.occurred_at,
            text: &m.content,
            terms: None,
        }
    }

    pub fn of_summary(s: &'a interaction_summary::Model) -> Self {
        Self {
            tenant_id: s.tenant_id,
            id: s.id,
            kind: SearchKind::Summary,
            lead_id: s.lead_id,
            session_id: Some(s.session_id),
            channel: Some(s.channel),
            role: None,
            occurred_at: s.created_at,
            text: &s.summary,
            terms: None,
        }
    }

    /// With its index terms made already, in the database's format (see [`format_for`]).
    pub fn with_terms(self, terms: &'a str) -> Self {
        Self {
            terms: Some(terms),
            ..self
        }
    }

    /// Its index terms in `format`.
    fn terms(&self, format: TermsFormat) -> String {
        match self.terms {
            Some(terms) => terms.to_owned(),
            None => index_terms(self.text, format),
        }
    }

    pub fn of_note(n: &'a note::Model) -> Self {
        Self {
            tenant_id: n.tenant_id,
            id: n.id,
            kind: SearchKind::Note,
            lead_id: n.lead_id,
            session_id: n.session_id,
            channel: None,
            role: None,
            occurred_at: n.created_at,
            text: &n.body,
            terms: None,
        }
    }
}

/// The format of index terms `backend` takes.
pub fn format_for(backend: DatabaseBackend) -> TermsFormat {
    match backend {
        DatabaseBackend::Postgres => TermsFormat::TsVector,
        _ => TermsFormat::Fts5,
    }
}

/// The token that confines a PostgreSQL match to a tenant. On SQLite a tenant's documents are
/// a range of rowids instead (see [`TENANT_RANGE_START`]).
fn tenant_token(tenant_id: Uuid) -> String {
    format!("t{}", tenant_id.simple())
}

/// The token in FTS5's `scope` column that confines a match to a lead.
fn lead_token(lead_id: Uuid) -> String {
    format!("l{}", lead_id.simple())
}

/// Adds records that are not in the index yet (new messages, notes, summaries).
pub async fn index_new<C: Executor>(conn: &C, docs: &[SearchDocument<'_>]) -> Result<(), DbErr> {
    if conn.backend() != DatabaseBackend::Postgres {
        return index_sqlite(conn, docs).await;
    }
    for chunk in docs.chunks(CHUNK) {
        index_postgres(conn, chunk).await?;
    }
    Ok(())
}

/// Replaces a record's entry (its text changed, or it was rewritten in place).
pub async fn reindex<C: Executor>(conn: &C, doc: &SearchDocument<'_>) -> Result<(), DbErr> {
    forget(conn, doc.tenant_id, &[doc.id]).await?;
    index_new(conn, std::slice::from_ref(doc)).await
}

fn document_values(doc: &SearchDocument<'_>, values: &mut Vec<Value>) {
    values.push(doc.tenant_id.into());
    values.push(doc.id.into());
    values.push(doc.kind.as_str().into());
    values.push(doc.lead_id.into());
    values.push(doc.session_id.into());
    values.push(doc.channel.map(|c| c.as_str().to_owned()).into());
    values.push(doc.role.map(|r| r.as_str().to_owned()).into());
    values.push(doc.occurred_at.into());
}

fn placeholders(row: usize, width: usize, extra: &str) -> String {
    let first = row * width;
    let list: Vec<String> = (1..=width)
        .map(|i| {
            if i == width && !extra.is_empty() {
                format!("${}{extra}", first + i)
            } else {
                format!("${}", first + i)
            }
        })
        .collect();
    format!("({})", list.join(", "))
}

const COLUMNS: &str = "tenant_id, id, kind, lead_id, session_id, channel, role, occurred_at";

/// Two statements of fixed text (prepared once, whatever the number of documents): the rows,
/// numbered from the tenant's range, then all their terms. FTS5 writes what it has gathered to
/// a new segment of the index at the end of every statement, so one statement per document
/// would leave a segment per document to merge. Values go in as one JSON array each, since a
/// multi-row `VALUES` list would be parsed afresh for every batch size.
async fn index_sqlite<C: Executor>(conn: &C, docs: &[SearchDocument<'_>]) -> Result<(), DbErr> {
    for tenant in docs.chunk_by(|a, b| a.tenant_id == b.tenant_id) {
        index_sqlite_tenant(conn, tenant).await?;
    }
    Ok(())
}

/// [`index_sqlite`] for documents of one tenant.
async fn index_sqlite_tenant<C: Executor>(
    conn: &C,
    docs: &[SearchDocument<'_>],
) -> Result<(), DbErr> {
    let Some(first) = docs.first() else {
        return Ok(());
    };
    let tenant_id = first.tenant_id;
    // Document `i` of the array gets the rowid after the range's last one plus `i`. A tenant
    // without a range (no row in `search_ranges`) inserts nothing, and fails below.
    let insert_documents = format!(
        "INSERT INTO search_documents (rowid, {COLUMNS}) \
         SELECT b.last + 1 + j.key, $1, unhex(j.value ->> 0), j.value ->> 1, \
                unhex(j.value ->> 2), unhex(j.value ->> 3), j.value ->> 4, j.value ->> 5, \
                j.value ->> 6 \
         FROM (SELECT COALESCE((SELECT d.rowid FROM search_documents d \
                                WHERE d.rowid >= {TENANT_RANGE_START} \
                                  AND d.rowid < {TENANT_RANGE_END} \
                                ORDER BY d.rowid DESC LIMIT 1), \
                               {TENANT_RANGE_START}) AS last \
               FROM search_ranges r WHERE r.tenant_id = $1) b, json_each($2) j \
         ORDER BY j.key RETURNING rowid"
    );
    let rows: Vec<serde_json::Value> = docs
        .iter()
        .map(|doc| {
            serde_json::json!([
                doc.id.simple().to_string(),
                doc.kind.as_str(),
                doc.lead_id.simple().to_string(),
                doc.session_id.map(|id| id.simple().to_string()),
                doc.channel.map(Channel::as_str),
                doc.role.map(MessageRole::as_str),
                crate::db::direct::time_text(&doc.occurred_at),
            ])
        })
        .collect();
    let mut rowids: Vec<(i64,)> = conn
        .rows(Statement::from_sql_and_values(
            DatabaseBackend::Sqlite,
            insert_documents,
            [
                tenant_id.into(),
                serde_json::Value::Array(rows).to_string().into(),
            ],
        ))
        .await?;
    if rowids.len() != docs.len() || rowids.iter().any(|(rowid,)| rowid >> 40 == 0) {
        return Err(DbErr::Custom(format!(
            "tenant {tenant_id} has no range of search rowids"
        )));
    }
    // Rowids follow the array's order.
    rowids.sort_unstable();
    let terms: Vec<serde_json::Value> = docs
        .iter()
        .zip(rowids)
        .map(|(doc, (rowid,))| {
            serde_json::json!([rowid, lead_token(doc.lead_id), doc.terms(TermsFormat::Fts5)])
        })
        .collect();
    conn.execute(Statement::from_sql_and_values(
        DatabaseBackend::Sqlite,
        "INSERT INTO search_fts (rowid, scope, body) \
         SELECT value ->> 0, value ->> 1, value ->> 2 FROM json_each($1)",
        [serde_json::Value::Array(terms).to_string().into()],
    ))
    .await?;
    Ok(())
}

async fn index_postgres<C: Executor>(conn: &C, docs: &[SearchDocument<'_>]) -> Result<(), DbErr> {
    let mut values = Vec::with_capacity(docs.len() * 9);
    let mut rows = Vec::with_capacity(docs.len());
    for (i, doc) in docs.iter().enumerate() {
        document_values(doc, &mut values);
        // The tenant's token (no position) lets the GIN index narrow a match to the tenant.
        let terms = doc.terms(TermsFormat::TsVector);
        values.push(format!("{terms} '{}'", tenant_token(doc.tenant_id)).into());
        rows.push(placeholders(i, 9, "::tsvector"));
    }
    conn.execute(Statement::from_sql_and_values(
        DatabaseBackend::Postgres,
        format!(
            "INSERT INTO search_documents ({COLUMNS}, terms) VALUES {} \
             ON CONFLICT (tenant_id, id) DO UPDATE SET terms = EXCLUDED.terms, \
             occurred_at = EXCLUDED.occurred_at, session_id = EXCLUDED.session_id",
            rows.join(", ")
        ),
        values,
    ))
    .await?;
    Ok(())
}

/// SQLite: where giving documents their terms back stands, while documents wait for them (the
/// `search_ranges` migration renumbered them and emptied the FTS5 index): the rowid after which
/// to look. `None` when nothing waits, and always on PostgreSQL.
pub async fn terms_rebuild<C: Executor>(conn: &C) -> Result<Option<i64>, DbErr> {
    if conn.backend() == DatabaseBackend::Postgres {
        return Ok(None);
    }
    conn.query_i64(Statement::from_string(
        DatabaseBackend::Sqlite,
        "SELECT after_rowid FROM search_rebuild WHERE id = 1",
    ))
    .await
}

/// SQLite: documents with no terms in the FTS5 index, after rowid `after`, in rowid order, at
/// most `limit`: `(rowid, lead, the record's text)`.
pub async fn documents_without_terms<C: Executor>(
    conn: &C,
    after: i64,
    limit: u64,
) -> Result<Vec<(i64, Uuid, String)>, DbErr> {
    conn.rows(Statement::from_sql_and_values(
        DatabaseBackend::Sqlite,
        format!(
            "SELECT d.rowid, d.lead_id, {DOCUMENT_TEXT} FROM search_documents d \
             {DOCUMENT_TEXT_JOINS} \
             WHERE d.rowid > $1 \
               AND NOT EXISTS (SELECT 1 FROM search_fts_docsize z WHERE z.id = d.rowid) \
             ORDER BY d.rowid LIMIT {limit}"
        ),
        [after.into()],
    ))
    .await
}

/// SQLite: gives documents their terms back, `(rowid, lead, terms)` with terms in
/// [`TermsFormat::Fts5`]: only documents that still exist and still have none (a document
/// erased or re-indexed since it was read is left alone). Then the rebuild carries on after
/// `next`, or is over when `next` is `None`.
pub async fn restore_terms<C: Executor>(
    conn: &C,
    terms: &[(i64, Uuid, String)],
    next: Option<i64>,
) -> Result<(), DbErr> {
    if !terms.is_empty() {
        let rows: Vec<serde_json::Value> = terms
            .iter()
            .map(|(rowid, lead, terms)| serde_json::json!([rowid, lead_token(*lead), terms]))
            .collect();
        conn.execute(Statement::from_sql_and_values(
            DatabaseBackend::Sqlite,
            "INSERT INTO search_fts (rowid, scope, body) \
             SELECT j.value ->> 0, j.value ->> 1, j.value ->> 2 FROM json_each($1) j \
             WHERE EXISTS (SELECT 1 FROM search_documents d WHERE d.rowid = j.value ->> 0) \
               AND NOT EXISTS (SELECT 1 FROM search_fts_docsize z WHERE z.id = j.value ->> 0)",
            [serde_json::Value::Array(rows).to_string().into()],
        ))
        .await?;
    }
    let progress = match next {
        Some(after) => Statement::from_sql_and_values(
            DatabaseBackend::Sqlite,
            "UPDATE search_rebuild SET after_rowid = $1 WHERE id = 1",
            [after.into()],
        ),
        None => Statement::from_string(DatabaseBackend::Sqlite, "DELETE FROM search_rebuild"),
    };
    conn.execute(progress).await?;
    Ok(())
}

/// Removes records' entries (the records themselves stay).
pub async fn forget<C: Executor>(conn: &C, tenant_id: Uuid, ids: &[Uuid]) -> Result<u64, DbErr> {
    if ids.is_empty() {
        return Ok(0);
    }
    let mut values: Vec<Value> = vec![tenant_id.into()];
    let list: Vec<String> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| {
            values.push((*id).into());
            format!("${}", i + 2)
        })
        .collect();
    conn.execute(Statement::from_sql_and_values(
        conn.backend(),
        format!(
            "DELETE FROM search_documents WHERE tenant_id = $1 AND id IN ({})",
            list.join(", ")
        ),
        values,
    ))
    .await
}

/// Removes every entry of a lead; returns how many. Deleting the lead's records does this too
/// (triggers); erasure calls it first, so its count says what the index held.
///
/// SQLite has no index on `lead_id` (the `search_lead_index` migration): the lead's entries
/// are found through its token in FTS5's `scope` column, within the tenant's rowid range.
/// Entries still waiting for their terms after an upgrade (`search_rebuild`) are not in FTS5
/// yet; they go when their records do.
pub async fn forget_lead<C: Executor>(
    conn: &C,
    tenant_id: Uuid,
    lead_id: Uuid,
) -> Result<u64, DbErr> {
    if conn.backend() == DatabaseBackend::Postgres {
        return conn
            .execute(Statement::from_sql_and_values(
                DatabaseBackend::Postgres,
                "DELETE FROM search_documents WHERE tenant_id = $1 AND lead_id = $2",
                [tenant_id.into(), lead_id.into()],
            ))
            .await;
    }
    conn.execute(Statement::from_sql_and_values(
        DatabaseBackend::Sqlite,
        format!(
            "DELETE FROM search_documents WHERE rowid IN (\
               SELECT rowid FROM search_fts WHERE search_fts MATCH $3 \
                 AND rowid >= (SELECT {TENANT_RANGE_START} FROM search_ranges r \
                               WHERE r.tenant_id = $1) \
                 AND rowid < (SELECT {TENANT_RANGE_END} FROM search_ranges r \
                              WHERE r.tenant_id = $1)) \
             AND tenant_id = $1 AND lead_id = $2"
        ),
        [
            tenant_id.into(),
            lead_id.into(),
            format!("scope : \"{}\"", lead_token(lead_id)).into(),
        ],
    ))
    .await
}

/// Removes the entries of records older than `cutoff` (retention), as deleting those records
/// does by trigger.
pub async fn forget_older_than<C: Executor>(
    conn: &C,
    tenant_id: Uuid,
    cutoff: DateTime<Utc>,
) -> Result<u64, DbErr> {
    conn.execute(Statement::from_sql_and_values(
        conn.backend(),
        "DELETE FROM search_documents WHERE tenant_id = $1 AND occurred_at < $2",
        [tenant_id.into(), cutoff.into()],
    ))
    .await
}

/// What a search is limited to, beyond the tenant.
#[derive(Debug, Clone, Default)]
pub struct SearchFilter {
    pub lead_id: Option<Uuid>,
    pub channels: Vec<Channel>,
    pub roles: Vec<MessageRole>,
    pub kinds: Vec<SearchKind>,
    /// At or after.
    pub from: Option<DateTime<Utc>>,
    /// Before.
    pub to: Option<DateTime<Utc>>,
    /// Leaves out one conversation (the one in progress, for the memory context).
    pub exclude_session: Option<Uuid>,
}

/// One lexical match, best first.
#[derive(Debug, Clone, PartialEq)]
pub struct LexicalHit {
    pub id: Uuid,
    pub kind: SearchKind,
    /// BM25 on SQLite, `ts_rank_cd` on PostgreSQL: higher is better.
    pub score: f64,
}

/// Appends `sql` with its values numbered from where `values` is.
struct Sql {
    text: String,
    values: Vec<Value>,
}

impl Sql {
    fn bind(&mut self, value: impl Into<Value>) -> String {
        self.values.push(value.into());
        format!("${}", self.values.len())
    }

    fn list<T: Copy>(&mut self, items: &[T], value: impl Fn(T) -> Value) -> String {
        let marks: Vec<String> = items.iter().map(|&t| self.bind(value(t))).collect();
        marks.join(", ")
    }
}

/// Whether every filter is part of the SQLite match (the tenant and the lead are scope
/// tokens), so the candidates need no column of `search_documents`.
fn in_the_match(filter: &SearchFilter) -> bool {
    // Every field named, so a new filter has to say where it goes.
    let SearchFilter {
        lead_id: _,
        channels,
        roles,
        kinds,
        from,
        to,
        exclude_session,
    } = filter;
    channels.is_empty()
        && roles.is_empty()
        && kinds.is_empty()
        && from.is_none()
        && to.is_none()
        && exclude_session.is_none()
}

fn filters(sql: &mut Sql, filter: &SearchFilter) {
    if let Some(lead) = filter.lead_id {
        let mark = sql.bind(lead);
        sql.text.push_str(&format!(" AND d.lead_id = {mark}"));
    }
    if !filter.kinds.is_empty() {
        let marks = sql.list(&filter.kinds, |k| k.as_str().into());
        sql.text.push_str(&format!(" AND d.kind IN ({marks})"));
    }
    if !filter.channels.is_empty() {
        let marks = sql.list(&filter.channels, |c| c.as_str().into());
        sql.text.push_str(&format!(" AND d.channel IN ({marks})"));
    }
    if !filter.roles.is_empty() {
        let marks = sql.list(&filter.roles, |r| r.as_str().into());
        sql.text.push_str(&format!(" AND d.role IN ({marks})"));
    }
    if let Some(from) = filter.from {
        let mark = sql.bind(from);
        sql.text.push_str(&format!(" AND d.occurred_at >= {mark}"));
    }
    if let Some(to) = filter.to {
        let mark = sql.bind(to);
        sql.text.push_str(&format!(" AND d.occurred_at < {mark}"));
    }
    if let Some(session) = filter.exclude_session {
        let mark = sql.bind(session);
        sql.text.push_str(&format!(
            " AND (d.session_id IS NULL OR d.session_id <> {mark})"
        ));
    }
}

/// The tenant's records matching `query`, best first among the newest [`CANDIDATES`] that match:
/// `limit` of them after skipping `offset`.
pub async fn lexical<C: Executor>(
    conn: &C,
    tenant_id: Uuid,
    query: &SearchQuery,
    filter: &SearchFilter,
    limit: u64,
    offset: u64,
) -> Result<Vec<LexicalHit>, DbErr> {
    let statement = lexical_statement(conn.backend(), tenant_id, query, filter, limit, offset);
    let rows: Vec<(Uuid, String, f64)> = conn.rows(statement).await?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, kind, score)| {
            Some(LexicalHit {
                id,
                kind: SearchKind::parse(&kind)?,
                score,
            })
        })
        .collect())
}

/// The raw lexical statement (public for the benchmark's baseline).
pub fn lexical_statement(
    backend: DatabaseBackend,
    tenant_id: Uuid,
    query: &SearchQuery,
    filter: &SearchFilter,
    limit: u64,
    offset: u64,
) -> Statement {
    let mut sql = Sql {
        text: String::new(),
        values: Vec::new(),
    };
    if backend == DatabaseBackend::Postgres {
        let (groups, excluded) = query.to_websearch();
        let mut parts: Vec<String> = groups
            .into_iter()
            .map(|g| {
                let mark = sql.bind(g);
                format!("websearch_to_tsquery('simple', {mark})")
            })
            .collect();
        parts.extend(excluded.into_iter().map(|e| {
            let mark = sql.bind(e);
            format!("!! websearch_to_tsquery('simple', {mark})")
        }));
        let wanted = format!("({})", parts.join(" && "));
        let tenant = sql.bind(tenant_token(tenant_id));
        let tenant_id_mark = sql.bind(tenant_id);
        sql.text = format!(
            "SELECT d.id, d.kind, d.terms, d.occurred_at \
             FROM search_documents d \
             WHERE d.terms @@ ({wanted} && {tenant}::tsquery) AND d.tenant_id = {tenant_id_mark}"
        );
        filters(&mut sql, filter);
        // The newest candidates are picked by date before any is ranked: ranking reads each
        // candidate's whole vector.
        sql.text = format!(
            "SELECT c.id, c.kind, ts_rank_cd(c.terms, {wanted})::float8 AS score \
             FROM ({} ORDER BY d.occurred_at DESC, d.id DESC LIMIT {CANDIDATES}) c",
            sql.text
        );
    } else {
        // The lead's scope phrase comes first, and the rank skips it (see `db::fts5_rank`).
        let (expr, scoped) = match filter.lead_id {
            Some(lead) => (
                format!("scope : \"{}\" AND ({})", lead_token(lead), query.to_fts5()),
                1,
            ),
            None => (query.to_fts5(), 0),
        };
        let matching = sql.bind(expr);
        let tenant_id_mark = sql.bind(tenant_id);
        // The tenant's range of rowids, which FTS5 applies as it walks the matches.
        let in_range = format!(
            "search_fts.rowid >= (SELECT {TENANT_RANGE_START} FROM search_ranges r \
                                  WHERE r.tenant_id = {tenant_id_mark}) \
             AND search_fts.rowid < (SELECT {TENANT_RANGE_END} FROM search_ranges r \
                                     WHERE r.tenant_id = {tenant_id_mark})"
        );
        if in_the_match(filter) {
            // Every filter is in the match: the candidates are ranked on the index alone, and
            // only the page is joined to its records (the tenant check there is a second
            // guard; the rowid range already holds the match to the tenant).
            let lead = filter
                .lead_id
                .map(|lead| format!(" AND d.lead_id = {}", sql.bind(lead)))
                .unwrap_or_default();
            sql.text = format!(
                "SELECT d.id, d.kind, c.score FROM (\
                   SELECT rowid, score FROM (\
                     SELECT search_fts.rowid AS rowid, memodesk_rank(search_fts, {scoped}) AS score \
                     FROM search_fts WHERE search_fts MATCH {matching} AND {in_range} \
                     ORDER BY search_fts.rowid DESC LIMIT {CANDIDATES}) \
                   ORDER BY score DESC, rowid DESC LIMIT {limit} OFFSET {offset}) c \
                 CROSS JOIN search_documents d ON d.rowid = c.rowid \
                 WHERE d.tenant_id = {tenant_id_mark}{lead} \
                 ORDER BY c.score DESC, c.rowid DESC"
            );
            return Statement::from_sql_and_values(backend, sql.text, sql.values);
        }
        // CROSS JOIN keeps the FTS match as the outer loop, and FTS5 walks its matches newest
        // (highest rowid) first, so the scan stops at the last candidate: only candidates are
        // joined and ranked.
        sql.text = format!(
            "SELECT d.id, d.kind, memodesk_rank(search_fts, {scoped}) AS score \
             FROM search_fts CROSS JOIN search_documents d ON d.rowid = search_fts.rowid \
             WHERE search_fts MATCH {matching} AND {in_range} AND d.tenant_id = {tenant_id_mark}"
        );
        filters(&mut sql, filter);
        sql.text = format!(
            "SELECT c.id, c.kind, c.score \
             FROM ({} ORDER BY search_fts.rowid DESC LIMIT {CANDIDATES}) c",
            sql.text
        );
    }
    // Limits are part of the SQL: SQLite prepares a statement with a bound LIMIT on every run.
    sql.text.push_str(&format!(
        " ORDER BY score DESC, c.id DESC LIMIT {limit} OFFSET {offset}"
    ));
    Statement::from_sql_and_values(backend, sql.text, sql.values)
}

/// Records in the index with no vector of `model` yet (new, or embedded by another model):
/// `(id, lead, text)` in id order after `after`, at most `limit`.
pub async fn pending_embeddings<C: Executor>(
    conn: &C,
    tenant_id: Uuid,
    model: &str,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<(Uuid, Uuid, String)>, DbErr> {
    let mut values: Vec<Value> = vec![tenant_id.into(), model.into()];
    let after = match after {
        Some(id) => {
            values.push(id.into());
            " AND d.id > $3"
        }
        None => "",
    };
    conn.rows(Statement::from_sql_and_values(
        conn.backend(),
        format!(
            "SELECT d.id, d.lead_id, {DOCUMENT_TEXT} FROM search_documents d \
             LEFT JOIN search_vectors v ON v.tenant_id = d.tenant_id AND v.document_id = d.id \
             {DOCUMENT_TEXT_JOINS} \
             WHERE d.tenant_id = $1 AND (v.document_id IS NULL OR v.model <> $2){after} \
             ORDER BY d.id LIMIT {limit}"
        ),
        values,
    ))
    .await
}

/// The tenants with records to embed with `model`.
pub async fn tenants_pending_embeddings<C: Executor>(
    conn: &C,
    model: &str,
) -> Result<Vec<Uuid>, DbErr> {
    let rows: Vec<(Uuid,)> = conn
        .rows(Statement::from_sql_and_values(
            conn.backend(),
            "SELECT t.id FROM tenants t WHERE EXISTS (SELECT 1 FROM search_documents d \
             LEFT JOIN search_vectors v ON v.tenant_id = d.tenant_id AND v.document_id = d.id \
             WHERE d.tenant_id = t.id AND (v.document_id IS NULL OR v.model <> $1))",
            [model.into()],
        ))
        .await?;
    Ok(rows.into_iter().map(|(id,)| id).collect())
}

/// One record's vector, to store.
#[derive(Debug, Clone)]
pub struct NewVector {
    pub id: Uuid,
    pub lead_id: Uuid,
    /// Unit length, so similarity is a dot product.
    pub vector: Vec<f32>,
}

/// Stores (or replaces) vectors of `model`. A record deleted meanwhile is skipped: the vector
/// is written only while its search document exists.
pub async fn store_vectors<C: Executor>(
    conn: &C,
    tenant_id: Uuid,
    model: &str,
    vectors: &[NewVector],
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    for v in vectors {
        let bytes: Vec<u8> = v.vector.iter().flat_map(|x| x.to_le_bytes()).collect();
        conn.execute(Statement::from_sql_and_values(
            conn.backend(),
            "INSERT INTO search_vectors \
             (tenant_id, document_id, lead_id, model, dims, vector, embedded_at) \
             SELECT d.tenant_id, d.id, d.lead_id, $3, $4, $5, $6 FROM search_documents d \
             WHERE d.tenant_id = $1 AND d.id = $2 \
             ON CONFLICT (tenant_id, document_id) DO UPDATE SET model = excluded.model, \
             dims = excluded.dims, vector = excluded.vector, embedded_at = excluded.embedded_at",
            [
                tenant_id.into(),
                v.id.into(),
                model.into(),
                (v.vector.len() as i32).into(),
                bytes.into(),
                now.into(),
            ],
        ))
        .await?;
    }
    Ok(())
}

/// The tenant's vectors of `model` that `filter` allows: `(id, kind, vector bytes)`.
pub async fn vectors<C: Executor>(
    conn: &C,
    tenant_id: Uuid,
    model: &str,
    filter: &SearchFilter,
) -> Result<Vec<(Uuid, SearchKind, Vec<u8>)>, DbErr> {
    let mut sql = Sql {
        text: String::new(),
        values: Vec::new(),
    };
    let tenant = sql.bind(tenant_id);
    let model = sql.bind(model);
    sql.text = format!(
        "SELECT d.id, d.kind, v.vector FROM search_vectors v \
         JOIN search_documents d ON d.tenant_id = v.tenant_id AND d.id = v.document_id \
         WHERE v.tenant_id = {tenant} AND v.model = {model}"
    );
    if let Some(lead) = filter.lead_id {
        // The vectors' own lead index narrows the scan before the join.
        let mark = sql.bind(lead);
        sql.text.push_str(&format!(" AND v.lead_id = {mark}"));
    }
    filters(&mut sql, filter);
    let rows: Vec<(Uuid, String, Vec<u8>)> = conn
        .rows(Statement::from_sql_and_values(
            conn.backend(),
            sql.text,
            sql.values,
        ))
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, kind, bytes)| Some((id, SearchKind::parse(&kind)?, bytes)))
        .collect())
}

/// How many of the tenant's records have a vector of `model`, and how many records there are.
pub async fn embedded_count<C: Executor>(
    conn: &C,
    tenant_id: Uuid,
    model: &str,
) -> Result<(i64, i64), DbErr> {
    let rows: Vec<(i64, i64)> = conn
        .rows(Statement::from_sql_and_values(
            conn.backend(),
            "SELECT (SELECT COUNT(*) FROM search_vectors WHERE tenant_id = $1 AND model = $2), \
             (SELECT COUNT(*) FROM search_documents WHERE tenant_id = $1)",
            [tenant_id.into(), model.into()],
        ))
        .await?;
    Ok(rows.into_iter().next().unwrap_or((0, 0)))
}

/// The next `limit` ids of one tenant's records in `table` after `after`, in id order: the
/// window [`unindexed_messages`] and friends look at, so a backfill reads each record once.
/// Plain comparisons on the primary key's columns, so each window is one range of the index.
pub async fn record_window<C: Executor>(
    conn: &C,
    table: RecordTable,
    tenant_id: Uuid,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<Uuid>, DbErr> {
    let mut values: Vec<Value> = vec![tenant_id.into()];
    let mut sql = format!("SELECT id FROM {} WHERE tenant_id = $1", table.name());
    if let Some(id) = after {
        values.push(id.into());
        sql.push_str(" AND id > $2");
    }
    sql.push_str(&format!(" ORDER BY id LIMIT {limit}"));
    let rows: Vec<(Uuid,)> = conn
        .rows(Statement::from_sql_and_values(conn.backend(), sql, values))
        .await?;
    Ok(rows.into_iter().map(|(id,)| id).collect())
}

/// The tables of searchable records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordTable {
    Messages,
    Summaries,
    Notes,
}

impl RecordTable {
    pub const ALL: [RecordTable; 3] = [Self::Messages, Self::Summaries, Self::Notes];

    fn name(self) -> &'static str {
        match self {
            Self::Messages => "messages",
            Self::Summaries => "interaction_summaries",
            Self::Notes => "notes",
        }
    }
}

/// A tenant's messages from `first` to `last` (a window of [`record_window`]) not in the index.
pub async fn unindexed_messages<C: Executor>(
    conn: &C,
    tenant_id: Uuid,
    first: Uuid,
    last: Uuid,
) -> Result<Vec<message::Model>, DbErr> {
    conn.raw::<message::Entity>(unindexed(
        RecordTable::Messages,
        tenant_id,
        (first, last),
        conn.backend(),
    ))
    .await
}

/// Summaries from `first` to `last` not in the index.
pub async fn unindexed_summaries<C: Executor>(
    conn: &C,
    tenant_id: Uuid,
    first: Uuid,
    last: Uuid,
) -> Result<Vec<interaction_summary::Model>, DbErr> {
    conn.raw::<interaction_summary::Entity>(unindexed(
        RecordTable::Summaries,
        tenant_id,
        (first, last),
        conn.backend(),
    ))
    .await
}

/// Notes from `first` to `last` not in the index.
pub async fn unindexed_notes<C: Executor>(
    conn: &C,
    tenant_id: Uuid,
    first: Uuid,
    last: Uuid,
) -> Result<Vec<note::Model>, DbErr> {
    conn.raw::<note::Entity>(unindexed(
        RecordTable::Notes,
        tenant_id,
        (first, last),
        conn.backend(),
    ))
    .await
}

fn unindexed(
    table: RecordTable,
    tenant_id: Uuid,
    (first, last): (Uuid, Uuid),
    backend: DatabaseBackend,
) -> Statement {
    Statement::from_sql_and_values(
        backend,
        format!(
            "SELECT r.* FROM {} r LEFT JOIN search_documents d \
             ON d.tenant_id = r.tenant_id AND d.id = r.id \
             WHERE d.id IS NULL AND r.tenant_id = $1 AND r.id >= $2 AND r.id <= $3",
            table.name()
        ),
        vec![tenant_id.into(), first.into(), last.into()],
    )
}
