//! Phone numbers, normalized to E.164 with the tenant's default region.

use phonenumber::{Mode, country};

use super::InvalidInput;

/// A valid phone number in E.164 form (`+972525551234`). Only `parse` builds one.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PhoneNumber(String);

impl PhoneNumber {
    /// Parses what a person or a channel wrote (`054-123 4567`, `+1 (415) 555-2671`,
    /// `972541234567` from a WhatsApp `wa_id`) using `default_region` (ISO 3166 alpha-2) for
    /// numbers without a country code. `field` names the input in the error.
    pub fn parse(input: &str, default_region: &str, field: &str) -> Result<Self, InvalidInput> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(InvalidInput::new(field, "phone number is empty"));
        }
        if trimmed.len() > 40 {
            return Err(InvalidInput::new(field, "phone number is too long"));
        }
        let invalid = || {
            InvalidInput::new(
                field,
                "not a valid phone number (use international format, e.g. +14155552671)",
            )
        };
        // Only text made of phone characters: ids such as `client:bob12345678` must never be
        // mistaken for a number (that would merge unrelated customers).
        if !looks_like_phone(trimmed) {
            return Err(invalid());
        }
        let region = parse_region(default_region).ok();
        let parsed = phonenumber::parse(region, trimmed)
            .ok()
            .filter(phonenumber::is_valid)
            .or_else(|| {
                // WhatsApp ids and some caller ids carry the country code without a `+`.
                let digits: String = trimmed.chars().filter(char::is_ascii_digit).collect();
                (digits.len() >= 8 && !trimmed.starts_with('0'))
                    .then(|| phonenumber::parse(None, format!("+{digits}")).ok())
                    .flatten()
                    .filter(phonenumber::is_valid)
            })
            .ok_or_else(invalid)?;
        Ok(Self(parsed.format().mode(Mode::E164).to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl std::fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Digits with the punctuation people write numbers with (`+`, spaces, `-`, `.`, parentheses),
/// optionally as a `tel:` URI, and at least seven digits.
pub fn looks_like_phone(text: &str) -> bool {
    let text = text.strip_prefix("tel:").unwrap_or(text);
    let digits = text.chars().filter(char::is_ascii_digit).count();
    digits >= 7
        && text
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '+' | ' ' | '-' | '.' | '(' | ')'))
}

/// Checks a default-region setting such as `IL` or `us`.
pub fn parse_region(region: &str) -> Result<country::Id, InvalidInput> {
    region
        .trim()
        .to_ascii_uppercase()
        .parse::<country::Id>()
        .map_err(|_| {
            InvalidInput::new(
                "defaultRegion",
                "not an ISO 3166 region code (e.g. US, IL, GB)",
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn national_numbers_use_the_default_region() {
        let p = PhoneNumber::parse("052-555-1234", "IL", "phone").unwrap();
        assert_eq!(p.as_str(), "+972525551234");
        let p = PhoneNumber::parse("(415) 555-2671", "US", "phone").unwrap();
        assert_eq!(p.as_str(), "+14155552671");
    }

    #[test]
    fn international_and_whatsapp_ids() {
        assert_eq!(
            PhoneNumber::parse("+972 52 555 1234", "US", "phone")
                .unwrap()
                .as_str(),
            "+972525551234"
        );
        assert_eq!(
            PhoneNumber::parse("972525551234", "US", "phone")
                .unwrap()
                .as_str(),
            "+972525551234"
        );
    }

    #[test]
    fn garbage_is_rejected_with_the_field_name() {
        let err = PhoneNumber::parse("12ab", "US", "input.phone").unwrap_err();
        assert_eq!(err.field, "input.phone");
        assert!(PhoneNumber::parse("", "US", "phone").is_err());
        assert!(PhoneNumber::parse("+1 555", "US", "phone").is_err());
    }

    #[test]
    fn ids_with_digits_are_not_phone_numbers() {
        for id in [
            "client:bob12345678",
            "user_14155552671",
            "bsuid.972525551234",
            "CA1234567890abc",
        ] {
            assert!(PhoneNumber::parse(id, "US", "phone").is_err(), "{id}");
        }
        assert!(PhoneNumber::parse("tel:+14155552671", "US", "phone").is_ok());
        assert!(PhoneNumber::parse("(415) 555.2671", "US", "phone").is_ok());
    }

    #[test]
    fn regions() {
        assert!(parse_region("il").is_ok());
        assert!(parse_region("Atlantis").is_err());
    }
}
