//! The generic call transcript voice platforms can post (`POST /webhooks/transcripts`):
//!
//! ```json
//! { "callId": "call-123", "from": "+14155552671", "ended": true,
//!   "turns": [ { "role": "customer", "text": "Hi", "at": "2026-11-20T21:30:00Z" } ] }
//! ```
//!
//! Each turn becomes a message on channel CALL in the session `sessionRef = callId`, with the
//! external id `{callId}:{index}` so posting the same transcript again records nothing new.

use chrono::{DateTime, Duration, Utc};
use serde_json::{Map, Value};

use super::caller_identity;
use crate::domain::{Channel, InvalidInput, MessageRole};
use crate::services::ingest::{MAX_BATCH, MAX_CONTENT_CHARS, MessageInput};

/// Leaves room for `:{index}` within ingest's 200-character external ids.
const MAX_CALL_ID_CHARS: usize = 190;
/// How far ahead of our clock a turn's time may be (as ingest allows).
const FUTURE_SKEW: Duration = Duration::minutes(5);

/// A checked transcript.
#[derive(Debug, Clone, PartialEq)]
pub struct Transcript {
    pub call_id: String,
    /// The customer's number or caller id.
    pub from: String,
    pub turns: Vec<Turn>,
    /// The call is over: its session closes after these turns.
    pub ended: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Turn {
    pub role: MessageRole,
    pub text: String,
    pub at: Option<DateTime<Utc>>,
}

/// Checks a transcript body; errors name the offending field as the client spelt it
/// (`turns[2].text`).
pub fn parse(body: &[u8], now: DateTime<Utc>) -> Result<Transcript, InvalidInput> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|_| InvalidInput::new("body", "the body is not valid JSON"))?;
    let object = value.as_object().ok_or_else(|| {
        InvalidInput::new(
            "body",
            "expected a JSON object {callId, from, turns: [{role, text, at}]}",
        )
    })?;
    let call_id = required_string(object, "callId", "callId")?;
    if call_id.chars().count() > MAX_CALL_ID_CHARS || call_id.chars().any(char::is_control) {
        return Err(InvalidInput::new(
            "callId",
            format!("must be at most {MAX_CALL_ID_CHARS} characters without control characters"),
        ));
    }
    let from = required_string(object, "from", "from")?;
    if from.chars().count() > 200 || from.chars().any(char::is_control) {
        return Err(InvalidInput::new(
            "from",
            "must be at most 200 characters without control characters",
        ));
    }
    let ended = match object.get("ended") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(InvalidInput::new("ended", "must be true or false")),
    };
    let turns = object
        .get("turns")
        .and_then(Value::as_array)
        .ok_or_else(|| InvalidInput::new("turns", "turns must be an array of {role, text, at}"))?;
    if turns.is_empty() {
        return Err(InvalidInput::new(
            "turns",
            "a transcript needs at least one turn",
        ));
    }
    if turns.len() > MAX_BATCH {
        return Err(InvalidInput::new(
            "turns",
            format!("at most {MAX_BATCH} turns per request, got {}", turns.len()),
        ));
    }
    let turns = turns
        .iter()
        .enumerate()
        .map(|(i, turn)| parse_turn(turn, &format!("turns[{i}]"), now))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Transcript {
        call_id,
        from,
        turns,
        ended,
    })
}

fn required_string(
    object: &Map<String, Value>,
    key: &str,
    field: &str,
) -> Result<String, InvalidInput> {
    match object.get(key) {
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.trim().to_owned()),
        Some(Value::String(_)) => Err(InvalidInput::new(field, format!("{key} is empty"))),
        None | Some(Value::Null) => Err(InvalidInput::new(field, format!("{key} is required"))),
        Some(_) => Err(InvalidInput::new(field, format!("{key} must be a string"))),
    }
}

