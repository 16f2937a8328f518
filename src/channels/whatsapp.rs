//! WhatsApp Cloud API webhooks: the verification handshake, the `X-Hub-Signature-256` check,
//! and Meta's payload read into inbound messages and delivery statuses.
//!
//! The payload is walked as JSON rather than deserialized into strict types: Meta adds fields
//! and message types without notice, and one odd message must not sink the others in its
//! delivery. Whatever is not understood is skipped and counted, never an error.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::{
    MAX_RAW_BYTES, clean_content, clean_id, clean_name, decode_hex, hmac_sha256_matches,
    secrets_match,
};
use crate::domain::delivery::DeliveryStatus;
use crate::domain::phone::PhoneNumber;
use crate::domain::{Channel, MessageRole};
use crate::services::ingest::MessageInput;

/// The header Meta signs deliveries with: `sha256=<hex HMAC-SHA256(app secret, raw body)>`.
pub const SIGNATURE_HEADER: &str = "x-hub-signature-256";

/// Whether `header` is Meta's signature of exactly these `body` bytes under `app_secret`.
pub fn signature_matches(app_secret: &str, body: &[u8], header: Option<&str>) -> bool {
    let Some(hex) = header.and_then(|h| h.trim().strip_prefix("sha256=")) else {
        return false;
    };
    let Some(expected) = decode_hex(hex) else {
        return false;
    };
    hmac_sha256_matches(app_secret.as_bytes(), body, &expected)
}

/// The `hub.challenge` to echo when the query is a subscription handshake carrying the
/// tenant's verify token; `None` otherwise (wrong token, no token configured, not a handshake).
pub fn verification_challenge(
    query: &[(String, String)],
    verify_token: Option<&str>,
) -> Option<String> {
    let param = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let configured = verify_token.filter(|t| !t.is_empty())?;
    let presented = param("hub.verify_token")?;
    let token_ok = secrets_match(presented, configured);
    (token_ok && param("hub.mode") == Some("subscribe"))
        .then(|| param("hub.challenge").map(str::to_owned))
        .flatten()
}

/// What one delivery carried that memodesk understands.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Delivery {
    pub messages: Vec<InboundMessage>,
    pub statuses: Vec<StatusUpdate>,
    /// Messages and statuses present but unusable (no id, no sender, unknown status…).
    pub skipped: usize,
}

impl Delivery {
    /// Nothing recognizable: an unknown shape, another webhook field, an empty change.
    pub fn is_empty(&self) -> bool {
        self.messages.is_empty() && self.statuses.is_empty()
    }
}

/// A message a customer sent, ready for ingest.
#[derive(Debug, Clone, PartialEq)]
pub struct InboundMessage {
    /// Meta's message id (`wamid.…`): the message's external id.
    pub wamid: String,
    /// Meta's message type (`text`, `image`, `location`, …).
    pub kind: String,
    /// The customer's WhatsApp id: the business-scoped user id when Meta sends one, else the
    /// wa_id. The BSUID comes first because it is the id Meta keeps sending once a customer
    /// hides their number; the number still links the lead through its phone identity.
    pub user_id: String,
    /// E.164, when the wa_id is a phone number.
    pub phone: Option<String>,
    /// The contact's profile name.
    pub display_name: Option<String>,
    pub occurred_at: Option<DateTime<Utc>>,
    /// The text, or a readable placeholder for other types (`[image] caption`).
    pub content: String,
    /// The message as Meta sent it, for types whose content is a placeholder.
    pub raw: Option<Value>,
}

impl InboundMessage {
    pub fn into_input(self) -> MessageInput {
        MessageInput {
            channel: Some(Channel::Whatsapp),
            external_user_id: Some(self.user_id),
            phone: self.phone,
            display_name: self.display_name,
            role: Some(MessageRole::Customer),
            content: self.content,
            external_id: Some(self.wamid),
            occurred_at: self.occurred_at,
            metadata: self.raw,
            ..MessageInput::default()
        }
    }
}

/// A delivery receipt for a message the business sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusUpdate {
    pub wamid: String,
    pub status: DeliveryStatus,
}

