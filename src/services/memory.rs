//! The memory context: everything an agent needs before replying, in a few indexed reads and
//! no LLM call. This is the hot path.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::auth::{Actor, Permission};
use crate::db::ReadPlan;
use crate::db::executor::Executor;
use crate::domain::context::{
    self, ContextDocument, ContextField, ContextMessage, ContextNote, ContextSummary, Rendered,
};
use crate::domain::phone::PhoneNumber;
use crate::domain::profile::{KnownKey, ProfileField, Source};
use crate::domain::{Channel, IdentityKind, InvalidInput, Locale, MessageRole, NoteKind};
use crate::entities::{lead, message, note, session};
use crate::error::{AppError, AppResult};
use crate::repo;
use crate::repo::tenants::TenantSettings;
use crate::services::profile::profile_of;
use crate::services::search;
use crate::state::AppState;

/// Which customer, and how to render.
#[derive(Debug, Clone, Default)]
pub struct ContextRequest {
    pub lead_id: Option<Uuid>,
    pub phone: Option<String>,
    /// The channel of the conversation the agent is in.
    pub channel: Option<Channel>,
    /// A BCP 47 tag (`en`, `he-IL`); when absent, the customer's language (see [`locale_for`]).
    pub locale: Option<String>,
    /// Also the lead's past moments most relevant to this text (search).
    pub relevant: Option<search::RelevantRequest>,
}

/// The last summary of an earlier conversation.
#[derive(Debug, Clone, PartialEq)]
pub struct LastSummary {
    pub text: String,
    pub channel: Channel,
    /// When the summary was written.
    pub at: DateTime<Utc>,
    pub session_id: Option<Uuid>,
    /// When that conversation ended (its last message); `None` when it is no longer stored.
    pub conversation_ended_at: Option<DateTime<Utc>>,
}

/// The memory context of one customer.
#[derive(Debug, Clone)]
pub struct MemoryContext {
    /// `None` for a phone number we have never seen: a new customer.
    pub lead: Option<lead::Model>,
    pub profile: Vec<(String, ProfileField)>,
    pub last_summary: Option<LastSummary>,
    /// Newest first; pinned notes always included.
    pub notes: Vec<note::Model>,
    /// The conversation in progress, if any.
    pub session: Option<session::Model>,
    /// The last messages of that conversation, oldest first.
    pub messages: Vec<message::Model>,
    pub is_returning: bool,
    pub suggested_opening: Option<String>,
    pub locale: Locale,
    pub customer_service_mode: bool,
    pub rendered: Rendered,
    /// The lead's past moments most relevant to `ContextRequest::relevant`, best first.
    pub relevant: Vec<search::SearchHit>,
}

