//! Subject access export: everything held about one customer as a ZIP (profile with
//! provenance, conversations, messages, summaries, notes, who looked at them, and a README in
//! the tenant's language). The archive is written to an anonymous temporary file a page of
//! rows at a time, so memory stays bounded however long the history; a short-lived signed link
//! lets a browser download it without a bearer token.

use std::io::{Seek, Write};

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};
use uuid::Uuid;
use zip::ZipWriter;
use zip::write::SimpleFileOptions;

use super::catalogue::{CATALOGUE, Retention};
use crate::auth::links::{LinkClaims, Requester};
use crate::auth::{Actor, Permission, Principal};
use crate::domain::profile::{Evidence, Profile, Source};
use crate::domain::{ApiScope, Locale, StaffRole};
use crate::entities::lead;
use crate::error::{AppError, AppResult};
use crate::repo;
use crate::repo::pagination::Cursor;
use crate::repo::tenants::TenantSettings;
use crate::services::audit;
use crate::state::AppState;

/// How long a download link works.
pub const LINK_TTL: Duration = Duration::minutes(15);
/// Rows read per statement.
const PAGE: u64 = 500;
/// What a refused link reads, whatever the reason (expired, tampered, another lead or tenant).
pub const LINK_REFUSED: &str = "this download link is not valid or has expired: ask for a new one";

/// A download link for one customer's export.
#[derive(Debug, Clone)]
pub struct ExportLink {
    /// The path (or, with `public_url` set, the full URL) with its token.
    pub url: String,
    pub expires_at: DateTime<Utc>,
}

/// A signed link to `lead_id`'s export, valid for [`LINK_TTL`] (admins, or an API key with the
/// `export` scope). Another tenant's lead is `NOT_FOUND`, like a missing one.
pub async fn link(state: &AppState, actor: &Actor, lead_id: Uuid) -> AppResult<ExportLink> {
    actor.require(Permission::Export)?;
    let now = state.now();
    repo::leads::find(state.db.reader(), actor.tenant_id, lead_id)
        .await?
        .ok_or(AppError::not_found("lead"))?;
    let expires_at = now + LINK_TTL;
    let requester = match actor.principal {
        Principal::User { id } => Requester::Staff(id),
        Principal::ApiKey { id } => Requester::ApiKey(id),
        Principal::Service { .. } | Principal::System => Requester::Service,
    };
    let token = state.links.sign(&LinkClaims {
        tenant_id: actor.tenant_id,
        lead_id,
        requester,
        expires_at,
    });
    let path = format!("/export/subject/{lead_id}?token={token}");
    let url = match &state.settings.public_url {
        Some(base) => format!("{}{path}", base.trim_end_matches('/')),
        None => path,
    };
    audit::record(
        state.db.writer(),
        actor,
        "lead.export_requested",
        "lead",
        Some(lead_id.to_string()),
        json!({ "expiresAt": expires_at }),
        now,
    )
    .await?;
    Ok(ExportLink { url, expires_at })
}

/// The caller a valid link stands for; `FORBIDDEN` with [`LINK_REFUSED`] for any other token.
pub fn link_actor(state: &AppState, token: &str, lead_id: Uuid) -> AppResult<Actor> {
    let claims = state
        .links
        .verify(token, lead_id, state.now())
        .ok_or_else(|| AppError::Forbidden(LINK_REFUSED.into()))?;
    let (principal, role, scopes) = match claims.requester {
        Requester::Staff(id) => (Principal::User { id }, Some(StaffRole::Admin), Vec::new()),
        Requester::ApiKey(id) => (Principal::ApiKey { id }, None, vec![ApiScope::Export]),
        Requester::Service => (
            Principal::Service {
                subject: "link".into(),
            },
            Some(StaffRole::Admin),
            Vec::new(),
        ),
    };
    Ok(Actor {
        tenant_id: claims.tenant_id,
        principal,
        role,
        scopes,
        expires_at: Some(claims.expires_at),
    })
}

/// Writes the export into an anonymous temporary file and returns it rewound.
pub async fn to_temp_file(
    state: &AppState,
    actor: &Actor,
    lead_id: Uuid,
) -> AppResult<std::fs::File> {
    let file = tempfile::tempfile().map_err(AppError::internal)?;
    let mut file = write(state, actor, lead_id, file).await?;
    file.rewind().map_err(AppError::internal)?;
    Ok(file)
}

