//! Search text: how messages, summaries and notes become index terms, how a customer's query
//! becomes an FTS5 or PostgreSQL query (never a syntax or SQL error), and how a hit's snippet
//! marks the words that matched.
//!
//! Both databases index the terms made here, not the raw text, so English stemming, niqqud and
//! Hebrew prefix letters behave the same on SQLite and PostgreSQL. A Hebrew word is indexed
//! with its prefix-stripped forms ("והדירה" also as "הדירה" and "דירה"); a query word is looked
//! up as typed, so "דירה" finds "והדירה" while "לכיוון" is never read as "יוון".

use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::OnceLock;

use rust_stemmers::{Algorithm, Stemmer};

use chrono::{DateTime, Utc};

use super::context::relative_time;
use super::locale::wording;
use super::text::hebrew;
use super::vocabulary::vocabulary;
use super::{Channel, InvalidInput, Locale, MessageRole};

vocabulary! {
    /// What a search hit is.
    SearchKind {
        /// A message of a conversation.
        Message => "message",
        /// The summary of a closed conversation.
        Summary => "summary",
        /// A staff note or call summary.
        Note => "note",
    }
}

/// The longest query accepted, in characters.
pub const MAX_QUERY_CHARS: usize = 1000;

/// Tokens NEAR may put between the words of a Hebrew phrase on SQLite: each word is followed
/// by up to four prefix-stripped forms of itself (see [`SearchQuery::to_fts5`]).
const HEBREW_PHRASE_SLACK: usize = 5;

/// Longer words are not indexed.
const MAX_TERM_BYTES: usize = 200;

/// PostgreSQL's largest word position; later words share it.
const PG_MAX_POSITION: usize = 16_383;

/// One word of a text: where it sits in the original, and its normalized form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word {
    /// Byte range in the original text (vowel points included).
    pub orig: Range<usize>,
    /// Lowercased, without niqqud or apostrophes; English words stemmed.
    pub term: String,
    /// Starts with a Hebrew letter (so prefix letters may be attached).
    pub hebrew: bool,
}

impl Word {
    /// The forms this word is indexed under: itself, and for Hebrew its prefix-stripped forms.
    pub fn forms(&self) -> Vec<&str> {
        let mut forms = vec![self.term.as_str()];
        if self.hebrew {
            forms.extend(without_prefixes(&self.term));
        }
        forms
    }
}

fn stemmer() -> &'static Stemmer {
    static STEMMER: OnceLock<Stemmer> = OnceLock::new();
    STEMMER.get_or_init(|| Stemmer::create(Algorithm::English))
}

/// A quote inside a word that belongs to it: an English apostrophe ("don't") or a Hebrew
/// geresh or gershayim (ש"ח). It is dropped, joining the two halves.
fn is_inner_quote(c: char) -> bool {
    matches!(c, '\'' | '’' | '׳' | '"' | '״' | '`')
}

/// Splits `text` into words: runs of letters and digits, niqqud ignored, inner apostrophes
/// and gershayim dropped, lowercased; ASCII words stemmed as English.
pub fn words(text: &str) -> Vec<Word> {
    let mut out = Vec::new();
    let mut current: Option<(usize, usize, String)> = None;
    let mut chars = text.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        let end = at + c.len_utf8();
        if hebrew::is_point(c) {
            if let Some((_, e, _)) = current.as_mut() {
                *e = end;
            }
            continue;
        }
        if c.is_alphanumeric() {
            let (_, e, raw) = current.get_or_insert_with(|| (at, at, String::new()));
            raw.extend(c.to_lowercase());
            *e = end;
            continue;
        }
        if is_inner_quote(c)
            && let Some((_, e, _)) = current.as_mut()
            && chars.peek().is_some_and(|&(_, n)| n.is_alphanumeric())
        {
            *e = end;
            continue;
        }
        if let Some(word) = current.take() {
            out.push(finish_word(word));
        }
    }
    if let Some(word) = current.take() {
        out.push(finish_word(word));
    }
    out
}

fn finish_word((start, end, raw): (usize, usize, String)) -> Word {
    let hebrew = raw.chars().next().is_some_and(hebrew::is_letter);
    let term = if raw.bytes().all(|b| b.is_ascii_lowercase()) {
        stemmer().stem(&raw).into_owned()
    } else {
        raw
    };
    Word {
        orig: start..end,
        term,
        hebrew,
    }
}

