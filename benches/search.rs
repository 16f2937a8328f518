//! Retrieval quality of `search` on the labelled set in `benches/data/search/` (see its
//! README): recall@5 and @10 of memodesk's lexical search (the database's index: FTS5 or
//! PostgreSQL) against a plain BM25 over the same texts (whitespace words, lowercased, no
//! stemming, no Hebrew handling), per question type and language.
//!
//! `cargo bench --bench search` (about a second of work: `--profile dev` is enough);
//! `MEMODESK_BENCH_POSTGRES_URL=postgres://…/db` runs it on PostgreSQL, migrating that database
//! and writing under a new tenant (use a scratch database).

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Duration, Utc};
use memodesk::db::{Db, PoolOptions};
use memodesk::domain::search::{SearchKind, SearchQuery};
use memodesk::domain::{Channel, MessageRole};
use memodesk::repo::search::{SearchDocument, SearchFilter, index_new, lexical};
use serde_json::Value;
use uuid::Uuid;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/data/search");

/// One text of the corpus.
struct Text {
    label: String,
    lead: String,
    kind: SearchKind,
    channel: Option<Channel>,
    role: Option<MessageRole>,
    at: DateTime<Utc>,
    text: String,
}

struct Question {
    lang: String,
    kind: String,
    query: String,
    lead: Option<String>,
    relevant: Vec<String>,
}

fn channel(name: &str) -> Channel {
    match name {
        "whatsapp" => Channel::Whatsapp,
        "phone" => Channel::Call,
        "email" => Channel::Email,
        "sms" => Channel::Sms,
        _ => Channel::Web,
    }
}

fn load() -> anyhow::Result<(Vec<Text>, Vec<Question>)> {
    let mut texts = Vec::new();
    for line in std::fs::read_to_string(format!("{DATA}/conversations.jsonl"))?.lines() {
        let c: Value = serde_json::from_str(line)?;
        let lead = c["lead"].as_str().unwrap_or_default().to_owned();
        let at: DateTime<Utc> = c["started_at"].as_str().unwrap_or_default().parse()?;
        let ch = channel(c["channel"].as_str().unwrap_or_default());
        for (i, m) in c["messages"].as_array().into_iter().flatten().enumerate() {
            texts.push(Text {
                label: m["id"].as_str().unwrap_or_default().to_owned(),
                lead: lead.clone(),
                kind: SearchKind::Message,
                channel: Some(ch),
                role: Some(if m["role"] == "customer" {
                    MessageRole::Customer
                } else {
                    MessageRole::Agent
                }),
                at: at + Duration::minutes(i as i64),
                text: m["text"].as_str().unwrap_or_default().to_owned(),
            });
        }
        if let Some(s) = c["summary"].as_object() {
            texts.push(Text {
                label: s["id"].as_str().unwrap_or_default().to_owned(),
                lead: lead.clone(),
                kind: SearchKind::Summary,
                channel: Some(ch),
                role: None,
                at: at + Duration::hours(1),
                text: s["text"].as_str().unwrap_or_default().to_owned(),
            });
        }
        for n in c["notes"].as_array().into_iter().flatten() {
            texts.push(Text {
                label: n["id"].as_str().unwrap_or_default().to_owned(),
                lead: lead.clone(),
                kind: SearchKind::Note,
                channel: None,
                role: None,
                at: at + Duration::hours(2),
                text: n["text"].as_str().unwrap_or_default().to_owned(),
            });
        }
    }
    let mut questions = Vec::new();
    for line in std::fs::read_to_string(format!("{DATA}/questions.jsonl"))?.lines() {
        let q: Value = serde_json::from_str(line)?;
        questions.push(Question {
            lang: q["lang"].as_str().unwrap_or_default().to_owned(),
            kind: q["type"].as_str().unwrap_or_default().to_owned(),
            query: q["query"].as_str().unwrap_or_default().to_owned(),
            lead: q["lead"].as_str().map(str::to_owned),
            relevant: q["relevant"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|r| r.as_str().map(str::to_owned))
                .collect(),
        });
    }
    Ok((texts, questions))
}

/// Plain BM25 (k1 = 1.2, b = 0.75) over lowercased whitespace words, any query word.
struct Bm25 {
    docs: Vec<(usize, HashMap<String, f64>, f64)>,
    df: HashMap<String, f64>,
    avg_len: f64,
}

fn plain_words(text: &str) -> Vec<String> {
    text.split_whitespace()
        .map(|w| {
            w.trim_matches(|c: char| !c.is_alphanumeric())
                .to_lowercase()
        })
        .filter(|w| !w.is_empty())
        .collect()
}

impl Bm25 {
    fn new(texts: &[Text]) -> Self {
        let mut docs = Vec::new();
        let mut df: HashMap<String, f64> = HashMap::new();
        let mut total = 0.0;
        for (i, t) in texts.iter().enumerate() {
            let words = plain_words(&t.text);
            let mut tf: HashMap<String, f64> = HashMap::new();
            for w in &words {
                *tf.entry(w.clone()).or_default() += 1.0;
            }
            for w in tf.keys() {
                *df.entry(w.clone()).or_default() += 1.0;
            }
            total += words.len() as f64;
            docs.push((i, tf, words.len() as f64));
        }
        let avg_len = total / docs.len().max(1) as f64;
        Self { docs, df, avg_len }
    }

