//! Throttling of password logins, so that guessing a password is slow.

use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::error::{AppError, AppResult};

/// Login attempts per email: a burst of 10, then one every 30 seconds.
pub struct LoginLimiter(DefaultKeyedRateLimiter<String>);

impl Default for LoginLimiter {
    fn default() -> Self {
        let quota = Quota::with_period(Duration::from_secs(30))
            .unwrap_or_else(|| Quota::per_minute(NonZeroU32::MIN))
            .allow_burst(NonZeroU32::new(10).unwrap_or(NonZeroU32::MIN));
        Self(RateLimiter::keyed(quota))
    }
}

impl LoginLimiter {
    /// Counts an attempt for `key`; `RATE_LIMITED` (with how long to wait) past the quota.
    pub fn check(&self, key: &str) -> AppResult<()> {
        self.0.check_key(&key.to_owned()).map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            AppError::RateLimited {
                retry_after_secs: wait.as_secs().max(1),
            }
        })?;
        if self.0.len() > 100_000 {
            self.0.retain_recent();
        }
        Ok(())
    }
}
