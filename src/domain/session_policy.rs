//! Which session a new message belongs to: one open session per (lead, channel); a quiet spell
//! longer than the idle timeout, a new call, or a customer's reset phrase starts a new one.

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

use super::{CloseReason, MessageRole, SessionStatus};

/// Reset phrases every tenant gets unless it configures its own list.
pub const DEFAULT_RESET_PHRASES: &[&str] = &[
    "start over",
    "start again",
    "start fresh",
    "reset",
    "new conversation",
    "מהתחלה",
    "איפוס",
    "להתחיל מחדש",
];

/// What the policy needs to know about an existing session.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionView {
    pub id: Uuid,
    pub status: SessionStatus,
    /// Why it closed, if it did.
    pub close_reason: Option<CloseReason>,
    pub last_message_at: DateTime<Utc>,
    pub session_ref: Option<String>,
}

/// The message being placed.
#[derive(Debug, Clone, PartialEq)]
pub struct Arrival<'a> {
    pub role: MessageRole,
    /// The message asks to start over (see [`is_reset_phrase`]); only a customer's counts.
    pub asks_reset: bool,
    pub occurred_at: DateTime<Utc>,
    pub session_ref: Option<&'a str>,
}

/// Where the message goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Existing(Uuid),
    /// A session the idle sweeper closed while its call was still going on: it is open again.
    Reopen(Uuid),
    New,
}

/// The policy's decision, carried out by the ingest service in one transaction.
#[derive(Debug, Clone, PartialEq)]
pub struct Placement {
    /// Close this open session before placing the message.
    pub close_first: Option<(Uuid, CloseReason)>,
    pub target: Target,
    /// Close the target session right after the message (the customer asked to start over).
    pub close_after: Option<CloseReason>,
}

/// Places a message. `by_ref` is the session already carrying `arrival.session_ref` (any
/// status); `open` is the open session of the lead on the message's channel.
pub fn place(
    arrival: &Arrival<'_>,
    by_ref: Option<&SessionView>,
    open: Option<&SessionView>,
    idle_timeout: Duration,
) -> Placement {
    let close_after =
        (arrival.role == MessageRole::Customer && arrival.asks_reset).then_some(CloseReason::Reset);

    // A session reference (a call id) names its session outright, open or closed: a late
    // transcript still belongs to the call it transcribes. Two exceptions keep the rest of a
    // call in the memory context, which reads the open session:
    // - a call closed for idleness (on hold) goes on in the same session, open again, unless
    //   the customer has since opened another conversation on the channel;
    // - after the caller asked to start over, the rest of the call is a new conversation: the
    //   one the first message after the reset opened (which cannot carry the same reference).
    let mut after_reset = false;
    if let Some(session) = by_ref {
        match (session.status, session.close_reason) {
            (SessionStatus::Closed, Some(CloseReason::IdleTimeout)) if open.is_none() => {
                return Placement {
                    close_first: None,
                    target: Target::Reopen(session.id),
                    close_after,
                };
            }
            (SessionStatus::Closed, Some(CloseReason::Reset)) => after_reset = true,
            _ => {
                return Placement {
                    close_first: None,
                    target: Target::Existing(session.id),
                    close_after: close_after.filter(|_| session.status == SessionStatus::Open),
                };
            }
        }
    }

    let Some(open) = open else {
        return Placement {
            close_first: None,
            target: Target::New,
            close_after,
        };
    };

    if arrival.session_ref.is_some() && !after_reset {
        // A new call while another conversation on this channel is still open.
        let reason = if arrival.occurred_at - open.last_message_at > idle_timeout {
            CloseReason::IdleTimeout
        } else {
            CloseReason::Superseded
        };
        return Placement {
            close_first: Some((open.id, reason)),
            target: Target::New,
            close_after,
        };
    }

    if arrival.occurred_at - open.last_message_at > idle_timeout {
        return Placement {
            close_first: Some((open.id, CloseReason::IdleTimeout)),
            target: Target::New,
            close_after,
        };
    }

    Placement {
        close_first: None,
        target: Target::Existing(open.id),
        close_after,
    }
}

/// Whether a customer's message asks to start over. Some sentence of it (sentences end at
/// `.`, `,`, `!`, `?`, `;`, `:` or a line break) is a reset phrase, optionally after words that
/// ask for it ("let's", "can we", "I want to", "אפשר", "בוא נתחיל") and before courtesies
/// ("please", "בבקשה"), and nothing else: no negation ("don't", "no need to", "לא"). Case,
/// punctuation and extra spaces are ignored. So "Let's start over please" and "I'm back,
/// start over" reset; "How do I reset my password?", "reset my router" and "איפוס סיסמה" do
/// not: there the phrase is the start of a request about something else.
pub fn is_reset_phrase(content: &str, phrases: &[String]) -> bool {
    let phrases: Vec<String> = phrases
        .iter()
        .map(|p| normalize(p))
        .filter(|p| !p.is_empty())
        .collect();
    content
        .split(['.', ',', '!', '?', ';', ':', '\n', '…', '،', '¿', '¡'])
        .map(normalize)
        .any(|sentence| {
            let words: Vec<&str> = sentence.split_whitespace().collect();
            phrases.iter().any(|phrase| asks_for(&words, phrase))
        })
}

