//! The memory context rendered as prompt-ready text, and the "continue or start fresh?" opening,
//! in the tenant's locale (English, Hebrew). Right-to-left text is passed through untouched.

use chrono::{DateTime, Utc};

use super::locale::{Ago, ContextWording, wording};
use super::profile::Source;
use super::{Channel, Locale, MessageRole, NoteKind};

/// A profile field as the context shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct ContextField {
    pub key: String,
    pub value: String,
    pub source: Source,
    pub confidence: f64,
}

/// The last summary of an earlier conversation.
#[derive(Debug, Clone, PartialEq)]
pub struct ContextSummary {
    pub text: String,
    pub channel: Channel,
    pub at: DateTime<Utc>,
}

/// A staff note (or call summary).
#[derive(Debug, Clone, PartialEq)]
pub struct ContextNote {
    pub body: String,
    pub kind: NoteKind,
    pub pinned: bool,
    pub author: String,
    pub at: DateTime<Utc>,
}

/// A message of the current conversation.
#[derive(Debug, Clone, PartialEq)]
pub struct ContextMessage {
    pub role: MessageRole,
    pub content: String,
    pub at: DateTime<Utc>,
}

/// Everything the context holds, already selected and ordered by the service.
#[derive(Debug, Clone, PartialEq)]
pub struct ContextDocument {
    pub locale: Locale,
    /// The channel of the current conversation, if any.
    pub channel: Option<Channel>,
    pub customer_name: Option<String>,
    pub profile: Vec<ContextField>,
    pub last_summary: Option<ContextSummary>,
    /// Newest first.
    pub notes: Vec<ContextNote>,
    /// Oldest first.
    pub messages: Vec<ContextMessage>,
    pub is_returning: bool,
    pub suggested_opening: Option<String>,
    pub now: DateTime<Utc>,
}

/// The rendered text and what had to be left out to fit the budget.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    pub text: String,
    pub estimated_tokens: u32,
    /// Messages dropped (oldest first) to fit the character budget.
    pub omitted_messages: u32,
    /// Whether anything besides whole messages had to be cut.
    pub truncated: bool,
}

/// Renders `doc` within `char_budget` characters, dropping the oldest messages first.
///
/// When the whole text does not fit: whole messages go first (oldest first, the newest one
/// stays), then note bodies are shortened (oldest note first), then the summary, and as a last
/// resort the text is cut at the budget. Characters are counted, not bytes.
pub fn render(doc: &ContextDocument, char_budget: usize) -> Rendered {
    let mut draft = Draft::build(doc);
    let message_count = draft.messages.len();

    let full_len = draft.len_with(0);
    if full_len <= char_budget {
        return finish(draft.assemble(0), 0, false);
    }
    if char_budget == 0 {
        return Rendered {
            text: String::new(),
            estimated_tokens: 0,
            omitted_messages: count_u32(message_count),
            truncated: true,
        };
    }

    // Drop whole messages, oldest first, but keep the newest one while anything else can give.
    let skip = fewest_to_drop(&draft, char_budget);

    let mut truncated = false;
    let mut excess = draft.len_with(skip).saturating_sub(char_budget);
    if excess > 0 {
        truncated = true;
        // The oldest note is the least useful; `notes` is newest first.
        for note in draft.notes.iter_mut().rev() {
            if excess == 0 {
                break;
            }
            excess = excess.saturating_sub(note.shorten(excess));
        }
        if excess > 0
            && let Some(summary) = draft.summary.as_mut()
        {
            summary.shorten(excess);
        }
    }

    let mut text = draft.assemble(skip);
    if text.chars().count() > char_budget {
        truncated = true;
        text = cut_chars(&text, char_budget);
    }
    finish(text, skip, truncated)
}

/// How many of the oldest messages to leave out so the text fits `budget`, keeping the newest
/// one: the fewest that fit, or all but one when nothing does.
fn fewest_to_drop(draft: &Draft, budget: usize) -> usize {
    let count = draft.messages.len();
    if count < 2 {
        return 0;
    }
    // Past the first, every dropped message shortens the text (a message line is longer than
    // the one digit the omission count may grow by), so the fit can be searched by halves.
    let (mut low, mut high) = (1, count - 1);
    if draft.len_with(high) > budget {
        return high;
    }
    while low < high {
        let mid = low + (high - low) / 2;
        if draft.len_with(mid) <= budget {
            high = mid;
        } else {
            low = mid + 1;
        }
    }
    low
}

/// "Hi Dana! Do you want to continue where we left off, or start fresh?" in `locale`.
///
/// Only the first word of `name` is used: people are greeted by their first name.
pub fn suggested_opening(locale: Locale, name: Option<&str>) -> String {
    let first = name.and_then(|n| n.split_whitespace().next());
    (wording(locale).context.suggested_opening)(first)
}

