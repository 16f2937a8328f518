//! CRM export and outbound webhooks (issue 31).
//!
//! 1. Export: `GET /export/leads?format=csv` of the big tenant's leads (default about 100 000:
//!    the generator puts 90% of `MEMODESK_BENCH_LEADS`, default 111 112, in one tenant) over
//!    HTTP from the release `memodesk` binary running as its own process, so its memory is read
//!    from /proc (VmRSS sampled every 2 ms; growth = peak − idle before the first export).
//!    Baseline, same run: the same leads (and their identities) read page by page with plain
//!    SQL through sqlx-backed SeaORM statements, written with the `csv` crate, in this process.
//!    Targets: ≥ 20 000 leads/s, growth < 50 MB.
//! 2. Webhook fan-out: `MEMODESK_BENCH_EVENTS` (10 000) `message.created` events to 5 endpoints
//!    on a local receiver: deliveries/s and event → receipt latency (from the event's
//!    `timestamp`, written in the committing transaction, to its arrival; same machine clock).
//!    Baseline: the same number of signed-size POSTs sent straight to the receiver by a plain
//!    reqwest client with the sender's concurrency (64).
//! 3. Wake-up latency: single events written 10 per second, delivered by a sender woken by the
//!    commit, and by the sender polling every second (`MEMODESK_WEBHOOKS_WAKE_ON_COMMIT=false`,
//!    the behaviour before the wake-up).
//!
//! `cargo bench --bench export`; `MEMODESK_BENCH_POSTGRES_URL=postgres://…` for PostgreSQL.
//! `MEMODESK_BENCH_RUNS` (3) export runs; `MEMODESK_BENCH_PACED` (100) events per wake-up mode.

#[allow(dead_code)]
mod common;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use anyhow::Context;
use axum::http::{HeaderMap, StatusCode};
use common::process::{self, PeakRss, Server, cli, env_usize, mb};
use common::{BenchDb, Config, dataset};
use hdrhistogram::Histogram;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement};
use serde_json::{Value, json};
use uuid::Uuid;

const EXPORT_TARGET_LEADS_PER_SEC: f64 = 20_000.0;
const EXPORT_TARGET_GROWTH_MB: f64 = 50.0;
const ENDPOINTS: usize = 5;
const SENDER_CONCURRENCY: usize = 64;
const PAGE: i64 = 500;

fn main() -> anyhow::Result<()> {
    common::init();
    // Samples and clients are not used here (only the sizes and the database).
    let mut config = Config::from_env(100)?;
    if !config.smoke {
        if std::env::var_os("MEMODESK_BENCH_LEADS").is_none() {
            config.leads = 111_112;
        }
        if std::env::var_os("MEMODESK_BENCH_MESSAGES").is_none() {
            config.messages = config.leads;
        }
    }
    println!(
        "memodesk export & webhook benchmark — {} cores, server process and clients on the same machine, {}",
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        config.backend()
    );
    common::runtime()?.block_on(run(config))
}

async fn run(config: Config) -> anyhow::Result<()> {
    export(&config).await?;
    webhooks(&config).await?;
    Ok(())
}

// ------------------------------------------------------------------------------------------
// 1. Export

struct ExportRun {
    elapsed: Duration,
    rows: usize,
    bytes: usize,
    peak_kib: u64,
}

