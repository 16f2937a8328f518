//! Phrase lexicons: phrases mapped to values, found in a message's words longest first.
//!
//! Hebrew phrases are also found behind attached prefix letters ("ובשבוע" finds "שבוע"), and
//! each phrase has a [`Rule`] for the words around it that change its meaning.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

use super::numbers::MULTIPLIERS;
use super::tokens::Tokens;

/// When a phrase does not mean what its lexicon says.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Rule {
    /// Neither of the two words before may be one of these.
    pub(crate) not_after: &'static [&'static str],
    /// The word after may not be one of these.
    pub(crate) not_before: &'static [&'static str],
    /// When not empty, the word before must be one of these.
    pub(crate) only_after: &'static [&'static str],
    /// Hebrew prefix letters that change the meaning ("בכרטיס אשראי" is how one pays).
    pub(crate) bad_prefix: &'static [char],
    /// When not empty, one of these prefix letters must be attached ("בשישי" is Friday).
    pub(crate) need_prefix: &'static [char],
    /// Only right after a number ("100 שח").
    pub(crate) after_number: bool,
    /// Only in capitals (currency codes that are also words: TRY, RUB, RON).
    pub(crate) upper_only: bool,
}

impl Rule {
    pub(crate) const ANY: Rule = Rule {
        not_after: &[],
        not_before: &[],
        only_after: &[],
        bad_prefix: &[],
        need_prefix: &[],
        after_number: false,
        upper_only: false,
    };

    fn allows(&self, toks: &Tokens<'_>, start: usize, end: usize, prefix: &str) -> bool {
        if prefix.contains(self.bad_prefix) {
            return false;
        }
        if !self.need_prefix.is_empty() && !prefix.contains(self.need_prefix) {
            return false;
        }
        let before = |k: usize| start.checked_sub(k).map(|j| toks.word(j));
        if !self.only_after.is_empty() && !before(1).is_some_and(|w| self.only_after.contains(&w)) {
            return false;
        }
        if [before(1), before(2)]
            .into_iter()
            .flatten()
            .any(|w| self.not_after.contains(&w))
        {
            return false;
        }
        if end < toks.len() && self.not_before.contains(&toks.word(end)) {
            return false;
        }
        if self.after_number {
            let numberish = start.checked_sub(1).is_some_and(|j| {
                toks.list[j].numeric || MULTIPLIERS.iter().any(|(w, _)| toks.word(j) == *w)
            });
            if !numberish {
                return false;
            }
        }
        if self.upper_only && toks.orig(start).chars().any(char::is_lowercase) {
            return false;
        }
        true
    }
}

struct Entry<T> {
    words: Vec<&'static str>,
    value: T,
    rule: Rule,
}

/// FNV-1a: every word of every message is looked up in several lexicons, and the keys are our
/// own literals, so the default DoS-resistant hasher buys nothing here.
#[derive(Default)]
struct WordHasher(u64);

impl Hasher for WordHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut hash = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for &b in bytes {
            hash = (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = hash;
    }
}

/// Phrases (one or more words) mapped to values, indexed by their first word.
pub(crate) struct Lexicon<T> {
    entries: Vec<Entry<T>>,
    by_first: HashMap<&'static str, Vec<usize>, BuildHasherDefault<WordHasher>>,
}

/// A phrase found at words `start..end`.
pub(crate) struct Hit<'a, T> {
    pub(crate) start: usize,
    pub(crate) end: usize,
    /// Which lexicon entry matched, to count each phrase once.
    pub(crate) entry: usize,
    pub(crate) value: &'a T,
    /// Hebrew prefix letters attached to the first word ("ב" in "בדולרים").
    pub(crate) prefix: &'a str,
}

impl<T> Lexicon<T> {
    /// Phrases are lowercase words separated by spaces, spelt as [`Tokens`] reads them.
    pub(crate) fn new(items: impl IntoIterator<Item = (&'static str, T, Rule)>) -> Self {
        let mut entries = Vec::new();
        let mut by_first: HashMap<&'static str, Vec<usize>, BuildHasherDefault<WordHasher>> =
            HashMap::default();
        for (phrase, value, rule) in items {
            let words: Vec<&'static str> = phrase.split_whitespace().collect();
            let Some(&first) = words.first() else {
                continue;
            };
            by_first.entry(first).or_default().push(entries.len());
            entries.push(Entry { words, value, rule });
        }
        Self { entries, by_first }
    }

    /// Non-overlapping phrases, left to right, the longest at each position.
    pub(crate) fn scan<'a>(&'a self, toks: &'a Tokens<'_>) -> Vec<Hit<'a, T>> {
        let mut hits = Vec::new();
        let mut i = 0;
        while i < toks.len() {
            match self.longest_at(toks, i) {
                Some(hit) => {
                    i = hit.end;
                    hits.push(hit);
                }
                None => i += 1,
            }
        }
        hits
    }

    /// The longest phrase starting at word `i`; on a tie the one declared first.
    pub(crate) fn longest_at<'a>(&'a self, toks: &'a Tokens<'_>, i: usize) -> Option<Hit<'a, T>> {
        let mut best: Option<Hit<'a, T>> = None;
        for (key, prefix) in toks.variants(i) {
            let Some(ids) = self.by_first.get(key) else {
                continue;
            };
            for &id in ids {
                let entry = &self.entries[id];
                let n = entry.words.len();
                if best.as_ref().is_some_and(|b| b.end - b.start >= n) || i + n > toks.len() {
                    continue;
                }
                let rest_matches = entry.words[1..]
                    .iter()
                    .enumerate()
                    .all(|(k, w)| toks.matches(i + 1 + k, w));
                if rest_matches && entry.rule.allows(toks, i, i + n, prefix) {
                    best = Some(Hit {
                        start: i,
                        end: i + n,
                        entry: id,
                        value: &entry.value,
                        prefix,
                    });
                }
            }
        }
        best
    }

    #[cfg(test)]
    pub(crate) fn phrases(&self) -> impl Iterator<Item = String> + '_ {
        self.entries.iter().map(|e| e.words.join(" "))
    }
}

/// The phrases of a table entry. Tables list phrases separated by commas (and word lists words
/// separated by spaces) so that they read as prose and rustfmt leaves them on few lines.
pub(crate) fn phrases(list: &'static str) -> impl Iterator<Item = &'static str> {
    list.split(',').map(str::trim).filter(|p| !p.is_empty())
}

/// Whether `word` is in a space-separated word list. Each list is split into a set once per
/// thread, at its first use: extraction looks words up in these lists thousands of times per
/// message (hashed with [`WordHasher`], as lexicons are: with the default hasher, SipHash and
/// the lookups around it took about 6% of ingest's request-side CPU in a perf profile).
pub(crate) fn listed(list: &'static str, word: &str) -> bool {
    type Build = BuildHasherDefault<WordHasher>;
    /// Each list's words, by the list's address and length.
    type Sets = HashMap<(usize, usize), HashSet<&'static str, Build>, Build>;
    thread_local! {
        static SETS: RefCell<Sets> = RefCell::new(Sets::default());
    }
    SETS.with_borrow_mut(|sets| {
        sets.entry((list.as_ptr() as usize, list.len()))
            .or_insert_with(|| list.split_whitespace().collect())
            .contains(word)
    })
}

/// Builds a lexicon from `(value, rule, phrases)` groups.
pub(crate) fn grouped<T: Copy>(groups: &[(T, Rule, &'static str)]) -> Lexicon<T> {
    Lexicon::new(
        groups
            .iter()
            .flat_map(|&(value, rule, list)| phrases(list).map(move |p| (p, value, rule))),
    )
}
