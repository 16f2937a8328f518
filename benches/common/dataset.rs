//! The dataset generator: tenants, leads with identities and provenance-tracked profiles,
//! sessions separated by more than the idle timeout, alternating customer/agent messages in
//! English and Hebrew, notes and summaries — written with multi-row INSERTs, not the API.
//!
//! Everything comes from one seeded RNG, so two runs with the same sizes write the same data
//! (only the time anchor moves with the clock). Rows are built on a thread of their own while
//! the previous chunk is being inserted.

use std::collections::HashSet;
use std::ops::Range;
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::{DateTime, Utc};
use memodesk::domain::classify;
use memodesk::domain::phone::PhoneNumber;
use memodesk::domain::profile::{
    ChangeRecord, Evidence, FieldKey, KnownKey, ManualEdit, Outcome, Profile, Proposal, Source,
};
use memodesk::domain::{Channel, CloseReason, IdentityKind, MessageRole, NoteKind, SessionStatus};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde_json::json;
use uuid::Uuid;

use super::sql::{self, Pool, Val};
use super::text::{self, Lang, Name, Persona, Speaker, Turn};
use crate::row;

/// How big a dataset to generate.
#[derive(Debug, Clone, Copy)]
pub struct Size {
    pub leads: usize,
    pub messages: usize,
    pub seed: u64,
    /// SQLite: gather planner statistics (`ANALYZE`) after loading.
    pub analyze: bool,
}

/// The tenants: the first holds most of the data.
const TENANTS: &[(&str, f64)] = &[
    ("Atlas Travel & Electronics", 0.90),
    ("Nova Dental", 0.05),
    ("Kesher Insurance", 0.05),
];
/// Leads in a conversation right now: their last session is open and recent.
const LIVE_SHARE: f64 = 0.05;
/// The tenants' idle timeout (the default, 15 minutes), in milliseconds.
const IDLE_MS: i64 = 15 * 60 * 1000;
/// Rows go from the generator thread to the inserter this many messages at a time…
const CHUNK_MESSAGES: usize = 20_000;
/// …and are committed every this many.
const COMMIT_MESSAGES: usize = 250_000;

pub struct TenantInfo {
    pub id: Uuid,
    pub name: String,
    /// Indexes into `Dataset::leads`.
    pub leads: Range<usize>,
    pub messages: usize,
}

/// A conversation in progress: the lead's last session, open, last message minutes ago.
#[derive(Debug, Clone)]
pub struct LiveSession {
    pub id: Uuid,
    pub channel: Channel,
    pub session_ref: Option<String>,
}

/// What the benches need to know about a generated lead.
#[derive(Debug, Clone)]
pub struct LeadInfo {
    pub tenant: usize,
    pub id: Uuid,
    pub lang: Lang,
    pub name: Name,
    /// E.164.
    pub phone: Option<String>,
    pub email: Option<String>,
    pub web_id: Option<String>,
    pub city: &'static str,
    /// Channels the lead has spoken on (each has its identity).
    pub channels: Vec<Channel>,
    pub live: Option<LiveSession>,
}

impl LeadInfo {
    /// The id the channel knows the customer by, as `recordMessage`'s `externalUserId`.
    pub fn external_user_id(&self, channel: Channel) -> Option<String> {
        external_user_id(
            channel,
            self.phone.as_deref(),
            self.email.as_deref(),
            self.web_id.as_deref(),
        )
    }

    /// Channels the lead could write on (those its contact details allow).
    pub fn usable_channels(&self) -> Vec<Channel> {
        usable_channels(self.phone.is_some(), self.email.is_some())
    }
}

#[derive(Debug, Default, Clone, Copy)]
pub struct Counts {
    pub leads: usize,
    pub identities: usize,
    pub sessions: usize,
    pub open_sessions: usize,
    pub messages: usize,
    pub notes: usize,
    pub profile_changes: usize,
}

pub struct Dataset {
    pub tenants: Vec<TenantInfo>,
    pub leads: Vec<LeadInfo>,
    /// "Now" for the generated history: live sessions end a few minutes before it.
    pub anchor: DateTime<Utc>,
    pub counts: Counts,
    pub elapsed: Duration,
}

impl Dataset {
    /// The tenant holding most of the data.
    pub fn big_tenant(&self) -> &TenantInfo {
        &self.tenants[0]
    }

