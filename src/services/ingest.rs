//! Ingest: recording messages. Resolves the lead, places the message in a session, classifies
//! it, merges what it says into the profile, and writes message, session, lead, history, jobs
//! and events in one transaction.
//!
//! One engine serves `recordMessage` (a batch of one) and `recordMessages`: the CPU work
//! (validation, classification, extraction) happens before the transaction, and inside it a
//! batch costs a fixed number of set-based statements whatever its size. Concurrency:
//! idempotency and first contact are enforced by unique keys (a racing writer makes the whole
//! batch retry, and the retry then sees the winner's rows); leads and sessions are row-locked
//! in id order before they change (lock order: lead → session → tenant).

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use sea_orm::{DatabaseBackend, DbErr};
use serde_json::{Value, json};
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use crate::auth::{Actor, Permission};
use crate::db::executor::{BeginWrite, Executor, WriteTx};
use crate::db::sqlite_writer::SqliteWriter;
use crate::domain::classify::{self, Classification, Intent};
use crate::domain::email::EmailAddress;
use crate::domain::extract;
use crate::domain::phone::PhoneNumber;
use crate::domain::profile::{Evidence, FieldKey, KnownKey, Proposal, Source};
use crate::domain::session_policy::{self, Arrival, Known, SessionView, Target};
use crate::domain::{
    Channel, CloseReason, EventType, IdentityKind, InvalidInput, MessageRole, SessionStatus,
};
use crate::entities::{lead, lead_identity, message, session};
use crate::error::{AppError, AppResult};
use crate::events::{NewEvent, outbox};
use crate::repo;
use crate::repo::jobs::NewJob;
use crate::services::tenants::TenantSettings;
use crate::services::{profile, sessions, summaries};
use crate::state::AppState;

pub const MAX_CONTENT_CHARS: usize = 8000;
pub const MAX_BATCH: usize = 500;
const MAX_ID_CHARS: usize = 200;
const MAX_METADATA_BYTES: usize = 64 * 1024;
/// How far in the future a client clock may be before `occurredAt` is refused.
const FUTURE_SKEW: Duration = Duration::minutes(5);
const MAX_ATTEMPTS: usize = 4;

/// One message to record, as the API received it.
#[derive(Debug, Clone, Default)]
pub struct MessageInput {
    pub channel: Option<Channel>,
    /// The customer's id on the channel (wa_id, web visitor id, caller id).
    pub external_user_id: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub display_name: Option<String>,
    pub role: Option<MessageRole>,
    pub content: String,
    /// The provider's message id: the same id on the same channel is recorded once.
    pub external_id: Option<String>,
    pub occurred_at: Option<DateTime<Utc>>,
    /// A call id or similar: messages with the same ref form one session.
    pub session_ref: Option<String>,
    /// Channel-specific raw parts kept with the message (media, location, …).
    pub metadata: Option<Value>,
    /// The conversation ended with this message (e.g. the call hung up).
    pub ends_session: bool,
}

/// What recording one message produced (or found, for a repeated `external_id`).
#[derive(Debug, Clone)]
pub struct Recorded {
    pub message: message::Model,
    /// Shared by the results of one batch that concern the same session.
    pub session: Arc<session::Model>,
    /// Shared by the results of one batch that concern the same lead.
    pub lead: Arc<lead::Model>,
    pub lead_created: bool,
    pub session_created: bool,
    /// The message was already recorded; nothing was written.
    pub duplicate: bool,
}

/// A validated, classified message ready for the transaction.
#[derive(Debug, Clone)]
struct Prepared {
    index: usize,
    /// How errors name this input: `input` or `inputs[3]`.
    prefix: String,
    channel: Channel,
    role: MessageRole,
    content: String,
    external_id: Option<String>,
    occurred_at: DateTime<Utc>,
    session_ref: Option<String>,
    ends_session: bool,
    display_name: Option<String>,
    phone: Option<String>,
    email: Option<String>,
    /// Identities to resolve the lead by, strongest first.
    identities: Vec<(IdentityKind, String)>,
    classification: Classification,
    facts: Vec<extract::Fact>,
    /// The stored message's metadata: the classifier's entities and language, and what the
    /// channel sent under `channel`.
    metadata: Value,
    /// A customer's message asking to start over (the tenant's reset phrases).
    asks_reset: bool,
}

/// The name of the thread that writes ingest on SQLite (at most 15 bytes: Linux keeps no more).
pub const WRITER_THREAD: &str = "memodesk-ingest";

/// Records one message. Concurrent calls share transactions (see [`IngestQueue`]).
pub async fn record(state: &AppState, actor: &Actor, input: MessageInput) -> AppResult<Recorded> {
    actor.require(Permission::WriteMessages)?;
    let settings = state.tenants.get(&state.db, actor.tenant_id).await?;
    let now = state.now();
    let prepared = prepare(input, 0, "input", &settings, now)?;
    state
        .ingest
        .submit(actor, settings, vec![prepared])
        .await?
        .pop()
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("the ingest writer lost a message")))?
}

/// Records up to [`MAX_BATCH`] messages in one transaction; each gets its own result, and an
/// invalid message does not stop the others.
pub async fn record_many(
    state: &AppState,
    actor: &Actor,
    inputs: Vec<MessageInput>,
) -> AppResult<Vec<AppResult<Recorded>>> {
    actor.require(Permission::WriteMessages)?;
    if inputs.len() > MAX_BATCH {
        return Err(AppError::bad_input(
            "inputs",
            format!(
                "at most {MAX_BATCH} messages per call, got {}",
                inputs.len()
            ),
        ));
    }
    let settings = state.tenants.get(&state.db, actor.tenant_id).await?;
    let now = state.now();
    let mut results: Vec<Option<AppResult<Recorded>>> = (0..inputs.len()).map(|_| None).collect();
    let mut prepared = Vec::with_capacity(inputs.len());
    for (index, input) in inputs.into_iter().enumerate() {
        match prepare(input, index, &format!("inputs[{index}]"), &settings, now) {
            Ok(p) => prepared.push(p),
            Err(err) => results[index] = Some(Err(err)),
        }
    }
    let indexes: Vec<usize> = prepared.iter().map(|p| p.index).collect();
    if !prepared.is_empty() {
        // On an SQLite file every write waits for the one writer anyway: the batch joins the
        // queue and may share a commit with other batches. PostgreSQL commits batches in
        // parallel, each on its own connection.
        let recorded = if state.db.sqlite_writer.is_some() {
            state.ingest.submit(actor, settings, prepared).await?
        } else {
            let written = write_batch(&state.db, state, actor, &settings, &prepared).await?;
            written.announce(state, actor.tenant_id)
        };
        for (index, result) in indexes.into_iter().zip(recorded) {
            results[index] = Some(result);
        }
    }
    Ok(results
        .into_iter()
        .map(|r| r.unwrap_or_else(|| Err(AppError::internal(anyhow::anyhow!("message skipped")))))
        .collect())
}

