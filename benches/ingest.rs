//! Ingest throughput: `recordMessage` (one message per request) and `recordMessages` (batches
//! of 100) from 8 concurrent clients, against raw-SQL baselines that write the same messages
//! (message row + session update + lead update) to an identical copy of the database.
//!
//! `cargo bench --bench ingest`; sizes and backend from `MEMODESK_BENCH_*` (see
//! `common::Config`).

#[allow(dead_code)]
mod common;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::bail;
use chrono::Utc;
use memodesk::domain::{Channel, StaffRole};
use memodesk::services::ingest::WRITER_THREAD;
use rand::rngs::SmallRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use uuid::Uuid;

use common::dataset::{self, Dataset, LeadInfo};
use common::sql::{self, Pool, Stmt, Val};
use common::text::{self, Lang, Persona, Speaker, Turn};
use common::{BenchDb, Config, GqlClient, Run, Server, ThreadTimes, step};

const RECORD: &str = r#"mutation Record($input: RecordMessageInput!) {
  recordMessage(input: $input) {
    duplicate leadCreated sessionCreated
    message { id } session { id status } lead { id }
  }
}"#;

const RECORD_BATCH: &str = r#"mutation RecordBatch($inputs: [RecordMessageInput!]!) {
  recordMessages(inputs: $inputs) { recorded duplicates failed }
}"#;

const BATCH: usize = 100;
const SINGLE_TARGET: f64 = 3_000.0;
const BATCH_TARGET: f64 = 20_000.0;

fn main() -> anyhow::Result<()> {
    common::init();
    let config = Config::from_env(20_000)?;
    common::runtime()?.block_on(run(config))
}

/// Who writes in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A lead in a live conversation goes on in its open session.
    Continuing,
    /// A known lead comes back: a new session.
    Returning,
    /// First contact: a new lead.
    New,
}