    pub fn big_leads(&self) -> &[LeadInfo] {
        &self.leads[self.tenants[0].leads.clone()]
    }
}

pub fn external_user_id(
    channel: Channel,
    phone: Option<&str>,
    email: Option<&str>,
    web_id: Option<&str>,
) -> Option<String> {
    match channel {
        // A wa_id is the number without the `+`.
        Channel::Whatsapp => phone.map(|p| p.trim_start_matches('+').to_owned()),
        Channel::Call | Channel::Sms => phone.map(str::to_owned),
        Channel::Web => web_id.map(str::to_owned),
        Channel::Email => email.map(str::to_owned),
    }
}

pub fn usable_channels(phone: bool, email: bool) -> Vec<Channel> {
    let mut channels = Vec::new();
    if phone {
        channels.extend([Channel::Whatsapp, Channel::Call, Channel::Sms]);
    }
    channels.push(Channel::Web);
    if email {
        channels.push(Channel::Email);
    }
    channels
}

/// Rows for one transaction, parents before children.
#[derive(Default)]
struct Chunk {
    leads: Vec<Vec<Val>>,
    identities: Vec<Vec<Val>>,
    sessions: Vec<Vec<Val>>,
    messages: Vec<Vec<Val>>,
    notes: Vec<Vec<Val>>,
    changes: Vec<Vec<Val>>,
}

/// Creates the tenants through the app (so their settings are the real defaults), then
/// generates and inserts everything else. `url` must point at an empty, migrated database.
pub async fn generate(url: &str, size: Size) -> anyhow::Result<Dataset> {
    let started = Instant::now();
    let anchor = now_millis();
    let tenants = create_tenants(url, anchor).await?;
    let pool = generator_pool(url).await?;

    let bar = super::progress_bar(size.messages as u64, "generating messages");
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Chunk>(2);
    let tenant_ids: Vec<Uuid> = tenants.iter().map(|t| t.0).collect();
    let generator = std::thread::spawn(move || build(size, anchor, &tenant_ids, tx));

    // Few, large transactions: every commit writes each page it dirtied once more.
    let mut txn = pool.begin().await?;
    let mut uncommitted = 0;
    while let Some(mut chunk) = rx.recv().await {
        let messages = chunk.messages.len();
        txn.insert(&sql::LEADS, &mut chunk.leads).await?;
        txn.insert(&sql::LEAD_IDENTITIES, &mut chunk.identities)
            .await?;
        txn.insert(&sql::SESSIONS, &mut chunk.sessions).await?;
        txn.insert(&sql::MESSAGES, &mut chunk.messages).await?;
        txn.insert(&sql::NOTES, &mut chunk.notes).await?;
        txn.insert(&sql::PROFILE_FIELD_CHANGES, &mut chunk.changes)
            .await?;
        uncommitted += messages;
        if uncommitted >= COMMIT_MESSAGES {
            txn.commit().await?;
            txn = pool.begin().await?;
            uncommitted = 0;
        }
        bar.inc(messages as u64);
    }
    txn.commit().await?;
    let (leads, counts, lead_ranges) = generator
        .join()
        .map_err(|_| anyhow::anyhow!("the generator thread panicked"))??;
    bar.finish_and_clear();

    if pool.is_postgres() {
        // What autovacuum would soon do after a bulk load: statistics and the visibility map.
        pool.exec("VACUUM ANALYZE").await?;
    } else {
        if size.analyze {
            pool.exec("ANALYZE").await?;
        }
        // Back to the journal the app uses.
        pool.exec("PRAGMA journal_mode = WAL").await?;
    }
    pool.close().await;

    let tenants = tenants
        .into_iter()
        .zip(lead_ranges)
        .map(|((id, name), (range, messages))| TenantInfo {
            id,
            name,
            leads: range,
            messages,
        })
        .collect();
    Ok(Dataset {
        tenants,
        leads,
        anchor: from_millis(anchor),
        counts,
        elapsed: started.elapsed(),
    })
}

async fn create_tenants(url: &str, anchor: i64) -> anyhow::Result<Vec<(Uuid, String)>> {
    let db = memodesk::db::Db::connect(url, Default::default()).await?;
    db.migrate().await?;
    let created = from_millis(anchor - 800 * 86_400_000);
    let mut tenants = Vec::new();
    for (name, _) in TENANTS {
        let tenant = memodesk::services::tenants::create(&db, name, created)
            .await
            .map_err(|err| anyhow::anyhow!("creating tenant {name}: {err:?}"))?;
        tenants.push((tenant.id, tenant.name));
    }
    db.close().await;
    Ok(tenants)
}

