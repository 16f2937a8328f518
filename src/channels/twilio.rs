//! Twilio voice webhooks: the `X-Twilio-Signature` check, and call status and transcription
//! callbacks read into ingest inputs for the call's session (`sessionRef` = `CallSid`).
//!
//! Twilio signs `base64(HMAC-SHA1(auth token, URL + each POST parameter sorted by name, name
//! immediately followed by value))`, where the URL is the one Twilio called, query included.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde_json::json;
use subtle::ConstantTimeEq;

use super::{MAX_ID_CHARS, caller_identity, clean_content, clean_id};
use crate::domain::{Channel, MessageRole};
use crate::services::ingest::MessageInput;

pub const SIGNATURE_HEADER: &str = "x-twilio-signature";

/// The reply Twilio expects from a webhook: empty TwiML.
pub const EMPTY_TWIML: &str = r#"<?xml version="1.0" encoding="UTF-8"?><Response/>"#;

/// Form parameters in the order they came.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params(Vec<(String, String)>);

impl Params {
    /// Reads an `application/x-www-form-urlencoded` body (never fails: bad escapes decode
    /// lossily, and the signature check then fails).
    pub fn from_form(body: &[u8]) -> Self {
        Self(
            form_urlencoded::parse(body)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    pub fn from_pairs(pairs: &[(&str, &str)]) -> Self {
        Self(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        )
    }

    /// The first non-blank value of `name`, trimmed.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, v)| k == name && !v.trim().is_empty())
            .map(|(_, v)| v.trim())
    }

    pub fn pairs(&self) -> &[(String, String)] {
        &self.0
    }
}

/// Twilio's signature of `params` posted to `url`, base64.
pub fn signature(auth_token: &str, url: &str, params: &Params) -> String {
    BASE64.encode(signature_bytes(auth_token, url, params))
}

fn signature_bytes(auth_token: &str, url: &str, params: &Params) -> Vec<u8> {
    let mut sorted: Vec<&(String, String)> = params.0.iter().collect();
    // By name; a repeated name's values in order too, as Twilio's own validators do.
    sorted.sort();
    let Ok(mut mac) = Hmac::<sha1::Sha1>::new_from_slice(auth_token.as_bytes()) else {
        return Vec::new();
    };
    mac.update(url.as_bytes());
    for (name, value) in sorted {
        mac.update(name.as_bytes());
        mac.update(value.as_bytes());
    }
    mac.finalize().into_bytes().to_vec()
}

/// Whether `header` is Twilio's signature of `params` posted to any of `urls` (the ways the
/// URL Twilio called may be spelt, see [`candidate_urls`]); each compared in constant time.
pub fn signature_matches(
    auth_token: &str,
    urls: &[String],
    params: &Params,
    header: Option<&str>,
) -> bool {
    let Some(presented) = header.and_then(|h| BASE64.decode(h.trim()).ok()) else {
        return false;
    };
    if auth_token.is_empty() {
        return false;
    }
    urls.iter().fold(false, |matched, url| {
        let expected = signature_bytes(auth_token, url, params);
        matched | bool::from(expected.ct_eq(&presented))
    })
}

/// The request as it reached us, for rebuilding the URL Twilio called.
#[derive(Debug, Clone, Copy, Default)]
pub struct RequestUrlParts<'a> {
    /// `X-Forwarded-Proto`, set by a TLS-terminating proxy.
    pub forwarded_proto: Option<&'a str>,
    /// `X-Forwarded-Host`, set by a proxy that rewrites `Host`.
    pub forwarded_host: Option<&'a str>,
    pub host: Option<&'a str>,
    /// Path and query, as requested.
    pub path_and_query: &'a str,
}

