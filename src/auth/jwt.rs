//! HS256 tokens: `sub`, `tenant_id`, `role`, `exp`, `iat`. The algorithm is pinned; `exp` is
//! required; a small leeway absorbs clock skew.

use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{Actor, Principal};
use crate::domain::StaffRole;
use crate::error::AppError;

/// The claims memodesk signs and accepts.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Claims {
    /// A staff user's id, or a service name for tokens from `memodesk token`.
    pub sub: String,
    pub tenant_id: Uuid,
    pub role: StaffRole,
    pub exp: i64,
    pub iat: i64,
}

/// Signing and verification keys for one secret.
#[derive(Clone)]
pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl std::fmt::Debug for JwtKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JwtKeys(***)")
    }
}

impl JwtKeys {
    pub fn new(secret: &[u8], leeway_secs: u64) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = leeway_secs;
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.set_required_spec_claims(&["exp", "sub"]);
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
        }
    }

    /// Signs a token for `sub` in `tenant_id` valid for `ttl` from `now`.
    pub fn issue(
        &self,
        sub: &str,
        tenant_id: Uuid,
        role: StaffRole,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> anyhow::Result<String> {
        let claims = Claims {
            sub: sub.to_owned(),
            tenant_id,
            role,
            iat: now.timestamp(),
            exp: (now + ttl).timestamp(),
        };
        Ok(jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &self.encoding,
        )?)
    }

    /// Verifies a token and returns its caller. Every failure is `UNAUTHENTICATED` with a
    /// message that says which check failed (never the token itself).
    pub fn verify(&self, token: &str) -> Result<Actor, AppError> {
        if let Some(alg) = header_algorithm(token)
            && alg != "HS256"
        {
            return Err(AppError::Unauthenticated(format!(
                "token algorithm `{}` not accepted (HS256 only)",
                alg.chars().take(16).collect::<String>()
            )));
        }
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|err| {
                let why = match err.kind() {
                    ErrorKind::ExpiredSignature => "token expired",
                    ErrorKind::ImmatureSignature => "token not valid yet",
                    ErrorKind::InvalidSignature => "token signature does not match",
                    ErrorKind::InvalidAlgorithm
                    | ErrorKind::InvalidAlgorithmName
                    | ErrorKind::MissingAlgorithm
                    | ErrorKind::UnsupportedAlgorithm => {
                        "token algorithm not accepted (HS256 only)"
                    }
                    ErrorKind::MissingRequiredClaim(_) => "token lacks a required claim",
                    ErrorKind::InvalidClaimFormat(_) => "token claims are malformed",
                    _ => "token is malformed",
                };
                AppError::Unauthenticated(why.into())
            })?;
        let claims = data.claims;
        let principal = match Uuid::parse_str(&claims.sub) {
            Ok(id) => Principal::User { id },
            Err(_) => Principal::Service {
                subject: claims.sub.chars().take(64).collect(),
            },
        };
        Ok(Actor {
            tenant_id: claims.tenant_id,
            principal,
            role: Some(claims.role),
            scopes: Vec::new(),
            expires_at: DateTime::from_timestamp(claims.exp, 0),
        })
    }
}

/// The `alg` a token's header claims, read before verification so that `none` or a foreign
/// algorithm gets its own error rather than "malformed".
fn header_algorithm(token: &str) -> Option<String> {
    use base64::Engine;
    let header = token.split('.').next()?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header.trim_end_matches('='))
        .ok()?;
    let value: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    value.get("alg")?.as_str().map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    use super::*;

    fn keys() -> JwtKeys {
        JwtKeys::new(b"0123456789abcdef0123456789abcdef", 0)
    }

    #[test]
    fn round_trip() {
        let tenant = Uuid::now_v7();
        let user = Uuid::now_v7();
        let token = keys()
            .issue(
                &user.to_string(),
                tenant,
                StaffRole::Agent,
                Utc::now(),
                Duration::hours(1),
            )
            .unwrap();
        let actor = keys().verify(&token).unwrap();
        assert_eq!(actor.tenant_id, tenant);
        assert_eq!(actor.principal, Principal::User { id: user });
        assert_eq!(actor.role, Some(StaffRole::Agent));
    }

    #[test]
    fn attacks_are_rejected_with_reasons() {
        let tenant = Uuid::now_v7();
        let expired = keys()
            .issue(
                "cli",
                tenant,
                StaffRole::Admin,
                Utc::now() - Duration::hours(2),
                Duration::hours(1),
            )
            .unwrap();
        assert!(
            keys()
                .verify(&expired)
                .unwrap_err()
                .client_message()
                .contains("expired")
        );

        let other = JwtKeys::new(b"another-secret-another-secret-xx", 0)
            .issue(
                "cli",
                tenant,
                StaffRole::Admin,
                Utc::now(),
                Duration::hours(1),
            )
            .unwrap();
        assert!(
            keys()
                .verify(&other)
                .unwrap_err()
                .client_message()
                .contains("signature")
        );

        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
        let body = URL_SAFE_NO_PAD.encode(
            format!(
                r#"{{"sub":"cli","tenant_id":"{tenant}","role":"admin","exp":9999999999,"iat":0}}"#
            )
            .as_bytes(),
        );
        let none = format!("{header}.{body}.");
        assert_eq!(keys().verify(&none).unwrap_err().code(), "UNAUTHENTICATED");
        assert_eq!(
            keys().verify("not-a-jwt").unwrap_err().code(),
            "UNAUTHENTICATED"
        );
    }
}