/// Group commit: writers take every request waiting (up to 64 requests and 1 000
/// messages) and record them in one transaction per tenant, so
/// concurrent requests share the cost of a commit instead of queueing for the database one by
/// one. An idle system still records a lone message at once.
///
/// On an SQLite file the writer is one thread of its own that holds the SQLite writer's
/// connection: a group costs no hop to the blocking pool and no wait for a busy runtime worker,
/// and while requests keep coming it keeps the process's turn to write for up to
/// 20 ms before letting other writers in. Elsewhere the writers are tokio tasks.
#[derive(Clone)]
pub struct IngestQueue {
    tx: mpsc::Sender<Queued>,
}

/// Requests per shared transaction.
const MAX_GROUP: usize = 64;
/// Messages per shared transaction: two full `recordMessages` batches.
const MAX_GROUP_MESSAGES: usize = 2 * MAX_BATCH;
/// How long the SQLite ingest thread may keep the process's turn to write while requests keep
/// arriving; then it queues again behind whoever waits (a staff edit, a job claim).
const HOLD_TURN: std::time::Duration = std::time::Duration::from_millis(20);

/// One request's messages and where to send their results.
struct Queued {
    actor: Actor,
    settings: Arc<TenantSettings>,
    prepared: Vec<Prepared>,
    reply: oneshot::Sender<AppResult<Vec<AppResult<Recorded>>>>,
}

impl IngestQueue {
    /// A queue whose writers are started with [`IngestWriters::start`].
    pub fn new() -> (Self, IngestWriters) {
        let (tx, rx) = mpsc::channel(4096);
        (Self { tx }, IngestWriters(rx))
    }

    /// Queues prepared messages and waits for their results.
    async fn submit(
        &self,
        actor: &Actor,
        settings: Arc<TenantSettings>,
        prepared: Vec<Prepared>,
    ) -> AppResult<Vec<AppResult<Recorded>>> {
        let (reply, answer) = oneshot::channel();
        let queued = Queued {
            actor: actor.clone(),
            settings,
            prepared,
            reply,
        };
        if self.tx.send(queued).await.is_err() {
            return Err(AppError::internal(anyhow::anyhow!(
                "the ingest writer stopped"
            )));
        }
        answer.await.map_err(|_| {
            AppError::internal(anyhow::anyhow!("the ingest writer dropped a message"))
        })?
    }
}

/// The receiving side of the queue.
pub struct IngestWriters(mpsc::Receiver<Queued>);

impl IngestWriters {
    /// Starts the writers: on an SQLite file one thread (SQLite has one writer), elsewhere
    /// `count` tokio tasks (PostgreSQL commits groups in parallel).
    pub fn start(self, state: &AppState, count: usize) -> std::io::Result<()> {
        let Some(writer) = state.db.sqlite_writer.clone() else {
            let rx = Arc::new(tokio::sync::Mutex::new(self.0));
            for _ in 0..count.max(1) {
                tokio::spawn(writer_task(state.clone(), rx.clone()));
            }
            return Ok(());
        };
        // The thread's copy of the state must not hold a sender of the queue it reads, or the
        // queue would never close and the thread never end.
        let mut thread_state = state.clone();
        thread_state.ingest = IngestQueue::new().0;
        let runtime = tokio::runtime::Handle::current();
        let rx = self.0;
        std::thread::Builder::new()
            .name(WRITER_THREAD.into())
            .spawn(move || sqlite_writer_thread(&thread_state, &writer, rx, &runtime))?;
        Ok(())
    }
}

/// A writer task: takes a group, writes it through SeaORM, answers, and waits for the next.
async fn writer_task(state: AppState, rx: Arc<tokio::sync::Mutex<mpsc::Receiver<Queued>>>) {
    let mut carried = None;
    loop {
        let group = {
            let mut rx = rx.lock().await;
            let first = match carried.take() {
                Some(first) => first,
                None => match rx.recv().await {
                    Some(first) => first,
                    None => return,
                },
            };
            let (group, left_over) = take_waiting(first, &mut rx);
            carried = left_over;
            group
        };
        for tenant in by_tenant(group) {
            let outcome = write_batch(
                &state.db,
                &state,
                &tenant.actor,
                &tenant.settings,
                &tenant.prepared,
            )
            .await;
            tenant.answer(&state, outcome);
        }
    }
}

/// The SQLite ingest thread: waits for a request, takes the turn, writes groups while more
/// wait (for up to [`HOLD_TURN`]), passes the turn on, and sleeps until the next request.
fn sqlite_writer_thread(
    state: &AppState,
    writer: &SqliteWriter,
    mut rx: mpsc::Receiver<Queued>,
    runtime: &tokio::runtime::Handle,
) {
    let mut next = None;
    loop {
        let first = match next.take() {
            Some(first) => first,
            None => match runtime.block_on(rx.recv()) {
                Some(first) => first,
                None => return,
            },
        };
        let turn = match runtime.block_on(writer.turn()) {
            Ok(turn) => turn,
            Err(err) => {
                let _ = first.reply.send(Err(err.into()));
                continue;
            }
        };
        let held_since = std::time::Instant::now();
        let mut head = Some(first);
        while let Some(first) = head.take() {
            let (group, left_over) = take_waiting(first, &mut rx);
            for tenant in by_tenant(group) {
                // The engine's futures finish at their first poll on this connection:
                // `block_on` only drives them. A panic fails this group, not the thread: the
                // open transaction rolls back as it unwinds (or before the next one).
                let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    writer.run_blocking(&turn, |conn| {
                        runtime.block_on(write_batch(
                            conn,
                            state,
                            &tenant.actor,
                            &tenant.settings,
                            &tenant.prepared,
                        ))
                    })
                }))
                .unwrap_or_else(|_| Err(DbErr::Custom("the ingest writer panicked".into())))
                .map_err(AppError::from)
                .and_then(|committed| committed);
                tenant.answer(state, outcome);
            }
            head = left_over.or_else(|| rx.try_recv().ok());
            if held_since.elapsed() >= HOLD_TURN {
                next = head.take();
            }
        }
        // The sqlx pool takes its connection back on a task of the runtime.
        runtime.block_on(async move { drop(turn) });
    }
}

/// `first` and the requests waiting behind it, within [`MAX_GROUP`] and
/// [`MAX_GROUP_MESSAGES`]; a request that would pass the message limit is handed back to
/// start the next group.
fn take_waiting(first: Queued, rx: &mut mpsc::Receiver<Queued>) -> (Vec<Queued>, Option<Queued>) {
    let mut messages = first.prepared.len();
    let mut group = vec![first];
    while group.len() < MAX_GROUP && messages < MAX_GROUP_MESSAGES {
        let Ok(next) = rx.try_recv() else { break };
        messages += next.prepared.len();
        if messages > MAX_GROUP_MESSAGES {
            return (group, Some(next));
        }
        group.push(next);
    }
    (group, None)
}

