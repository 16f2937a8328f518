//! Profile keys: the well-known ones, tenant-defined ones, and how values are checked.

use super::super::{InvalidInput, email::EmailAddress, phone::PhoneNumber};
use crate::domain::vocabulary::vocabulary;

vocabulary! {
    /// Keys the product understands; tenants may add their own `snake_case` keys.
    KnownKey {
        Name => "name",
        Email => "email",
        Phone => "phone",
        City => "city",
        PreferredCurrency => "preferred_currency",
        PreferredLanguage => "preferred_language",
        Interests => "interests",
        ServiceInterest => "service_interest",
        Preferences => "preferences",
        Budget => "budget",
    }
}

impl KnownKey {
    /// List fields merge item by item.
    pub const fn is_list(self) -> bool {
        matches!(self, KnownKey::Interests | KnownKey::Preferences)
    }
}

/// A profile key: `snake_case`, 1–64 characters, starting with a letter.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FieldKey(String);

impl FieldKey {
    pub const MAX_LEN: usize = 64;

    pub fn parse(input: &str, field: &str) -> Result<Self, InvalidInput> {
        let key = input.trim();
        let valid = !key.is_empty()
            && key.len() <= Self::MAX_LEN
            && key.starts_with(|c: char| c.is_ascii_lowercase())
            && key
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            && !key.ends_with('_')
            && !key.contains("__");
        if !valid {
            return Err(InvalidInput::new(
                field,
                format!(
                    "profile keys are snake_case (a-z, 0-9, _), start with a letter and are at most {} characters, e.g. `preferred_currency`",
                    Self::MAX_LEN
                ),
            ));
        }
        Ok(Self(key.to_owned()))
    }

    /// A key the code names; panics only on a programming error (a bad literal).
    pub fn known(key: KnownKey) -> Self {
        Self(key.as_str().to_owned())
    }

    /// A key the built-in extractor fills beyond the well-known ones (`bedrooms`, `move_in`);
    /// panics only on a programming error (a bad literal).
    pub fn builtin(key: &'static str) -> Self {
        Self::parse(key, "key").unwrap_or_else(|_| panic!("bad built-in profile key {key}"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn known_key(&self) -> Option<KnownKey> {
        KnownKey::parse(&self.0)
    }

    pub fn is_list(&self) -> bool {
        self.known_key().is_some_and(KnownKey::is_list)
    }
}

impl std::fmt::Display for FieldKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Longest value any field accepts.
pub const MAX_VALUE_CHARS: usize = 1000;

/// Checks and normalizes one value (one item for list keys) for `key`: emails lowercased,
/// phones to E.164 with `region`, currencies to ISO 4217 upper case, languages to a lowercase
/// tag; everything trimmed and non-empty. `field` names the input in the error.
pub fn normalize_value(
    key: &FieldKey,
    raw: &str,
    region: &str,
    field: &str,
) -> Result<String, InvalidInput> {
    let value = raw.trim();
    if value.is_empty() {
        return Err(InvalidInput::new(field, "value is empty"));
    }
    if value.chars().count() > MAX_VALUE_CHARS {
        return Err(InvalidInput::new(
            field,
            format!("value is longer than {MAX_VALUE_CHARS} characters"),
        ));
    }
    if value.chars().any(|c| c.is_control() && c != '\n') {
        return Err(InvalidInput::new(
            field,
            "value contains control characters",
        ));
    }
    match key.known_key() {
        Some(KnownKey::Email) => Ok(EmailAddress::parse(value, field)?.into_string()),
        Some(KnownKey::Phone) => Ok(PhoneNumber::parse(value, region, field)?.into_string()),
        Some(KnownKey::PreferredCurrency) => {
            let code = value.to_ascii_uppercase();
            if code.len() == 3 && code.chars().all(|c| c.is_ascii_uppercase()) {
                Ok(code)
            } else {
                Err(InvalidInput::new(
                    field,
                    "a currency is a three-letter ISO 4217 code, e.g. USD or ILS",
                ))
            }
        }
        Some(KnownKey::PreferredLanguage) => {
            let tag = value.to_ascii_lowercase().replace('_', "-");
            let valid = tag.split('-').all(|part| {
                (1..=8).contains(&part.len()) && part.chars().all(|c| c.is_ascii_alphanumeric())
            }) && tag
                .split('-')
                .next()
                .is_some_and(|p| (2..=3).contains(&p.len()));
            if valid {
                Ok(tag)
            } else {
                Err(InvalidInput::new(
                    field,
                    "a language is a BCP 47 tag, e.g. en, he or pt-BR",
                ))
            }
        }
        Some(KnownKey::Name) if value.chars().count() > 200 => {
            Err(InvalidInput::new(field, "a name is at most 200 characters"))
        }
        _ => Ok(value.split_whitespace().collect::<Vec<_>>().join(" ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(k: &str) -> FieldKey {
        FieldKey::parse(k, "key").unwrap()
    }

    #[test]
    fn keys() {
        assert!(FieldKey::parse("preferred_currency", "key").is_ok());
        assert!(FieldKey::parse("loyalty_tier2", "key").is_ok());
        for bad in [
            "",
            "Name",
            "1st",
            "a-b",
            "with space",
            "trailing_",
            "double__under",
        ] {
            assert!(FieldKey::parse(bad, "key").is_err(), "{bad}");
        }
        assert!(key("interests").is_list());
        assert!(!key("name").is_list());
    }

    #[test]
    fn values_are_normalized() {
        assert_eq!(
            normalize_value(&key("email"), " Dana@X.com ", "US", "value").unwrap(),
            "dana@x.com"
        );
        assert_eq!(
            normalize_value(&key("phone"), "052-5551234", "IL", "value").unwrap(),
            "+972525551234"
        );
        assert_eq!(
            normalize_value(&key("preferred_currency"), "usd", "US", "value").unwrap(),
            "USD"
        );
        assert_eq!(
            normalize_value(&key("preferred_language"), "pt_BR", "US", "value").unwrap(),
            "pt-br"
        );
        assert_eq!(
            normalize_value(&key("city"), "  Tel   Aviv ", "US", "value").unwrap(),
            "Tel Aviv"
        );
    }

    #[test]
    fn bad_values_name_the_field() {
        let err = normalize_value(&key("email"), "nope", "US", "value").unwrap_err();
        assert_eq!(err.field, "value");
        assert!(normalize_value(&key("phone"), "abc", "US", "value").is_err());
        assert!(normalize_value(&key("preferred_currency"), "dollars", "US", "value").is_err());
        assert!(normalize_value(&key("city"), "   ", "US", "value").is_err());
    }
}