/// Whether `prefix` is a sequence of Hebrew prefix letters in the order the language attaches
/// them: and (ו), that (ש, כש), in/as/to/from (ב כ ל מ), the (ה). "לכ" is not one, which is
/// why "לכיוון" is not also indexed as "יוון".
fn is_prefix_sequence(prefix: &[char]) -> bool {
    let mut i = 0;
    if prefix.get(i) == Some(&'ו') {
        i += 1;
    }
    if prefix.get(i) == Some(&'כ') && prefix.get(i + 1) == Some(&'ש') {
        i += 2;
    } else if prefix.get(i) == Some(&'ש') {
        i += 1;
    }
    if matches!(prefix.get(i), Some('ב' | 'כ' | 'ל' | 'מ')) {
        i += 1;
    }
    if prefix.get(i) == Some(&'ה') {
        i += 1;
    }
    i > 0 && i == prefix.len() && prefix.iter().all(|&c| hebrew::is_prefix(c))
}

/// A Hebrew word without each sequence of attached prefix letters that leaves at least two
/// letters, shortest prefix first ("והדירה" → "הדירה", "דירה").
pub fn without_prefixes(word: &str) -> Vec<&str> {
    let chars: Vec<(usize, char)> = word.char_indices().collect();
    let letters: Vec<char> = chars.iter().map(|&(_, c)| c).collect();
    (1..=4.min(letters.len().saturating_sub(2)))
        .filter(|&n| is_prefix_sequence(&letters[..n]))
        .map(|n| &word[chars[n].0..])
        .collect()
}

/// How a database's index takes a text's terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TermsFormat {
    /// For SQLite's FTS5: every form, space-separated, each word's stripped forms right after
    /// it.
    Fts5,
    /// For PostgreSQL: a `tsvector` literal whose stripped forms share their word's position,
    /// so a quoted phrase matches across prefix letters exactly.
    TsVector,
}

/// The index terms of `text`, as `format` takes them.
pub fn index_terms(text: &str, format: TermsFormat) -> String {
    let words = words(text);
    // Every form of every word, with its word's position.
    let forms = words.iter().enumerate().flat_map(|(i, word)| {
        let position = (i + 1).min(PG_MAX_POSITION);
        word.forms()
            .into_iter()
            // PostgreSQL refuses a lexeme over 2 KB; nobody searches for such a "word".
            .filter(|form| form.len() <= MAX_TERM_BYTES)
            .map(move |form| (form, position))
    });
    match format {
        TermsFormat::Fts5 => {
            let mut body = String::with_capacity(text.len() + 16);
            for (form, _) in forms {
                if !body.is_empty() {
                    body.push(' ');
                }
                body.push_str(form);
            }
            body
        }
        TermsFormat::TsVector => {
            let mut positions: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
            for (form, position) in forms {
                let list = positions.entry(form).or_default();
                // PostgreSQL keeps at most 256 positions of a lexeme.
                if list.len() < 255 && list.last() != Some(&position) {
                    list.push(position);
                }
            }
            let mut tsvector = String::with_capacity(text.len() + positions.len() * 6);
            for (term, list) in positions {
                if !tsvector.is_empty() {
                    tsvector.push(' ');
                }
                // Terms are letters and digits only: nothing in them needs escaping.
                tsvector.push('\'');
                tsvector.push_str(term);
                tsvector.push_str("':");
                for (n, position) in list.iter().enumerate() {
                    if n > 0 {
                        tsvector.push(',');
                    }
                    tsvector.push_str(&position.to_string());
                }
            }
            tsvector
        }
    }
}

/// One typed word or quoted phrase: the terms that must appear in a row, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phrase {
    pub terms: Vec<String>,
    /// Some word is Hebrew (may carry prefix letters in the text).
    pub hebrew: bool,
}

/// A parsed query: every group must match (one of its phrases), no excluded phrase may.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchQuery {
    pub groups: Vec<Vec<Phrase>>,
    pub excluded: Vec<Phrase>,
}

enum Piece {
    Phrase { phrase: Phrase, negated: bool },
    Or,
}

