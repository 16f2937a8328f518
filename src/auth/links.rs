//! Signed download links (the subject access export): a token naming the tenant, the lead, who
//! asked and until when, with an HMAC-SHA256 tag under a key derived from the server's JWT
//! secret. Checked in constant time; any fault (tampering, another lead or tenant, expiry)
//! reads the same, so a refused link says nothing about why.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use uuid::Uuid;

type HmacSha256 = Hmac<Sha256>;

/// Who asked for a link, as the audit log names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requester {
    Staff(Uuid),
    ApiKey(Uuid),
    /// A token from `memodesk token`, or memodesk itself.
    Service,
}

/// What a valid link grants: one lead's export in one tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkClaims {
    pub tenant_id: Uuid,
    pub lead_id: Uuid,
    pub requester: Requester,
    pub expires_at: DateTime<Utc>,
}

/// tenant (16) · lead (16) · expiry seconds (8) · requester kind (1) · requester id (16).
const PAYLOAD: usize = 57;
const TAG: usize = 32;

/// Signs and checks download links.
#[derive(Clone)]
pub struct LinkKeys {
    key: Vec<u8>,
}

impl std::fmt::Debug for LinkKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LinkKeys(***)")
    }
}

impl LinkKeys {
    /// Derives the link key from the server secret, so a link tag is never a JWT signature.
    pub fn new(server_secret: &[u8]) -> Self {
        let mut mac = mac(server_secret);
        mac.update(b"memodesk download links v1");
        Self {
            key: mac.finalize().into_bytes().to_vec(),
        }
    }

    /// The token for `claims` (URL-safe).
    pub fn sign(&self, claims: &LinkClaims) -> String {
        let mut bytes = Vec::with_capacity(PAYLOAD + TAG);
        bytes.extend_from_slice(claims.tenant_id.as_bytes());
        bytes.extend_from_slice(claims.lead_id.as_bytes());
        bytes.extend_from_slice(&claims.expires_at.timestamp().to_be_bytes());
        let (kind, id) = match claims.requester {
            Requester::Staff(id) => (0u8, id),
            Requester::ApiKey(id) => (1, id),
            Requester::Service => (2, Uuid::nil()),
        };
        bytes.push(kind);
        bytes.extend_from_slice(id.as_bytes());
        let mut mac = mac(&self.key);
        mac.update(&bytes);
        bytes.extend_from_slice(&mac.finalize().into_bytes());
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// The claims of a token this server signed for `lead_id` that has not expired at `now`;
    /// `None` for anything else, whatever the reason.
    pub fn verify(&self, token: &str, lead_id: Uuid, now: DateTime<Utc>) -> Option<LinkClaims> {
        let bytes = URL_SAFE_NO_PAD.decode(token.trim()).ok()?;
        if bytes.len() != PAYLOAD + TAG {
            return None;
        }
        let (payload, tag) = bytes.split_at(PAYLOAD);
        let mut mac = mac(&self.key);
        mac.update(payload);
        // `verify_slice` compares in constant time.
        mac.verify_slice(tag).ok()?;
        let uuid = |range: std::ops::Range<usize>| Uuid::from_slice(&payload[range]).ok();
        let expires = i64::from_be_bytes(payload[32..40].try_into().ok()?);
        let requester_id = uuid(41..57)?;
        let claims = LinkClaims {
            tenant_id: uuid(0..16)?,
            lead_id: uuid(16..32)?,
            expires_at: DateTime::from_timestamp(expires, 0)?,
            requester: match payload[40] {
                0 => Requester::Staff(requester_id),
                1 => Requester::ApiKey(requester_id),
                _ => Requester::Service,
            },
        };
        (claims.lead_id == lead_id && now < claims.expires_at).then_some(claims)
    }
}

fn mac(key: &[u8]) -> HmacSha256 {
    // HMAC takes keys of any length.
    <HmacSha256 as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(now: DateTime<Utc>) -> LinkClaims {
        LinkClaims {
            tenant_id: Uuid::now_v7(),
            lead_id: Uuid::now_v7(),
            requester: Requester::Staff(Uuid::now_v7()),
            expires_at: now + chrono::Duration::minutes(15),
        }
    }

    #[test]
    fn a_link_opens_its_own_lead_until_it_expires() {
        let keys = LinkKeys::new(b"a server secret of some length....");
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let c = claims(now);
        let token = keys.sign(&c);
        assert_eq!(keys.verify(&token, c.lead_id, now), Some(c));
        assert_eq!(keys.verify(&token, Uuid::now_v7(), now), None);
        assert_eq!(keys.verify(&token, c.lead_id, c.expires_at), None);
        let other = LinkKeys::new(b"another server secret............");
        assert_eq!(other.verify(&token, c.lead_id, now), None);
        let mut tampered = URL_SAFE_NO_PAD.decode(&token).unwrap();
        tampered[0] ^= 1;
        assert_eq!(
            keys.verify(&URL_SAFE_NO_PAD.encode(tampered), c.lead_id, now),
            None
        );
        assert_eq!(keys.verify("not a token", c.lead_id, now), None);
    }
}
