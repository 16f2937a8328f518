//! What the product says in each locale: the fixed wording of the context and the summary.
//!
//! One file per locale fills [`Wording`]; a new locale is a file here and an arm in
//! [`wording`]. Reading what customers write in a language is [`super::text`]'s job.

use chrono::{DateTime, Utc};

use super::classify::Intent;
use super::profile::{KnownKey, Source};
use super::summarize::Sentiment;
use super::{Channel, Locale, MessageRole, NoteKind};

mod en;
mod he;

/// The wording of `locale`.
pub(crate) fn wording(locale: Locale) -> &'static Wording {
    match locale {
        Locale::En => &en::WORDING,
        Locale::He => &he::WORDING,
    }
}

/// Every fixed string the product shows in one locale.
pub(crate) struct Wording {
    /// Who wrote a message, indexed like [`MessageRole::ALL`].
    pub(crate) roles: [&'static str; 4],
    pub(crate) context: ContextWording,
    pub(crate) summary: SummaryWording,
}

impl Wording {
    pub(crate) fn role(&self, role: MessageRole) -> &'static str {
        match role {
            MessageRole::Customer => self.roles[0],
            MessageRole::Agent => self.roles[1],
            MessageRole::Staff => self.roles[2],
            MessageRole::System => self.roles[3],
        }
    }
}

/// The memory context's headings and labels (`context::render`).
pub(crate) struct ContextWording {
    pub(crate) title: &'static str,
    pub(crate) for_customer: &'static str,
    pub(crate) channel_label: &'static str,
    pub(crate) profile: &'static str,
    pub(crate) returning: &'static str,
    pub(crate) opening: &'static str,
    pub(crate) last_conversation: &'static str,
    pub(crate) notes: &'static str,
    pub(crate) pinned: &'static str,
    pub(crate) by: &'static str,
    pub(crate) current_conversation: &'static str,
    /// The heading of the lead's past moments most relevant to the latest message (search).
    pub(crate) relevant: &'static str,
    /// Indexed like [`Channel::ALL`].
    pub(crate) channels: [&'static str; 5],
    /// Indexed like [`Source::ALL`].
    pub(crate) sources: [&'static str; 4],
    /// Indexed like [`KnownKey::ALL`].
    pub(crate) keys: [&'static str; 10],
    /// The keys the built-in extractor adds beyond the well-known ones, indexed like
    /// [`EXTRACTED_KEYS`].
    pub(crate) extracted_keys: [&'static str; 5],
    pub(crate) call_summary: &'static str,
    pub(crate) system_note: &'static str,
    /// "Do you want to continue where we left off, or start fresh?", greeting the customer by
    /// first name when there is one.
    pub(crate) suggested_opening: fn(Option<&str>) -> String,
    /// The line that stands for the `n` oldest messages left out to fit the budget.
    pub(crate) omitted: fn(usize) -> String,
    /// "5 minutes ago".
    pub(crate) ago: fn(Ago) -> String,
    /// A time too far from now to say how long ago: "on 2025-03-12".
    pub(crate) on_date: fn(DateTime<Utc>) -> String,
}

/// Profile keys the built-in extractor fills that are not [`KnownKey`]s (see
/// `extract::FactKey`); each locale labels them in [`ContextWording::extracted_keys`].
pub(crate) const EXTRACTED_KEYS: [&str; 5] = [
    "bedrooms",
    "rooms",
    "pets",
    "move_in",
    "property_of_interest",
];

/// How long ago something happened, in the unit the memory context says it in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ago {
    JustNow,
    Minutes(i64),
    Hours(i64),
    Days(i64),
}

impl ContextWording {
    pub(crate) fn channel(&self, channel: Channel) -> &'static str {
        self.channels[channel_index(channel)]
    }

    pub(crate) fn source(&self, source: Source) -> &'static str {
        match source {
            Source::Manual => self.sources[0],
            Source::Import => self.sources[1],
            Source::Channel => self.sources[2],
            Source::Ai => self.sources[3],
        }
    }

    pub(crate) fn key(&self, key: KnownKey) -> &'static str {
        match key {
            KnownKey::Name => self.keys[0],
            KnownKey::Email => self.keys[1],
            KnownKey::Phone => self.keys[2],
            KnownKey::City => self.keys[3],
            KnownKey::PreferredCurrency => self.keys[4],
            KnownKey::PreferredLanguage => self.keys[5],
            KnownKey::Interests => self.keys[6],
            KnownKey::ServiceInterest => self.keys[7],
            KnownKey::Preferences => self.keys[8],
            KnownKey::Budget => self.keys[9],
        }
    }

