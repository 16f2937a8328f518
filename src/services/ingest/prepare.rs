//! The CPU-only half of ingest: checking and normalizing an input, classifying it and
//! extracting what it says, on the request's task rather than on the one writer.

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use super::MessageInput;
use crate::domain::classify::{self, Classification};
use crate::domain::dialogue::{self, Asked};
use crate::domain::email::EmailAddress;
use crate::domain::free_text;
use crate::domain::phone::PhoneNumber;
use crate::domain::redact;
use crate::domain::search::{TermsFormat, index_terms};
use crate::domain::session_policy;
use crate::domain::{Channel, IdentityKind, InvalidInput, MessageRole};
use crate::error::AppResult;
use crate::repo::tenants::TenantSettings;

/// The longest message content, in characters.
pub const MAX_CONTENT_CHARS: usize = 8000;
const MAX_ID_CHARS: usize = 200;
const MAX_METADATA_BYTES: usize = 64 * 1024;
/// How far in the future a client clock may be before `occurredAt` is refused.
const FUTURE_SKEW: Duration = Duration::minutes(5);

/// A validated, classified message ready for the transaction.
#[derive(Debug, Clone)]
pub(super) struct Prepared {
    pub(super) index: usize,
    /// How errors name this input: `input` or `inputs[3]`.
    pub(super) prefix: String,
    pub(super) channel: Channel,
    pub(super) role: MessageRole,
    pub(super) content: String,
    pub(super) external_id: Option<String>,
    pub(super) occurred_at: DateTime<Utc>,
    pub(super) session_ref: Option<String>,
    pub(super) ends_session: bool,
    pub(super) display_name: Option<String>,
    pub(super) phone: Option<String>,
    pub(super) email: Option<String>,
    /// Identities to resolve the lead by, strongest first.
    pub(super) identities: Vec<(IdentityKind, String)>,
    pub(super) classification: Classification,
    /// A customer's message read for every question it could answer; the session's last
    /// question picks the facts when the message is placed.
    pub(super) reading: Option<dialogue::Reading>,
    /// What an agent's or staff member's message asks the customer.
    pub(super) asks: Asked,
    /// The stored message's metadata: the classifier's entities and language, and what the
    /// channel sent under `channel`.
    pub(super) metadata: Value,
    /// A customer's message asking to start over (the tenant's reset phrases).
    pub(super) asks_reset: bool,
    /// The content's search index terms, in the database's format.
    pub(super) search_terms: String,
}

