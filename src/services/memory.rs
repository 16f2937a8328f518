//! The memory context: everything an agent needs before replying, in a few indexed reads and
//! no LLM call. This is the hot path.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::auth::{Actor, Permission};
use crate::domain::context::{
    self, ContextDocument, ContextField, ContextMessage, ContextNote, ContextSummary, Rendered,
};
use crate::domain::phone::PhoneNumber;
use crate::domain::profile::{KnownKey, ProfileField};
use crate::domain::{Channel, IdentityKind, InvalidInput, Locale};
use crate::entities::{lead, message, note, session};
use crate::error::{AppError, AppResult};
use crate::repo;
use crate::services::profile::profile_of;
use crate::state::AppState;

/// Which customer, and how to render.
#[derive(Debug, Clone, Default)]
pub struct ContextRequest {
    pub lead_id: Option<Uuid>,
    pub phone: Option<String>,
    /// The channel of the conversation the agent is in.
    pub channel: Option<Channel>,
    /// A BCP 47 tag (`en`, `he-IL`); the tenant's locale when absent.
    pub locale: Option<String>,
}

/// The last summary of an earlier conversation.
#[derive(Debug, Clone, PartialEq)]
pub struct LastSummary {
    pub text: String,
    pub channel: Channel,
    pub at: DateTime<Utc>,
    pub session_id: Option<Uuid>,
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
}

/// Builds the memory context for a lead id or a phone number (exactly one).
pub async fn context(
    state: &AppState,
    actor: &Actor,
    request: ContextRequest,
) -> AppResult<MemoryContext> {
    actor.require(Permission::Read)?;
    let settings = state.tenants.get(&state.db, actor.tenant_id).await?;
    let locale = match &request.locale {
        Some(tag) => Locale::from_tag(tag).ok_or_else(|| {
            InvalidInput::new(
                "locale",
                format!(
                    "unsupported locale `{}`: use en or he",
                    tag.chars().take(20).collect::<String>()
                ),
            )
        })?,
        None => settings.locale,
    };
    let tenant_id = actor.tenant_id;
    let db = &state.db.read;
    let now = state.now();
    let cs_mode = settings.customer_service_mode;
    let recall = |lead_id| recall(db, tenant_id, lead_id, request.channel, &settings);
    let (lead, (session, messages, notes)) = match (request.lead_id, request.phone.as_deref()) {
        (Some(_), Some(_)) => {
            return Err(AppError::bad_input(
                "phone",
                "pass either leadId or phone, not both",
            ));
        }
        (None, None) => return Err(AppError::bad_input("leadId", "pass leadId or phone")),
        // The id is known: the lead and what to recall about it are read at the same time.
        (Some(id), None) => {
            let (lead, recalled) =
                tokio::try_join!(repo::leads::find(db, tenant_id, id), recall(id))?;
            (lead.ok_or(AppError::not_found("lead"))?, recalled)
        }
        (None, Some(phone)) => {
            let phone = PhoneNumber::parse(phone, &settings.default_region, "phone")?;
            let found =
                repo::leads::find_by_identity(db, tenant_id, IdentityKind::Phone, phone.as_str())
                    .await?;
            let Some(lead) = found else {
                return Ok(new_customer(
                    locale,
                    request.channel,
                    cs_mode,
                    &settings,
                    now,
                ));
            };
            let recalled = recall(lead.id).await?;
            (lead, recalled)
        }
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
        let summary = match (
            &lead.last_summary,
            lead.last_summary_channel,
            lead.summary_updated_at,
        ) {
            (Some(text), Some(channel), Some(at)) => Some(LastSummary {
                text: text.clone(),
                channel,
                at,
                session_id: lead.last_summary_session_id,
            }),
            _ => None,
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
    let previous = match &session {
        Some(s) => s.previous_interaction_at.map(|p| (p, s.started_at)),
        None => lead.last_interaction_at.map(|p| (p, now)),
    };
    let is_returning =
        cs_mode && remembers && previous.is_some_and(|(before, start)| start - before > idle);
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
            at: s.at,
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
    let rendered = context::render(&doc, budget(settings.context_char_budget));
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
    })
}

fn budget(chars: i32) -> usize {
    usize::try_from(chars).unwrap_or(6000)
}

/// Well-known keys first, in the order an agent wants them.
fn key_rank(key: &str) -> usize {
    KnownKey::parse(key)
        .and_then(|k| KnownKey::ALL.iter().position(|x| *x == k))
        .unwrap_or(KnownKey::ALL.len())
}

/// The conversation in progress with its last messages, and the notes to show, read in
/// parallel.
async fn recall(
    db: &sea_orm::DatabaseConnection,
    tenant_id: Uuid,
    lead_id: Uuid,
    channel: Option<Channel>,
    settings: &crate::services::tenants::TenantSettings,
) -> Result<
    (
        Option<session::Model>,
        Vec<message::Model>,
        Vec<note::Model>,
    ),
    sea_orm::DbErr,
> {
    let conversation = async {
        let session = repo::sessions::open_for_lead(db, tenant_id, lead_id, channel).await?;
        let messages = match &session {
            Some(s) => {
                repo::messages::latest_in_session(
                    db,
                    tenant_id,
                    s.id,
                    settings.context_messages.max(1) as u64,
                )
                .await?
            }
            None => Vec::new(),
        };
        Ok::<_, sea_orm::DbErr>((session, messages))
    };
    let notes = async {
        if settings.customer_service_mode && settings.context_notes > 0 {
            repo::notes::for_context(db, tenant_id, lead_id, settings.context_notes as u64).await
        } else {
            Ok(Vec::new())
        }
    };
    let ((session, messages), notes) = tokio::try_join!(conversation, notes)?;
    Ok((session, messages, notes))
}

/// A number we have never seen: a new customer, nothing to remember.
fn new_customer(
    locale: Locale,
    channel: Option<Channel>,
    cs_mode: bool,
    settings: &crate::services::tenants::TenantSettings,
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
    }
}
