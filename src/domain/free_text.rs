//! The one rule for free text entering memodesk (GraphQL, webhooks, the CLI): control
//! characters are removed and lengths are bounded, the same on SQLite and PostgreSQL.
//!
//! - U+0000 and the other C0 controls (U+0001–U+001F) are removed, except tab and newline:
//!   PostgreSQL cannot store U+0000 in text, and the others are invisible noise in a prompt.
//! - Carriage returns become line breaks: CRLF becomes LF and a lone CR becomes LF, so text
//!   from Windows clients and old Macs keeps its lines in one convention. That is not counted
//!   as cleaning.
//! - Lengths count characters (Unicode scalar values) of the trimmed text.

use std::borrow::Cow;

use serde_json::Value;

/// Text after [`clean`]: whether a control character was removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cleaned<'a> {
    pub text: Cow<'a, str>,
    /// A control character (other than CR) was removed.
    pub removed: bool,
}

/// Whether `c` is removed from free text.
fn is_removed(c: char) -> bool {
    c.is_ascii_control() && c != '\t' && c != '\n' && c != '\r' && c != '\u{7f}'
}

/// Removes C0 controls except tab and newline, and turns CR/CRLF into LF.
pub fn clean(raw: &str) -> Cleaned<'_> {
    if !raw.chars().any(|c| is_removed(c) || c == '\r') {
        return Cleaned {
            text: Cow::Borrowed(raw),
            removed: false,
        };
    }
    let mut text = String::with_capacity(raw.len());
    let mut removed = false;
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\r' {
            if chars.peek() != Some(&'\n') {
                text.push('\n');
            }
        } else if is_removed(c) {
            removed = true;
        } else {
            text.push(c);
        }
    }
    Cleaned {
        text: Cow::Owned(text),
        removed,
    }
}

/// Cleans `text` in place; true when a control character was removed.
pub fn clean_in_place(text: &mut String) -> bool {
    let cleaned = clean(text);
    let removed = cleaned.removed;
    if let Cow::Owned(owned) = cleaned.text {
        *text = owned;
    }
    removed
}

/// Cleans an optional text in place; true when a control character was removed.
pub fn clean_option(text: &mut Option<String>) -> bool {
    text.as_mut().is_some_and(clean_in_place)
}

/// Cleans every key and string of a JSON value in place; true when something was removed.
/// (A key that collides with another after cleaning keeps the later value.)
pub fn clean_json(value: &mut Value) -> bool {
    match value {
        Value::String(s) => clean_in_place(s),
        Value::Array(items) => items.iter_mut().fold(false, |acc, v| clean_json(v) | acc),
        Value::Object(map) => {
            let mut removed = false;
            let entries = std::mem::take(map);
            for (mut key, mut v) in entries {
                removed |= clean_in_place(&mut key);
                removed |= clean_json(&mut v);
                map.insert(key, v);
            }
            removed
        }
        _ => false,
    }
}

/// The length that limits apply to: characters of the trimmed text.
pub fn length(text: &str) -> usize {
    text.trim().chars().count()
}

/// The message for text over its limit.
pub fn too_long(length: usize, max: usize) -> String {
    format!("is {length} characters long; the limit is {max}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nul_and_other_controls_are_removed_but_tab_and_newline_kept() {
        let c = clean("a\u{0}b\u{1}c\td\ne\u{1b}[31m\u{7f}");
        assert_eq!(c.text, "abc\td\ne[31m\u{7f}");
        assert!(c.removed);
    }

    #[test]
    fn carriage_returns_become_newlines_without_counting_as_cleaning() {
        let c = clean("one\r\ntwo\rthree");
        assert_eq!(c.text, "one\ntwo\nthree");
        assert!(!c.removed);
    }

    #[test]
    fn clean_text_is_borrowed() {
        let c = clean("שלום 👋\tok\n");
        assert!(matches!(c.text, Cow::Borrowed(_)));
        assert!(!c.removed);
    }

    #[test]
    fn json_keys_and_strings_are_cleaned() {
        let mut v = json!({ "a\u{0}b": ["x\u{0}", 1, { "k": "v\u{2}" }], "ok": true });
        assert!(clean_json(&mut v));
        assert_eq!(v, json!({ "ab": ["x", 1, { "k": "v" }], "ok": true }));
        let mut clean_value = json!({ "a": "b" });
        assert!(!clean_json(&mut clean_value));
    }

    #[test]
    fn length_counts_characters_of_the_trimmed_text() {
        assert_eq!(length("  éé \n"), 2);
        assert_eq!(too_long(9, 8), "is 9 characters long; the limit is 8");
    }

    proptest::proptest! {
        #[test]
        fn cleaned_text_has_no_removed_controls_and_cleaning_is_idempotent(s in "\\PC*|[\\x00-\\x20a]{0,40}") {
            let once = clean(&s).text.into_owned();
            proptest::prop_assert!(!once.chars().any(|c| is_removed(c) || c == '\r'));
            let twice = clean(&once);
            proptest::prop_assert_eq!(twice.text.as_ref(), once.as_str());
            proptest::prop_assert!(!twice.removed);
        }
    }
}
