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
    pub started_at: DateTime<Utc>,
    pub last_message_at: DateTime<Utc>,
    /// When it closed, if it did: for idleness, when its quiet spell was found to be over.
    pub closed_at: Option<DateTime<Utc>>,
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

/// What is known of the lead's conversations on the message's channel.
#[derive(Debug, Clone, Copy)]
pub struct Known<'a> {
    /// The session already carrying the arrival's `session_ref` (any status).
    pub by_ref: Option<&'a SessionView>,
    /// The open session of the lead on the channel.
    pub open: Option<&'a SessionView>,
    /// The lead's closed sessions on the channel whose last message is at most the idle
    /// timeout before the arrival: those that may hold it, and those after it. Needed only
    /// when [`may_be_past`] says so, or when `by_ref` closed for idleness (then also those since
    /// it began); empty otherwise.
    pub closed: &'a [SessionView],
    /// When the lead last spoke, on any channel, before this message.
    pub last_interaction_at: Option<DateTime<Utc>>,
}

/// Where the message goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Existing(Uuid),
    New,
}

/// The policy's decision, carried out by the ingest service in one transaction.
#[derive(Debug, Clone, PartialEq)]
pub struct Placement {
    /// Close this open session before placing the message.
    pub close_first: Option<(Uuid, CloseReason)>,
    pub target: Target,
    /// Close the target session right after the message: the customer asked to start over,
    /// or the message opened a conversation that ended before a later one began.
    pub close_after: Option<CloseReason>,
}

