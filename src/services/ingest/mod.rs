//! Ingest: recording messages. Resolves the lead, places the message in a session, classifies
//! it, merges what it says into the profile, and writes message, session, lead, history, jobs
//! and events in one transaction.
//!
//! One engine serves `recordMessage` (a batch of one) and `recordMessages`: the CPU work
//! ([`prepare`]: validation, classification, extraction) happens on the request's task, and
//! inside the transaction ([`batch`]) a batch costs a fixed number of set-based statements
//! whatever its size. Concurrent requests share transactions ([`queue`], [`writers`]).
//! Concurrency: idempotency and first contact are enforced by unique keys (a racing writer makes
//! the whole batch retry, and the retry then sees the winner's rows); leads and sessions are
//! row-locked in id order before they change (lock order: lead → session → tenant).

mod batch;
mod placement;
mod prepare;
mod queue;
mod writers;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::auth::{Actor, Permission};
use crate::clock::SharedClock;
use crate::domain::{Channel, MessageRole};
use crate::entities::{lead, message, session};
use crate::error::{AppError, AppResult};
use crate::events::EventHub;
use crate::repo;
use crate::state::AppState;

pub use prepare::MAX_CONTENT_CHARS;
pub use writers::WRITER_THREAD;

/// The most messages one `recordMessages` call may carry.
pub const MAX_BATCH: usize = 500;

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
    /// Control characters were already removed from this input's text on its way in (ingest
    /// cleans what is left, see `domain::free_text`).
    pub text_cleaned: bool,
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

/// The ingest use case: records messages through this process's writers. Cheap to clone; the
/// writers stop when the last clone is dropped.
#[derive(Clone)]
pub struct Ingest {
    state: AppState,
    queue: queue::IngestQueue,
}

impl Ingest {
    /// Starts the writers: on an SQLite file one thread that owns the ingest connection (SQLite
    /// has one writer), elsewhere a few tokio tasks (PostgreSQL commits groups in parallel).
    pub fn start(state: &AppState) -> std::io::Result<Self> {
        let (queue, waiting) = queue::IngestQueue::new();
        writers::start(waiting, WriterContext::of(state), &state.db)?;
        Ok(Self {
            state: state.clone(),
            queue,
        })
    }

    /// Records one message. Concurrent calls share transactions.
    pub async fn record(&self, actor: &Actor, input: MessageInput) -> AppResult<Recorded> {
        actor.require(Permission::WriteMessages)?;
        let state = &self.state;
        let settings = state
            .tenants
            .get(state.db.reader(), actor.tenant_id)
            .await?;
        let terms = repo::search::format_for(state.db.backend());
        let prepared = prepare::prepare(input, 0, "input", &settings, state.now(), terms)?;
        self.queue
            .submit(actor, settings, vec![prepared])
            .await?
            .pop()
            .ok_or_else(|| {
                AppError::internal(anyhow::anyhow!("the ingest writer lost a message"))
            })?
    }

    /// Records up to [`MAX_BATCH`] messages in one transaction; each gets its own result, and an
    /// invalid message does not stop the others.
    pub async fn record_many(
        &self,
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
        let state = &self.state;
        let settings = state
            .tenants
            .get(state.db.reader(), actor.tenant_id)
            .await?;
        let now = state.now();
        let terms = repo::search::format_for(state.db.backend());
        let mut results: Vec<Option<AppResult<Recorded>>> =
            (0..inputs.len()).map(|_| None).collect();
        let mut prepared = Vec::with_capacity(inputs.len());
        for (index, input) in inputs.into_iter().enumerate() {
            let prefix = format!("inputs[{index}]");
            match prepare::prepare(input, index, &prefix, &settings, now, terms) {
                Ok(p) => prepared.push(p),
                Err(err) => results[index] = Some(Err(err)),
            }
        }
        let indexes: Vec<usize> = prepared.iter().map(|p| p.index).collect();
        if !prepared.is_empty() {
            // On an SQLite file every write waits for the one writer anyway: the batch joins
            // the queue and may share a commit with other batches. PostgreSQL commits batches
            // in parallel, each on its own connection.
            let recorded = if state.db.ingest_writer().is_some() {
                self.queue.submit(actor, settings, prepared).await?
            } else {
                let cx = WriterContext::of(state);
                batch::write_batch(&state.db, &cx, actor, &settings, &prepared)
                    .await?
                    .announce(&cx, actor.tenant_id)
            };
            for (index, result) in indexes.into_iter().zip(recorded) {
                results[index] = Some(result);
            }
        }
        Ok(results
            .into_iter()
            .map(|r| {
                r.unwrap_or_else(|| Err(AppError::internal(anyhow::anyhow!("message skipped"))))
            })
            .collect())
    }
}

/// What the writers need besides the database: the clock, whom to tell of what they committed,
/// and the one setting their summary jobs take.
#[derive(Clone)]
struct WriterContext {
    clock: SharedClock,
    events: EventHub,
    jobs_notify: Arc<tokio::sync::Notify>,
    job_max_attempts: i32,
}

impl WriterContext {
    fn of(state: &AppState) -> Self {
        Self {
            clock: state.clock.clone(),
            events: state.events.clone(),
            jobs_notify: state.jobs_notify.clone(),
            job_max_attempts: state.settings.job_max_attempts,
        }
    }

    fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }
}