/// One connection tuned for loading: no fsync, no foreign-key checks (the rows are consistent
/// by construction), a large page cache.
async fn generator_pool(url: &str) -> anyhow::Result<Pool> {
    use std::str::FromStr;
    if url.starts_with("postgres") {
        let options = sqlx::postgres::PgConnectOptions::from_str(url)?;
        let pool = sqlx::postgres::PgPoolOptions::new()
            .max_connections(1)
            .after_connect(|conn, _| {
                Box::pin(async move {
                    sqlx::raw_sql("SET synchronous_commit = off")
                        .execute(&mut *conn)
                        .await?;
                    // Skips the foreign-key triggers; only a superuser may, so it is optional.
                    let _ = sqlx::raw_sql("SET session_replication_role = replica")
                        .execute(&mut *conn)
                        .await;
                    Ok(())
                })
            })
            .connect_with(options)
            .await
            .context("connecting the generator to PostgreSQL")?;
        return Ok(Pool::Postgres(pool));
    }
    // No journal at all while loading (the app turns WAL back on when it connects).
    let options = sqlx::sqlite::SqliteConnectOptions::from_str(url)?
        .journal_mode(sqlx::sqlite::SqliteJournalMode::Off)
        .synchronous(sqlx::sqlite::SqliteSynchronous::Off)
        .locking_mode(sqlx::sqlite::SqliteLockingMode::Exclusive)
        .foreign_keys(false)
        .pragma("cache_size", "-2000000")
        .pragma("temp_store", "memory");
    let pool = sqlx::sqlite::SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await
        .context("opening the SQLite database for the generator")?;
    Ok(Pool::Sqlite(pool))
}

type Built = (Vec<LeadInfo>, Counts, Vec<(Range<usize>, usize)>);

/// The generator thread: every lead in turn, sending a chunk every [`CHUNK_MESSAGES`].
fn build(
    size: Size,
    anchor: i64,
    tenant_ids: &[Uuid],
    tx: tokio::sync::mpsc::Sender<Chunk>,
) -> anyhow::Result<Built> {
    let mut rng = SmallRng::seed_from_u64(size.seed);
    let per_lead = message_counts(&mut rng, size.leads, size.messages);
    let mut leads = Vec::with_capacity(size.leads);
    let mut counts = Counts::default();
    let mut ranges = Vec::new();
    let mut chunk = Chunk::default();
    let mut lead_gen = LeadGen {
        rng,
        anchor,
        counter: 0,
    };
    let mut start = 0;
    for (t, (&tenant_id, (_, share))) in tenant_ids.iter().zip(TENANTS).enumerate() {
        let end = if t + 1 == TENANTS.len() {
            size.leads
        } else {
            (start + (size.leads as f64 * share).round() as usize).min(size.leads)
        };
        let mut messages = 0;
        for (index, &n) in per_lead.iter().enumerate().take(end).skip(start) {
            let info = lead_gen.lead(t, tenant_id, index, n, &mut chunk, &mut counts);
            messages += n;
            leads.push(info);
            if chunk.messages.len() >= CHUNK_MESSAGES {
                tx.blocking_send(std::mem::take(&mut chunk))
                    .map_err(|_| anyhow::anyhow!("the inserter stopped"))?;
            }
        }
        ranges.push((start..end, messages));
        start = end;
    }
    if !chunk.messages.is_empty() || !chunk.leads.is_empty() {
        tx.blocking_send(chunk)
            .map_err(|_| anyhow::anyhow!("the inserter stopped"))?;
    }
    counts.leads = leads.len();
    Ok((leads, counts, ranges))
}

/// Messages per lead: at least one each, the rest spread with a long tail (a few leads talk a
/// lot), summing exactly to `messages`.
fn message_counts(rng: &mut SmallRng, leads: usize, messages: usize) -> Vec<usize> {
    let extra = messages.saturating_sub(leads);
    let weights: Vec<f64> = (0..leads)
        .map(|_| {
            let u: f64 = rng.random_range(f64::EPSILON..1.0);
            (-u.ln()).powf(1.6)
        })
        .collect();
    let total: f64 = weights.iter().sum();
    let mut counts: Vec<usize> = weights
        .iter()
        .map(|w| 1 + (w / total * extra as f64).floor() as usize)
        .collect();
    let mut assigned: usize = counts.iter().sum();
    while assigned < messages.max(leads) {
        let i = rng.random_range(0..leads);
        counts[i] += 1;
        assigned += 1;
    }
    counts
}