/// Whether `words` are `phrase`, with only asking words before it and courtesies after it.
fn asks_for(words: &[&str], phrase: &str) -> bool {
    let phrase: Vec<&str> = phrase.split(' ').collect();
    (phrase.len()..=words.len()).any(|end| {
        let start = end - phrase.len();
        words[start..end] == phrase[..]
            && words[end..].iter().all(|w| COURTESIES.contains(w))
            && words[..start].iter().all(|w| ASKING.contains(w))
    })
}

/// Words that may lead up to a reset phrase: asking for it, in English and Hebrew. Anything
/// else before the phrase, a negation included ("no need to", "don't", "לא"), means it is not
/// a request to start over.
#[rustfmt::skip] // a word list reads best packed
const ASKING: &[&str] = &[
    "a", "actually", "and", "begin", "can", "could", "d", "go", "hey", "hi", "i", "just", "let",
    "lets", "like", "maybe", "me", "need", "ok", "okay", "please", "pls", "s", "so", "start",
    "to", "us", "wanna", "want", "we", "well", "would", "yeah", "yes", "you", "אולי", "אז",
    "אני", "אפשר", "בבקשה", "בוא", "בואי", "בואו", "בעצם", "טוב", "יאללה", "כן", "לי", "להתחיל",
    "נא", "נתחיל", "רוצה", "שוב", "תן", "תני", "תתחיל", "תתחילי",
];

/// Words that may follow a reset phrase.
#[rustfmt::skip] // a word list reads best packed
const COURTESIES: &[&str] = &[
    "again", "beginning", "from", "now", "please", "pls", "plz", "scratch", "thank", "thanks",
    "the", "you", "בבקשה", "עכשיו", "שוב", "תודה",
];