/// A quote that opens or closes a phrase: a straight or typographic double quote, except a
/// gershayim between two Hebrew letters (ש"ח).
fn is_phrase_quote(text: &[char], i: usize) -> bool {
    let c = text[i];
    if !matches!(c, '"' | '“' | '”' | '״') {
        return false;
    }
    let before = i.checked_sub(1).map(|j| text[j]);
    let after = text.get(i + 1).copied();
    !(before.is_some_and(hebrew::is_letter) && after.is_some_and(hebrew::is_letter))
}

impl SearchQuery {
    /// Reads a query as people type it: words (all must appear), `"quoted phrases"`, `OR`
    /// between alternatives, `-word` or `-"phrase"` to exclude. Other punctuation, `*`, `:`
    /// and `NEAR` are plain text. Empty, too long, an unclosed quote, or nothing left to find
    /// but exclusions: a clear error on `field`.
    pub fn parse(raw: &str, field: &str) -> Result<Self, InvalidInput> {
        let text = raw.trim();
        if text.is_empty() {
            return Err(InvalidInput::new(
                field,
                "write at least one word to search for",
            ));
        }
        if text.chars().count() > MAX_QUERY_CHARS {
            return Err(InvalidInput::new(
                field,
                format!("a search is at most {MAX_QUERY_CHARS} characters"),
            ));
        }
        let chars: Vec<char> = text.chars().collect();
        let mut pieces = Vec::new();
        let mut i = 0;
        let mut bare = String::new();
        while i < chars.len() {
            if is_phrase_quote(&chars, i) {
                let close = (i + 1..chars.len()).find(|&j| is_phrase_quote(&chars, j));
                let Some(close) = close else {
                    return Err(InvalidInput::new(
                        field,
                        "a quoted phrase is not closed: add the closing \" or remove the quote",
                    ));
                };
                // A `-` right before the quote excludes the phrase.
                let negated = bare.ends_with('-')
                    && bare[..bare.len() - 1]
                        .chars()
                        .last()
                        .is_none_or(char::is_whitespace);
                if negated {
                    bare.pop();
                }
                bare_pieces(&bare, &mut pieces);
                bare.clear();
                let inner: String = chars[i + 1..close].iter().collect();
                if let Some(phrase) = phrase_of(&inner) {
                    pieces.push(Piece::Phrase { phrase, negated });
                }
                i = close + 1;
                continue;
            }
            bare.push(chars[i]);
            i += 1;
        }
        bare_pieces(&bare, &mut pieces);
        let query = group(pieces);
        if query.groups.is_empty() {
            return Err(InvalidInput::new(
                field,
                "nothing to search for: give at least one word that is not excluded",
            ));
        }
        Ok(query)
    }

    /// A query for text as written (a customer's message): a record matches with any of its
    /// words, and ranks higher with more of them. Hebrew words are also looked up without
    /// their prefix letters. `None` when the text has no words.
    pub fn any_of(text: &str) -> Option<Self> {
        let mut alternatives: Vec<Phrase> = Vec::new();
        for word in words(text).into_iter().take(64) {
            for form in word.forms() {
                if alternatives.iter().all(|p| p.terms[0] != form) {
                    alternatives.push(Phrase {
                        terms: vec![form.to_owned()],
                        hebrew: word.hebrew,
                    });
                }
            }
        }
        (!alternatives.is_empty()).then(|| SearchQuery {
            groups: vec![alternatives],
            excluded: Vec::new(),
        })
    }

    /// Whether the query is plain words: no phrase, `OR` or exclusion.
    pub fn is_plain(&self) -> bool {
        self.excluded.is_empty()
            && self
                .groups
                .iter()
                .all(|g| g.len() == 1 && g[0].terms.len() == 1)
    }

    /// Every term a matching row may contain (for snippets).
    pub fn wanted_terms(&self) -> Vec<&str> {
        let mut terms: Vec<&str> = self
            .groups
            .iter()
            .flatten()
            .flat_map(|p| p.terms.iter().map(String::as_str))
            .collect();
        terms.sort_unstable();
        terms.dedup();
        terms
    }

