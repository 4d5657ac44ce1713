//! Requests counted per (account, method), so tests can assert how often the network was used.
//!
//! The server counts every API call once its wrappers are off, **before** faults are applied: a
//! call answered with an injected `FLOOD_WAIT_X` or `AUTH_KEY_UNREGISTERED` counts, because the
//! client did use the network for it. Methods are named as in the TL schema
//! (`grammers_tl_types::name_for_id`, e.g. `"contacts.resolveUsername"`). Calls made with a key
//! that no account is logged in on (the login flow) are counted under user id 0. Service messages
//! (ping, acks, future salts) are not API calls and are not counted.
//!
//! Calls **in flight** are tracked too, from the moment the server reads a call to the moment
//! its answer is queued (injected latency included), with the peak per (account, method) and
//! per method over all accounts: the server's view of a client's concurrency, which can only
//! be lower than the client's own, so a test can check a client's concurrency limits.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::Notify;

/// The user id that calls from a key without a logged-in account are counted under.
pub const NO_ACCOUNT: i64 = 0;

/// A shared, cheap-to-clone handle on the request counts.
#[derive(Clone, Default)]
pub struct Counters {
    counts: Arc<Mutex<HashMap<(i64, String), u64>>>,
    in_flight: Arc<Mutex<HashMap<(i64, String), Concurrency>>>,
    /// Woken on every call counted, for tests that wait for a number of calls.
    recorded: Arc<Notify>,
}

/// The key under which calls of every account are tracked together.
const ALL_ACCOUNTS: i64 = i64::MIN;

/// Calls in flight now, and the most there ever were.
#[derive(Debug, Default, Clone, Copy)]
struct Concurrency {
    now: u64,
    peak: u64,
}

/// One call in flight; it lands when dropped.
pub struct InFlight {
    counters: Counters,
    user_id: i64,
    method: String,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut in_flight = self.counters.in_flight();
        for user in [self.user_id, ALL_ACCOUNTS] {
            if let Some(c) = in_flight.get_mut(&(user, self.method.clone())) {
                c.now = c.now.saturating_sub(1);
            }
        }
    }
}

impl Counters {
    pub fn new() -> Counters {
        Counters::default()
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<(i64, String), u64>> {
        self.counts
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn in_flight(&self) -> MutexGuard<'_, HashMap<(i64, String), Concurrency>> {
        self.in_flight
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A call of `method` by `user_id` starts; it is in flight until the guard drops.
    pub fn begin(&self, user_id: i64, method: &str) -> InFlight {
        let mut in_flight = self.in_flight();
        for user in [user_id, ALL_ACCOUNTS] {
            let c = in_flight.entry((user, method.to_owned())).or_default();
            c.now += 1;
            c.peak = c.peak.max(c.now);
        }
        InFlight {
            counters: self.clone(),
            user_id,
            method: method.to_owned(),
        }
    }

    /// The most calls of `method` by `user_id` that were in flight at once.
    pub fn peak_in_flight(&self, user_id: i64, method: &str) -> u64 {
        self.in_flight()
            .get(&(user_id, method.to_owned()))
            .map_or(0, |c| c.peak)
    }

    /// The most calls of `method` in flight at once, all accounts together.
    pub fn peak_in_flight_total(&self, method: &str) -> u64 {
        self.peak_in_flight(ALL_ACCOUNTS, method)
    }

    /// Records one call of `method` by `user_id`.
    pub fn record(&self, user_id: i64, method: &str) {
        *self.lock().entry((user_id, method.to_owned())).or_default() += 1;
        self.recorded.notify_waiters();
    }

    /// Waits until `ready` holds for the counts; it is checked again on every call counted.
    pub async fn wait_until(&self, mut ready: impl FnMut(&Counters) -> bool) {
        loop {
            let recorded = self.recorded.notified();
            tokio::pin!(recorded);
            recorded.as_mut().enable();
            if ready(self) {
                return;
            }
            recorded.await;
        }
    }

    /// Calls of `method` by `user_id`.
    pub fn get(&self, user_id: i64, method: &str) -> u64 {
        self.lock()
            .get(&(user_id, method.to_owned()))
            .copied()
            .unwrap_or(0)
    }

    /// Calls of `method` by every account.
    pub fn method_total(&self, method: &str) -> u64 {
        self.lock()
            .iter()
            .filter(|((_, m), _)| m == method)
            .map(|(_, n)| n)
            .sum()
    }

    /// Calls of any method by `user_id`.
    pub fn user_total(&self, user_id: i64) -> u64 {
        self.lock()
            .iter()
            .filter(|((u, _), _)| *u == user_id)
            .map(|(_, n)| n)
            .sum()
    }

    /// Every call counted.
    pub fn total(&self) -> u64 {
        self.lock().values().sum()
    }

    /// Every (user id, method, count), sorted by user id then method.
    pub fn snapshot(&self) -> Vec<(i64, String, u64)> {
        let mut all: Vec<_> = self
            .lock()
            .iter()
            .map(|((u, m), n)| (*u, m.clone(), *n))
            .collect();
        all.sort();
        all
    }

    /// Forgets every count and peak (between phases of a test).
    pub fn reset(&self) {
        self.lock().clear();
        for c in self.in_flight().values_mut() {
            c.peak = c.now;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_per_account_and_method_with_totals() {
        let counters = Counters::new();
        counters.record(1, "messages.getHistory");
        counters.record(1, "messages.getHistory");
        counters.record(2, "messages.getHistory");
        counters.record(1, "contacts.resolveUsername");
        assert_eq!(counters.get(1, "messages.getHistory"), 2);
        assert_eq!(counters.get(2, "contacts.resolveUsername"), 0);
        assert_eq!(counters.method_total("messages.getHistory"), 3);
        assert_eq!(counters.user_total(1), 3);
        assert_eq!(counters.total(), 4);
        assert_eq!(
            counters.snapshot()[0],
            (1, "contacts.resolveUsername".into(), 1)
        );
        counters.reset();
        assert_eq!(counters.total(), 0);
    }

    #[test]
    fn peaks_of_calls_in_flight_per_account_and_in_all() {
        let counters = Counters::new();
        let a1 = counters.begin(1, "upload.getFile");
        let a2 = counters.begin(1, "upload.getFile");
        drop(a1);
        let b = counters.begin(2, "upload.getFile");
        let a3 = counters.begin(1, "upload.getFile");
        assert_eq!(counters.peak_in_flight(1, "upload.getFile"), 2);
        assert_eq!(counters.peak_in_flight(2, "upload.getFile"), 1);
        assert_eq!(counters.peak_in_flight_total("upload.getFile"), 3);
        drop((a2, b, a3));
        let _c = counters.begin(2, "upload.getFile");
        assert_eq!(counters.peak_in_flight_total("upload.getFile"), 3);
        assert_eq!(counters.peak_in_flight(3, "upload.getFile"), 0);
    }

    #[tokio::test]
    async fn a_wait_for_calls_ends_when_the_call_that_satisfies_it_is_counted() {
        let counters = Counters::new();
        let recorder = counters.clone();
        let waiting = tokio::spawn(async move {
            counters
                .wait_until(|c| c.method_total("upload.getFile") >= 3)
                .await;
            counters.method_total("upload.getFile")
        });
        for _ in 0..3 {
            tokio::task::yield_now().await;
            recorder.record(1, "upload.getFile");
        }
        let total = tokio::time::timeout(std::time::Duration::from_secs(10), waiting)
            .await
            .expect("the wait ends once the third call is counted");
        assert_eq!(total.unwrap(), 3);
    }
}
