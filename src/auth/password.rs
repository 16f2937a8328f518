//! Staff passwords: argon2id hashes, verified off the async runtime.

use std::sync::LazyLock;

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};

use crate::domain::InvalidInput;

pub const MIN_LEN: usize = 8;
pub const MAX_LEN: usize = 256;

/// A hash of a random password, checked when the email is unknown so that "no such user" and
/// "wrong password" take the same time.
static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| {
    hash_blocking(&format!("{:032x}", rand::random::<u128>())).unwrap_or_default()
});

/// Checks length rules; the message names the rule.
pub fn validate(password: &str, field: &str) -> Result<(), InvalidInput> {
    let len = password.chars().count();
    if len < MIN_LEN {
        return Err(InvalidInput::new(
            field,
            format!("password must be at least {MIN_LEN} characters"),
        ));
    }
    if len > MAX_LEN {
        return Err(InvalidInput::new(
            field,
            format!("password must be at most {MAX_LEN} characters"),
        ));
    }
    Ok(())
}

fn hash_blocking(password: &str) -> anyhow::Result<String> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|hash| hash.to_string())
        .map_err(|err| anyhow::anyhow!("argon2: {err}"))
}

fn verify_blocking(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// Hashes a password (argon2id, random salt).
pub async fn hash(password: String) -> anyhow::Result<String> {
    tokio::task::spawn_blocking(move || hash_blocking(&password)).await?
}

/// Checks a password against a stored hash; with `None`, burns the same time and fails.
pub async fn verify(password: String, stored: Option<String>) -> bool {
    tokio::task::spawn_blocking(move || match stored {
        Some(stored) => verify_blocking(&password, &stored),
        None => {
            verify_blocking(&password, &DUMMY_HASH);
            false
        }
    })
    .await
    .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hash_and_verify() {
        let stored = hash("correct horse".into()).await.unwrap();
        assert!(stored.starts_with("$argon2id$"));
        assert!(verify("correct horse".into(), Some(stored.clone())).await);
        assert!(!verify("wrong horse".into(), Some(stored)).await);
        assert!(!verify("anything".into(), None).await);
    }

    #[test]
    fn length_rules() {
        assert!(validate("short", "password").is_err());
        assert!(validate("long enough", "password").is_ok());
    }
}