/// One tenant's share of a group: its requests' messages, written in one transaction.
struct TenantGroup {
    actor: Actor,
    settings: Arc<TenantSettings>,
    prepared: Vec<Prepared>,
    /// Each request's reply and how many of `prepared` are its, in order.
    replies: Vec<(Reply, usize)>,
}

type Reply = oneshot::Sender<AppResult<Vec<AppResult<Recorded>>>>;

impl TenantGroup {
    /// Sends each request its results, or the failure of the whole transaction.
    fn answer(self, state: &AppState, outcome: AppResult<Committed>) {
        match outcome {
            Ok(committed) => {
                let mut results = committed.announce(state, self.actor.tenant_id).into_iter();
                for (reply, count) in self.replies {
                    let _ = reply.send(Ok(results.by_ref().take(count).collect()));
                }
            }
            Err(err) => {
                // The first request gets the error itself, the others what it said.
                let message = err.describe();
                let mut err = Some(err);
                for (reply, _) in self.replies {
                    let err = err
                        .take()
                        .unwrap_or_else(|| AppError::internal(anyhow::anyhow!(message.clone())));
                    let _ = reply.send(Err(err));
                }
            }
        }
    }
}

/// Splits a group by tenant (one transaction each), keeping the order of arrival.
fn by_tenant(group: Vec<Queued>) -> Vec<TenantGroup> {
    let mut tenants: Vec<TenantGroup> = Vec::new();
    for queued in group {
        let index = match tenants
            .iter()
            .position(|t| t.actor.tenant_id == queued.actor.tenant_id)
        {
            Some(index) => index,
            None => {
                tenants.push(TenantGroup {
                    actor: queued.actor.clone(),
                    settings: queued.settings.clone(),
                    prepared: Vec::new(),
                    replies: Vec::new(),
                });
                tenants.len() - 1
            }
        };
        let tenant = &mut tenants[index];
        tenant.replies.push((queued.reply, queued.prepared.len()));
        tenant.prepared.extend(queued.prepared);
    }
    tenants
}

/// Checks and normalizes one input, and runs the built-in classifier and extractor on it.
fn prepare(
    input: MessageInput,
    index: usize,
    prefix: &str,
    settings: &TenantSettings,
    now: DateTime<Utc>,
) -> AppResult<Prepared> {
    let field = |name: &str| format!("{prefix}.{name}");
    let channel = input
        .channel
        .ok_or_else(|| InvalidInput::new(field("channel"), "channel is required"))?;
    let role = input.role.unwrap_or(MessageRole::Customer);
    let content = input.content.trim().to_owned();
    let chars = content.chars().count();
    if chars == 0 {
        return Err(InvalidInput::new(field("content"), "content is empty").into());
    }
    if chars > MAX_CONTENT_CHARS {
        return Err(InvalidInput::new(
            field("content"),
            format!("content is {chars} characters long; the limit is {MAX_CONTENT_CHARS}"),
        )
        .into());
    }
    let external_user_id = optional_id(input.external_user_id, &field("externalUserId"))?;
    let external_id = optional_id(input.external_id, &field("externalId"))?;
    let session_ref = optional_id(input.session_ref, &field("sessionRef"))?;
    let region = settings.default_region.as_str();
    let mut phone = input
        .phone
        .as_deref()
        .filter(|p| !p.trim().is_empty())
        .map(|p| PhoneNumber::parse(p, region, &field("phone")))
        .transpose()?;
    // On phone channels the user id usually is the number (a wa_id, a caller id).
    if phone.is_none()
        && matches!(channel, Channel::Whatsapp | Channel::Call | Channel::Sms)
        && let Some(id) = &external_user_id
    {
        // A wa_id always carries its country code; a caller id may be national.
        let caller_region = (channel != Channel::Whatsapp).then_some(region);
        phone = PhoneNumber::from_channel_id(id, caller_region, "").ok();
    }
    let email = input
        .email
        .as_deref()
        .filter(|e| !e.trim().is_empty())
        .map(|e| EmailAddress::parse(e, &field("email")))
        .transpose()?;
    let display_name = match input.display_name.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(name) if name.chars().count() > 200 => {
            return Err(InvalidInput::new(
                field("displayName"),
                "displayName is longer than 200 characters",
            )
            .into());
        }
        Some(name) => Some(name.split_whitespace().collect::<Vec<_>>().join(" ")),
    };
    let mut identities = Vec::new();
    if let Some(id) = &external_user_id {
        identities.push((IdentityKind::for_channel(channel), id.clone()));
    }
    if let Some(p) = &phone {
        identities.push((IdentityKind::Phone, p.as_str().to_owned()));
    }
    if let Some(e) = &email {
        identities.push((IdentityKind::Email, e.as_str().to_owned()));
    }
    if identities.is_empty() {
        return Err(InvalidInput::new(
            field("externalUserId"),
            "identify the customer with externalUserId, phone or email",
        )
        .into());
    }
    let occurred_at = match input.occurred_at {
        Some(at) if at > now + FUTURE_SKEW => {
            return Err(InvalidInput::new(
                field("occurredAt"),
                "occurredAt is in the future; send UTC times",
            )
            .into());
        }
        Some(at) if at.timestamp() < 946_684_800 => {
            return Err(InvalidInput::new(field("occurredAt"), "occurredAt is before 2000").into());
        }
        Some(at) => truncate_micros(at),
        None => now,
    };
    if let Some(metadata) = &input.metadata {
        if !metadata.is_object() {
            return Err(
                InvalidInput::new(field("metadata"), "metadata must be a JSON object").into(),
            );
        }
        if metadata.to_string().len() > MAX_METADATA_BYTES {
            return Err(
                InvalidInput::new(field("metadata"), "metadata is larger than 64 KiB").into(),
            );
        }
    }
    let classification = classify::classify(&content, occurred_at.date_naive());
    let facts = if role == MessageRole::Customer {
        extract::extract_facts(&content, &classification, region)
    } else {
        Vec::new()
    };
    // Everything that does not need the database is worked out here, on the request's task,
    // not on the one writer.
    let mut metadata = json!({});
    if !classification.entities.is_empty() {
        metadata["entities"] =
            serde_json::to_value(&classification.entities).map_err(anyhow::Error::from)?;
    }
    if let Some(language) = classification.language {
        metadata["language"] = json!(language);
    }
    if let Some(raw) = input.metadata {
        metadata["channel"] = raw;
    }
    let asks_reset = role == MessageRole::Customer
        && session_policy::is_reset_phrase(&content, &settings.reset_keywords);
    Ok(Prepared {
        index,
        prefix: prefix.to_owned(),
        channel,
        role,
        content,
        external_id,
        occurred_at,
        session_ref,
        ends_session: input.ends_session,
        display_name,
        phone: phone.map(PhoneNumber::into_string),
        email: email.map(EmailAddress::into_string),
        identities,
        classification,
        facts,
        metadata,
        asks_reset,
    })
}