/// Writes `lead_id`'s export as a ZIP into `out` (admins, or the `export` scope) and records a
/// `lead.exported` audit entry.
pub async fn write<W: Write + Seek>(
    state: &AppState,
    actor: &Actor,
    lead_id: Uuid,
    out: W,
) -> AppResult<W> {
    actor.require(Permission::Export)?;
    let tenant_id = actor.tenant_id;
    let conn = state.db.reader();
    let lead = repo::leads::find(conn, tenant_id, lead_id)
        .await?
        .ok_or(AppError::not_found("lead"))?;
    let tenant = state.tenants.get(conn, tenant_id).await?;
    // Before the access log is read, so the export shows itself.
    audit::record(
        state.db.writer(),
        actor,
        "lead.exported",
        "lead",
        Some(lead_id.to_string()),
        json!({ "format": "zip" }),
        state.now(),
    )
    .await?;
    let kind = if actor.role.is_some() {
        "staff"
    } else {
        "machine"
    };
    metrics::counter!("memodesk_lead_reads_total", "view" => "export", "actor" => kind)
        .increment(1);

    let mut zip = Archive::new(out);
    zip.start("README.txt")?;
    zip.write(readme(&tenant, &lead).as_bytes())?;
    zip.start("subject.json")?;
    let subject = subject(state, &lead).await?;
    zip.write(&to_json(&subject)?)?;
    conversations(state, &mut zip, &lead).await?;
    messages(state, &mut zip, &lead).await?;
    summaries(state, &mut zip, &lead).await?;
    zip.start("notes.json")?;
    let notes = repo::notes::for_lead(conn, tenant_id, lead_id, None).await?;
    let notes: Vec<Value> = notes
        .iter()
        .rev()
        .map(|n| {
            json!({
                "id": n.id,
                "conversationId": n.session_id,
                "kind": n.kind.as_str(),
                "body": n.body,
                "author": n.author_label,
                "pinned": n.pinned,
                "createdAt": n.created_at,
                "updatedAt": n.updated_at,
            })
        })
        .collect();
    zip.write(&to_json(&Value::Array(notes))?)?;
    access_log(state, &mut zip, &lead).await?;
    zip.finish()
}

/// The ZIP being written, with errors mapped to `INTERNAL`.
struct Archive<W: Write + Seek> {
    zip: ZipWriter<W>,
}

impl<W: Write + Seek> Archive<W> {
    fn new(out: W) -> Self {
        Self {
            zip: ZipWriter::new(out),
        }
    }

    fn start(&mut self, name: &str) -> AppResult<()> {
        let options = SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .large_file(name == "messages.csv");
        self.zip
            .start_file(name, options)
            .map_err(AppError::internal)
    }

    fn write(&mut self, bytes: &[u8]) -> AppResult<()> {
        self.zip.write_all(bytes).map_err(AppError::internal)
    }

    /// Writes one element of a JSON array opened with `[`.
    fn element(&mut self, first: &mut bool, value: &Value) -> AppResult<()> {
        if !std::mem::take(first) {
            self.write(b",\n")?;
        }
        self.write(&to_json(value)?)
    }

    fn finish(self) -> AppResult<W> {
        self.zip.finish().map_err(AppError::internal)
    }
}

fn to_json(value: &Value) -> AppResult<Vec<u8>> {
    serde_json::to_vec_pretty(value).map_err(AppError::internal)
}

/// Where a value came from, in the customer's words.
fn provenance(source: Source) -> &'static str {
    match source {
        Source::Manual => "staff",
        Source::Import => "import",
        Source::Channel => "channel",
        Source::Ai => "ai",
    }
}