fn parse_turn(turn: &Value, prefix: &str, now: DateTime<Utc>) -> Result<Turn, InvalidInput> {
    let field = |name: &str| format!("{prefix}.{name}");
    let turn = turn
        .as_object()
        .ok_or_else(|| InvalidInput::new(prefix, "each turn is an object {role, text, at}"))?;
    let role_text = required_string(turn, "role", &field("role"))?;
    let role = MessageRole::parse(&role_text.to_ascii_lowercase()).ok_or_else(|| {
        InvalidInput::new(
            field("role"),
            "role must be one of customer, agent, staff, system",
        )
    })?;
    let text = required_string(turn, "text", &field("text"))?;
    let chars = text.chars().count();
    if chars > MAX_CONTENT_CHARS {
        return Err(InvalidInput::new(
            field("text"),
            format!("text is {chars} characters long; the limit is {MAX_CONTENT_CHARS}"),
        ));
    }
    let at = match turn.get("at") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => {
            let at = DateTime::parse_from_rfc3339(s.trim())
                .map_err(|_| {
                    InvalidInput::new(
                        field("at"),
                        "not an RFC 3339 time (e.g. 2026-11-20T21:30:00Z)",
                    )
                })?
                .with_timezone(&Utc);
            if at > now + FUTURE_SKEW {
                return Err(InvalidInput::new(
                    field("at"),
                    "at is in the future; send UTC times",
                ));
            }
            if at.timestamp() < 946_684_800 {
                return Err(InvalidInput::new(field("at"), "at is before 2000"));
            }
            Some(at)
        }
        Some(_) => {
            return Err(InvalidInput::new(
                field("at"),
                "at must be an RFC 3339 string",
            ));
        }
    };
    Ok(Turn { role, text, at })
}

impl Transcript {
    /// One ingest input per turn, in order; the last one ends the session when the call ended.
    pub fn into_inputs(self, default_region: &str) -> Result<Vec<MessageInput>, InvalidInput> {
        let identity = caller_identity(Some(&self.from), &self.call_id, default_region)
            .ok_or_else(|| InvalidInput::new("from", "not a usable caller id"))?;
        let last = self.turns.len().saturating_sub(1);
        Ok(self
            .turns
            .into_iter()
            .enumerate()
            .map(|(i, turn)| MessageInput {
                channel: Some(Channel::Call),
                external_user_id: identity.external_user_id.clone(),
                phone: identity.phone.clone(),
                role: Some(turn.role),
                content: turn.text,
                external_id: Some(format!("{}:{i}", self.call_id)),
                occurred_at: turn.at,
                session_ref: Some(self.call_id.clone()),
                ends_session: self.ended && i == last,
                ..MessageInput::default()
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap()
    }

    #[test]
    fn a_transcript() {
        let body = br#"{"callId":"c1","from":"+14155552671","ended":true,
            "turns":[{"role":"customer","text":"Hi","at":"2026-01-01T10:00:00Z"},
                     {"role":"AGENT","text":"Hello!"}]}"#;
        let t = parse(body, now()).unwrap();
        assert_eq!(t.turns[1].role, MessageRole::Agent);
        let inputs = t.into_inputs("US").unwrap();
        assert_eq!(inputs[0].external_id.as_deref(), Some("c1:0"));
        assert_eq!(inputs[1].phone.as_deref(), Some("+14155552671"));
        assert!(!inputs[0].ends_session && inputs[1].ends_session);
    }

    #[test]
    fn errors_name_the_field() {
        let field = |body: &str| parse(body.as_bytes(), now()).unwrap_err().field;
        assert_eq!(field("nope"), "body");
        assert_eq!(field(r#"{"from":"x","turns":[]}"#), "callId");
        assert_eq!(field(r#"{"callId":"c","turns":[]}"#), "from");
        assert_eq!(field(r#"{"callId":"c","from":"x","turns":[]}"#), "turns");
        assert_eq!(
            field(
                r#"{"callId":"c","from":"x","turns":[{"role":"customer","text":"a"},{"role":"customer","text":"b"},{"role":"customer","text":"  "}]}"#
            ),
            "turns[2].text"
        );
        assert_eq!(
            field(r#"{"callId":"c","from":"x","turns":[{"role":"robot","text":"a"}]}"#),
            "turns[0].role"
        );
        assert_eq!(
            field(
                r#"{"callId":"c","from":"x","turns":[{"role":"agent","text":"a","at":"yesterday"}]}"#
            ),
            "turns[0].at"
        );
        assert_eq!(
            field(
                r#"{"callId":"c","from":"x","ended":"yes","turns":[{"role":"agent","text":"a"}]}"#
            ),
            "ended"
        );
    }
}
