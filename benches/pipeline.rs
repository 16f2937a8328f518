//! Summaries per second: the built-in summarizer alone, and end to end through the job queue
//! (sweeper closes the sessions, runners summarize them and write everything back).
//!
//! `cargo bench --bench pipeline` (SQLite); with `MEMODESK_BENCH_POSTGRES_URL` set to an admin
//! URL (e.g. postgres://postgres@127.0.0.1:5432/postgres) it runs on a fresh PostgreSQL
//! database too. `MEMODESK_BENCH_SESSIONS` (default 10000) sets the number of sessions.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use hdrhistogram::Histogram;
use memodesk::app::{AppOptions, build_state};
use memodesk::auth::Actor;
use memodesk::clock::ManualClock;
use memodesk::config::{Secret, Settings};
use memodesk::domain::summarize::TranscriptMessage;
use memodesk::domain::{Channel, MessageRole};
use memodesk::llm::Builtin;
use memodesk::services::ingest::MessageInput;
use memodesk::state::AppState;
use memodesk::{services, workers};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

const ENGLISH: &[(MessageRole, &str)] = &[
    (
        MessageRole::Customer,
        "Hi, my name is Dana and I'm looking for a flight to Rome next month",
    ),
    (
        MessageRole::Agent,
        "Happy to help! Which dates are you thinking of?",
    ),
    (
        MessageRole::Customer,
        "Around the 12th for a week. How much would it be in euros?",
    ),
    (
        MessageRole::Agent,
        "Return flights start at 385 EUR. Shall I hold a seat?",
    ),
    (
        MessageRole::Customer,
        "Yes please, and I live in Tel Aviv so morning flights are best",
    ),
    (
        MessageRole::Agent,
        "Done: I'll send the booking link by email today.",
    ),
];

const HEBREW: &[(MessageRole, &str)] = &[
    (
        MessageRole::Customer,
        "שלום, קוראים לי נועה ואני מחפשת מלון באילת לסוף השבוע",
    ),
    (MessageRole::Agent, "היי נועה! לכמה לילות ולכמה אנשים?"),
    (MessageRole::Customer, "שני לילות, זוג. כמה זה עולה בערך?"),
    (
        MessageRole::Agent,
        "יש חדר זוגי עם ארוחת בוקר ב-1,400 ש\"ח לשני הלילות",
    ),
    (
        MessageRole::Customer,
        "מעולה, אני גרה בחיפה אז נגיע ביום שישי. תודה!",
    ),
];

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn transcript(i: usize, start: DateTime<Utc>) -> (Channel, Vec<TranscriptMessage>) {
    let (channel, script) = if i.is_multiple_of(3) {
        (Channel::Whatsapp, HEBREW)
    } else {
        (Channel::Web, ENGLISH)
    };
    // Twenty messages: the script, repeated.
    let messages = (0..20)
        .map(|n| {
            let (role, content) = script[n % script.len()];
            TranscriptMessage {
                id: Uuid::now_v7(),
                role,
                content: content.to_owned(),
                at: start + chrono::Duration::seconds(n as i64 * 40),
            }
        })
        .collect();
    (channel, messages)
}

fn micros(h: &Histogram<u64>, q: f64) -> f64 {
    h.value_at_quantile(q) as f64 / 1000.0
}

/// The built-in summarizer alone, on one core.
fn builtin(sessions: usize) {
    let start = Utc::now();
    let inputs: Vec<_> = (0..sessions).map(|i| transcript(i, start)).collect();
    let mut latency = Histogram::<u64>::new(3).expect("histogram");
    let began = Instant::now();
    for (channel, messages) in &inputs {
        let t = Instant::now();
        std::hint::black_box(Builtin::summarize_now(*channel, messages, "IL"));
        latency.record(t.elapsed().as_nanos() as u64).ok();
    }
    let elapsed = began.elapsed().as_secs_f64();
    println!(
        "builtin summarizer      {sessions} sessions of 20 messages   {:>8.0} sessions/s   p50 {:.3} ms  p99 {:.3} ms   (target ≥ 1000/s)",
        sessions as f64 / elapsed,
        micros(&latency, 0.5) / 1000.0,
        micros(&latency, 0.99) / 1000.0,
    );
}