/// Places a message.
///
/// A message from before the open conversation began (a history import, a late delivery)
/// goes to the nearest conversation whose reach covers it: a closed session whose time it
/// falls in (within the idle timeout of its first message, or of its last when it closed for
/// idleness and before it closed), or the open one when it is within the idle timeout of its
/// start. Otherwise it opens a session of its own that closes at once when a later
/// conversation exists. It never closes the open conversation. A late request to start over
/// stays with the closed session it joins (`close_after`), for the caller to end it there when
/// it is that conversation's last word. (Whether a conversation a late message extends has
/// gone quiet since, or is still going on, is the caller's to settle once the batch is
/// placed.)
pub fn place(arrival: &Arrival<'_>, known: Known<'_>, idle_timeout: Duration) -> Placement {
    let close_after =
        (arrival.role == MessageRole::Customer && arrival.asks_reset).then_some(CloseReason::Reset);
    let open = known.open;

    // A session reference (a call id) names its session outright, open or closed: a late
    // transcript still belongs to the call it transcribes, and a call closed for idleness (on
    // hold) gets its next line, like any closed conversation a late message joins (the caller
    // settles whether it goes on, open again). But after the caller asked to start over, the
    // rest of the call is a new conversation: the one the first message after the reset
    // opened (which cannot carry the same reference).
    let mut after_reset = false;
    if let Some(session) = known.by_ref {
        if session.status == SessionStatus::Closed
            && session.close_reason == Some(CloseReason::Reset)
        {
            after_reset = true;
        } else {
            return Placement {
                close_first: None,
                target: Target::Existing(session.id),
                close_after,
            };
        }
    }

    if !after_reset && may_be_past(arrival, open, known.last_interaction_at, idle_timeout) {
        // Only a message without a reference joins a conversation by its time: a new
        // reference is a call of its own.
        // The open conversation competes for a message shortly before its start.
        let open_reach = open
            .filter(|_| arrival.session_ref.is_none())
            .and_then(|s| {
                let before = s.started_at - arrival.occurred_at;
                (before <= idle_timeout).then_some((before, s))
            });
        let holder = known
            .closed
            .iter()
            .filter(|s| arrival.session_ref.is_none() && s.status == SessionStatus::Closed)
            .filter_map(|s| Some((distance(arrival.occurred_at, s, known, idle_timeout)?, s)))
            .chain(open_reach)
            .min_by_key(|(distance, s)| (*distance, std::cmp::Reverse(s.started_at)));
        match holder {
            // Said before the open conversation began: a request to start over from then
            // does not end it.
            Some((_, session)) if session.status == SessionStatus::Open => {
                return Placement {
                    close_first: None,
                    target: Target::Existing(session.id),
                    close_after: None,
                };
            }
            // A late request to start over stays with it: the caller ends the conversation
            // there if it is that conversation's last word.
            Some((_, session)) => {
                return Placement {
                    close_first: None,
                    target: Target::Existing(session.id),
                    close_after,
                };
            }
            None => {}
        }
        let later = open
            .into_iter()
            .chain(known.closed)
            .any(|s| s.started_at > arrival.occurred_at);
        if later {
            return Placement {
                close_first: None,
                target: Target::New,
                close_after: close_after.or(Some(CloseReason::IdleTimeout)),
            };
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

/// Whether the message may belong to a conversation before the lead's latest, so that the
/// closed sessions around its time are needed to place it: it is earlier than the start of the
/// open conversation, or there is no open one and the lead spoke after it or within the idle
/// timeout before it.
pub fn may_be_past(
    arrival: &Arrival<'_>,
    open: Option<&SessionView>,
    last_interaction_at: Option<DateTime<Utc>>,
    idle_timeout: Duration,
) -> bool {
    match open {
        Some(open) => arrival.occurred_at < open.started_at,
        None => last_interaction_at.is_some_and(|at| arrival.occurred_at < at + idle_timeout),
    }
}

/// How far `at` is from the closed session `s`, if it falls within its reach: from the idle
/// timeout before its first message to its last message, or, when it closed for idleness (the
/// conversation could have gone on), to the idle timeout after it, unless it had closed by
/// then or another conversation began in between. A conversation ended on purpose (a reset, a
/// hang-up) takes nothing from the instant of its last message on: what arrives at that time
/// came after the ending.
fn distance(
    at: DateTime<Utc>,
    s: &SessionView,
    known: Known<'_>,
    idle_timeout: Duration,
) -> Option<Duration> {
    if at < s.started_at {
        let before = s.started_at - at;
        return (before <= idle_timeout).then_some(before);
    }
    if at < s.last_message_at {
        return Some(Duration::zero());
    }
    let after = at - s.last_message_at;
    let went_on = s.close_reason == Some(CloseReason::IdleTimeout)
        && after <= idle_timeout
        && s.closed_at.is_none_or(|closed_at| at <= closed_at)
        && !known.open.into_iter().chain(known.closed).any(|other| {
            other.id != s.id && other.started_at > s.last_message_at && other.started_at <= at
        });
    went_on.then_some(after)
}

/// Whether a customer's message asks to start over. Some sentence of it (sentences end at
/// `.`, `,`, `!`, `?`, `;`, `:` or a line break) is a reset phrase, optionally after words that
/// ask for it ("let's", "can we", "I want to", "אפשר", "בוא נתחיל") and before courtesies
/// ("please", "בבקשה"), and nothing else: no negation ("don't", "no need to", "לא"). Case,
/// punctuation and extra spaces are ignored. So "Let's start over please" and "I'm back,
/// start over" reset; "How do I reset my password?", "reset my router" and "איפוס סיסמה" do
/// not: there the phrase is the start of a request about something else.
pub fn is_reset_phrase(content: &str, phrases: &ResetPhrases) -> bool {
    if phrases.0.is_empty() {
        return false;
    }
    content
        .split(['.', ',', '!', '?', ';', ':', '\n', '…', '،', '¿', '¡'])
        .map(normalize)
        .any(|sentence| {
            let words: Vec<&str> = sentence.split_whitespace().collect();
            phrases.0.iter().any(|phrase| asks_for(&words, phrase))
        })
}

/// A tenant's reset phrases as [`is_reset_phrase`] compares them: normalized once, when the
/// settings are read, not for every message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResetPhrases(Vec<String>);

impl ResetPhrases {
    pub fn new<S: AsRef<str>>(phrases: impl IntoIterator<Item = S>) -> Self {
        Self(
            phrases
                .into_iter()
                .map(|p| normalize(p.as_ref()))
                .filter(|p| !p.is_empty())
                .collect(),
        )
    }
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
            started_at: at(minute),
            last_message_at: at(minute),
            closed_at: None,
            session_ref: None,
        }
    }

    /// The session of call `CA1`, closed at minute 0 for `reason`.
    fn closed_call(reason: CloseReason) -> SessionView {
        SessionView {
            id: Uuid::from_u128(7),
            status: SessionStatus::Closed,
            close_reason: Some(reason),
            started_at: at(-5),
            last_message_at: at(0),
            closed_at: Some(at(if reason == CloseReason::IdleTimeout {
                16
            } else {
                0
            })),
            session_ref: Some("CA1".into()),
        }
    }

    fn arrival(content: &str, minute: i64) -> Arrival<'_> {
        Arrival {
            role: MessageRole::Customer,
            asks_reset: is_reset_phrase(content, &ResetPhrases::new(phrases())),
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

    fn known<'a>(by_ref: Option<&'a SessionView>, open: Option<&'a SessionView>) -> Known<'a> {
        Known {
            by_ref,
            open,
            closed: &[],
            last_interaction_at: open.map(|s| s.last_message_at),
        }
    }

    #[test]
    fn first_message_opens_a_session() {
        let p = place(&arrival("hi", 0), known(None, None), IDLE);
        assert_eq!(p.target, Target::New);
        assert_eq!(p.close_first, None);
    }

    #[test]
    fn within_the_idle_timeout_continues() {
        let s = open(0);
        let p = place(&arrival("and also", 15), known(None, Some(&s)), IDLE);
        assert_eq!(p.target, Target::Existing(s.id));
        assert_eq!(p.close_first, None);
    }

    #[test]
    fn after_the_idle_timeout_closes_and_opens() {
        let s = open(0);
        let p = place(&arrival("back again", 16), known(None, Some(&s)), IDLE);
        assert_eq!(p.close_first, Some((s.id, CloseReason::IdleTimeout)));
        assert_eq!(p.target, Target::New);
    }

    /// A closed session of minutes `start..=last`, closed for `reason` (by the sweeper a
    /// minute after its quiet spell, for idleness).
    fn closed(id: u128, start: i64, last: i64, reason: CloseReason) -> SessionView {
        let closed_at = if reason == CloseReason::IdleTimeout {
            last + 16
        } else {
            last
        };
        SessionView {
            id: Uuid::from_u128(id),
            status: SessionStatus::Closed,
            close_reason: Some(reason),
            started_at: at(start),
            last_message_at: at(last),
            closed_at: Some(at(closed_at)),
            session_ref: None,
        }
    }

    /// A customer's turn at `minute` on the call `reference`.
    fn call_turn<'a>(content: &'a str, minute: i64, reference: &'a str) -> Arrival<'a> {
        Arrival {
            session_ref: Some(reference),
            ..arrival(content, minute)
        }
    }

    /// What is known when the lead has `closed` sessions and maybe an `open` one.
    fn with_past<'a>(open: Option<&'a SessionView>, closed: &'a [SessionView]) -> Known<'a> {
        Known {
            by_ref: None,
            open,
            closed,
            last_interaction_at: open
                .into_iter()
                .chain(closed)
                .map(|s| s.last_message_at)
                .max(),
        }
    }

    /// A conversation that ended before a later one began: a new session, closed at once.
    fn past() -> (Option<(Uuid, CloseReason)>, Target, Option<CloseReason>) {
        (None, Target::New, Some(CloseReason::IdleTimeout))
    }

    fn decided(p: Placement) -> (Option<(Uuid, CloseReason)>, Target, Option<CloseReason>) {
        (p.close_first, p.target, p.close_after)
    }

    #[test]
    fn a_late_message_from_the_open_conversations_start_joins_it() {
        let s = open(30);
        let p = place(&arrival("earlier words", 20), known(None, Some(&s)), IDLE);
        assert_eq!(decided(p), (None, Target::Existing(s.id), None));
    }

    #[test]
    fn a_message_from_before_the_open_conversation_is_a_past_conversation() {
        let s = open(30);
        for minute in [2, 14] {
            let p = place(
                &arrival("earlier words", minute),
                known(None, Some(&s)),
                IDLE,
            );
            assert_eq!(decided(p), past(), "at minute {minute}");
        }
        // Not even a reset phrase in it touches today's conversation; it ends its own.
        let p = place(&arrival("start over", 2), known(None, Some(&s)), IDLE);
        assert_eq!(decided(p), (None, Target::New, Some(CloseReason::Reset)));
    }

    #[test]
    fn a_past_message_joins_the_closed_conversation_it_falls_in() {
        let before = closed(2, 0, 10, CloseReason::IdleTimeout);
        let today = open(60);
        let sessions = [before.clone()];
        // Inside it, a quiet spell before its first message, or after its last (it closed for
        // idleness: the conversation could have gone on).
        for minute in [5, -15, 25] {
            let p = place(
                &arrival("then", minute),
                with_past(Some(&today), &sessions),
                IDLE,
            );
            assert_eq!(
                decided(p),
                (None, Target::Existing(before.id), None),
                "at minute {minute}"
            );
        }
        for minute in [-16, 26] {
            let p = place(
                &arrival("then", minute),
                with_past(Some(&today), &sessions),
                IDLE,
            );
            assert_eq!(decided(p), past(), "at minute {minute}");
        }
    }

    #[test]
    fn a_conversation_ended_on_purpose_ends_at_its_last_message() {
        for reason in [
            CloseReason::Manual,
            CloseReason::Reset,
            CloseReason::CallEnded,
        ] {
            let ended = [closed(2, 0, 10, reason)];
            let p = place(&arrival("inside", 8), with_past(None, &ended), IDLE);
            assert_eq!(decided(p), (None, Target::Existing(ended[0].id), None));
            // After it, a new conversation (open: nothing came later).
            let p = place(&arrival("hi again", 12), with_past(None, &ended), IDLE);
            assert_eq!(decided(p), (None, Target::New, None), "{reason:?}");
        }
    }

    #[test]
    fn a_conversation_that_began_since_cuts_the_reach_of_the_one_before() {
        // Quiet at minute 10, a new conversation at 13 that the customer reset at 20.
        let sessions = [
            closed(2, 0, 10, CloseReason::IdleTimeout),
            closed(3, 13, 20, CloseReason::Reset),
        ];
        let p = place(
            &arrival("hello again", 21),
            with_past(None, &sessions),
            IDLE,
        );
        assert_eq!(decided(p), (None, Target::New, None));
        let p = place(&arrival("late words", 11), with_past(None, &sessions), IDLE);
        assert_eq!(p.target, Target::Existing(sessions[0].id));
    }

    #[test]
    fn a_message_at_the_instant_a_conversation_ended_starts_the_next() {
        let ended = [closed(2, 0, 10, CloseReason::Reset)];
        let p = place(&arrival("hi", 10), with_past(None, &ended), IDLE);
        assert_eq!(decided(p), (None, Target::New, None));
        // One that went quiet takes it.
        let quiet = [closed(2, 0, 10, CloseReason::IdleTimeout)];
        let p = place(&arrival("hi", 10), with_past(None, &quiet), IDLE);
        assert_eq!(p.target, Target::Existing(quiet[0].id));
    }

    #[test]
    fn a_conversation_closed_for_idleness_takes_nothing_said_after_it_closed() {
        // Quiet at minute 0, closed by the sweeper at 16; a message from minute 14 arrived at
        // 17 and joined it (it is now its last, and it closed at 17).
        let swept = [SessionView {
            last_message_at: at(14),
            closed_at: Some(at(17)),
            ..closed(2, 0, 0, CloseReason::IdleTimeout)
        }];
        let p = place(&arrival("one more", 15), with_past(None, &swept), IDLE);
        assert_eq!(p.target, Target::Existing(swept[0].id));
        // The customer writing now starts a new conversation.
        let p = place(&arrival("hello again", 18), with_past(None, &swept), IDLE);
        assert_eq!(decided(p), (None, Target::New, None));
    }

    #[test]
    fn without_an_open_session_a_message_before_a_later_conversation_is_past() {
        let later = [closed(2, 60, 70, CloseReason::Manual)];
        let p = place(&arrival("long ago", 0), with_past(None, &later), IDLE);
        assert_eq!(decided(p), past());
    }

    #[test]
    fn the_nearest_closed_conversation_takes_a_past_message() {
        let sessions = [
            closed(2, 0, 10, CloseReason::IdleTimeout),
            closed(3, 30, 40, CloseReason::IdleTimeout),
        ];
        let today = open(100);
        let p = place(&arrival("m", 12), with_past(Some(&today), &sessions), IDLE);
        assert_eq!(p.target, Target::Existing(sessions[0].id));
        let p = place(&arrival("m", 27), with_past(Some(&today), &sessions), IDLE);
        assert_eq!(p.target, Target::Existing(sessions[1].id));
    }

    #[test]
    fn a_new_call_from_before_the_open_conversation_does_not_supersede_it() {
        let today = open(30);
        let a = call_turn("an earlier call", 20, "CA9");
        let p = place(&a, known(None, Some(&today)), IDLE);
        assert_eq!(decided(p), past());
        // It does not join another conversation by its time either: a reference is a call.
        let sessions = [closed(2, 15, 25, CloseReason::IdleTimeout)];
        let p = place(&a, with_past(Some(&today), &sessions), IDLE);
        assert_eq!(decided(p), past());
    }

    #[test]
    fn only_messages_near_or_before_the_lead_s_activity_need_its_past() {
        let today = open(30);
        let msg = |minute| arrival("m", minute);
        assert!(may_be_past(&msg(14), Some(&today), None, IDLE));
        assert!(may_be_past(&msg(29), Some(&today), None, IDLE));
        assert!(!may_be_past(&msg(30), Some(&today), None, IDLE));
        assert!(!may_be_past(&msg(100), Some(&today), None, IDLE));
        assert!(may_be_past(&msg(44), None, Some(at(30)), IDLE));
        assert!(!may_be_past(&msg(45), None, Some(at(30)), IDLE));
        assert!(!may_be_past(&msg(0), None, None, IDLE));
    }

    #[test]
    fn a_late_message_within_an_ended_conversation_goes_back_to_it_not_to_today_s() {
        // Minutes 0-10, ended by a reset; today's conversation began at 12.
        let earlier = [closed(2, 0, 10, CloseReason::Reset)];
        let today = open(12);
        let p = place(
            &arrival("And in grey?", 5),
            with_past(Some(&today), &earlier),
            IDLE,
        );
        assert_eq!(decided(p), (None, Target::Existing(earlier[0].id), None));
        // After the reset it belongs to today's, however near.
        let p = place(
            &arrival("Hello", 11),
            with_past(Some(&today), &earlier),
            IDLE,
        );
        assert_eq!(decided(p), (None, Target::Existing(today.id), None));
        // Nearer today's start than the earlier conversation's reach: today's.
        let earlier = [closed(2, 0, 10, CloseReason::IdleTimeout)];
        let today = open(40);
        let p = place(&arrival("m", 32), with_past(Some(&today), &earlier), IDLE);
        assert_eq!(decided(p), (None, Target::Existing(today.id), None));
        let p = place(&arrival("m", 18), with_past(Some(&today), &earlier), IDLE);
        assert_eq!(decided(p), (None, Target::Existing(earlier[0].id), None));
    }

    #[test]
    fn a_late_request_to_start_over_stays_with_the_conversation_it_joins() {
        let earlier = [closed(2, 0, 10, CloseReason::IdleTimeout)];
        let p = place(&arrival("start over", 20), with_past(None, &earlier), IDLE);
        assert_eq!(
            decided(p),
            (
                None,
                Target::Existing(earlier[0].id),
                Some(CloseReason::Reset)
            )
        );
    }

    #[test]
    fn a_request_to_start_over_from_before_the_open_conversation_does_not_end_it() {
        let today = open(30);
        let p = place(&arrival("start over", 28), known(None, Some(&today)), IDLE);
        assert_eq!(decided(p), (None, Target::Existing(today.id), None));
    }

    #[test]
    fn a_reset_phrase_closes_after_the_message() {
        let s = open(0);
        let p = place(&arrival("Start over!", 1), known(None, Some(&s)), IDLE);
        assert_eq!(p.target, Target::Existing(s.id));
        assert_eq!(p.close_after, Some(CloseReason::Reset));
        let p = place(&arrival("אפשר מהתחלה?", 1), known(None, Some(&s)), IDLE);
        assert_eq!(p.close_after, Some(CloseReason::Reset));
    }

    #[test]
    fn only_customers_reset() {
        let s = open(0);
        let mut a = arrival("reset", 1);
        a.role = MessageRole::Agent;
        assert_eq!(place(&a, known(None, Some(&s)), IDLE).close_after, None);
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
            assert!(
                is_reset_phrase(asked, &ResetPhrases::new(phrases())),
                "{asked:?} should reset"
            );
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
                !is_reset_phrase(other, &ResetPhrases::new(phrases())),
                "{other:?} should not reset"
            );
        }
    }

    #[test]
    fn a_tenants_own_phrases_follow_the_same_rule() {
        let own = ResetPhrases::new(["New Trip", "  "]);
        assert!(is_reset_phrase("I want a new trip, please", &own));
        assert!(!is_reset_phrase("new trip to Paris", &own));
        assert!(!is_reset_phrase("start over", &own));
    }

    #[test]
    fn session_refs_name_their_session() {
        let call = closed_call(CloseReason::CallEnded);
        let a = call_turn("transcript", 90, "CA1");
        for other in [None, Some(&open(80))] {
            let p = place(&a, known(Some(&call), other), IDLE);
            assert_eq!(p.target, Target::Existing(call.id));
            assert_eq!(p.close_first, None);
            assert_eq!(p.close_after, None, "a closed call is not closed again");
        }
    }

    #[test]
    fn a_call_closed_while_on_hold_gets_its_next_line() {
        // Whether it goes on, open again, is the caller's to settle (as for any late message).
        let on_hold = closed_call(CloseReason::IdleTimeout);
        let a = call_turn("sorry, I'm back", 25, "CA1");
        for other in [None, Some(&open(20))] {
            let p = place(&a, known(Some(&on_hold), other), IDLE);
            assert_eq!(decided(p), (None, Target::Existing(on_hold.id), None));
        }
        // A reset there stays with it.
        let reset = call_turn("start over", 25, "CA1");
        let p = place(&reset, known(Some(&on_hold), None), IDLE);
        assert_eq!(p.close_after, Some(CloseReason::Reset));
    }

    #[test]
    fn after_a_reset_the_rest_of_the_call_is_a_new_conversation() {
        let reset = closed_call(CloseReason::Reset);
        let a = call_turn("I want to book a table", 1, "CA1");
        let p = place(&a, known(Some(&reset), None), IDLE);
        assert_eq!((p.target, p.close_first), (Target::New, None));
        // The turns after it join that conversation; it is not superseded by its own call.
        let fresh = open(1);
        let p = place(&a, known(Some(&reset), Some(&fresh)), IDLE);
        assert_eq!(
            (p.target, p.close_first),
            (Target::Existing(fresh.id), None)
        );
    }

    #[test]
    fn a_new_call_supersedes_the_open_one() {
        let s = open(0);
        let a = call_turn("hello", 3, "CA2");
        let p = place(&a, known(None, Some(&s)), IDLE);
        assert_eq!(p.close_first, Some((s.id, CloseReason::Superseded)));
        assert_eq!(p.target, Target::New);
    }
}
