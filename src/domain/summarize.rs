//! The built-in summarizer: a deterministic extractive summary of a closed conversation (the
//! most informative customer and agent sentences, the intents, the outcome) and its facts.
//! It is the default provider with no LLM configured, and the fallback when the LLM fails.

use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::classify::{Classification, Intent, classify};
use super::dialogue::{self, Asked};
use super::extract::Fact;
use super::locale::{SummaryWording, wording};
use super::text::hebrew::{self, without_prefixes};
use super::vocabulary::vocabulary;
use super::{Channel, Locale, MessageRole};

vocabulary! {
    /// How the customer felt overall.
    Sentiment {
        Positive => "positive",
        Neutral => "neutral",
        Negative => "negative",
        Mixed => "mixed",
    }
}

/// One message of the conversation to summarize, oldest first.
#[derive(Debug, Clone, PartialEq)]
pub struct TranscriptMessage {
    pub id: Uuid,
    pub role: MessageRole,
    pub content: String,
    pub at: DateTime<Utc>,
}

/// A fact learned from the conversation, with the messages that show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SummaryFact {
    /// A profile key (`snake_case`).
    pub key: String,
    pub value: String,
    pub confidence: f64,
    #[serde(default)]
    pub evidence: Vec<Uuid>,
}

/// A summary from any provider (the LLM's strict JSON parses into this too).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SummaryDraft {
    /// 5–10 lines, in the conversation's language.
    pub summary: String,
    #[serde(default)]
    pub key_points: Vec<String>,
    #[serde(default)]
    pub facts: Vec<SummaryFact>,
    #[serde(default)]
    pub intents: Vec<Intent>,
    pub sentiment: Sentiment,
    /// ISO 639-1.
    #[serde(default)]
    pub language: Option<String>,
    #[serde(default)]
    pub next_step: Option<String>,
}

/// Summarizes a conversation without an LLM. `default_region` parses national phone numbers in
/// facts; each message's own date resolves its relative dates ("tomorrow").
pub fn summarize(
    channel: Channel,
    messages: &[TranscriptMessage],
    default_region: &str,
) -> SummaryDraft {
    if messages.is_empty() {
        return SummaryDraft {
            summary: format!(
                "{}: no messages.",
                wording(Locale::En).summary.channel(channel)
            ),
            key_points: Vec::new(),
            facts: Vec::new(),
            intents: Vec::new(),
            sentiment: Sentiment::Neutral,
            language: None,
            next_step: None,
        };
    }

    let analyzed: Vec<Analyzed<'_>> = messages.iter().map(Analyzed::new).collect();
    let language = dominant_language(&analyzed);
    let locale = language.and_then(Locale::from_tag).unwrap_or(Locale::En);
    let locale_words = wording(locale);
    let words = &locale_words.summary;

    let intents = customer_intents(&analyzed);
    let sentiment = sentiment(&analyzed);
    let outcome = outcome(&analyzed, &intents);
    let sentences = sentences(&analyzed);
    let promise = sentences
        .iter()
        .rev()
        .find(|s| s.role != MessageRole::Customer && s.promise)
        .map(|s| s.text);
    let products = products(&analyzed);

    let mut lines = vec![opening_line(words, channel, &intents, &products)];
    for sentence in pick(&sentences) {
        lines.push(format!(
            "{}: {}",
            locale_words.role(sentence.role),
            clip(sentence.text, QUOTE_CHARS)
        ));
    }
    lines.push(outcome_line(words, outcome, promise.is_some(), &analyzed));

    let next_step = next_step(words, &analyzed, &intents, outcome, promise);
    let key_points = key_points(words, &analyzed, &intents, &products, outcome, sentiment);

    SummaryDraft {
        summary: lines.join("\n"),
        key_points,
        facts: facts(&analyzed, default_region),
        intents,
        sentiment,
        language: language.map(str::to_owned),
        next_step,
    }
}

/// Longest quoted sentence, in characters.
const QUOTE_CHARS: usize = 200;

/// Quoted sentences per summary; with the opening and outcome lines the summary stays ≤ 9 lines.
const MAX_QUOTES: usize = 7;
const MAX_CUSTOMER_QUOTES: usize = 5;
const MAX_AGENT_QUOTES: usize = 4;
/// Quotes worth having even when they score low, so a real conversation gets ≥ 5 lines.
const MIN_QUOTES: usize = 3;
/// Below this score a sentence only makes it in to reach [`MIN_QUOTES`].
const GOOD_SCORE: f64 = 1.0;

/// One message with what is known about it, computed once.
struct Analyzed<'a> {
    message: &'a TranscriptMessage,
    /// `None` for empty messages, which the classifier has nothing to say about.
    classification: Option<Classification>,
    lower: String,
    /// Lexicon hits in the whole message.
    scan: Scan,
}

impl<'a> Analyzed<'a> {
    fn new(message: &'a TranscriptMessage) -> Self {
        let content = message.content.trim();
        let classification =
            (!content.is_empty()).then(|| classify(content, message.at.date_naive()));
        let lower = lowered(content);
        let scan = Scan::of(&terms_of(&lower));
        Self {
            message,
            classification,
            lower,
            scan,
        }
    }

    fn role(&self) -> MessageRole {
        self.message.role
    }

    fn is_customer(&self) -> bool {
        self.message.role == MessageRole::Customer
    }

    /// Agents and staff answer the customer; system messages are bookkeeping.
    fn is_answer(&self) -> bool {
        matches!(self.message.role, MessageRole::Agent | MessageRole::Staff)
    }

    fn intent(&self) -> Intent {
        self.classification
            .as_ref()
            .map_or(Intent::Other, |c| c.intent)
    }
}