    /// The FTS5 expression over the `body` column. Every term is a quoted string, so no word
    /// can be read as an operator; a Hebrew phrase is a NEAR group, since a word's stripped
    /// forms sit right after it in the index.
    pub fn to_fts5(&self) -> String {
        fn phrase(p: &Phrase) -> String {
            let quoted: Vec<String> = p.terms.iter().map(|t| format!("\"{t}\"")).collect();
            if p.terms.len() > 1 && p.hebrew {
                format!(
                    "NEAR({}, {})",
                    quoted.join(" "),
                    HEBREW_PHRASE_SLACK * (p.terms.len() - 1)
                )
            } else {
                format!("\"{}\"", p.terms.join(" "))
            }
        }
        let groups: Vec<String> = self
            .groups
            .iter()
            .map(|g| {
                let alternatives: Vec<String> = g.iter().map(phrase).collect();
                format!("({})", alternatives.join(" OR "))
            })
            .collect();
        let mut expr = format!("body : ({})", groups.join(" AND "));
        if !self.excluded.is_empty() {
            let excluded: Vec<String> = self.excluded.iter().map(phrase).collect();
            expr = format!("({expr}) NOT body : ({})", excluded.join(" OR "));
        }
        expr
    }

    /// One `websearch_to_tsquery` text per group (alternatives joined by `or`), and one per
    /// excluded phrase; the SQL combines them with `&&` and `!!`, which keeps the grouping
    /// exact (websearch syntax has no parentheses).
    pub fn to_websearch(&self) -> (Vec<String>, Vec<String>) {
        fn phrase(p: &Phrase) -> String {
            format!("\"{}\"", p.terms.join(" "))
        }
        let groups = self
            .groups
            .iter()
            .map(|g| g.iter().map(phrase).collect::<Vec<_>>().join(" or "))
            .collect();
        let excluded = self.excluded.iter().map(phrase).collect();
        (groups, excluded)
    }
}

fn phrase_of(text: &str) -> Option<Phrase> {
    let words = words(text);
    if words.is_empty() {
        return None;
    }
    Some(Phrase {
        hebrew: words.iter().any(|w| w.hebrew),
        terms: words.into_iter().map(|w| w.term).collect(),
    })
}

fn bare_pieces(text: &str, pieces: &mut Vec<Piece>) {
    for raw in text.split_whitespace() {
        if raw == "OR" || raw == "|" {
            pieces.push(Piece::Or);
            continue;
        }
        let (negated, rest) = match raw.strip_prefix('-') {
            Some(rest) if !rest.is_empty() => (true, rest),
            _ => (false, raw),
        };
        if negated {
            if let Some(phrase) = phrase_of(rest) {
                pieces.push(Piece::Phrase { phrase, negated });
            }
            continue;
        }
        // Punctuation inside a typed word separates words ("NEAR(beach)", "price:100").
        for word in words(rest) {
            pieces.push(Piece::Phrase {
                phrase: Phrase {
                    terms: vec![word.term],
                    hebrew: word.hebrew,
                },
                negated: false,
            });
        }
    }
}

/// Joins `a OR b` into one group; an `OR` with no phrase on one side is ignored.
fn group(pieces: Vec<Piece>) -> SearchQuery {
    let mut groups: Vec<Vec<Phrase>> = Vec::new();
    let mut excluded = Vec::new();
    let mut join_next = false;
    for piece in pieces {
        match piece {
            Piece::Or => join_next = !groups.is_empty(),
            Piece::Phrase {
                phrase,
                negated: true,
            } => {
                excluded.push(phrase);
                join_next = false;
            }
            Piece::Phrase { phrase, .. } => {
                match groups.last_mut() {
                    Some(last) if join_next => last.push(phrase),
                    _ => groups.push(vec![phrase]),
                }
                join_next = false;
            }
        }
    }
    SearchQuery { groups, excluded }
}

/// Words of context shown before the first match.
const SNIPPET_BEFORE: usize = 8;
/// Words in a snippet.
const SNIPPET_WORDS: usize = 32;