/// The profile with provenance, identities and the profile's history.
async fn subject(state: &AppState, lead: &lead::Model) -> AppResult<Value> {
    let conn = state.db.reader();
    let tenant_id = lead.tenant_id;
    let profile: Profile = serde_json::from_value(lead.profile.clone()).unwrap_or_default();
    let mut evidence_ids: Vec<Uuid> = profile
        .fields
        .values()
        .flat_map(|f| {
            f.evidence
                .iter()
                .chain(f.items.iter().flat_map(|i| i.evidence.iter()))
        })
        .map(|e| e.message_id)
        .collect();
    evidence_ids.sort_unstable();
    evidence_ids.dedup();
    let mut messages = std::collections::HashMap::new();
    for ids in evidence_ids.chunks(PAGE as usize) {
        for m in repo::subject::messages_by_id(conn, tenant_id, ids).await? {
            messages.insert(m.id, m);
        }
    }
    let evidence = |list: &[Evidence]| -> Vec<Value> {
        list.iter()
            .map(|e| {
                let message = messages.get(&e.message_id);
                json!({
                    "messageId": e.message_id,
                    "excerpt": e.snippet,
                    "message": message.map(|m| json!({
                        "conversationId": m.session_id,
                        "occurredAt": m.occurred_at,
                        "channel": m.channel.as_str(),
                        "role": m.role.as_str(),
                        "content": m.content,
                    })),
                })
            })
            .collect()
    };
    let fields: Vec<Value> = profile
        .fields
        .iter()
        .filter(|(_, f)| !f.is_empty())
        .map(|(key, f)| {
            let items: Vec<Value> = f
                .visible_items()
                .map(|i| {
                    json!({
                        "value": i.value,
                        "source": provenance(i.source),
                        "inferredAutomatically": i.source == Source::Ai,
                        "confidence": i.confidence,
                        "updatedAt": i.updated_at,
                        "evidence": evidence(&i.evidence),
                    })
                })
                .collect();
            json!({
                "key": key,
                "value": f.display_value(),
                "items": items,
                "source": provenance(f.source),
                "inferredAutomatically": f.source == Source::Ai,
                "confidence": f.confidence,
                "updatedAt": f.updated_at,
                "previousValue": f.previous_value,
                "evidence": evidence(&f.evidence),
            })
        })
        .collect();
    let identities: Vec<Value> = repo::identities::for_leads(conn, tenant_id, &[lead.id])
        .await?
        .into_iter()
        .map(|i| {
            json!({
                "channel": i.channel.as_str(),
                "kind": i.kind.as_str(),
                "value": i.value,
                "since": i.created_at,
            })
        })
        .collect();
    let history: Vec<Value> =
        repo::profile_changes::for_lead(conn, tenant_id, lead.id, None, u32::MAX.into())
            .await?
            .into_iter()
            .rev()
            .map(|c| {
                json!({
                    "at": c.created_at,
                    "key": c.field_key,
                    "item": c.item,
                    "oldValue": c.old_value,
                    "newValue": c.new_value,
                    "source": provenance(c.source),
                    "confidence": c.confidence,
                    "outcome": c.outcome.as_str(),
                    "evidence": c.evidence,
                })
            })
            .collect();
    Ok(json!({
        "leadId": lead.id,
        "displayName": lead.display_name,
        "phone": lead.primary_phone,
        "email": lead.email,
        "firstSeenAt": lead.created_at,
        "lastInteractionAt": lead.last_interaction_at,
        "lastChannel": lead.last_channel.map(|c| c.as_str()),
        "lastSummary": lead.last_summary,
        "identities": identities,
        "profile": fields,
        "profileHistory": history,
    }))
}

async fn conversations<W: Write + Seek>(
    state: &AppState,
    zip: &mut Archive<W>,
    lead: &lead::Model,
) -> AppResult<()> {
    zip.start("conversations.json")?;
    zip.write(b"[\n")?;
    let mut first = true;
    let mut after: Option<Cursor> = None;
    loop {
        let page = repo::subject::sessions(state.db.reader(), lead.tenant_id, lead.id, after, PAGE)
            .await?;
        for s in &page {
            zip.element(
                &mut first,
                &json!({
                    "id": s.id,
                    "channel": s.channel.as_str(),
                    "status": s.status.as_str(),
                    "startedAt": s.started_at,
                    "lastMessageAt": s.last_message_at,
                    "closedAt": s.closed_at,
                    "closeReason": s.close_reason.map(|r| r.as_str()),
                    "language": s.language,
                    "intents": s.intents,
                    "messageCount": s.message_count,
                }),
            )?;
        }
        match page.last() {
            Some(last) if page.len() as u64 == PAGE => {
                after = Some(repo::sessions::cursor_of(last));
            }
            _ => break,
        }
    }
    zip.write(b"\n]\n")
}

