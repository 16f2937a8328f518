//! Retention under load: the daily retention run deletes expired messages (and the sessions
//! they leave empty) while 8 clients keep recording messages; deletion throughput, the
//! longest batch, and the ingest latency during the run against ingest alone, measured in the
//! same run on the same server and database (target: p99 at most 2× its own baseline).
//!
//! `cargo bench --bench retention`; sizes and backend from `MEMODESK_BENCH_*` (see
//! `common::Config`).

#[allow(dead_code)]
mod common;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use memodesk::domain::StaffRole;
use sea_orm::{ConnectionTrait, Statement};
use serde_json::json;

use common::dataset;
use common::{BenchDb, Config, GqlClient, Server, step};

const RECORD: &str = r#"mutation Record($input: RecordMessageInput!) {
  recordMessage(input: $input) { message { id } }
}"#;

/// Messages per simulated conversation (then the client moves on to a new customer).
const PER_CONVERSATION: u64 = 6;
const P99_TARGET: f64 = 2.0;

fn main() -> anyhow::Result<()> {
    common::init();
    let config = Config::from_env(4_000)?;
    common::runtime()?.block_on(run(config))
}

async fn run(config: Config) -> anyhow::Result<()> {
    let db = BenchDb::create(&config, "retention").await?;
    step(&format!(
        "generating {} leads / {} messages on {}",
        config.leads,
        config.messages,
        config.backend()
    ));
    let data = dataset::generate(&db.url, config.size()).await?;
    let dataset_line = common::describe_dataset(&data, db.size_bytes().await?);
    step(&dataset_line);
    let engine = common::engine(&db.url).await;
    db.settle()?;

    step("starting the server");
    let server = Server::start(&db.url).await?;
    let token = server.token(data.big_tenant().id, StaffRole::Agent)?;
    let clients: Vec<Arc<GqlClient>> = (0..config.clients)
        .map(|_| GqlClient::new(&server, &token).map(Arc::new))
        .collect::<anyhow::Result<_>>()?;
    let per_client = (config.samples / config.clients) as u64;

    step("warm-up");
    ingest(&clients, "warm", (per_client / 10).max(10), None).await?;
    step("ingest alone");
    let alone = ingest(&clients, "alone", per_client, None).await?;

    // Everything but the live conversations is now past a one-day message retention.
    let expired_before = data.anchor - chrono::Duration::days(1);
    let writer = server.state.db.writer();
    let backend = writer.get_database_backend();
    let expired: i64 = writer
        .query_one_raw(Statement::from_sql_and_values(
            backend,
            if backend == sea_orm::DatabaseBackend::Postgres {
                "SELECT COUNT(*) FROM messages WHERE occurred_at < $1"
            } else {
                "SELECT COUNT(*) FROM messages WHERE occurred_at < ?"
            },
            [expired_before.into()],
        ))
        .await?
        .and_then(|row| row.try_get_by_index(0).ok())
        .unwrap_or(0);
    writer
        .execute_raw(Statement::from_string(
            backend,
            "UPDATE tenants SET message_retention_days = 1",
        ))
        .await?;

    step(&format!(
        "retention: deleting {expired} expired messages while {} clients record",
        config.clients
    ));
    let done = Arc::new(AtomicBool::new(false));
    let batches = Arc::new(Mutex::new(histogram()));
    let state = server.state.clone();
    let retention = {
        let done = done.clone();
        let batches = batches.clone();
        tokio::spawn(async move {
            let last = Mutex::new(Instant::now());
            let rows = AtomicU64::new(0);
            let started = Instant::now();
            let progress = |total: u64| {
                let mut last = last.lock().unwrap_or_else(|e| e.into_inner());
                let gap = last.elapsed();
                *last = Instant::now();
                rows.store(total, Ordering::Relaxed);
                let _ = batches
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .record(gap.as_nanos().max(1) as u64);
            };
            let report = memodesk::services::privacy::retention::run(&state, None, &progress).await;
            let wall = started.elapsed();
            done.store(true, Ordering::Release);
            report.map(|r| (r, wall))
        })
    };
    let during = ingest(&clients, "during", u64::MAX, Some(done.clone())).await?;
    let (report, wall) = retention
        .await?
        .map_err(|e| anyhow::anyhow!(e.describe()))?;
    let deleted: u64 = report
        .values()
        .map(|c| c.get("messages").copied().unwrap_or(0))
        .sum();
    let sessions: u64 = report
        .values()
        .map(|c| c.get("sessions").copied().unwrap_or(0))
        .sum();
    let batches = batches.lock().unwrap_or_else(|e| e.into_inner()).clone();
    server.stop().await?;

    println!();
    println!("retention under ingest load — {}", common::machine());
    println!("{engine}; {dataset_line}");
    println!(
        "deleted {deleted} messages (of {expired} expired) and {sessions} emptied sessions in \
         {:.1} s: {:.0} messages/s; {} batches, time between batch commits p50 {:.1} ms, \
         p99 {:.1} ms, max {:.1} ms",
        wall.as_secs_f64(),
        deleted as f64 / wall.as_secs_f64(),
        batches.len(),
        batches.value_at_percentile(50.0) as f64 / 1e6,
        batches.value_at_percentile(99.0) as f64 / 1e6,
        batches.max() as f64 / 1e6,
    );
    let line = |label: &str, p: &Phase| {
        println!(
            "recordMessage {label:>15}: {:>6} requests, {:>7.0} req/s, p50 {:>7.2} ms, \
             p99 {:>7.2} ms, max {:>8.2} ms",
            p.hist.len(),
            p.hist.len() as f64 / p.wall.as_secs_f64(),
            p.ms(50.0),
            p.ms(99.0),
            p.hist.max() as f64 / 1e6,
        )
    };
    line("alone", &alone);
    line("during retention", &during);
    let p99_ratio = during.ms(99.0) / alone.ms(99.0);
    println!(
        "ratios during/alone: p50 {:.2}×, p99 {:.2}× (target ≤ {P99_TARGET}×: {})",
        during.ms(50.0) / alone.ms(50.0),
        p99_ratio,
        common::verdict(p99_ratio <= P99_TARGET),
    );
    if config.smoke {
        anyhow::ensure!(deleted > 0, "the smoke run deleted nothing");
    }
    Ok(())
}