/// A short HTML-safe excerpt of `text` around the first word that matches `terms`, each
/// matching word wrapped in `<mark>…</mark>`, `…` where text was cut.
pub fn snippet(text: &str, terms: &[&str]) -> String {
    let words = words(text);
    let hit = |w: &Word| w.forms().iter().any(|f| terms.contains(f));
    let first = words.iter().position(hit).unwrap_or(0);
    let start = first.saturating_sub(SNIPPET_BEFORE);
    let end = (start + SNIPPET_WORDS).min(words.len());
    if words.is_empty() {
        return escape_html(text.chars().take(200).collect::<String>().as_str());
    }
    let from = if start == 0 {
        0
    } else {
        words[start].orig.start
    };
    let to = if end == words.len() {
        text.len()
    } else {
        words[end - 1].orig.end
    };
    let mut out = String::with_capacity(to - from + 32);
    if from > 0 {
        out.push('…');
    }
    let mut at = from;
    for word in &words[start..end] {
        if hit(word) {
            out.push_str(&escape_html(&text[at..word.orig.start]));
            out.push_str("<mark>");
            out.push_str(&escape_html(&text[word.orig.clone()]));
            out.push_str("</mark>");
            at = word.orig.end;
        }
    }
    out.push_str(&escape_html(&text[at..to]));
    if to < text.len() {
        out.push('…');
    }
    out
}

fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// One of a lead's past moments relevant to the message at hand (memory context).
#[derive(Debug, Clone, PartialEq)]
pub struct RelevantMemory {
    pub kind: SearchKind,
    pub text: String,
    pub at: DateTime<Utc>,
    pub channel: Option<Channel>,
    /// Who said it (messages only).
    pub role: Option<MessageRole>,
}

/// Characters of one relevant memory shown in the memory context.
const RELEVANT_ITEM_CHARS: usize = 280;
/// The least of a memory worth showing cut short.
const MIN_CUT_CHARS: usize = 24;