/// Builds the memory context for a lead id or a phone number (exactly one).
pub async fn context(
    state: &AppState,
    actor: &Actor,
    request: ContextRequest,
) -> AppResult<MemoryContext> {
    actor.require(Permission::Read)?;
    let settings = state
        .tenants
        .get(state.db.reader(), actor.tenant_id)
        .await?;
    let asked = match &request.locale {
        Some(tag) => Some(Locale::from_tag(tag).ok_or_else(|| {
            InvalidInput::new(
                "locale",
                format!(
                    "unsupported locale `{}`: use en or he",
                    tag.chars().take(20).collect::<String>()
                ),
            )
        })?),
        None => None,
    };
    let tenant_id = actor.tenant_id;
    let now = state.now();
    let cs_mode = settings.customer_service_mode;
    let who = match (request.lead_id, request.phone.as_deref()) {
        (Some(_), Some(_)) => {
            return Err(AppError::bad_input(
                "phone",
                "pass either leadId or phone, not both",
            ));
        }
        (None, None) => return Err(AppError::bad_input("leadId", "pass leadId or phone")),
        (Some(id), None) => Who::Id(id),
        (None, Some(phone)) => Who::Phone(
            PhoneNumber::parse(phone, &settings.default_region, "phone")?
                .as_str()
                .to_owned(),
        ),
    };
    let plan = Sizes {
        tenant_id,
        channel: request.channel,
        messages: settings.context_messages.max(1) as u64,
        notes: if cs_mode && settings.context_notes > 0 {
            settings.context_notes as u64
        } else {
            0
        },
    };
    let found = state.db.run_reads(Recall { plan, who }).await?;
    let Some(Recalled {
        lead,
        session,
        messages,
        notes,
        summarized,
    }) = found
    else {
        return match request.lead_id {
            Some(_) => Err(AppError::not_found("lead")),
            // A number we have never seen: a new customer.
            None => Ok(new_customer(
                asked.unwrap_or(settings.locale),
                request.channel,
                cs_mode,
                &settings,
                now,
            )),
        };
    };
    // A session quiet for longer than the idle timeout is over, even before the sweeper closes
    // it: the next message opens a new one.
    let idle = settings.idle_timeout();
    let (session, messages) = match session {
        Some(s) if now - s.last_message_at > idle => (None, Vec::new()),
        other => (other, messages),
    };

    let (profile, last_summary) = if cs_mode {
        let profile = profile_of(&lead)?;
        let mut fields: Vec<(String, ProfileField)> = profile
            .filled()
            .map(|(k, f)| (k.clone(), f.clone()))
            .collect();
        fields.sort_by_key(|(k, _)| (key_rank(k), k.clone()));
        // The conversation in progress was summarized, then reopened by a late message: its
        // summary is not what happened last time, the conversation before it is.
        let reopened = session
            .as_ref()
            .map(|s| s.id)
            .filter(|&id| lead.last_summary_session_id == Some(id));
        let summary = match reopened {
            Some(current) => {
                let earlier = repo::summaries::latest_for_lead_except(
                    state.db.reader(),
                    tenant_id,
                    lead.id,
                    current,
                )
                .await?;
                match earlier {
                    Some(s) => {
                        let ended =
                            repo::sessions::find(state.db.reader(), tenant_id, s.session_id)
                                .await?
                                .map(|session| session.last_message_at);
                        Some(LastSummary {
                            text: s.summary,
                            channel: s.channel,
                            at: s.updated_at,
                            session_id: Some(s.session_id),
                            conversation_ended_at: ended,
                        })
                    }
                    None => None,
                }
            }
            None => match (
                &lead.last_summary,
                lead.last_summary_channel,
                lead.summary_updated_at,
            ) {
                (Some(text), Some(channel), Some(at)) => Some(LastSummary {
                    text: text.clone(),
                    channel,
                    at,
                    session_id: lead.last_summary_session_id,
                    conversation_ended_at: summarized
                        .filter(|s| Some(s.id) == lead.last_summary_session_id)
                        .map(|s| s.last_message_at),
                }),
                _ => None,
            },
        };
        (fields, summary)
    } else {
        (Vec::new(), None)
    };

    let remembers = last_summary.is_some()
        || !notes.is_empty()
        || profile.iter().any(|(k, _)| {
            !matches!(
                KnownKey::parse(k),
                Some(KnownKey::Phone | KnownKey::Email | KnownKey::PreferredLanguage)
            )
        });
    // A call's summary is also kept as a note: the context shows it once, as the last
    // conversation.
    let summarized_id = last_summary.as_ref().and_then(|s| s.session_id);
    let notes: Vec<note::Model> = notes
        .into_iter()
        .filter(|n| {
            !(n.kind == NoteKind::CallSummary
                && n.session_id.is_some()
                && n.session_id == summarized_id)
        })
        .collect();
    // The opening is for the start of a returning conversation: once the business has
    // answered in it (or the conversation runs past the messages read), it has been asked.
    let answered = session.as_ref().is_some_and(|s| {
        usize::try_from(s.message_count).unwrap_or(usize::MAX) > messages.len()
            || messages
                .iter()
                .any(|m| matches!(m.role, MessageRole::Agent | MessageRole::Staff))
    });
    let previous = match &session {
        Some(s) => s.previous_interaction_at.map(|p| (p, s.started_at)),
        None => lead.last_interaction_at.map(|p| (p, now)),
    };
    let is_returning = cs_mode
        && remembers
        && !answered
        && previous.is_some_and(|(before, start)| start - before > idle);
    let locale = asked.unwrap_or_else(|| locale_for(&profile, session.as_ref(), settings.locale));
    let name = profile
        .iter()
        .find(|(k, _)| k == KnownKey::Name.as_str())
        .and_then(|(_, f)| f.display_value());
    let suggested_opening =
        is_returning.then(|| context::suggested_opening(locale, name.as_deref()));

    let doc = ContextDocument {
        locale,
        channel: request.channel.or(session.as_ref().map(|s| s.channel)),
        customer_name: name,
        profile: profile
            .iter()
            .filter_map(|(k, f)| {
                Some(ContextField {
                    key: k.clone(),
                    value: f.display_value()?,
                    source: f.source,
                    confidence: f.confidence,
                })
            })
            .collect(),
        last_summary: last_summary.as_ref().map(|s| ContextSummary {
            text: s.text.clone(),
            channel: s.channel,
            // Dated by when the conversation happened, not when it was summarized.
            at: s.conversation_ended_at.unwrap_or(s.at),
        }),
        notes: notes
            .iter()
            .map(|n| ContextNote {
                body: n.body.clone(),
                kind: n.kind,
                pinned: n.pinned,
                author: n.author_label.clone(),
                at: n.created_at,
            })
            .collect(),
        messages: messages
            .iter()
            .map(|m| ContextMessage {
                role: m.role,
                content: m.content.clone(),
                at: m.occurred_at,
            })
            .collect(),
        is_returning,
        suggested_opening: suggested_opening.clone(),
        now,
    };
    let relevant = match &request.relevant {
        Some(r) if cs_mode => {
            let current = session.as_ref().map(|s| s.id);
            search::relevant_memories(state, tenant_id, lead.id, &r.text, current, r.first).await?
        }
        _ => Vec::new(),
    };
    let rendered =
        search::render_with_relevant(&doc, &relevant, budget(settings.context_char_budget));
    crate::services::audit::lead_viewed(
        state,
        actor,
        lead.id,
        crate::services::audit::LeadView::MemoryContext,
    )
    .await;
    Ok(MemoryContext {
        lead: Some(lead),
        profile,
        last_summary,
        notes,
        session,
        messages,
        is_returning,
        suggested_opening,
        locale,
        customer_service_mode: cs_mode,
        rendered,
        relevant,
    })
}

