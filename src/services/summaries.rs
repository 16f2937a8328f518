//! Summaries of closed conversations: ask the language model (falling back to the built-in
//! summarizer), then store the summary, update the lead, add a call note, and merge the facts
//! into the profile — all in one transaction, once per session.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter};
use serde_json::json;
use uuid::Uuid;

use crate::auth::{Actor, Permission};
use crate::domain::profile::keys::normalize_value;
use crate::domain::profile::{Evidence, FieldKey, KnownKey, Proposal, Source};
use crate::domain::summarize::TranscriptMessage;
use crate::domain::{Channel, CloseReason, EventType, MessageRole, NoteKind, SessionStatus};
use crate::entities::{interaction_summary, job, note, session};
use crate::error::{AppError, AppResult};
use crate::events::{NewEvent, outbox};
use crate::llm::{Builtin, Summarized};
use crate::repo;
use crate::repo::jobs::NewJob;
use crate::repo::search::SearchDocument;
use crate::services::profile;
use crate::state::AppState;

/// A conversation closed by a request to start over, with at most this many customer messages
/// and no facts, does not replace the lead's last summary.
const STARTING_OVER_MESSAGES: usize = 2;

/// The job that summarizes a closed session.
pub const SUMMARIZE_SESSION: &str = "summarize_session";

/// The dedupe key of a session's summary job.
pub fn dedupe_key(session_id: Uuid) -> String {
    format!("{SUMMARIZE_SESSION}:{session_id}")
}

/// The job that (re)summarizes a session; deduplicated while one is still pending.
pub fn summary_job(
    tenant_id: Uuid,
    session_id: Uuid,
    now: DateTime<Utc>,
    max_attempts: i32,
) -> NewJob {
    NewJob {
        tenant_id,
        kind: SUMMARIZE_SESSION.into(),
        payload: json!({ "sessionId": session_id }),
        dedupe_key: Some(dedupe_key(session_id)),
        run_at: now,
        max_attempts,
    }
}

/// Who may finish the job that asked for this summary (`None`: a direct request).
pub struct Fence<'a> {
    pub job: &'a job::Model,
    pub owner: &'a str,
}

/// What happened.
#[derive(Debug)]
pub enum Outcome {
    Stored(Box<interaction_summary::Model>),
    /// The session has no messages (or no longer exists): nothing to summarize.
    Nothing,
    /// Another runner holds the job now; nothing was written.
    LeaseLost,
}

/// Summarizes a session and stores the result.
pub async fn summarize_session(
    state: &AppState,
    tenant_id: Uuid,
    session_id: Uuid,
    fence: Option<Fence<'_>>,
) -> AppResult<Outcome> {
    let Some(session) = repo::sessions::find(state.db.reader(), tenant_id, session_id).await?
    else {
        return finish_without_summary(state, fence).await;
    };
    // Open again since the job was queued (a call back from hold, a late message that shows
    // the conversation went on): it is summarized when it closes again.
    if session.status == SessionStatus::Open {
        return finish_without_summary(state, fence).await;
    }
    let messages = repo::messages::all_in_session(state.db.reader(), tenant_id, session_id).await?;
    if messages.is_empty() {
        return finish_without_summary(state, fence).await;
    }
    let settings = state.tenants.get(state.db.reader(), tenant_id).await?;
    let transcript: Vec<TranscriptMessage> = messages
        .iter()
        .map(|m| TranscriptMessage {
            id: m.id,
            role: m.role,
            content: m.content.clone(),
            at: m.occurred_at,
        })
        .collect();

    // The model call happens outside any transaction.
    let started = std::time::Instant::now();
    let (summarized, fallback_reason) = match state
        .llm
        .summarize(session.channel, &transcript, &settings.default_region)
        .await
    {
        Ok(summarized) => (summarized, None),
        Err(err) => {
            let reason = format!("{err:#}");
            tracing::warn!(session = %session_id, reason = %reason, "LLM failed; using the built-in summarizer");
            metrics::counter!("memodesk_summary_fallbacks_total").increment(1);
            (
                Builtin::summarize_now(session.channel, &transcript, &settings.default_region),
                Some(reason),
            )
        }
    };
    metrics::histogram!("memodesk_summary_seconds").record(started.elapsed().as_secs_f64());
    store(
        state,
        &session,
        &transcript,
        summarized,
        fallback_reason,
        fence,
    )
    .await
}