/// One row per message, conversation by conversation, oldest first.
async fn messages<W: Write + Seek>(
    state: &AppState,
    zip: &mut Archive<W>,
    lead: &lead::Model,
) -> AppResult<()> {
    let conn = state.db.reader();
    zip.start("messages.csv")?;
    let mut csv = csv::Writer::from_writer(&mut zip.zip);
    csv.write_record([
        "conversation_id",
        "message_id",
        "occurred_at",
        "channel",
        "role",
        "content",
        "intent",
    ])
    .map_err(AppError::internal)?;
    let mut after_session: Option<Cursor> = None;
    loop {
        let sessions =
            repo::subject::sessions(conn, lead.tenant_id, lead.id, after_session, PAGE).await?;
        for session in &sessions {
            let mut after: Option<Cursor> = None;
            loop {
                let page =
                    repo::subject::messages(conn, lead.tenant_id, session.id, after, PAGE).await?;
                for m in &page {
                    csv.write_record([
                        m.session_id.to_string().as_str(),
                        m.id.to_string().as_str(),
                        m.occurred_at.to_rfc3339().as_str(),
                        m.channel.as_str(),
                        m.role.as_str(),
                        m.content.as_str(),
                        m.intent.map(|i| i.as_str()).unwrap_or(""),
                    ])
                    .map_err(AppError::internal)?;
                }
                match page.last() {
                    Some(last) if page.len() as u64 == PAGE => {
                        after = Some(repo::messages::cursor_of(last));
                    }
                    _ => break,
                }
            }
        }
        match sessions.last() {
            Some(last) if sessions.len() as u64 == PAGE => {
                after_session = Some(repo::sessions::cursor_of(last));
            }
            _ => break,
        }
    }
    csv.flush().map_err(AppError::internal)?;
    Ok(())
}

/// Writes `name` as a JSON array a page at a time: `page(after)` reads the rows after a cursor
/// (`None`: from the start), `element` is what a row becomes, `cursor` where the next page
/// starts.
async fn json_pages<W, T, F, Fut>(
    zip: &mut Archive<W>,
    name: &str,
    mut page: F,
    element: impl Fn(&T) -> Value,
    cursor: impl Fn(&T) -> Cursor,
) -> AppResult<()>
where
    W: Write + Seek,
    F: FnMut(Option<Cursor>) -> Fut,
    Fut: std::future::Future<Output = AppResult<Vec<T>>>,
{
    zip.start(name)?;
    zip.write(b"[\n")?;
    let mut first = true;
    let mut after = None;
    loop {
        let rows = page(after).await?;
        for row in &rows {
            zip.element(&mut first, &element(row))?;
        }
        match rows.last() {
            Some(last) if rows.len() as u64 == PAGE => after = Some(cursor(last)),
            _ => break,
        }
    }
    zip.write(b"\n]\n")
}

async fn summaries<W: Write + Seek>(
    state: &AppState,
    zip: &mut Archive<W>,
    lead: &lead::Model,
) -> AppResult<()> {
    let conn = state.db.reader();
    json_pages(
        zip,
        "summaries.json",
        |after| async move {
            Ok(repo::subject::summaries(conn, lead.tenant_id, lead.id, after, PAGE).await?)
        },
        |s| {
            json!({
                "id": s.id,
                "conversationId": s.session_id,
                "channel": s.channel.as_str(),
                "summary": s.summary,
                "keyPoints": s.key_points,
                "facts": s.facts,
                "sentiment": s.sentiment,
                "language": s.language,
                "nextStep": s.next_step,
                "writtenBy": format!("{} ({})", s.provider, s.model),
                "inferredAutomatically": true,
                "createdAt": s.created_at,
            })
        },
        |s| Cursor {
            at: s.created_at,
            id: s.id,
        },
    )
    .await
}

async fn access_log<W: Write + Seek>(
    state: &AppState,
    zip: &mut Archive<W>,
    lead: &lead::Model,
) -> AppResult<()> {
    // The writer: the entry this export just wrote is part of the log it exports.
    let conn = state.db.writer();
    json_pages(
        zip,
        "access_log.json",
        |after| async move {
            Ok(repo::subject::audit_entries(conn, lead.tenant_id, lead.id, after, PAGE).await?)
        },
        |e| {
            json!({
                "at": e.created_at,
                "action": e.action,
                "actorKind": e.actor_kind,
                "actorId": e.actor_id,
                "details": e.details,
            })
        },
        repo::audit::cursor_of,
    )
    .await
}

/// How long something is kept, in words.
fn kept(locale: Locale, days: i32) -> String {
    match (locale, days) {
        (Locale::He, 0) => "עד למחיקה לפי בקשה".to_owned(),
        (Locale::He, d) => format!("{d} ימים"),
        (_, 0) => "until erased on request".to_owned(),
        (_, d) => format!("{d} days"),
    }
}

