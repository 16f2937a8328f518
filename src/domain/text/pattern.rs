//! Regular expressions written in this crate, compiled on first use, without a panic path.
//!
//! A pattern is source code, not input, so one that does not compile is a bug. It must still
//! not take down a request: a [`Pattern`] that failed to compile is `None`, and whatever it would
//! have found is simply not found. Each module's tests assert that all of its patterns compile,
//! so such a bug fails every test run long before it ships.

use std::sync::LazyLock;

use regex::Regex;

/// A regex compiled on first use; `None` only if its (built-in) pattern is invalid.
pub type Pattern = LazyLock<Option<Regex>>;

/// Compiles a built-in pattern (the initializer of a [`Pattern`]).
pub fn compile(pattern: &str) -> Option<Regex> {
    Regex::new(pattern).ok()
}

/// The matches of `pattern` in `text`; none if the pattern did not compile.
pub fn find_iter<'r, 't>(
    pattern: &'r Pattern,
    text: &'t str,
) -> impl Iterator<Item = regex::Match<'t>> + use<'r, 't> {
    pattern.iter().flat_map(move |re| re.find_iter(text))
}

/// The captures of `pattern` in `text`; none if the pattern did not compile.
pub fn captures_iter<'r, 't>(
    pattern: &'r Pattern,
    text: &'t str,
) -> impl Iterator<Item = regex::Captures<'t>> + use<'r, 't> {
    pattern.iter().flat_map(move |re| re.captures_iter(text))
}

/// Whether `pattern` matches somewhere in `text`; false if the pattern did not compile.
pub fn is_match(pattern: &Pattern, text: &str) -> bool {
    pattern.as_ref().is_some_and(|re| re.is_match(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    static BROKEN: Pattern = LazyLock::new(|| compile("(unclosed"));
    static DIGITS: Pattern = LazyLock::new(|| compile("[0-9]+"));

    #[test]
    fn a_broken_pattern_finds_nothing_instead_of_panicking() {
        assert!(BROKEN.is_none());
        assert_eq!(find_iter(&BROKEN, "a 12 b").count(), 0);
        assert_eq!(captures_iter(&BROKEN, "a 12 b").count(), 0);
        assert!(!is_match(&BROKEN, "12"));
    }

    #[test]
    fn a_valid_pattern_finds_its_matches() {
        let found: Vec<&str> = find_iter(&DIGITS, "a 12 b 345")
            .map(|m| m.as_str())
            .collect();
        assert_eq!(found, ["12", "345"]);
        assert_eq!(captures_iter(&DIGITS, "7 8").count(), 2);
        assert!(is_match(&DIGITS, "x9"));
    }
}
