//! Where each message of a batch goes, in memory: its lead (found by identity, or new), its
//! conversation ([`session_policy::place`]: the open one, a past one a late message belongs
//! to, or a new one), and what it changes in the session, the lead and the profile. After the
//! last message, [`Batch::settle_quiet_and_late`] closes or reopens what the batch's late and
//! old messages showed.

use std::collections::hash_map::Entry;

use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use uuid::Uuid;

use super::batch::{Batch, LeadState, SessionState, Slot};
use super::prepare::Prepared;
use crate::db::executor::Executor;
use crate::domain::classify::Intent;
use crate::domain::dialogue::Asked;
use crate::domain::profile::{Evidence, FieldKey, KnownKey, Proposal, Source};
use crate::domain::session_policy::{self, Arrival, Known, Placement, SessionView, Target};
use crate::domain::{Channel, CloseReason, EventType, MessageRole, SessionStatus};
use crate::entities::{lead, lead_identity, message, session};
use crate::error::{AppError, AppResult};
use crate::events::NewEvent;
use crate::repo;
use crate::services::{profile, sessions, summaries};

impl<'a> Batch<'a> {
    /// Step 4, for input `i` (inputs are placed in time order): its lead, its session, the
    /// message, and what it changes.
    pub(super) async fn place<C: Executor>(&mut self, txn: &C, i: usize) -> AppResult<()> {
        let prepared = self.prepared;
        let p = &prepared[i];
        if let Some(slot) = self.repeat_of(i) {
            self.slots[i] = Some(slot);
            return Ok(());
        }
        let (lead_id, lead_created) = self.lead_for(p);
        let placement = self.conversation_for(txn, p, lead_id).await?;
        let (session_id, session_created) = match placement.target {
            Target::Existing(id) => (id, false),
            Target::New => (self.open_session(p, lead_id)?, true),
        };
        let message_id = self.append_message(p, lead_id, session_id);
        self.advance_session(p, session_id, session_created, &placement)?;
        self.advance_lead(p, lead_id)?;
        self.merge_profile(p, lead_id, session_id, message_id)?;
        self.slots[i] = Some(Slot::Written {
            message: self.messages.len() - 1,
            lead_created,
            session_created,
        });
        Ok(())
    }

    /// A message recorded before, or earlier in this batch, under the same external id.
    fn repeat_of(&mut self, i: usize) -> Option<Slot> {
        let p = &self.prepared[i];
        let key = (p.channel, p.external_id.clone()?);
        if let Some(found) = self.existing.get(&key) {
            return Some(Slot::Existing(Box::new(found.clone())));
        }
        if let Some(&first) = self.recorded_in_batch.get(&key) {
            return Some(Slot::SameAs(first));
        }
        self.recorded_in_batch.insert(key, i);
        None
    }