async fn finish_without_summary(state: &AppState, fence: Option<Fence<'_>>) -> AppResult<Outcome> {
    if let Some(fence) = fence
        && !repo::jobs::complete(state.db.writer(), fence.job, fence.owner, state.now()).await?
    {
        return Ok(Outcome::LeaseLost);
    }
    Ok(Outcome::Nothing)
}

async fn store(
    state: &AppState,
    session: &session::Model,
    transcript: &[TranscriptMessage],
    summarized: Summarized,
    fallback_reason: Option<String>,
    fence: Option<Fence<'_>>,
) -> AppResult<Outcome> {
    let tenant_id = session.tenant_id;
    let now = state.now();
    let draft = &summarized.draft;
    let settings = state.tenants.get(state.db.reader(), tenant_id).await?;

    // Facts become AI proposals with the messages they came from.
    let by_id: HashMap<Uuid, &TranscriptMessage> = transcript.iter().map(|m| (m.id, m)).collect();
    let actor_label = format!("ai:{}:{}", summarized.provider, summarized.model);
    let proposals: Vec<Proposal> = draft
        .facts
        .iter()
        .filter_map(|fact| {
            let key = FieldKey::parse(&fact.key, "key").ok()?;
            let value =
                normalize_value(&key, &fact.value, &settings.default_region, "value").ok()?;
            let shown_by: Vec<&TranscriptMessage> = fact
                .evidence
                .iter()
                .filter_map(|id| by_id.get(id).copied())
                .collect();
            Some(Proposal {
                key,
                value,
                source: Source::Ai,
                confidence: fact.confidence,
                actor: actor_label.clone(),
                evidence: shown_by
                    .iter()
                    .map(|m| Evidence::from_message(m.id, &m.content))
                    .collect(),
                // Learned from the conversation, so as of its messages (the last that shows
                // it, else the conversation's last): a summary written later does not replace
                // what the customer said since.
                at: shown_by
                    .iter()
                    .map(|m| m.at)
                    .max()
                    .unwrap_or(session.last_message_at),
            })
        })
        .collect();

    let txn = state.db.begin_write().await?;
    // Lock order: lead → session → job → tenant.
    let Some(mut lead) = repo::leads::lock_many(&txn, tenant_id, &[session.lead_id])
        .await?
        .pop()
    else {
        drop(txn);
        return finish_without_summary(state, fence).await;
    };
    // Opened again while the model wrote (a late message showed the conversation went on): it
    // is summarized when it closes again.
    if repo::sessions::lock_one(&txn, tenant_id, session.id)
        .await?
        .is_none_or(|s| s.status == SessionStatus::Open)
    {
        drop(txn);
        return finish_without_summary(state, fence).await;
    }
    let summary = upsert_summary(&txn, session, &summarized, fallback_reason.clone(), now).await?;

    let mut events = vec![NewEvent::new(
        EventType::SummaryCreated,
        Some(lead.id),
        Some(session.id),
        json!({
            "summaryId": summary.id,
            "sessionId": session.id,
            "leadId": lead.id,
            "provider": summarized.provider,
            "fallback": fallback_reason.is_some(),
        }),
    )];

    // The lead shows the summary of its most recent conversation, unless that conversation
    // only asked to start over ("hi" … "let's start from the beginning"): it taught us nothing,
    // and the conversation before it is still what happened last time.
    let only_started_over = session.close_reason == Some(CloseReason::Reset)
        // What language they speak is no news about what they wanted.
        && draft
            .facts
            .iter()
            .all(|f| f.key == KnownKey::PreferredLanguage.as_str())
        && transcript
            .iter()
            .filter(|m| m.role == MessageRole::Customer)
            .count()
            <= STARTING_OVER_MESSAGES
        && lead.last_summary_session_id.is_some_and(|id| id != session.id);
    let newer_than_current = !only_started_over
        && match lead.last_summary_session_id {
            None => true,
            Some(current) if current == session.id => true,
            Some(current) => repo::sessions::find(&txn, tenant_id, current)
                .await?
                .is_none_or(|s| s.last_message_at <= session.last_message_at),
        };
    let mut lead_dirty = false;
    if newer_than_current {
        lead.last_summary = Some(draft.summary.clone());
        lead.last_summary_channel = Some(session.channel);
        lead.last_summary_session_id = Some(session.id);
        lead.summary_updated_at = Some(now);
        lead_dirty = true;
    }
    let mentioned: Vec<_> = proposals.iter().filter_map(profile::identity_of).collect();
    let owners: profile::IdentityOwners =
        repo::identities::find_by_values(&txn, tenant_id, &mentioned)
            .await?
            .into_iter()
            .map(|i| ((i.kind, i.value), i.lead_id))
            .collect();
    let applied = profile::apply_proposals(&mut lead, proposals, &owners)?;
    let mut changed_keys = applied.changed_keys.clone();
    if newer_than_current {
        changed_keys.push("last_summary".into());
    }
    if !applied.changed_keys.is_empty() {
        lead_dirty = true;
    }
    if lead_dirty {
        lead.updated_at = now;
        // A writer that gave one to another lead since the lookup above fails this attempt
        // (unique key), and the job's retry declines the value.
        let unknown: Vec<_> = applied
            .new_identities
            .into_iter()
            .filter(|identity| !owners.contains_key(identity))
            .collect();
        repo::identities::insert_many(
            &txn,
            profile::identity_rows(tenant_id, lead.id, &unknown, session.channel, now),
        )
        .await?;
        repo::leads::upsert_many(&txn, vec![lead.clone()]).await?;
        events.push(NewEvent::new(
            EventType::LeadUpdated,
            Some(lead.id),
            Some(session.id),
            json!({ "leadId": lead.id, "keys": changed_keys, "by": "summary" }),
        ));
    }
    repo::profile_changes::insert_many(
        &txn,
        profile::history_rows(tenant_id, lead.id, &applied.records),
    )
    .await?;
    if session.channel == Channel::Call
        && let Some(event) = upsert_call_note(&txn, session, &draft.summary, now).await?
    {
        events.push(event);
    }
    if let Some(fence) = &fence
        && !repo::jobs::complete(&txn, fence.job, fence.owner, now).await?
    {
        // Someone else took the job over: leave everything to them.
        txn.rollback().await?;
        return Ok(Outcome::LeaseLost);
    }
    outbox::append(&txn, tenant_id, events, now).await?;
    txn.commit().await?;
    state.events.notify_committed(tenant_id);
    metrics::counter!(
        "memodesk_summaries_written_total",
        "provider" => summarized.provider.clone(),
        "fallback" => fallback_reason.is_some().to_string()
    )
    .increment(1);
    Ok(Outcome::Stored(Box::new(summary)))
}