/// One conversation: a few messages between a customer and an agent on one channel.
struct Conversation {
    kind: Kind,
    channel: Channel,
    lead_id: Uuid,
    lang: Lang,
    /// For a new customer: the identities ingest will create.
    identities: Vec<(&'static str, String)>,
    /// The session the messages land in (the live one, or a new one).
    session_id: Uuid,
    session_ref: Option<String>,
    messages: Vec<Message>,
}

struct Message {
    /// The `RecordMessageInput`.
    input: Value,
    role: &'static str,
    content: String,
    external_id: String,
    ends_session: bool,
}

async fn run(config: Config) -> anyhow::Result<()> {
    let db = BenchDb::create(&config, "ingest").await?;
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
    // The baselines write to identical copies, so all start from the same rows.
    let base_db = db.copy("ingest_base").await?;
    let native_db = if config.backend() == "sqlite" {
        Some(db.copy("ingest_native").await?)
    } else {
        None
    };
    db.settle()?;

    let clients_n = config.clients;
    let warm_single = (config.samples / 20).max(clients_n * 10);
    let warm_batches = clients_n * 2;
    let batches = config.samples.div_ceil(BATCH).max(clients_n);
    let mut workload = Workload::new(&data, config.seed);
    let single_warm = workload.conversations(warm_single);
    let single = workload.conversations(config.samples);
    let batch_warm = workload.conversations(warm_batches * BATCH);
    let batched = workload.conversations(batches * BATCH);
    let mix = workload.mix();

    step("starting the server");
    let server = Server::start(&db.url).await?;
    let token = server.token(data.big_tenant().id, StaffRole::Agent)?;
    let clients: Vec<Arc<GqlClient>> = (0..clients_n)
        .map(|_| GqlClient::new(&server, &token).map(Arc::new))
        .collect::<anyhow::Result<_>>()?;

    let single_warm_ops = single_ops(&single_warm, clients_n);
    let single_ops = single_ops(&single, clients_n);
    let batch_warm_ops = batch_ops(&batch_warm, clients_n);
    let batch_ops = batch_ops(&batched, clients_n);

    step("recordMessage: one message per request");
    let warm = record_single(
        &clients,
        &single_warm,
        &single_warm_ops,
        "recordMessage warm-up",
        config.deadline(true),
    )
    .await?;
    let single_warm_ops = common::same_prefix(single_warm_ops, &warm);
    let before = server.scrape().await?;
    let writer_before = ThreadTimes::of(WRITER_THREAD);
    let app_single = record_single(
        &clients,
        &single,
        &single_ops,
        "recordMessage",
        config.deadline(false),
    )
    .await?;
    let single_writer = writer_times(writer_before, &app_single);
    let single_db = server.scrape().await? - before;
    let single_ops = common::same_prefix(single_ops, &app_single);

    step("recordMessages: batches of 100");
    let warm = record_batches(
        &clients,
        &batch_warm,
        &batch_warm_ops,
        "recordMessages warm-up",
        config.deadline(true),
    )
    .await?;
    let batch_warm_ops = common::same_prefix(batch_warm_ops, &warm);
    let before = server.scrape().await?;
    let writer_before = ThreadTimes::of(WRITER_THREAD);
    let app_batch = record_batches(
        &clients,
        &batched,
        &batch_ops,
        "recordMessages",
        config.deadline(false),
    )
    .await?;
    let batch_writer = writer_times(writer_before, &app_batch);
    let batch_db = server.scrape().await? - before;
    let batch_ops = common::same_prefix(batch_ops, &app_batch);
    server.stop().await?;

    let tenant = data.big_tenant().id;
    let replay = Replay {
        single_warm: &single_warm,
        single_warm_ops,
        single: &single,
        single_ops,
        batch_warm: &batch_warm,
        batch_warm_ops,
        batched: &batched,
        batch_ops,
    };
    step("raw sqlx baseline on a copy of the database");
    let sqlx_pool = Baseline::connect(&base_db.url).await?;
    let (base_single, base_batch) = replay.run(sqlx_pool, tenant, &config).await?;
    // On SQLite the app writes through rusqlite (`db::sqlite_writer`): the same writes raw
    // through rusqlite are the like-for-like floor.
    let native = match native_db.as_ref().and_then(BenchDb::sqlite_path) {
        Some(path) => {
            step("raw rusqlite baseline on another copy");
            Some(replay.run(Pool::native(path)?, tenant, &config).await?)
        }
        None => None,
    };

    report(
        &config,
        &engine,
        &dataset_line,
        &mix,
        [&app_single, &base_single, &app_batch, &base_batch],
        native.as_ref().map(|(single, batch)| [single, batch]),
        [(single_db, single_writer), (batch_db, batch_writer)],
    );
    drop(native_db);
    drop(base_db);
    drop(db);
    Ok(())
}

/// What the SQLite writer thread did during `run`, from its totals `before` it.
fn writer_times(before: Option<ThreadTimes>, run: &Run) -> Option<String> {
    let after = ThreadTimes::of(WRITER_THREAD)?;
    Some(after.since(&before?, run.items))
}

/// Builds conversations from the generated leads: each lead is used at most once across all
/// phases, so clients never contend for one lead and the baseline can replay the same writes.
struct Workload<'a> {
    rng: SmallRng,
    live: Vec<&'a LeadInfo>,
    others: Vec<&'a LeadInfo>,
    next_new: usize,
    conversations: usize,
    kinds: HashMap<&'static str, usize>,
    channels: HashMap<Channel, usize>,
}

impl<'a> Workload<'a> {
    fn new(data: &'a Dataset, seed: u64) -> Self {
        let mut rng = SmallRng::seed_from_u64(seed ^ 0x1D6E57);
        let mut live: Vec<&LeadInfo> = data
            .big_leads()
            .iter()
            .filter(|l| l.live.is_some())
            .collect();
        let mut others: Vec<&LeadInfo> = data
            .big_leads()
            .iter()
            .filter(|l| l.live.is_none())
            .collect();
        live.shuffle(&mut rng);
        others.shuffle(&mut rng);
        Self {
            rng,
            live,
            others,
            next_new: data.leads.len(),
            conversations: 0,
            kinds: HashMap::new(),
            channels: HashMap::new(),
        }
    }

    /// Conversations totalling exactly `messages` messages.
    fn conversations(&mut self, messages: usize) -> Vec<Conversation> {
        let mut out = Vec::new();
        let mut left = messages;
        while left > 0 {
            let len = self.rng.random_range(2..=8).min(left);
            out.push(self.conversation(len));
            left -= len;
        }
        out
    }