struct Phase {
    hist: Histogram<u64>,
    wall: Duration,
}

impl Phase {
    fn ms(&self, percentile: f64) -> f64 {
        self.hist.value_at_percentile(percentile) as f64 / 1e6
    }
}

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000_000, 3).expect("valid histogram bounds")
}

/// Each client records messages back to back (a closed loop) until it sent `per_client` or
/// `stop` is set; new customers every few messages, on the web channel.
async fn ingest(
    clients: &[Arc<GqlClient>],
    phase: &'static str,
    per_client: u64,
    stop: Option<Arc<AtomicBool>>,
) -> anyhow::Result<Phase> {
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (c, client) in clients.iter().enumerate() {
        let client = client.clone();
        let stop = stop.clone();
        tasks.push(tokio::spawn(async move {
            let mut hist = histogram();
            let mut i = 0u64;
            while i < per_client && !stop.as_ref().is_some_and(|s| s.load(Ordering::Acquire)) {
                let body = common::gql_body(
                    RECORD,
                    json!({ "input": {
                        "channel": "WEB",
                        "externalUserId": format!("retention-{phase}-{c}-{}", i / PER_CONVERSATION),
                        "content": format!("Is the Lisbon package still on offer? ({i})"),
                    } }),
                );
                let t = Instant::now();
                client.post(body).await?;
                hist.record(t.elapsed().as_nanos().max(1) as u64)?;
                i += 1;
            }
            Ok::<_, anyhow::Error>(hist)
        }));
    }
    let mut hist = histogram();
    for task in tasks {
        hist.add(task.await??)?;
    }
    Ok(Phase {
        hist,
        wall: started.elapsed(),
    })
}
