//! API keys: `mdk_` + base64url(tenant id ‖ key id ‖ 32 random bytes). The ids let us find the
//! row without a cross-tenant index; only the SHA-256 of the random part is stored, and it is
//! compared in constant time.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use uuid::Uuid;

pub const PREFIX: &str = "mdk_";
const SECRET_BYTES: usize = 32;

/// A freshly generated key: show `token` once, store `secret_hash`.
pub struct NewApiKey {
    pub id: Uuid,
    pub token: String,
    pub secret_hash: Vec<u8>,
}

/// The parts of a presented key.
#[derive(Debug, PartialEq, Eq)]
pub struct PresentedKey {
    pub tenant_id: Uuid,
    pub key_id: Uuid,
    secret: [u8; SECRET_BYTES],
}

pub fn generate(tenant_id: Uuid) -> NewApiKey {
    let id = Uuid::now_v7();
    let mut secret = [0u8; SECRET_BYTES];
    rand::rng().fill_bytes(&mut secret);
    let mut raw = Vec::with_capacity(32 + SECRET_BYTES);
    raw.extend_from_slice(tenant_id.as_bytes());
    raw.extend_from_slice(id.as_bytes());
    raw.extend_from_slice(&secret);
    NewApiKey {
        id,
        token: format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(&raw)),
        secret_hash: hash(&secret),
    }
}

/// Whether a bearer token looks like an API key rather than a JWT.
pub fn looks_like_api_key(token: &str) -> bool {
    token.starts_with(PREFIX)
}

/// Splits a presented key; `None` when it is not a well-formed memodesk key.
pub fn parse(token: &str) -> Option<PresentedKey> {
    let raw = URL_SAFE_NO_PAD.decode(token.strip_prefix(PREFIX)?).ok()?;
    if raw.len() != 32 + SECRET_BYTES {
        return None;
    }
    let tenant_id = Uuid::from_slice(&raw[..16]).ok()?;
    let key_id = Uuid::from_slice(&raw[16..32]).ok()?;
    let mut secret = [0u8; SECRET_BYTES];
    secret.copy_from_slice(&raw[32..]);
    Some(PresentedKey {
        tenant_id,
        key_id,
        secret,
    })
}

impl PresentedKey {
    /// Constant-time comparison with the stored hash.
    pub fn matches(&self, stored_hash: &[u8]) -> bool {
        hash(&self.secret).ct_eq(stored_hash).into()
    }
}

fn hash(secret: &[u8]) -> Vec<u8> {
    Sha256::digest(secret).to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_parse_and_match() {
        let tenant = Uuid::now_v7();
        let key = generate(tenant);
        assert!(looks_like_api_key(&key.token));
        let presented = parse(&key.token).unwrap();
        assert_eq!(presented.tenant_id, tenant);
        assert_eq!(presented.key_id, key.id);
        assert!(presented.matches(&key.secret_hash));
        assert!(!presented.matches(&generate(tenant).secret_hash));
    }

    #[test]
    fn malformed_keys_do_not_parse() {
        assert!(parse("mdk_").is_none());
        assert!(parse("mdk_!!!!").is_none());
        assert!(parse("eyJhbGciOi.x.y").is_none());
        let key = generate(Uuid::now_v7());
        assert!(parse(&key.token[..key.token.len() - 2]).is_none());
    }
}