/// The URLs Twilio may have signed for this request. Twilio signs the URL it called, which a
/// proxy hides from us: the scheme and host come from `X-Forwarded-Proto`/`X-Forwarded-Host`
/// when present, else from `Host` with both schemes (TLS usually ends before us). Twilio's
/// own validators also accept the URL with and without the scheme's default port. Trying a
/// few spellings is safe: each must still carry an HMAC under the tenant's auth token over
/// this exact path, query and body.
pub fn candidate_urls(parts: RequestUrlParts<'_>) -> Vec<String> {
    let first = |v: Option<&str>| {
        v.and_then(|v| v.split(',').next())
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    let Some(host) = first(parts.forwarded_host).or_else(|| first(parts.host)) else {
        return Vec::new();
    };
    let schemes: Vec<String> = match first(parts.forwarded_proto) {
        Some(proto) => vec![proto.to_ascii_lowercase()],
        None => vec!["https".into(), "http".into()],
    };
    let mut urls = Vec::new();
    for scheme in schemes {
        let default_port = if scheme == "https" { ":443" } else { ":80" };
        let hosts = match host.strip_suffix(default_port) {
            Some(bare) => vec![host.clone(), bare.to_owned()],
            None if !has_port(&host) => vec![host.clone(), format!("{host}{default_port}")],
            None => vec![host.clone()],
        };
        for h in hosts {
            urls.push(format!("{scheme}://{h}{}", parts.path_and_query));
        }
    }
    urls
}

fn has_port(host: &str) -> bool {
    // `[::1]:8080` has a port; `[::1]` does not.
    host.rsplit_once(':')
        .is_some_and(|(before, port)| !before.ends_with(':') && port.parse::<u16>().is_ok())
        && !host.ends_with(']')
}

/// Call statuses after which the call is over.
const FINAL_STATUSES: &[&str] = &["completed", "busy", "failed", "no-answer", "canceled"];

/// The call's `CallSid`, when usable: it becomes the session ref and part of external ids.
fn call_sid(params: &Params) -> Option<String> {
    // Room for `:{status}` or `:transcription:{sid}` within ingest's id limit.
    clean_id(params.get("CallSid")?).filter(|sid| sid.chars().count() <= MAX_ID_CHARS - 60)
}

/// The customer's side of the call: the caller on inbound calls, the callee on outbound ones.
fn customer_number(params: &Params) -> Option<&str> {
    let outbound = params
        .get("Direction")
        .is_some_and(|d| d.to_ascii_lowercase().starts_with("outbound"));
    if outbound {
        params.get("To").or_else(|| params.get("Called"))
    } else {
        params.get("From").or_else(|| params.get("Caller"))
    }
}

/// A call status callback (`CallSid`, `CallStatus`, `From`, `To`, `Direction`) as a system
/// message in the call's session; a final status ends the session. `None` when the callback
/// lacks what identifies the call.
pub fn status_message(
    params: &Params,
    default_region: &str,
    now: DateTime<Utc>,
) -> Option<MessageInput> {
    let sid = call_sid(params)?;
    let status = params.get("CallStatus")?.to_ascii_lowercase();
    if status.len() > 20 || !status.chars().all(|c| c.is_ascii_lowercase() || c == '-') {
        return None;
    }
    let identity = caller_identity(customer_number(params), &sid, default_region)?;
    let duration = params
        .get("CallDuration")
        .and_then(|d| d.parse::<u32>().ok());
    let content = match (status.as_str(), duration) {
        ("queued" | "initiated", _) => "Call placed".to_owned(),
        ("ringing", _) => "Call ringing".to_owned(),
        ("in-progress" | "answered", _) => "Call started".to_owned(),
        ("completed", Some(secs)) => format!("Call ended after {secs} s"),
        ("completed", None) => "Call ended".to_owned(),
        ("no-answer", _) => "Call not answered".to_owned(),
        (other, _) => format!("Call {other}"),
    };
    let occurred_at = params
        .get("Timestamp")
        .and_then(|t| DateTime::parse_from_rfc2822(t).ok())
        .map(|t| t.with_timezone(&Utc).min(now));
    let mut metadata = json!({ "provider": "twilio", "callStatus": status });
    if let Some(direction) = params.get("Direction").and_then(clean_id) {
        metadata["direction"] = json!(direction);
    }
    if let Some(secs) = duration {
        metadata["callDuration"] = json!(secs);
    }
    Some(MessageInput {
        channel: Some(Channel::Call),
        external_user_id: identity.external_user_id,
        phone: identity.phone,
        role: Some(MessageRole::System),
        content,
        // One message per status: Twilio's retries and repeats record nothing new.
        external_id: Some(format!("{sid}:{status}")),
        occurred_at,
        session_ref: Some(sid),
        metadata: Some(metadata),
        ends_session: FINAL_STATUSES.contains(&status.as_str()),
        ..MessageInput::default()
    })
}

/// A transcription callback as the caller's message in the call's session. `None` when the
/// transcription failed, is empty, or cannot be tied to a call.
pub fn transcription_message(params: &Params, default_region: &str) -> Option<MessageInput> {
    let completed = params
        .get("TranscriptionStatus")
        .is_some_and(|s| s.eq_ignore_ascii_case("completed"));
    if !completed {
        return None;
    }
    let sid = call_sid(params)?;
    let content = clean_content(params.get("TranscriptionText")?)?;
    let transcription_sid = params.get("TranscriptionSid").and_then(clean_id);
    let recording_sid = params.get("RecordingSid").and_then(clean_id);
    let external_id = match (&transcription_sid, &recording_sid) {
        (Some(t), _) => t.clone(),
        (None, Some(r)) => clean_id(&format!("{sid}:transcription:{r}"))?,
        (None, None) => return None,
    };
    let identity = caller_identity(customer_number(params), &sid, default_region)?;
    let mut metadata = json!({ "provider": "twilio" });
    if let Some(t) = transcription_sid {
        metadata["transcriptionSid"] = json!(t);
    }
    if let Some(r) = recording_sid {
        metadata["recordingSid"] = json!(r);
    }
    Some(MessageInput {
        channel: Some(Channel::Call),
        external_user_id: identity.external_user_id,
        phone: identity.phone,
        role: Some(MessageRole::Customer),
        content,
        external_id: Some(external_id),
        session_ref: Some(sid),
        metadata: Some(metadata),
        ..MessageInput::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn twilio_documented_signature_example() {
        // The example from Twilio's "validating requests" documentation.
        let params = Params::from_pairs(&[
            ("CallSid", "CA1234567890ABCDE"),
            ("Caller", "+12349013030"),
            ("Digits", "1234"),
            ("From", "+12349013030"),
            ("To", "+18005551212"),
        ]);
        let url = "https://mycompany.com/myapp.php?foo=1&bar=2";
        assert_eq!(
            signature("12345", url, &params),
            "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
        );
        let urls = vec![url.to_owned()];
        assert!(signature_matches(
            "12345",
            &urls,
            &params,
            Some("0/KCTR6DLpKmkAf8muzZqo1nDgQ=")
        ));
        assert!(!signature_matches(
            "12346",
            &urls,
            &params,
            Some("0/KCTR6DLpKmkAf8muzZqo1nDgQ=")
        ));
        assert!(!signature_matches(
            "12345",
            &urls,
            &params,
            Some("not base64!")
        ));
        assert!(!signature_matches("12345", &urls, &params, None));
        // Parameter order on the wire does not matter.
        let reordered = Params::from_form(
            b"To=%2B18005551212&From=%2B12349013030&Digits=1234&Caller=%2B12349013030&CallSid=CA1234567890ABCDE",
        );
        assert_eq!(
            signature("12345", url, &reordered),
            "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
        );
    }

    #[test]
    fn urls_behind_proxies() {
        let direct = candidate_urls(RequestUrlParts {
            host: Some("memo.example.com"),
            path_and_query: "/webhooks/twilio/t/status?x=1",
            ..Default::default()
        });
        assert!(direct.contains(&"https://memo.example.com/webhooks/twilio/t/status?x=1".into()));
        assert!(direct.contains(&"http://memo.example.com/webhooks/twilio/t/status?x=1".into()));
        assert!(
            direct.contains(&"https://memo.example.com:443/webhooks/twilio/t/status?x=1".into())
        );
        let proxied = candidate_urls(RequestUrlParts {
            forwarded_proto: Some("https, http"),
            forwarded_host: Some("public.example.com"),
            host: Some("10.0.0.3:8080"),
            path_and_query: "/p",
        });
        assert_eq!(
            proxied,
            vec![
                "https://public.example.com/p".to_owned(),
                "https://public.example.com:443/p".to_owned()
            ]
        );
        let with_port = candidate_urls(RequestUrlParts {
            forwarded_proto: Some("http"),
            host: Some("127.0.0.1:3000"),
            path_and_query: "/p",
            ..Default::default()
        });
        assert_eq!(with_port, vec!["http://127.0.0.1:3000/p".to_owned()]);
        assert!(candidate_urls(RequestUrlParts::default()).is_empty());
    }

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap()
    }

    #[test]
    fn status_callbacks() {
        let params = Params::from_pairs(&[
            ("CallSid", "CA5c1ee8"),
            ("From", "+14155552671"),
            ("To", "+18005551212"),
            ("CallStatus", "completed"),
            ("Direction", "inbound"),
            ("CallDuration", "42"),
        ]);
        let input = status_message(&params, "US", now()).unwrap();
        assert_eq!(input.phone.as_deref(), Some("+14155552671"));
        assert_eq!(input.content, "Call ended after 42 s");
        assert_eq!(input.external_id.as_deref(), Some("CA5c1ee8:completed"));
        assert_eq!(input.session_ref.as_deref(), Some("CA5c1ee8"));
        assert!(input.ends_session);

        let outbound = Params::from_pairs(&[
            ("CallSid", "CA1"),
            ("From", "+18005551212"),
            ("To", "+14155552671"),
            ("CallStatus", "ringing"),
            ("Direction", "outbound-api"),
        ]);
        let input = status_message(&outbound, "US", now()).unwrap();
        assert_eq!(input.phone.as_deref(), Some("+14155552671"));
        assert!(!input.ends_session);
        assert!(
            status_message(
                &Params::from_pairs(&[("CallStatus", "ringing")]),
                "US",
                now()
            )
            .is_none()
        );
    }

    #[test]
    fn transcription_callbacks() {
        let params = |status: &str| {
            Params::from_pairs(&[
                ("CallSid", "CA1"),
                ("From", "+14155552671"),
                ("TranscriptionSid", "TR1"),
                ("TranscriptionText", "  I'd like to book a table  "),
                ("TranscriptionStatus", status),
                ("RecordingSid", "RE1"),
            ])
        };
        let input = transcription_message(&params("completed"), "US").unwrap();
        assert_eq!(input.content, "I'd like to book a table");
        assert_eq!(input.external_id.as_deref(), Some("TR1"));
        assert_eq!(input.role, Some(MessageRole::Customer));
        assert!(transcription_message(&params("failed"), "US").is_none());
    }
}