/// The language most of the customer's text is in (by characters); everyone's text when the
/// customer's says nothing. Ties go to the language seen first.
fn dominant_language(analyzed: &[Analyzed<'_>]) -> Option<&'static str> {
    let tally = |customer_only: bool| {
        let mut weights: Vec<(&'static str, usize)> = Vec::new();
        for a in analyzed
            .iter()
            .filter(|a| !customer_only || a.is_customer())
        {
            let Some(lang) = a.classification.as_ref().and_then(|c| c.language) else {
                continue;
            };
            let weight = a.message.content.chars().count();
            match weights.iter_mut().find(|(l, _)| *l == lang) {
                Some((_, w)) => *w += weight,
                None => weights.push((lang, weight)),
            }
        }
        // `max_by_key` keeps the last of equals; reversing keeps the first seen.
        weights
            .into_iter()
            .rev()
            .max_by_key(|&(_, w)| w)
            .map(|(l, _)| l)
    };
    tally(true).or_else(|| tally(false))
}

/// Distinct intents of customer messages, without `other`, most frequent first (ties: the one
/// that came up first).
fn customer_intents(analyzed: &[Analyzed<'_>]) -> Vec<Intent> {
    let mut counts: Vec<(Intent, usize)> = Vec::new();
    for intent in analyzed
        .iter()
        .filter(|a| a.is_customer())
        .map(Analyzed::intent)
        .filter(|&i| i != Intent::Other)
    {
        match counts.iter_mut().find(|(i, _)| *i == intent) {
            Some((_, n)) => *n += 1,
            None => counts.push((intent, 1)),
        }
    }
    // A stable sort keeps first-mention order among equals.
    counts.sort_by_key(|&(_, n)| std::cmp::Reverse(n));
    counts.into_iter().map(|(i, _)| i).collect()
}

/// Intents that say what the customer came for (greetings and goodbyes do not).
fn is_topic(intent: Intent) -> bool {
    !matches!(intent, Intent::Greeting | Intent::Goodbye | Intent::Other)
}

/// Products the customer mentioned (the agent's when the customer named none), most frequent
/// first, at most three.
fn products(analyzed: &[Analyzed<'_>]) -> Vec<String> {
    let tally = |customer: bool| {
        let mut counts: Vec<(&str, usize)> = Vec::new();
        for a in analyzed.iter().filter(|a| a.is_customer() == customer) {
            let Some(c) = &a.classification else {
                continue;
            };
            for product in &c.entities.products {
                match counts.iter_mut().find(|(p, _)| p == product) {
                    Some((_, n)) => *n += 1,
                    None => counts.push((product, 1)),
                }
            }
        }
        counts.sort_by_key(|&(_, n)| std::cmp::Reverse(n));
        counts
            .into_iter()
            .take(3)
            .map(|(p, _)| p.to_owned())
            .collect::<Vec<_>>()
    };
    let customer = tally(true);
    if customer.is_empty() {
        tally(false)
    } else {
        customer
    }
}

fn sentiment(analyzed: &[Analyzed<'_>]) -> Sentiment {
    let (mut positive, mut negative) = (0.0_f64, 0.0_f64);
    for a in analyzed.iter().filter(|a| a.is_customer()) {
        let (pos, negated) = a.scan.count(Kind::Positive);
        let (neg, _) = a.scan.count(Kind::Negative);
        positive += pos as f64;
        negative += (neg + negated) as f64;
        if a.intent() == Intent::Complaint {
            negative += 2.0;
        }
    }
    let (low, high) = if positive < negative {
        (positive, negative)
    } else {
        (negative, positive)
    };
    if low >= 2.0 && low * 2.0 >= high {
        Sentiment::Mixed
    } else if negative > positive {
        Sentiment::Negative
    } else if positive > negative {
        Sentiment::Positive
    } else {
        Sentiment::Neutral
    }
}

/// How the conversation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Booked,
    Resolved,
    Pending,
    Complained,
}

impl Outcome {
    /// How `words` say it.
    fn said(self, words: &SummaryWording) -> &'static str {
        let [booked, resolved, pending, complained] = words.outcomes;
        match self {
            Outcome::Booked => booked,
            Outcome::Resolved => resolved,
            Outcome::Pending => pending,
            Outcome::Complained => complained,
        }
    }
}

fn outcome(analyzed: &[Analyzed<'_>], intents: &[Intent]) -> Outcome {
    let recent_answers: Vec<&Analyzed<'_>> = analyzed
        .iter()
        .rev()
        .filter(|a| a.is_answer())
        .take(2)
        .collect();
    let last_customer = analyzed.iter().rev().find(|a| a.is_customer());

    let confirmed = recent_answers.iter().any(|a| a.scan.any(Kind::Confirmed));
    let fixed = recent_answers.iter().any(|a| a.scan.any(Kind::Fixed));
    // "Thanks" after "I'll send it within the hour" is politeness: the work is still open.
    let promised = recent_answers
        .first()
        .is_some_and(|a| a.scan.any(Kind::Promise));

    let (customer_closed, customer_upset) = last_customer.map_or((false, false), |c| {
        let negative = c.scan.count(Kind::Negative).0 > 0;
        let complaint = c.intent() == Intent::Complaint;
        let closed = c.scan.any(Kind::Closure) && !c.lower.contains('?') && !complaint && !negative;
        (closed, complaint || negative)
    });
    let booking_talk = intents
        .iter()
        .any(|i| matches!(i, Intent::Booking | Intent::Reschedule))
        || recent_answers
            .iter()
            .any(|a| matches!(a.intent(), Intent::Booking | Intent::Reschedule));
    let resolved = fixed || (customer_closed && !promised);

    if confirmed && booking_talk {
        Outcome::Booked
    } else if customer_upset || (intents.contains(&Intent::Complaint) && !resolved) {
        Outcome::Complained
    } else if resolved || confirmed {
        Outcome::Resolved
    } else {
        Outcome::Pending
    }
}

/// A sentence of the conversation, quoted as written.
struct Sentence<'a> {
    text: &'a str,
    /// Lowercase, to spot the same words said twice.
    lower: String,
    role: MessageRole,
    /// Position in the conversation: summaries quote in order.
    order: usize,
    score: f64,
    filler: bool,
    /// An agent's promise to do something ("I'll send …", "אחזור אליך").
    promise: bool,
}

fn sentences<'a>(analyzed: &'a [Analyzed<'a>]) -> Vec<Sentence<'a>> {
    let mut out = Vec::new();
    for a in analyzed.iter().filter(|a| a.is_customer() || a.is_answer()) {
        let Some(classification) = &a.classification else {
            continue;
        };
        let texts = split_sentences(a.message.content.trim());
        let lowers: Vec<String> = texts.iter().map(|t| lowered(t)).collect();
        let terms: Vec<Vec<&str>> = lowers.iter().map(|l| terms_of(l)).collect();
        let fillers: Vec<bool> = terms.iter().map(|t| is_filler(t)).collect();
        let meaningful = fillers.iter().filter(|&&f| !f).count();
        for (i, &text) in texts.iter().enumerate() {
            let (lower, terms, filler) = (&lowers[i], &terms[i], fillers[i]);
            let scan = Scan::of(terms);
            let promise = a.is_answer() && scan.any(Kind::Promise);
            let score = if filler {
                -3.0
            } else {
                let sentence = SentenceText {
                    text,
                    lower,
                    terms,
                    scan: &scan,
                };
                score_sentence(&sentence, a, classification, meaningful == 1, promise)
            };
            out.push(Sentence {
                text,
                lower: lower.clone(),
                role: a.role(),
                order: out.len(),
                score,
                filler,
                promise,
            });
        }
    }
    out
}

/// One sentence in the forms the scoring looks at.
#[derive(Clone, Copy)]
struct SentenceText<'s> {
    /// As written.
    text: &'s str,
    lower: &'s str,
    terms: &'s [&'s str],
    scan: &'s Scan,
}

/// How much a sentence tells a reader who was not there.
fn score_sentence(
    sentence: &SentenceText<'_>,
    a: &Analyzed<'_>,
    classification: &Classification,
    only_meaningful: bool,
    promise: bool,
) -> f64 {
    let confidence = if classification.confidence.is_finite() {
        classification.confidence.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let intent_weight = match classification.intent {
        Intent::Booking | Intent::Reschedule => 2.0,
        Intent::Pricing
        | Intent::CurrencyConversion
        | Intent::ProductInquiry
        | Intent::SupportRequest
        | Intent::Complaint => 1.6,
        Intent::Greeting | Intent::Goodbye => -1.0,
        Intent::Other => 0.0,
    };
    let mut score = intent_weight * confidence;
    let SentenceText {
        text,
        lower,
        terms,
        scan,
    } = *sentence;

    // Entities: the message's own when this is its one meaningful sentence, otherwise what can
    // be seen in the sentence itself.
    let entities = &classification.entities;
    let has_digit = text.chars().any(|c| c.is_ascii_digit());
    let kinds = if only_meaningful {
        [
            !entities.products.is_empty(),
            !entities.amounts.is_empty(),
            !entities.currencies.is_empty(),
            !entities.dates.is_empty(),
        ]
    } else {
        [
            entities.products.iter().any(|p| mentions_product(lower, p)),
            !entities.amounts.is_empty() && has_digit,
            has_currency(lower, terms, scan, &entities.currencies),
            entities
                .dates
                .iter()
                .any(|d| !d.text.is_empty() && lower.contains(&d.text.to_lowercase())),
        ]
    };
    score += kinds.iter().filter(|&&k| k).count() as f64;
    if has_digit {
        score += 0.3;
    }
    if has_reference(text) {
        score += 1.0;
    }

    let words = text.split_whitespace().count();
    score += match words {
        0..=2 => -1.0,
        3..=4 => 0.0,
        5..=25 => 1.0,
        26..=40 => 0.5,
        _ => 0.0,
    };

    if a.is_customer() {
        // What the customer asks for is the heart of the summary.
        score += 0.5;
        if text.contains('?') {
            score += 0.5;
        }
    } else {
        if promise || scan.any(Kind::Confirmed) || scan.any(Kind::Fixed) {
            score += 1.5;
        }
        if has_digit {
            score += 0.5;
        } else if words <= 10 && scan.any(Kind::Boilerplate) {
            // "I'm sorry to hear that", "how can I help?": polite, not informative.
            score -= 2.0;
        }
    }
    score
}

/// A booking number, order id or flight number: a word with both letters and digits.
fn has_reference(text: &str) -> bool {
    text.split(|c: char| !is_word_char(c) && c != '-').any(|w| {
        w.chars().count() >= 4
            && w.chars().any(|c| c.is_ascii_digit())
            && w.chars().any(char::is_alphabetic)
    })
}

/// The quotes for the summary, in conversation order: the best customer sentence and the best
/// answer first, then the highest scores, within per-role caps.
fn pick<'s, 'a>(sentences: &'s [Sentence<'a>]) -> Vec<&'s Sentence<'a>> {
    let mut ranked: Vec<&Sentence<'a>> = sentences.iter().filter(|s| !s.filler).collect();
    ranked.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.order.cmp(&b.order)));
    let is_customer = |s: &Sentence<'_>| s.role == MessageRole::Customer;
    let good = |s: &Sentence<'_>| s.score >= GOOD_SCORE;

    let mut picked: Vec<&Sentence<'a>> = Vec::new();
    let best_customer = ranked.iter().find(|s| is_customer(s) && good(s));
    let best_answer = ranked.iter().find(|s| !is_customer(s) && good(s));
    let good_ones = ranked.iter().filter(|s| good(s));
    for &s in best_customer
        .into_iter()
        .chain(best_answer)
        .chain(good_ones)
    {
        try_pick(&mut picked, s);
    }
    for &s in &ranked {
        if picked.len() >= MIN_QUOTES {
            break;
        }
        try_pick(&mut picked, s);
    }
    picked.sort_by_key(|s| s.order);
    picked
}

/// Adds `s` unless the summary is full, its role is at its cap, or it repeats a quote.
fn try_pick<'s, 'a>(picked: &mut Vec<&'s Sentence<'a>>, s: &'s Sentence<'a>) {
    if picked.len() >= MAX_QUOTES
        || picked
            .iter()
            .any(|p| std::ptr::eq(*p, s) || p.lower == s.lower)
    {
        return;
    }
    let customer = s.role == MessageRole::Customer;
    let same_role = picked
        .iter()
        .filter(|p| (p.role == MessageRole::Customer) == customer)
        .count();
    let cap = if customer {
        MAX_CUSTOMER_QUOTES
    } else {
        MAX_AGENT_QUOTES
    };
    if same_role < cap {
        picked.push(s);
    }
}

fn opening_line(
    words: &SummaryWording,
    channel: Channel,
    intents: &[Intent],
    products: &[String],
) -> String {
    let topics: Vec<&str> = intents
        .iter()
        .filter(|&&i| is_topic(i))
        .take(2)
        .map(|&i| words.topic(i))
        .collect();
    let products: Vec<String> = products.iter().map(|p| words.product(p)).collect();
    let products: Vec<&str> = products.iter().map(String::as_str).collect();
    let mut line = words.channel(channel).to_owned();
    if topics.is_empty() && products.is_empty() {
        line.push_str(words.with_customer);
    } else if topics.is_empty() {
        line.push_str(words.about);
        line.push_str(&words.and_list(&products));
    } else {
        line.push_str(words.about);
        line.push_str(&words.and_list(&topics));
        if !products.is_empty() {
            line.push_str(&format!(" ({})", products.join(", ")));
        }
    }
    line.push('.');
    line
}

fn outcome_line(
    words: &SummaryWording,
    outcome: Outcome,
    promised: bool,
    analyzed: &[Analyzed<'_>],
) -> String {
    let mut line = format!("{}: {}", words.outcome_label, outcome.said(words));
    if outcome == Outcome::Pending {
        let last = analyzed
            .iter()
            .rev()
            .find(|a| a.is_customer() || a.is_answer());
        if promised {
            line.push_str(words.pending_promise);
        } else if last.is_some_and(|a| a.is_customer() && a.lower.contains('?')) {
            line.push_str(words.pending_question);
        }
    }
    line.push('.');
    line
}

fn next_step(
    words: &SummaryWording,
    analyzed: &[Analyzed<'_>],
    intents: &[Intent],
    outcome: Outcome,
    promise: Option<&str>,
) -> Option<String> {
    if let Some(promise) = promise {
        return Some(format!("{}: {}", words.promised, clip(promise, 160)));
    }
    let date = date_sources(analyzed)
        .rev()
        .find_map(|c| c.entities.dates.last())
        .map(|d| match d.date {
            Some(date) if date.format("%Y-%m-%d").to_string() != d.text.trim() => {
                format!("{} ({})", d.text.trim(), date.format("%Y-%m-%d"))
            }
            _ => d.text.trim().to_owned(),
        })
        .filter(|d| !d.is_empty());
    let steps = &words.next_steps;
    let step = if outcome == Outcome::Booked {
        &steps.confirm_booking
    } else if intents.contains(&Intent::Reschedule) {
        &steps.confirm_new_date
    } else if intents.contains(&Intent::Booking) {
        &steps.follow_up_booking
    } else if date.is_some() {
        &steps.follow_up_date
    } else {
        return None;
    };
    Some(step.say(date.as_deref()))
}

/// Classifications of the customer's messages when any of them mentions a date, otherwise of
/// every message, oldest first.
fn date_sources<'s>(
    analyzed: &'s [Analyzed<'_>],
) -> impl DoubleEndedIterator<Item = &'s Classification> {
    let customer_dated = analyzed.iter().any(|a| {
        a.is_customer()
            && a.classification
                .as_ref()
                .is_some_and(|c| !c.entities.dates.is_empty())
    });
    analyzed
        .iter()
        .filter(move |a| a.is_customer() || !customer_dated)
        .filter_map(|a| a.classification.as_ref())
}

