//! Throttling of password logins, so that guessing a password is slow: per email address (one
//! account guessed at), and per client address (one password tried across many accounts).

use std::hash::Hash;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::error::{AppError, AppResult};

/// Login attempts per email (a burst of 10, then one every 30 seconds) and per client address
/// (a burst of 30, then one every 10 seconds: an office behind one address still signs in).
pub struct LoginLimiter {
    by_email: DefaultKeyedRateLimiter<String>,
    by_client: DefaultKeyedRateLimiter<IpAddr>,
}

fn quota(every: Duration, burst: u32) -> Quota {
    Quota::with_period(every)
        .unwrap_or_else(|| Quota::per_minute(NonZeroU32::MIN))
        .allow_burst(NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN))
}

impl Default for LoginLimiter {
    fn default() -> Self {
        Self {
            by_email: RateLimiter::keyed(quota(Duration::from_secs(30), 10)),
            by_client: RateLimiter::keyed(quota(Duration::from_secs(10), 30)),
        }
    }
}

impl LoginLimiter {
    /// Counts an attempt for `email` from `client` (when known); `RATE_LIMITED`, with how long
    /// to wait, once either has used its quota.
    pub fn check(&self, email: &str, client: Option<IpAddr>) -> AppResult<()> {
        if let Some(client) = client {
            admit(&self.by_client, &client)?;
        }
        admit(&self.by_email, &email.to_owned())
    }
}

fn admit<K: Clone + Hash + Eq>(limiter: &DefaultKeyedRateLimiter<K>, key: &K) -> AppResult<()> {
    limiter.check_key(key).map_err(|not_until| {
        let wait = not_until.wait_time_from(DefaultClock::default().now());
        AppError::RateLimited {
            retry_after_secs: wait.as_secs().max(1),
        }
    })?;
    if limiter.len() > 100_000 {
        limiter.retain_recent();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_client_trying_many_accounts_is_slowed_down() {
        let limiter = LoginLimiter::default();
        let client = Some(IpAddr::from([203, 0, 113, 7]));
        for i in 0..30 {
            limiter
                .check(&format!("user{i}@example.com"), client)
                .unwrap();
        }
        let err = limiter.check("user30@example.com", client).unwrap_err();
        assert!(matches!(err, AppError::RateLimited { retry_after_secs } if retry_after_secs >= 1));
        // Another client is not.
        limiter
            .check("user30@example.com", Some(IpAddr::from([203, 0, 113, 8])))
            .unwrap();
    }
}
