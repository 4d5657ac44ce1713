//! The connections that are open right now, so that faults can cut them.
//!
//! A connection registers itself once its first message names an auth key, with a cancellation
//! token that closes its socket. Entries remove themselves when the connection ends (the guard
//! returned by [`Registry::register`] does it on drop, so no path can leak an entry).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio_util::sync::CancellationToken;

#[derive(Default)]
pub struct Registry {
    next_id: AtomicU64,
    live: Mutex<HashMap<u64, Entry>>,
}

struct Entry {
    auth_key_id: i64,
    close: CancellationToken,
}

/// Removes its connection from the registry when dropped.
pub struct Registration {
    registry: Arc<Registry>,
    id: u64,
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.registry.lock().remove(&self.id);
    }
}

impl Registry {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Entry>> {
        // A panic elsewhere while holding the lock leaves the map itself consistent.
        self.live
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn register(self: &Arc<Self>, auth_key_id: i64, close: CancellationToken) -> Registration {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        self.lock().insert(id, Entry { auth_key_id, close });
        Registration {
            registry: Arc::clone(self),
            id,
        }
    }

    /// Closes every connection whose auth key satisfies `matches`; returns how many. They leave
    /// the registry at once, so a count taken right after no longer includes them.
    pub fn close_where(&self, matches: impl Fn(i64) -> bool) -> usize {
        let mut live = self.lock();
        let before = live.len();
        live.retain(|_, entry| {
            let close = matches(entry.auth_key_id);
            if close {
                entry.close.cancel();
            }
            !close
        });
        before - live.len()
    }

    /// How many connections are open for auth keys satisfying `matches`.
    pub fn count_where(&self, matches: impl Fn(i64) -> bool) -> usize {
        self.lock()
            .values()
            .filter(|e| matches(e.auth_key_id))
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closing_cancels_matching_connections_and_guards_unregister() {
        let registry = Arc::new(Registry::default());
        let a = CancellationToken::new();
        let b = CancellationToken::new();
        let guard_a = registry.register(1, a.clone());
        let _guard_b = registry.register(2, b.clone());
        assert_eq!(registry.close_where(|k| k == 1), 1);
        assert!(a.is_cancelled());
        assert!(!b.is_cancelled());
        assert_eq!(
            registry.count_where(|_| true),
            1,
            "closed connections leave at once"
        );
        drop(guard_a);
        assert_eq!(registry.count_where(|_| true), 1);
    }
}