/// One summary per session: a re-run replaces it (same id), never duplicates it.
async fn upsert_summary(
    txn: &DatabaseTransaction,
    session: &session::Model,
    summarized: &Summarized,
    fallback_reason: Option<String>,
    now: DateTime<Utc>,
) -> AppResult<interaction_summary::Model> {
    use interaction_summary::Column as C;
    let draft = &summarized.draft;
    let row = interaction_summary::Model {
        tenant_id: session.tenant_id,
        id: Uuid::now_v7(),
        session_id: session.id,
        lead_id: session.lead_id,
        channel: session.channel,
        summary: draft.summary.clone(),
        key_points: json!(draft.key_points),
        facts: serde_json::to_value(&draft.facts).map_err(anyhow::Error::from)?,
        intents: json!(draft.intents.iter().map(|i| i.as_str()).collect::<Vec<_>>()),
        sentiment: Some(draft.sentiment.as_str().to_owned()),
        language: draft.language.clone(),
        next_step: draft.next_step.clone(),
        provider: summarized.provider.clone(),
        model: summarized.model.clone(),
        prompt_version: summarized.prompt_version.clone(),
        fallback_reason,
        prompt_tokens: i32::try_from(summarized.prompt_tokens).unwrap_or(i32::MAX),
        completion_tokens: i32::try_from(summarized.completion_tokens).unwrap_or(i32::MAX),
        created_at: now,
        updated_at: now,
    };
    interaction_summary::Entity::insert(interaction_summary::ActiveModel::from(row))
        .on_conflict(
            OnConflict::columns([C::TenantId, C::SessionId])
                .update_columns([
                    C::Summary,
                    C::KeyPoints,
                    C::Facts,
                    C::Intents,
                    C::Sentiment,
                    C::Language,
                    C::NextStep,
                    C::Provider,
                    C::Model,
                    C::PromptVersion,
                    C::FallbackReason,
                    C::PromptTokens,
                    C::CompletionTokens,
                    C::UpdatedAt,
                ])
                .to_owned(),
        )
        .exec_without_returning(txn)
        .await?;
    let stored = repo::summaries::for_session(txn, session.tenant_id, session.id)
        .await?
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("summary vanished after upsert")))?;
    repo::search::reindex(txn, &SearchDocument::of_summary(&stored)).await?;
    Ok(stored)
}

