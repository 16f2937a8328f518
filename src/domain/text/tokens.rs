//! A message split into words once, for every lexicon and cue that reads it.

use std::ops::Range;

use super::hebrew;
use super::lexicon::listed;

/// Typographic quotes and Hebrew geresh/gershayim read as the ASCII ones.
fn fold_quote(c: char) -> char {
    match c {
        '’' | '‘' | '`' | '´' | '׳' => '\'',
        '״' | '“' | '”' => '"',
        other => other,
    }
}

/// One word of a message: where it sits in the lowercased copy and in the original text.
#[derive(Debug, Clone)]
pub(crate) struct Token {
    pub(crate) norm: Range<usize>,
    pub(crate) orig: Range<usize>,
    /// Starts with a Hebrew letter (so prefixes may be attached).
    pub(crate) hebrew: bool,
    /// ASCII digits only.
    pub(crate) numeric: bool,
}

/// A message split into words once and shared by every lexicon scan.
///
/// Words are runs of letters and digits, lowercased. English apostrophes are dropped ("don't"
/// reads "dont", "I'm" reads "im"); Hebrew keeps geresh and gershayim inside a word (ש"ח, מט"ח)
/// and after a lone letter (יום ב').
pub(crate) struct Tokens<'t> {
    pub(crate) text: &'t str,
    norm: String,
    pub(crate) list: Vec<Token>,
}

impl<'t> Tokens<'t> {
    pub(crate) fn new(text: &'t str) -> Self {
        let mut norm = String::with_capacity(text.len());
        let mut list = Vec::new();
        let mut current: Option<Token> = None;
        let mut letters = 0usize;
        let mut last = ' ';
        let mut chars = text.char_indices().peekable();
        while let Some((at, raw)) = chars.next() {
            let c = fold_quote(raw);
            let end = at + raw.len_utf8();
            if hebrew::is_point(c) {
                if let Some(token) = current.as_mut() {
                    token.orig.end = end;
                }
                continue;
            }
            // ASCII and Hebrew first: the general Unicode tables are slow binary searches.
            let is_hebrew = hebrew::is_letter(c);
            if c.is_ascii_alphanumeric() || is_hebrew || c.is_alphanumeric() {
                let token = current.get_or_insert(Token {
                    norm: norm.len()..norm.len(),
                    orig: at..at,
                    hebrew: is_hebrew,
                    numeric: true,
                });
                token.numeric &= c.is_ascii_digit();
                if c.is_ascii() || is_hebrew {
                    norm.push(c.to_ascii_lowercase());
                } else {
                    norm.extend(c.to_lowercase());
                }
                token.norm.end = norm.len();
                token.orig.end = end;
                letters += 1;
                last = c;
                continue;
            }
            if let (Some(token), '\'' | '"') = (current.as_mut(), c) {
                let next_is_letter = chars.peek().is_some_and(|&(_, n)| n.is_alphabetic());
                if hebrew::is_letter(last) && (next_is_letter || (c == '\'' && letters == 1)) {
                    norm.push(c);
                    token.norm.end = norm.len();
                    token.orig.end = end;
                    letters += 1;
                    last = c;
                    continue;
                }
                if c == '\'' && last.is_alphabetic() && next_is_letter {
                    token.orig.end = end;
                    continue;
                }
            }
            if let Some(token) = current.take() {
                list.push(token);
            }
            letters = 0;
            last = c;
        }
        if let Some(token) = current.take() {
            list.push(token);
        }
        Self { text, norm, list }
    }

    pub(crate) fn len(&self) -> usize {
        self.list.len()
    }

    /// The lowercased word `i`; empty past the end.
    pub(crate) fn word(&self, i: usize) -> &str {
        self.list
            .get(i)
            .and_then(|t| self.norm.get(t.norm.clone()))
            .unwrap_or("")
    }

    /// Word `i` as written; empty past the end.
    pub(crate) fn orig(&self, i: usize) -> &'t str {
        self.list
            .get(i)
            .and_then(|t| self.text.get(t.orig.clone()))
            .unwrap_or("")
    }

    /// What separates word `i` from the one before it (or from the start of the text).
    pub(crate) fn gap_before(&self, i: usize) -> &'t str {
        let Some(token) = self.list.get(i) else {
            return "";
        };
        let from = i
            .checked_sub(1)
            .and_then(|p| self.list.get(p))
            .map_or(0, |p| p.orig.end);
        self.text.get(from..token.orig.start).unwrap_or("")
    }

    /// What follows word `i` up to the next word (or the end of the text).
    pub(crate) fn gap_after(&self, i: usize) -> &'t str {
        let Some(token) = self.list.get(i) else {
            return "";
        };
        let to = self
            .list
            .get(i + 1)
            .map_or(self.text.len(), |n| n.orig.start);
        self.text.get(token.orig.end..to).unwrap_or("")
    }

    /// Index of the first word that ends after byte `at`.
    pub(crate) fn index_at(&self, at: usize) -> usize {
        self.list.partition_point(|t| t.orig.end <= at)
    }

    /// Word `i` (lowercased), then for Hebrew the same word without one, two or three prefix
    /// letters, each with the prefix it dropped.
    pub(super) fn variants(&self, i: usize) -> impl Iterator<Item = (&str, &str)> {
        let word = self.word(i);
        let mut out = [(word, ""); 4];
        let mut n = 1;
        if self.list.get(i).is_some_and(|t| t.hebrew) {
            for (k, (at, c)) in word.char_indices().enumerate() {
                if k >= 3 || !hebrew::is_prefix(c) {
                    break;
                }
                let cut = at + c.len_utf8();
                let rest = &word[cut..];
                if rest.chars().count() < 2 {
                    break;
                }
                out[n] = (rest, &word[..cut]);
                n += 1;
            }
        }
        out.into_iter().take(n)
    }

    /// Whether word `i` is `w`, or for Hebrew `w` behind up to three prefix letters.
    pub(crate) fn matches(&self, i: usize, w: &str) -> bool {
        let word = self.word(i);
        if word == w {
            return true;
        }
        let is_hebrew = self.list.get(i).is_some_and(|t| t.hebrew);
        if !is_hebrew || word.len() <= w.len() || !word.ends_with(w) || w.chars().count() < 2 {
            return false;
        }
        let head = &word[..word.len() - w.len()];
        head.chars().count() <= 3 && head.chars().all(hebrew::is_prefix)
    }

    /// Whether one of the `n` words before `i` is (or, in Hebrew, carries) one of `words`
    /// (separated by spaces).
    pub(crate) fn any_before(&self, i: usize, n: usize, words: &'static str) -> bool {
        // A word matches when it, or (Hebrew) it without its prefix letters, is listed.
        (i.saturating_sub(n)..i).any(|j| self.variants(j).any(|(w, _)| listed(words, w)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens() {
        let toks = Tokens::new("I'm paying 250 ש״ח, don't ask! ביום ב׳ ב-10:30 שָׁלוֹם");
        let words: Vec<&str> = (0..toks.len()).map(|i| toks.word(i)).collect();
        assert_eq!(
            words,
            [
                "im", "paying", "250", "ש\"ח", "dont", "ask", "ביום", "ב'", "ב", "10", "30", "שלום"
            ]
        );
        assert_eq!(toks.orig(3), "ש״ח");
        assert_eq!(toks.orig(11), "שָׁלוֹם");
        assert!(toks.matches(6, "יום"));
        assert!(!toks.matches(0, "m"));
        assert_eq!(toks.word(99), "");
    }
}
