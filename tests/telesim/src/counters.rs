//! Requests counted per (account, method), so tests can assert how often the network was used.
//!
//! The server counts every API call once its wrappers are off, **before** faults are applied: a
//! call answered with an injected `FLOOD_WAIT_X` or `AUTH_KEY_UNREGISTERED` counts, because the
//! client did use the network for it. Methods are named as in the TL schema
//! (`grammers_tl_types::name_for_id`, e.g. `"contacts.resolveUsername"`). Calls made with a key
//! that no account is logged in on (the login flow) are counted under user id 0. Service messages
//! (ping, acks, future salts) are not API calls and are not counted.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

/// The user id that calls from a key without a logged-in account are counted under.
pub const NO_ACCOUNT: i64 = 0;

/// A shared, cheap-to-clone handle on the request counts.
#[derive(Clone, Default)]
pub struct Counters {
    counts: Arc<Mutex<HashMap<(i64, String), u64>>>,
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

    /// Records one call of `method` by `user_id`.
    pub fn record(&self, user_id: i64, method: &str) {
        *self.lock().entry((user_id, method.to_owned())).or_default() += 1;
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

    /// Forgets every count (between phases of a test).
    pub fn reset(&self) {
        self.lock().clear();
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
}