fn optional_id(value: Option<String>, field: &str) -> Result<Option<String>, InvalidInput> {
    let Some(value) = value else { return Ok(None) };
    let value = value.trim();
    if value.is_empty() {
        return Ok(None);
    }
    if value.chars().count() > MAX_ID_CHARS || value.chars().any(char::is_control) {
        return Err(InvalidInput::new(
            field,
            format!("must be at most {MAX_ID_CHARS} characters without control characters"),
        ));
    }
    Ok(Some(value.to_owned()))
}

fn truncate_micros(at: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(at.timestamp_micros()).unwrap_or(at)
}

/// What a committed batch wrote.
struct Committed {
    results: Vec<AppResult<Recorded>>,
    written: u64,
    appended_events: bool,
    enqueued_jobs: bool,
}

impl Committed {
    /// Tells the event hub and the job workers what was committed; returns the results.
    fn announce(self, state: &AppState, tenant_id: Uuid) -> Vec<AppResult<Recorded>> {
        if self.appended_events {
            state.events.notify_committed(tenant_id);
        }
        if self.enqueued_jobs {
            state.jobs_notify.notify_one();
        }
        metrics::counter!("memodesk_messages_recorded_total").increment(self.written);
        self.results
    }
}

/// Writes prepared messages in one transaction from `db`, retrying when a racing writer wins a
/// unique key. If the batch keeps failing, each message is retried alone in its own savepoint so
/// one bad message reports its own error.
async fn write_batch<D: BeginWrite>(
    db: &D,
    state: &AppState,
    actor: &Actor,
    settings: &TenantSettings,
    prepared: &[Prepared],
) -> AppResult<Committed> {
    let mut last_error = None;
    for attempt in 0..MAX_ATTEMPTS {
        let txn = db.begin_write().await?;
        match engine(state, actor, settings, &txn, prepared).await {
            Ok(batch) => {
                txn.commit().await?;
                return Ok(Committed {
                    results: batch.results.into_iter().map(Ok).collect(),
                    written: batch.written,
                    appended_events: batch.appended_events,
                    enqueued_jobs: batch.enqueued_jobs,
                });
            }
            Err(err) => {
                txn.rollback().await?;
                if !is_retryable(&err) {
                    last_error = Some(err);
                    break;
                }
                tracing::debug!(attempt, "ingest raced another writer; retrying");
                last_error = Some(err);
            }
        }
    }
    if prepared.len() == 1 {
        return Err(
            last_error.unwrap_or_else(|| AppError::internal(anyhow::anyhow!("ingest failed")))
        );
    }
    // Isolate the failing message(s): one savepoint each, same transaction, in the order the
    // engine applies them, so that sessions split as they would have in one go.
    let txn = db.begin_write().await?;
    let mut committed = Committed {
        results: Vec::new(),
        written: 0,
        appended_events: false,
        enqueued_jobs: false,
    };
    let mut results: Vec<Option<AppResult<Recorded>>> = (0..prepared.len()).map(|_| None).collect();
    for i in time_order(prepared) {
        let item = &prepared[i];
        let savepoint = txn.savepoint().await?;
        match engine(
            state,
            actor,
            settings,
            &savepoint,
            std::slice::from_ref(item),
        )
        .await
        {
            Ok(mut batch) => {
                savepoint.commit().await?;
                committed.written += batch.written;
                committed.appended_events |= batch.appended_events;
                committed.enqueued_jobs |= batch.enqueued_jobs;
                results[i] = Some(
                    batch
                        .results
                        .pop()
                        .ok_or_else(|| AppError::internal(anyhow::anyhow!("no result"))),
                );
            }
            Err(err) => {
                savepoint.rollback().await?;
                results[i] = Some(Err(err));
            }
        }
    }
    txn.commit().await?;
    committed.results = results
        .into_iter()
        .map(|r| r.unwrap_or_else(|| Err(AppError::internal(anyhow::anyhow!("no result")))))
        .collect();
    Ok(committed)
}

/// The order in which a batch's messages are applied: by `occurred_at`, then as given.
fn time_order(prepared: &[Prepared]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..prepared.len()).collect();
    order.sort_by_key(|&i| (prepared[i].occurred_at, i));
    order
}

fn is_retryable(err: &AppError) -> bool {
    match err {
        AppError::Conflict(_) => true,
        AppError::Internal(cause) => cause.downcast_ref::<DbErr>().is_some_and(|db| {
            crate::db::is_unique_violation(db) || {
                let text = db.to_string();
                text.contains("deadlock detected") || text.contains("could not serialize")
            }
        }),
        _ => false,
    }
}

/// A lead as the batch changes it.
struct LeadState {
    model: lead::Model,
    /// Created by this batch (first contact).
    created: bool,
    /// On SQLite, the row as read, to write only what changed (see [`Written::Narrow`]).
    before: Option<lead::Model>,
    dirty: bool,
    /// Its profile, once a message proposed something (read once per batch).
    profile: Option<profile::Editing>,
}

impl LeadState {
    fn loaded(model: lead::Model, written: Written) -> Self {
        Self {
            before: (written == Written::Narrow).then(|| model.clone()),
            model,
            created: false,
            dirty: false,
            profile: None,
        }
    }
}

/// A session as the batch changes it.
struct SessionState {
    model: session::Model,
    /// Opened by this batch.
    created: bool,
    /// On SQLite, the row as read, to write only what changed (see [`Written::Narrow`]).
    before: Option<session::Model>,
    dirty: bool,
}

impl SessionState {
    fn loaded(model: session::Model, written: Written) -> Self {
        Self {
            before: (written == Written::Narrow).then(|| model.clone()),
            model,
            created: false,
            dirty: false,
        }
    }
}

/// How changed leads and sessions that existed before the batch are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Written {
    /// SQLite: an `UPDATE` of the columns that changed (see `repo::update_changed`), which
    /// leaves the indexes on the other columns alone.
    Narrow,
    /// PostgreSQL: one upsert for all of them.
    Upsert,
}

struct BatchOutcome {
    results: Vec<Recorded>,
    written: u64,
    appended_events: bool,
    enqueued_jobs: bool,
}