/// The language to speak when the agent did not ask for one: the customer's preferred language
/// when we are confident of it, else the language of the conversation in progress, else any
/// preferred language we noticed, else the tenant's locale. Unsupported languages are skipped.
pub fn locale_for(
    profile: &[(String, ProfileField)],
    session: Option<&session::Model>,
    tenant: Locale,
) -> Locale {
    let preferred = profile
        .iter()
        .find(|(k, _)| k == KnownKey::PreferredLanguage.as_str())
        .and_then(|(_, f)| {
            let locale = Locale::from_tag(&f.display_value()?)?;
            Some((
                locale,
                f.source != Source::Ai || f.confidence >= CONFIDENT_LANGUAGE,
            ))
        });
    let spoken = session
        .and_then(|s| s.language.as_deref())
        .and_then(Locale::from_tag);
    match (preferred, spoken) {
        (Some((locale, true)), _) => locale,
        (_, Some(locale)) => locale,
        (Some((locale, false)), None) => locale,
        (None, None) => tenant,
    }
}

/// An AI-inferred preferred language at least this sure (an explicit request, not a guess from
/// the words used) decides the context's language on its own.
const CONFIDENT_LANGUAGE: f64 = 0.7;

fn budget(chars: i32) -> usize {
    usize::try_from(chars).unwrap_or(6000)
}

/// Well-known keys first, in the order an agent wants them.
fn key_rank(key: &str) -> usize {
    KnownKey::parse(key)
        .and_then(|k| KnownKey::ALL.iter().position(|x| *x == k))
        .unwrap_or(KnownKey::ALL.len())
}

/// Whose memory: a lead id, or an E.164 phone number.
enum Who {
    Id(Uuid),
    Phone(String),
}

