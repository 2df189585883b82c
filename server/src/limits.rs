//! Rate limits on actions, keyed by user id, built on `governor` and driven by the server's
//! own clock (so tests can move time). One `Action` enum; quotas come from config or room
//! settings. These apply wherever a request comes from (direct, batch or onion), which is why
//! they live here and not in an HTTP middleware; the HTTP edge has its own per-IP limit.

use crate::clock::Clock;
use governor::middleware::NoOpMiddleware;
use governor::state::keyed::HashMapStateStore;
use governor::{Quota, RateLimiter};
use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

impl governor::clock::Clock for Clock {
    type Instant = Duration;
    fn now(&self) -> Duration {
        crate::clock::duration_from_secs(Clock::now(self))
    }
}

type KeyedLimiter = RateLimiter<i64, HashMapStateStore<i64>, Clock, NoOpMiddleware<Duration>>;

/// What is being limited.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    /// Posting in a room (room id).
    Post(i64),
    /// Sending a direct message.
    DirectMessage,
}

/// Default post limit: 5 posts per 16 seconds per user per room (PROTOCOL.md §12.2).
pub const DEFAULT_POST_LIMIT: (u32, f64) = (5, 16.0);

/// A room's post limit (count, seconds) from its settings: both set, or the default.
/// A count of 0 means no limit.
pub fn post_limit(posts: Option<i64>, interval: Option<f64>) -> (u32, f64) {
    match (posts, interval) {
        (Some(n), Some(secs)) => (u32::try_from(n).unwrap_or(0), secs),
        _ => DEFAULT_POST_LIMIT,
    }
}

pub struct Limiters {
    clock: Clock,
    buckets: Mutex<HashMap<(Action, u32, u64), Arc<KeyedLimiter>>>,
}

impl Limiters {
    pub fn new(clock: Clock) -> Self {
        Self {
            clock,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one unit of `action` for `user` under a quota of `count` per `per_secs`.
    /// `Err(seconds)` says how long until it would be allowed.
    pub fn check(&self, action: Action, user: i64, count: u32, per_secs: f64) -> Result<(), u64> {
        let Some(burst) = NonZeroU32::new(count) else {
            return Ok(());
        };
        let per_secs = if per_secs.is_finite() {
            per_secs.clamp(0.001, crate::clock::MAX_SPAN_SECS)
        } else {
            crate::clock::MAX_SPAN_SECS
        };
        let period = crate::clock::duration_from_secs(per_secs / f64::from(count));
        let Some(quota) = Quota::with_period(period).map(|q| q.allow_burst(burst)) else {
            return Ok(());
        };
        let key = (action, count, (per_secs * 1000.0) as u64);
        let limiter = {
            let mut buckets = match self.buckets.lock() {
                Ok(b) => b,
                Err(poisoned) => poisoned.into_inner(),
            };
            buckets
                .entry(key)
                .or_insert_with(|| {
                    Arc::new(RateLimiter::hashmap_with_clock(quota, self.clock.clone()))
                })
                .clone()
        };
        limiter.check_key(&user).map_err(|not_until| {
            let wait = not_until.wait_time_from(governor::clock::Clock::now(&self.clock));
            wait.as_secs_f64().ceil().max(1.0) as u64
        })
    }

    /// Forgets idle keys so memory does not grow with the number of users.
    pub fn prune(&self) {
        let buckets = match self.buckets.lock() {
            Ok(b) => b,
            Err(poisoned) => poisoned.into_inner(),
        };
        for limiter in buckets.values() {
            limiter.retain_recent();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Periods no clock can express (a stored 1e300, infinity, NaN, negative) limit instead
    /// of panicking.
    #[test]
    fn absurd_periods_never_panic() {
        let l = Limiters::new(Clock::manual(1_700_000_000.0));
        for (room, secs) in [(1, 1e300), (2, f64::INFINITY), (3, 1.8e19)] {
            assert_eq!(l.check(Action::Post(room), 7, 1, secs), Ok(()));
            let wait = l.check(Action::Post(room), 7, 1, secs).unwrap_err();
            assert!(wait > 86_400 * 365, "room {room}: wait {wait}");
        }
        for (room, secs) in [(4, f64::NAN), (5, -3.0), (6, 0.0)] {
            assert_eq!(l.check(Action::Post(room), 7, 1, secs), Ok(()));
        }
    }

    #[test]
    fn five_per_sixteen_then_allows_again() {
        let clock = Clock::manual(1_700_000_000.0);
        let l = Limiters::new(clock.clone());
        for _ in 0..5 {
            assert_eq!(l.check(Action::Post(1), 7, 5, 16.0), Ok(()));
        }
        let wait = l.check(Action::Post(1), 7, 5, 16.0).unwrap_err();
        assert!((1..=4).contains(&wait), "wait {wait}");
        // another user and another room are unaffected
        assert_eq!(l.check(Action::Post(1), 8, 5, 16.0), Ok(()));
        assert_eq!(l.check(Action::Post(2), 7, 5, 16.0), Ok(()));
        clock.advance(16.0);
        assert_eq!(l.check(Action::Post(1), 7, 5, 16.0), Ok(()));
    }
}
