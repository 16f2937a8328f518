//! Profile-extraction quality: precision, recall and F1 per field on the labelled dialogues in
//! `benches/data/extraction/` (see its README), recorded through the real ingest path and the
//! summary job with the built-in summarizer.
//!
//! `cargo bench --bench extraction` (SQLite; the figures do not depend on the build profile, so
//! `cargo test --bench extraction` prints the same table from a debug build). With
//! `MEMODESK_BENCH_POSTGRES_URL` set to an admin URL it runs on a fresh PostgreSQL database too.
//! `MEMODESK_BENCH_DIALOGUES=N` keeps the first N dialogues of each language;
//! `MEMODESK_BENCH_VERBOSE=1` prints every mismatch.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use memodesk::app::{AppOptions, build_state};
use memodesk::auth::Actor;
use memodesk::clock::ManualClock;
use memodesk::config::{Secret, Settings};
use memodesk::domain::profile::Profile;
use memodesk::domain::{Channel, MessageRole};
use memodesk::services::ingest::{Ingest, MessageInput};
use memodesk::services::profile::{StaffAction, StaffEdit};
use memodesk::services::tenants::SettingsUpdate;
use memodesk::state::AppState;
use memodesk::{services, workers};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde::Deserialize;
use serde_json::Value;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// The fields scored, in the order printed.
const FIELDS: &[&str] = &[
    "name",
    "email",
    "phone",
    "city",
    "budget",
    "preferences",
    "bedrooms",
    "pets",
    "move_in",
    "property_of_interest",
];

#[derive(Debug, Deserialize)]
struct Dialogue {
    id: String,
    lang: String,
    region: String,
    date: NaiveDate,
    /// `held-out` for the lines written after the reader was tuned on the others.
    #[serde(default)]
    set: Option<String>,
    #[serde(default)]
    staff: BTreeMap<String, Value>,
    turns: Vec<Turn>,
    #[serde(default)]
    expect: BTreeMap<String, Value>,
}

#[derive(Debug, Deserialize)]
struct Turn {
    role: String,
    text: String,
}

/// Counts for one field: values recorded, values expected, and recorded values that are right.
#[derive(Debug, Default, Clone, Copy)]
struct Score {
    recorded: usize,
    expected: usize,
    correct_recorded: usize,
    found_expected: usize,
}

impl Score {
    fn add(&mut self, other: Score) {
        self.recorded += other.recorded;
        self.expected += other.expected;
        self.correct_recorded += other.correct_recorded;
        self.found_expected += other.found_expected;
    }

    fn precision(&self) -> f64 {
        if self.recorded == 0 {
            1.0
        } else {
            self.correct_recorded as f64 / self.recorded as f64
        }
    }

    fn recall(&self) -> f64 {
        if self.expected == 0 {
            1.0
        } else {
            self.found_expected as f64 / self.expected as f64
        }
    }

    fn f1(&self) -> f64 {
        let (p, r) = (self.precision(), self.recall());
        if p + r == 0.0 {
            0.0
        } else {
            2.0 * p * r / (p + r)
        }
    }
}

fn load() -> Vec<Dialogue> {
    let limit = std::env::var("MEMODESK_BENCH_DIALOGUES")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(usize::MAX);
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/data/extraction");
    let mut out = Vec::new();
    for file in ["en.jsonl", "he.jsonl"] {
        let text = std::fs::read_to_string(format!("{dir}/{file}")).expect("dataset");
        out.extend(
            text.lines()
                .filter(|l| !l.trim().is_empty())
                .take(limit)
                .map(|l| serde_json::from_str::<Dialogue>(l).expect("dialogue line")),
        );
    }
    out
}

/// A labelled value in the profile's spelling (what staff would type, what the extractor
/// stores): budgets as `3500 USD/month`, pets as `cat, dog` (or `none`), lists comma-separated.
fn as_profile_value(key: &str, value: &Value) -> Option<String> {
    match (key, value) {
        (_, Value::Null) => None,
        ("budget", Value::Object(b)) => Some(format!(
            "{} {}/{}",
            b.get("amount")?,
            b.get("currency")?.as_str()?,
            b.get("period")?.as_str()?
        )),
        ("pets", Value::Array(items)) if items.is_empty() => Some("none".into()),
        (_, Value::Array(items)) => Some(
            items
                .iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(", "),
        ),
        (_, Value::String(s)) => Some(s.clone()),
        (_, other) => Some(other.to_string()),
    }
}

