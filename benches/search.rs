//! Retrieval quality of `search` on the labelled set in `benches/data/search/` (see its
//! README): recall@5 and @10 of memodesk's lexical search (the database's index: FTS5 or
//! PostgreSQL), of its semantic ranking and of the two fused (weighted reciprocal rank fusion,
//! as `search` fuses them), against a plain BM25 over the same texts (whitespace words,
//! lowercased, no stemming, no Hebrew handling), per question type and language.
//!
//! The semantic side needs an embedding model and the bench downloads none: it builds a
//! model2vec-format static model from the corpus's own texts (never the questions) by random
//! indexing (each word: the idf-weighted sum of random sparse vectors of the words it shares a
//! text with, plus its own), writes it to a temporary directory and loads it with the same
//! `StaticModelEmbedder` the server uses. It is a small distributional model of 60
//! conversations, not a pretrained one: its figures say what the plumbing does, not what a
//! real model would.
//!
//! `cargo bench --bench search` (about a second of work: `--profile dev` is enough);
//! `MEMODESK_BENCH_POSTGRES_URL=postgres://…/db` runs it on PostgreSQL, migrating that database
//! and writing under a new tenant (use a scratch database).

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Duration, Utc};
use memodesk::db::{Db, PoolOptions};
use memodesk::domain::search::{SearchKind, SearchQuery};
use memodesk::domain::{Channel, MessageRole};
use memodesk::llm::embeddings::{self, Embedder, StaticModelEmbedder};
use memodesk::repo::search::{
    NewVector, SearchDocument, SearchFilter, index_new, lexical, store_vectors, vectors,
};
use memodesk::services::search::{fused_ids, rank_by_similarity};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
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

/// Words as the model's tokenizer sees them: runs of letters, digits and `_`, lowercased.
fn model_words(text: &str) -> Vec<String> {
    text.split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// A word's random index vector: a few ±1 entries at places drawn from a seed of the word.
fn index_vector(word: &str, dims: usize) -> Vec<f32> {
    let seed = word.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    let mut rng = SmallRng::seed_from_u64(seed);
    let mut v = vec![0.0; dims];
    for _ in 0..8 {
        let at = rng.random_range(0..dims);
        v[at] += if rng.random_bool(0.5) { 1.0 } else { -1.0 };
    }
    v
}

/// The corpus's random-indexing model: word → vector (see the module's opening).
fn corpus_model(texts: &[Text], dims: usize) -> Vec<(String, Vec<f32>)> {
    let docs: Vec<Vec<String>> = texts
        .iter()
        .map(|t| {
            let mut words = model_words(&t.text);
            words.sort();
            words.dedup();
            words
        })
        .collect();
    let mut df: HashMap<String, f64> = HashMap::new();
    for doc in &docs {
        for w in doc {
            *df.entry(w.clone()).or_default() += 1.0;
        }
    }
    let n = docs.len() as f64;
    let idf = |w: &str| (n / df.get(w).copied().unwrap_or(1.0)).ln().max(0.05) as f32;
    let mut context: HashMap<String, Vec<f32>> = HashMap::new();
    for doc in &docs {
        for w in doc {
            let sum = context.entry(w.clone()).or_insert_with(|| vec![0.0; dims]);
            for u in doc.iter().filter(|u| *u != w) {
                let weight = idf(u);
                for (s, x) in sum.iter_mut().zip(index_vector(u, dims)) {
                    *s += weight * x;
                }
            }
        }
    }
    let mut vocab: Vec<(String, Vec<f32>)> = context
        .into_iter()
        .map(|(w, c)| {
            let c = embeddings::normalized(c);
            let own = embeddings::normalized(index_vector(&w, dims));
            let weight = idf(&w);
            let v = c.iter().zip(&own).map(|(a, b)| weight * (a + b)).collect();
            (w, v)
        })
        .collect();
    vocab.sort_by(|a, b| a.0.cmp(&b.0));
    vocab
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
            terms: None,
        })
        .collect();
    index_new(db.writer(), &docs).await?;

    let model_dir = tempfile::tempdir()?;
    embeddings::write_static_model(model_dir.path(), &corpus_model(&texts, 256))?;
    let model = StaticModelEmbedder::load(model_dir.path())?;
    let all: Vec<String> = texts.iter().map(|t| t.text.clone()).collect();
    let stored: Vec<NewVector> = model
        .encode_now(&all)
        .into_iter()
        .zip(texts.iter().zip(&ids))
        .map(|(v, (t, id))| NewVector {
            id: *id,
            lead_id: leads[&t.lead],
            vector: embeddings::normalized(v),
        })
        .collect();
    store_vectors(db.writer(), tenant.id, model.model_id(), &stored, now).await?;
    let defaults = memodesk::config::Settings::default();

    let bm25 = Bm25::new(&texts);
    let mut ours: BTreeMap<(String, String), Score> = BTreeMap::new();
    let mut meaning: BTreeMap<(String, String), Score> = BTreeMap::new();
    let mut fused: BTreeMap<(String, String), Score> = BTreeMap::new();
    let mut plain: BTreeMap<(String, String), Score> = BTreeMap::new();
    for q in &questions {
        let filter = SearchFilter {
            lead_id: q.lead.as_ref().map(|l| leads[l]),
            ..SearchFilter::default()
        };
        // As `search` does: every word first, any word when no text has them all.
        let mut found = Vec::new();
        if let Ok(parsed) = SearchQuery::parse(&q.query, "query") {
            // A page of 20 (and one more), as `search` reads the lexical ranking to fuse it.
            found = lexical(db.reader(), tenant.id, &parsed, &filter, 21, 0).await?;
            if found.is_empty()
                && parsed.is_plain()
                && let Some(any) = SearchQuery::any_of(&q.query)
            {
                found = lexical(db.reader(), tenant.id, &any, &filter, 21, 0).await?;
            }
        }
        let query_vector = embeddings::normalized(
            model
                .encode_now(std::slice::from_ref(&q.query))
                .pop()
                .unwrap_or_default(),
        );
        let candidates = vectors(db.reader(), tenant.id, model.model_id(), &filter).await?;
        let by_meaning =
            rank_by_similarity(&query_vector, &candidates, defaults.search_min_similarity);
        let both = fused_ids(&found, &by_meaning, defaults.search_semantic_weight);
        let label = |id: &Uuid| by_id.get(id).map(|&i| texts[i].label.clone());
        let semantic_found: Vec<String> = by_meaning.iter().filter_map(|h| label(&h.0)).collect();
        let fused_found: Vec<String> = both.iter().filter_map(label).collect();
        let found: Vec<String> = found.iter().filter_map(|h| label(&h.id)).collect();
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
            meaning
                .entry(key.clone())
                .or_default()
                .add(&semantic_found, &q.relevant);
            fused
                .entry(key.clone())
                .or_default()
                .add(&fused_found, &q.relevant);
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
        "semantic: {} (random indexing over the corpus, {} dims, min similarity {}), fused with \
         weight {} (k = 60)",
        model.model_id(),
        256,
        defaults.search_min_similarity,
        defaults.search_semantic_weight
    );
    println!(
        "{:<4} {:<14} {:>4}  {:>11}  {:>11}  {:>11}  {:>11}",
        "lang", "type", "n", "lexical @5 @10", "semantic", "fused", "bm25 @5 @10"
    );
    for (key, score) in &ours {
        println!(
            "{:<4} {:<14} {:>4}  {}  {}  {}  {}",
            key.0,
            key.1,
            score.n,
            score.show(),
            meaning[key].show(),
            fused[key].show(),
            plain[key].show()
        );
    }
    Ok(())
}