    fn conversation(&mut self, len: usize) -> Conversation {
        self.conversations += 1;
        let roll: f64 = self.rng.random();
        let kind = if roll < 0.45 && !self.live.is_empty() {
            Kind::Continuing
        } else if roll < 0.9 && !self.others.is_empty() {
            Kind::Returning
        } else {
            Kind::New
        };
        let now = Utc::now().timestamp_millis();
        let n = self.conversations;
        let (
            lead_id,
            lang,
            name,
            phone,
            email,
            web_id,
            city,
            channel,
            session_id,
            session_ref,
            identities,
        ) = match kind {
            Kind::Continuing | Kind::Returning => {
                let lead = if kind == Kind::Continuing {
                    self.live.pop()
                } else {
                    self.others.pop()
                }
                .expect("checked non-empty");
                let (channel, session_id, session_ref) = match &lead.live {
                    Some(live) if kind == Kind::Continuing => {
                        (live.channel, live.id, live.session_ref.clone())
                    }
                    _ => {
                        // A channel they used before, so ingest knows them by its id.
                        let channel = lead.channels[self.rng.random_range(0..lead.channels.len())];
                        let reference = (channel == Channel::Call)
                            .then(|| format!("CA{:032x}", self.rng.random::<u128>()));
                        (channel, dataset::uuid_v7(&mut self.rng, now), reference)
                    }
                };
                (
                    lead.id,
                    lead.lang,
                    lead.name.clone(),
                    lead.phone.clone(),
                    lead.email.clone(),
                    lead.web_id.clone(),
                    lead.city,
                    channel,
                    session_id,
                    session_ref,
                    Vec::new(),
                )
            }
            Kind::New => {
                let index = self.next_new;
                self.next_new += 1;
                let lang = if self.rng.random_bool(0.55) {
                    Lang::En
                } else {
                    Lang::He
                };
                let name = text::name(&mut self.rng, lang);
                let phone = dataset::phone_number(&mut self.rng, index);
                let channel = [
                    Channel::Whatsapp,
                    Channel::Whatsapp,
                    Channel::Call,
                    Channel::Web,
                    Channel::Sms,
                ][self.rng.random_range(0..5)];
                let web_id = format!("v_new{index:012x}");
                let (phone, web_id) = if channel == Channel::Web {
                    (None, Some(web_id))
                } else {
                    (Some(phone), None)
                };
                let user =
                    dataset::external_user_id(channel, phone.as_deref(), None, web_id.as_deref())
                        .unwrap_or_default();
                let mut identities = vec![(identity_kind(channel), user)];
                if let Some(p) = &phone {
                    identities.push(("phone", p.clone()));
                }
                let reference = (channel == Channel::Call)
                    .then(|| format!("CA{:032x}", self.rng.random::<u128>()));
                (
                    dataset::uuid_v7(&mut self.rng, now),
                    lang,
                    name,
                    phone,
                    None,
                    web_id,
                    text::city(&mut self.rng, lang),
                    channel,
                    dataset::uuid_v7(&mut self.rng, now),
                    reference,
                    identities,
                )
            }
        };
        *self
            .kinds
            .entry(match kind {
                Kind::Continuing => "continuing a live session",
                Kind::Returning => "returning (new session)",
                Kind::New => "new customers",
            })
            .or_default() += 1;
        *self.channels.entry(channel).or_default() += 1;

        let user = dataset::external_user_id(
            channel,
            phone.as_deref(),
            email.as_deref(),
            web_id.as_deref(),
        )
        .unwrap_or_default();
        let persona = Persona {
            lang,
            name: &name,
            email: email.as_deref(),
            phone: phone.as_deref(),
            city,
        };
        let mut messages = Vec::with_capacity(len);
        let mut speaker = Speaker::Customer;
        for j in 0..len {
            let turn = if j == 0 {
                Turn::Open
            } else if j + 1 == len && len > 2 {
                Turn::Close
            } else {
                Turn::Middle
            };
            let content = text::message(&mut self.rng, &persona, speaker, turn);
            let external_id = format!("bench-{}-{n}-{j}", channel.as_str());
            let ends_session = channel == Channel::Call && j + 1 == len;
            let role = match speaker {
                Speaker::Customer => "CUSTOMER",
                Speaker::Agent => "AGENT",
            };
            let mut input = json!({
                "channel": channel.as_str().to_uppercase(),
                "externalUserId": user,
                "role": role,
                "content": content,
                "externalId": external_id,
            });
            if channel == Channel::Whatsapp && speaker == Speaker::Customer {
                input["displayName"] = json!(name.full());
            }
            if let Some(reference) = &session_ref {
                input["sessionRef"] = json!(reference);
            }
            if ends_session {
                input["endsSession"] = json!(true);
            }
            messages.push(Message {
                input,
                role: if speaker == Speaker::Customer {
                    "customer"
                } else {
                    "agent"
                },
                content,
                external_id,
                ends_session,
            });
            speaker = match (speaker, self.rng.random_bool(0.25)) {
                (s, true) => s,
                (Speaker::Customer, false) => Speaker::Agent,
                (Speaker::Agent, false) => Speaker::Customer,
            };
        }
        Conversation {
            kind,
            channel,
            lead_id,
            lang,
            identities,
            session_id,
            session_ref,
            messages,
        }
    }