/// A cheap estimate of LLM tokens in `text` (no tokenizer): within ~20% for English and Hebrew.
///
/// The heuristic follows how cl100k-style BPE vocabularies split text:
/// - a Latin word costs `max(1, letters / 4)` tokens (≈ 1.3 tokens per word on English prose,
///   since most words are one token and long ones split into pieces of about four letters);
/// - Hebrew and Arabic words cost `max(1, letters / 2)` (the vocabularies hold few of their
///   words whole), other alphabets (Cyrillic, Greek, …) `max(1, letters / 3)`;
/// - CJK ideographs, kana and Hangul cost one token each;
/// - digits are grouped by three, as the tokenizer does;
/// - punctuation and symbols cost one each, emoji two; a single space is free (it belongs to
///   the next word), a longer run of spaces or any line break costs one.
///
/// The estimate is 0 only for empty text, and appending words never lowers it.
pub fn estimate_tokens(text: &str) -> u32 {
    if text.is_empty() {
        return 0;
    }
    let mut tokens = 0.0_f64;
    let mut chars = text.chars().peekable();
    let mut previous_is_letter = false;
    while let Some(c) = chars.next() {
        let script = Script::of(c);
        match script {
            Script::Latin | Script::Semitic | Script::OtherAlphabet => {
                let mut letters = 1usize;
                while let Some(&next) = chars.peek() {
                    if Script::of(next) == script {
                        letters += 1;
                        chars.next();
                    } else if is_word_joiner(next) && script != Script::OtherAlphabet {
                        // "don't", "צ'אט", "ש״ח": the apostrophe or geresh stays inside the
                        // word when a letter of the same script follows it.
                        let mut ahead = chars.clone();
                        ahead.next();
                        if ahead.peek().is_some_and(|&a| Script::of(a) == script) {
                            letters += 1;
                            chars.next();
                        } else {
                            break;
                        }
                    } else {
                        break;
                    }
                }
                let per_token = match script {
                    Script::Latin => 4.0,
                    Script::Semitic => 2.0,
                    _ => 3.0,
                };
                tokens += (letters as f64 / per_token).max(1.0);
                previous_is_letter = true;
                continue;
            }
            Script::Cjk => tokens += 1.0,
            Script::Digit => {
                let mut digits = 1usize;
                while chars.peek().is_some_and(char::is_ascii_digit) {
                    digits += 1;
                    chars.next();
                }
                tokens += digits.div_ceil(3) as f64;
            }
            Script::Space => {
                let mut run = 1usize;
                let mut line_break = c == '\n' || c == '\r';
                while let Some(&next) = chars.peek() {
                    if !next.is_whitespace() {
                        break;
                    }
                    line_break |= next == '\n' || next == '\r';
                    run += 1;
                    chars.next();
                }
                if line_break || run > 1 {
                    tokens += 1.0;
                }
            }
            Script::Emoji => tokens += 2.0,
            Script::Mark => {
                // Niqqud and other combining marks ride on the letter before them.
                if !previous_is_letter {
                    tokens += 1.0;
                }
                continue;
            }
            Script::Symbol => tokens += 1.0,
        }
        previous_is_letter = false;
    }
    let rounded = tokens.ceil().max(1.0);
    if rounded >= f64::from(u32::MAX) {
        u32::MAX
    } else {
        rounded as u32
    }
}

/// The character classes [`estimate_tokens`] prices differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Script {
    Latin,
    /// Hebrew and Arabic letters.
    Semitic,
    OtherAlphabet,
    Cjk,
    Digit,
    Space,
    Emoji,
    Mark,
    Symbol,
}

impl Script {
    fn of(c: char) -> Self {
        let code = u32::from(c);
        if c.is_ascii_alphabetic() {
            return Script::Latin;
        }
        if c.is_ascii_digit() {
            return Script::Digit;
        }
        if c.is_whitespace() {
            return Script::Space;
        }
        if c.is_ascii() {
            return Script::Symbol;
        }
        match code {
            0x0591..=0x05C7 | 0x0610..=0x061A | 0x064B..=0x065F | 0x0300..=0x036F => Script::Mark,
            0x05D0..=0x05EA | 0x05EF..=0x05F2 | 0xFB1D..=0xFB4F => Script::Semitic,
            0x0620..=0x064A | 0x066E..=0x06D3 | 0x06FA..=0x06FF | 0xFB50..=0xFDFF => {
                Script::Semitic
            }
            0x00C0..=0x024F | 0x1E00..=0x1EFF => Script::Latin,
            0x2E80..=0x9FFF | 0xAC00..=0xD7AF | 0xF900..=0xFAFF | 0xFF00..=0xFFEF => Script::Cjk,
            0x20000..=0x3FFFF => Script::Cjk,
            0x2600..=0x27BF | 0x1F000..=0x1FAFF => Script::Emoji,
            _ if c.is_alphabetic() => Script::OtherAlphabet,
            _ if c.is_numeric() => Script::Digit,
            _ => Script::Symbol,
        }
    }
}

/// Apostrophes and gereshes that join the letters around them into one word.
fn is_word_joiner(c: char) -> bool {
    matches!(c, '\'' | '\u{2019}' | '\u{05F3}' | '\u{05F4}' | '"')
}

fn finish(text: String, omitted: usize, truncated: bool) -> Rendered {
    Rendered {
        estimated_tokens: estimate_tokens(&text),
        text,
        omitted_messages: count_u32(omitted),
        truncated,
    }
}

fn count_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Line prefix of a multi-line value's continuation lines, so each entry reads as one block.
const INDENT: &str = "  ";

/// Separates sections: one blank line.
const SECTION_BREAK: &str = "\n\n";

