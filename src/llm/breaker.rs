//! A circuit breaker: after repeated failures, stop calling a provider for a while, then let
//! one probe through to see whether it recovered.

use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug)]
enum State {
    Closed {
        failures: u32,
    },
    Open {
        until: Instant,
    },
    /// One probe is in flight.
    HalfOpen,
}

#[derive(Debug)]
pub struct CircuitBreaker {
    state: Mutex<State>,
    threshold: u32,
    cooldown: Duration,
}

impl CircuitBreaker {
    pub fn new(threshold: u32, cooldown: Duration) -> Self {
        Self {
            state: Mutex::new(State::Closed { failures: 0 }),
            threshold: threshold.max(1),
            cooldown,
        }
    }

    /// Whether a call may go out now (an open breaker past its cooldown lets one probe out).
    pub fn allow(&self) -> bool {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        match *state {
            State::Closed { .. } => true,
            State::HalfOpen => false,
            State::Open { until } if Instant::now() >= until => {
                *state = State::HalfOpen;
                true
            }
            State::Open { .. } => false,
        }
    }

    pub fn record_success(&self) {
        *self.state.lock().unwrap_or_else(|p| p.into_inner()) = State::Closed { failures: 0 };
    }

    pub fn record_failure(&self) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        *state = match *state {
            State::Closed { failures } if failures + 1 < self.threshold => State::Closed {
                failures: failures + 1,
            },
            _ => {
                metrics::counter!("memodesk_llm_circuit_opened_total").increment(1);
                State::Open {
                    until: Instant::now() + self.cooldown,
                }
            }
        };
    }

    pub fn is_open(&self) -> bool {
        matches!(
            *self.state.lock().unwrap_or_else(|p| p.into_inner()),
            State::Open { .. } | State::HalfOpen
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_the_threshold_and_probes_after_the_cooldown() {
        let breaker = CircuitBreaker::new(3, Duration::from_millis(30));
        for _ in 0..2 {
            assert!(breaker.allow());
            breaker.record_failure();
        }
        assert!(!breaker.is_open());
        breaker.record_failure();
        assert!(breaker.is_open());
        assert!(!breaker.allow());
        std::thread::sleep(Duration::from_millis(40));
        assert!(breaker.allow(), "one probe after the cooldown");
        assert!(!breaker.allow(), "only one");
        breaker.record_failure();
        assert!(!breaker.allow(), "a failed probe reopens");
        std::thread::sleep(Duration::from_millis(40));
        assert!(breaker.allow());
        breaker.record_success();
        assert!(breaker.allow() && breaker.allow(), "a good probe closes");
    }
}