struct LeadGen {
    rng: SmallRng,
    anchor: i64,
    /// Numbers messages, for unique provider ids.
    counter: u64,
}

/// A session being laid out.
struct PlannedSession {
    channel: Channel,
    /// Message times, ms.
    times: Vec<i64>,
}

impl LeadGen {
    fn v7(&mut self, ms: i64) -> Uuid {
        uuid_v7(&mut self.rng, ms)
    }

    fn weighted<T: Copy>(&mut self, options: &[(T, u32)]) -> T {
        let total: u32 = options.iter().map(|(_, w)| w).sum();
        let mut x = self.rng.random_range(0..total);
        for (value, weight) in options {
            if x < *weight {
                return *value;
            }
            x -= weight;
        }
        options[options.len() - 1].0
    }

    fn lead(
        &mut self,
        tenant: usize,
        tenant_id: Uuid,
        index: usize,
        n_messages: usize,
        out: &mut Chunk,
        counts: &mut Counts,
    ) -> LeadInfo {
        let lang = if self.rng.random_bool(0.55) {
            Lang::En
        } else {
            Lang::He
        };
        let name = text::name(&mut self.rng, lang);
        let phone = self
            .rng
            .random_bool(0.92)
            .then(|| phone_number(&mut self.rng, index));
        let email = (phone.is_none() || self.rng.random_bool(0.45))
            .then(|| text::email(&mut self.rng, &name, index));
        let city = text::city(&mut self.rng, lang);
        let usable = usable_channels(phone.is_some(), email.is_some());
        let primary = if phone.is_some() {
            let email_weight = if email.is_some() { 7 } else { 0 };
            self.weighted(&[
                (Channel::Whatsapp, 50),
                (Channel::Call, 22),
                (Channel::Web, 13),
                (Channel::Sms, 8),
                (Channel::Email, email_weight),
            ])
        } else {
            self.weighted(&[(Channel::Web, 60), (Channel::Email, 40)])
        };
        let is_live = self.rng.random_bool(LIVE_SHARE);

        // Sessions, laid out backwards from the last one.
        let mut sizes = Vec::new();
        let mut left = n_messages;
        while left > 0 {
            let size = self.rng.random_range(2..=9).min(left);
            sizes.push(size);
            left -= size;
        }
        let mean_gap = self.rng.random_range(2.0 * 3600e3..30.0 * 86_400e3);
        let mut end = if is_live {
            self.anchor - self.rng.random_range(10_000..180_000)
        } else {
            self.anchor - 3_600_000 - self.rng.random_range(0..120 * 86_400_000)
        };
        let mut planned: Vec<PlannedSession> = Vec::with_capacity(sizes.len());
        for &size in &sizes {
            let channel = if self.rng.random_bool(0.75) {
                primary
            } else {
                usable[self.rng.random_range(0..usable.len())]
            };
            let (lo, hi) = if channel == Channel::Call {
                (4_000, 40_000)
            } else {
                (15_000, 300_000)
            };
            let mut offsets = vec![0i64; size];
            for j in 1..size {
                offsets[j] = offsets[j - 1] + self.rng.random_range(lo..hi);
            }
            let duration = offsets[size - 1];
            let start = end - duration;
            planned.push(PlannedSession {
                channel,
                times: offsets.iter().map(|o| start + o).collect(),
            });
            let u: f64 = self.rng.random_range(f64::EPSILON..1.0);
            let gap = ((-u.ln()) * mean_gap) as i64;
            end = start - gap.max(IDLE_MS + 5 * 60_000);
        }
        planned.reverse();

        let created = planned[0].times[0];
        let lead_id = self.v7(created);
        let persona = Persona {
            lang,
            name: &name,
            email: email.as_deref(),
            phone: phone.as_deref(),
            city,
        };
        let web_id = usable
            .contains(&Channel::Web)
            .then(|| format!("v_{:016x}", self.rng.random::<u64>()));

        let mut channels: Vec<(Channel, i64)> = Vec::new();
        let mut evidence_pool: Vec<(Uuid, String, i64)> = Vec::new();
        let mut previous_last: Option<i64> = None;
        let mut last_closed: Option<(Uuid, Channel, i64)> = None;
        let mut call_sessions: Vec<(Uuid, i64)> = Vec::new();
        let mut live = None;
        let session_total = planned.len();
        for (k, session) in planned.iter().enumerate() {
            let channel = session.channel;
            if !channels.iter().any(|(c, _)| *c == channel) {
                channels.push((channel, session.times[0]));
            }
            let start = session.times[0];
            let last = *session.times.last().unwrap_or(&start);
            let session_id = self.v7(start);
            let session_ref =
                (channel == Channel::Call).then(|| format!("CA{:032x}", self.rng.random::<u128>()));
            let open = is_live && k + 1 == session_total;

            let mut speaker = if self.rng.random_bool(0.9) {
                Speaker::Customer
            } else {
                Speaker::Agent
            };
            let mut intents: Vec<&'static str> = Vec::new();
            let mut language: Option<&'static str> = None;
            let count = session.times.len();
            for (j, &at) in session.times.iter().enumerate() {
                let turn = if j == 0 {
                    Turn::Open
                } else if j + 1 == count && count > 2 {
                    Turn::Close
                } else {
                    Turn::Middle
                };
                let content = text::message(&mut self.rng, &persona, speaker, turn);
                let occurred = from_millis(at);
                let c = classify::classify(&content, occurred.date_naive());
                let role = match speaker {
                    Speaker::Customer => MessageRole::Customer,
                    Speaker::Agent => MessageRole::Agent,
                };
                let mut metadata = json!({});
                if !c.entities.is_empty() {
                    metadata["entities"] = serde_json::to_value(&c.entities).unwrap_or_default();
                }
                if let Some(l) = c.language {
                    metadata["language"] = json!(l);
                }
                if role == MessageRole::Customer {
                    if c.intent != classify::Intent::Other && !intents.contains(&c.intent.as_str())
                    {
                        intents.push(c.intent.as_str());
                    }
                    if c.language.is_some() {
                        language = c.language;
                    }
                }
                let id = self.v7(at);
                if role == MessageRole::Customer && evidence_pool.len() < 6 {
                    evidence_pool.push((id, content.clone(), at));
                }
                self.counter += 1;
                let external_id = self.provider_message_id(channel, session_ref.as_deref(), j);
                let delivery =
                    (role == MessageRole::Agent && channel == Channel::Whatsapp).then(|| {
                        if self.rng.random_bool(0.8) {
                            "read"
                        } else {
                            "delivered"
                        }
                        .to_owned()
                    });
                let received = at + self.rng.random_range(50..1500);
                out.messages.push(row![
                    tenant_id,
                    id,
                    session_id,
                    lead_id,
                    channel.as_str(),
                    role.as_str(),
                    content,
                    Some(c.intent.as_str().to_owned()),
                    Some(c.confidence),
                    metadata,
                    external_id,
                    delivery,
                    occurred,
                    from_millis(received),
                ]);
                counts.messages += 1;
                speaker = match (speaker, self.rng.random_bool(0.25)) {
                    (s, true) => s,
                    (Speaker::Customer, false) => Speaker::Agent,
                    (Speaker::Agent, false) => Speaker::Customer,
                };
            }

            let (status, closed_at, reason) = if open {
                (SessionStatus::Open, None, None)
            } else if channel == Channel::Call {
                (
                    SessionStatus::Closed,
                    Some(last),
                    Some(CloseReason::CallEnded),
                )
            } else {
                let swept = last + IDLE_MS + self.rng.random_range(0..60_000);
                (
                    SessionStatus::Closed,
                    Some(swept),
                    Some(CloseReason::IdleTimeout),
                )
            };
            if let Some(at) = closed_at {
                last_closed = Some((session_id, channel, at));
                if channel == Channel::Call {
                    call_sessions.push((session_id, at));
                }
            }
            if open {
                live = Some(LiveSession {
                    id: session_id,
                    channel,
                    session_ref: session_ref.clone(),
                });
                counts.open_sessions += 1;
            }
            let updated = closed_at.unwrap_or(last);
            out.sessions.push(row![
                tenant_id,
                session_id,
                lead_id,
                channel.as_str(),
                status.as_str(),
                session_ref,
                from_millis(start),
                from_millis(last),
                closed_at.map(from_millis),
                reason.map(|r| r.as_str().to_owned()),
                language.map(str::to_owned),
                json!(intents),
                count as i64,
                previous_last.map(from_millis),
                from_millis(start),
                from_millis(updated),
            ]);
            counts.sessions += 1;
            previous_last = Some(last);
        }
        let last_message = previous_last.unwrap_or(created);
        let last_channel = planned[planned.len() - 1].channel;

        // The profile, built with the real merge rules so the JSON is what the app writes.
        let mut profile = Profile::default();
        let mut records: Vec<ChangeRecord> = Vec::new();
        let used = |c: Channel| channels.iter().find(|(x, _)| *x == c).map(|(_, at)| *at);
        let first_phone_channel = [Channel::Whatsapp, Channel::Call, Channel::Sms]
            .into_iter()
            .filter_map(|c| used(c).map(|at| (at, c)))
            .min();
        if let (Some(p), Some((at, c))) = (&phone, first_phone_channel) {
            records.push(profile.propose(channel_proposal(KnownKey::Phone, p, 1.0, c, at)));
        }
        if let Some(at) = used(Channel::Whatsapp) {
            let full = name.full();
            records.push(profile.propose(channel_proposal(
                KnownKey::Name,
                &full,
                0.8,
                Channel::Whatsapp,
                at,
            )));
        } else if self.rng.random_bool(0.4) {
            let full = name.full();
            records.push(profile.propose(self.ai(KnownKey::Name, &full, 0.9, &evidence_pool)));
        }
        if let (Some(e), Some(at)) = (&email, used(Channel::Email)) {
            records.push(profile.propose(channel_proposal(
                KnownKey::Email,
                e,
                1.0,
                Channel::Email,
                at,
            )));
        } else if let Some(e) = email.as_ref().filter(|_| self.rng.random_bool(0.5)) {
            records.push(profile.propose(self.ai(KnownKey::Email, e, 0.95, &evidence_pool)));
        }
        if self.rng.random_bool(0.5) {
            records.push(profile.propose(self.ai(KnownKey::City, city, 0.8, &evidence_pool)));
        }
        if self.rng.random_bool(0.5) {
            let code = if self.rng.random_bool(0.85) {
                lang.code()
            } else {
                "ru"
            };
            records.push(profile.propose(self.ai(
                KnownKey::PreferredLanguage,
                code,
                0.7,
                &evidence_pool,
            )));
        }
        if self.rng.random_bool(0.3) {
            let code = text::currency(&mut self.rng);
            records.push(profile.propose(self.ai(
                KnownKey::PreferredCurrency,
                code,
                0.6,
                &evidence_pool,
            )));
        }
        if self.rng.random_bool(0.4) {
            for _ in 0..self.rng.random_range(1..=3) {
                let item = text::interest(&mut self.rng);
                let confidence = self.rng.random_range(0.55..0.85);
                records.push(profile.propose(self.ai(
                    KnownKey::Interests,
                    item,
                    confidence,
                    &evidence_pool,
                )));
            }
        }
        if self.rng.random_bool(0.15) {
            let budget = format!(
                "{} {}",
                self.rng.random_range(4..200) * 250,
                text::currency(&mut self.rng)
            );
            records.push(profile.propose(self.ai(KnownKey::Budget, &budget, 0.6, &evidence_pool)));
        }
        if self.rng.random_bool(0.2) {
            let what = text::interest(&mut self.rng);
            records.push(profile.propose(self.ai(
                KnownKey::ServiceInterest,
                what,
                0.7,
                &evidence_pool,
            )));
        }
        // Staff corrections, and an AI guess that bounces off one.
        if self.rng.random_bool(0.05) {
            let at = self.rng.random_range(created..=last_message);
            let corrected = format!("{} {}", name.first, name.last);
            records.push(profile.set_manual(ManualEdit {
                key: FieldKey::known(KnownKey::Name),
                values: vec![corrected],
                actor: format!("staff:{}", Uuid::from_u128(self.rng.random())),
                at: from_millis(at),
            }));
            if self.rng.random_bool(0.5) {
                let guess = format!("{} {}", name.first, "Levy");
                records.push(profile.propose(self.ai(KnownKey::Name, &guess, 0.9, &evidence_pool)));
            }
        }
        if self.rng.random_bool(0.03)
            && let Ok(key) = FieldKey::parse("vip_tier", "key")
        {
            let at = self.rng.random_range(created..=last_message);
            records.push(profile.set_manual(ManualEdit {
                key,
                values: vec!["gold".into()],
                actor: format!("staff:{}", Uuid::from_u128(self.rng.random())),
                at: from_millis(at),
            }));
        }
        for record in records.iter().filter(|r| r.outcome != Outcome::Unchanged) {
            let id = self.v7(record.at.timestamp_millis());
            out.changes.push(row![
                tenant_id,
                id,
                lead_id,
                record.key.clone(),
                record.item.clone(),
                record.old_value.clone(),
                record.new_value.clone(),
                record.source.as_str(),
                record.confidence,
                record.outcome.as_str(),
                json!(record.evidence),
                record.actor.clone(),
                record.at,
            ]);
            counts.profile_changes += 1;
        }

        // Identities, as ingest records them: the channel's id, the phone, the email.
        let mut identities: Vec<(IdentityKind, String, Channel, i64)> = Vec::new();
        let mut seen: HashSet<(IdentityKind, String)> = HashSet::new();
        for &(channel, at) in &channels {
            let id = external_user_id(
                channel,
                phone.as_deref(),
                email.as_deref(),
                web_id.as_deref(),
            );
            if let Some(value) = id {
                identities.push((IdentityKind::for_channel(channel), value, channel, at));
            }
            if let (Some(p), Channel::Whatsapp | Channel::Call | Channel::Sms) = (&phone, channel) {
                identities.push((IdentityKind::Phone, p.clone(), channel, at));
            }
        }
        if let Some(e) = profile.value(KnownKey::Email.as_str()) {
            identities.push((IdentityKind::Email, e, channels[0].0, created));
        }
        for (kind, value, channel, at) in identities {
            if seen.insert((kind, value.clone())) {
                let id = self.v7(at);
                out.identities.push(row![
                    tenant_id,
                    id,
                    lead_id,
                    kind.as_str(),
                    value,
                    channel.as_str(),
                    from_millis(at),
                ]);
                counts.identities += 1;
            }
        }

        // Notes for a quarter of the leads; some pinned.
        if self.rng.random_bool(0.25) {
            for _ in 0..self.rng.random_range(1..=5) {
                let call = (!call_sessions.is_empty() && self.rng.random_bool(0.4))
                    .then(|| call_sessions[self.rng.random_range(0..call_sessions.len())]);
                let (kind, session_id, author, at) = match call {
                    Some((session_id, closed)) => (
                        NoteKind::CallSummary,
                        Some(session_id),
                        "memodesk".to_owned(),
                        closed + self.rng.random_range(1_000..30_000),
                    ),
                    None => (
                        NoteKind::Note,
                        None,
                        text::staff_label(&mut self.rng).to_owned(),
                        self.rng.random_range(created..=last_message),
                    ),
                };
                let body = text::note(&mut self.rng, &persona, kind == NoteKind::CallSummary);
                let pinned = self.rng.random_bool(0.1);
                let id = self.v7(at);
                out.notes.push(row![
                    tenant_id,
                    id,
                    lead_id,
                    session_id,
                    kind.as_str(),
                    body,
                    None::<Uuid>,
                    author,
                    pinned,
                    from_millis(at),
                    from_millis(at),
                ]);
                counts.notes += 1;
            }
        }

        // The summary of the last closed session (most were summarized by now).
        let summary = last_closed.filter(|_| self.rng.random_bool(0.95)).map(
            |(session_id, channel, closed)| {
                let at = closed + self.rng.random_range(5_000..90_000);
                (
                    text::summary(&mut self.rng, &persona),
                    channel,
                    session_id,
                    at,
                )
            },
        );
        let updated = summary
            .as_ref()
            .map_or(last_message, |s| s.3.max(last_message));
        let profile_json = serde_json::to_value(&profile).unwrap_or_else(|_| json!({}));
        let display_name = profile.value(KnownKey::Name.as_str());
        let primary_phone = profile.value(KnownKey::Phone.as_str());
        let profile_email = profile.value(KnownKey::Email.as_str());
        // As `lead::Model::compute_search_text`: name, phone and email, lowercased.
        let search_text = [&display_name, &primary_phone, &profile_email]
            .into_iter()
            .flatten()
            .map(|part| part.to_lowercase())
            .collect::<Vec<_>>()
            .join("\n");
        out.leads.push(row![
            tenant_id,
            lead_id,
            display_name,
            primary_phone,
            profile_email,
            search_text,
            profile_json,
            summary.as_ref().map(|s| s.0.clone()),
            summary.as_ref().map(|s| s.1.as_str().to_owned()),
            summary.as_ref().map(|s| s.2),
            summary.as_ref().map(|s| from_millis(s.3)),
            Some(from_millis(last_message)),
            Some(last_channel.as_str().to_owned()),
            from_millis(last_message),
            n_messages as i64,
            session_total as i64,
            from_millis(created),
            from_millis(updated),
        ]);

        LeadInfo {
            tenant,
            id: lead_id,
            lang,
            name,
            phone,
            email,
            web_id,
            city,
            channels: channels.into_iter().map(|(c, _)| c).collect(),
            live,
        }
    }

