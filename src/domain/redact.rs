//! PII redaction at ingest: card numbers, bank accounts, national ids, SSNs and one-time codes
//! become typed placeholders (`[card ••4242]`) before a message is stored, logged or sent on.
//!
//! Every detector checks what makes the number real (Luhn, IBAN mod-97, the Israeli check
//! digit, SSN ranges, a cue word before a code), so order numbers, phone numbers and prices
//! that happen to be long digit runs stay as they are.

use std::sync::LazyLock;

use super::text::pattern::{Pattern, captures_iter, compile, find_iter};
use super::vocabulary::vocabulary;

vocabulary! {
    /// A kind of personal data redaction can replace.
    PiiKind {
        /// Payment card numbers (13–19 digits, Luhn-valid, a card network's prefix).
        Card => "card",
        /// IBANs (mod-97 valid).
        BankAccount => "bank_account",
        /// Israeli identity numbers (9 digits with a valid check digit).
        IsraeliId => "israeli_id",
        /// US Social Security numbers (`123-45-6789`, or 9 digits after "SSN").
        UsSsn => "us_ssn",
        /// One-time codes (4–8 digits right after "code", "OTP", "קוד"…).
        OneTimeCode => "one_time_code",
    }
}

vocabulary! {
    /// Whether a tenant's messages are redacted at ingest.
    RedactionMode {
        /// Messages are stored as written.
        Off => "off",
        /// The policy's kinds are replaced by placeholders.
        Redact => "redact",
    }
}

/// What a tenant redacts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedactionPolicy {
    pub mode: RedactionMode,
    /// The kinds replaced, in `PiiKind::ALL` order without repeats.
    pub kinds: Vec<PiiKind>,
}

impl Default for RedactionPolicy {
    /// Payment cards only.
    fn default() -> Self {
        Self {
            mode: RedactionMode::Redact,
            kinds: vec![PiiKind::Card],
        }
    }
}

impl RedactionPolicy {
    /// From the stored mode and comma-separated kinds; unknown spellings are skipped.
    pub fn from_stored(mode: &str, kinds: &str) -> Self {
        Self {
            mode: RedactionMode::parse(mode).unwrap_or(RedactionMode::Redact),
            kinds: Self::normalize(kinds.split(',').filter_map(|k| PiiKind::parse(k.trim()))),
        }
    }

    /// The kinds in `PiiKind::ALL` order, each once.
    pub fn normalize(kinds: impl IntoIterator<Item = PiiKind>) -> Vec<PiiKind> {
        let wanted: Vec<PiiKind> = kinds.into_iter().collect();
        PiiKind::ALL
            .iter()
            .copied()
            .filter(|k| wanted.contains(k))
            .collect()
    }

    /// The kinds as stored: comma-separated.
    pub fn stored_kinds(&self) -> String {
        self.kinds
            .iter()
            .map(|k| k.as_str())
            .collect::<Vec<_>>()
            .join(",")
    }

    fn redacts(&self, kind: PiiKind) -> bool {
        self.mode == RedactionMode::Redact && self.kinds.contains(&kind)
    }
}

/// A text with its personal data replaced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redacted {
    pub text: String,
    /// What was replaced: each kind once, with how many times, in `PiiKind::ALL` order.
    pub counts: Vec<(PiiKind, u32)>,
}