async fn export(config: &Config) -> anyhow::Result<()> {
    let db = BenchDb::create(config, "export").await?;
    let data = dataset::generate(&db.url, config.size()).await?;
    let tenant = data.big_tenant();
    let expected = tenant.leads.len();
    println!(
        "\n## export: {} leads in the exported tenant ({} in all), generated in {:.1} s",
        expected,
        data.leads.len(),
        data.elapsed.as_secs_f64()
    );
    let token = cli(
        &db.url,
        &[
            "token",
            "--tenant",
            &tenant.id.to_string(),
            "--role",
            "admin",
            "--ttl",
            "4h",
        ],
    );
    let runs = env_usize("MEMODESK_BENCH_RUNS", if config.smoke { 1 } else { 3 }).max(1);
    let server = Server::start(&db.url);
    server.ready().await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let idle_kib = server.rss_kib();
    let http = reqwest::Client::new();
    let mut app_runs = Vec::new();
    for _ in 0..runs {
        let sampler = PeakRss::start(server.pid());
        let started = Instant::now();
        let response = http
            .get(server.http("/export/leads?format=csv"))
            .bearer_auth(&token)
            .send()
            .await?
            .error_for_status()?;
        let body = response.bytes().await?;
        let elapsed = started.elapsed();
        let peak_kib = sampler.finish();
        let rows = csv::Reader::from_reader(body.as_ref())
            .records()
            .collect::<Result<Vec<_>, _>>()
            .context("the export parses as CSV")?
            .len();
        anyhow::ensure!(
            rows == expected,
            "exported {rows} leads, expected {expected}"
        );
        app_runs.push(ExportRun {
            elapsed,
            rows,
            bytes: body.len(),
            peak_kib,
        });
    }
    drop(server);

    let conn = Database::connect(db.url.as_str()).await?;
    let mut raw_runs = Vec::new();
    for _ in 0..runs {
        let started = Instant::now();
        let (rows, bytes) = raw_export(&conn, tenant.id).await?;
        anyhow::ensure!(rows == expected, "baseline read {rows} leads");
        raw_runs.push(ExportRun {
            elapsed: started.elapsed(),
            rows,
            bytes,
            peak_kib: 0,
        });
    }
    conn.close().await?;

    let rate = |r: &ExportRun| r.rows as f64 / r.elapsed.as_secs_f64();
    let summary = |runs: &[ExportRun]| {
        let mut ms: Vec<f64> = runs
            .iter()
            .map(|r| r.elapsed.as_secs_f64() * 1000.0)
            .collect();
        ms.sort_by(f64::total_cmp);
        let mut rates: Vec<f64> = runs.iter().map(rate).collect();
        rates.sort_by(f64::total_cmp);
        // Few runs: the p99 of the run times is the slowest run.
        (ms[ms.len() / 2], ms[ms.len() - 1], rates[rates.len() / 2])
    };
    let (app_ms, app_p99, app_rate) = summary(&app_runs);
    let (raw_ms, raw_p99, raw_rate) = summary(&raw_runs);
    let growth = app_runs
        .iter()
        .map(|r| r.peak_kib.saturating_sub(idle_kib))
        .max()
        .unwrap_or(0);
    println!(
        "{:<44} {:>10} {:>10} {:>12} {:>10}",
        format!("{runs} runs of {expected} leads"),
        "median ms",
        "p99 ms",
        "leads/s",
        "MB out"
    );
    println!(
        "{:<44} {:>10.0} {:>10.0} {:>12.0} {:>10.1}",
        "GET /export/leads?format=csv (server process)",
        app_ms,
        app_p99,
        app_rate,
        app_runs[0].bytes as f64 / 1_048_576.0
    );
    println!(
        "{:<44} {:>10.0} {:>10.0} {:>12.0} {:>10.1}",
        "baseline: plain SQL + csv crate (in process)",
        raw_ms,
        raw_p99,
        raw_rate,
        raw_runs[0].bytes as f64 / 1_048_576.0
    );
    println!(
        "ratio app/baseline: {:.2}× the time (median); server RSS idle {:.1} MB, peak − idle {:.1} MB (worst run)",
        app_ms / raw_ms,
        mb(idle_kib),
        mb(growth)
    );
    println!(
        "verdict: {:.0} leads/s (target ≥ {:.0}): {}; memory growth {:.1} MB (target < {:.0}): {}",
        app_rate,
        EXPORT_TARGET_LEADS_PER_SEC,
        common::verdict(app_rate >= EXPORT_TARGET_LEADS_PER_SEC),
        mb(growth),
        EXPORT_TARGET_GROWTH_MB,
        common::verdict(mb(growth) < EXPORT_TARGET_GROWTH_MB)
    );
    Ok(())
}