    /// An AI proposal with a customer message as evidence.
    fn ai(
        &mut self,
        key: KnownKey,
        value: &str,
        confidence: f64,
        pool: &[(Uuid, String, i64)],
    ) -> Proposal {
        let (evidence, at) = if pool.is_empty() {
            (Vec::new(), self.anchor - 86_400_000)
        } else {
            let (id, content, at) = &pool[self.rng.random_range(0..pool.len())];
            (vec![Evidence::from_message(*id, content)], *at)
        };
        Proposal {
            key: FieldKey::known(key),
            value: value.to_owned(),
            source: Source::Ai,
            confidence,
            actor: "ai:builtin".into(),
            evidence,
            at: from_millis(at),
        }
    }

    /// The provider's id for a message, unique per channel (web chat has none).
    fn provider_message_id(
        &mut self,
        channel: Channel,
        session_ref: Option<&str>,
        index: usize,
    ) -> Option<String> {
        let n = self.counter;
        let r = self.rng.random::<u64>() & 0xffff_ffff;
        match channel {
            Channel::Whatsapp => Some(format!("wamid.HBgM{r:08X}{n:012X}")),
            Channel::Sms => Some(format!("SM{r:08x}{n:024x}")),
            Channel::Email => Some(format!("<{n:x}.{r:x}@mail.example.com>")),
            Channel::Call => session_ref.map(|s| format!("{s}:{index}")),
            Channel::Web => None,
        }
    }
}