/// A call's summary as a `call_summary` note (updated in place on a re-run).
async fn upsert_call_note(
    txn: &DatabaseTransaction,
    session: &session::Model,
    summary: &str,
    now: DateTime<Utc>,
) -> AppResult<Option<NewEvent>> {
    let existing = note::Entity::find()
        .filter(note::Column::TenantId.eq(session.tenant_id))
        .filter(note::Column::SessionId.eq(session.id))
        .filter(note::Column::Kind.eq(NoteKind::CallSummary))
        .one(txn)
        .await?;
    let (note, event) = match existing {
        Some(existing) if existing.body == summary => return Ok(None),
        Some(existing) => {
            let mut active: note::ActiveModel = existing.into();
            active.body = sea_orm::ActiveValue::Set(summary.to_owned());
            active.updated_at = sea_orm::ActiveValue::Set(now);
            let saved = sea_orm::ActiveModelTrait::update(active, txn).await?;
            repo::search::reindex(txn, &SearchDocument::of_note(&saved)).await?;
            (saved, EventType::NoteUpdated)
        }
        None => {
            let row = note::Model {
                tenant_id: session.tenant_id,
                id: Uuid::now_v7(),
                lead_id: session.lead_id,
                session_id: Some(session.id),
                kind: NoteKind::CallSummary,
                body: summary.to_owned(),
                author_id: None,
                author_label: "memodesk".into(),
                pinned: false,
                created_at: now,
                updated_at: now,
            };
            let saved =
                sea_orm::ActiveModelTrait::insert(note::ActiveModel::from(row), txn).await?;
            repo::search::index_new(txn, &[SearchDocument::of_note(&saved)]).await?;
            (saved, EventType::NoteCreated)
        }
    };
    Ok(Some(NewEvent::new(
        event,
        Some(note.lead_id),
        Some(session.id),
        json!({ "noteId": note.id, "leadId": note.lead_id, "pinned": note.pinned }),
    )))
}

/// Staff ask for a (new) summary of a closed session now.
pub async fn resummarize(
    state: &AppState,
    actor: &Actor,
    session_id: Uuid,
) -> AppResult<interaction_summary::Model> {
    actor.require(Permission::WriteNotes)?;
    let session = repo::sessions::find(state.db.reader(), actor.tenant_id, session_id)
        .await?
        .ok_or(AppError::not_found("session"))?;
    if session.status == SessionStatus::Open {
        return Err(AppError::bad_input(
            "id",
            "the session is still open: close it first (closeSession)",
        ));
    }
    match summarize_session(state, actor.tenant_id, session_id, None).await? {
        Outcome::Stored(summary) => {
            crate::services::audit::record(
                state.db.writer(),
                actor,
                "session.resummarized",
                "session",
                Some(session_id.to_string()),
                serde_json::json!({ "leadId": session.lead_id, "summaryId": summary.id }),
                state.now(),
            )
            .await?;
            Ok(*summary)
        }
        Outcome::Nothing | Outcome::LeaseLost => Err(AppError::bad_input(
            "id",
            "the session has no messages to summarize",
        )),
    }
}

pub async fn for_lead(
    state: &AppState,
    actor: &Actor,
    lead_id: Uuid,
    limit: u64,
) -> AppResult<Vec<interaction_summary::Model>> {
    actor.require(Permission::Read)?;
    Ok(repo::summaries::for_lead(state.db.reader(), actor.tenant_id, lead_id, limit).await?)
}
