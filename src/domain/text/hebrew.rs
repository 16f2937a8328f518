//! Hebrew's letters, vowel points and attached prefix letters, for every reader of Hebrew text.
//!
//! [`PREFIXES`] is the only list of the prefix letters: the tokenizer, the lexicon rules, the
//! fact extractor and the summarizer all read it.

/// Letters Hebrew attaches to the next word: and, the, in, to, from, that, as.
pub(crate) const PREFIXES: [char; 7] = ['ו', 'ה', 'ב', 'ל', 'מ', 'ש', 'כ'];

/// Whether `c` is one of the [`PREFIXES`].
pub(crate) fn is_prefix(c: char) -> bool {
    PREFIXES.contains(&c)
}

/// The 27 letters from א to ת, final forms included: a fast path before the Unicode tables.
pub(crate) fn in_alphabet(c: char) -> bool {
    matches!(c, '\u{05D0}'..='\u{05EA}')
}

/// A Hebrew letter: the alphabet, the Yiddish ligatures and the presentation forms.
pub(crate) fn is_letter(c: char) -> bool {
    matches!(c, '\u{05D0}'..='\u{05EA}' | '\u{05F0}'..='\u{05F2}' | '\u{FB1D}'..='\u{FB4F}')
}

/// Vowel points and cantillation marks: part of a word, never matched on.
pub(crate) fn is_point(c: char) -> bool {
    matches!(
        c,
        '\u{0591}'..='\u{05BD}' | '\u{05BF}' | '\u{05C1}'..='\u{05C2}' | '\u{05C4}'..='\u{05C5}' | '\u{05C7}'
    )
}

/// `word` without one, then two, attached prefixes ("ותודה" → "תודה"), while something is left.
pub(crate) fn without_prefixes(word: &str) -> impl Iterator<Item = &str> {
    let mut rest = word;
    std::iter::from_fn(move || {
        let mut chars = rest.chars();
        let first = chars.next()?;
        let tail = chars.as_str();
        (is_prefix(first) && !tail.is_empty()).then(|| {
            rest = tail;
            tail
        })
    })
    .take(2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_come_off_one_then_two_at_a_time() {
        assert_eq!(
            without_prefixes("ובשבוע").collect::<Vec<_>>(),
            ["בשבוע", "שבוע"]
        );
        assert_eq!(without_prefixes("ותודה").collect::<Vec<_>>(), ["תודה"]);
        assert_eq!(without_prefixes("ו").count(), 0);
        assert_eq!(without_prefixes("תודה").count(), 0);
    }
}