    fn mix(&self) -> String {
        let total = self.conversations.max(1) as f64;
        let mut kinds: Vec<String> = self
            .kinds
            .iter()
            .map(|(k, n)| format!("{:.0}% {k}", *n as f64 * 100.0 / total))
            .collect();
        kinds.sort();
        let mut channels: Vec<String> = self
            .channels
            .iter()
            .map(|(c, n)| format!("{c} {:.0}%", *n as f64 * 100.0 / total))
            .collect();
        channels.sort();
        format!(
            "{} conversations of 2-8 messages (customer/agent): {}; channels: {}",
            self.conversations,
            kinds.join(", "),
            channels.join(", ")
        )
    }
}

fn identity_kind(channel: Channel) -> &'static str {
    memodesk::domain::IdentityKind::for_channel(channel).as_str()
}

/// Each client takes whole conversations (their indexes), in order.
fn per_client(conversations: usize, clients: usize) -> Vec<Vec<usize>> {
    common::deal((0..conversations).collect(), clients)
}

/// Batches of [`BATCH`] (conversation, message) pairs from one client's conversations: whole
/// conversations (the last one cut to fit), interleaved the way a bridge flushing several chats
/// at once would send them.
fn batches_of(all: &[Conversation], hand: &[usize]) -> Vec<Vec<(usize, usize)>> {
    let mut batches = Vec::new();
    let mut current: Vec<(usize, usize)> = Vec::new();
    let mut group: Vec<usize> = Vec::new();
    let mut room = BATCH;
    let flush = |group: &mut Vec<usize>, current: &mut Vec<(usize, usize)>, cut: Option<usize>| {
        // Round-robin over the group's conversations, each in its own order.
        let lens: Vec<usize> = group
            .iter()
            .enumerate()
            .map(|(k, &c)| {
                let len = all[c].messages.len();
                if k + 1 == group.len() {
                    cut.unwrap_or(len)
                } else {
                    len
                }
            })
            .collect();
        let longest = lens.iter().copied().max().unwrap_or(0);
        for j in 0..longest {
            for (k, &c) in group.iter().enumerate() {
                if j < lens[k] {
                    current.push((c, j));
                }
            }
        }
        group.clear();
    };
    for &c in hand {
        let len = all[c].messages.len();
        group.push(c);
        if len >= room {
            flush(&mut group, &mut current, Some(room));
            batches.push(std::mem::take(&mut current));
            room = BATCH;
        } else {
            room -= len;
        }
    }
    if !group.is_empty() {
        flush(&mut group, &mut current, None);
    }
    if !current.is_empty() {
        batches.push(current);
    }
    batches
}

/// Per client, the (conversation, message) pairs it sends one by one, in order.
fn single_ops(conversations: &[Conversation], clients: usize) -> Vec<Vec<(usize, usize)>> {
    per_client(conversations.len(), clients)
        .into_iter()
        .map(|hand| {
            hand.into_iter()
                .flat_map(|c| (0..conversations[c].messages.len()).map(move |j| (c, j)))
                .collect()
        })
        .collect()
}

/// Per client, the batches it sends.
fn batch_ops(conversations: &[Conversation], clients: usize) -> Vec<Vec<Vec<(usize, usize)>>> {
    per_client(conversations.len(), clients)
        .into_iter()
        .map(|hand| batches_of(conversations, &hand))
        .collect()
}

async fn record_single(
    clients: &[Arc<GqlClient>],
    conversations: &[Conversation],
    ops: &[Vec<(usize, usize)>],
    label: &str,
    deadline: Instant,
) -> anyhow::Result<Run> {
    let work = clients
        .iter()
        .cloned()
        .zip(ops)
        .map(|(client, ops)| {
            let bodies: Vec<Vec<u8>> = ops
                .iter()
                .map(|&(c, j)| {
                    let input = &conversations[c].messages[j].input;
                    common::gql_body(RECORD, json!({ "input": input }))
                })
                .collect();
            (client, bodies)
        })
        .collect();
    common::closed_loop(
        label,
        work,
        deadline,
        |client: Arc<GqlClient>, body| async move {
            client.post(body).await?;
            Ok(1)
        },
    )
    .await
}

