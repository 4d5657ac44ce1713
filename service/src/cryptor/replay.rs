//! The replay cache: the ids of requests accepted inside the clock window.
//!
//! A request is accepted only when `|now - ts| <= window`, so an id must be remembered until
//! `ts + window`; after that, a replay of it is stale and the clock check refuses it. Entries
//! therefore expire on their own, and memory is bounded by how many requests arrive in one
//! window. Each entry is a fixed 16-byte digest of (key id, id) plus its expiry, whatever the id's
//! length, kept in a hash set (membership) and a min-heap by expiry (purging), in shards so
//! concurrent requests rarely wait on one lock.
//!
//! **Under a flood of unique ids** (only possible for a holder of a key: ids are read after the
//! tag verifies) the cache grows to its capacity and then refuses new requests with
//! [`EnvelopeError::ReplayCacheFull`] (503, retry when the oldest entries expire) rather than
//! evicting: evicting a live id would let that request be replayed. That is why a general cache
//! crate (which evicts when full) is not used here.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashSet};
use std::sync::Mutex;

use sha2::{Digest, Sha256};

use super::error::EnvelopeError;

/// The default number of live ids: ~17,000 requests/s sustained with a 60 s window, at most
/// about 80 MiB when full (each entry is a 16-byte digest in a set and, with its expiry, in a
/// heap).
pub const DEFAULT_CAPACITY: usize = 1 << 20;

const SHARDS: usize = 16;

/// The ids seen inside the clock window; `Send + Sync`.
pub struct ReplayCache {
    shards: Vec<Mutex<Shard>>,
    shard_capacity: usize,
}

/// A summary: the entries themselves are many and meaningless to a reader.
impl std::fmt::Debug for ReplayCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReplayCache")
            .field("capacity", &self.capacity())
            .field("held_ids", &self.held_ids())
            .finish()
    }
}

#[derive(Default)]
struct Shard {
    seen: HashSet<u128>,
    /// (expires_at_ms, digest), earliest first.
    expiries: BinaryHeap<Reverse<(i64, u128)>>,
}

impl ReplayCache {
    /// A cache holding at most about `capacity` live ids (rounded up to a multiple of the shard
    /// count; at least one per shard).
    pub fn new(capacity: usize) -> ReplayCache {
        ReplayCache {
            shards: (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect(),
            shard_capacity: capacity.div_ceil(SHARDS).max(1),
        }
    }

    /// The most live ids the cache holds.
    pub fn capacity(&self) -> usize {
        self.shard_capacity * SHARDS
    }

    /// Records `id` (of a request sealed with `key_id`) until `expires_at_ms`; refuses it if it is
    /// already recorded and not yet expired at `now_ms`.
    pub fn check_and_insert(
        &self,
        key_id: u32,
        id: &str,
        expires_at_ms: i64,
        now_ms: i64,
    ) -> Result<(), EnvelopeError> {
        let digest = digest(key_id, id);
        // The low bits of a SHA-256 digest are uniform: a fine shard index.
        let shard = &self.shards[(digest as usize) % SHARDS];
        // A poisoned lock means another thread panicked mid-update; the set and heap are each
        // still valid (every update is a single push or pop), so keep using them.
        let mut shard = shard
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        shard.purge(now_ms);
        if shard.seen.contains(&digest) {
            return Err(EnvelopeError::Replayed);
        }
        if shard.seen.len() >= self.shard_capacity {
            let oldest = shard
                .expiries
                .peek()
                .map_or(now_ms, |Reverse((expiry, _))| *expiry);
            return Err(EnvelopeError::ReplayCacheFull {
                capacity: self.capacity(),
                retry_after_ms: oldest.saturating_sub(now_ms).max(1),
            });
        }
        shard.seen.insert(digest);
        shard.expiries.push(Reverse((expires_at_ms, digest)));
        Ok(())
    }

    /// How many ids are held, expired or not yet purged (for metrics and tests).
    pub fn held_ids(&self) -> usize {
        self.shards
            .iter()
            .map(|shard| {
                shard
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner())
                    .seen
                    .len()
            })
            .sum()
    }
}

impl Shard {
    /// Forgets every id whose request would now be refused as stale anyway.
    fn purge(&mut self, now_ms: i64) {
        while let Some(Reverse((expiry, digest))) = self.expiries.peek().copied() {
            if expiry >= now_ms {
                break;
            }
            self.expiries.pop();
            self.seen.remove(&digest);
        }
    }
}

/// 128 bits of SHA-256 over `key_id | id`: ids are chosen per client, so two clients holding
/// different keys may well pick the same ones.
fn digest(key_id: u32, id: &str) -> u128 {
    let hash = Sha256::new()
        .chain_update(key_id.to_be_bytes())
        .chain_update(id.as_bytes())
        .finalize();
    let mut low = [0u8; 16];
    low.copy_from_slice(&hash[..16]);
    u128::from_le_bytes(low)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_is_refused_until_it_expires() {
        let cache = ReplayCache::new(64);
        cache
            .check_and_insert(1, "a", 1_000, 0)
            .expect("first sight");
        assert_eq!(
            cache.check_and_insert(1, "a", 1_000, 500),
            Err(EnvelopeError::Replayed)
        );
        assert_eq!(
            cache.check_and_insert(1, "a", 1_000, 1_000),
            Err(EnvelopeError::Replayed),
            "still live at its expiry instant"
        );
        cache
            .check_and_insert(1, "a", 3_000, 1_001)
            .expect("forgotten once expired");
    }

    #[test]
    fn ids_are_scoped_by_key() {
        let cache = ReplayCache::new(64);
        cache.check_and_insert(1, "a", 1_000, 0).expect("key 1");
        cache
            .check_and_insert(2, "a", 1_000, 0)
            .expect("key 2 is another namespace");
        assert_eq!(cache.held_ids(), 2);
    }

    #[test]
    fn a_full_cache_refuses_instead_of_forgetting_and_recovers_as_ids_expire() {
        let cache = ReplayCache::new(SHARDS); // one id per shard
        let mut refused = None;
        for n in 0..1_000 {
            match cache.check_and_insert(1, &format!("id-{n}"), 10_000 + n, 0) {
                Ok(()) => {}
                Err(error) => {
                    refused = Some(error);
                    break;
                }
            }
        }
        match refused {
            Some(EnvelopeError::ReplayCacheFull {
                capacity,
                retry_after_ms,
            }) => {
                assert_eq!(capacity, SHARDS);
                assert!(retry_after_ms >= 10_000, "waits for the oldest expiry");
            }
            other => panic!("expected ReplayCacheFull, got {other:?}"),
        }
        assert!(cache.held_ids() <= SHARDS);
        // Once the old ids have expired, the cache has room again.
        cache
            .check_and_insert(1, "fresh", 30_000, 20_000)
            .expect("expired ids make room");
        assert!(cache.held_ids() <= SHARDS);
    }
}