/// README.txt in the tenant's language.
fn readme(tenant: &TenantSettings, lead: &lead::Model) -> String {
    let locale = tenant.locale;
    let messages = kept(locale, tenant.message_retention_days);
    let summaries = kept(locale, tenant.summary_retention_days);
    let audit = kept(locale, tenant.audit_retention_days);
    let sources: String = CATALOGUE
        .iter()
        .filter(|e| !matches!(e.retention, Retention::Elsewhere(_)))
        .map(|e| format!("  - {}\n", e.holds))
        .collect();
    match locale {
        Locale::He => format!(
            "ייצוא הנתונים של לקוח/ה {lead} מאת {business}\n\
             \n\
             הקבצים:\n\
             - subject.json: הפרופיל (שם, פרטי קשר, העדפות) ולכל ערך מקורו: staff (נכתב על ידי \
             צוות), channel (נמסר על ידי ערוץ התקשורת, למשל שם הפרופיל בוואטסאפ), import (ייבוא \
             ממערכת CRM) או ai (הוסק אוטומטית מהשיחות), עם ההודעה שממנה נלמד; וגם היסטוריית השינויים.\n\
             - conversations.json: השיחות: ערוץ, מתי התחילו ואיך הסתיימו.\n\
             - messages.csv: כל ההודעות, שיחה אחר שיחה.\n\
             - summaries.json: סיכומי השיחות והעובדות שנלמדו מהן.\n\
             - notes.json: הערות שכתב הצוות וסיכומי שיחות טלפון.\n\
             - access_log.json: מי צפה בנתונים או ייצא אותם, ומתי.\n\
             \n\
             מקור הנתונים: מה שנאמר בשיחות בוואטסאפ, בטלפון, בצ'אט ובדוא\"ל, מה שהצוות כתב, ומה \
             שמערכות העסק העבירו. מה נשמר:\n{sources}\
             \n\
             כמה זמן הנתונים נשמרים: הודעות {messages}; סיכומי שיחות {summaries}; יומן הגישה \
             {audit}; הפרופיל, ההערות ופרטי הזיהוי נשמרים עד למחיקה לפי בקשה.\n\
             \n\
             מה שאינו בקבצים כי הוא עותק של מה שבהם: אינדקס החיפוש ווקטורי החיפוש הסמנטי מחושבים \
             מההודעות, מהסיכומים ומההערות שלמעלה ואינם מכילים דבר נוסף עלייך; הם נמחקים יחד איתם.\n\
             \n\
             חלק מהערכים הוסקו אוטומטית (ai) מתוך השיחות, על ידי מודל שפה או על ידי המחלץ המובנה \
             של memodesk, וייתכן שאינם מדויקים. אפשר לבקש לתקן או למחוק אותם.\n",
            lead = lead.id,
            business = tenant.name,
        ),
        Locale::En => format!(
            "Data export for customer {lead} from {business}\n\
             \n\
             The files:\n\
             - subject.json: your profile (name, contact details, preferences) with where each \
             value came from: staff (written by the business's staff), channel (told by the \
             messaging channel, e.g. your WhatsApp profile name), import (from the business's \
             CRM) or ai (inferred automatically from your conversations), with the message it \
             was learned from; and the history of every change.\n\
             - conversations.json: your conversations: channel, when they started and how they \
             ended.\n\
             - messages.csv: every message, conversation by conversation.\n\
             - summaries.json: summaries of your conversations and the facts drawn from them.\n\
             - notes.json: notes the staff wrote about you, and call summaries.\n\
             - access_log.json: who viewed or exported your data, and when.\n\
             \n\
             Where the data came from: what was said in conversations on WhatsApp, by phone, \
             in web chat and by email, what the staff wrote, and what the business's systems \
             sent. What is held:\n{sources}\
             \n\
             How long it is kept: messages {messages}; conversation summaries {summaries}; the \
             access log {audit}; the profile, notes and identities until erased on request.\n\
             \n\
             Not in these files because they are copies of what is: the search index and the \
             semantic search vectors are computed from the messages, summaries and notes above \
             and hold nothing else about you; they are deleted with them.\n\
             \n\
             Some values were inferred automatically (ai) from your conversations, by a \
             language model or memodesk's built-in extractor, and may be wrong. You can ask for \
             them to be corrected or erased.\n",
            lead = lead.id,
            business = tenant.name,
        ),
    }
}