/// Reads a delivery. Never fails: what is not understood is skipped. Times after `now` are
/// taken as `now` (a few seconds of clock skew must not lose a customer's message).
pub fn parse(payload: &Value, now: DateTime<Utc>) -> Delivery {
    let mut delivery = Delivery::default();
    if payload
        .get("object")
        .is_some_and(|o| o.as_str() != Some("whatsapp_business_account"))
    {
        return delivery;
    }
    for entry in array(payload.get("entry")) {
        for change in array(entry.get("changes")) {
            // Other subscribed fields (templates, account updates…) carry no conversation.
            if change
                .get("field")
                .is_some_and(|f| f.as_str() != Some("messages"))
            {
                continue;
            }
            let Some(value) = change.get("value").and_then(Value::as_object) else {
                continue;
            };
            let contacts: Vec<&Map<String, Value>> = array(value.get("contacts"))
                .filter_map(Value::as_object)
                .collect();
            for message in array(value.get("messages")) {
                match message.as_object().and_then(|m| inbound(m, &contacts, now)) {
                    Some(m) => delivery.messages.push(m),
                    None => delivery.skipped += 1,
                }
            }
            for status in array(value.get("statuses")) {
                match status_update(status) {
                    Some(s) => delivery.statuses.push(s),
                    None => delivery.skipped += 1,
                }
            }
        }
    }
    delivery
}

fn array(value: Option<&Value>) -> impl Iterator<Item = &Value> {
    value.and_then(Value::as_array).into_iter().flatten()
}

