//! Email addresses, checked and normalized (trimmed, lowercased).

use super::InvalidInput;

/// A plausible email address, lowercased. Only `parse` builds one.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EmailAddress(String);

impl EmailAddress {
    /// Accepts `local@domain.tld` with no spaces; deliverability is not our business.
    pub fn parse(input: &str, field: &str) -> Result<Self, InvalidInput> {
        let email = input.trim().to_lowercase();
        let invalid =
            |why: &str| InvalidInput::new(field, format!("not a valid email address: {why}"));
        if email.is_empty() {
            return Err(invalid("it is empty"));
        }
        if email.len() > 254 {
            return Err(invalid("it is longer than 254 characters"));
        }
        let Some((local, domain)) = email.rsplit_once('@') else {
            return Err(invalid("it has no `@`"));
        };
        if local.is_empty() || local.len() > 64 {
            return Err(invalid("the part before `@` is empty or too long"));
        }
        if email.chars().any(|c| c.is_whitespace() || c.is_control()) || local.contains('@') {
            return Err(invalid("it contains spaces or a second `@`"));
        }
        let labels: Vec<&str> = domain.split('.').collect();
        if labels.len() < 2
            || labels.iter().any(|l| {
                l.is_empty()
                    || l.len() > 63
                    || l.starts_with('-')
                    || l.ends_with('-')
                    || !l.chars().all(|c| c.is_alphanumeric() || c == '-')
            })
        {
            return Err(invalid("the domain is not like example.com"));
        }
        Ok(Self(email))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl std::fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes() {
        assert_eq!(
            EmailAddress::parse("  Dana@Example.COM ", "email")
                .unwrap()
                .as_str(),
            "dana@example.com"
        );
    }

    #[test]
    fn rejects_with_reasons() {
        for bad in [
            "danaexample.com",
            "dana@",
            "@example.com",
            "da na@example.com",
            "dana@example",
            "a@b@c.com",
        ] {
            let err = EmailAddress::parse(bad, "input.email").unwrap_err();
            assert_eq!(err.field, "input.email", "{bad}");
        }
        assert!(
            EmailAddress::parse("danaexample.com", "email")
                .unwrap_err()
                .message
                .contains('@')
        );
    }
}
