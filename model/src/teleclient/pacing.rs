//! Per-method pacing of one account that learns from Telegram's flood waits.
//!
//! Telegram limits each method separately and publishes none of the limits. So each method an
//! account calls gets its own token bucket, starting from the configured rate
//! (`pool.method_rates`, or the account's `pool.requests_per_second` for methods not listed).
//! A `FLOOD_WAIT` on a method is proof of going too fast: its rate drops to half of what the
//! account was really sending (not of the configured rate, which may be far above it), and
//! the rate it flooded at becomes a ceiling the method climbs back towards but not past.
//! Every quiet minute raises the rate by a tenth, up to that ceiling; a quiet hour at the
//! ceiling lifts the ceiling a little, since Telegram's limits move. What is learned lives in
//! memory: a restart starts from the configured rates again.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use tgc_common::config::MethodRate;

use super::budget::RequestPacer;

/// A method is never paced below one call a minute: lower, a flood wait would stall the
/// method longer than the flood wait itself did.
const SLOWEST: f64 = 1.0 / 60.0;

/// Quiet time (calls going through, no flood wait) before a lowered rate rises a step.
const RAISE_EVERY: Duration = Duration::from_secs(60);

/// Each step up multiplies the rate by this.
const RAISE_STEP: f64 = 1.1;

/// Quiet time at the learned ceiling before the ceiling itself rises a step.
const RELAX_CEILING_EVERY: Duration = Duration::from_secs(3600);

/// The learned ceiling sits this far below the rate that flooded.
const CEILING_MARGIN: f64 = 0.8;

/// The calls counted to estimate the rate really sent: those of the last minute or so.
const OBSERVED_WINDOW: Duration = Duration::from_secs(60);

/// The configured rates, by method, with the account-wide rate for the rest.
#[derive(Debug, Clone)]
pub struct MethodRates {
    by_method: HashMap<String, (f64, f64)>,
    otherwise: (f64, f64),
}

impl MethodRates {
    /// `account_rate` (`pool.requests_per_second`) paces methods the table does not list,
    /// with its own burst.
    pub fn new(table: &[MethodRate], account_rate: f64) -> MethodRates {
        MethodRates {
            by_method: table
                .iter()
                .map(|rate| {
                    (
                        rate.method.clone(),
                        (rate.per_second, f64::from(rate.burst.max(1))),
                    )
                })
                .collect(),
            otherwise: (account_rate, account_rate.max(1.0)),
        }
    }

    /// The configured rate and burst of `method`.
    fn of(&self, method: &str) -> (f64, f64) {
        self.by_method
            .get(method)
            .copied()
            .unwrap_or(self.otherwise)
    }
}

/// The pacing of one method of one account.
#[derive(Debug, Clone)]
struct MethodPacer {
    bucket: RequestPacer,
    /// The rate it paces at now.
    rate: f64,
    /// How high the rate may climb: the configured rate, or below the rate that flooded.
    ceiling: f64,
    configured: f64,
    /// Since when Telegram has been quiet about this method (no flood wait, no raise).
    quiet_since: Instant,
    /// Calls reserved since `counted_since`: the rate really sent, for a flood wait to halve.
    counted_since: Instant,
    counted: u32,
    flood_waits: u64,
}

impl MethodPacer {
    fn new((per_second, burst): (f64, f64), now: Instant) -> MethodPacer {
        MethodPacer {
            bucket: RequestPacer::with_burst(per_second, burst, now),
            rate: per_second,
            ceiling: per_second,
            configured: per_second,
            quiet_since: now,
            counted_since: now,
            counted: 0,
            flood_waits: 0,
        }
    }

    fn reserve(&mut self, now: Instant) -> Duration {
        self.raise_if_quiet(now);
        if now.saturating_duration_since(self.counted_since) > OBSERVED_WINDOW {
            self.counted_since = now;
            self.counted = 0;
        }
        self.counted = self.counted.saturating_add(1);
        self.bucket.reserve(now)
    }

    fn refund(&mut self) {
        self.counted = self.counted.saturating_sub(1);
        self.bucket.refund();
    }

