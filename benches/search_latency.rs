//! `search` latency over HTTP (8 concurrent clients), tenant-wide and per lead, against the same
//! lexical statement run directly on FTS5 / PostgreSQL in the same run.
//!
//! The generated dataset (`common::dataset`) is written with raw INSERTs, so its search index
//! is filled the way an operator fills one for old data: `memodesk search reindex`
//! (`services::embeddings::reindex`), timed. Queries are words taken from the stored messages
//! (one per sampled message; per lead, a word of that lead's message, filtered to the lead).
//!
//! `cargo bench --bench search_latency`; sizes and backend from `MEMODESK_BENCH_*` (see
//! `common::Config`).

#[allow(dead_code)]
mod common;

use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use memodesk::domain::StaffRole;
use memodesk::domain::search::SearchQuery;
use memodesk::repo::search::{SearchFilter, lexical_statement};
use rand::rngs::SmallRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};
use serde_json::json;
use uuid::Uuid;

use common::{BenchDb, Config, GqlClient, Run, Server, dataset, step};

/// What a staff search screen asks for.
const SEARCH_QUERY: &str = r#"query Search($q: String!, $filter: SearchFilter) {
  search(query: $q, filter: $filter, first: 20) {
    relaxed semantic
    nodes { kind score lexicalRank snippet
      record { ... on Message { id occurredAt } ... on InteractionSummary { id } ... on Note { id } } }
  }
}"#;

/// One measured search: the words, and the lead it is limited to (if any).
#[derive(Clone, Debug)]
struct Probe {
    words: String,
    lead: Option<Uuid>,
}

fn main() -> anyhow::Result<()> {
    common::init();
    common::runtime()?.block_on(run())
}

async fn run() -> anyhow::Result<()> {
    let config = Config::from_env(2_000)?;
    step(&format!(
        "generating {} leads / {} messages on {}",
        config.leads,
        config.messages,
        config.backend()
    ));
    let db = BenchDb::create(&config, "search").await?;
    let data = dataset::generate(&db.url, config.size()).await?;
    let tenant = data.big_tenant().id;

    let server = Server::start(&db.url).await?;
    step("indexing the generated records (memodesk search reindex)");
    let started = Instant::now();
    let report = memodesk::services::embeddings::reindex(&server.state, None, &|_| {})
        .await
        .map_err(|e| anyhow::anyhow!(e.describe()))?;
    let index_secs = started.elapsed().as_secs_f64();
    db.settle()?;
    let bytes = db.size_bytes().await?;

    step("choosing queries");
    // The app's connection setup (it registers the rank function the statement calls), as a
    // pool of its own.
    let raw_db = memodesk::db::Db::connect(&db.url, Default::default()).await?;
    let raw = raw_db.reader().clone();
    let (tenant_wide, per_lead) = probes(&raw, tenant, config.samples, config.seed).await?;

    let token = server.token(tenant, StaffRole::Viewer)?;
    let clients: Vec<Arc<GqlClient>> = (0..config.clients)
        .map(|_| GqlClient::new(&server, &token).map(Arc::new))
        .collect::<anyhow::Result<_>>()?;
    // The first search of a word pays for loading its pages; warm both paths alike.
    let warm: Vec<Probe> = tenant_wide.iter().take(200).cloned().collect();
    http(&clients, &warm, &config, true).await?;
    let http_tenant = http(&clients, &tenant_wide, &config, false).await?;
    let http_lead = http(&clients, &per_lead, &config, false).await?;
    server.stop().await?;

    step("raw statement baseline");
    let raw = Arc::new(raw);
    direct(&raw, tenant, &warm, &config, true).await?;
    let raw_tenant = direct(&raw, tenant, &tenant_wide, &config, false).await?;
    let raw_lead = direct(&raw, tenant, &per_lead, &config, false).await?;

    println!(
        "search latency on {}; {}",
        common::engine(&db.url).await,
        common::machine()
    );
    println!("dataset: {}", common::describe_dataset(&data, bytes));
    println!(
        "index backfill (memodesk search reindex): {} records in {:.1} s ({:.0} records/s)",
        report.indexed,
        index_secs,
        report.indexed as f64 / index_secs
    );
    println!(
        "{} clients; {} tenant-wide and {} per-lead searches (one word each, first 20 hits)",
        config.clients, http_tenant.ops, http_lead.ops
    );
    println!(
        "{:<34} {:>9} {:>9} {:>9} {:>10}",
        "", "p50 ms", "p99 ms", "max ms", "req/s"
    );
    for (label, run) in [
        ("search over HTTP, tenant-wide", &http_tenant),
        ("raw statement, tenant-wide", &raw_tenant),
        ("search over HTTP, one lead", &http_lead),
        ("raw statement, one lead", &raw_lead),
    ] {
        println!(
            "{label:<34} {:>9.2} {:>9.2} {:>9.2} {:>10.0}{}",
            run.ms(50.0),
            run.ms(99.0),
            run.max_ms(),
            run.ops_per_sec(),
            run.cut_note()
        );
    }
    let ratio = |a: &Run, b: &Run, p: f64| a.ms(p) / b.ms(p).max(1e-6);
    println!(
        "HTTP / raw: tenant-wide p50 {:.2}x p99 {:.2}x; one lead p50 {:.2}x p99 {:.2}x",
        ratio(&http_tenant, &raw_tenant, 50.0),
        ratio(&http_tenant, &raw_tenant, 99.0),
        ratio(&http_lead, &raw_lead, 50.0),
        ratio(&http_lead, &raw_lead, 99.0),
    );
    let p99 = http_tenant.ms(99.0);
    let within_ratio = ratio(&http_tenant, &raw_tenant, 99.0) <= 2.0;
    if config.backend() == "sqlite" {
        println!(
            "target: tenant-wide p99 <= 20 ms: {:.2} ms {}; <= 2x raw: {}",
            p99,
            common::verdict(p99 <= 20.0),
            common::verdict(within_ratio)
        );
    } else {
        println!(
            "target: tenant-wide p99 <= 2x raw: {}",
            common::verdict(within_ratio)
        );
    }
    Ok(())
}