async fn record_batches(
    clients: &[Arc<GqlClient>],
    conversations: &[Conversation],
    ops: &[Vec<Vec<(usize, usize)>>],
    label: &str,
    deadline: Instant,
) -> anyhow::Result<Run> {
    let work = clients
        .iter()
        .cloned()
        .zip(ops)
        .map(|(client, batches)| {
            let bodies: Vec<(usize, Vec<u8>)> = batches
                .iter()
                .map(|batch| {
                    let inputs: Vec<&Value> = batch
                        .iter()
                        .map(|&(c, j)| &conversations[c].messages[j].input)
                        .collect();
                    (
                        batch.len(),
                        common::gql_body(RECORD_BATCH, json!({ "inputs": inputs })),
                    )
                })
                .collect();
            (client, bodies)
        })
        .collect();
    common::closed_loop(
        label,
        work,
        deadline,
        |client: Arc<GqlClient>, (n, body): (usize, Vec<u8>)| async move {
            let answer = client.post(body).await?;
            let value: Value = serde_json::from_slice(answer.as_ref())?;
            let payload = &value["data"]["recordMessages"];
            if payload["recorded"].as_u64() != Some(n as u64) {
                bail!("recordMessages did not record all {n} messages: {payload}");
            }
            Ok(n as u64)
        },
    )
    .await
}

/// The least a store must write per message, as plain sqlx statements on a pool like the
/// app's write pool: the message row, the session's counters and the lead's counters (plus
/// the lead, its identities and the session on first contact), in one transaction.
struct Baseline {
    pool: Pool,
    tenant: Uuid,
    update_session: Stmt,
    close_session: Stmt,
    update_lead: Stmt,
}

impl Baseline {
    /// A sqlx pool like the app's write pool.
    async fn connect(url: &str) -> anyhow::Result<Pool> {
        use std::str::FromStr;
        Ok(if url.starts_with("postgres") {
            Pool::Postgres(
                sqlx::postgres::PgPoolOptions::new()
                    .max_connections(20)
                    .connect(url)
                    .await?,
            )
        } else {
            // The app's writer: one connection, WAL, synchronous NORMAL, foreign keys on.
            let options = sqlx::sqlite::SqliteConnectOptions::from_str(url)?
                .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
                .synchronous(sqlx::sqlite::SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(10))
                .pragma("temp_store", "memory")
                .pragma("cache_size", "-32000");
            Pool::Sqlite(
                sqlx::sqlite::SqlitePoolOptions::new()
                    .max_connections(1)
                    .acquire_timeout(Duration::from_secs(30))
                    .idle_timeout(None)
                    .max_lifetime(None)
                    .connect_with(options)
                    .await?,
            )
        })
    }

    fn new(pool: Pool, tenant: Uuid) -> Self {
        let postgres = pool.is_postgres();
        Self {
            pool,
            tenant,
            update_session: Stmt::new(
                "UPDATE sessions SET last_message_at = $1, message_count = message_count + $2, \
                 updated_at = $3 WHERE tenant_id = $4 AND id = $5",
                postgres,
            ),
            close_session: Stmt::new(
                "UPDATE sessions SET last_message_at = $1, message_count = message_count + $2, \
                 updated_at = $3, status = 'closed', close_reason = 'call_ended', closed_at = $4 \
                 WHERE tenant_id = $5 AND id = $6",
                postgres,
            ),
            update_lead: Stmt::new(
                "UPDATE leads SET message_count = message_count + $1, \
                 session_count = session_count + $2, last_interaction_at = $3, \
                 last_channel = $4, last_activity_at = $5, updated_at = $6 \
                 WHERE tenant_id = $7 AND id = $8",
                postgres,
            ),
        }
    }

    /// First-contact rows of a conversation: lead and identities (new customers), session
    /// (new customers and returning ones).
    fn first_rows(&self, c: &Conversation, now: chrono::DateTime<Utc>, out: &mut FirstRows) {
        let tenant = self.tenant;
        if c.kind == Kind::New {
            out.leads.push(row![
                tenant,
                c.lead_id,
                None::<String>,
                None::<String>,
                None::<String>,
                "",
                json!({}),
                None::<String>,
                None::<String>,
                None::<Uuid>,
                None::<chrono::DateTime<Utc>>,
                None::<chrono::DateTime<Utc>>,
                None::<String>,
                now,
                0i64,
                0i64,
                now,
                now,
            ]);
            for (kind, value) in &c.identities {
                out.identities.push(row![
                    tenant,
                    Uuid::now_v7(),
                    c.lead_id,
                    *kind,
                    value.clone(),
                    c.channel.as_str(),
                    now,
                ]);
            }
        }
        if c.kind != Kind::Continuing {
            out.sessions.push(row![
                tenant,
                c.session_id,
                c.lead_id,
                c.channel.as_str(),
                "open",
                c.session_ref.clone(),
                now,
                now,
                None::<chrono::DateTime<Utc>>,
                None::<String>,
                Some(c.lang.code().to_owned()),
                json!([]),
                0i64,
                None::<chrono::DateTime<Utc>>,
                now,
                now,
            ]);
        }
    }