/// Replaces what `policy` redacts in `text`; `None` when there is nothing to replace (the
/// common case, which allocates nothing).
pub fn redact(text: &str, policy: &RedactionPolicy) -> Option<Redacted> {
    if policy.mode == RedactionMode::Off
        || policy.kinds.is_empty()
        || !text.bytes().any(|b| b.is_ascii_digit())
    {
        return None;
    }
    let mut found: Vec<Span> = Vec::new();
    // Bank accounts first: an IBAN's digits could read as a card number.
    const ORDER: [PiiKind; 5] = [
        PiiKind::BankAccount,
        PiiKind::Card,
        PiiKind::UsSsn,
        PiiKind::IsraeliId,
        PiiKind::OneTimeCode,
    ];
    for kind in &ORDER {
        if !policy.redacts(*kind) {
            continue;
        }
        let spans = match kind {
            PiiKind::Card => cards(text),
            PiiKind::BankAccount => ibans(text),
            PiiKind::UsSsn => ssns(text),
            PiiKind::IsraeliId => israeli_ids(text),
            PiiKind::OneTimeCode => one_time_codes(text),
        };
        for span in spans {
            if !found
                .iter()
                .any(|f| f.start < span.end && span.start < f.end)
            {
                found.push(span);
            }
        }
    }
    if found.is_empty() {
        return None;
    }
    found.sort_by_key(|s| s.start);
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    let mut counts: Vec<(PiiKind, u32)> = Vec::new();
    for span in &found {
        out.push_str(&text[at..span.start]);
        out.push_str(&span.placeholder);
        at = span.end;
        match counts.iter_mut().find(|(k, _)| *k == span.kind) {
            Some((_, n)) => *n += 1,
            None => counts.push((span.kind, 1)),
        }
    }
    out.push_str(&text[at..]);
    counts.sort_by_key(|(k, _)| PiiKind::ALL.iter().position(|a| a == k));
    Some(Redacted { text: out, counts })
}