fn key_points(
    words: &SummaryWording,
    analyzed: &[Analyzed<'_>],
    intents: &[Intent],
    products: &[String],
    outcome: Outcome,
    sentiment: Sentiment,
) -> Vec<String> {
    let mut points = Vec::new();
    let topics: Vec<&str> = intents
        .iter()
        .filter(|&&i| is_topic(i))
        .map(|&i| words.topic_short(i))
        .collect();
    if !topics.is_empty() {
        points.push(format!("{}: {}", words.topics_label, topics.join(", ")));
    }
    if !products.is_empty() {
        let names: Vec<String> = products.iter().map(|p| words.product(p)).collect();
        points.push(format!("{}: {}", words.products_label, names.join(", ")));
    }

    let mut amounts: Vec<String> = Vec::new();
    for c in analyzed.iter().filter_map(|a| a.classification.as_ref()) {
        for amount in &c.entities.amounts {
            let text = format_amount(amount.value, amount.currency.as_deref());
            if !text.is_empty() && !amounts.contains(&text) && amounts.len() < 4 {
                amounts.push(text);
            }
        }
    }
    // The customer's dates are the ones that matter; an agent's "today" is small talk.
    let mut dates: Vec<String> = Vec::new();
    for c in date_sources(analyzed) {
        for date in &c.entities.dates {
            let text = match date.date {
                Some(d) => format!("{} ({})", date.text.trim(), d.format("%Y-%m-%d")),
                None => date.text.trim().to_owned(),
            };
            if !date.text.trim().is_empty() && !dates.contains(&text) && dates.len() < 4 {
                dates.push(text);
            }
        }
    }
    if !amounts.is_empty() {
        points.push(format!("{}: {}", words.amounts_label, amounts.join(", ")));
    }
    if !dates.is_empty() {
        points.push(format!("{}: {}", words.dates_label, dates.join(", ")));
    }
    points.push(format!("{}: {}", words.outcome_label, outcome.said(words)));
    if points.len() < 2 || (sentiment != Sentiment::Neutral && points.len() < 6) {
        points.push(format!(
            "{}: {}",
            words.sentiment_label,
            words.sentiment(sentiment)
        ));
    }
    points.truncate(6);
    points
}

fn format_amount(value: f64, currency: Option<&str>) -> String {
    if !value.is_finite() {
        return String::new();
    }
    let number = if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{value:.0}")
    } else {
        format!("{value:.2}")
    };
    match currency {
        Some(code) if !code.trim().is_empty() => format!("{number} {}", code.trim()),
        _ => number,
    }
}