    fn message_row(&self, c: &Conversation, m: &Message, now: chrono::DateTime<Utc>) -> Vec<Val> {
        row![
            self.tenant,
            Uuid::now_v7(),
            c.session_id,
            c.lead_id,
            c.channel.as_str(),
            m.role,
            m.content.clone(),
            None::<String>,
            None::<f64>,
            json!({ "language": c.lang.code() }),
            Some(m.external_id.clone()),
            None::<String>,
            now,
            now,
        ]
    }

    /// The counters of the session and the lead after `count` messages (`closes`: the last
    /// one hung up a call).
    async fn update_counters(
        &self,
        tx: &mut sql::Tx,
        c: &Conversation,
        count: i64,
        new_session: bool,
        closes: bool,
        now: chrono::DateTime<Utc>,
    ) -> anyhow::Result<()> {
        let updated = if closes {
            tx.execute(
                &self.close_session,
                vec![
                    now.into(),
                    count.into(),
                    now.into(),
                    now.into(),
                    self.tenant.into(),
                    c.session_id.into(),
                ],
            )
            .await?
        } else {
            tx.execute(
                &self.update_session,
                vec![
                    now.into(),
                    count.into(),
                    now.into(),
                    self.tenant.into(),
                    c.session_id.into(),
                ],
            )
            .await?
        };
        let leads = tx
            .execute(
                &self.update_lead,
                vec![
                    count.into(),
                    i64::from(new_session).into(),
                    now.into(),
                    c.channel.as_str().into(),
                    now.into(),
                    now.into(),
                    self.tenant.into(),
                    c.lead_id.into(),
                ],
            )
            .await?;
        if updated != 1 || leads != 1 {
            bail!("baseline: session or lead {} missing", c.lead_id);
        }
        Ok(())
    }

    /// Replays `ops` (what the app's clients sent, per client), one message per transaction.
    async fn single(
        self: &Arc<Self>,
        conversations: &[Conversation],
        ops: Vec<Vec<(usize, usize)>>,
        label: &str,
        deadline: Instant,
    ) -> anyhow::Result<Run> {
        let shared = Arc::new(SharedConversations::new(conversations));
        let work = ops
            .into_iter()
            .map(|ops| (Arc::new((self.clone(), shared.clone())), ops))
            .collect();
        common::closed_loop(
            label,
            work,
            deadline,
            |ctx: Arc<(Arc<Baseline>, Arc<SharedConversations>)>, (i, j): (usize, usize)| async move {
                let (b, shared) = (&ctx.0, &ctx.1);
                let c = shared.get(i);
                let m = &c.messages[j];
                let now = Utc::now();
                let mut tx = b.pool.begin().await?;
                if j == 0 {
                    let mut first = FirstRows::default();
                    b.first_rows(c, now, &mut first);
                    first.insert(&mut tx).await?;
                }
                let mut messages = vec![b.message_row(c, m, now)];
                tx.insert(&sql::MESSAGES, &mut messages).await?;
                let new_session = j == 0 && c.kind != Kind::Continuing;
                b.update_counters(&mut tx, c, 1, new_session, m.ends_session, now)
                    .await?;
                tx.commit().await?;
                Ok(1)
            },
        )
        .await
    }

    /// Replays the app's batches, one transaction per batch.
    async fn batches(
        self: &Arc<Self>,
        conversations: &[Conversation],
        ops: Vec<Vec<Vec<(usize, usize)>>>,
        label: &str,
        deadline: Instant,
    ) -> anyhow::Result<Run> {
        let shared = Arc::new(SharedConversations::new(conversations));
        let work = ops
            .into_iter()
            .map(|batches| (Arc::new((self.clone(), shared.clone())), batches))
            .collect();
        common::closed_loop(
            label,
            work,
            deadline,
            |ctx: Arc<(Arc<Baseline>, Arc<SharedConversations>)>, batch: Vec<(usize, usize)>| async move {
                let (b, shared) = (&ctx.0, &ctx.1);
                let now = Utc::now();
                let mut first = FirstRows::default();
                let mut messages = Vec::with_capacity(batch.len());
                // Per conversation: messages in this batch, whether it opens the session here,
                // whether its last message here ends a call.
                let mut touched: Vec<(usize, i64, bool, bool)> = Vec::new();
                for &(i, j) in &batch {
                    let c = shared.get(i);
                    if j == 0 {
                        b.first_rows(c, now, &mut first);
                    }
                    messages.push(b.message_row(c, &c.messages[j], now));
                    match touched.iter_mut().find(|t| t.0 == i) {
                        Some(t) => {
                            t.1 += 1;
                            t.3 = c.messages[j].ends_session;
                        }
                        None => touched.push((
                            i,
                            1,
                            j == 0 && c.kind != Kind::Continuing,
                            c.messages[j].ends_session,
                        )),
                    }
                }
                let mut tx = b.pool.begin().await?;
                first.insert(&mut tx).await?;
                tx.insert(&sql::MESSAGES, &mut messages).await?;
                for (i, count, new_session, closes) in touched {
                    b.update_counters(&mut tx, shared.get(i), count, new_session, closes, now)
                        .await?;
                }
                tx.commit().await?;
                Ok(batch.len() as u64)
            },
        )
        .await
    }
}

