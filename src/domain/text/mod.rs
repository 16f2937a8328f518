//! Reading messages: words, phrase lexicons, patterns, numbers, Hebrew prefixes and languages.
//!
//! The classifier, the fact extractor and the summarizer read text through these; the phrase
//! tables stay with the rules that use them, so a new language adds its words there and, when
//! its words carry attached letters as Hebrew's do, a module like `hebrew` here.

pub(crate) mod hebrew;
pub mod language;
pub(crate) mod lexicon;
pub(crate) mod numbers;
pub mod pattern;
pub(crate) mod tokens;