/// The transaction body for a batch. Returns one `Recorded` per prepared message, in order.
async fn engine<C: Executor>(
    state: &AppState,
    actor: &Actor,
    settings: &TenantSettings,
    txn: &C,
    prepared: &[Prepared],
) -> AppResult<BatchOutcome> {
    let tenant_id = actor.tenant_id;
    let now = state.now();
    let written_as = match txn.backend() {
        DatabaseBackend::Sqlite => Written::Narrow,
        _ => Written::Upsert,
    };

    // 1. Idempotency: messages already recorded under these external ids.
    let external_keys: Vec<(Channel, String)> = prepared
        .iter()
        .filter_map(|p| p.external_id.clone().map(|e| (p.channel, e)))
        .collect();
    let existing: HashMap<(Channel, String), message::Model> =
        repo::messages::find_by_external_ids(txn, tenant_id, &external_keys)
            .await?
            .into_iter()
            .filter_map(|m| {
                let key = (m.channel, m.external_id.clone()?);
                Some((key, m))
            })
            .collect();

    // 2. Leads by identity, and the leads the phone numbers and email addresses the
    // customers mention already find (a contact detail finds one lead).
    let new_messages = || {
        prepared
            .iter()
            .filter(|p| !is_known_duplicate(p, &existing))
    };
    let mut wanted: Vec<(IdentityKind, String)> = new_messages()
        .flat_map(|p| {
            let mentioned = p.facts.iter().filter_map(|f| match f.key {
                KnownKey::Phone => Some((IdentityKind::Phone, f.value.clone())),
                KnownKey::Email => Some((IdentityKind::Email, f.value.clone())),
                _ => None,
            });
            p.identities.iter().cloned().chain(mentioned)
        })
        .collect();
    wanted.sort();
    wanted.dedup();
    let mut identity_owner: profile::IdentityOwners =
        repo::identities::find_by_values(txn, tenant_id, &wanted)
            .await?
            .into_iter()
            .map(|i| ((i.kind, i.value), i.lead_id))
            .collect();

    // 3. Lock the leads and sessions this batch may change.
    let mut lead_ids: Vec<Uuid> = new_messages()
        .flat_map(|p| &p.identities)
        .filter_map(|id| identity_owner.get(id).copied())
        .collect();
    lead_ids.extend(existing.values().map(|m| m.lead_id));
    lead_ids.sort();
    lead_ids.dedup();
    let mut leads: HashMap<Uuid, LeadState> = repo::leads::lock_many(txn, tenant_id, &lead_ids)
        .await?
        .into_iter()
        .map(|l| (l.id, LeadState::loaded(l, written_as)))
        .collect();
    let refs: Vec<(Channel, String)> = prepared
        .iter()
        .filter_map(|p| p.session_ref.clone().map(|r| (p.channel, r)))
        .collect();
    let mut sessions: HashMap<Uuid, SessionState> = HashMap::new();
    for s in repo::sessions::lock_for_ingest(txn, tenant_id, &lead_ids, &refs).await? {
        sessions.insert(s.id, SessionState::loaded(s, written_as));
    }
    // Duplicates point at sessions that may be closed and were not loaded above.
    let missing: Vec<Uuid> = existing
        .values()
        .map(|m| m.session_id)
        .filter(|id| !sessions.contains_key(id))
        .collect();
    for s in repo::sessions::find_many(txn, tenant_id, &missing).await? {
        sessions.insert(s.id, SessionState::loaded(s, written_as));
    }
    let idle = settings.idle_timeout();
    // The leads whose closed sessions are loaded, and from when (see `may_be_past` below).
    let mut past_loaded: HashMap<Uuid, DateTime<Utc>> = HashMap::new();
    // Closed sessions that late messages joined.
    let mut late_joined: HashSet<Uuid> = HashSet::new();

    // 4. Place every message, in time order, in memory.
    let order = time_order(prepared);
    let mut new_identities: Vec<lead_identity::Model> = Vec::new();
    let mut new_lead_identities: Vec<lead_identity::Model> = Vec::new();
    let mut messages: Vec<message::Model> = Vec::new();
    let mut history = Vec::new();
    let mut jobs: Vec<NewJob> = Vec::new();
    let mut events: Vec<NewEvent> = Vec::new();
    let mut recorded_in_batch: HashMap<(Channel, String), usize> = HashMap::new();
    // Per message: Ok((message index in `messages`, lead created, session created)) or a
    // reference to an earlier duplicate.
    enum Slot {
        Written {
            message: usize,
            lead_created: bool,
            session_created: bool,
        },
        Existing(Box<message::Model>),
        SameAs(usize),
    }
    let mut slots: Vec<Option<Slot>> = (0..prepared.len()).map(|_| None).collect();

    for &i in &order {
        let p = &prepared[i];
        if let Some(external_id) = &p.external_id {
            let key = (p.channel, external_id.clone());
            if let Some(found) = existing.get(&key) {
                slots[i] = Some(Slot::Existing(Box::new(found.clone())));
                continue;
            }
            if let Some(&first) = recorded_in_batch.get(&key) {
                slots[i] = Some(Slot::SameAs(first));
                continue;
            }
            recorded_in_batch.insert(key, i);
        }

        // The lead: the strongest identity that is known, else a new lead.
        let known = p
            .identities
            .iter()
            .find_map(|id| identity_owner.get(id).copied());
        let (lead_id, lead_created) = match known {
            Some(id) => (id, false),
            None => {
                let id = Uuid::now_v7();
                leads.insert(
                    id,
                    LeadState {
                        model: lead::Model::new(tenant_id, id, p.occurred_at.min(now), now),
                        created: true,
                        before: None,
                        dirty: true,
                        profile: None,
                    },
                );
                events.push(NewEvent::new(
                    EventType::LeadCreated,
                    Some(id),
                    None,
                    json!({ "leadId": id, "channel": p.channel }),
                ));
                (id, true)
            }
        };
        for identity in &p.identities {
            if !identity_owner.contains_key(identity) {
                identity_owner.insert(identity.clone(), lead_id);
                let row = lead_identity::Model {
                    tenant_id,
                    id: Uuid::now_v7(),
                    lead_id,
                    kind: identity.0,
                    value: identity.1.clone(),
                    channel: p.channel,
                    created_at: now,
                };
                if lead_created {
                    new_lead_identities.push(row);
                } else {
                    new_identities.push(row);
                }
            }
        }
        let lead_state = leads
            .get_mut(&lead_id)
            .ok_or_else(|| AppError::internal(anyhow::anyhow!("lead {lead_id} not loaded")))?;
        // A lead created by this batch may have been created "at" a later message.
        if lead_state.created && p.occurred_at < lead_state.model.created_at {
            lead_state.model.created_at = p.occurred_at;
        }

        // The session.
        if let Some(r) = &p.session_ref
            && sessions.values().any(|s| {
                s.model.channel == p.channel
                    && s.model.session_ref.as_ref() == Some(r)
                    && s.model.lead_id != lead_id
            })
        {
            // A call id names one customer's conversation; another customer cannot join it.
            return Err(AppError::bad_input(
                format!("{}.sessionRef", p.prefix),
                "this sessionRef already names another customer's conversation",
            ));
        }
        let by_ref = p.session_ref.as_ref().and_then(|r| {
            sessions
                .values()
                .find(|s| s.model.channel == p.channel && s.model.session_ref.as_ref() == Some(r))
                .map(|s| view(&s.model))
        });
        let open = open_session(&sessions, lead_id, p.channel);
        let arrival = arrival(p);
        let last_interaction_at = lead_state.model.last_interaction_at;
        // A message that may be late (a history import, a delayed delivery) is placed among
        // the lead's past conversations around its time: those are loaded for it, once per
        // lead and batch, unless earlier messages of the batch loaded them. So are those since
        // a call that closed for idleness, which its next line opens again only if no other
        // conversation began since it did.
        let mut since = p.occurred_at - idle;
        let mut may_be_past =
            session_policy::may_be_past(&arrival, open.as_ref(), last_interaction_at, idle);
        if let Some(on_hold) = by_ref.as_ref().filter(|s| {
            s.status == SessionStatus::Closed && s.close_reason == Some(CloseReason::IdleTimeout)
        }) {
            may_be_past = true;
            since = since.min(on_hold.started_at);
        }
        if may_be_past
            && !lead_state.created
            && past_loaded
                .get(&lead_id)
                .is_none_or(|&loaded| since < loaded)
        {
            for s in repo::sessions::lock_closed_since(txn, tenant_id, lead_id, since).await? {
                // The locked row replaces a copy read without a lock (a duplicate's session)
                // that the batch has not changed.
                match sessions.entry(s.id) {
                    Entry::Occupied(held) if held.get().dirty => {}
                    Entry::Occupied(mut held) => {
                        held.insert(SessionState::loaded(s, written_as));
                    }
                    Entry::Vacant(free) => {
                        free.insert(SessionState::loaded(s, written_as));
                    }
                }
            }
            past_loaded.insert(lead_id, since);
        }
        let closed: Vec<SessionView> = if may_be_past {
            sessions
                .values()
                .filter(|s| {
                    s.model.lead_id == lead_id
                        && s.model.channel == p.channel
                        && s.model.status == SessionStatus::Closed
                })
                .map(|s| view(&s.model))
                .collect()
        } else {
            Vec::new()
        };
        let known = Known {
            by_ref: by_ref.as_ref(),
            open: open.as_ref(),
            closed: &closed,
            last_interaction_at,
        };
        let placement = session_policy::place(&arrival, known, idle);
        if let Some((closing, reason)) = placement.close_first
            && let Some(s) = sessions.get_mut(&closing)
        {
            close_session(
                s,
                reason,
                p.occurred_at.max(s.model.last_message_at),
                now,
                &mut events,
                &mut jobs,
                state,
            );
        }
        let (session_id, session_created) = match placement.target {
            Target::Existing(id) => (id, false),
            Target::New => {
                let id = Uuid::now_v7();
                // A reference already names a session (the call before the caller's reset).
                let session_ref = p.session_ref.clone().filter(|r| {
                    !sessions.values().any(|s| {
                        s.model.channel == p.channel && s.model.session_ref.as_ref() == Some(r)
                    })
                });
                let lead = &mut lead_state.model;
                sessions.insert(
                    id,
                    SessionState {
                        model: session::Model {
                            tenant_id,
                            id,
                            lead_id,
                            channel: p.channel,
                            status: SessionStatus::Open,
                            session_ref,
                            started_at: p.occurred_at,
                            last_message_at: p.occurred_at,
                            closed_at: None,
                            close_reason: None,
                            language: None,
                            intents: json!([]),
                            message_count: 0,
                            // Unknown for a conversation recorded after later ones.
                            previous_interaction_at: lead
                                .last_interaction_at
                                .filter(|&at| at <= p.occurred_at),
                            created_at: now,
                            updated_at: now,
                        },
                        created: true,
                        before: None,
                        dirty: true,
                    },
                );
                lead.session_count += 1;
                events.push(NewEvent::new(
                    EventType::SessionOpened,
                    Some(lead_id),
                    Some(id),
                    json!({ "sessionId": id, "leadId": lead_id, "channel": p.channel }),
                ));
                (id, true)
            }
        };

        // The message.
        let message_id = Uuid::now_v7();
        let customer_intent = (p.role == MessageRole::Customer
            && p.classification.intent != Intent::Other)
            .then_some(p.classification.intent);
        messages.push(message::Model {
            tenant_id,
            id: message_id,
            session_id,
            lead_id,
            channel: p.channel,
            role: p.role,
            content: p.content.clone(),
            intent: Some(p.classification.intent),
            intent_confidence: Some(p.classification.confidence),
            metadata: p.metadata.clone(),
            external_id: p.external_id.clone(),
            delivery_status: None,
            occurred_at: p.occurred_at,
            created_at: now,
        });
        events.push(NewEvent::new(
            EventType::MessageCreated,
            Some(lead_id),
            Some(session_id),
            json!({
                "messageId": message_id,
                "sessionId": session_id,
                "leadId": lead_id,
                "role": p.role,
                "channel": p.channel,
            }),
        ));

        // The session and the lead move on.
        let s = sessions.get_mut(&session_id).ok_or_else(|| {
            AppError::internal(anyhow::anyhow!("session {session_id} not loaded"))
        })?;
        s.dirty = true;
        s.model.message_count += 1;
        s.model.last_message_at = s.model.last_message_at.max(p.occurred_at);
        if p.occurred_at < s.model.started_at {
            s.model.started_at = p.occurred_at;
        }
        // A closed conversation a late message extends ends no earlier than that message, or,
        // if it went quiet, than the quiet spell after it (or now, if that is still going on).
        if let Some(closed_at) = s.model.closed_at {
            let ends = if s.model.close_reason == Some(CloseReason::IdleTimeout) {
                (s.model.last_message_at + idle).min(now)
            } else {
                s.model.last_message_at
            };
            s.model.closed_at = Some(closed_at.max(ends));
        }
        s.model.updated_at = now;
        if let Some(intent) = customer_intent {
            let mut intents: Vec<String> =
                serde_json::from_value(s.model.intents.clone()).unwrap_or_default();
            if !intents.iter().any(|i| i == intent.as_str()) {
                intents.push(intent.as_str().to_owned());
                s.model.intents = json!(intents);
            }
        }
        if p.role == MessageRole::Customer
            && let Some(language) = p.classification.language
        {
            s.model.language = Some(language.to_owned());
        }
        // A reset or a hang-up says how the conversation ended; only without one did a past
        // conversation end by going quiet.
        let ended = p.ends_session.then(|| sessions::ended(p.channel));
        let end_reason = match placement.close_after {
            Some(CloseReason::IdleTimeout) => ended.or(placement.close_after),
            close_after => close_after.or(ended),
        };
        if let Some(reason) = end_reason
            && s.model.status == SessionStatus::Open
        {
            let at = if reason == CloseReason::IdleTimeout {
                (s.model.last_message_at + idle).min(now)
            } else {
                p.occurred_at.max(s.model.last_message_at)
            };
            close_session(s, reason, at, now, &mut events, &mut jobs, state);
        } else if s.model.status == SessionStatus::Closed && !session_created {
            // A late hang-up, or a late request to start over that is the conversation's last
            // word, says how a conversation that seemed to go quiet really ended.
            let reset = placement
                .close_after
                .filter(|&r| r == CloseReason::Reset && p.occurred_at >= s.model.last_message_at);
            if let Some(reason) = ended.or(reset)
                && s.model.close_reason == Some(CloseReason::IdleTimeout)
            {
                s.model.close_reason = Some(reason);
                s.model.closed_at = Some(s.model.last_message_at);
            }
            late_joined.insert(session_id);
        }

        let lead = &mut lead_state.model;
        lead_state.dirty = true;
        lead.message_count += 1;
        if lead
            .last_interaction_at
            .is_none_or(|at| at <= p.occurred_at)
        {
            lead.last_interaction_at = Some(p.occurred_at);
            lead.last_channel = Some(p.channel);
        }
        lead.last_activity_at = lead.last_activity_at.max(p.occurred_at);
        lead.updated_at = now;

        // What the channel and the customer told us.
        let proposals = proposals_for(p, message_id);
        let applied = if proposals.is_empty() {
            profile::Applied::default()
        } else {
            let editing = match &mut lead_state.profile {
                Some(editing) => editing,
                None => lead_state.profile.insert(profile::Editing::of(lead)?),
            };
            editing.apply(lead, proposals, &identity_owner)
        };
        if !applied.changed_keys.is_empty() && !lead_state.created {
            events.push(NewEvent::new(
                EventType::LeadUpdated,
                Some(lead_id),
                Some(session_id),
                json!({ "leadId": lead_id, "keys": applied.changed_keys, "by": "ingest" }),
            ));
        }
        for (kind, value) in &applied.new_identities {
            if let Entry::Vacant(owner) = identity_owner.entry((*kind, value.clone())) {
                owner.insert(lead_id);
                new_identities.push(lead_identity::Model {
                    tenant_id,
                    id: Uuid::now_v7(),
                    lead_id,
                    kind: *kind,
                    value: value.clone(),
                    channel: p.channel,
                    created_at: now,
                });
            }
        }
        history.extend(profile::history_rows(tenant_id, lead_id, &applied.records));
        slots[i] = Some(Slot::Written {
            message: messages.len() - 1,
            lead_created,
            session_created,
        });
    }

    settle_quiet_and_late(
        &mut sessions,
        late_joined,
        idle,
        now,
        &mut events,
        &mut jobs,
        state,
    );

    // 5. Write: parents before children (leads → identities → sessions → messages); leads
    // and sessions as `written_as` says, new ones in one multi-row insert.
    for lead in leads.values_mut() {
        if let Some(editing) = &lead.profile {
            editing.store(&mut lead.model)?;
        }
    }
    let written = messages.len() as u64;
    let mut lead_rows: Vec<&LeadState> = leads.values().filter(|l| l.dirty).collect();
    lead_rows.sort_by_key(|l| l.model.id);
    let mut upserted = Vec::new();
    for lead in lead_rows {
        match &lead.before {
            Some(before) => repo::leads::update_changed(txn, before, &lead.model).await?,
            None => upserted.push(lead.model.clone()),
        }
    }
    repo::leads::upsert_many(txn, upserted).await?;
    // Every value was looked up: a unique violation here is a racing writer that gave one to
    // another lead, and the retry sees it (and declines it for this lead).
    repo::identities::insert_many(txn, new_lead_identities).await?;
    repo::identities::insert_many(txn, new_identities).await?;
    // Existing sessions first, closed before open (one may close before its successor opens
    // or a call's session opens again), then new ones.
    let mut session_rows: Vec<&SessionState> = sessions.values().filter(|s| s.dirty).collect();
    session_rows.sort_by_key(|s| (s.created, s.model.status == SessionStatus::Open, s.model.id));
    let mut upserted = Vec::new();
    for session in session_rows {
        match &session.before {
            Some(before) => repo::update_changed(txn, before, &session.model).await?,
            None => upserted.push(session.model.clone()),
        }
    }
    repo::sessions::upsert_many(txn, upserted).await?;
    repo::messages::insert_many(txn, messages.clone()).await?;
    // Each written message goes to exactly one result.
    let mut messages: Vec<Option<message::Model>> = messages.into_iter().map(Some).collect();
    repo::profile_changes::insert_many(txn, history).await?;
    let enqueued_jobs = !jobs.is_empty();
    repo::jobs::enqueue_many(txn, jobs, now).await?;

    // 6. Results, in input order: the results of one lead or session share one copy of it.
    let leads: HashMap<Uuid, Arc<lead::Model>> = leads
        .into_iter()
        .map(|(id, state)| (id, Arc::new(state.model)))
        .collect();
    let sessions: HashMap<Uuid, Arc<session::Model>> = sessions
        .into_iter()
        .map(|(id, state)| (id, Arc::new(state.model)))
        .collect();
    // Repeats of an external id point at the input that was recorded, which may come later in
    // the input (inputs are applied in time order): they are filled in a second pass.
    let mut placed: Vec<Option<Recorded>> = Vec::with_capacity(prepared.len());
    let mut repeats: Vec<(usize, usize)> = Vec::new();
    for (i, slot) in slots.iter_mut().enumerate() {
        let slot = slot
            .take()
            .ok_or_else(|| AppError::internal(anyhow::anyhow!("message {i} was not placed")))?;
        let result = match slot {
            Slot::Written {
                message,
                lead_created,
                session_created,
            } => {
                let message = messages[message].take().ok_or_else(|| {
                    AppError::internal(anyhow::anyhow!("message {message} has two results"))
                })?;
                Recorded {
                    session: lookup(&sessions, message.session_id)?,
                    lead: lookup(&leads, message.lead_id)?,
                    message,
                    lead_created,
                    session_created,
                    duplicate: false,
                }
            }
            Slot::Existing(message) => {
                let message = *message;
                let lead = match leads.get(&message.lead_id) {
                    Some(lead) => lead.clone(),
                    None => Arc::new(
                        repo::leads::find(txn, tenant_id, message.lead_id)
                            .await?
                            .ok_or(AppError::not_found("lead"))?,
                    ),
                };
                Recorded {
                    session: lookup(&sessions, message.session_id)?,
                    lead,
                    message,
                    lead_created: false,
                    session_created: false,
                    duplicate: true,
                }
            }
            Slot::SameAs(first) => {
                repeats.push((i, first));
                placed.push(None);
                continue;
            }
        };
        placed.push(Some(result));
    }
    for (i, first) in repeats {
        let mut again = placed[first].clone().ok_or_else(|| {
            AppError::internal(anyhow::anyhow!("input {i} repeats an unrecorded input"))
        })?;
        again.duplicate = true;
        again.lead_created = false;
        again.session_created = false;
        placed[i] = Some(again);
    }
    let results = placed
        .into_iter()
        .map(|r| r.ok_or_else(|| AppError::internal(anyhow::anyhow!("a result is missing"))))
        .collect::<AppResult<Vec<_>>>()?;
    // Last before the commit: from here on, the tenant's other writers wait for this one (see
    // `outbox`), so the results above are built before, not while they wait.
    let appended_events = outbox::append(txn, tenant_id, events, now).await?.is_some();
    Ok(BatchOutcome {
        results,
        written,
        appended_events,
        enqueued_jobs,
    })
}

