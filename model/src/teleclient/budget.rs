//! Per-account budgets: network resolves per hour, and requests per second.
//!
//! Resolves are the scarce thing (bursts of `contacts.resolveUsername` get accounts
//! banned for hours), so their budget is a hard sliding window that refuses, and the
//! pool moves to another account or answers from cache only. Ordinary requests are merely
//! paced: a token bucket says how long to wait before the next one, never refuses.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// The sliding window of network resolves.
const RESOLVE_WINDOW: Duration = Duration::from_secs(3600);

/// At most `per_hour` resolves in any hour.
#[derive(Debug, Clone)]
pub struct ResolveBudget {
    per_hour: u32,
    spent: VecDeque<Instant>,
}

impl ResolveBudget {
    pub fn new(per_hour: u32) -> ResolveBudget {
        ResolveBudget {
            per_hour,
            spent: VecDeque::new(),
        }
    }

    fn forget_old(&mut self, now: Instant) {
        while let Some(first) = self.spent.front() {
            if now.saturating_duration_since(*first) >= RESOLVE_WINDOW {
                self.spent.pop_front();
            } else {
                break;
            }
        }
    }

    /// Resolves still allowed at `now`.
    pub fn left(&mut self, now: Instant) -> u32 {
        self.forget_old(now);
        let spent = u32::try_from(self.spent.len()).unwrap_or(u32::MAX);
        self.per_hour.saturating_sub(spent)
    }

    /// Spends one resolve if any is left; otherwise says when the next one frees up
    /// (`None` when the budget is zero: "only from cache", nothing ever frees up).
    pub fn try_spend(&mut self, now: Instant) -> Result<(), Option<Duration>> {
        if self.left(now) > 0 {
            self.spent.push_back(now);
            return Ok(());
        }
        Err(self
            .spent
            .front()
            .map(|first| (*first + RESOLVE_WINDOW).saturating_duration_since(now)))
    }

    /// Gives back a resolve that never reached the network (the account turned out to be
    /// cooling or disconnected before the call went out).
    pub fn refund(&mut self) {
        self.spent.pop_back();
    }
}

/// A token bucket: `per_second` requests per second on average, bursts of up to
/// `max(1, per_second)`.
#[derive(Debug, Clone)]
pub struct RequestPacer {
    per_second: f64,
    burst: f64,
    tokens: f64,
    at: Instant,
}

impl RequestPacer {
    /// `per_second` must be positive (the configuration guarantees it); anything else is
    /// treated as one request per second rather than dividing by zero.
    pub fn new(per_second: f64, now: Instant) -> RequestPacer {
        RequestPacer::with_burst(per_second, per_second.max(1.0), now)
    }

    /// A bucket of `burst` tokens (at least one) refilled at `per_second`.
    pub fn with_burst(per_second: f64, burst: f64, now: Instant) -> RequestPacer {
        let per_second = sane_rate(per_second);
        let burst = if burst.is_finite() {
            burst.max(1.0)
        } else {
            1.0
        };
        RequestPacer {
            per_second,
            burst,
            tokens: burst,
            at: now,
        }
    }

    /// The bucket's size.
    pub fn burst(&self) -> f64 {
        self.burst
    }

    /// Paces at `per_second` with bursts of `burst` from `now` on; turns already taken stay
    /// taken (a debt is paid back at the new rate).
    pub fn set_rate(&mut self, per_second: f64, burst: f64, now: Instant) {
        self.refill(now);
        self.per_second = sane_rate(per_second);
        self.burst = if burst.is_finite() {
            burst.max(1.0)
        } else {
            1.0
        };
        self.tokens = self.tokens.min(self.burst);
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.per_second).min(self.burst);
        self.at = self.at.max(now);
    }

    /// Takes a token for a request sent at `now` and returns how long the request must
    /// wait first (zero if a token was there). The token is reserved either way, so
    /// concurrent callers queue up fairly instead of racing.
    pub fn reserve(&mut self, now: Instant) -> Duration {
        self.refill(now);
        self.tokens -= 1.0;
        if self.tokens >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-self.tokens / self.per_second)
        }
    }

    /// How long a request reserving its turn at `now` would wait, without reserving it.
    pub fn wait_at(&self, now: Instant) -> Duration {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        let tokens = (self.tokens + elapsed * self.per_second).min(self.burst) - 1.0;
        if tokens >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-tokens / self.per_second)
        }
    }

    /// Gives back a token whose request was never sent (cancelled while it waited, or
    /// refused because it could not start in time), so it does not delay the requests after.
    pub fn refund(&mut self) {
        self.tokens = (self.tokens + 1.0).min(self.burst);
    }
}