/// A time-ordered id for something that happened at `ms`, from the seeded RNG.
pub fn uuid_v7(rng: &mut SmallRng, ms: i64) -> Uuid {
    let bytes: [u8; 10] = rng.random();
    uuid::Builder::from_unix_timestamp_millis(ms.max(0) as u64, &bytes).into_uuid()
}

/// A unique, valid E.164 number for lead `index`: mostly Israeli mobiles, some US numbers.
pub fn phone_number(rng: &mut SmallRng, index: usize) -> String {
    // Distinct for every index below 8M (7919 is coprime with 8M).
    let n = (index as u64 * 7919 + 12_345) % 8_000_000 + 2_000_000;
    if rng.random_bool(0.15) {
        const AREAS: &[u32] = &[212, 310, 415, 646, 718, 305, 512, 617, 206, 702];
        for _ in 0..AREAS.len() {
            let area = AREAS[rng.random_range(0..AREAS.len())];
            let candidate = format!("+1{area}{n:07}");
            if PhoneNumber::parse(&candidate, "US", "phone").is_ok_and(|p| p.is_verified()) {
                return candidate;
            }
        }
    }
    // Israeli mobile ranges that are valid with any seven digits.
    const PREFIXES: &[&str] = &["50", "52", "53", "58"];
    let prefix = PREFIXES[rng.random_range(0..PREFIXES.len())];
    format!("+972{prefix}{n:07}")
}

fn channel_proposal(
    key: KnownKey,
    value: &str,
    confidence: f64,
    channel: Channel,
    at: i64,
) -> Proposal {
    Proposal {
        key: FieldKey::known(key),
        value: value.to_owned(),
        source: Source::Channel,
        confidence,
        actor: format!("channel:{channel}"),
        evidence: Vec::new(),
        at: from_millis(at),
    }
}

fn now_millis() -> i64 {
    Utc::now().timestamp_millis()
}

pub fn from_millis(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}