/// The policy's view of a session.
fn view(s: &session::Model) -> SessionView {
    SessionView {
        id: s.id,
        status: s.status,
        close_reason: s.close_reason,
        started_at: s.started_at,
        last_message_at: s.last_message_at,
        closed_at: s.closed_at,
        session_ref: s.session_ref.clone(),
    }
}

/// The policy's view of a message.
fn arrival(p: &Prepared) -> Arrival<'_> {
    Arrival {
        role: p.role,
        asks_reset: p.asks_reset,
        occurred_at: p.occurred_at,
        session_ref: p.session_ref.as_deref(),
    }
}

/// The lead's open session on `channel`, among those the batch holds.
fn open_session(
    sessions: &HashMap<Uuid, SessionState>,
    lead_id: Uuid,
    channel: Channel,
) -> Option<SessionView> {
    sessions
        .values()
        .find(|s| {
            s.model.lead_id == lead_id
                && s.model.channel == channel
                && s.model.status == SessionStatus::Open
        })
        .map(|s| view(&s.model))
}

fn is_known_duplicate(p: &Prepared, existing: &HashMap<(Channel, String), message::Model>) -> bool {
    p.external_id
        .as_ref()
        .is_some_and(|e| existing.contains_key(&(p.channel, e.clone())))
}