/// What the app's clients sent, for a baseline to replay.
struct Replay<'a> {
    single_warm: &'a [Conversation],
    single_warm_ops: Vec<Vec<(usize, usize)>>,
    single: &'a [Conversation],
    single_ops: Vec<Vec<(usize, usize)>>,
    batch_warm: &'a [Conversation],
    batch_warm_ops: Vec<Vec<Vec<(usize, usize)>>>,
    batched: &'a [Conversation],
    batch_ops: Vec<Vec<Vec<(usize, usize)>>>,
}

impl Replay<'_> {
    /// Replays both phases (each after its warm-up) on `pool`: (single, batched).
    async fn run(&self, pool: Pool, tenant: Uuid, config: &Config) -> anyhow::Result<(Run, Run)> {
        let baseline = Arc::new(Baseline::new(pool, tenant));
        baseline
            .single(
                self.single_warm,
                self.single_warm_ops.clone(),
                "baseline warm-up",
                config.deadline(true),
            )
            .await?;
        let single = baseline
            .single(
                self.single,
                self.single_ops.clone(),
                "baseline, 1 message/txn",
                config.deadline(false),
            )
            .await?;
        baseline
            .batches(
                self.batch_warm,
                self.batch_warm_ops.clone(),
                "baseline warm-up",
                config.deadline(true),
            )
            .await?;
        let batched = baseline
            .batches(
                self.batched,
                self.batch_ops.clone(),
                "baseline, 100 messages/txn",
                config.deadline(false),
            )
            .await?;
        baseline.pool.close().await;
        Ok((single, batched))
    }
}

/// New leads, identities and sessions to insert before their messages.
#[derive(Default)]
struct FirstRows {
    leads: Vec<Vec<Val>>,
    identities: Vec<Vec<Val>>,
    sessions: Vec<Vec<Val>>,
}

impl FirstRows {
    async fn insert(mut self, tx: &mut sql::Tx) -> anyhow::Result<()> {
        if !self.leads.is_empty() {
            tx.insert(&sql::LEADS, &mut self.leads).await?;
        }
        if !self.identities.is_empty() {
            tx.insert(&sql::LEAD_IDENTITIES, &mut self.identities)
                .await?;
        }
        if !self.sessions.is_empty() {
            tx.insert(&sql::SESSIONS, &mut self.sessions).await?;
        }
        Ok(())
    }
}

/// The conversations, shared with the client tasks (which must be `'static`): what the
/// baseline writes, copied once, with the same indexes.
struct SharedConversations(Vec<Conversation>);

impl SharedConversations {
    fn new(conversations: &[Conversation]) -> Self {
        Self(
            conversations
                .iter()
                .map(Conversation::clone_for_baseline)
                .collect(),
        )
    }

    fn get(&self, i: usize) -> &Conversation {
        &self.0[i]
    }
}

impl Conversation {
    fn clone_for_baseline(&self) -> Conversation {
        Conversation {
            kind: self.kind,
            channel: self.channel,
            lead_id: self.lead_id,
            lang: self.lang,
            identities: self.identities.clone(),
            session_id: self.session_id,
            session_ref: self.session_ref.clone(),
            messages: self
                .messages
                .iter()
                .map(|m| Message {
                    input: Value::Null,
                    role: m.role,
                    content: m.content.clone(),
                    external_id: m.external_id.clone(),
                    ends_session: m.ends_session,
                })
                .collect(),
        }
    }
}