/// Anything but a positive rate (which the configuration guarantees) paces at one request a
/// second rather than dividing by zero.
fn sane_rate(per_second: f64) -> f64 {
    if per_second.is_finite() && per_second > 0.0 {
        per_second
    } else {
        1.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_resolve_budget_refuses_past_its_limit_and_names_when_it_frees_up() {
        let start = Instant::now();
        let mut budget = ResolveBudget::new(2);
        assert_eq!(budget.try_spend(start), Ok(()));
        assert_eq!(budget.try_spend(start + Duration::from_secs(10)), Ok(()));
        let refused = budget.try_spend(start + Duration::from_secs(20));
        assert_eq!(refused, Err(Some(Duration::from_secs(3580))));
        // An hour after the first resolve, one frees up again.
        assert_eq!(budget.try_spend(start + Duration::from_secs(3600)), Ok(()));
        assert_eq!(budget.left(start + Duration::from_secs(3600)), 0);
    }

    #[test]
    fn a_zero_budget_means_cache_only_forever() {
        let mut budget = ResolveBudget::new(0);
        assert_eq!(budget.try_spend(Instant::now()), Err(None));
    }

    #[test]
    fn a_refunded_request_token_no_longer_delays_the_next() {
        let now = Instant::now();
        let mut pacer = RequestPacer::new(2.0, now);
        pacer.reserve(now);
        pacer.reserve(now);
        assert_eq!(pacer.reserve(now), Duration::from_millis(500));
        pacer.refund();
        assert_eq!(pacer.reserve(now), Duration::from_millis(500));
    }

    #[test]
    fn a_refund_gives_the_resolve_back() {
        let now = Instant::now();
        let mut budget = ResolveBudget::new(1);
        budget.try_spend(now).unwrap();
        budget.refund();
        assert_eq!(budget.left(now), 1);
    }

    #[test]
    fn the_pacer_lets_a_burst_through_then_spaces_requests() {
        let now = Instant::now();
        let mut pacer = RequestPacer::new(2.0, now);
        assert_eq!(pacer.reserve(now), Duration::ZERO);
        assert_eq!(pacer.reserve(now), Duration::ZERO);
        assert_eq!(pacer.reserve(now), Duration::from_millis(500));
        assert_eq!(pacer.reserve(now), Duration::from_millis(1000));
        // After a quiet second, two tokens are back (one owed, then refilled).
        let later = now + Duration::from_secs(3);
        assert_eq!(pacer.reserve(later), Duration::ZERO);
    }

    #[test]
    fn the_wait_ahead_is_what_the_next_reservation_would_wait() {
        let now = Instant::now();
        let mut pacer = RequestPacer::new(2.0, now);
        assert_eq!(pacer.wait_at(now), Duration::ZERO);
        pacer.reserve(now);
        pacer.reserve(now);
        pacer.reserve(now);
        assert_eq!(pacer.wait_at(now), Duration::from_millis(1000));
        assert_eq!(pacer.reserve(now), Duration::from_millis(1000));
    }

    #[test]
    fn a_fractional_rate_still_allows_one_request_at_once() {
        let now = Instant::now();
        let mut pacer = RequestPacer::new(0.5, now);
        assert_eq!(pacer.reserve(now), Duration::ZERO);
        assert_eq!(pacer.reserve(now), Duration::from_secs(2));
    }
}