    /// The label of any profile key: a well-known or extracted key in this locale, any other
    /// (tenant-defined) key as it is spelled.
    pub(crate) fn key_label<'a>(&self, key: &'a str) -> &'a str {
        if let Some(known) = KnownKey::parse(key) {
            return self.key(known);
        }
        EXTRACTED_KEYS
            .iter()
            .position(|k| *k == key)
            .map_or(key, |i| self.extracted_keys[i])
    }

    /// The label a note carries before its time; plain notes carry none.
    pub(crate) fn note_kind(&self, kind: NoteKind) -> Option<&'static str> {
        match kind {
            NoteKind::Note => None,
            NoteKind::CallSummary => Some(self.call_summary),
            NoteKind::System => Some(self.system_note),
        }
    }
}

/// The built-in summary's sentences and labels (`summarize::summarize`).
pub(crate) struct SummaryWording {
    /// What the conversation was, indexed like [`Channel::ALL`].
    pub(crate) channels: [&'static str; 5],
    pub(crate) about: &'static str,
    pub(crate) with_customer: &'static str,
    /// Joins the last item of a list to the others.
    pub(crate) and: &'static str,
    pub(crate) outcome_label: &'static str,
    /// Booked, resolved, pending, complained.
    pub(crate) outcomes: [&'static str; 4],
    pub(crate) pending_promise: &'static str,
    pub(crate) pending_question: &'static str,
    pub(crate) promised: &'static str,
    /// In [`Intent`] declaration order: the opening line's phrase and the key point's word.
    pub(crate) topics: [(&'static str, &'static str); 10],
    pub(crate) topics_label: &'static str,
    pub(crate) products_label: &'static str,
    pub(crate) amounts_label: &'static str,
    pub(crate) dates_label: &'static str,
    pub(crate) sentiment_label: &'static str,
    /// Indexed like [`Sentiment::ALL`].
    pub(crate) sentiments: [&'static str; 4],
    /// Products by the classifier's canonical name; one not listed reads as that name with
    /// spaces ("car rental").
    pub(crate) products: &'static [(&'static str, &'static str)],
    pub(crate) next_steps: NextSteps,
}

/// What should happen after a conversation when nobody promised anything specific.
pub(crate) struct NextSteps {
    pub(crate) confirm_booking: DatedStep,
    pub(crate) confirm_new_date: DatedStep,
    pub(crate) follow_up_booking: DatedStep,
    pub(crate) follow_up_date: DatedStep,
}

/// A next step, said with the date it is about or without one.
pub(crate) struct DatedStep {
    pub(crate) dated: fn(&str) -> String,
    pub(crate) undated: &'static str,
}

impl DatedStep {
    pub(crate) fn say(&self, date: Option<&str>) -> String {
        match date {
            Some(date) => (self.dated)(date),
            None => self.undated.to_owned(),
        }
    }
}

impl SummaryWording {
    pub(crate) fn channel(&self, channel: Channel) -> &'static str {
        self.channels[channel_index(channel)]
    }

    fn topic_entry(&self, intent: Intent) -> (&'static str, &'static str) {
        let index = match intent {
            Intent::Greeting => 0,
            Intent::ProductInquiry => 1,
            Intent::Pricing => 2,
            Intent::CurrencyConversion => 3,
            Intent::Booking => 4,
            Intent::Reschedule => 5,
            Intent::SupportRequest => 6,
            Intent::Complaint => 7,
            Intent::Goodbye => 8,
            Intent::Other => 9,
        };
        self.topics[index]
    }

    pub(crate) fn topic(&self, intent: Intent) -> &'static str {
        self.topic_entry(intent).0
    }

    pub(crate) fn topic_short(&self, intent: Intent) -> &'static str {
        self.topic_entry(intent).1
    }

    /// A product as a reader says it: "car rental", "השכרת רכב".
    pub(crate) fn product(&self, product: &str) -> String {
        match self.products.iter().find(|(p, _)| *p == product) {
            Some((_, name)) => (*name).to_owned(),
            None => product.replace('_', " "),
        }
    }

    pub(crate) fn sentiment(&self, sentiment: Sentiment) -> &'static str {
        match sentiment {
            Sentiment::Positive => self.sentiments[0],
            Sentiment::Neutral => self.sentiments[1],
            Sentiment::Negative => self.sentiments[2],
            Sentiment::Mixed => self.sentiments[3],
        }
    }

    /// "a and b", "a, b and c" (Hebrew: "א, ב וג").
    pub(crate) fn and_list(&self, items: &[&str]) -> String {
        match items {
            [] => String::new(),
            [one] => (*one).to_owned(),
            [rest @ .., last] => format!("{}{}{last}", rest.join(", "), self.and),
        }
    }
}

/// Where `channel` sits in [`Channel::ALL`], and so in every table indexed like it.
fn channel_index(channel: Channel) -> usize {
    match channel {
        Channel::Whatsapp => 0,
        Channel::Call => 1,
        Channel::Web => 2,
        Channel::Sms => 3,
        Channel::Email => 4,
    }
}