/// A piece of text with a fixed head and a body that may be shortened to fit the budget.
#[derive(Debug, Clone)]
struct Entry {
    head: String,
    body: String,
    body_chars: usize,
}

impl Entry {
    fn new(head: String, body: String) -> Self {
        let body_chars = body.chars().count();
        Self {
            head,
            body,
            body_chars,
        }
    }

    fn chars(&self) -> usize {
        self.head.chars().count() + self.body_chars
    }

    /// Shortens the body by up to `wanted` characters (it keeps at least "…"); returns how many
    /// characters it actually gave up.
    fn shorten(&mut self, wanted: usize) -> usize {
        if self.body_chars <= 1 || wanted == 0 {
            return 0;
        }
        let keep = self.body_chars.saturating_sub(wanted).max(1);
        let before = self.body_chars;
        self.body = cut_chars(&self.body, keep);
        self.body_chars = self.body.chars().count();
        before.saturating_sub(self.body_chars)
    }

    fn render(&self) -> String {
        let mut out = String::with_capacity(self.head.len() + self.body.len());
        out.push_str(&self.head);
        out.push_str(&self.body);
        out
    }
}

/// The context split into the parts the budget treats differently.
struct Draft {
    locale: Locale,
    /// Header, profile and returning-customer sections: only the last-resort cut touches them.
    fixed: Vec<String>,
    summary: Option<Entry>,
    /// Newest first.
    notes: Vec<Entry>,
    /// One rendered line (or indented block) per message, oldest first.
    messages: Vec<String>,
    message_chars: Vec<usize>,
}

impl Draft {
    fn build(doc: &ContextDocument) -> Self {
        let locale = doc.locale;
        let words = wording(locale);
        let l = &words.context;
        let mut fixed = vec![header(doc, l)];

        let profile: Vec<String> = doc
            .profile
            .iter()
            .filter(|f| !f.value.trim().is_empty())
            .map(|f| {
                let label = l.key_label(&f.key);
                format!(
                    "- {label}: {} ({}, {}%)",
                    indented(&f.value),
                    l.source(f.source),
                    percent(f.confidence)
                )
            })
            .collect();
        if !profile.is_empty() {
            fixed.push(format!("{}:\n{}", l.profile, profile.join("\n")));
        }

        if doc.is_returning {
            let opening = doc
                .suggested_opening
                .as_deref()
                .filter(|o| !o.trim().is_empty())
                .map(indented)
                .unwrap_or_else(|| suggested_opening(locale, doc.customer_name.as_deref()));
            fixed.push(format!("{} — {}: \"{opening}\"", l.returning, l.opening));
        }

        let summary = doc.last_summary.as_ref().and_then(|s| {
            let body = s
                .text
                .lines()
                .map(str::trim_end)
                .filter(|line| !line.trim().is_empty())
                .collect::<Vec<_>>()
                .join("\n");
            (!body.is_empty()).then(|| {
                let head = format!(
                    "{} ({}, {}):\n",
                    l.last_conversation,
                    l.channel(s.channel),
                    relative_time(locale, doc.now, s.at)
                );
                Entry::new(head, body)
            })
        });

        let notes = doc
            .notes
            .iter()
            .filter(|n| !n.body.trim().is_empty())
            .map(|n| {
                let mut head = String::from("- ");
                if n.pinned {
                    head.push_str(l.pinned);
                    head.push(' ');
                }
                if let Some(kind) = l.note_kind(n.kind) {
                    head.push_str(kind);
                    head.push_str(", ");
                }
                head.push_str(&relative_time(locale, doc.now, n.at));
                let author = n.author.split_whitespace().collect::<Vec<_>>().join(" ");
                if !author.is_empty() {
                    head.push_str(", ");
                    head.push_str(l.by);
                    head.push(' ');
                    head.push_str(&author);
                }
                head.push_str(": ");
                Entry::new(head, indented(&n.body))
            })
            .collect();

        let messages: Vec<String> = doc
            .messages
            .iter()
            .filter(|m| !m.content.trim().is_empty())
            .map(|m| format!("{}: {}", words.role(m.role), indented(&m.content)))
            .collect();
        let message_chars = messages.iter().map(|m| m.chars().count()).collect();

        Self {
            locale,
            fixed,
            summary,
            notes,
            messages,
            message_chars,
        }
    }

    fn notes_section(&self) -> Option<String> {
        if self.notes.is_empty() {
            return None;
        }
        let l = &wording(self.locale).context;
        let entries: Vec<String> = self.notes.iter().map(Entry::render).collect();
        Some(format!("{}:\n{}", l.notes, entries.join("\n")))
    }

    /// Every section but the current conversation, in order.
    fn leading_sections(&self) -> Vec<String> {
        let mut sections = self.fixed.clone();
        sections.extend(self.summary.as_ref().map(Entry::render));
        sections.extend(self.notes_section());
        sections
    }