fn report(
    config: &Config,
    engine: &str,
    dataset_line: &str,
    mix: &str,
    [app_single, base_single, app_batch, base_batch]: [&Run; 4],
    native: Option<[&Run; 2]>,
    // Per phase: what `/metrics` said about statements, and what the writer thread did.
    [(single_db, single_writer), (batch_db, batch_writer)]: [(common::Scrape, Option<String>); 2],
) {
    let backend = config.backend();
    println!();
    println!("memodesk bench: ingest");
    println!("  backend  {engine}   machine {}", common::machine());
    println!("  dataset  {dataset_line}");
    println!(
        "  load     {} concurrent keep-alive clients (closed loop), all in the big tenant; {mix}{}",
        config.clients,
        if config.smoke {
            "   [smoke run: not started by cargo bench]"
        } else {
            ""
        }
    );
    println!();
    println!(
        "  {:<38} {:>10} {:>9} {:>9} {:>9} {:>9} {:>9}",
        "", "msgs/s", "req/s", "p50", "p90", "p99", "max"
    );
    let mut rows = vec![
        ("recordMessage (app, 1 msg/request)", app_single),
        ("raw sqlx baseline (1 msg/transaction)", base_single),
    ];
    if let Some([single, _]) = native {
        rows.push(("raw rusqlite baseline (1 msg/txn)", single));
    }
    rows.push(("recordMessages (app, 100 msgs/request)", app_batch));
    rows.push(("raw sqlx baseline (100 msgs/txn)", base_batch));
    if let Some([_, batch]) = native {
        rows.push(("raw rusqlite baseline (100 msgs/txn)", batch));
    }
    for (name, run) in rows {
        println!(
            "  {:<38} {:>10.0} {:>9.0} {:>6.2} ms {:>6.2} ms {:>6.2} ms {:>6.2} ms",
            name,
            run.items_per_sec(),
            run.ops_per_sec(),
            run.ms(50.0),
            run.ms(90.0),
            run.ms(99.0),
            run.max_ms()
        );
    }
    for (name, run) in [("recordMessage", app_single), ("recordMessages", app_batch)] {
        if run.ops < run.planned {
            println!(
                "  {name} stopped at the {} s time limit (MEMODESK_BENCH_MAX_SECONDS):{}; the \
                 baseline replayed the same requests",
                config.max_phase.as_secs(),
                run.cut_note()
            );
        }
    }
    let per_message = |s: common::Scrape, run: &Run| {
        let n = run.items.max(1) as f64;
        (s.statements / n, s.statement_seconds / n * 1e3)
    };
    let (single_statements, single_ms) = per_message(single_db, app_single);
    let (batch_statements, batch_ms) = per_message(batch_db, app_batch);
    println!();
    println!(
        "  app statements per message: {single_statements:.1} single ({single_ms:.3} ms inside \
         statements), {batch_statements:.2} batched ({batch_ms:.3} ms); the baseline sends 3 \
         (+ first-contact inserts) single and about 3 per conversation batched"
    );
    if let (Some(single), Some(batch)) = (single_writer, batch_writer) {
        println!("  app writer thread, single:  {single}");
        println!("  app writer thread, batched: {batch}");
    }
    println!();
    // The ratio is to the like-for-like floor: rusqlite on SQLite (the app writes through it
    // there), sqlx on PostgreSQL.
    let (floor_single, floor_batch, floor) = match native {
        Some([single, batch]) => (single, batch, "rusqlite baseline"),
        None => (base_single, base_batch, "sqlx baseline"),
    };
    for (name, app, base, target) in [
        ("recordMessage ", app_single, floor_single, SINGLE_TARGET),
        ("recordMessages", app_batch, floor_batch, BATCH_TARGET),
    ] {
        let target_text = if backend == "sqlite" {
            format!(
                "target ≥ {target:.0} msgs/s: {}",
                common::verdict(app.items_per_sec() >= target)
            )
        } else {
            format!("the ≥ {target:.0} msgs/s target is for SQLite")
        };
        println!(
            "{name}  {backend}  {:.0} msgs/s  p50 {:.2} ms  p99 {:.2} ms  {floor} {:.0} msgs/s \
             p50 {:.2} ms p99 {:.2} ms  ratio throughput {:.1}x, latency p50 {:.1}x p99 {:.1}x  ({target_text})",
            app.items_per_sec(),
            app.ms(50.0),
            app.ms(99.0),
            base.items_per_sec(),
            base.ms(50.0),
            base.ms(99.0),
            base.items_per_sec() / app.items_per_sec(),
            app.ms(50.0) / base.ms(50.0),
            app.ms(99.0) / base.ms(99.0),
        );
    }
}