/// What the context reads of one lead.
struct Recalled {
    lead: lead::Model,
    /// The open session (on the channel asked for, if any).
    session: Option<session::Model>,
    /// Its last messages, oldest first.
    messages: Vec<message::Model>,
    /// Newest first, pinned ones included.
    notes: Vec<note::Model>,
    /// The conversation the lead's last summary is about.
    summarized: Option<session::Model>,
}

/// How much of a lead a memory context reads.
#[derive(Clone, Copy)]
struct Sizes {
    tenant_id: Uuid,
    channel: Option<Channel>,
    /// How many of the session's last messages.
    messages: u64,
    /// How many of the newest notes (0: none at all).
    notes: u64,
}

/// The reads of a memory context: the lead, its open conversation with its last messages, and
/// its notes. With a lead id the three are independent, so SeaORM runs them at the same time.
struct Recall {
    plan: Sizes,
    who: Who,
}

impl ReadPlan for Recall {
    type Output = Option<Recalled>;

    async fn run<C: Executor>(self, conn: &C) -> Result<Option<Recalled>, sea_orm::DbErr> {
        let Self { plan, who } = self;
        let lead = async {
            match &who {
                Who::Id(id) => repo::leads::find(conn, plan.tenant_id, *id).await,
                Who::Phone(phone) => {
                    repo::leads::find_by_identity(conn, plan.tenant_id, IdentityKind::Phone, phone)
                        .await
                }
            }
        };
        let (lead, (session, messages), notes, summarized) = match who {
            Who::Id(id) => tokio::try_join!(
                lead,
                plan.conversation(conn, id),
                plan.notes(conn, id),
                repo::sessions::last_summarized_of_lead(conn, plan.tenant_id, id),
            )?,
            Who::Phone(_) => {
                let Some(lead) = lead.await? else {
                    return Ok(None);
                };
                let summarized = async {
                    match lead.last_summary_session_id {
                        Some(id) => repo::sessions::find(conn, plan.tenant_id, id).await,
                        None => Ok(None),
                    }
                };
                let (conversation, notes, summarized) = tokio::try_join!(
                    plan.conversation(conn, lead.id),
                    plan.notes(conn, lead.id),
                    summarized,
                )?;
                (Some(lead), conversation, notes, summarized)
            }
        };
        Ok(lead.map(|lead| Recalled {
            lead,
            session,
            messages,
            notes,
            summarized,
        }))
    }
}

impl Sizes {
    async fn conversation<C: Executor>(
        self,
        conn: &C,
        lead_id: Uuid,
    ) -> Result<(Option<session::Model>, Vec<message::Model>), sea_orm::DbErr> {
        let session =
            repo::sessions::open_for_lead(conn, self.tenant_id, lead_id, self.channel).await?;
        let messages = match &session {
            Some(s) => {
                repo::messages::latest_in_session(conn, self.tenant_id, s.id, self.messages).await?
            }
            None => Vec::new(),
        };
        Ok((session, messages))
    }

    async fn notes<C: Executor>(
        self,
        conn: &C,
        lead_id: Uuid,
    ) -> Result<Vec<note::Model>, sea_orm::DbErr> {
        if self.notes == 0 {
            return Ok(Vec::new());
        }
        repo::notes::for_context(conn, self.tenant_id, lead_id, self.notes).await
    }
}

/// A number we have never seen: a new customer, nothing to remember.
fn new_customer(
    locale: Locale,
    channel: Option<Channel>,
    cs_mode: bool,
    settings: &TenantSettings,
    now: DateTime<Utc>,
) -> MemoryContext {
    let doc = ContextDocument {
        locale,
        channel,
        customer_name: None,
        profile: Vec::new(),
        last_summary: None,
        notes: Vec::new(),
        messages: Vec::new(),
        is_returning: false,
        suggested_opening: None,
        now,
    };
    MemoryContext {
        lead: None,
        profile: Vec::new(),
        last_summary: None,
        notes: Vec::new(),
        session: None,
        messages: Vec::new(),
        is_returning: false,
        suggested_opening: None,
        locale,
        customer_service_mode: cs_mode,
        rendered: context::render(&doc, budget(settings.context_char_budget)),
        relevant: Vec::new(),
    }
}