static CARD: Pattern = LazyLock::new(|| compile(r"\d(?:[ -]?\d){12,18}"));
static IBAN: Pattern =
    LazyLock::new(|| compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b"));
static SSN: Pattern = LazyLock::new(|| compile(r"\b(\d{3})-(\d{2})-(\d{4})\b|\b(\d{9})\b"));
static ISRAELI_ID: Pattern = LazyLock::new(|| compile(r"\d{9}"));
static CODE: Pattern = LazyLock::new(|| {
    compile(
        r"(?i)(?:\b(?:code|otp|passcode|pin)\b|קוד(?: אימות)?|סיסמה(?: חד[ -]פעמית)?)[\s:\-]*(?:is\s+|הוא\s+)?(\d{4,8})",
    )
});

/// Redacts every string inside a JSON value in place (a channel's raw part can repeat the
/// text); adds what it replaced to `counts`.
pub fn redact_json(
    value: &mut serde_json::Value,
    policy: &RedactionPolicy,
    counts: &mut Vec<(PiiKind, u32)>,
) {
    match value {
        serde_json::Value::String(text) => {
            if let Some(r) = redact(text, policy) {
                *text = r.text;
                add_counts(counts, &r.counts);
            }
        }
        serde_json::Value::Array(items) => {
            for item in items {
                redact_json(item, policy, counts);
            }
        }
        serde_json::Value::Object(map) => {
            for (_, item) in map.iter_mut() {
                redact_json(item, policy, counts);
            }
        }
        _ => {}
    }
}

/// Adds `more` to `counts`, keeping `PiiKind::ALL` order.
pub fn add_counts(counts: &mut Vec<(PiiKind, u32)>, more: &[(PiiKind, u32)]) {
    for (kind, n) in more {
        match counts.iter_mut().find(|(k, _)| k == kind) {
            Some((_, total)) => *total += n,
            None => counts.push((*kind, *n)),
        }
    }
    counts.sort_by_key(|(k, _)| PiiKind::ALL.iter().position(|a| a == k));
}

/// One piece of text to replace.
#[derive(Debug)]
struct Span {
    start: usize,
    end: usize,
    kind: PiiKind,
    placeholder: String,
}

fn digits_of(text: &str) -> Vec<u8> {
    text.bytes()
        .filter(u8::is_ascii_digit)
        .map(|b| b - b'0')
        .collect()
}

fn last4(digits: &[u8]) -> String {
    digits[digits.len().saturating_sub(4)..]
        .iter()
        .map(|d| char::from(b'0' + d))
        .collect()
}

/// Whether the match stands alone: no digit (or `+`, a phone's prefix) right before it, no
/// digit right after it.
fn stands_alone(text: &str, start: usize, end: usize) -> bool {
    let before = text[..start].chars().next_back();
    let after = text[end..].chars().next();
    !before.is_some_and(|c| c.is_ascii_digit() || c == '+')
        && !after.is_some_and(|c| c.is_ascii_digit())
}

/// Whether a currency sign comes right before the match (a price).
fn after_currency(text: &str, start: usize) -> bool {
    text[..start]
        .trim_end()
        .chars()
        .next_back()
        .is_some_and(|c| matches!(c, '$' | '€' | '£' | '₪' | '¥'))
}

/// Whether one of `cues` ends within the 30 characters before `start` (case-insensitive).
fn cue_before(text: &str, start: usize, cues: &[&str]) -> bool {
    let window: String = text[..start]
        .chars()
        .rev()
        .take(30)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect::<String>()
        .to_lowercase();
    cues.iter().any(|cue| window.contains(cue))
}

pub fn luhn_valid(digits: &[u8]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            let d = u32::from(d);
            if i % 2 == 1 {
                let doubled = d * 2;
                if doubled > 9 { doubled - 9 } else { doubled }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// Whether the number starts like a card of a major network (Visa, Mastercard, Amex, Diners,
/// JCB, Discover, UnionPay, Maestro): order numbers rarely do and Luhn alone passes one in ten.
fn card_prefix(digits: &[u8]) -> bool {
    matches!(
        digits,
        [4 | 6, ..] | [5, 0..=9, ..] | [2, 2..=7, ..] | [3, 0 | 4..=9, ..]
    )
}

fn cards(text: &str) -> Vec<Span> {
    find_iter(&CARD, text)
        .filter(|m| stands_alone(text, m.start(), m.end()) && !after_currency(text, m.start()))
        .filter_map(|m| {
            let digits = digits_of(m.as_str());
            (card_prefix(&digits) && luhn_valid(&digits)).then(|| Span {
                start: m.start(),
                end: m.end(),
                kind: PiiKind::Card,
                placeholder: format!("[card ••{}]", last4(&digits)),
            })
        })
        .collect()
}

/// Whether an IBAN (letters and digits, no spaces) passes the mod-97 check.
pub fn iban_valid(iban: &str) -> bool {
    if !(15..=34).contains(&iban.len()) || !iban.is_ascii() {
        return false;
    }
    let (head, tail) = iban.split_at(4);
    let mut remainder: u32 = 0;
    for c in tail.chars().chain(head.chars()) {
        let value = match c {
            '0'..='9' => c as u32 - '0' as u32,
            'A'..='Z' => c as u32 - 'A' as u32 + 10,
            _ => return false,
        };
        remainder = if value >= 10 {
            (remainder * 100 + value) % 97
        } else {
            (remainder * 10 + value) % 97
        };
    }
    remainder == 1
}

fn ibans(text: &str) -> Vec<Span> {
    let mut spans = Vec::new();
    for m in find_iter(&IBAN, text) {
        // A short word after the last group of four may be the next word, not the IBAN's end.
        let mut candidates = vec![m.as_str()];
        if let Some((shorter, last)) = m.as_str().rsplit_once(' ')
            && last.len() < 4
        {
            candidates.push(shorter);
        }
        for candidate in candidates {
            let compact: String = candidate.chars().filter(|c| *c != ' ').collect();
            if iban_valid(&compact) {
                spans.push(Span {
                    start: m.start(),
                    end: m.start() + candidate.len(),
                    kind: PiiKind::BankAccount,
                    placeholder: format!(
                        "[bank account ••{}]",
                        &compact[compact.len().saturating_sub(4)..]
                    ),
                });
                break;
            }
        }
    }
    spans
}

fn ssns(text: &str) -> Vec<Span> {
    captures_iter(&SSN, text)
        .filter_map(|c| {
            let m = c.get(0)?;
            if !stands_alone(text, m.start(), m.end()) {
                return None;
            }
            // Nine digits in a row are an SSN only when the text says so.
            if c.get(4).is_some() && !cue_before(text, m.start(), &["ssn", "social security"]) {
                return None;
            }
            let digits = digits_of(m.as_str());
            let area =
                u32::from(digits[0]) * 100 + u32::from(digits[1]) * 10 + u32::from(digits[2]);
            let group = digits[3..5] != [0, 0];
            let serial = digits[5..] != [0, 0, 0, 0];
            (area != 0 && area != 666 && area < 900 && group && serial).then(|| Span {
                start: m.start(),
                end: m.end(),
                kind: PiiKind::UsSsn,
                placeholder: "[ssn]".to_owned(),
            })
        })
        .collect()
}

/// Whether nine digits carry a valid Israeli id check digit.
pub fn israeli_id_valid(digits: &[u8]) -> bool {
    digits.len() == 9
        && digits
            .iter()
            .enumerate()
            .map(|(i, &d)| {
                let v = u32::from(d) * if i % 2 == 0 { 1 } else { 2 };
                if v > 9 { v - 9 } else { v }
            })
            .sum::<u32>()
            .is_multiple_of(10)
}

fn israeli_ids(text: &str) -> Vec<Span> {
    const CUES: &[&str] = &["ת.ז", "ת\"ז", "תז", "תעודת זהות", "זהות", "id", "teudat"];
    find_iter(&ISRAELI_ID, text)
        .filter(|m| stands_alone(text, m.start(), m.end()) && !after_currency(text, m.start()))
        .filter_map(|m| {
            let digits = digits_of(m.as_str());
            // Nine digits from 0 are also how an Israeli landline is written (03…, 09…):
            // those need the word "id" (or ת.ז) before them.
            if digits[0] == 0 && !cue_before(text, m.start(), CUES) {
                return None;
            }
            israeli_id_valid(&digits).then(|| Span {
                start: m.start(),
                end: m.end(),
                kind: PiiKind::IsraeliId,
                placeholder: "[id number]".to_owned(),
            })
        })
        .collect()
}

fn one_time_codes(text: &str) -> Vec<Span> {
    const NOT_CODES: &[&str] = &[
        "zip",
        "postal",
        "area",
        "promo",
        "discount",
        "coupon",
        "מיקוד",
    ];
    captures_iter(&CODE, text)
        .filter_map(|c| {
            let whole = c.get(0)?;
            let code = c.get(1)?;
            if !stands_alone(text, code.start(), code.end()) {
                return None;
            }
            let before = text[..whole.start()].to_lowercase();
            let last_word = before.split_whitespace().next_back().unwrap_or_default();
            if NOT_CODES.iter().any(|w| last_word.ends_with(w)) {
                return None;
            }
            Some(Span {
                start: code.start(),
                end: code.end(),
                kind: PiiKind::OneTimeCode,
                placeholder: "[one-time code]".to_owned(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all() -> RedactionPolicy {
        RedactionPolicy {
            mode: RedactionMode::Redact,
            kinds: PiiKind::ALL.to_vec(),
        }
    }

    fn text(input: &str, policy: &RedactionPolicy) -> String {
        redact(input, policy).map_or_else(|| input.to_owned(), |r| r.text)
    }

    #[test]
    fn every_pattern_compiles() {
        for pattern in [&CARD, &IBAN, &SSN, &ISRAELI_ID, &CODE] {
            assert!(pattern.is_some());
        }
    }

    #[test]
    fn a_valid_card_number_becomes_its_last_four_digits() {
        let r = redact(
            "my card is 4242 4242 4242 4242 thanks",
            &RedactionPolicy::default(),
        )
        .unwrap();
        assert_eq!(r.text, "my card is [card ••4242] thanks");
        assert_eq!(r.counts, vec![(PiiKind::Card, 1)]);
        assert_eq!(
            text(
                "כרטיס 5555-5555-5555-4444 בבקשה",
                &RedactionPolicy::default()
            ),
            "כרטיס [card ••4444] בבקשה"
        );
        assert_eq!(
            text("amex 378282246310005.", &RedactionPolicy::default()),
            "amex [card ••0005]."
        );
    }

    #[test]
    fn a_card_number_with_a_wrong_check_digit_stays() {
        for input in ["card 4242 4242 4242 4241", "הזמנה 4242424242424243"] {
            assert_eq!(redact(input, &RedactionPolicy::default()), None, "{input}");
        }
    }

    #[test]
    fn order_numbers_phones_and_prices_stay() {
        for input in [
            // Luhn-valid, but no card network starts with 1.
            "order 1000000000000008 shipped",
            "הזמנה מספר 1000000000000008",
            "call +972 52 555 1234 or +1 415 555 2671",
            "my numbers are 052-555-1234 and 03-1234567",
            "the price is $4242424242424242",
            "it costs ₪1,250,000 or 1250000 NIS",
            "tracking 12345678901234567890123",
        ] {
            assert_eq!(redact(input, &all()), None, "{input}");
        }
    }

    #[test]
    fn ibans_pass_mod_97() {
        let r = redact("IBAN: GB82 WEST 1234 5698 7654 32 please", &all()).unwrap();
        assert_eq!(r.text, "IBAN: [bank account ••5432] please");
        assert_eq!(
            text("חשבון IL620108000000099999999", &all()),
            "חשבון [bank account ••9999]"
        );
        assert_eq!(redact("IBAN GB82 WEST 1234 5698 7654 33", &all()), None);
        assert!(iban_valid("DE89370400440532013000"));
        assert!(!iban_valid("DE89370400440532013001"));
    }

    #[test]
    fn israeli_ids_need_their_check_digit() {
        let r = redact("ת.ז 123456782", &all()).unwrap();
        assert_eq!(r.text, "ת.ז [id number]");
        assert_eq!(r.counts, vec![(PiiKind::IsraeliId, 1)]);
        assert_eq!(text("my id is 123456782", &all()), "my id is [id number]");
        assert_eq!(redact("ת.ז 123456789", &all()), None);
        // A landline written as nine digits from 0 is not an id without the word.
        assert!(israeli_id_valid(&digits_of("039999990")));
        assert_eq!(redact("call 039999990", &all()), None);
        assert_eq!(text("id 039999990", &all()), "id [id number]");
    }

    #[test]
    fn ssns_are_dashed_or_named() {
        assert_eq!(text("SSN 123-45-6789", &all()), "SSN [ssn]");
        assert_eq!(
            text("my social security is 123456789", &all()),
            "my social security is [ssn]"
        );
        assert_eq!(redact("ssn 000-12-3456", &all()), None);
        assert_eq!(redact("ssn 666-12-3456", &all()), None);
        assert_eq!(redact("call 212-55-12345", &all()), None);
    }

    #[test]
    fn one_time_codes_follow_a_cue_word() {
        assert_eq!(
            text("Your code is 482913, don't share it", &all()),
            "Your code is [one-time code], don't share it"
        );
        assert_eq!(text("OTP: 1234", &all()), "OTP: [one-time code]");
        assert_eq!(
            text("קוד אימות 556677", &all()),
            "קוד אימות [one-time code]"
        );
        assert_eq!(redact("my zip code 90210", &all()), None);
        assert_eq!(redact("room 4821 on floor 3", &all()), None);
    }

    #[test]
    fn only_the_policy_kinds_are_redacted() {
        let input = "card 4242424242424242 code 1234";
        assert_eq!(
            text(input, &RedactionPolicy::default()),
            "card [card ••4242] code 1234"
        );
        let off = RedactionPolicy {
            mode: RedactionMode::Off,
            kinds: PiiKind::ALL.to_vec(),
        };
        assert_eq!(redact(input, &off), None);
        let r = redact(
            "cards 4242424242424242 and 5555555555554444, code 1234",
            &all(),
        )
        .unwrap();
        assert_eq!(
            r.counts,
            vec![(PiiKind::Card, 2), (PiiKind::OneTimeCode, 1)]
        );
    }

    #[test]
    fn strings_inside_a_channel_payload_are_redacted_too() {
        let mut raw = serde_json::json!({
            "button": { "text": "pay with 4242 4242 4242 4242" },
            "items": ["5555555555554444", 4242424242424242_u64],
        });
        let mut counts = vec![(PiiKind::Card, 1)];
        redact_json(&mut raw, &RedactionPolicy::default(), &mut counts);
        assert_eq!(raw["button"]["text"], "pay with [card ••4242]");
        assert_eq!(raw["items"][0], "[card ••4444]");
        assert_eq!(counts, vec![(PiiKind::Card, 3)]);
    }

    #[test]
    fn stored_policies_round_trip() {
        let p = RedactionPolicy::from_stored("redact", "one_time_code, card,bogus,card");
        assert_eq!(p.kinds, vec![PiiKind::Card, PiiKind::OneTimeCode]);
        assert_eq!(p.stored_kinds(), "card,one_time_code");
        assert_eq!(
            RedactionPolicy::from_stored("off", "").mode,
            RedactionMode::Off
        );
    }
}