/// Checks and normalizes one input, and runs the built-in classifier and extractor on it.
pub(super) fn prepare(
    input: MessageInput,
    index: usize,
    prefix: &str,
    settings: &TenantSettings,
    now: DateTime<Utc>,
    terms: TermsFormat,
) -> AppResult<Prepared> {
    let field = |name: &str| format!("{prefix}.{name}");
    let mut input = input;
    // Free text from any entrance (GraphQL, webhooks, the CLI) is cleaned here too; the
    // stored message records that it was (`metadata.textCleaned`).
    let text_cleaned = input.text_cleaned
        | free_text::clean_in_place(&mut input.content)
        | free_text::clean_option(&mut input.external_user_id)
        | free_text::clean_option(&mut input.phone)
        | free_text::clean_option(&mut input.email)
        | free_text::clean_option(&mut input.display_name)
        | free_text::clean_option(&mut input.external_id)
        | free_text::clean_option(&mut input.session_ref)
        | input.metadata.as_mut().is_some_and(free_text::clean_json);
    let channel = input
        .channel
        .ok_or_else(|| InvalidInput::new(field("channel"), "channel is required"))?;
    let role = input.role.unwrap_or(MessageRole::Customer);
    let mut content = input.content.trim().to_owned();
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
    // Before anything is classified, stored, logged or sent to a language model.
    let mut redactions = Vec::new();
    if let Some(redacted) = redact::redact(&content, &settings.redaction) {
        content = redacted.text;
        redactions = redacted.counts;
        for (kind, n) in &redactions {
            metrics::counter!("memodesk_pii_redactions_total", "kind" => kind.as_str())
                .increment(u64::from(*n));
        }
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
    let reading = (role == MessageRole::Customer).then(|| {
        dialogue::read(
            &content,
            &classification,
            region,
            Some(occurred_at.date_naive()),
        )
    });
    let asks = match role {
        MessageRole::Agent | MessageRole::Staff => Asked::of_agent_message(&content),
        _ => Asked::NOTHING,
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
    if let Some(mut raw) = input.metadata {
        redact::redact_json(&mut raw, &settings.redaction, &mut redactions);
        metadata["channel"] = raw;
    }
    if text_cleaned {
        metadata["textCleaned"] = json!(true);
    }
    if !redactions.is_empty() {
        metadata["redactions"] = redactions
            .iter()
            .map(|(kind, n)| (kind.as_str().to_owned(), json!(n)))
            .collect::<serde_json::Map<_, _>>()
            .into();
    }
    let asks_reset = role == MessageRole::Customer
        && session_policy::is_reset_phrase(&content, &settings.reset_phrases);
    Ok(Prepared {
        index,
        prefix: prefix.to_owned(),
        channel,
        role,
        search_terms: index_terms(&content, terms),
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
        reading,
        asks,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Locale;
    use crate::domain::profile::KnownKey;
    use crate::domain::session_policy::DEFAULT_RESET_PHRASES;

    fn settings() -> TenantSettings {
        TenantSettings {
            id: uuid::Uuid::nil(),
            name: "Acme".into(),
            customer_service_mode: true,
            session_idle_minutes: 15,
            context_messages: 12,
            context_notes: 5,
            context_char_budget: 6000,
            locale: Locale::En,
            default_region: "IL".into(),
            retention_days: 365,
            event_retention_days: 7,
            message_retention_days: 90,
            summary_retention_days: 730,
            audit_retention_days: 730,
            redaction: crate::domain::redact::RedactionPolicy::default(),
            reset_keywords: DEFAULT_RESET_PHRASES.iter().map(|&p| p.into()).collect(),
            reset_phrases: crate::domain::session_policy::ResetPhrases::new(DEFAULT_RESET_PHRASES),
            whatsapp_app_secret: None,
            whatsapp_verify_token: None,
            twilio_auth_token: None,
            created_at: now(),
        }
    }

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-12-01T10:00:00.123456789Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    fn input(channel: Channel, user: &str, content: &str) -> MessageInput {
        MessageInput {
            channel: Some(channel),
            external_user_id: Some(user.into()),
            content: content.into(),
            ..MessageInput::default()
        }
    }

    fn prepared(input: MessageInput) -> AppResult<Prepared> {
        prepare(input, 3, "inputs[3]", &settings(), now(), TermsFormat::Fts5)
    }

    fn field_of(err: crate::error::AppError) -> String {
        match err {
            crate::error::AppError::BadInput { field, .. } => field,
            other => panic!("expected BAD_USER_INPUT, got {other:?}"),
        }
    }

    #[test]
    fn a_whatsapp_id_is_also_the_customers_phone() {
        let p = prepared(input(Channel::Whatsapp, "972525551234", "  hello  ")).unwrap();
        assert_eq!(p.content, "hello");
        assert_eq!(p.phone.as_deref(), Some("+972525551234"));
        assert_eq!(
            p.identities,
            vec![
                (IdentityKind::Whatsapp, "972525551234".to_owned()),
                (IdentityKind::Phone, "+972525551234".to_owned()),
            ]
        );
    }

    #[test]
    fn bad_inputs_name_their_field_with_the_batch_index() {
        let empty = prepared(input(Channel::Web, "v1", "   ")).unwrap_err();
        assert_eq!(field_of(empty), "inputs[3].content");
        let nobody = MessageInput {
            channel: Some(Channel::Web),
            content: "hi".into(),
            ..MessageInput::default()
        };
        assert_eq!(
            field_of(prepared(nobody).unwrap_err()),
            "inputs[3].externalUserId"
        );
        let future = MessageInput {
            occurred_at: Some(now() + Duration::hours(1)),
            ..input(Channel::Web, "v1", "hi")
        };
        assert_eq!(
            field_of(prepared(future).unwrap_err()),
            "inputs[3].occurredAt"
        );
        let too_long = input(Channel::Web, "v1", &"x".repeat(MAX_CONTENT_CHARS + 1));
        assert_eq!(
            field_of(prepared(too_long).unwrap_err()),
            "inputs[3].content"
        );
    }

    #[test]
    fn times_are_kept_to_the_microsecond_and_default_to_now() {
        let p = prepared(input(Channel::Web, "v1", "hi")).unwrap();
        assert_eq!(p.occurred_at, now());
        let given = MessageInput {
            occurred_at: Some(now() - Duration::minutes(1)),
            ..input(Channel::Web, "v1", "hi")
        };
        let p = prepared(given).unwrap();
        assert_eq!(p.occurred_at.timestamp_subsec_nanos() % 1000, 0);
    }

    #[test]
    fn only_customers_have_facts_extracted_and_ask_to_start_over() {
        let said = "My name is Dana and I live in Haifa. Let's start over";
        let customer = prepared(input(Channel::Web, "v1", said)).unwrap();
        let facts = customer.reading.as_ref().unwrap().facts(Asked::NOTHING);
        assert!(facts.iter().any(|f| f.key == KnownKey::City));
        assert!(customer.asks_reset);
        let agent = prepared(MessageInput {
            role: Some(MessageRole::Agent),
            ..input(Channel::Web, "v1", said)
        })
        .unwrap();
        assert!(agent.reading.is_none());
        assert!(!agent.asks_reset);
    }
}