/// The memory context's section of relevant past moments, most relevant first, in at most
/// `max_chars` characters (whole lines only; empty when not even one fits).
pub fn relevant_section(
    locale: Locale,
    now: DateTime<Utc>,
    memories: &[RelevantMemory],
    max_chars: usize,
) -> String {
    let words = wording(locale);
    let l = &words.context;
    let mut section = format!("{}:", l.relevant);
    let mut used = section.chars().count();
    let mut lines = 0;
    for memory in memories {
        let mut text: String = memory.text.split_whitespace().collect::<Vec<_>>().join(" ");
        if text.chars().count() > RELEVANT_ITEM_CHARS {
            text = text.chars().take(RELEVANT_ITEM_CHARS - 1).collect();
            text.push('…');
        }
        let mut line = format!("\n- {}", relative_time(locale, now, memory.at));
        if let Some(channel) = memory.channel {
            line.push_str(", ");
            line.push_str(l.channel(channel));
        }
        line.push_str(": ");
        if let Some(role) = memory.role {
            line.push_str(words.role(role));
            line.push_str(": ");
        }
        // The last line that fits only in part is cut, if enough of it is left to read.
        let room = max_chars.saturating_sub(used + line.chars().count());
        let text_chars = text.chars().count();
        let cut = text_chars > room;
        if cut {
            if room < MIN_CUT_CHARS {
                break;
            }
            text = text.chars().take(room - 1).collect();
            text.push('…');
        }
        line.push_str(&text);
        used += line.chars().count();
        section.push_str(&line);
        lines += 1;
        if cut {
            break;
        }
    }
    if lines == 0 { String::new() } else { section }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terms(text: &str) -> Vec<String> {
        words(text).into_iter().map(|w| w.term).collect()
    }

    #[test]
    fn english_words_are_stemmed_and_lowercased() {
        assert_eq!(terms("Balconies, STARS!"), ["balconi", "star"]);
        assert_eq!(terms("I don't"), ["i", "dont"]);
        assert_eq!(terms("16GB e-mail"), ["16gb", "e", "mail"]);
    }

    #[test]
    fn niqqud_is_ignored_and_gershayim_join_the_word() {
        assert_eq!(terms("כֶּלֶב שִׁיצוּ"), ["כלב", "שיצו"]);
        assert_eq!(terms("100 ש\"ח"), ["100", "שח"]);
    }

    #[test]
    fn hebrew_prefixes_come_off_in_the_order_the_language_attaches_them() {
        assert_eq!(without_prefixes("והדירה"), ["הדירה", "דירה"]);
        assert_eq!(without_prefixes("שהמרפסת"), ["המרפסת", "מרפסת"]);
        assert_eq!(without_prefixes("ולמשכנתא"), ["למשכנתא", "משכנתא"]);
        assert_eq!(without_prefixes("לכיוון"), ["כיוון"]);
        assert!(without_prefixes("דירה").is_empty());
        assert!(without_prefixes("של").is_empty());
    }

    #[test]
    fn stripped_forms_share_the_word_position_in_the_tsvector() {
        assert_eq!(
            index_terms("דמי הביטול", TermsFormat::Fts5),
            "דמי הביטול ביטול"
        );
        assert_eq!(
            index_terms("דמי הביטול", TermsFormat::TsVector),
            "'ביטול':2 'דמי':1 'הביטול':2"
        );
    }

    #[test]
    fn a_query_reads_phrases_or_and_exclusions() {
        let q = SearchQuery::parse(r#"coupon OR "gift card" -expired"#, "query").unwrap();
        assert_eq!(q.groups.len(), 1);
        assert_eq!(q.groups[0].len(), 2);
        assert_eq!(q.excluded[0].terms, ["expir"]);
        assert_eq!(
            q.to_fts5(),
            r#"(body : (("coupon" OR "gift card"))) NOT body : ("expir")"#
        );
        let (groups, excluded) = q.to_websearch();
        assert_eq!(groups, [r#""coupon" or "gift card""#]);
        assert_eq!(excluded, [r#""expir""#]);
    }

    #[test]
    fn syntax_characters_are_plain_words() {
        let q = SearchQuery::parse("NEAR(a* b:c) ^x AND", "query").unwrap();
        let all: Vec<&str> = q.wanted_terms();
        assert_eq!(all, ["a", "and", "b", "c", "near", "x"]);
        assert!(!q.to_fts5().contains("NEAR"));
    }

    #[test]
    fn bad_queries_are_refused_with_a_reason() {
        for bad in ["", "   ", "\"open phrase", "-only -exclusions", "* : ^"] {
            let err = SearchQuery::parse(bad, "query").unwrap_err();
            assert_eq!(err.field, "query", "{bad}");
        }
        let long = "word ".repeat(201);
        assert!(SearchQuery::parse(&long, "query").is_err());
    }

    #[test]
    fn gershayim_inside_a_hebrew_word_is_not_a_quote() {
        let q = SearchQuery::parse("מחיר בש\"ח", "query").unwrap();
        assert_eq!(q.groups.len(), 2);
    }

    #[test]
    fn hebrew_phrases_are_near_groups_on_fts5() {
        let q = SearchQuery::parse("\"דמי ביטול\"", "query").unwrap();
        assert_eq!(q.to_fts5(), "body : ((NEAR(\"דמי\" \"ביטול\", 5)))");
    }

    #[test]
    fn the_relevant_section_has_its_heading_and_keeps_to_its_budget() {
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let memory = |text: &str| RelevantMemory {
            kind: SearchKind::Message,
            text: text.into(),
            at: now - chrono::Duration::days(3),
            channel: Some(Channel::Whatsapp),
            role: Some(MessageRole::Customer),
        };
        let memories = [memory("I love the   balcony"), memory("Second one")];
        let en = relevant_section(Locale::En, now, &memories, 1000);
        assert_eq!(
            en,
            "Relevant past moments:\n- 3 days ago, WhatsApp: Customer: I love the balcony\n\
             - 3 days ago, WhatsApp: Customer: Second one"
        );
        let one = relevant_section(Locale::En, now, &memories, 80);
        assert_eq!(one.lines().count(), 2, "{one}");
        let long = [memory(&"word ".repeat(100))];
        let cut = relevant_section(Locale::En, now, &long, 100);
        assert_eq!(cut.chars().count(), 100, "{cut}");
        assert!(cut.ends_with('…'), "{cut}");
        assert_eq!(relevant_section(Locale::En, now, &memories, 10), "");
        assert!(relevant_section(Locale::He, now, &memories, 1000).starts_with("רגעים רלוונטיים"));
    }

    #[test]
    fn snippets_mark_matching_words_and_escape_html() {
        let q = SearchQuery::parse("balcony", "query").unwrap();
        let s = snippet(
            "The <b> balcony faces the sea & the balconies too",
            &q.wanted_terms(),
        );
        assert_eq!(
            s,
            "The &lt;b&gt; <mark>balcony</mark> faces the sea &amp; the <mark>balconies</mark> too"
        );
        let q = SearchQuery::parse("דירה", "query").unwrap();
        assert_eq!(
            snippet("ראיתי את והדירה יפה", &q.wanted_terms()),
            "ראיתי את <mark>והדירה</mark> יפה"
        );
    }
}
