//! One batch of prepared messages in one transaction: the retries when a racing writer wins a
//! unique key, the savepoints that isolate a bad message, and the transaction body
//! ([`engine`]) as a short sequence of named steps. Where each message goes is
//! [`super::placement`]'s part.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use sea_orm::{DatabaseBackend, DbErr};
use uuid::Uuid;

use super::prepare::Prepared;
use super::{Recorded, WriterContext};
use crate::auth::Actor;
use crate::db::executor::{BeginWrite, Executor, WriteTx};
use crate::domain::profile::KnownKey;
use crate::domain::{Channel, IdentityKind, SessionStatus};
use crate::entities::{lead, lead_identity, message, profile_field_change, session};
use crate::error::{AppError, AppResult};
use crate::events::{NewEvent, outbox};
use crate::repo;
use crate::repo::jobs::NewJob;
use crate::repo::tenants::TenantSettings;
use crate::services::profile;

/// Attempts of a whole batch before its messages are retried one by one.
const MAX_ATTEMPTS: usize = 4;

/// What a committed batch wrote.
pub(super) struct Committed {
    results: Vec<AppResult<Recorded>>,
    written: u64,
    appended_events: bool,
    enqueued_jobs: bool,
}

impl Committed {
    /// Tells the event hub and the job workers what was committed; returns the results.
    pub(super) fn announce(self, cx: &WriterContext, tenant_id: Uuid) -> Vec<AppResult<Recorded>> {
        if self.appended_events {
            cx.events.notify_committed(tenant_id);
        }
        if self.enqueued_jobs {
            cx.jobs_notify.notify_one();
        }
        metrics::counter!("memodesk_messages_recorded_total").increment(self.written);
        self.results
    }
}