    /// The rate really sent lately, in calls per second; a span under a second counts as a
    /// second, so a quick burst of N calls reads as N per second, not thousands.
    fn observed(&self, now: Instant) -> f64 {
        let span = now
            .saturating_duration_since(self.counted_since)
            .as_secs_f64()
            .max(1.0);
        f64::from(self.counted) / span
    }

    fn flood_wait(&mut self, now: Instant) {
        let sent = self.observed(now).min(self.rate);
        // A method configured slower than SLOWEST keeps its own floor.
        let floor = SLOWEST.min(self.configured);
        self.ceiling = (sent * CEILING_MARGIN).min(self.ceiling).max(floor);
        self.set_rate((sent / 2.0).max(floor).min(self.ceiling), now);
        self.quiet_since = now;
        self.flood_waits += 1;
    }

    fn raise_if_quiet(&mut self, now: Instant) {
        let quiet = now.saturating_duration_since(self.quiet_since);
        if self.rate < self.ceiling {
            if quiet >= RAISE_EVERY {
                self.set_rate((self.rate * RAISE_STEP).min(self.ceiling), now);
                self.quiet_since = now;
            }
        } else if self.ceiling < self.configured && quiet >= RELAX_CEILING_EVERY {
            self.ceiling = (self.ceiling * RAISE_STEP).min(self.configured);
            self.quiet_since = now;
        }
    }

    fn set_rate(&mut self, rate: f64, now: Instant) {
        self.rate = rate;
        if rate < self.configured {
            // A lowered method is spaced evenly: bursts are what flooded it.
            self.bucket.set_rate(rate, 1.0, now);
        } else {
            self.bucket.set_rate(rate, self.bucket.burst(), now);
        }
    }
}

/// What operators see of one method's pacing.
#[derive(Debug, Clone, PartialEq)]
pub struct MethodPacing {
    pub method: String,
    /// Calls per second it is paced at now.
    pub per_second: f64,
    /// What it was configured at.
    pub configured: f64,
    /// Flood waits it met since start.
    pub flood_waits: u64,
}

/// The per-method pacers of one account, made on a method's first call.
#[derive(Debug, Clone)]
pub struct MethodPacers {
    rates: std::sync::Arc<MethodRates>,
    pacers: HashMap<String, MethodPacer>,
}

impl MethodPacers {
    pub fn new(rates: std::sync::Arc<MethodRates>) -> MethodPacers {
        MethodPacers {
            rates,
            pacers: HashMap::new(),
        }
    }

    fn pacer(&mut self, method: &str, now: Instant) -> &mut MethodPacer {
        if !self.pacers.contains_key(method) {
            let pacer = MethodPacer::new(self.rates.of(method), now);
            self.pacers.insert(method.to_owned(), pacer);
        }
        self.pacers
            .get_mut(method)
            .expect("the pacer was just made")
    }

    /// Takes `method`'s next turn; how long the call must wait for it.
    pub fn reserve(&mut self, method: &str, now: Instant) -> Duration {
        self.pacer(method, now).reserve(now)
    }

    /// Gives back a turn whose call was never sent.
    pub fn refund(&mut self, method: &str) {
        if let Some(pacer) = self.pacers.get_mut(method) {
            pacer.refund();
        }
    }

    /// How long a call of `method` taking its turn at `now` would wait.
    pub fn wait_at(&self, method: &str, now: Instant) -> Duration {
        match self.pacers.get(method) {
            Some(pacer) => pacer.bucket.wait_at(now),
            None => Duration::ZERO,
        }
    }

    /// Telegram answered `FLOOD_WAIT` on `method`: slow it down.
    pub fn flood_wait(&mut self, method: &str, now: Instant) {
        self.pacer(method, now).flood_wait(now);
    }

    /// The rate `method` is paced at now, if it was called.
    pub fn per_second(&self, method: &str) -> Option<f64> {
        self.pacers.get(method).map(|pacer| pacer.rate)
    }