/// The baseline: the tenant's leads by id in pages of 500 with their identities, written as
/// CSV rows (id, first and last name, email, phone, language, city, first channel, last
/// channel, last activity, other profile fields, last summary, created, updated).
async fn raw_export(conn: &DatabaseConnection, tenant: Uuid) -> anyhow::Result<(usize, usize)> {
    let backend = conn.get_database_backend();
    let mut after = Uuid::nil();
    let (mut rows, mut bytes) = (0, 0);
    let mut header = true;
    loop {
        let leads = conn
            .query_all_raw(Statement::from_sql_and_values(
                backend,
                "SELECT id, display_name, primary_phone, email, profile, last_summary, \
                 last_channel, last_activity_at, created_at, updated_at FROM leads \
                 WHERE tenant_id = $1 AND id > $2 ORDER BY id LIMIT $3",
                [tenant.into(), after.into(), PAGE.into()],
            ))
            .await?;
        let Some(last) = leads.last() else { break };
        after = last.try_get("", "id")?;
        let ids: Vec<Uuid> = leads
            .iter()
            .map(|l| l.try_get("", "id"))
            .collect::<Result<_, _>>()?;
        let placeholders: Vec<String> = (0..ids.len()).map(|i| format!("${}", i + 2)).collect();
        let mut values: Vec<sea_orm::Value> = vec![tenant.into()];
        values.extend(ids.iter().map(|id| (*id).into()));
        let identities = conn
            .query_all_raw(Statement::from_sql_and_values(
                backend,
                format!(
                    "SELECT lead_id, channel FROM lead_identities WHERE tenant_id = $1 \
                     AND lead_id IN ({}) ORDER BY created_at",
                    placeholders.join(", ")
                ),
                values,
            ))
            .await?;
        let mut first_channel: HashMap<Uuid, String> = HashMap::new();
        for identity in &identities {
            let lead: Uuid = identity.try_get("", "lead_id")?;
            let channel: String = identity.try_get("", "channel")?;
            first_channel.entry(lead).or_insert(channel);
        }
        let mut out = csv::Writer::from_writer(Vec::with_capacity(256 * leads.len()));
        if header {
            out.write_record([
                "memodesk_id",
                "first_name",
                "last_name",
                "email",
                "phone",
                "language",
                "city",
                "first_channel",
                "last_channel",
                "last_activity_at",
                "other_fields",
                "last_summary",
                "created_at",
                "updated_at",
            ])?;
            header = false;
        }
        for lead in &leads {
            let id: Uuid = lead.try_get("", "id")?;
            let name: Option<String> = lead.try_get("", "display_name")?;
            let profile: Value = lead.try_get("", "profile")?;
            let field = |key: &str| {
                profile[key]["value"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned()
            };
            let full = {
                let from_profile = field("name");
                if from_profile.is_empty() {
                    name.unwrap_or_default()
                } else {
                    from_profile
                }
            };
            let (first, last) = full.split_once(' ').unwrap_or((&full, ""));
            let at = |column: &str| -> anyhow::Result<String> {
                let value: chrono::DateTime<chrono::Utc> = lead.try_get("", column)?;
                Ok(value.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
            };
            out.write_record([
                id.to_string(),
                first.to_owned(),
                last.to_owned(),
                lead.try_get::<Option<String>>("", "email")?
                    .unwrap_or_default(),
                lead.try_get::<Option<String>>("", "primary_phone")?
                    .unwrap_or_default(),
                field("preferred_language"),
                field("city"),
                first_channel.get(&id).cloned().unwrap_or_default(),
                lead.try_get::<Option<String>>("", "last_channel")?
                    .unwrap_or_default(),
                at("last_activity_at")?,
                other_fields(&profile),
                lead.try_get::<Option<String>>("", "last_summary")?
                    .unwrap_or_default(),
                at("created_at")?,
                at("updated_at")?,
            ])?;
        }
        let page = out.into_inner().map_err(|e| anyhow::anyhow!("{e}"))?;
        rows += leads.len();
        bytes += page.len();
        if (leads.len() as i64) < PAGE {
            break;
        }
    }
    Ok((rows, bytes))
}

/// The profile's fields without a column of their own, as a JSON object of their values.
fn other_fields(profile: &Value) -> String {
    const OWN: [&str; 10] = [
        "name",
        "email",
        "phone",
        "city",
        "preferred_language",
        "preferred_currency",
        "interests",
        "service_interest",
        "preferences",
        "budget",
    ];
    let others: serde_json::Map<String, Value> = profile
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(k, _)| !OWN.contains(&k.as_str()))
        .filter_map(|(k, f)| Some((k.clone(), f.get("value")?.clone())))
        .collect();
    if others.is_empty() {
        String::new()
    } else {
        Value::Object(others).to_string()
    }
}

// ------------------------------------------------------------------------------------------
// 2 and 3. Webhooks

/// What the local receiver saw: per endpoint, each webhook-id with its event → receipt
/// latency in microseconds.
#[derive(Clone, Default)]
struct Receipts {
    seen: Arc<Mutex<Vec<(usize, String, u64)>>>,
}

impl Receipts {
    async fn start(&self) -> String {
        let me = self.clone();
        let app = axum::Router::new().route(
            "/hook/{n}",
            axum::routing::post(
                move |axum::extract::Path(n): axum::extract::Path<usize>,
                      headers: HeaderMap,
                      body: axum::body::Bytes| {
                    let me = me.clone();
                    async move {
                        let now = SystemTime::now()
                            .duration_since(SystemTime::UNIX_EPOCH)
                            .map_or(0, |d| d.as_micros() as i64);
                        let sent = serde_json::from_slice::<Value>(&body)
                            .ok()
                            .and_then(|v| {
                                v["timestamp"]
                                    .as_str()
                                    .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                            })
                            .map_or(now, |t| t.timestamp_micros());
                        let id = headers
                            .get("webhook-id")
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or_default()
                            .to_owned();
                        me.seen
                            .lock()
                            .unwrap()
                            .push((n, id, (now - sent).max(0) as u64));
                        StatusCode::OK
                    }
                },
            ),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move { axum::serve(listener, app).await.expect("receiver") });
        format!("http://{addr}")
    }

    fn len(&self) -> usize {
        self.seen.lock().unwrap().len()
    }

    fn take(&self) -> Vec<(usize, String, u64)> {
        std::mem::take(&mut *self.seen.lock().unwrap())
    }
}

async fn gql(
    http: &reqwest::Client,
    server: &Server,
    token: &str,
    query: &str,
    variables: Value,
) -> anyhow::Result<Value> {
    let response: Value = http
        .post(server.url())
        .bearer_auth(token)
        .json(&json!({ "query": query, "variables": variables }))
        .send()
        .await?
        .json()
        .await?;
    anyhow::ensure!(
        response["errors"].is_null(),
        "{query}: {}",
        response["errors"]
    );
    Ok(response["data"].clone())
}

/// A fresh database with a tenant, a sender-running server, and `ENDPOINTS` endpoints on the
/// receiver asking for `message.created`; returns (db, server, admin token).
async fn webhook_server(
    config: &Config,
    label: &str,
    base: &str,
    env: &[(&str, &str)],
) -> anyhow::Result<(BenchDb, Server, String)> {
    let db = BenchDb::create(config, label).await?;
    cli(&db.url, &["migrate"]);
    let (_, token) = process::tenant_and_token(&db.url, "admin");
    let mut all = vec![
        ("MEMODESK_WORKERS_ENABLED", "true"),
        ("MEMODESK_WEBHOOKS_ALLOW_PRIVATE", "true"),
    ];
    all.extend_from_slice(env);
    let server = Server::start_with(&db.url, &all);
    server.ready().await;
    let http = reqwest::Client::new();
    for n in 0..ENDPOINTS {
        gql(
            &http,
            &server,
            &token,
            "mutation($input: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $input) { secret } }",
            json!({ "input": { "url": format!("{base}/hook/{n}"), "eventTypes": ["message.created"] } }),
        )
        .await?;
    }
    Ok((db, server, token))
}

fn histogram(latencies: impl Iterator<Item = u64>) -> Histogram<u64> {
    let mut h = Histogram::<u64>::new(3).expect("histogram");
    for us in latencies {
        h.record(us.max(1)).expect("record");
    }
    h
}

fn ms(h: &Histogram<u64>, q: f64) -> f64 {
    h.value_at_quantile(q) as f64 / 1000.0
}

async fn wait_for(receipts: &Receipts, count: usize, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    while receipts.len() < count {
        if Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    true
}

async fn webhooks(config: &Config) -> anyhow::Result<()> {
    let events = env_usize(
        "MEMODESK_BENCH_EVENTS",
        if config.smoke { 200 } else { 10_000 },
    );
    let paced = env_usize("MEMODESK_BENCH_PACED", if config.smoke { 10 } else { 100 });
    let receipts = Receipts::default();
    let base = receipts.start().await;
    let http = reqwest::Client::new();

    // 2. Fan-out at full speed.
    let (_db, server, token) = webhook_server(config, "hooks", &base, &[]).await?;
    let batch = 100;
    let started = Instant::now();
    let mut written = 0;
    while written < events {
        let count = batch.min(events - written);
        let inputs: Vec<Value> = (0..count)
            .map(|i| {
                json!({ "channel": "WEB", "externalUserId": format!("visitor-{}", (written + i) % 500),
                        "content": format!("Message {} about the blue one in size 42", written + i) })
            })
            .collect();
        gql(
            &http,
            &server,
            &token,
            "mutation($inputs: [RecordMessageInput!]!) { recordMessages(inputs: $inputs) { recorded } }",
            json!({ "inputs": inputs }),
        )
        .await?;
        written += count;
    }
    let wrote = started.elapsed();
    let expected = events * ENDPOINTS;
    let complete = wait_for(&receipts, expected, Duration::from_secs(600)).await;
    let elapsed = started.elapsed();
    // Time for a duplicate to arrive, if one were coming.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let seen = receipts.take();
    drop(server);
    let unique: HashSet<(usize, &str)> = seen.iter().map(|(n, id, _)| (*n, id.as_str())).collect();
    let fanout = histogram(seen.iter().map(|s| s.2));

    // Baseline: the same number of POSTs straight to the receiver, 64 at a time.
    let body = json!({ "type": "message.created", "timestamp": chrono::Utc::now().to_rfc3339(),
                       "data": { "messageId": Uuid::now_v7(), "leadId": Uuid::now_v7(),
                                 "sessionId": Uuid::now_v7(), "sequence": 1 } })
    .to_string();
    let raw_started = Instant::now();
    let semaphore = Arc::new(tokio::sync::Semaphore::new(SENDER_CONCURRENCY));
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..expected {
        let permit = semaphore.clone().acquire_owned().await?;
        let (http, url, body) = (
            http.clone(),
            format!("{base}/hook/{}", i % ENDPOINTS),
            body.clone(),
        );
        tasks.spawn(async move {
            let _ = http
                .post(url)
                .header("content-type", "application/json")
                .header("webhook-id", format!("msg_raw_{i}"))
                .header("webhook-timestamp", "0")
                .header("webhook-signature", "v1,AAAA")
                .body(body)
                .send()
                .await;
            drop(permit);
        });
    }
    while tasks.join_next().await.is_some() {}
    let raw_elapsed = raw_started.elapsed();
    receipts.take();

    println!(
        "\n## webhook fan-out: {events} message.created events × {ENDPOINTS} endpoints = {expected} deliveries (written in {:.1} s, recordMessages of {batch})",
        wrote.as_secs_f64()
    );
    println!(
        "{:<46} {:>12} {:>10} {:>10} {:>10}",
        "", "deliveries/s", "p50 ms", "p99 ms", "max ms"
    );
    let app_rate = seen.len() as f64 / elapsed.as_secs_f64();
    let raw_rate = expected as f64 / raw_elapsed.as_secs_f64();
    println!(
        "{:<46} {:>12.0} {:>10.1} {:>10.1} {:>10.1}",
        "memodesk sender (event written → receipt)",
        app_rate,
        ms(&fanout, 0.5),
        ms(&fanout, 0.99),
        fanout.max() as f64 / 1000.0
    );
    println!(
        "{:<46} {:>12.0}",
        "baseline: plain reqwest POSTs, 64 in flight", raw_rate
    );
    println!(
        "received {} of {expected} ({}), {} distinct (endpoint, webhook-id), duplicates {}; ratio app/baseline throughput {:.2}",
        seen.len(),
        if complete {
            "complete"
        } else {
            "INCOMPLETE after 600 s"
        },
        unique.len(),
        seen.len() - unique.len(),
        app_rate / raw_rate
    );

    // 3. Wake-up latency: the commit wakes the sender, against a sender polling every second.
    println!(
        "\n## wake-up: {paced} single events, 10 per second, each to {ENDPOINTS} endpoints (event written → receipt)"
    );
    println!(
        "{:<46} {:>10} {:>10} {:>10}",
        "", "p50 ms", "p99 ms", "max ms"
    );
    let mut medians = Vec::new();
    for (label, env) in [
        (
            "woken by the commit (poll 5 s)",
            vec![("MEMODESK_WEBHOOKS_WAKE_ON_COMMIT", "true")],
        ),
        (
            "before: polling every 1 s",
            vec![
                ("MEMODESK_WEBHOOKS_WAKE_ON_COMMIT", "false"),
                ("MEMODESK_WEBHOOKS_POLL_INTERVAL", "1s"),
            ],
        ),
    ] {
        let (_db, server, token) = webhook_server(config, "paced", &base, &env).await?;
        let mut tick = tokio::time::interval(Duration::from_millis(100));
        for i in 0..paced {
            tick.tick().await;
            gql(
                &http,
                &server,
                &token,
                "mutation($input: RecordMessageInput!) { recordMessage(input: $input) { duplicate } }",
                json!({ "input": { "channel": "WEB", "externalUserId": format!("paced-{}", i % 20),
                                   "content": format!("paced message {i}") } }),
            )
            .await?;
        }
        let complete = wait_for(&receipts, paced * ENDPOINTS, Duration::from_secs(60)).await;
        drop(server);
        let seen = receipts.take();
        let h = histogram(seen.iter().map(|s| s.2));
        println!(
            "{:<46} {:>10.1} {:>10.1} {:>10.1}{}",
            label,
            ms(&h, 0.5),
            ms(&h, 0.99),
            h.max() as f64 / 1000.0,
            if complete { "" } else { "  (INCOMPLETE)" }
        );
        medians.push((ms(&h, 0.5), ms(&h, 0.99)));
    }
    if let [(woken_p50, woken_p99), (polled_p50, polled_p99)] = medians[..] {
        println!(
            "ratio polled/woken: p50 {:.0}×, p99 {:.0}×",
            polled_p50 / woken_p50.max(0.001),
            polled_p99 / woken_p99.max(0.001)
        );
    }
    Ok(())
}