    fn search(&self, texts: &[Text], query: &str, lead: Option<&str>) -> Vec<usize> {
        let n = self.docs.len() as f64;
        let words = plain_words(query);
        let mut scored: Vec<(f64, usize)> = self
            .docs
            .iter()
            .filter(|(i, _, _)| lead.is_none_or(|l| texts[*i].lead == l))
            .filter_map(|(i, tf, len)| {
                let mut score = 0.0;
                for w in &words {
                    let Some(f) = tf.get(w) else { continue };
                    let df = self.df.get(w).copied().unwrap_or(0.0);
                    let idf = ((n - df + 0.5) / (df + 0.5) + 1.0).ln();
                    score += idf * f * 2.2 / (f + 1.2 * (0.25 + 0.75 * len / self.avg_len));
                }
                (score > 0.0).then_some((score, *i))
            })
            .collect();
        scored.sort_by(|a, b| b.0.total_cmp(&a.0));
        scored.into_iter().map(|(_, i)| i).take(10).collect()
    }
}

/// Recall@5 and @10 sums, and how many questions.
#[derive(Default, Clone, Copy)]
struct Score {
    at5: f64,
    at10: f64,
    n: usize,
}

impl Score {
    fn add(&mut self, found: &[String], relevant: &[String]) {
        let hit = |k: usize| {
            relevant
                .iter()
                .filter(|r| found.iter().take(k).any(|f| f == *r))
                .count() as f64
                / relevant.len().max(1) as f64
        };
        self.at5 += hit(5);
        self.at10 += hit(10);
        self.n += 1;
    }

    fn show(&self) -> String {
        let n = self.n.max(1) as f64;
        format!("{:>5.3} {:>5.3}", self.at5 / n, self.at10 / n)
    }
}

fn main() -> anyhow::Result<()> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(run())
}

async fn run() -> anyhow::Result<()> {
    let (texts, questions) = load()?;
    let dir = tempfile::tempdir()?;
    let url = std::env::var("MEMODESK_BENCH_POSTGRES_URL")
        .unwrap_or_else(|_| format!("sqlite://{}", dir.path().join("search.db").display()));
    let db = Db::connect(&url, PoolOptions::default()).await?;
    db.migrate().await?;
    let now = Utc::now();
    let tenant = memodesk::services::tenants::create(&db, "Search bench", now)
        .await
        .map_err(|e| anyhow::anyhow!("tenant: {e:?}"))?;
    let mut leads: HashMap<String, Uuid> = HashMap::new();
    let mut ids: Vec<Uuid> = Vec::new();
    let mut by_id: HashMap<Uuid, usize> = HashMap::new();
    for (i, t) in texts.iter().enumerate() {
        leads.entry(t.lead.clone()).or_insert_with(Uuid::now_v7);
        let id = Uuid::now_v7();
        ids.push(id);
        by_id.insert(id, i);
    }
    let docs: Vec<SearchDocument<'_>> = texts
        .iter()
        .zip(&ids)
        .map(|(t, id)| SearchDocument {
            tenant_id: tenant.id,
            id: *id,
            kind: t.kind,
            lead_id: leads[&t.lead],
            session_id: None,
            channel: t.channel,
            role: t.role,
            occurred_at: t.at,
            text: &t.text,
        })
        .collect();
    index_new(db.writer(), &docs).await?;

    let bm25 = Bm25::new(&texts);
    let mut ours: BTreeMap<(String, String), Score> = BTreeMap::new();
    let mut plain: BTreeMap<(String, String), Score> = BTreeMap::new();
    for q in &questions {
        let filter = SearchFilter {
            lead_id: q.lead.as_ref().map(|l| leads[l]),
            ..SearchFilter::default()
        };
        // As `search` does: every word first, any word when no text has them all.
        let mut found = Vec::new();
        if let Ok(parsed) = SearchQuery::parse(&q.query, "query") {
            found = lexical(db.reader(), tenant.id, &parsed, &filter, 10, 0).await?;
            if found.is_empty()
                && parsed.is_plain()
                && let Some(any) = SearchQuery::any_of(&q.query)
            {
                found = lexical(db.reader(), tenant.id, &any, &filter, 10, 0).await?;
            }
        }
        let found: Vec<String> = found
            .iter()
            .filter_map(|h| by_id.get(&h.id).map(|&i| texts[i].label.clone()))
            .collect();
        let baseline: Vec<String> = bm25
            .search(&texts, &q.query, q.lead.as_deref())
            .into_iter()
            .map(|i| texts[i].label.clone())
            .collect();
        for key in [
            (q.lang.clone(), q.kind.clone()),
            (q.lang.clone(), "all".into()),
            ("all".into(), "all".into()),
        ] {
            ours.entry(key.clone())
                .or_default()
                .add(&found, &q.relevant);
            plain.entry(key).or_default().add(&baseline, &q.relevant);
        }
    }
    println!(
        "search retrieval quality on {} ({} texts, {} questions)",
        if url.starts_with("postgres") {
            "PostgreSQL"
        } else {
            "SQLite"
        },
        texts.len(),
        questions.len()
    );
    println!(
        "{:<4} {:<14} {:>4}  {:>11}  {:>11}",
        "lang", "type", "n", "lexical @5 @10", "bm25 @5 @10"
    );
    for (key, score) in &ours {
        println!(
            "{:<4} {:<14} {:>4}  {}  {}",
            key.0,
            key.1,
            score.n,
            score.show(),
            plain[key].show()
        );
    }
    Ok(())
}