    /// The length in characters of [`Self::assemble`]`(skip)`, without building it.
    fn len_with(&self, skip: usize) -> usize {
        let l = &wording(self.locale).context;
        let mut len: usize = self.fixed.iter().map(|s| s.chars().count()).sum::<usize>()
            + SECTION_BREAK.len() * self.fixed.len().saturating_sub(1);
        if let Some(summary) = &self.summary {
            len += SECTION_BREAK.len() + summary.chars();
        }
        if !self.notes.is_empty() {
            len += SECTION_BREAK.len() + l.notes.chars().count() + 1;
            len += self.notes.iter().map(|n| n.chars() + 1).sum::<usize>();
        }
        if !self.messages.is_empty() {
            let skip = skip.min(self.messages.len());
            len += SECTION_BREAK.len() + l.current_conversation.chars().count() + 1;
            if skip > 0 {
                len += (l.omitted)(skip).chars().count() + 1;
            }
            len += self.message_chars[skip..]
                .iter()
                .map(|n| n + 1)
                .sum::<usize>();
        }
        len
    }

    /// The text with the `skip` oldest messages left out (and said so).
    fn assemble(&self, skip: usize) -> String {
        let mut sections = self.leading_sections();
        if !self.messages.is_empty() {
            let l = &wording(self.locale).context;
            let skip = skip.min(self.messages.len());
            let mut section = format!("{}:", l.current_conversation);
            if skip > 0 {
                section.push('\n');
                section.push_str(&(l.omitted)(skip));
            }
            for message in &self.messages[skip..] {
                section.push('\n');
                section.push_str(message);
            }
            sections.push(section);
        }
        sections.join(SECTION_BREAK)
    }
}

fn header(doc: &ContextDocument, l: &ContextWording) -> String {
    let mut line = l.title.to_owned();
    let name = doc
        .customer_name
        .as_deref()
        .map(|n| n.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|n| !n.is_empty());
    if let Some(name) = name {
        line.push(' ');
        line.push_str(l.for_customer);
        line.push(' ');
        line.push_str(&name);
    }
    if let Some(channel) = doc.channel {
        line.push_str(&format!(" ({}: {})", l.channel_label, l.channel(channel)));
    }
    line
}

/// `text` trimmed, blank lines dropped, continuation lines indented under the first.
fn indented(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text
        .trim()
        .lines()
        .map(str::trim_end)
        .filter(|line| !line.trim().is_empty())
    {
        if !out.is_empty() {
            out.push('\n');
            out.push_str(INDENT);
        }
        out.push_str(line);
    }
    out
}

/// At most `max` characters of `text`, ending in "…" when anything was cut.
fn cut_chars(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    if max == 0 {
        return String::new();
    }
    let end = text
        .char_indices()
        .nth(max - 1)
        .map_or(text.len(), |(i, _)| i);
    let mut out = text[..end].trim_end().to_owned();
    out.push('…');
    out
}

fn percent(confidence: f64) -> u32 {
    if confidence.is_finite() {
        (confidence.clamp(0.0, 1.0) * 100.0).round() as u32
    } else {
        0
    }
}

/// "just now", "5 minutes ago", "2 days ago", or the date when it is more than 30 days ago.
pub(crate) fn relative_time(locale: Locale, now: DateTime<Utc>, at: DateTime<Utc>) -> String {
    let l = &wording(locale).context;
    let seconds = (now - at).num_seconds();
    // A little clock skew between replicas is "just now"; a far-future time is shown as a date.
    if seconds < -3600 || seconds / 86_400 > 30 {
        return (l.on_date)(at);
    }
    let minutes = seconds / 60;
    let hours = minutes / 60;
    let days = hours / 24;
    let ago = if seconds < 60 {
        Ago::JustNow
    } else if minutes < 60 {
        Ago::Minutes(minutes)
    } else if hours < 24 {
        Ago::Hours(hours)
    } else {
        Ago::Days(days)
    };
    (l.ago)(ago)
}