fn lookup<T>(map: &HashMap<Uuid, Arc<T>>, id: Uuid) -> AppResult<Arc<T>> {
    map.get(&id)
        .cloned()
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("row missing from the batch")))
}

/// Settles what the batch's late and old messages did to their conversations, as the sweeper
/// and the customer would have: a conversation written to whose last message is older than the
/// idle timeout closes now, at the end of that quiet spell; a closed one that late messages
/// joined is open again if they show it never went quiet (its last message is within the idle
/// timeout, and no other conversation on the channel is open or began after it), else it is
/// summarized again.
fn settle_quiet_and_late(
    sessions: &mut HashMap<Uuid, SessionState>,
    late_joined: HashSet<Uuid>,
    idle: Duration,
    now: DateTime<Utc>,
    events: &mut Vec<NewEvent>,
    jobs: &mut Vec<NewJob>,
    state: &AppState,
) {
    let mut quiet: Vec<Uuid> = sessions
        .values()
        .filter(|s| s.dirty && s.model.status == SessionStatus::Open)
        .filter(|s| s.model.last_message_at + idle < now)
        .map(|s| s.model.id)
        .collect();
    quiet.sort();
    for id in quiet {
        if let Some(s) = sessions.get_mut(&id) {
            let at = s.model.last_message_at + idle;
            close_session(s, CloseReason::IdleTimeout, at, now, events, jobs, state);
        }
    }
    // Newest first: of two conversations a late message extended, only the later may go on.
    let mut late: Vec<(DateTime<Utc>, Uuid)> = late_joined
        .into_iter()
        .filter_map(|id| Some((sessions.get(&id)?.model.started_at, id)))
        .collect();
    late.sort_by(|a, b| b.cmp(a));
    for (_, id) in late {
        let Some(s) = sessions.get(&id).map(|s| &s.model) else {
            continue;
        };
        let going_on = s.close_reason == Some(CloseReason::IdleTimeout)
            && s.last_message_at + idle >= now
            && !sessions.values().any(|other| {
                other.model.id != id
                    && other.model.lead_id == s.lead_id
                    && other.model.channel == s.channel
                    && (other.model.status == SessionStatus::Open
                        || other.model.started_at > s.started_at)
            });
        let Some(s) = sessions.get_mut(&id) else {
            continue;
        };
        if going_on {
            reopen(s, now, events);
        } else {
            // What the late messages said changes what the summary says.
            jobs.push(summaries::summary_job(state, s.model.tenant_id, id, now));
        }
    }
}