/// Facts from every customer message, one per key and value, with every message that shows it.
///
/// Each message is read as the answer to the agent's question before it (the reader ingest
/// uses); the whole transcript also shows what single messages cannot: a last name that
/// completes the first name given before, and details the agent read back that the customer
/// confirmed.
fn facts(analyzed: &[Analyzed<'_>], default_region: &str) -> Vec<SummaryFact> {
    let mut facts: Vec<SummaryFact> = Vec::new();
    let mut asked = Asked::NOTHING;
    let mut previous: Option<&Analyzed<'_>> = None;
    for a in analyzed {
        let Some(classification) = &a.classification else {
            continue;
        };
        if !a.is_customer() {
            asked = Asked::of_agent_message(a.message.content.trim());
            previous = Some(a);
            continue;
        }
        let reading = dialogue::read(
            a.message.content.trim(),
            classification,
            default_region,
            Some(a.message.at.date_naive()),
        );
        let mut found = reading.facts(asked);
        if asked.contains(Asked::SURNAME)
            && let Some(surname) = reading.surname()
            && let Some(first) = facts
                .iter()
                .rev()
                .find(|f| f.key == "name" && !f.value.contains(' '))
        {
            found.push(Fact {
                key: super::profile::KnownKey::Name.into(),
                value: format!("{} {surname}", first.value),
                confidence: 0.85,
            });
        }
        if reading.confirms()
            && let Some(agent) = previous
            && let Some(said) = &agent.classification
        {
            found.extend(dialogue::confirmed_read_back(
                agent.message.content.trim(),
                said,
                default_region,
            ));
        }
        previous = None;
        for fact in found {
            let key = fact.key.as_str();
            let confidence = if fact.confidence.is_finite() {
                fact.confidence.clamp(0.0, 1.0)
            } else {
                0.0
            };
            match facts
                .iter_mut()
                .find(|f| f.key == key && f.value == fact.value)
            {
                Some(existing) => {
                    existing.confidence = existing.confidence.max(confidence);
                    if !existing.evidence.contains(&a.message.id) {
                        existing.evidence.push(a.message.id);
                    }
                }
                None => facts.push(SummaryFact {
                    key: key.to_owned(),
                    value: fact.value,
                    confidence,
                    evidence: vec![a.message.id],
                }),
            }
        }
    }
    facts
}

/// Sentences of a message as written: split after `.`, `!`, `?` (and their Hebrew, Arabic and
/// CJK kin) followed by a space, and at line breaks. "3.5" and "example.com" stay whole.
fn split_sentences(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let end = match c {
            '\n' | '\r' | '\u{0B}' | '\u{0C}' | '\u{85}' | '\u{2028}' | '\u{2029}' => Some(i),
            '.' | '!' | '?' | '…' | '׃' | '؟' | '。' | '！' | '？' => {
                // A run of terminators ("?!", "...") ends one sentence.
                let mut end = i + c.len_utf8();
                while let Some(&(j, next)) = chars.peek() {
                    if matches!(next, '.' | '!' | '?' | '…' | '"' | '\'' | ')' | '״') {
                        end = j + next.len_utf8();
                        chars.next();
                    } else {
                        break;
                    }
                }
                let ascii = c.is_ascii();
                let at_break = chars.peek().is_none_or(|&(_, next)| next.is_whitespace());
                (!ascii || at_break).then_some(end)
            }
            _ => None,
        };
        if let Some(end) = end {
            push_sentence(&mut out, &text[start..end]);
            // A line break ends the sentence before it; a terminator ends it after itself.
            start = if end == i { i + c.len_utf8() } else { end };
        }
    }
    push_sentence(&mut out, &text[start..]);
    out
}

fn push_sentence<'a>(out: &mut Vec<&'a str>, sentence: &'a str) {
    let sentence = sentence.trim();
    if sentence.chars().any(is_word_char) {
        out.push(sentence);
    }
}

/// `text` cut to at most `max` characters, at a word boundary when one is near, ending in "…".
fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let end = text
        .char_indices()
        .nth(max.saturating_sub(1))
        .map_or(text.len(), |(i, _)| i);
    let head = &text[..end];
    let cut = head
        .char_indices()
        .rev()
        .take(40)
        .find(|(_, c)| c.is_whitespace())
        .map_or(head, |(i, _)| &head[..i]);
    format!("{}…", cut.trim_end())
}

/// Greetings, thanks and acknowledgements: they tell a reader nothing.
fn is_filler(terms: &[&str]) -> bool {
    let filler_word = |w: &str| {
        INDEX.filler.contains(w)
            || w.strip_prefix('ו')
                .is_some_and(|rest| INDEX.filler.contains(rest))
    };
    match terms.first() {
        None => true,
        Some(first) => {
            terms.iter().all(|w| filler_word(w))
                || (terms.len() <= 3 && SALUTATIONS.contains(first))
        }
    }
}

fn mentions_product(lower: &str, product: &str) -> bool {
    let name = product.replace('_', " ");
    let stem = name.strip_suffix('s').unwrap_or(&name);
    (stem.chars().count() >= 3 && lower.contains(stem))
        || PRODUCT_STEMS
            .iter()
            .find(|(p, _)| *p == product)
            .is_some_and(|(_, he_stem)| lower.contains(he_stem))
}