/// Writes prepared messages in one transaction from `db`, retrying when a racing writer wins a
/// unique key. If the batch keeps failing, each message is retried alone in its own savepoint so
/// one bad message reports its own error.
pub(super) async fn write_batch<D: BeginWrite>(
    db: &D,
    cx: &WriterContext,
    actor: &Actor,
    settings: &TenantSettings,
    prepared: &[Prepared],
) -> AppResult<Committed> {
    let mut last_error = None;
    for attempt in 0..MAX_ATTEMPTS {
        let txn = db.begin_write().await?;
        match engine(cx, actor, settings, txn.conn(), prepared).await {
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
    one_by_one(db, cx, actor, settings, prepared).await
}

/// Isolates the failing message(s) of a batch: one savepoint each, same transaction, in the
/// order the engine applies them, so that sessions split as they would have in one go.
async fn one_by_one<D: BeginWrite>(
    db: &D,
    cx: &WriterContext,
    actor: &Actor,
    settings: &TenantSettings,
    prepared: &[Prepared],
) -> AppResult<Committed> {
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
            cx,
            actor,
            settings,
            savepoint.conn(),
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
pub(super) fn time_order(prepared: &[Prepared]) -> Vec<usize> {
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

/// What the transaction body produced.
struct BatchOutcome {
    results: Vec<Recorded>,
    written: u64,
    appended_events: bool,
    enqueued_jobs: bool,
}

/// The transaction body for a batch. Returns one `Recorded` per prepared message, in order.
async fn engine<C: Executor>(
    cx: &WriterContext,
    actor: &Actor,
    settings: &TenantSettings,
    txn: &C,
    prepared: &[Prepared],
) -> AppResult<BatchOutcome> {
    let mut batch = Batch::new(cx, actor.tenant_id, settings, prepared, txn.backend());
    batch.find_duplicates(txn).await?;
    batch.resolve_contacts(txn).await?;
    batch.lock_rows(txn).await?;
    for i in time_order(prepared) {
        batch.place(txn, i).await?;
    }
    batch.settle_quiet_and_late();
    let (written, enqueued_jobs) = batch.write_rows(txn).await?;
    let (results, events) = batch.results(txn).await?;
    // Last before the commit: from here on, the tenant's other writers wait for this one (see
    // `outbox`), so the results above are built before, not while they wait.
    let appended_events = outbox::append(txn, actor.tenant_id, events, cx.now())
        .await?
        .is_some();
    Ok(BatchOutcome {
        results,
        written,
        appended_events,
        enqueued_jobs,
    })
}

/// A lead as the batch changes it.
pub(super) struct LeadState {
    pub(super) model: lead::Model,
    /// Created by this batch (first contact).
    pub(super) created: bool,
    /// On SQLite, the row as read, to write only what changed (see [`Written::Narrow`]).
    before: Option<lead::Model>,
    pub(super) dirty: bool,
    /// Its profile, once a message proposed something (read once per batch).
    pub(super) profile: Option<profile::Editing>,
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

    /// A lead this batch creates.
    pub(super) fn new(model: lead::Model) -> Self {
        Self {
            model,
            created: true,
            before: None,
            dirty: true,
            profile: None,
        }
    }
}

/// A session as the batch changes it.
pub(super) struct SessionState {
    pub(super) model: session::Model,
    /// Opened by this batch.
    pub(super) created: bool,
    /// On SQLite, the row as read, to write only what changed (see [`Written::Narrow`]).
    before: Option<session::Model>,
    pub(super) dirty: bool,
}

impl SessionState {
    pub(super) fn loaded(model: session::Model, written: Written) -> Self {
        Self {
            before: (written == Written::Narrow).then(|| model.clone()),
            model,
            created: false,
            dirty: false,
        }
    }

    /// A session this batch opens.
    pub(super) fn new(model: session::Model) -> Self {
        Self {
            model,
            created: true,
            before: None,
            dirty: true,
        }
    }
}

/// How changed leads and sessions that existed before the batch are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Written {
    /// SQLite: an `UPDATE` of the columns that changed (see `repo::update_changed`), which
    /// leaves the indexes on the other columns alone.
    Narrow,
    /// PostgreSQL: one upsert for all of them.
    Upsert,
}

/// What became of one input.
pub(super) enum Slot {
    /// Written by this batch: `message` indexes [`Batch::messages`].
    Written {
        message: usize,
        lead_created: bool,
        session_created: bool,
    },
    /// Recorded before under the same external id.
    Existing(Box<message::Model>),
    /// Repeats the external id of input `.0` of this batch.
    SameAs(usize),
}

/// A batch in the making: what it read, and the rows it will write.
pub(super) struct Batch<'a> {
    pub(super) cx: &'a WriterContext,
    pub(super) tenant_id: Uuid,
    pub(super) settings: &'a TenantSettings,
    pub(super) prepared: &'a [Prepared],
    pub(super) now: DateTime<Utc>,
    pub(super) written_as: Written,
    /// Messages already recorded under the batch's external ids.
    pub(super) existing: HashMap<(Channel, String), message::Model>,
    /// Which lead each identity (and each contact detail a customer mentions) finds.
    pub(super) identity_owner: profile::IdentityOwners,
    pub(super) leads: HashMap<Uuid, LeadState>,
    pub(super) sessions: HashMap<Uuid, SessionState>,
    /// The leads whose closed sessions are loaded, and from when.
    pub(super) past_loaded: HashMap<Uuid, DateTime<Utc>>,
    /// Closed sessions that late messages joined.
    pub(super) late_joined: HashSet<Uuid>,
    /// Identities of leads that existed before the batch.
    pub(super) new_identities: Vec<lead_identity::Model>,
    /// Identities of leads the batch creates (inserted first, right after their leads).
    pub(super) new_lead_identities: Vec<lead_identity::Model>,
    pub(super) messages: Vec<message::Model>,
    /// Each of `messages`' index terms (made by [`super::prepare`], off the writer).
    pub(super) message_terms: Vec<&'a str>,
    pub(super) history: Vec<profile_field_change::Model>,
    pub(super) jobs: Vec<NewJob>,
    pub(super) events: Vec<NewEvent>,
    /// The first input of the batch with each external id.
    pub(super) recorded_in_batch: HashMap<(Channel, String), usize>,
    /// What became of each input, by input index.
    pub(super) slots: Vec<Option<Slot>>,
}

impl<'a> Batch<'a> {
    fn new(
        cx: &'a WriterContext,
        tenant_id: Uuid,
        settings: &'a TenantSettings,
        prepared: &'a [Prepared],
        backend: DatabaseBackend,
    ) -> Self {
        Self {
            cx,
            tenant_id,
            settings,
            prepared,
            now: cx.now(),
            written_as: match backend {
                DatabaseBackend::Sqlite => Written::Narrow,
                _ => Written::Upsert,
            },
            existing: HashMap::new(),
            identity_owner: HashMap::new(),
            leads: HashMap::new(),
            sessions: HashMap::new(),
            past_loaded: HashMap::new(),
            late_joined: HashSet::new(),
            new_identities: Vec::new(),
            new_lead_identities: Vec::new(),
            messages: Vec::new(),
            message_terms: Vec::new(),
            history: Vec::new(),
            jobs: Vec::new(),
            events: Vec::new(),
            recorded_in_batch: HashMap::new(),
            slots: (0..prepared.len()).map(|_| None).collect(),
        }
    }

    /// Step 1, idempotency: the messages already recorded under the batch's external ids.
    async fn find_duplicates<C: Executor>(&mut self, txn: &C) -> AppResult<()> {
        let keys: Vec<(Channel, String)> = self
            .prepared
            .iter()
            .filter_map(|p| p.external_id.clone().map(|e| (p.channel, e)))
            .collect();
        self.existing = repo::messages::find_by_external_ids(txn, self.tenant_id, &keys)
            .await?
            .into_iter()
            .filter_map(|m| Some(((m.channel, m.external_id.clone()?), m)))
            .collect();
        Ok(())
    }

    /// The inputs that are not repeats of a message recorded before.
    fn new_messages(&self) -> impl Iterator<Item = &'a Prepared> + '_ {
        self.prepared.iter().filter(|p| {
            p.external_id
                .as_ref()
                .is_none_or(|e| !self.existing.contains_key(&(p.channel, e.clone())))
        })
    }

    /// Step 2: the leads the batch's identities find, and the leads the phone numbers and email
    /// addresses the customers mention already find (a contact detail finds one lead).
    async fn resolve_contacts<C: Executor>(&mut self, txn: &C) -> AppResult<()> {
        let mut wanted: Vec<(IdentityKind, String)> = self
            .new_messages()
            .flat_map(|p| {
                let mentioned = p.reading.iter().flat_map(|r| r.contacts()).map(|f| {
                    let kind = if f.key == KnownKey::Phone {
                        IdentityKind::Phone
                    } else {
                        IdentityKind::Email
                    };
                    (kind, f.value.clone())
                });
                p.identities.iter().cloned().chain(mentioned)
            })
            .collect();
        wanted.sort();
        wanted.dedup();
        self.identity_owner = repo::identities::find_by_values(txn, self.tenant_id, &wanted)
            .await?
            .into_iter()
            .map(|i| ((i.kind, i.value), i.lead_id))
            .collect();
        Ok(())
    }

    /// Step 3: loads and locks the leads and sessions the batch may change (lock order: leads,
    /// then sessions), and the sessions of repeated messages.
    async fn lock_rows<C: Executor>(&mut self, txn: &C) -> AppResult<()> {
        let mut lead_ids: Vec<Uuid> = self
            .new_messages()
            .flat_map(|p| &p.identities)
            .filter_map(|id| self.identity_owner.get(id).copied())
            .collect();
        lead_ids.extend(self.existing.values().map(|m| m.lead_id));
        lead_ids.sort();
        lead_ids.dedup();
        let written_as = self.written_as;
        self.leads = repo::leads::lock_many(txn, self.tenant_id, &lead_ids)
            .await?
            .into_iter()
            .map(|l| (l.id, LeadState::loaded(l, written_as)))
            .collect();
        let refs: Vec<(Channel, String)> = self
            .prepared
            .iter()
            .filter_map(|p| p.session_ref.clone().map(|r| (p.channel, r)))
            .collect();
        for s in repo::sessions::lock_for_ingest(txn, self.tenant_id, &lead_ids, &refs).await? {
            self.sessions
                .insert(s.id, SessionState::loaded(s, written_as));
        }
        // Duplicates point at sessions that may be closed and were not loaded above.
        let missing: Vec<Uuid> = self
            .existing
            .values()
            .map(|m| m.session_id)
            .filter(|id| !self.sessions.contains_key(id))
            .collect();
        for s in repo::sessions::find_many(txn, self.tenant_id, &missing).await? {
            self.sessions
                .insert(s.id, SessionState::loaded(s, written_as));
        }
        Ok(())
    }

    /// Step 5: writes parents before children (leads → identities → sessions → messages →
    /// history → jobs); leads and sessions as [`Written`] says, new ones in one multi-row
    /// insert. Returns how many messages it wrote and whether it queued jobs.
    async fn write_rows<C: Executor>(&mut self, txn: &C) -> AppResult<(u64, bool)> {
        for lead in self.leads.values_mut() {
            if let Some(editing) = &lead.profile {
                editing.store(&mut lead.model)?;
            }
        }
        let mut lead_rows: Vec<&LeadState> = self.leads.values().filter(|l| l.dirty).collect();
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
        repo::identities::insert_many(txn, std::mem::take(&mut self.new_lead_identities)).await?;
        repo::identities::insert_many(txn, std::mem::take(&mut self.new_identities)).await?;
        // Existing sessions first, closed before open (one may close before its successor opens
        // or a call's session opens again), then new ones.
        let mut session_rows: Vec<&SessionState> =
            self.sessions.values().filter(|s| s.dirty).collect();
        session_rows
            .sort_by_key(|s| (s.created, s.model.status == SessionStatus::Open, s.model.id));
        let mut upserted = Vec::new();
        for session in session_rows {
            match &session.before {
                Some(before) => repo::update_changed(txn, before, &session.model).await?,
                None => upserted.push(session.model.clone()),
            }
        }
        repo::sessions::upsert_many(txn, upserted).await?;
        repo::messages::insert_many(txn, &self.messages, &self.message_terms).await?;
        repo::profile_changes::insert_many(txn, std::mem::take(&mut self.history)).await?;
        let jobs = std::mem::take(&mut self.jobs);
        let enqueued_jobs = !jobs.is_empty();
        repo::jobs::enqueue_many(txn, jobs, self.now).await?;
        Ok((self.messages.len() as u64, enqueued_jobs))
    }

    /// Step 6: the results, in input order (the results of one lead or session share one copy
    /// of it), and the events to append.
    async fn results<C: Executor>(self, txn: &C) -> AppResult<(Vec<Recorded>, Vec<NewEvent>)> {
        let tenant_id = self.tenant_id;
        let leads: HashMap<Uuid, Arc<lead::Model>> = self
            .leads
            .into_iter()
            .map(|(id, state)| (id, Arc::new(state.model)))
            .collect();
        let sessions: HashMap<Uuid, Arc<session::Model>> = self
            .sessions
            .into_iter()
            .map(|(id, state)| (id, Arc::new(state.model)))
            .collect();
        // Each written message goes to exactly one result.
        let mut messages: Vec<Option<message::Model>> =
            self.messages.into_iter().map(Some).collect();
        // Repeats of an external id point at the input that was recorded, which may come later
        // in the input (inputs are applied in time order): they are filled in a second pass.
        let mut placed: Vec<Option<Recorded>> = Vec::with_capacity(self.slots.len());
        let mut repeats: Vec<(usize, usize)> = Vec::new();
        for (i, slot) in self.slots.into_iter().enumerate() {
            let slot = slot
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
        Ok((results, self.events))
    }
}

fn lookup<T>(map: &HashMap<Uuid, Arc<T>>, id: Uuid) -> AppResult<Arc<T>> {
    map.get(&id)
        .cloned()
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("row missing from the batch")))
}