/// Words of randomly chosen stored messages: `n` tenant-wide probes and `n` per-lead ones.
async fn probes(
    conn: &DatabaseConnection,
    tenant: Uuid,
    n: usize,
    seed: u64,
) -> anyhow::Result<(Vec<Probe>, Vec<Probe>)> {
    let backend = conn.get_database_backend();
    let count: i64 = conn
        .query_one_raw(Statement::from_sql_and_values(
            backend,
            "SELECT COUNT(*) FROM messages WHERE tenant_id = $1",
            [tenant.into()],
        ))
        .await?
        .context("count")?
        .try_get_by_index(0)?;
    let mut rng = SmallRng::seed_from_u64(seed);
    let mut sampled: Vec<(Uuid, String)> = Vec::new();
    // Sample by offset windows so the probes spread over the whole history.
    let windows = 20usize;
    for _ in 0..windows {
        let offset = rng.random_range(0..count.max(1));
        let rows = conn
            .query_all_raw(Statement::from_sql_and_values(
                backend,
                format!(
                    "SELECT lead_id, content FROM messages WHERE tenant_id = $1 \
                     LIMIT {} OFFSET {offset}",
                    2 * n / windows + 1
                ),
                [tenant.into()],
            ))
            .await?;
        for row in rows {
            sampled.push((row.try_get_by_index(0)?, row.try_get_by_index(1)?));
        }
    }
    let word = |rng: &mut SmallRng, text: &str| -> Option<String> {
        let words: Vec<&str> = text
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| w.chars().count() >= 4)
            .collect();
        words.choose(rng).map(|w| w.to_string())
    };
    let mut tenant_wide = Vec::new();
    let mut per_lead = Vec::new();
    for (i, (lead, content)) in sampled.iter().enumerate() {
        let Some(w) = word(&mut rng, content) else {
            continue;
        };
        if i % 2 == 0 && tenant_wide.len() < n {
            tenant_wide.push(Probe {
                words: w,
                lead: None,
            });
        } else if per_lead.len() < n {
            per_lead.push(Probe {
                words: w,
                lead: Some(*lead),
            });
        }
    }
    Ok((tenant_wide, per_lead))
}

async fn http(
    clients: &[Arc<GqlClient>],
    probes: &[Probe],
    config: &Config,
    warmup: bool,
) -> anyhow::Result<Run> {
    let bodies: Vec<Vec<u8>> = probes
        .iter()
        .map(|p| {
            let filter = p.lead.map(|l| json!({ "leadId": l }));
            common::gql_body(SEARCH_QUERY, json!({ "q": p.words, "filter": filter }))
        })
        .collect();
    let hands = common::deal(bodies, clients.len());
    let work = clients.iter().cloned().zip(hands).collect();
    let label = if warmup {
        "warm-up"
    } else if probes.first().is_some_and(|p| p.lead.is_some()) {
        "search, one lead"
    } else {
        "search, tenant-wide"
    };
    common::closed_loop(
        label,
        work,
        config.deadline(warmup),
        |client: Arc<GqlClient>, body| async move {
            client.post(body).await?;
            Ok(1)
        },
    )
    .await
}

/// The statement `search` runs first (the lexical ranking, 21 rows for a page of 20), sent
/// straight to the database over a pool of its own.
async fn direct(
    conn: &Arc<DatabaseConnection>,
    tenant: Uuid,
    probes: &[Probe],
    config: &Config,
    warmup: bool,
) -> anyhow::Result<Run> {
    let backend = conn.get_database_backend();
    let statements: Vec<Statement> = probes
        .iter()
        .filter_map(|p| {
            let query = SearchQuery::parse(&p.words, "query").ok()?;
            let filter = SearchFilter {
                lead_id: p.lead,
                ..SearchFilter::default()
            };
            Some(lexical_statement(backend, tenant, &query, &filter, 21, 0))
        })
        .collect();
    let hands = common::deal(statements, config.clients);
    let work = hands.into_iter().map(|h| (conn.clone(), h)).collect();
    common::closed_loop(
        if warmup {
            "raw warm-up"
        } else {
            "raw statement"
        },
        work,
        config.deadline(warmup),
        |conn: Arc<DatabaseConnection>, statement| async move {
            let rows = conn.query_all_raw(statement).await?;
            Ok(rows.len().min(1) as u64)
        },
    )
    .await
}