    /// Every method paced so far, by name.
    pub fn report(&self) -> Vec<MethodPacing> {
        let mut report: Vec<MethodPacing> = self
            .pacers
            .iter()
            .map(|(method, pacer)| MethodPacing {
                method: method.clone(),
                per_second: pacer.rate,
                configured: pacer.configured,
                flood_waits: pacer.flood_waits,
            })
            .collect();
        report.sort_by(|a, b| a.method.cmp(&b.method));
        report
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pacers(table: &[(&str, f64, u32)], account_rate: f64) -> MethodPacers {
        let table: Vec<MethodRate> = table
            .iter()
            .map(|(method, per_second, burst)| MethodRate {
                method: (*method).to_owned(),
                per_second: *per_second,
                burst: *burst,
            })
            .collect();
        MethodPacers::new(std::sync::Arc::new(MethodRates::new(&table, account_rate)))
    }

    fn rate_of(pacers: &MethodPacers, method: &str) -> f64 {
        pacers.per_second(method).expect("the method was paced")
    }

    #[test]
    fn each_method_has_its_own_rate_and_burst() {
        let now = Instant::now();
        let mut pacers = pacers(&[("messages.search", 0.5, 2)], 100.0);
        assert_eq!(pacers.reserve("messages.search", now), Duration::ZERO);
        assert_eq!(pacers.reserve("messages.search", now), Duration::ZERO);
        assert_eq!(
            pacers.reserve("messages.search", now),
            Duration::from_secs(2)
        );
        // Another method is not held up by the first, and unlisted ones take the account rate.
        assert_eq!(pacers.reserve("messages.getHistory", now), Duration::ZERO);
        assert_eq!(
            pacers.wait_at("messages.search", now),
            Duration::from_secs(4)
        );
        assert_eq!(rate_of(&pacers, "messages.getHistory"), 100.0);
    }

    #[test]
    fn a_flood_wait_halves_the_rate_really_sent_not_the_configured_one() {
        let now = Instant::now();
        let mut pacers = pacers(&[], 1000.0);
        // Eleven calls in a moment: eleven a second was the rate really sent.
        for _ in 0..11 {
            pacers.reserve("messages.getHistory", now);
        }
        pacers.flood_wait("messages.getHistory", now);
        assert_eq!(rate_of(&pacers, "messages.getHistory"), 5.5);
        // Evenly spaced from then on.
        let later = now + Duration::from_secs(10);
        assert_eq!(pacers.reserve("messages.getHistory", later), Duration::ZERO);
        assert_eq!(
            pacers.wait_at("messages.getHistory", later),
            Duration::from_secs_f64(1.0 / 5.5)
        );
    }

    #[test]
    fn quiet_minutes_raise_the_rate_up_to_below_what_flooded() {
        let start = Instant::now();
        let mut pacers = pacers(&[("m.x", 10.0, 10)], 1000.0);
        for _ in 0..10 {
            pacers.reserve("m.x", start);
        }
        pacers.flood_wait("m.x", start);
        assert_eq!(rate_of(&pacers, "m.x"), 5.0);
        let mut at = start;
        for _ in 0..20 {
            at += RAISE_EVERY;
            pacers.reserve("m.x", at);
        }
        // Ten a second flooded: it climbs back to 8, not to 10.
        assert!((rate_of(&pacers, "m.x") - 8.0).abs() < 1e-9);
        // After an hour at that ceiling, the ceiling rises a step.
        at += RELAX_CEILING_EVERY;
        pacers.reserve("m.x", at);
        at += RAISE_EVERY;
        pacers.reserve("m.x", at);
        assert!((rate_of(&pacers, "m.x") - 8.8).abs() < 1e-9);
    }

    #[test]
    fn repeated_flood_waits_never_pace_below_one_call_a_minute() {
        let now = Instant::now();
        let mut pacers = pacers(&[], 5.0);
        for _ in 0..50 {
            pacers.flood_wait("m.x", now);
        }
        assert_eq!(rate_of(&pacers, "m.x"), SLOWEST);
        assert_eq!(pacers.report()[0].flood_waits, 50);
    }

    #[test]
    fn a_refunded_turn_neither_delays_nor_counts() {
        let now = Instant::now();
        let mut pacers = pacers(&[("m.x", 1.0, 1)], 1000.0);
        pacers.reserve("m.x", now);
        pacers.reserve("m.x", now);
        pacers.refund("m.x");
        assert_eq!(pacers.wait_at("m.x", now), Duration::from_secs(1));
        pacers.flood_wait("m.x", now);
        // One call was sent in that second: half a call a second.
        assert_eq!(rate_of(&pacers, "m.x"), 0.5);
    }
}