fn has_currency(lower: &str, terms: &[&str], scan: &Scan, currencies: &[String]) -> bool {
    lower.contains(['₪', '$', '€', '£'])
        || scan.any(Kind::Currency)
        || currencies
            .iter()
            .any(|c| terms.iter().any(|t| t.eq_ignore_ascii_case(c)))
}

/// A letter or digit; Hebrew and ASCII are answered without Unicode table lookups.
fn is_word_char(c: char) -> bool {
    if c.is_ascii() {
        c.is_ascii_alphanumeric()
    } else {
        hebrew::in_alphabet(c) || c.is_alphanumeric()
    }
}

/// Lowercase, with typographic apostrophes made plain so "I’ll" reads as "i'll".
fn lowered(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            _ if c.is_ascii() => out.push(c.to_ascii_lowercase()),
            '\u{2019}' => out.push('\''),
            // Hebrew has no case.
            '\u{0590}'..='\u{05FF}' => out.push(c),
            _ => out.extend(c.to_lowercase()),
        }
    }
    out
}

/// The words of `lower` for lexicon lookups: runs of letters and digits, keeping apostrophes and
/// Hebrew quote marks between letters ("i'll", "ש״ח").
fn terms_of(lower: &str) -> Vec<&str> {
    let mut terms = Vec::new();
    let mut start: Option<usize> = None;
    let mut chars = lower.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if is_word_char(c) {
            start.get_or_insert(i);
            continue;
        }
        let inside = start.is_some()
            && matches!(c, '\'' | '"' | '\u{05F3}' | '\u{05F4}')
            && chars.peek().is_some_and(|&(_, next)| is_word_char(next));
        if !inside && let Some(s) = start.take() {
            terms.push(&lower[s..i]);
        }
    }
    if let Some(s) = start {
        terms.push(&lower[s..]);
    }
    terms
}

fn is_negation(term: &str) -> bool {
    const NEGATIONS: &[&str] = &["not", "never", "no", "לא", "אל", "אינו", "אינני", "בלי"];
    NEGATIONS.contains(&term) || term.ends_with("n't") || without_prefixes(term).any(|t| t == "לא")
}

/// What a lexicon phrase is evidence of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Positive,
    Negative,
    /// An agent committing to do something later.
    Promise,
    /// An agent saying a booking is done.
    Confirmed,
    /// An agent saying a problem is solved.
    Fixed,
    /// A customer signing off content.
    Closure,
    /// What agents say to be polite rather than to inform.
    Boilerplate,
    Currency,
}

const KINDS: usize = 8;

/// A lexicon phrase, matched word by word against [`terms_of`]. A trailing `*` lets the last
/// word go on ("disappoint*" finds "disappointed"); a Hebrew phrase may carry up to two attached
/// prefixes ("ותודה" finds "תודה").
struct Phrase {
    kind: Kind,
    words: Vec<&'static str>,
    open_end: bool,
    hebrew: bool,
}

impl Phrase {
    fn parse(kind: Kind, phrase: &'static str) -> Option<Self> {
        let (body, open_end) = match phrase.strip_suffix('*') {
            Some(stem) => (stem, true),
            None => (phrase, false),
        };
        let words = terms_of(body);
        (!words.is_empty()).then(|| Phrase {
            kind,
            words,
            open_end,
            hebrew: body.starts_with(hebrew::is_letter),
        })
    }

    /// Whether the phrase's other words follow `terms[i]`, which matched its first word.
    fn rest_matches(&self, terms: &[&str], i: usize) -> bool {
        let n = self.words.len();
        i + n <= terms.len()
            && (1..n).all(|k| {
                if self.open_end && k + 1 == n {
                    terms[i + k].starts_with(self.words[k])
                } else {
                    terms[i + k] == self.words[k]
                }
            })
    }
}

/// Every lexicon, indexed by first word so a text is scanned once for all of them.
struct Index {
    phrases: Vec<Phrase>,
    /// Phrases by their exact first word.
    by_first: HashMap<&'static str, Vec<usize>>,
    /// One-word stems ("disappoint*"), tried against every word.
    stems: Vec<usize>,
    filler: HashSet<&'static str>,
}