/// A string at `path`, trimmed; numbers count too (Meta sends some ids and times as either).
fn text_at(value: &Map<String, Value>, path: &[&str]) -> Option<String> {
    let (last, parents) = path.split_last()?;
    let mut map = value;
    for key in parents {
        map = map.get(*key)?.as_object()?;
    }
    match map.get(*last)? {
        Value::String(s) => Some(s.trim().to_owned()).filter(|s| !s.is_empty()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn number_at(value: &Map<String, Value>, key: &str) -> Option<f64> {
    match value.get(key)? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
    .filter(|n| n.is_finite())
}

/// A wa_id is the customer's number in international form without the `+`.
fn wa_id_phone(wa_id: &str) -> Option<String> {
    let digits = wa_id.strip_prefix('+').unwrap_or(wa_id);
    if digits.is_empty() || digits.len() > 15 || !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    PhoneNumber::from_channel_id(digits, None, "from")
        .ok()
        .map(PhoneNumber::into_string)
}

fn is_wa_id(value: &str) -> bool {
    wa_id_phone(value).is_some()
}

fn inbound(
    message: &Map<String, Value>,
    contacts: &[&Map<String, Value>],
    now: DateTime<Utc>,
) -> Option<InboundMessage> {
    let wamid = clean_id(&text_at(message, &["id"])?)?;
    let from = text_at(message, &["from"]);
    let from_user_id = ["from_user_id", "user_id", "bsuid"]
        .iter()
        .find_map(|k| text_at(message, &[k]));
    // The sender's contact entry: the one naming the sender, or the only one.
    let contact = contacts
        .iter()
        .find(|c| {
            let wa = text_at(c, &["wa_id"]);
            let user = text_at(c, &["user_id"]);
            (wa.is_some() && wa == from)
                || (user.is_some() && (user == from_user_id || user == from))
        })
        .or_else(|| (contacts.len() == 1).then(|| &contacts[0]))
        .copied();
    let contact_text = |path: &[&str]| contact.and_then(|c| text_at(c, path));

    let wa_id = contact_text(&["wa_id"])
        .filter(|w| is_wa_id(w))
        .or_else(|| from.clone().filter(|f| is_wa_id(f)));
    let bsuid = from_user_id
        .or_else(|| contact_text(&["user_id"]))
        .or_else(|| contact_text(&["bsuid"]))
        .or_else(|| from.clone().filter(|f| !is_wa_id(f)));
    // The phone is the sender's number (`from`); the contact's wa_id normally equals it but
    // Meta documents that it may differ for some countries' numbering.
    let phone = from
        .as_deref()
        .and_then(wa_id_phone)
        .or_else(|| wa_id.as_deref().and_then(wa_id_phone));
    let user_id = bsuid
        .and_then(|b| clean_id(&b))
        .or_else(|| wa_id.and_then(|w| clean_id(&w)))?;
    let display_name = contact_text(&["profile", "name"]).and_then(|n| clean_name(&n));
    let occurred_at = text_at(message, &["timestamp"])
        .and_then(|t| t.parse::<i64>().ok())
        .and_then(|secs| DateTime::from_timestamp(secs, 0))
        // Before 2000 is not a real WhatsApp time; ingest would refuse it.
        .filter(|at| at.timestamp() >= 946_684_800)
        .map(|at| at.min(now));

    let (kind, content, keep_raw) = describe(message);
    let content = clean_content(&content)?;
    let raw = keep_raw.then(|| raw_part(message, &kind));
    Some(InboundMessage {
        wamid,
        kind,
        user_id,
        phone,
        display_name,
        occurred_at,
        content,
        raw,
    })
}

/// The message as stored in `metadata`: Meta's object, or a stub when it is too large.
fn raw_part(message: &Map<String, Value>, kind: &str) -> Value {
    let raw = Value::Object(message.clone());
    if raw.to_string().len() <= MAX_RAW_BYTES {
        raw
    } else {
        serde_json::json!({ "type": kind, "truncated": true })
    }
}

/// (type, content, whether the raw message is worth keeping).
fn describe(message: &Map<String, Value>) -> (String, String, bool) {
    let kind = text_at(message, &["type"])
        .map(|t| sanitize_kind(&t))
        .unwrap_or_else(|| {
            if message.contains_key("text") {
                "text".into()
            } else {
                "unknown".into()
            }
        });
    let part = |key: &str| message.get(key).and_then(Value::as_object);
    let field = |key: &str, path: &[&str]| part(key).and_then(|p| text_at(p, path));
    let labelled = |label: &str, details: Vec<Option<String>>| {
        let details: Vec<String> = details.into_iter().flatten().collect();
        if details.is_empty() {
            format!("[{label}]")
        } else {
            format!("[{label}] {}", details.join(" — "))
        }
    };
    let content = match kind.as_str() {
        "text" => {
            // A plain text keeps no raw part unless it says more (a reply, an ad referral).
            let extra = message
                .keys()
                .any(|k| !matches!(k.as_str(), "from" | "id" | "timestamp" | "type" | "text"));
            let body = field("text", &["body"]).unwrap_or_else(|| "[empty message]".into());
            return (kind, body, extra);
        }
        "image" | "video" | "sticker" => labelled(&kind, vec![field(&kind, &["caption"])]),
        "audio" => {
            let voice = part("audio")
                .and_then(|a| a.get("voice"))
                .and_then(Value::as_bool)
                .unwrap_or(false);
            if voice {
                "[voice message]".into()
            } else {
                "[audio]".into()
            }
        }
        "document" => labelled(
            "document",
            vec![
                field("document", &["filename"]),
                field("document", &["caption"]),
            ],
        ),
        "location" => {
            let location = part("location");
            let place: Vec<String> = ["name", "address"]
                .iter()
                .filter_map(|k| location.and_then(|l| text_at(l, &[k])))
                .collect();
            let coordinates = location.and_then(|l| {
                Some(format!(
                    "({}, {})",
                    coordinate(number_at(l, "latitude")?),
                    coordinate(number_at(l, "longitude")?)
                ))
            });
            let place = (!place.is_empty()).then(|| place.join(", "));
            let text = [place, coordinates]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" ");
            labelled("location", vec![(!text.is_empty()).then_some(text)])
        }
        "contacts" => {
            let names: Vec<String> = array(message.get("contacts"))
                .filter_map(Value::as_object)
                .filter_map(|c| {
                    text_at(c, &["name", "formatted_name"])
                        .or_else(|| text_at(c, &["name", "first_name"]))
                })
                .collect();
            let label = if names.len() > 1 {
                "contacts"
            } else {
                "contact"
            };
            labelled(label, vec![(!names.is_empty()).then(|| names.join(", "))])
        }
        "reaction" => {
            let target = field("reaction", &["message_id"]).unwrap_or_else(|| "a message".into());
            match field("reaction", &["emoji"]) {
                Some(emoji) => format!("[reaction {emoji} to {target}]"),
                None => format!("[reaction removed from {target}]"),
            }
        }
        "interactive" => {
            let interactive = part("interactive");
            let sub = interactive.and_then(|i| text_at(i, &["type"]));
            let reply = |key: &str| interactive.and_then(|i| text_at(i, &[key, "title"]));
            match sub.as_deref() {
                Some("button_reply") => labelled("button", vec![reply("button_reply")]),
                Some("list_reply") => labelled("list", vec![reply("list_reply")]),
                Some("nfm_reply") => labelled(
                    "form",
                    vec![interactive.and_then(|i| text_at(i, &["nfm_reply", "name"]))],
                ),
                _ => "[interactive]".into(),
            }
        }
        "button" => labelled("button", vec![field("button", &["text"])]),
        "order" => {
            let items = part("order")
                .and_then(|o| o.get("product_items"))
                .and_then(Value::as_array)
                .map(Vec::len);
            labelled("order", vec![items.map(|n| format!("{n} item(s)"))])
        }
        "system" => labelled("system", vec![field("system", &["body"])]),
        "unsupported" => "[unsupported message]".into(),
        other => format!("[{other}]"),
    };
    (kind, content, true)
}

/// Meta's type names are short snake_case words; anything else is shown as `unknown`.
fn sanitize_kind(kind: &str) -> String {
    let ok = !kind.is_empty()
        && kind.len() <= 32
        && kind
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if ok {
        kind.to_owned()
    } else {
        "unknown".into()
    }
}

/// A coordinate as people read it: at most five decimals (about a metre).
fn coordinate(value: f64) -> String {
    let rounded = (value * 100_000.0).round() / 100_000.0;
    if rounded.is_finite() {
        format!("{rounded}")
    } else {
        format!("{value}")
    }
}

fn status_update(status: &Value) -> Option<StatusUpdate> {
    let status = status.as_object()?;
    Some(StatusUpdate {
        wamid: clean_id(&text_at(status, &["id"])?)?,
        status: DeliveryStatus::parse(&text_at(status, &["status"])?)?,
    })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::json;

    use super::*;
    use crate::services::ingest::MAX_CONTENT_CHARS;

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap()
    }

    /// Meta's documented text-message example.
    fn text_payload() -> Value {
        json!({
          "object": "whatsapp_business_account",
          "entry": [{
            "id": "102290129340398",
            "changes": [{
              "value": {
                "messaging_product": "whatsapp",
                "metadata": { "display_phone_number": "15550783881", "phone_number_id": "106540352242922" },
                "contacts": [{ "profile": { "name": "Sheena Nelson" }, "wa_id": "16505551234" }],
                "messages": [{
                  "from": "16505551234",
                  "id": "wamid.HBgLMTY1MDUwNzY1MjAVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=",
                  "timestamp": "1749416383",
                  "type": "text",
                  "text": { "body": "Does it come in another color?" }
                }]
              },
              "field": "messages"
            }]
          }]
        })
    }

    fn with_message(message: Value) -> Value {
        let mut payload = text_payload();
        payload["entry"][0]["changes"][0]["value"]["messages"] = json!([message]);
        payload
    }

    #[test]
    fn reads_a_text_message() {
        let delivery = parse(&text_payload(), now());
        assert_eq!(delivery.skipped, 0);
        let [m] = delivery.messages.as_slice() else {
            panic!("{delivery:?}")
        };
        assert_eq!(m.content, "Does it come in another color?");
        assert_eq!(m.user_id, "16505551234");
        assert_eq!(m.phone.as_deref(), Some("+16505551234"));
        assert_eq!(m.display_name.as_deref(), Some("Sheena Nelson"));
        assert_eq!(m.occurred_at.unwrap().timestamp(), 1_749_416_383);
        assert_eq!(m.raw, None);
    }

    #[test]
    fn future_times_are_now_and_ancient_ones_dropped() {
        let mut payload = text_payload();
        payload["entry"][0]["changes"][0]["value"]["messages"][0]["timestamp"] =
            json!(4_000_000_000u64);
        assert_eq!(parse(&payload, now()).messages[0].occurred_at, Some(now()));
        payload["entry"][0]["changes"][0]["value"]["messages"][0]["timestamp"] = json!("12");
        assert_eq!(parse(&payload, now()).messages[0].occurred_at, None);
    }

    #[test]
    fn placeholders_for_other_types() {
        let cases = [
            (
                json!({ "from": "16505551234", "id": "wamid.1", "type": "image",
                        "image": { "caption": "The blue one", "mime_type": "image/jpeg", "id": "1" } }),
                "[image] The blue one",
            ),
            (
                json!({ "from": "16505551234", "id": "wamid.2", "type": "location",
                        "location": { "latitude": 32.0853, "longitude": 34.781768, "name": "Tel Aviv" } }),
                "[location] Tel Aviv (32.0853, 34.78177)",
            ),
            (
                json!({ "from": "16505551234", "id": "wamid.3", "type": "reaction",
                        "reaction": { "message_id": "wamid.X", "emoji": "👍" } }),
                "[reaction 👍 to wamid.X]",
            ),
            (
                json!({ "from": "16505551234", "id": "wamid.4", "type": "interactive",
                        "interactive": { "type": "button_reply", "button_reply": { "id": "y", "title": "Yes" } } }),
                "[button] Yes",
            ),
            (
                json!({ "from": "16505551234", "id": "wamid.5", "type": "audio",
                        "audio": { "voice": true, "id": "9" } }),
                "[voice message]",
            ),
            (
                json!({ "from": "16505551234", "id": "wamid.6", "type": "document",
                        "document": { "filename": "quote.pdf", "caption": "Signed" } }),
                "[document] quote.pdf — Signed",
            ),
            (
                json!({ "from": "16505551234", "id": "wamid.7", "type": "contacts",
                        "contacts": [{ "name": { "formatted_name": "Avi Levi" } }] }),
                "[contact] Avi Levi",
            ),
            (
                json!({ "from": "16505551234", "id": "wamid.8", "type": "Weird Type!" }),
                "[unknown]",
            ),
        ];
        for (message, expected) in cases {
            let delivery = parse(&with_message(message.clone()), now());
            let m = &delivery.messages[0];
            assert_eq!(m.content, expected);
            assert_eq!(m.raw.as_ref(), Some(&message));
        }
    }

    #[test]
    fn statuses_and_other_fields() {
        let payload = json!({
          "object": "whatsapp_business_account",
          "entry": [{ "id": "1", "changes": [
            { "field": "messages", "value": { "statuses": [
                { "id": "wamid.OUT1", "status": "delivered", "timestamp": "1", "recipient_id": "16505551234" },
                { "id": "wamid.OUT1", "status": "deleted" }
            ] } },
            { "field": "message_template_status_update", "value": { "messages": [{ "id": "x" }] } }
          ] }]
        });
        let delivery = parse(&payload, now());
        assert_eq!(
            delivery.statuses,
            vec![StatusUpdate {
                wamid: "wamid.OUT1".into(),
                status: DeliveryStatus::Delivered
            }]
        );
        assert_eq!(delivery.skipped, 1);
        assert!(parse(&json!({ "object": "page", "entry": [] }), now()).is_empty());
    }

    #[test]
    fn business_scoped_user_ids() {
        let mut payload = text_payload();
        let value = &mut payload["entry"][0]["changes"][0]["value"];
        value["contacts"] = json!([{ "profile": { "name": "Noa", "username": "noa" }, "user_id": "US.13491208655302741918" }]);
        value["messages"][0].as_object_mut().unwrap().remove("from");
        value["messages"][0]["from_user_id"] = json!("US.13491208655302741918");
        let m = &parse(&payload, now()).messages[0];
        assert_eq!(m.user_id, "US.13491208655302741918");
        assert_eq!(m.phone, None);
        assert_eq!(m.display_name.as_deref(), Some("Noa"));
    }

    #[test]
    fn signatures() {
        let body = br#"{"object":"whatsapp_business_account"}"#;
        let mut mac = <hmac::Hmac<sha2::Sha256> as hmac::Mac>::new_from_slice(b"s3cret").unwrap();
        hmac::Mac::update(&mut mac, body);
        let hex: String = hmac::Mac::finalize(mac)
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert!(signature_matches(
            "s3cret",
            body,
            Some(&format!("sha256={hex}"))
        ));
        assert!(signature_matches(
            "s3cret",
            body,
            Some(&format!("sha256={}", hex.to_uppercase()))
        ));
        assert!(!signature_matches(
            "other",
            body,
            Some(&format!("sha256={hex}"))
        ));
        assert!(!signature_matches(
            "s3cret",
            b"{}",
            Some(&format!("sha256={hex}"))
        ));
        assert!(!signature_matches("s3cret", body, Some(&hex)));
        assert!(!signature_matches("s3cret", body, None));
    }

    #[test]
    fn handshake() {
        let query = |token: &str| {
            vec![
                ("hub.mode".to_owned(), "subscribe".to_owned()),
                ("hub.verify_token".to_owned(), token.to_owned()),
                ("hub.challenge".to_owned(), "1158201444".to_owned()),
            ]
        };
        assert_eq!(
            verification_challenge(&query("tok"), Some("tok")),
            Some("1158201444".into())
        );
        assert_eq!(verification_challenge(&query("nope"), Some("tok")), None);
        assert_eq!(verification_challenge(&query(""), None), None);
        assert_eq!(verification_challenge(&query(""), Some("")), None);
    }

    fn arb_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|n| json!(n)),
            any::<f64>().prop_map(|n| json!(n)),
            ".{0,40}".prop_map(Value::String),
            prop::sample::select(vec![
                "whatsapp_business_account",
                "messages",
                "text",
                "image",
                "location",
                "reaction",
                "interactive",
                "button_reply",
                "16505551234",
                "wamid.X",
                "delivered",
                "read",
                "1749416383",
            ])
            .prop_map(|s| Value::String(s.into())),
        ];
        leaf.prop_recursive(5, 64, 8, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::vec(
                    (
                        prop::sample::select(vec![
                            "object",
                            "entry",
                            "changes",
                            "value",
                            "field",
                            "messages",
                            "statuses",
                            "contacts",
                            "from",
                            "id",
                            "type",
                            "text",
                            "body",
                            "timestamp",
                            "wa_id",
                            "profile",
                            "name",
                            "user_id",
                            "image",
                            "location",
                            "latitude",
                            "longitude",
                            "reaction",
                            "emoji",
                            "interactive",
                            "status",
                            "other",
                        ]),
                        inner
                    ),
                    0..6
                )
                .prop_map(|pairs| Value::Object(
                    pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
                )),
            ]
        })
    }

    /// Replaces the node `path` leads to (each step picks a child by index) with `new`.
    fn mutate(value: &mut Value, path: &[usize], new: Value) {
        let child = match (value, path.split_first()) {
            (Value::Array(items), Some((i, _))) if !items.is_empty() => {
                let n = items.len();
                &mut items[i % n]
            }
            (Value::Object(map), Some((i, _))) if !map.is_empty() => {
                let n = map.len();
                match map.values_mut().nth(i % n) {
                    Some(v) => v,
                    None => return,
                }
            }
            (value, _) => {
                *value = new;
                return;
            }
        };
        mutate(child, &path[1..], new);
    }

    /// What ingest needs from every parsed message, whatever the payload.
    fn assert_ingestible(delivery: &Delivery) {
        for m in &delivery.messages {
            assert!(clean_id(&m.wamid).as_deref() == Some(m.wamid.as_str()));
            assert!(clean_id(&m.user_id).as_deref() == Some(m.user_id.as_str()));
            let chars = m.content.chars().count();
            assert!(chars > 0 && chars <= MAX_CONTENT_CHARS);
            assert_eq!(m.content.trim(), m.content);
            assert!(m.phone.as_ref().is_none_or(|p| p.starts_with('+')));
            assert!(
                m.display_name
                    .as_ref()
                    .is_none_or(|n| n.chars().count() <= 200)
            );
            assert!(m.occurred_at.is_none_or(|at| at <= now()));
            if let Some(raw) = &m.raw {
                assert!(raw.is_object());
                assert!(raw.to_string().len() <= MAX_RAW_BYTES);
            }
        }
        for s in &delivery.statuses {
            assert!(clean_id(&s.wamid).is_some());
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn arbitrary_json_never_panics(value in arb_json()) {
            let delivery = parse(&value, now());
            assert_ingestible(&delivery);
        }

        #[test]
        fn mutated_meta_payloads_never_panic(
            path in prop::collection::vec(any::<usize>(), 0..10),
            new in arb_json(),
            kind in prop::sample::select(vec!["text", "image", "location", "reaction", "interactive", "contacts"]),
        ) {
            let mut payload = text_payload();
            payload["entry"][0]["changes"][0]["value"]["messages"][0]["type"] = json!(kind);
            mutate(&mut payload, &path, new);
            let delivery = parse(&payload, now());
            assert_ingestible(&delivery);
        }
    }
}