    /// The lead: the one its strongest known identity finds, else a new lead. Identities the
    /// lead does not have yet are added to it.
    fn lead_for(&mut self, p: &Prepared) -> (Uuid, bool) {
        let (tenant_id, now) = (self.tenant_id, self.now);
        let known = p
            .identities
            .iter()
            .find_map(|id| self.identity_owner.get(id).copied());
        let (lead_id, lead_created) = match known {
            Some(id) => (id, false),
            None => {
                let id = Uuid::now_v7();
                let model = lead::Model::new(tenant_id, id, p.occurred_at.min(now), now);
                self.leads.insert(id, LeadState::new(model));
                self.events.push(NewEvent::new(
                    EventType::LeadCreated,
                    Some(id),
                    None,
                    json!({ "leadId": id, "channel": p.channel }),
                ));
                (id, true)
            }
        };
        for identity in &p.identities {
            if !self.identity_owner.contains_key(identity) {
                self.identity_owner.insert(identity.clone(), lead_id);
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
                    self.new_lead_identities.push(row);
                } else {
                    self.new_identities.push(row);
                }
            }
        }
        // A lead created by this batch may have been created "at" a later message.
        if let Some(lead) = self.leads.get_mut(&lead_id)
            && lead.created
            && p.occurred_at < lead.model.created_at
        {
            lead.model.created_at = p.occurred_at;
        }
        (lead_id, lead_created)
    }

    /// Which conversation the message belongs to ([`session_policy::place`]); a conversation
    /// it shows had ended before it is closed first.
    async fn conversation_for<C: Executor>(
        &mut self,
        txn: &C,
        p: &Prepared,
        lead_id: Uuid,
    ) -> AppResult<Placement> {
        if let Some(r) = &p.session_ref
            && self.sessions.values().any(|s| {
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
            self.sessions
                .values()
                .find(|s| s.model.channel == p.channel && s.model.session_ref.as_ref() == Some(r))
                .map(|s| view(&s.model))
        });
        let open = self.open_on(lead_id, p.channel);
        let arrival = arrival(p);
        let idle = self.settings.idle_timeout();
        let lead = self
            .leads
            .get(&lead_id)
            .ok_or_else(|| AppError::internal(anyhow::anyhow!("lead {lead_id} not loaded")))?;
        let (last_interaction_at, lead_created) = (lead.model.last_interaction_at, lead.created);
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
            && !lead_created
            && self
                .past_loaded
                .get(&lead_id)
                .is_none_or(|&loaded| since < loaded)
        {
            self.load_past(txn, lead_id, since).await?;
        }
        let closed: Vec<SessionView> = if may_be_past {
            self.sessions
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
            && let Some(s) = self.sessions.get_mut(&closing)
        {
            let at = p.occurred_at.max(s.model.last_message_at);
            close_session(
                s,
                reason,
                at,
                self.now,
                &mut self.events,
                &mut self.jobs,
                self.cx.job_max_attempts,
            );
        }
        Ok(placement)
    }

    /// Loads and locks the lead's sessions that closed at `since` or later.
    async fn load_past<C: Executor>(
        &mut self,
        txn: &C,
        lead_id: Uuid,
        since: DateTime<Utc>,
    ) -> AppResult<()> {
        let written_as = self.written_as;
        for s in repo::sessions::lock_closed_since(txn, self.tenant_id, lead_id, since).await? {
            // The locked row replaces a copy read without a lock (a duplicate's session) that
            // the batch has not changed.
            match self.sessions.entry(s.id) {
                Entry::Occupied(held) if held.get().dirty => {}
                Entry::Occupied(mut held) => {
                    held.insert(SessionState::loaded(s, written_as));
                }
                Entry::Vacant(free) => {
                    free.insert(SessionState::loaded(s, written_as));
                }
            }
        }
        self.past_loaded.insert(lead_id, since);
        Ok(())
    }

    /// Opens a new session for the message, with its `session.opened` event.
    fn open_session(&mut self, p: &Prepared, lead_id: Uuid) -> AppResult<Uuid> {
        let (tenant_id, now) = (self.tenant_id, self.now);
        let id = Uuid::now_v7();
        // A reference already names a session (the call before the caller's reset).
        let session_ref = p.session_ref.clone().filter(|r| {
            !self
                .sessions
                .values()
                .any(|s| s.model.channel == p.channel && s.model.session_ref.as_ref() == Some(r))
        });
        let lead = &mut self
            .leads
            .get_mut(&lead_id)
            .ok_or_else(|| AppError::internal(anyhow::anyhow!("lead {lead_id} not loaded")))?
            .model;
        self.sessions.insert(
            id,
            SessionState::new(session::Model {
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
                awaiting: None,
                // Unknown for a conversation recorded after later ones.
                previous_interaction_at: lead.last_interaction_at.filter(|&at| at <= p.occurred_at),
                created_at: now,
                updated_at: now,
            }),
        );
        lead.session_count += 1;
        self.events.push(NewEvent::new(
            EventType::SessionOpened,
            Some(lead_id),
            Some(id),
            json!({ "sessionId": id, "leadId": lead_id, "channel": p.channel }),
        ));
        Ok(id)
    }

    /// The message row and its `message.created` event; returns its id.
    fn append_message(&mut self, p: &'a Prepared, lead_id: Uuid, session_id: Uuid) -> Uuid {
        let message_id = Uuid::now_v7();
        self.message_terms.push(&p.search_terms);
        self.messages.push(message::Model {
            tenant_id: self.tenant_id,
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
            created_at: self.now,
        });
        self.events.push(NewEvent::new(
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
        message_id
    }

    /// The session moves on: counts, times, intents, language, and how it ends if the message
    /// ends it.
    fn advance_session(
        &mut self,
        p: &Prepared,
        session_id: Uuid,
        session_created: bool,
        placement: &Placement,
    ) -> AppResult<()> {
        let idle = self.settings.idle_timeout();
        let now = self.now;
        let s = self.sessions.get_mut(&session_id).ok_or_else(|| {
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
        // The agent's last message says what the customer's next ones answer; one that asks
        // nothing ends the question.
        if matches!(p.role, MessageRole::Agent | MessageRole::Staff) {
            let awaiting = p.asks.to_stored();
            if awaiting != s.model.awaiting {
                s.model.awaiting = awaiting;
            }
        }
        let customer_intent = (p.role == MessageRole::Customer
            && p.classification.intent != Intent::Other)
            .then_some(p.classification.intent);
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
            close_session(
                s,
                reason,
                at,
                now,
                &mut self.events,
                &mut self.jobs,
                self.cx.job_max_attempts,
            );
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
            self.late_joined.insert(session_id);
        }
        Ok(())
    }

    /// The lead moves on: counts, and its last interaction unless the message is older.
    fn advance_lead(&mut self, p: &Prepared, lead_id: Uuid) -> AppResult<()> {
        let now = self.now;
        let state = self.lead_mut(lead_id)?;
        state.dirty = true;
        let lead = &mut state.model;
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
        Ok(())
    }

    /// What the channel and the customer told us, merged into the profile under the
    /// precedence rules; new contact details become identities of the lead.
    fn merge_profile(
        &mut self,
        p: &Prepared,
        lead_id: Uuid,
        session_id: Uuid,
        message_id: Uuid,
    ) -> AppResult<()> {
        let (tenant_id, now) = (self.tenant_id, self.now);
        let asked = self.sessions.get(&session_id).map_or(Asked::NOTHING, |s| {
            Asked::from_stored(s.model.awaiting.as_deref())
        });
        let proposals = proposals_for(p, message_id, asked);
        let lead_state = self
            .leads
            .get_mut(&lead_id)
            .ok_or_else(|| AppError::internal(anyhow::anyhow!("lead {lead_id} not loaded")))?;
        let applied = if proposals.is_empty() {
            profile::Applied::default()
        } else {
            let editing = match &mut lead_state.profile {
                Some(editing) => editing,
                None => lead_state
                    .profile
                    .insert(profile::Editing::of(&lead_state.model)?),
            };
            editing.apply(&mut lead_state.model, proposals, &self.identity_owner)
        };
        if !applied.changed_keys.is_empty() && !lead_state.created {
            self.events.push(NewEvent::new(
                EventType::LeadUpdated,
                Some(lead_id),
                Some(session_id),
                json!({ "leadId": lead_id, "keys": applied.changed_keys, "by": "ingest" }),
            ));
        }
        for (kind, value) in &applied.new_identities {
            if let Entry::Vacant(owner) = self.identity_owner.entry((*kind, value.clone())) {
                owner.insert(lead_id);
                self.new_identities.push(lead_identity::Model {
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
        self.history
            .extend(profile::history_rows(tenant_id, lead_id, &applied.records));
        Ok(())
    }

    /// Settles what the batch's late and old messages did to their conversations, as the
    /// sweeper and the customer would have: a conversation written to whose last message is
    /// older than the idle timeout closes now, at the end of that quiet spell; a closed one
    /// that late messages joined is open again if they show it never went quiet (its last
    /// message is within the idle timeout, and no other conversation on the channel is open or
    /// began after it), else it is summarized again.
    pub(super) fn settle_quiet_and_late(&mut self) {
        let idle = self.settings.idle_timeout();
        let (now, max_attempts) = (self.now, self.cx.job_max_attempts);
        let mut quiet: Vec<Uuid> = self
            .sessions
            .values()
            .filter(|s| s.dirty && s.model.status == SessionStatus::Open)
            .filter(|s| s.model.last_message_at + idle < now)
            .map(|s| s.model.id)
            .collect();
        quiet.sort();
        for id in quiet {
            if let Some(s) = self.sessions.get_mut(&id) {
                let at = s.model.last_message_at + idle;
                close_session(
                    s,
                    CloseReason::IdleTimeout,
                    at,
                    now,
                    &mut self.events,
                    &mut self.jobs,
                    max_attempts,
                );
            }
        }
        // Newest first: of two conversations a late message extended, only the later may go on.
        let mut late: Vec<(DateTime<Utc>, Uuid)> = std::mem::take(&mut self.late_joined)
            .into_iter()
            .filter_map(|id| Some((self.sessions.get(&id)?.model.started_at, id)))
            .collect();
        late.sort_by(|a, b| b.cmp(a));
        for (_, id) in late {
            let going_on = self
                .sessions
                .get(&id)
                .is_some_and(|s| self.goes_on(&s.model, idle));
            let Some(s) = self.sessions.get_mut(&id) else {
                continue;
            };
            if going_on {
                reopen(s, now, &mut self.events);
            } else {
                // What the late messages said changes what the summary says.
                self.jobs.push(summaries::summary_job(
                    s.model.tenant_id,
                    id,
                    now,
                    max_attempts,
                ));
            }
        }
    }

    /// Whether a closed conversation that late messages joined never went quiet: it closed for
    /// idleness, its last message is within the idle timeout, and no other conversation on the
    /// channel is open or began after it.
    fn goes_on(&self, s: &session::Model, idle: Duration) -> bool {
        s.close_reason == Some(CloseReason::IdleTimeout)
            && s.last_message_at + idle >= self.now
            && !self.sessions.values().any(|other| {
                other.model.id != s.id
                    && other.model.lead_id == s.lead_id
                    && other.model.channel == s.channel
                    && (other.model.status == SessionStatus::Open
                        || other.model.started_at > s.started_at)
            })
    }

    /// The lead's open session on `channel`, among those the batch holds.
    fn open_on(&self, lead_id: Uuid, channel: Channel) -> Option<SessionView> {
        self.sessions
            .values()
            .find(|s| {
                s.model.lead_id == lead_id
                    && s.model.channel == channel
                    && s.model.status == SessionStatus::Open
            })
            .map(|s| view(&s.model))
    }

    fn lead_mut(&mut self, lead_id: Uuid) -> AppResult<&mut LeadState> {
        self.leads
            .get_mut(&lead_id)
            .ok_or_else(|| AppError::internal(anyhow::anyhow!("lead {lead_id} not loaded")))
    }
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
    jobs: &mut Vec<crate::repo::jobs::NewJob>,
    job_max_attempts: i32,
) {
    s.dirty = true;
    let (event, job) = sessions::close_in_memory(&mut s.model, reason, at, now, job_max_attempts);
    events.push(event);
    jobs.extend(job);
}

/// Profile proposals from one message: what the channel says about the customer (CHANNEL
/// source) and, for customer messages, what the built-in extractor found (AI source). They are
/// observations made when the message was sent, so a history import or a late delivery does not
/// replace what a later message said.
fn proposals_for(p: &Prepared, message_id: Uuid, asked: Asked) -> Vec<Proposal> {
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
    let facts = p
        .reading
        .as_ref()
        .map(|r| r.facts(asked))
        .unwrap_or_default();
    if !facts.is_empty() {
        let evidence = vec![Evidence::from_message(message_id, &p.content)];
        proposals.extend(facts.into_iter().map(|fact| Proposal {
            key: fact.key.field_key(),
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