/// Opens a closed session again in memory, with its `session.opened` event (`reopened`).
fn reopen(s: &mut SessionState, now: DateTime<Utc>, events: &mut Vec<NewEvent>) {
    s.dirty = true;
    s.model.status = SessionStatus::Open;
    s.model.closed_at = None;
    s.model.close_reason = None;
    s.model.updated_at = now;
    let (id, lead_id) = (s.model.id, s.model.lead_id);
    events.push(NewEvent::new(
        EventType::SessionOpened,
        Some(lead_id),
        Some(id),
        json!({
            "sessionId": id,
            "leadId": lead_id,
            "channel": s.model.channel,
            "reopened": true,
        }),
    ));
}

/// Closes a session in memory, with its `session.closed` event and summary job.
fn close_session(
    s: &mut SessionState,
    reason: CloseReason,
    at: DateTime<Utc>,
    now: DateTime<Utc>,
    events: &mut Vec<NewEvent>,
    jobs: &mut Vec<NewJob>,
    state: &AppState,
) {
    s.dirty = true;
    let (event, job) = sessions::close_in_memory(&mut s.model, reason, at, now, state);
    events.push(event);
    jobs.extend(job);
}

/// Profile proposals from one message: what the channel says about the customer (CHANNEL
/// source) and, for customer messages, what the built-in extractor found (AI source). They are
/// observations made when the message was sent, so a history import or a late delivery does not
/// replace what a later message said.
fn proposals_for(p: &Prepared, message_id: Uuid) -> Vec<Proposal> {
    let mut proposals = Vec::new();
    let channel_actor = format!("channel:{}", p.channel);
    let from_channel = |key: KnownKey, value: &str, confidence: f64| Proposal {
        key: FieldKey::known(key),
        value: value.to_owned(),
        source: Source::Channel,
        confidence,
        actor: channel_actor.clone(),
        evidence: Vec::new(),
        at: p.occurred_at,
    };
    if p.role == MessageRole::Customer {
        if let Some(name) = &p.display_name {
            proposals.push(from_channel(KnownKey::Name, name, 0.8));
        }
        if let Some(phone) = &p.phone {
            proposals.push(from_channel(KnownKey::Phone, phone, 1.0));
        }
        if let Some(email) = &p.email {
            proposals.push(from_channel(KnownKey::Email, email, 1.0));
        }
    }
    if !p.facts.is_empty() {
        let evidence = vec![Evidence::from_message(message_id, &p.content)];
        proposals.extend(p.facts.iter().map(|fact| Proposal {
            key: FieldKey::known(fact.key),
            value: fact.value.clone(),
            source: Source::Ai,
            confidence: fact.confidence,
            actor: "ai:builtin".into(),
            evidence: evidence.clone(),
            at: p.occurred_at,
        }));
    }
    proposals
}