/// Items of a recorded list field: list items, or a scalar split on `;` and `,`.
fn recorded_items(profile: &Profile, key: &str) -> Vec<String> {
    let Some(field) = profile.get(key) else {
        return Vec::new();
    };
    let items: Vec<String> = field.visible_items().map(|i| i.value.clone()).collect();
    if !items.is_empty() {
        return items;
    }
    field
        .value
        .as_deref()
        .map(|v| {
            v.split([';', ','])
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

fn words(text: &str) -> BTreeSet<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.chars().count() > 1)
        .map(|w| {
            let w = w.to_lowercase();
            // Hebrew one-letter prefixes (ו, ב, ל, ה, מ, ש) do not change what a phrase is about.
            let mut chars = w.chars();
            match chars.next() {
                Some('ו' | 'ב' | 'ל' | 'ה' | 'מ' | 'ש') if w.chars().count() > 3 => {
                    chars.collect()
                }
                _ => w,
            }
        })
        .collect()
}

/// Free-text items match when most of one's words are in the other.
fn fuzzy_match(a: &str, b: &str) -> bool {
    let (wa, wb) = (words(a), words(b));
    if wa.is_empty() || wb.is_empty() {
        return false;
    }
    let shared = wa.intersection(&wb).count();
    shared * 2 >= wa.len().min(wb.len()) && shared > 0
}

fn score_field(key: &str, profile: &Profile, expected: Option<&Value>) -> (Score, String) {
    let mut s = Score::default();
    let expected_value = expected.and_then(|v| as_profile_value(key, v));
    match key {
        // Free text: scored item by item with the fuzzy match, like the README says.
        "preferences" | "property_of_interest" => {
            let got = if key == "property_of_interest" {
                profile.value(key).into_iter().collect()
            } else {
                recorded_items(profile, key)
            };
            let want: Vec<String> = match expected {
                Some(Value::Array(a)) => a
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect(),
                Some(Value::String(s)) => vec![s.clone()],
                _ => Vec::new(),
            };
            s.recorded = got.len();
            s.expected = want.len();
            s.correct_recorded = got
                .iter()
                .filter(|g| want.iter().any(|w| fuzzy_match(g, w)))
                .count();
            s.found_expected = want
                .iter()
                .filter(|w| got.iter().any(|g| fuzzy_match(g, w)))
                .count();
            let ok = s.correct_recorded == s.recorded && s.found_expected == s.expected;
            let note = if ok {
                String::new()
            } else {
                format!("got {got:?}, want {want:?}")
            };
            (s, note)
        }
        _ => {
            let got = profile.value(key);
            let right = match (&got, &expected_value) {
                (Some(g), Some(w)) if key == "pets" => {
                    let set = |v: &str| -> BTreeSet<String> {
                        v.split(',').map(|p| p.trim().to_owned()).collect()
                    };
                    set(g) == set(w)
                }
                (Some(g), Some(w)) if key == "city" => g.trim().eq_ignore_ascii_case(w.trim()),
                (Some(g), Some(w)) => g.trim() == w.trim(),
                _ => false,
            };
            s.recorded = usize::from(got.is_some());
            s.expected = usize::from(expected_value.is_some());
            s.correct_recorded = usize::from(right);
            s.found_expected = usize::from(right);
            let note = if got == expected_value || right {
                String::new()
            } else {
                format!("got {got:?}, want {expected_value:?}")
            };
            (s, note)
        }
    }
}

async fn state_for(url: &str, clock: ManualClock) -> AppState {
    let settings = Settings {
        database_url: Some(url.to_owned()),
        jwt_secret: Some(Secret::new("bench-secret-bench-secret-bench-secret-1")),
        workers_enabled: false,
        job_concurrency: 2,
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

fn noon(date: NaiveDate) -> DateTime<Utc> {
    date.and_hms_opt(12, 0, 0).expect("noon").and_utc()
}

/// Records every dialogue, closes and summarizes the conversations, and scores the profiles.
async fn run(backend: &str, url: &str, dialogues: &[Dialogue]) {
    let verbose = std::env::var("MEMODESK_BENCH_VERBOSE").is_ok_and(|v| v == "1");
    let clock = ManualClock::new(noon(dialogues[0].date));
    let state = state_for(url, clock.clone()).await;
    // One business per dialogue, with the dialogue's region (it reads national phone numbers
    // and gives the currency). The dialogues reuse a few fictional numbers, and a number that
    // already identifies one customer is rightly not given to another, so sharing a business
    // across dialogues would score that as a miss.
    let mut tenants: HashMap<String, Uuid> = HashMap::new();
    for d in dialogues {
        let region = d.region.clone();
        let tenant = services::tenants::create(&state.db, &format!("Bench {}", d.id), state.now())
            .await
            .map_err(|e| e.describe())
            .expect("tenant");
        services::tenants::update_settings(
            &state,
            &Actor::system(tenant.id),
            SettingsUpdate {
                default_region: Some(region),
                ..SettingsUpdate::default()
            },
        )
        .await
        .map_err(|e| e.describe())
        .expect("region");
        tenants.insert(d.id.clone(), tenant.id);
    }
    let ingest = Ingest::start(&state).expect("ingest writers");
    let mut order: Vec<&Dialogue> = dialogues.iter().collect();
    order.sort_by_key(|d| d.date);
    let mut leads: HashMap<&str, (Uuid, Uuid)> = HashMap::new();
    for d in &order {
        let tenant = tenants[&d.id];
        let actor = Actor::system(tenant);
        let start = noon(d.date);
        clock.set(start + chrono::Duration::seconds(45 * d.turns.len() as i64 + 60));
        for (n, turn) in d.turns.iter().enumerate() {
            let role = if turn.role == "agent" {
                MessageRole::Agent
            } else {
                MessageRole::Customer
            };
            let recorded = ingest
                .record(
                    &actor,
                    MessageInput {
                        channel: Some(Channel::Web),
                        external_user_id: Some(d.id.clone()),
                        role: Some(role),
                        content: turn.text.clone(),
                        occurred_at: Some(start + chrono::Duration::seconds(45 * n as i64)),
                        ..MessageInput::default()
                    },
                )
                .await
                .map_err(|e| e.describe())
                .expect("record");
            if n == 0 {
                leads.insert(&d.id, (tenant, recorded.lead.id));
                // Staff set these before the conversation went on.
                let edits: Vec<StaffEdit> = d
                    .staff
                    .iter()
                    .filter_map(|(key, value)| {
                        Some(StaffEdit {
                            key: key.clone(),
                            action: StaffAction::Set(as_profile_value(key, value)?),
                            field: "value".into(),
                        })
                    })
                    .collect();
                if !edits.is_empty() {
                    services::profile::staff_edits(
                        &state,
                        &actor,
                        recorded.lead.id,
                        edits,
                        "profile.field_set",
                    )
                    .await
                    .map_err(|e| e.describe())
                    .expect("staff edit");
                }
            }
        }
    }

    // Every conversation goes quiet, and the summary jobs run.
    let last = order.last().map_or_else(Utc::now, |d| noon(d.date));
    clock.set(last + chrono::Duration::days(1));
    services::sessions::close_idle(&state).await.expect("sweep");
    let stop = CancellationToken::new();
    let runner = tokio::spawn(workers::jobs::run_loop(state.clone(), stop.clone()));
    loop {
        let left = memodesk::entities::job::Entity::find()
            .filter(memodesk::entities::job::Column::Status.ne("done"))
            .count(state.db.reader())
            .await
            .expect("count");
        if left == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop.cancel();
    runner.await.expect("runner");

    let mut totals: BTreeMap<(String, &str), Score> = BTreeMap::new();
    let mut staff_changed = 0;
    let mut staff_values = 0;
    for d in dialogues {
        let (tenant, lead_id) = leads[d.id.as_str()];
        let lead = services::leads::get(&state, &Actor::system(tenant), lead_id)
            .await
            .map_err(|e| e.describe())
            .expect("lead");
        let profile = services::profile::profile_of(&lead)
            .map_err(|e| e.describe())
            .expect("profile");
        for key in FIELDS {
            let (score, note) = score_field(key, &profile, d.expect.get(*key));
            totals.entry((d.lang.clone(), key)).or_default().add(score);
            totals.entry(("all".into(), key)).or_default().add(score);
            if d.set.as_deref() == Some("held-out") {
                totals
                    .entry(("held-out".into(), key))
                    .or_default()
                    .add(score);
            }
            if verbose && !note.is_empty() {
                println!("  {} {key}: {note}", d.id);
            }
        }
        for (key, value) in &d.staff {
            staff_values += 1;
            if profile.value(key) != as_profile_value(key, value) {
                staff_changed += 1;
                if verbose {
                    println!("  {} staff {key} changed: {:?}", d.id, profile.value(key));
                }
            }
        }
    }

    let held_out = dialogues
        .iter()
        .filter(|d| d.set.as_deref() == Some("held-out"))
        .count();
    println!(
        "\n{backend}: {} dialogues ({held_out} of them held out)",
        dialogues.len()
    );
    println!(
        "{:<20} {:>10} {:>8} {:>6}   {:>10} {:>8} {:>6}   {:>10} {:>8} {:>6}   {:>10} {:>8} {:>6}",
        "field", "all P", "R", "F1", "en P", "R", "F1", "he P", "R", "F1", "held-out P", "R", "F1"
    );
    for key in FIELDS {
        let mut line = format!("{key:<20}");
        for lang in ["all", "en", "he", "held-out"] {
            let s = totals
                .get(&(lang.to_owned(), *key))
                .copied()
                .unwrap_or_default();
            line.push_str(&format!(
                " {:>10.3} {:>8.3} {:>6.3}  ",
                s.precision(),
                s.recall(),
                s.f1()
            ));
        }
        println!("{line}");
    }
    println!("staff-set values changed: {staff_changed} (of {staff_values})");
    state.db.close().await;
}

fn main() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dialogues = load();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}/extraction.db", dir.path().display());
        run("sqlite", &url, &dialogues).await;
        if let Ok(admin) = std::env::var("MEMODESK_BENCH_POSTGRES_URL") {
            let name = format!("memodesk_bench_extraction_{}", std::process::id());
            admin_exec(&admin, &format!("CREATE DATABASE {name}")).await;
            let url = match admin.rsplit_once('/') {
                Some((base, _)) => format!("{base}/{name}"),
                None => format!("{admin}/{name}"),
            };
            run("postgres", &url, &dialogues).await;
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