/// Lowercase words separated by single spaces; punctuation dropped.
fn normalize(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_alphanumeric() {
                c.to_lowercase().next().unwrap_or(c)
            } else {
                ' '
            }
        })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(minute: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + minute * 60, 0).unwrap()
    }

    fn open(minute: i64) -> SessionView {
        SessionView {
            id: Uuid::from_u128(1),
            status: SessionStatus::Open,
            close_reason: None,
            last_message_at: at(minute),
            session_ref: None,
        }
    }

    /// The session of call `CA1`, closed at minute 0 for `reason`.
    fn closed_call(reason: CloseReason) -> SessionView {
        SessionView {
            id: Uuid::from_u128(7),
            status: SessionStatus::Closed,
            close_reason: Some(reason),
            last_message_at: at(0),
            session_ref: Some("CA1".into()),
        }
    }

    fn arrival(content: &str, minute: i64) -> Arrival<'_> {
        Arrival {
            role: MessageRole::Customer,
            asks_reset: is_reset_phrase(content, &phrases()),
            occurred_at: at(minute),
            session_ref: None,
        }
    }

    fn phrases() -> Vec<String> {
        DEFAULT_RESET_PHRASES
            .iter()
            .map(|p| p.to_string())
            .collect()
    }

    const IDLE: Duration = Duration::minutes(15);

    #[test]
    fn first_message_opens_a_session() {
        let p = place(&arrival("hi", 0), None, None, IDLE);
        assert_eq!(p.target, Target::New);
        assert_eq!(p.close_first, None);
    }

    #[test]
    fn within_the_idle_timeout_continues() {
        let s = open(0);
        let p = place(&arrival("and also", 15), None, Some(&s), IDLE);
        assert_eq!(p.target, Target::Existing(s.id));
        assert_eq!(p.close_first, None);
    }

    #[test]
    fn after_the_idle_timeout_closes_and_opens() {
        let s = open(0);
        let p = place(&arrival("back again", 16), None, Some(&s), IDLE);
        assert_eq!(p.close_first, Some((s.id, CloseReason::IdleTimeout)));
        assert_eq!(p.target, Target::New);
    }

    #[test]
    fn late_historical_messages_stay_in_the_open_session() {
        let s = open(30);
        let p = place(&arrival("earlier words", 2), None, Some(&s), IDLE);
        assert_eq!(p.target, Target::Existing(s.id));
    }

    #[test]
    fn a_reset_phrase_closes_after_the_message() {
        let s = open(0);
        let p = place(&arrival("Start over!", 1), None, Some(&s), IDLE);
        assert_eq!(p.target, Target::Existing(s.id));
        assert_eq!(p.close_after, Some(CloseReason::Reset));
        let p = place(&arrival("אפשר מהתחלה?", 1), None, Some(&s), IDLE);
        assert_eq!(p.close_after, Some(CloseReason::Reset));
    }

    #[test]
    fn only_customers_reset() {
        let s = open(0);
        let mut a = arrival("reset", 1);
        a.role = MessageRole::Agent;
        assert_eq!(place(&a, None, Some(&s), IDLE).close_after, None);
    }

    #[test]
    fn reset_phrases_reset_when_asked_for() {
        for asked in [
            "reset",
            "please reset",
            "Start over!",
            "Let's start over please",
            "Can we start over?",
            "I want to start a new conversation",
            "I'm back, start over please",
            "The order was wrong. Let's start fresh.",
            "start again from the beginning",
            "מהתחלה",
            "איפוס",
            "אפשר להתחיל מהתחלה?",
            "בוא נתחיל מהתחלה בבקשה",
            "רוצה להתחיל מחדש",
        ] {
            assert!(is_reset_phrase(asked, &phrases()), "{asked:?} should reset");
        }
    }

    #[test]
    fn reset_words_in_other_requests_do_not_reset() {
        for other in [
            "How do I reset my password?",
            "Can you reset my router?",
            "reset the router",
            "I need to reset my password for the account you created last week please",
            "No need to start over",
            "I don't want to start over",
            "what does start over do",
            "איפוס סיסמה",
            "לא צריך להתחיל מחדש",
            "preset",
            "",
            "?!",
        ] {
            assert!(
                !is_reset_phrase(other, &phrases()),
                "{other:?} should not reset"
            );
        }
    }

    #[test]
    fn a_tenants_own_phrases_follow_the_same_rule() {
        let own = vec!["New Trip".to_owned(), "  ".to_owned()];
        assert!(is_reset_phrase("I want a new trip, please", &own));
        assert!(!is_reset_phrase("new trip to Paris", &own));
        assert!(!is_reset_phrase("start over", &own));
    }

    #[test]
    fn session_refs_name_their_session() {
        let call = closed_call(CloseReason::CallEnded);
        let mut a = arrival("transcript", 90);
        a.session_ref = Some("CA1");
        for other in [None, Some(&open(80))] {
            let p = place(&a, Some(&call), other, IDLE);
            assert_eq!(p.target, Target::Existing(call.id));
            assert_eq!(p.close_first, None);
            assert_eq!(p.close_after, None, "a closed call is not closed again");
        }
    }

    #[test]
    fn a_call_closed_while_on_hold_goes_on_in_its_session() {
        let on_hold = closed_call(CloseReason::IdleTimeout);
        let mut a = arrival("sorry, I'm back", 25);
        a.session_ref = Some("CA1");
        let p = place(&a, Some(&on_hold), None, IDLE);
        assert_eq!(p.target, Target::Reopen(on_hold.id));
        assert_eq!(p.close_first, None);
        // Not when the customer has opened another conversation on the channel since.
        let p = place(&a, Some(&on_hold), Some(&open(20)), IDLE);
        assert_eq!(p.target, Target::Existing(on_hold.id));
        // And a reset there closes it again.
        let mut reset = arrival("start over", 25);
        reset.session_ref = Some("CA1");
        let p = place(&reset, Some(&on_hold), None, IDLE);
        assert_eq!(p.target, Target::Reopen(on_hold.id));
        assert_eq!(p.close_after, Some(CloseReason::Reset));
    }

    #[test]
    fn after_a_reset_the_rest_of_the_call_is_a_new_conversation() {
        let reset = closed_call(CloseReason::Reset);
        let mut a = arrival("I want to book a table", 1);
        a.session_ref = Some("CA1");
        let p = place(&a, Some(&reset), None, IDLE);
        assert_eq!((p.target, p.close_first), (Target::New, None));
        // The turns after it join that conversation; it is not superseded by its own call.
        let fresh = open(1);
        let p = place(&a, Some(&reset), Some(&fresh), IDLE);
        assert_eq!(
            (p.target, p.close_first),
            (Target::Existing(fresh.id), None)
        );
    }

    #[test]
    fn a_new_call_supersedes_the_open_one() {
        let s = open(0);
        let mut a = arrival("hello", 3);
        a.session_ref = Some("CA2");
        let p = place(&a, None, Some(&s), IDLE);
        assert_eq!(p.close_first, Some((s.id, CloseReason::Superseded)));
        assert_eq!(p.target, Target::New);
    }
}
