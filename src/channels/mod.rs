//! Channel adapters: what WhatsApp, Twilio and transcript producers send, checked and
//! translated into ingest inputs. Pure: no I/O, no database; the HTTP handlers verify, call
//! these, and hand the result to the ingest and delivery services.

pub mod transcript;
pub mod twilio;
pub mod whatsapp;

use hmac::{Hmac, Mac};
use subtle::ConstantTimeEq;

use crate::domain::phone::PhoneNumber;
use crate::services::ingest::MAX_CONTENT_CHARS;

/// The longest id ingest accepts (external ids, user ids, session refs).
pub(crate) const MAX_ID_CHARS: usize = 200;
/// The longest display name ingest accepts.
const MAX_NAME_CHARS: usize = 200;
/// Raw channel parts kept with a message stay under ingest's 64 KiB metadata limit.
pub(crate) const MAX_RAW_BYTES: usize = 60 * 1024;

/// HMAC-SHA256 of `body` under `secret`, compared in constant time with `expected`.
pub(crate) fn hmac_sha256_matches(secret: &[u8], body: &[u8], expected: &[u8]) -> bool {
    let Ok(mut mac) = Hmac::<sha2::Sha256>::new_from_slice(secret) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(expected).is_ok()
}

/// Constant-time equality of two secrets (lengths may leak, contents do not).
pub(crate) fn secrets_match(presented: &str, configured: &str) -> bool {
    bool::from(presented.as_bytes().ct_eq(configured.as_bytes()))
}

/// Decodes lowercase or uppercase hex; `None` for anything else.
pub(crate) fn decode_hex(text: &str) -> Option<Vec<u8>> {
    let bytes = text.as_bytes();
    if !bytes.len().is_multiple_of(2) {
        return None;
    }
    let nibble = |b: u8| match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    };
    bytes
        .chunks_exact(2)
        .map(|pair| Some(nibble(pair[0])? << 4 | nibble(pair[1])?))
        .collect()
}

/// An id ingest will accept: trimmed, non-empty, at most 200 characters, no control
/// characters. Anything else is treated as absent rather than failing the whole message.
pub(crate) fn clean_id(value: &str) -> Option<String> {
    let value = value.trim();
    (!value.is_empty()
        && value.chars().count() <= MAX_ID_CHARS
        && !value.chars().any(char::is_control))
    .then(|| value.to_owned())
}

/// A display name ingest will accept (long names are cut rather than refused).
pub(crate) fn clean_name(value: &str) -> Option<String> {
    let name: String = value
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(MAX_NAME_CHARS)
        .collect();
    (!name.is_empty()).then_some(name)
}

/// Message text ingest will accept: trimmed and cut to its length limit; `None` when empty.
pub(crate) fn clean_content(value: &str) -> Option<String> {
    let value = value.trim();
    if value.is_empty() {
        return None;
    }
    if value.chars().count() <= MAX_CONTENT_CHARS {
        return Some(value.to_owned());
    }
    let cut: String = value.chars().take(MAX_CONTENT_CHARS - 1).collect();
    Some(format!("{}…", cut.trim_end()))
}

/// How a voice caller is identified: by phone number when the caller id is one, else by the
/// raw caller id (`client:alice`, `sip:…`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallerIdentity {
    pub phone: Option<String>,
    pub external_user_id: Option<String>,
}

/// Caller ids carriers and Twilio use for withheld numbers; the keypad spellings of
/// ANONYMOUS, RESTRICTED, UNAVAILABLE, UNKNOWN and BLOCKED parse as real numbers, so without
/// this list every anonymous caller would become one customer.
const WITHHELD_CALLER_IDS: &[&str] = &[
    "anonymous",
    "restricted",
    "unavailable",
    "unknown",
    "blocked",
    "private",
    "+266696687",
    "+7378742833",
    "+86282452253",
    "+8656696",
    "+2562533",
];

/// Identifies the caller of `call_id` from a caller id in `default_region`. A withheld or
/// missing caller id gets an identity of its own per call (`None` when the call id is unusable).
pub fn caller_identity(
    caller: Option<&str>,
    call_id: &str,
    default_region: &str,
) -> Option<CallerIdentity> {
    let caller = caller.map(str::trim).filter(|c| {
        !c.is_empty()
            && !WITHHELD_CALLER_IDS
                .iter()
                .any(|w| w.eq_ignore_ascii_case(c))
    });
    if let Some(caller) = caller {
        // Only what looks like a number is read as one: `client:bob12345678` is a client name.
        let looks_like_number = caller
            .chars()
            .all(|c| c.is_ascii_digit() || " +-().".contains(c));
        if looks_like_number
            && let Ok(phone) = PhoneNumber::from_channel_id(caller, Some(default_region), "from")
        {
            return Some(CallerIdentity {
                phone: Some(phone.into_string()),
                external_user_id: None,
            });
        }
        if let Some(id) = clean_id(caller) {
            return Some(CallerIdentity {
                phone: None,
                external_user_id: Some(id),
            });
        }
    }
    // Ingest reads any id with eight digits or more on a call as a phone number, so the call
    // id's digits are spelled as letters: an anonymous call must never match a real number.
    let letters: String = clean_id(call_id)?
        .chars()
        .map(|c| match c.to_digit(10) {
            Some(d) => char::from(b'g' + d as u8),
            None => c,
        })
        .collect();
    clean_id(&format!("withheld-caller-{letters}")).map(|id| CallerIdentity {
        phone: None,
        external_user_id: Some(id),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_and_ids() {
        assert_eq!(decode_hex("00ffA0"), Some(vec![0, 255, 160]));
        assert_eq!(decode_hex("0"), None);
        assert_eq!(decode_hex("zz"), None);
        assert_eq!(clean_id("  x "), Some("x".into()));
        assert_eq!(clean_id("a\nb"), None);
        assert_eq!(clean_id(&"x".repeat(201)), None);
        assert_eq!(clean_name("  Dana   Cohen "), Some("Dana Cohen".into()));
        let long = clean_content(&"word ".repeat(3000)).unwrap();
        assert!(long.chars().count() <= MAX_CONTENT_CHARS);
    }

    #[test]
    fn callers() {
        let dana = caller_identity(Some("+972525551234"), "CA1", "US").unwrap();
        assert_eq!(dana.phone.as_deref(), Some("+972525551234"));
        let client = caller_identity(Some("client:alice"), "CA1", "US").unwrap();
        assert_eq!(client.external_user_id.as_deref(), Some("client:alice"));
        let anonymous = caller_identity(Some("+266696687"), "CA0123456789", "US").unwrap();
        let id = anonymous.external_user_id.unwrap();
        assert!(!id.chars().any(|c| c.is_ascii_digit()), "{id}");
        assert_eq!(anonymous.phone, None);
        let other = caller_identity(None, "CA9999", "US").unwrap();
        assert_ne!(other.external_user_id.unwrap(), id);
    }
}