#[cfg(test)]
mod tests {
    use chrono::Duration;
    use proptest::prelude::*;

    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap()
    }

    fn ago(minutes: i64) -> DateTime<Utc> {
        now() - Duration::minutes(minutes)
    }

    fn message(role: MessageRole, content: &str, minutes_ago: i64) -> ContextMessage {
        ContextMessage {
            role,
            content: content.to_owned(),
            at: ago(minutes_ago),
        }
    }

    fn field(key: &str, value: &str, source: Source, confidence: f64) -> ContextField {
        ContextField {
            key: key.to_owned(),
            value: value.to_owned(),
            source,
            confidence,
        }
    }

    fn empty(locale: Locale) -> ContextDocument {
        ContextDocument {
            locale,
            channel: None,
            customer_name: None,
            profile: vec![],
            last_summary: None,
            notes: vec![],
            messages: vec![],
            is_returning: false,
            suggested_opening: None,
            now: now(),
        }
    }

    fn english() -> ContextDocument {
        ContextDocument {
            locale: Locale::En,
            channel: Some(Channel::Whatsapp),
            customer_name: Some("Dana Levi".into()),
            profile: vec![
                field("name", "Dana Levi", Source::Manual, 1.0),
                field("preferred_currency", "EUR", Source::Ai, 0.85),
                field("loyalty_tier", "gold", Source::Import, 0.9),
            ],
            last_summary: Some(ContextSummary {
                text: "WhatsApp conversation about a booking (flights).\nOutcome: pending.".into(),
                channel: Channel::Whatsapp,
                at: ago(2 * 24 * 60 + 30),
            }),
            notes: vec![
                ContextNote {
                    body: "Prefers morning flights".into(),
                    kind: NoteKind::Note,
                    pinned: true,
                    author: "Avi".into(),
                    at: ago(60),
                },
                ContextNote {
                    body: "Asked about Rome in May".into(),
                    kind: NoteKind::CallSummary,
                    pinned: false,
                    author: "Noa".into(),
                    at: ago(3 * 24 * 60),
                },
            ],
            messages: vec![
                message(MessageRole::Customer, "Hi, I'm back", 5),
                message(MessageRole::Agent, "Welcome back!\nHow can I help?", 4),
                message(MessageRole::Customer, "Still want Rome", 1),
            ],
            is_returning: true,
            suggested_opening: Some(suggested_opening(Locale::En, Some("Dana Levi"))),
            now: now(),
        }
    }

    fn hebrew() -> ContextDocument {
        ContextDocument {
            locale: Locale::He,
            channel: Some(Channel::Call),
            customer_name: Some("דנה לוי".into()),
            profile: vec![
                field("city", "תל אביב", Source::Channel, 0.7),
                field("budget", "5,000 ₪", Source::Ai, 0.6),
            ],
            last_summary: Some(ContextSummary {
                text: "שיחת וואטסאפ בנושא הזמנה (טיסות).".into(),
                channel: Channel::Whatsapp,
                at: ago(2 * 24 * 60),
            }),
            notes: vec![ContextNote {
                body: "לקוחה VIP, לחזור אליה עד יום ה׳".into(),
                kind: NoteKind::CallSummary,
                pinned: true,
                author: "אבי".into(),
                at: ago(90),
            }],
            messages: vec![
                message(
                    MessageRole::Customer,
                    "שלום, אני רוצה לטוס לרומא ב-12/03",
                    3,
                ),
                message(MessageRole::Agent, "בשמחה! כמה נוסעים?", 2),
                message(MessageRole::System, "call transferred", 1),
            ],
            is_returning: true,
            suggested_opening: None,
            now: now(),
        }
    }

    #[test]
    fn english_context_reads_well() {
        let r = render(&english(), 10_000);
        let expected = "\
Memory context for Dana Levi (channel: WhatsApp)

Customer profile:
- Name: Dana Levi (staff, 100%)
- Preferred currency: EUR (AI, 85%)
- loyalty_tier: gold (CRM import, 90%)

Returning customer — suggested opening: \"Hi Dana! Do you want to continue where we left off, or start fresh?\"

Last conversation (WhatsApp, 2 days ago):
WhatsApp conversation about a booking (flights).
Outcome: pending.

Staff notes:
- [pinned] 1 hour ago, by Avi: Prefers morning flights
- Call summary, 3 days ago, by Noa: Asked about Rome in May

Current conversation:
Customer: Hi, I'm back
Agent: Welcome back!
  How can I help?
Customer: Still want Rome";
        assert_eq!(r.text, expected);
        assert_eq!(r.omitted_messages, 0);
        assert!(!r.truncated);
        assert_eq!(r.estimated_tokens, estimate_tokens(expected));
    }

    #[test]
    fn hebrew_context_uses_hebrew_labels() {
        let r = render(&hebrew(), 10_000);
        let lines: Vec<&str> = r.text.lines().collect();
        assert_eq!(lines[0], "הקשר זיכרון עבור דנה לוי (ערוץ: שיחת טלפון)");
        for line in [
            "פרופיל הלקוח:",
            "- עיר: תל אביב (ערוץ, 70%)",
            "- תקציב: 5,000 ₪ (בינה מלאכותית, 60%)",
            "לקוח חוזר — פתיחה מוצעת: \"היי דנה! רוצה שנמשיך מאיפה שעצרנו או להתחיל מחדש?\"",
            "השיחה האחרונה (וואטסאפ, לפני יומיים):",
            "הערות צוות:",
            "- [מוצמד] סיכום שיחה, לפני שעה, מאת אבי: לקוחה VIP, לחזור אליה עד יום ה׳",
            "השיחה הנוכחית:",
            "לקוח: שלום, אני רוצה לטוס לרומא ב-12/03",
            "נציג: בשמחה! כמה נוסעים?",
            "מערכת: call transferred",
        ] {
            assert!(lines.contains(&line), "missing {line:?} in\n{}", r.text);
        }
        for english in ["Customer", "Agent", "Staff notes", "ago", "WhatsApp"] {
            assert!(!r.text.contains(english), "untranslated {english:?}");
        }
    }

    #[test]
    fn what_the_extractor_learns_about_a_home_search_is_labelled_in_the_customers_language() {
        let search = [
            ("budget", "8000 ILS/month"),
            ("preferences", "מרפסת"),
            ("bedrooms", "2"),
            ("rooms", "3"),
            ("pets", "dog"),
            ("move_in", "2027-01"),
            ("property_of_interest", "הרצל 12"),
            ("loyalty_tier", "gold"),
        ];
        let mut doc = hebrew();
        doc.profile = search
            .iter()
            .map(|(k, v)| field(k, v, Source::Ai, 0.75))
            .collect();
        let he = render(&doc, 10_000).text;
        for line in [
            "- תקציב: 8000 ILS/month (בינה מלאכותית, 75%)",
            "- העדפות: מרפסת (בינה מלאכותית, 75%)",
            "- חדרי שינה: 2 (בינה מלאכותית, 75%)",
            "- חדרים: 3 (בינה מלאכותית, 75%)",
            "- חיות מחמד: dog (בינה מלאכותית, 75%)",
            "- תאריך כניסה: 2027-01 (בינה מלאכותית, 75%)",
            "- נכס מבוקש: הרצל 12 (בינה מלאכותית, 75%)",
            // A tenant's own key has no translation: it shows as spelled.
            "- loyalty_tier: gold (בינה מלאכותית, 75%)",
        ] {
            assert!(he.lines().any(|l| l == line), "missing {line:?} in\n{he}");
        }
        doc.locale = Locale::En;
        let en = render(&doc, 10_000).text;
        for label in [
            "- Budget:",
            "- Bedrooms:",
            "- Rooms:",
            "- Pets:",
            "- Move-in date:",
            "- Property of interest:",
        ] {
            assert!(en.contains(label), "missing {label:?} in\n{en}");
        }
        assert!(!en.contains("move_in") && !en.contains("property_of_interest"));
    }

    #[test]
    fn right_to_left_text_passes_through_untouched() {
        let user = [
            "שלום, אני רוצה לטוס לרומא ב-12/03",
            "בשמחה! כמה נוסעים?",
            "לקוחה VIP, לחזור אליה עד יום ה׳",
            "תל אביב",
        ];
        for locale in [Locale::En, Locale::He] {
            let mut doc = hebrew();
            doc.locale = locale;
            let text = render(&doc, 10_000).text;
            for s in user {
                assert!(text.contains(s), "{s:?} not verbatim in {locale}");
            }
            // No bidi controls are added around anything.
            let bidi = |c: char| matches!(c, '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}');
            assert!(!text.chars().any(bidi));
        }
        // Explicit marks the customer typed stay exactly where they were.
        let mut doc = empty(Locale::En);
        let typed = "\u{200F}מחיר: 100$\u{200F} please";
        doc.messages = vec![message(MessageRole::Customer, typed, 1)];
        assert!(render(&doc, 1000).text.contains(typed));
    }

    #[test]
    fn empty_sections_are_left_out() {
        let r = render(&empty(Locale::En), 1000);
        assert_eq!(r.text, "Memory context");
        let r = render(&empty(Locale::He), 1000);
        assert_eq!(r.text, "הקשר זיכרון");

        let mut doc = empty(Locale::En);
        doc.messages = vec![message(MessageRole::Customer, "hello", 0)];
        doc.profile = vec![field("city", "   ", Source::Ai, 0.5)];
        doc.notes = vec![ContextNote {
            body: " \n ".into(),
            kind: NoteKind::Note,
            pinned: false,
            author: String::new(),
            at: ago(1),
        }];
        doc.last_summary = Some(ContextSummary {
            text: "\n".into(),
            channel: Channel::Web,
            at: ago(1),
        });
        assert_eq!(
            render(&doc, 1000).text,
            "Memory context\n\nCurrent conversation:\nCustomer: hello"
        );
    }

    #[test]
    fn returning_customers_get_an_opening_even_without_one_given() {
        let mut doc = empty(Locale::En);
        doc.is_returning = true;
        doc.customer_name = Some("Dana".into());
        assert!(render(&doc, 1000).text.contains(
            "Returning customer — suggested opening: \"Hi Dana! Do you want to continue where we left off, or start fresh?\""
        ));
        doc.suggested_opening = Some("Welcome back, Dana.".into());
        assert!(
            render(&doc, 1000)
                .text
                .ends_with("Returning customer — suggested opening: \"Welcome back, Dana.\"")
        );
    }

    #[test]
    fn relative_times() {
        let en = |minutes: i64| relative_time(Locale::En, now(), ago(minutes));
        let he = |minutes: i64| relative_time(Locale::He, now(), ago(minutes));
        assert_eq!(en(0), "just now");
        assert_eq!(en(-2), "just now", "small clock skew");
        assert_eq!(en(1), "1 minute ago");
        assert_eq!(en(59), "59 minutes ago");
        assert_eq!(en(60), "1 hour ago");
        assert_eq!(en(23 * 60 + 59), "23 hours ago");
        assert_eq!(en(24 * 60), "1 day ago");
        assert_eq!(en(2 * 24 * 60), "2 days ago");
        assert_eq!(en(30 * 24 * 60), "30 days ago");
        assert_eq!(en(31 * 24 * 60), "on 2026-12-15");
        assert_eq!(
            en(-3 * 24 * 60),
            "on 2027-01-18",
            "far future is shown as a date"
        );
        assert_eq!(he(0), "הרגע");
        assert_eq!(he(1), "לפני דקה");
        assert_eq!(he(5), "לפני 5 דקות");
        assert_eq!(he(60), "לפני שעה");
        assert_eq!(he(120), "לפני שעתיים");
        assert_eq!(he(180), "לפני 3 שעות");
        assert_eq!(he(24 * 60), "לפני יום");
        assert_eq!(he(2 * 24 * 60), "לפני יומיים");
        assert_eq!(he(7 * 24 * 60), "לפני 7 ימים");
        assert_eq!(he(31 * 24 * 60), "ב-15.12.2026");
    }

    #[test]
    fn suggested_openings() {
        assert_eq!(
            suggested_opening(Locale::En, Some("Dana Levi")),
            "Hi Dana! Do you want to continue where we left off, or start fresh?"
        );
        assert_eq!(
            suggested_opening(Locale::En, None),
            "Hi! Do you want to continue where we left off, or start fresh?"
        );
        assert_eq!(
            suggested_opening(Locale::En, Some("   ")),
            suggested_opening(Locale::En, None)
        );
        assert_eq!(
            suggested_opening(Locale::He, Some(" דנה  לוי ")),
            "היי דנה! רוצה שנמשיך מאיפה שעצרנו או להתחיל מחדש?"
        );
        assert_eq!(
            suggested_opening(Locale::He, None),
            "היי! רוצה שנמשיך מאיפה שעצרנו או להתחיל מחדש?"
        );
    }

    fn chatty(n: usize) -> ContextDocument {
        let mut doc = english();
        doc.messages = (0..n)
            .map(|i| {
                let role = if i % 2 == 0 {
                    MessageRole::Customer
                } else {
                    MessageRole::Agent
                };
                message(
                    role,
                    &format!("message number {i} with some words"),
                    (n - i) as i64,
                )
            })
            .collect();
        doc
    }

    #[test]
    fn the_budget_drops_the_oldest_messages_first() {
        let doc = chatty(12);
        let full = render(&doc, usize::MAX).text.chars().count();
        let r = render(&doc, full - 60);
        assert!(r.text.chars().count() <= full - 60);
        assert!(r.omitted_messages >= 1);
        assert!(!r.truncated);
        let omitted = r.omitted_messages as usize;
        assert!(
            r.text
                .contains(&format!("… {omitted} earlier messages omitted"))
        );
        for i in 0..omitted {
            assert!(
                !r.text.contains(&format!("message number {i} ")),
                "{i} kept"
            );
        }
        for i in omitted..12 {
            assert!(
                r.text.contains(&format!("message number {i} ")),
                "{i} dropped"
            );
        }
        // Everything else stays whole.
        assert!(
            r.text
                .contains("- [pinned] 1 hour ago, by Avi: Prefers morning flights")
        );
        assert!(r.text.contains("Outcome: pending."));
    }

    #[test]
    fn the_newest_message_stays_while_notes_and_summary_shrink() {
        let mut doc = chatty(12);
        doc.notes[1].body = "x".repeat(300);
        // Everything fits once the old note gives up 200 of its 300 characters.
        let budget = Draft::build(&doc).len_with(11) - 200;
        let r = render(&doc, budget);
        assert!(r.text.chars().count() <= budget, "{}", r.text);
        assert_eq!(r.omitted_messages, 11);
        assert!(r.truncated);
        assert!(r.text.contains("… 11 earlier messages omitted"));
        assert!(
            r.text.ends_with("Agent: message number 11 with some words"),
            "{}",
            r.text
        );
        assert!(
            r.text.contains(&format!(": {}…\n", "x".repeat(99))),
            "the old note is shortened:\n{}",
            r.text
        );
        assert!(
            r.text
                .contains("- [pinned] 1 hour ago, by Avi: Prefers morning flights")
        );
        assert!(r.text.contains("Outcome: pending."));
    }

    #[test]
    fn long_conversations_keep_their_newest_messages() {
        let doc = chatty(5000);
        let r = render(&doc, 2000);
        assert!(r.text.chars().count() <= 2000);
        assert!(!r.truncated);
        assert!(r.text.ends_with("message number 4999 with some words"));
        let kept = 5000 - r.omitted_messages as usize;
        assert!(
            r.text
                .contains(&format!("… {} earlier messages omitted", 5000 - kept))
        );
        assert!(r.text.contains(&format!("message number {} ", 5000 - kept)));
        assert!(!r.text.contains(&format!("message number {} ", 4999 - kept)));
    }

    #[test]
    fn hebrew_omission_line() {
        let mut doc = hebrew();
        doc.messages = (0..5)
            .map(|i| {
                message(
                    MessageRole::Customer,
                    &format!("הודעה מספר {i} {}", "ארוכה ".repeat(15)),
                    10 - i,
                )
            })
            .collect();
        let full = render(&doc, usize::MAX).text.chars().count();
        let r = render(&doc, full - 150);
        assert_eq!(r.omitted_messages, 2);
        assert!(r.text.contains("… הושמטו 2 הודעות קודמות"), "{}", r.text);
        let r = render(&doc, full - 1);
        assert_eq!(r.omitted_messages, 1);
        assert!(r.text.contains("… הושמטה הודעה קודמת אחת"));
    }

    #[test]
    fn tiny_budgets() {
        let doc = hebrew();
        assert_eq!(render(&doc, 0).text, "");
        assert_eq!(render(&doc, 0).estimated_tokens, 0);
        for budget in 1..40 {
            let r = render(&doc, budget);
            assert!(r.text.chars().count() <= budget);
            assert!(r.truncated);
        }
        assert_eq!(render(&doc, 1).text, "…");
    }

    #[test]
    fn token_estimates() {
        assert_eq!(estimate_tokens(""), 0);
        assert_eq!(estimate_tokens(" "), 1);
        assert_eq!(estimate_tokens("."), 1);
        // cl100k: 10 tokens.
        let fox = estimate_tokens("The quick brown fox jumps over the lazy dog.");
        assert!((9..=12).contains(&fox), "{fox}");
        // cl100k splits numbers into groups of three digits.
        assert_eq!(estimate_tokens("1234567"), 3);
        // About one token per two Hebrew letters.
        let hebrew = estimate_tokens("שלום אני רוצה להזמין טיסה לרומא");
        assert!((12..=16).contains(&hebrew), "{hebrew}");
        assert_eq!(estimate_tokens("東京駅"), 3);
        assert_eq!(estimate_tokens("👍"), 2);
        assert_eq!(estimate_tokens("don't"), 2);
        assert_eq!(estimate_tokens("צ'אט"), 2);
    }

    fn any_text() -> impl Strategy<Value = String> {
        prop::collection::vec(
            prop_oneof![
                Just("hello".to_owned()),
                Just("שלום עולם".to_owned()),
                Just("\n".to_owned()),
                Just("  ".to_owned()),
                Just("👍🏽".to_owned()),
                Just("₪1,200.50".to_owned()),
                Just("\u{200F}".to_owned()),
                "\\PC{0,12}",
            ],
            0..8,
        )
        .prop_map(|parts| parts.join(" "))
    }

    fn any_doc() -> impl Strategy<Value = ContextDocument> {
        let role = prop::sample::select(MessageRole::ALL.to_vec());
        let channel = prop::sample::select(Channel::ALL.to_vec());
        let source = prop::sample::select(Source::ALL.to_vec());
        let kind = prop::sample::select(NoteKind::ALL.to_vec());
        (
            (
                any::<bool>(),
                prop::option::of(channel.clone()),
                prop::option::of(any_text()),
                prop::collection::vec(
                    (
                        prop::sample::select(vec!["name", "city", "budget", "custom_key"]),
                        any_text(),
                        source,
                        -0.5..1.5f64,
                    ),
                    0..4,
                ),
            ),
            prop::option::of((any_text(), channel, -100_000..100_000i64)),
            prop::collection::vec(
                (any_text(), kind, any::<bool>(), any_text(), 0..100_000i64),
                0..4,
            ),
            prop::collection::vec((role, any_text(), 0..1000i64), 0..20),
            (any::<bool>(), prop::option::of(any_text())),
        )
            .prop_map(
                |((he, channel, name, profile), summary, notes, messages, (returning, opening))| {
                    ContextDocument {
                        locale: if he { Locale::He } else { Locale::En },
                        channel,
                        customer_name: name,
                        profile: profile
                            .into_iter()
                            .map(|(k, v, s, c)| field(k, &v, s, c))
                            .collect(),
                        last_summary: summary.map(|(text, channel, m)| ContextSummary {
                            text,
                            channel,
                            at: ago(m),
                        }),
                        notes: notes
                            .into_iter()
                            .map(|(body, kind, pinned, author, m)| ContextNote {
                                body,
                                kind,
                                pinned,
                                author,
                                at: ago(m),
                            })
                            .collect(),
                        messages: messages
                            .into_iter()
                            .map(|(r, c, m)| message(r, &c, m))
                            .collect(),
                        is_returning: returning,
                        suggested_opening: opening,
                        now: now(),
                    }
                },
            )
    }

    proptest! {
        #[test]
        fn never_exceeds_the_budget(doc in any_doc(), budget in 0usize..1500) {
            let draft = Draft::build(&doc);
            prop_assert_eq!(draft.len_with(0), draft.assemble(0).chars().count());
            let full = render(&doc, usize::MAX);
            let r = render(&doc, budget);
            let len = r.text.chars().count();
            prop_assert!(len <= budget, "{} > {}", len, budget);
            if full.text.chars().count() <= budget {
                prop_assert_eq!(&r, &full);
            }
            prop_assert!(r.omitted_messages as usize <= doc.messages.len());
            // No more messages are dropped than the budget needs.
            if r.omitted_messages > 0 {
                prop_assert!(draft.len_with(r.omitted_messages as usize - 1) > budget);
            }
            if !r.text.is_empty() {
                prop_assert!(r.estimated_tokens >= 1);
            }
            // What is dropped is always the oldest: the kept messages are a suffix.
            let shown: Vec<&String> = draft.messages.iter().filter(|m| r.text.contains(m.as_str())).collect();
            if !r.truncated && r.omitted_messages > 0 {
                let kept = draft.messages.len() - r.omitted_messages as usize;
                prop_assert!(kept >= 1);
                let suffix: Vec<&String> = draft.messages[draft.messages.len() - kept..].iter().collect();
                for m in suffix {
                    prop_assert!(shown.contains(&m));
                }
            }
        }

        #[test]
        fn token_estimates_grow_with_the_text(a in any_text(), b in any_text()) {
            let base = estimate_tokens(&a);
            let longer = format!("{a} {b}");
            prop_assert!(estimate_tokens(&longer) >= base);
            prop_assert_eq!(base == 0, a.is_empty());
        }
    }
}
