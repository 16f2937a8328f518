//! `Text<MAX>`: the one input type for free text in the API. On the wire it is a plain
//! `String` (clients and their variable declarations do not change); in the resolver it is
//! text cleaned by [`crate::domain::free_text`] and at most `MAX` characters long (trimmed).
//! Over-long text is refused while the arguments are read, before any resolver runs, as
//! BAD_USER_INPUT naming the field (see `extensions::ErrorCodes`) and the limit. Every field
//! and argument of this type says its limit in its description; a test checks the schema.

use std::borrow::Cow;
use std::ops::Deref;

use async_graphql::registry::Registry;
use async_graphql::{InputType, InputValueError, InputValueResult, Value};

use crate::domain::free_text;

/// Names, identifiers, keys, phone numbers, searches (e.g. a display name).
pub const SHORT: usize = 200;
/// A profile value or list item.
pub const VALUE: usize = 1_000;
/// A message's content.
pub const CONTENT: usize = 8_000;
/// A note body.
pub const BODY: usize = 10_000;

/// The extension that marks a text-limit error, with the limit as its value.
pub const MAX_LENGTH_EXTENSION: &str = "maxLength";
/// The extension with the refused text's length.
pub const LENGTH_EXTENSION: &str = "length";

/// Free text from a client: cleaned, and at most `MAX` characters once trimmed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Text<const MAX: usize> {
    text: String,
    removed: bool,
}

impl<const MAX: usize> Text<MAX> {
    /// The cleaned text.
    pub fn into_string(self) -> String {
        self.text
    }

    /// A control character was removed from what the client sent.
    pub fn was_cleaned(&self) -> bool {
        self.removed
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl<const MAX: usize> Deref for Text<MAX> {
    type Target = str;
    fn deref(&self) -> &str {
        &self.text
    }
}

impl<const MAX: usize> From<Text<MAX>> for String {
    fn from(text: Text<MAX>) -> String {
        text.text
    }
}

impl<const MAX: usize> InputType for Text<MAX> {
    type RawValueType = str;

    fn type_name() -> Cow<'static, str> {
        <String as InputType>::type_name()
    }

    fn create_type_info(registry: &mut Registry) -> String {
        <String as InputType>::create_type_info(registry)
    }

    fn parse(value: Option<Value>) -> InputValueResult<Self> {
        let raw = match value {
            Some(Value::String(raw)) => raw,
            Some(other) => return Err(InputValueError::expected_type(other)),
            None => return Err(InputValueError::expected_type(Value::Null)),
        };
        let cleaned = free_text::clean(&raw);
        let length = free_text::length(&cleaned.text);
        if length > MAX {
            return Err(InputValueError::custom(free_text::too_long(length, MAX))
                .with_extension("code", "BAD_USER_INPUT")
                .with_extension(MAX_LENGTH_EXTENSION, MAX as u64)
                .with_extension(LENGTH_EXTENSION, length as u64));
        }
        let removed = cleaned.removed;
        let text = match cleaned.text {
            Cow::Borrowed(_) => raw,
            Cow::Owned(text) => text,
        };
        Ok(Self { text, removed })
    }

    fn to_value(&self) -> Value {
        Value::String(self.text.clone())
    }

    fn as_raw_value(&self) -> Option<&str> {
        Some(&self.text)
    }
}

/// Text as the services take it.
pub fn opt<const MAX: usize>(text: Option<Text<MAX>>) -> Option<String> {
    text.map(Text::into_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_cleaned_and_bounded_on_the_trimmed_length() {
        let t = Text::<3>::parse(Some(Value::from("  a\u{0}bc  "))).expect("fits");
        assert_eq!(t.as_str(), "  abc  ");
        assert!(t.was_cleaned());
        let err = Text::<3>::parse(Some(Value::from("abcd"))).expect_err("too long");
        let server = err.into_server_error(Default::default());
        assert!(
            server
                .message
                .contains("is 4 characters long; the limit is 3")
        );
        let ext = server.extensions.expect("extensions");
        assert_eq!(ext.get(MAX_LENGTH_EXTENSION), Some(&Value::from(3u64)));
        assert_eq!(ext.get("code"), Some(&Value::from("BAD_USER_INPUT")));
    }
}