async fn state_for(url: &str, clock: ManualClock) -> AppState {
    let settings = Settings {
        database_url: Some(url.to_owned()),
        jwt_secret: Some(Secret::new("bench-secret-bench-secret-bench-secret-1")),
        workers_enabled: false,
        job_concurrency: 4,
        ..Settings::default()
    };
    build_state(
        settings,
        AppOptions {
            clock: Arc::new(clock),
            llm: None,
            embedder: None,
        },
    )
    .await
    .expect("state")
}

/// Sessions written through ingest, closed by the sweeper, summarized by the job runner.
async fn end_to_end(backend: &str, url: &str, sessions: usize) {
    let clock = ManualClock::new(Utc::now() - chrono::Duration::hours(2));
    let state = state_for(url, clock.clone()).await;
    let tenant = services::tenants::create(&state.db, "Bench", state.now())
        .await
        .map_err(|e| e.describe())
        .expect("tenant");
    let actor = Actor::system(tenant.id);
    let ingest = services::ingest::Ingest::start(&state).expect("ingest writers");
    let started = Instant::now();
    let mut batch = Vec::new();
    for i in 0..sessions {
        let (channel, messages) = transcript(i, state.now());
        for m in messages.iter().take(6) {
            batch.push(MessageInput {
                channel: Some(channel),
                external_user_id: Some(format!("customer-{i}")),
                role: Some(m.role),
                content: m.content.clone(),
                occurred_at: Some(m.at),
                ..MessageInput::default()
            });
        }
        if batch.len() >= 480 {
            ingest
                .record_many(&actor, std::mem::take(&mut batch))
                .await
                .map_err(|e| e.describe())
                .expect("ingest");
        }
    }
    if !batch.is_empty() {
        ingest
            .record_many(&actor, batch)
            .await
            .map_err(|e| e.describe())
            .expect("ingest");
    }
    println!(
        "  ({backend}: wrote {sessions} sessions × 6 messages in {:.1} s)",
        started.elapsed().as_secs_f64()
    );

    clock.advance(chrono::Duration::minutes(30));
    let sweep_started = Instant::now();
    let closed = services::sessions::close_idle(&state).await.expect("sweep");
    let sweep_secs = sweep_started.elapsed().as_secs_f64();
    assert_eq!(closed, sessions, "every session closes");

    let stop = CancellationToken::new();
    let runner = tokio::spawn(workers::jobs::run_loop(state.clone(), stop.clone()));
    let began = Instant::now();
    loop {
        let left = memodesk::entities::job::Entity::find()
            .filter(memodesk::entities::job::Column::TenantId.eq(tenant.id))
            .filter(memodesk::entities::job::Column::Status.ne("done"))
            .count(state.db.reader())
            .await
            .expect("count");
        if left == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let elapsed = began.elapsed().as_secs_f64();
    stop.cancel();
    runner.await.expect("runner");
    let summaries = memodesk::entities::interaction_summary::Entity::find()
        .filter(memodesk::entities::interaction_summary::Column::TenantId.eq(tenant.id))
        .count(state.db.reader())
        .await
        .expect("count");
    assert_eq!(summaries as usize, sessions, "one summary per session");
    println!(
        "end to end ({backend:<8})  {sessions} sessions, 4 runners           {:>8.0} sessions/s   (sweep closed {closed} in {:.2} s)",
        sessions as f64 / elapsed,
        sweep_secs,
    );
    state.db.close().await;
}

fn main() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let sessions = env_usize("MEMODESK_BENCH_SESSIONS", 10_000);
    println!(
        "memodesk pipeline benchmark — {} cores",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    builtin(sessions);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}/pipeline.db", dir.path().display());
        end_to_end("sqlite", &url, sessions).await;
        if let Ok(admin) = std::env::var("MEMODESK_BENCH_POSTGRES_URL") {
            let name = format!("memodesk_bench_pipeline_{}", std::process::id());
            admin_exec(&admin, &format!("CREATE DATABASE {name}")).await;
            let url = match admin.rsplit_once('/') {
                Some((base, _)) => format!("{base}/{name}"),
                None => format!("{admin}/{name}"),
            };
            end_to_end("postgres", &url, sessions).await;
            admin_exec(
                &admin,
                &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
            )
            .await;
        }
    });
}

async fn admin_exec(url: &str, sql: &str) {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(url)
        .await
        .expect("connect to PostgreSQL (MEMODESK_BENCH_POSTGRES_URL)");
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()))
        .execute(&mut conn)
        .await
        .expect(sql);
}