static INDEX: LazyLock<Index> = LazyLock::new(|| {
    let lists: [(Kind, &[&'static str]); KINDS] = [
        (Kind::Positive, POSITIVE),
        (Kind::Negative, NEGATIVE),
        (Kind::Promise, PROMISES),
        (Kind::Confirmed, CONFIRMED),
        (Kind::Fixed, FIXED),
        (Kind::Closure, CLOSURE),
        (Kind::Boilerplate, BOILERPLATE),
        (Kind::Currency, CURRENCY_WORDS),
    ];
    let phrases: Vec<Phrase> = lists
        .iter()
        .flat_map(|&(kind, list)| list.iter().filter_map(move |p| Phrase::parse(kind, p)))
        .collect();
    let mut by_first: HashMap<&'static str, Vec<usize>> = HashMap::new();
    let mut stems = Vec::new();
    for (i, phrase) in phrases.iter().enumerate() {
        if phrase.open_end && phrase.words.len() == 1 {
            stems.push(i);
        } else {
            by_first.entry(phrase.words[0]).or_default().push(i);
        }
    }
    Index {
        phrases,
        by_first,
        stems,
        filler: FILLER_WORDS.iter().copied().collect(),
    }
});

/// Lexicon hits in one text: per [`Kind`], `(plain, negated)`, where negated hits follow "not",
/// "never", "לא" and the like ("not happy" is no praise).
#[derive(Debug, Clone, Default)]
struct Scan {
    counts: [(u16, u16); KINDS],
}

impl Scan {
    fn of(terms: &[&str]) -> Self {
        let index = &*INDEX;
        let mut scan = Scan::default();
        let mut matched: Vec<usize> = Vec::new();
        for (i, &term) in terms.iter().enumerate() {
            matched.clear();
            let is_hebrew = term.starts_with(hebrew::is_letter);
            let forms = std::iter::once(term).chain(without_prefixes(term).filter(|_| is_hebrew));
            for form in forms {
                let exact = index.by_first.get(form).into_iter().flatten().copied();
                let stems = index
                    .stems
                    .iter()
                    .copied()
                    .filter(|&p| form.starts_with(index.phrases[p].words[0]));
                for p in exact.chain(stems) {
                    let phrase = &index.phrases[p];
                    // Only Hebrew phrases may be found behind Hebrew prefixes.
                    let allowed = form.len() == term.len() || phrase.hebrew;
                    if allowed && !matched.contains(&p) && phrase.rest_matches(terms, i) {
                        matched.push(p);
                    }
                }
            }
            let negated = i > 0 && is_negation(terms[i - 1]);
            for &p in &matched {
                let slot = &mut scan.counts[index.phrases[p].kind as usize];
                if negated {
                    slot.1 = slot.1.saturating_add(1);
                } else {
                    slot.0 = slot.0.saturating_add(1);
                }
            }
        }
        scan
    }

    fn count(&self, kind: Kind) -> (usize, usize) {
        let (plain, negated) = self.counts[kind as usize];
        (usize::from(plain), usize::from(negated))
    }

    fn any(&self, kind: Kind) -> bool {
        let (plain, negated) = self.counts[kind as usize];
        plain > 0 || negated > 0
    }
}

const SALUTATIONS: &[&str] = &[
    "hi",
    "hello",
    "hey",
    "thanks",
    "thank",
    "thx",
    "bye",
    "goodbye",
    "שלום",
    "היי",
    "הי",
    "הלו",
    "תודה",
    "ביי",
    "להתראות",
];

const FILLER_WORDS: &[&str] = &[
    "hi",
    "hello",
    "hey",
    "hiya",
    "thanks",
    "thank",
    "you",
    "thx",
    "ty",
    "ok",
    "okay",
    "k",
    "sure",
    "great",
    "cool",
    "bye",
    "goodbye",
    "yes",
    "no",
    "yeah",
    "yep",
    "nope",
    "good",
    "morning",
    "afternoon",
    "evening",
    "night",
    "perfect",
    "awesome",
    "welcome",
    "please",
    "alright",
    "fine",
    "so",
    "much",
    "a",
    "lot",
    "very",
    "there",
    "all",
    "again",
    "for",
    "your",
    "help",
    "got",
    "it",
    "np",
    "lol",
    "have",
    "nice",
    "day",
    "see",
    "later",
    "how",
    "are",
    "שלום",
    "היי",
    "הי",
    "הלו",
    "תודה",
    "רבה",
    "אוקיי",
    "אוקי",
    "בסדר",
    "סבבה",
    "מעולה",
    "ביי",
    "להתראות",
    "כן",
    "לא",
    "יופי",
    "אחלה",
    "בוקר",
    "ערב",
    "לילה",
    "צהריים",
    "טוב",
    "נהדר",
    "מצוין",
    "בשמחה",
    "מה",
    "שלומך",
    "נשמע",
    "המון",
    "ממש",
    "על",
    "העזרה",
    "יום",
    "נעים",
    "מאוד",
    "רגע",
];

const POSITIVE: &[&str] = &[
    "thank*",
    "great",
    "perfect",
    "excellent",
    "amazing",
    "awesome",
    "love",
    "lovely",
    "happy",
    "wonderful",
    "appreciate*",
    "helpful",
    "glad",
    "fantastic",
    "pleased",
    "תודה",
    "תודות",
    "מעולה",
    "מצוין",
    "מצויין",
    "מושלם",
    "אחלה",
    "נהדר",
    "שמח*",
    "אוהב*",
    "מדהים*",
    "יופי",
    "סבבה",
    "כל הכבוד",
    "מרוצה",
    "מרוצים",
];

const NEGATIVE: &[&str] = &[
    "bad",
    "terrible",
    "awful",
    "worst",
    "angry",
    "upset",
    "disappoint*",
    "unacceptable",
    "horrible",
    "frustrat*",
    "annoy*",
    "ridiculous",
    "never again",
    "refund",
    "complain*",
    "waste",
    "poor",
    "rude",
    "broken",
    "unhappy",
    "still waiting",
    "scam",
    "furious",
    "useless",
    "גרוע*",
    "נורא*",
    "מאוכזב*",
    "אכזבה",
    "כועס*",
    "לא מקובל",
    "בושה",
    "שערורי*",
    "זוועה",
    "מתוסכל*",
    "החזר כספי",
    "תלונה",
    "להתלונן",
    "חצוף",
    "חצופה",
    "איום*",
    "לא טוב",
    "עדיין מחכה",
    "עדיין מחכים",
    "רמאות",
    "מעצבן",
    "מבאס",
    "לא עובד",
];

/// An agent committing to do something later.
const PROMISES: &[&str] = &[
    "i'll send",
    "i will send",
    "we'll send",
    "we will send",
    "i'll call",
    "i will call",
    "we'll call",
    "we will call",
    "i'll get back",
    "we'll get back",
    "will get back to you",
    "i'll check",
    "i will check",
    "we'll check",
    "we will check",
    "i'll follow up",
    "we'll follow up",
    "i'll email",
    "we'll email",
    "i'll update",
    "we'll update",
    "will contact you",
    "i'll let you know",
    "we'll let you know",
    "i'll forward",
    "i'll arrange",
    "we'll arrange",
    "אחזור אליך",
    "אחזור אלייך",
    "נחזור אליך",
    "נחזור אלייך",
    "אשלח",
    "נשלח",
    "אבדוק",
    "נבדוק",
    "ניצור קשר",
    "ניצור איתך קשר",
    "אצור קשר",
    "אעדכן",
    "נעדכן",
    "אתקשר",
    "נתקשר",
    "אעביר",
];

/// What agents say to be polite rather than to inform.
const BOILERPLATE: &[&str] = &[
    "sorry",
    "apologi*",
    "i understand",
    "how can i help",
    "how may i help",
    "can i help",
    "anything else",
    "happy to help",
    "welcome to",
    "מצטער*",
    "מתנצל*",
    "סליחה",
    "אני מבין",
    "אני מבינה",
    "איך אפשר לעזור",
    "איך אוכל לעזור",
    "במה אוכל לעזור",
    "משהו נוסף",
    "עוד משהו",
];

/// An agent saying a booking is done.
const CONFIRMED: &[&str] = &[
    "booked",
    "is confirmed",
    "are confirmed",
    "confirmed your",
    "i've confirmed",
    "reserved",
    "your reservation",
    "your booking is",
    "i've scheduled",
    "is scheduled",
    "rescheduled",
    "moved your",
    "see you on",
    "הזמנתי",
    "ההזמנה אושרה",
    "אושרה",
    "אושר",
    "נקבע",
    "נקבעה",
    "קבעתי",
    "קבענו",
    "שריינתי",
    "רשמתי אותך",
    "הוזמן",
    "הוזמנה",
    "שיניתי את המועד",
];

/// An agent saying a problem is solved.
const FIXED: &[&str] = &[
    "fixed",
    "resolved",
    "solved",
    "refunded",
    "refund has been",
    "sorted out",
    "taken care of",
    "is working now",
    "should work now",
    "credited",
    "טופל",
    "טיפלתי",
    "תוקן",
    "תיקנתי",
    "נפתר",
    "פתרתי",
    "סידרתי",
    "זיכיתי",
    "זוכה",
    "בוצע",
];

/// A customer signing off content.
const CLOSURE: &[&str] = &[
    "thank*",
    "great",
    "perfect",
    "that works",
    "works now",
    "got it",
    "awesome",
    "sounds good",
    "all good",
    "that's all",
    "תודה",
    "מעולה",
    "מושלם",
    "סגור",
    "סגרנו",
    "הבנתי",
    "עובד",
    "אחלה",
    "סבבה",
    "מצוין",
    "יופי",
];

const CURRENCY_WORDS: &[&str] = &[
    "shekel*",
    "nis",
    "dollar*",
    "euro*",
    "pound*",
    "שקל*",
    "ש\"ח",
    "ש״ח",
    "דולר*",
    "יורו",
    "אירו",
    "לירות",
];

/// A Hebrew stem that spots a product (as the classifier names it) in a sentence.
const PRODUCT_STEMS: &[(&str, &str)] = &[
    ("flights", "טיס"),
    ("hotels", "מלון"),
    ("car_rental", "רכב"),
    ("travel_insurance", "ביטוח"),
    ("insurance", "ביטוח"),
    ("loans", "הלווא"),
    ("mortgage", "משכנת"),
    ("credit_card", "אשראי"),
    ("currency_exchange", "מטבע"),
    ("phones", "טלפון"),
    ("laptops", "מחשב"),
    ("tablets", "טאבלט"),
    ("tv", "טלוויז"),
    ("headphones", "אוזני"),
    ("courses", "קורס"),
    ("subscriptions", "מנוי"),
    ("haircut", "תספורת"),
    ("dental", "שיניים"),
    ("tours", "סיור"),
    ("tickets", "כרטיס"),
];

#[cfg(test)]
mod tests {

    use chrono::Duration;
    use proptest::prelude::*;

    use super::*;

    fn start() -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap()
    }

    fn transcript(lines: &[(MessageRole, &str)]) -> Vec<TranscriptMessage> {
        lines
            .iter()
            .enumerate()
            .map(|(i, (role, content))| TranscriptMessage {
                id: Uuid::from_u128(i as u128 + 1),
                role: *role,
                content: (*content).to_owned(),
                at: start() + Duration::minutes(i as i64),
            })
            .collect()
    }

    use MessageRole::{Agent, Customer};

    fn sales() -> Vec<TranscriptMessage> {
        transcript(&[
            (Customer, "Hi there!"),
            (
                Agent,
                "Hello! Welcome to SunTravel, how can I help you today?",
            ),
            (
                Customer,
                "I want to book flights to Rome for two people on March 12.",
            ),
            (Customer, "How much would that cost in euros?"),
            (
                Agent,
                "Return flights to Rome on March 12 are 450 EUR per person, 900 EUR in total.",
            ),
            (
                Customer,
                "Great, please book it. My email is dana@example.com.",
            ),
            (
                Agent,
                "Done! Your booking is confirmed. I'll send the tickets to dana@example.com tonight.",
            ),
            (Customer, "Thanks so much!"),
        ])
    }

    fn hebrew_support() -> Vec<TranscriptMessage> {
        transcript(&[
            (Customer, "שלום"),
            (Agent, "היי, איך אפשר לעזור?"),
            (
                Customer,
                "הזמנתי ביטוח נסיעות לפני שבוע ועדיין לא קיבלתי את הפוליסה במייל.",
            ),
            (Customer, "אני טסה ביום ראשון ואני צריכה אותה בדחיפות!"),
            (
                Agent,
                "מצטערת על העיכוב. אני בודקת את זה עכשיו מול מחלקת הביטוח.",
            ),
            (
                Agent,
                "מצאתי את הבעיה, הכתובת במערכת הייתה שגויה. אשלח לך את הפוליסה שוב תוך שעה.",
            ),
            (Customer, "תודה רבה"),
        ])
    }

    fn complaint() -> Vec<TranscriptMessage> {
        transcript(&[
            (
                Customer,
                "This is unacceptable. My flight was cancelled and nobody told me!",
            ),
            (
                Agent,
                "I'm very sorry to hear that. Can you give me your booking number?",
            ),
            (
                Customer,
                "It's AB1234. I'm really disappointed and I want a refund.",
            ),
            (
                Agent,
                "I understand. I will check the refund options with the airline.",
            ),
            (Customer, "This is the worst service I've ever had."),
        ])
    }

    fn lines(draft: &SummaryDraft) -> Vec<&str> {
        draft.summary.lines().collect()
    }

    #[test]
    fn english_sales_conversation() {
        let d = summarize(Channel::Whatsapp, &sales(), "US");
        let summary = lines(&d);
        assert!((5..=10).contains(&summary.len()), "{}", d.summary);
        assert!(
            summary[0].starts_with("WhatsApp conversation about a booking"),
            "{}",
            d.summary
        );
        assert!(
            summary
                .contains(&"Customer: I want to book flights to Rome for two people on March 12."),
            "{}",
            d.summary
        );
        assert!(
            summary
                .iter()
                .any(|l| l.starts_with("Agent: ") && l.contains("450 EUR")),
            "{}",
            d.summary
        );
        assert_eq!(*summary.last().unwrap(), "Outcome: booked.");
        // Pleasantries are not worth a line.
        assert!(!d.summary.contains("Hi there"));
        assert!(!d.summary.contains("Thanks so much"));

        assert_eq!(d.intents.first(), Some(&Intent::Booking), "{:?}", d.intents);
        assert!(!d.intents.contains(&Intent::Other));
        assert_eq!(d.sentiment, Sentiment::Positive);
        assert_eq!(d.language.as_deref(), Some("en"));
        assert!((2..=6).contains(&d.key_points.len()), "{:?}", d.key_points);
        assert!(
            d.key_points
                .iter()
                .any(|k| k.starts_with("Topics: booking"))
        );
        assert!(d.key_points.contains(&"Outcome: booked".to_owned()));
        let next = d.next_step.unwrap();
        assert!(
            next.starts_with("Agent promised: I'll send the tickets"),
            "{next}"
        );
        assert!(
            d.facts
                .iter()
                .any(|f| f.key == "email" && f.value == "dana@example.com"),
            "{:?}",
            d.facts
        );
    }

    #[test]
    fn hebrew_support_conversation() {
        let messages = hebrew_support();
        let d = summarize(Channel::Whatsapp, &messages, "IL");
        let summary = lines(&d);
        assert!((5..=10).contains(&summary.len()), "{}", d.summary);
        assert!(summary[0].starts_with("שיחת וואטסאפ"), "{}", d.summary);
        assert_eq!(d.language.as_deref(), Some("he"));
        // Hebrew sentences are quoted exactly as written.
        assert!(
            summary.contains(
                &"לקוח: הזמנתי ביטוח נסיעות לפני שבוע ועדיין לא קיבלתי את הפוליסה במייל."
            ),
            "{}",
            d.summary
        );
        assert!(
            summary.contains(&"נציג: אשלח לך את הפוליסה שוב תוך שעה."),
            "{}",
            d.summary
        );
        assert!(
            summary.last().unwrap().starts_with("תוצאה: "),
            "{}",
            d.summary
        );
        assert!(
            !d.summary.contains("Customer") && !d.summary.contains("Outcome"),
            "{}",
            d.summary
        );
        assert!(
            d.intents.contains(&Intent::SupportRequest),
            "{:?}",
            d.intents
        );
        assert!(d.key_points.iter().all(|k| !k.starts_with("Topics")));
        assert_eq!(
            d.next_step.as_deref(),
            Some("הנציג התחייב: אשלח לך את הפוליסה שוב תוך שעה.")
        );
    }

    #[test]
    fn a_complaint_is_negative() {
        let d = summarize(Channel::Web, &complaint(), "US");
        assert_eq!(d.sentiment, Sentiment::Negative);
        assert_eq!(
            d.intents.first(),
            Some(&Intent::Complaint),
            "{:?}",
            d.intents
        );
        assert!(
            lines(&d)[0].starts_with("Web chat about a complaint"),
            "{}",
            d.summary
        );
        assert_eq!(
            *lines(&d).last().unwrap(),
            "Outcome: complaint not resolved.",
            "{}",
            d.summary
        );
        assert!(
            d.summary.contains("Customer: It's AB1234."),
            "{}",
            d.summary
        );
        assert!(
            d.next_step
                .as_deref()
                .is_some_and(|n| n.contains("I will check the refund options"))
        );
    }

    #[test]
    fn the_same_conversation_gives_the_same_summary() {
        for messages in [sales(), hebrew_support(), complaint()] {
            let first = summarize(Channel::Call, &messages, "IL");
            for _ in 0..3 {
                assert_eq!(summarize(Channel::Call, &messages, "IL"), first);
            }
        }
    }

    #[test]
    fn facts_carry_their_evidence() {
        let messages = transcript(&[
            (
                Customer,
                "Hi, my name is Dana Levi and my email is dana@example.com",
            ),
            (Agent, "Thanks Dana! Your email is dana@example.com, right?"),
            (Customer, "Yes, dana@example.com is my email"),
            (Customer, "I live in Tel Aviv"),
        ]);
        let d = summarize(Channel::Web, &messages, "IL");
        let email = d
            .facts
            .iter()
            .find(|f| f.key == "email")
            .unwrap_or_else(|| panic!("no email in {:?}", d.facts));
        assert_eq!(email.value, "dana@example.com");
        // Only customer messages count, each once, in order.
        assert_eq!(
            email.evidence,
            vec![messages[0].id, messages[2].id],
            "{:?}",
            d.facts
        );
        assert!((0.0..=1.0).contains(&email.confidence));
        let distinct = d
            .facts
            .iter()
            .map(|f| (f.key.as_str(), f.value.as_str()))
            .collect::<std::collections::BTreeSet<_>>();
        assert_eq!(distinct.len(), d.facts.len(), "merged: {:?}", d.facts);
        for fact in &d.facts {
            assert!(!fact.evidence.is_empty());
            assert!(
                !fact.evidence.contains(&messages[1].id),
                "agent words are no evidence"
            );
        }
    }

    #[test]
    fn no_messages() {
        let d = summarize(Channel::Sms, &[], "US");
        assert_eq!(d.summary, "SMS conversation: no messages.");
        assert_eq!(d.sentiment, Sentiment::Neutral);
        assert!(d.facts.is_empty() && d.intents.is_empty() && d.key_points.is_empty());
        assert_eq!(d.next_step, None);
        assert_eq!(d.language, None);
    }

    #[test]
    fn short_conversations_get_short_summaries() {
        let d = summarize(Channel::Whatsapp, &transcript(&[(Customer, "hi")]), "US");
        let summary = lines(&d);
        assert!((1..=3).contains(&summary.len()), "{}", d.summary);
        assert!((2..=6).contains(&d.key_points.len()), "{:?}", d.key_points);
        let blank = transcript(&[(Customer, "   "), (Agent, "")]);
        let d = summarize(Channel::Call, &blank, "US");
        assert!(!d.summary.is_empty());
        assert!(d.facts.is_empty());
    }

    #[test]
    fn sentences_split_where_a_reader_would() {
        assert_eq!(
            split_sentences(
                "Hi! I want to fly on 12.03. Price is $1,200.50?! See example.com\nbye..."
            ),
            vec![
                "Hi!",
                "I want to fly on 12.03.",
                "Price is $1,200.50?!",
                "See example.com",
                "bye...",
            ]
        );
        assert_eq!(
            split_sentences("שלום! אני רוצה לטוס לרומא׃ מחר בבוקר?   "),
            vec!["שלום!", "אני רוצה לטוס לרומא׃", "מחר בבוקר?"]
        );
        assert_eq!(split_sentences("... !!! \n\n 🙂"), Vec::<&str>::new());
        assert_eq!(
            split_sentences("東京に行きたい。明日"),
            vec!["東京に行きたい。", "明日"]
        );
    }

    #[test]
    fn phrases_match_whole_words() {
        let scan = |text: &str| Scan::of(&terms_of(&lowered(text)));
        let any = |text: &str, kind: Kind| scan(text).any(kind);
        let count = |text: &str| scan(text).count(Kind::Positive);
        assert!(any("ותודה רבה", Kind::Positive));
        assert!(any("I'm DISAPPOINTED.", Kind::Negative));
        assert!(any("I’ll send it", Kind::Promise));
        assert!(any("עלה 100 ש״ח", Kind::Currency));
        assert!(!any("overbooked flights", Kind::Confirmed));
        assert!(!any("unhappy", Kind::Positive), "whole words only");
        assert!(any("מהתודה", Kind::Positive));
        assert!(!any("שמהתודה", Kind::Positive), "at most two prefixes");
        assert!(!any("אתודה", Kind::Positive), "א is no prefix");
        assert!(!any("we'll", Kind::Promise));
        assert_eq!(count("not happy at all"), (0, 1));
        assert_eq!(count("I'm so happy, thank you"), (2, 0));
        assert_eq!(count("אני לא מרוצה"), (0, 1));
        assert_eq!(count("I don't love it"), (0, 1));
    }

    #[test]
    fn fillers_are_recognized() {
        for filler in [
            "Hi there!",
            "Thanks so much!",
            "ok",
            "תודה רבה",
            "שלום",
            "Hi Dana",
            "וביי",
        ] {
            assert!(is_filler(&terms_of(&lowered(filler))), "{filler}");
        }
        for content in [
            "I need a flight",
            "כמה עולה הביטוח?",
            "Thanks, what about hotels in Rome?",
        ] {
            assert!(!is_filler(&terms_of(&lowered(content))), "{content}");
        }
    }

    #[test]
    fn long_sentences_are_clipped_at_a_word() {
        let long = "word ".repeat(100);
        let clipped = clip(long.trim(), QUOTE_CHARS);
        assert!(clipped.chars().count() <= QUOTE_CHARS);
        assert!(clipped.ends_with("word…"));
        assert_eq!(clip("short", QUOTE_CHARS), "short");
        let hebrew = "א".repeat(300);
        assert_eq!(clip(&hebrew, 10).chars().count(), 10);
    }

    fn any_message() -> impl Strategy<Value = (MessageRole, String)> {
        (
            prop::sample::select(MessageRole::ALL.to_vec()),
            prop::collection::vec(
                prop_oneof![
                    Just("I want to book a flight to Rome tomorrow."),
                    Just("How much is it in USD?"),
                    Just("It costs 450 EUR."),
                    Just("אני רוצה להזמין מלון בתל אביב ב-12/03"),
                    Just("תודה!"),
                    Just("This is terrible, I want a refund!"),
                    Just("I'll send you the details."),
                    Just("my email is a@b.co and my phone is 054-1234567"),
                    Just("\n"),
                    Just("hi"),
                    Just("..."),
                ]
                .prop_map(str::to_owned)
                .boxed()
                .prop_union("\\PC{0,40}".boxed()),
                0..4,
            )
            .prop_map(|parts| parts.join(" ")),
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        #[test]
        fn any_conversation_fits_in_one_to_ten_lines(
            raw in prop::collection::vec(any_message(), 1..25),
            channel in prop::sample::select(Channel::ALL.to_vec()),
        ) {
            let messages: Vec<TranscriptMessage> = raw
                .iter()
                .enumerate()
                .map(|(i, (role, content))| TranscriptMessage {
                    id: Uuid::from_u128(i as u128),
                    role: *role,
                    content: content.clone(),
                    at: start() + Duration::minutes(i as i64),
                })
                .collect();
            let d = summarize(channel, &messages, "IL");
            let count = d.summary.lines().count();
            prop_assert!((1..=10).contains(&count), "{} lines:\n{}", count, d.summary);
            prop_assert!(d.summary.lines().all(|l| !l.trim().is_empty()));
            prop_assert!((2..=6).contains(&d.key_points.len()), "{:?}", d.key_points);
            prop_assert!(!d.intents.contains(&Intent::Other));
            for fact in &d.facts {
                prop_assert!(!fact.evidence.is_empty());
            }
            prop_assert_eq!(summarize(channel, &messages, "IL"), d);
        }
    }
}
