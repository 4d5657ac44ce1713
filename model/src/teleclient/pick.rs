//! Choosing the account for one request: affinity first, then rendezvous hashing, then
//! smooth weighted round-robin among equals.
//!
//! The order matters for the accounts' lives. An account that already holds the chat's
//! access hash can ask without `contacts.resolveUsername`, so holders come first. When
//! none holds it, rendezvous (highest-random-weight) hashing of murmur3(chat key, account
//! id) sends every request about that chat to the same account, so the chat is resolved
//! once rather than once per account, and adding or losing an account moves only the
//! chats that account owned. When several accounts are equally right (several holders,
//! or no chat at all), smooth weighted round-robin (nginx's algorithm) spreads the load,
//! with weights that fall as an account's pending downloads rise, because downloads are
//! bound to the account that fetched the message and must not pile up on one.
//!
//! Everything here is pure and synchronous: the pool gathers the [`Candidate`]s (able,
//! not cooling for the method) and asks [`Picker::pick`].

use std::collections::HashMap;

use tgc_common::hashing::murmur3_64;

use super::account::AccountId;

/// The weight of an account with no pending download; one with `n` pending gets
/// `FULL_WEIGHT / (1 + n)`. Divisible by 1..=16 so small counts give exact ratios.
pub const FULL_WEIGHT: i64 = 720_720;

/// One account that may serve the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Candidate {
    pub account: AccountId,
    /// It already holds the chat's access hash (no resolve needed).
    pub holds_chat: bool,
    pub pending_downloads: u32,
}

/// The weight smooth round-robin gives an account with `pending` downloads queued.
pub fn weight(pending_downloads: u32) -> i64 {
    (FULL_WEIGHT / (1 + i64::from(pending_downloads))).max(1)
}

/// The rendezvous score of `account` for a chat: the account with the highest score owns
/// the chat. The chat key is hashed once per pick ([`chat_hash`]) and each account's score
/// hashes that with the account id, 16 bytes on the stack, so a pick over 100 accounts
/// allocates nothing.
pub fn rendezvous_score(chat_hash: u64, account: AccountId) -> u64 {
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&chat_hash.to_le_bytes());
    bytes[8..].copy_from_slice(&account.0.to_le_bytes());
    murmur3_64(&bytes, 0)
}

/// murmur3 of a chat key, the first half of every rendezvous score for that chat.
pub fn chat_hash(chat_key: &str) -> u64 {
    murmur3_64(chat_key.as_bytes(), 0)
}

/// The account that owns `chat_key` among `accounts` by rendezvous hashing.
pub fn rendezvous_owner(
    chat_key: &str,
    accounts: impl IntoIterator<Item = AccountId>,
) -> Option<AccountId> {
    let chat = chat_hash(chat_key);
    accounts
        .into_iter()
        .max_by_key(|account| (rendezvous_score(chat, *account), account.0))
}

/// The round-robin state that persists between picks.
#[derive(Debug, Default)]
pub struct Picker {
    current: HashMap<AccountId, i64>,
}

impl Picker {
    pub fn new() -> Picker {
        Picker::default()
    }

    /// Picks one of `candidates` for a request about `chat_key` (`None`: a request about
    /// no chat in particular, such as a global search). `None` only when there is no
    /// candidate.
    pub fn pick(&mut self, chat_key: Option<&str>, candidates: &[Candidate]) -> Option<AccountId> {
        let holders: Vec<Candidate> = candidates
            .iter()
            .copied()
            .filter(|c| c.holds_chat)
            .collect();
        if !holders.is_empty() {
            return self.round_robin(&holders);
        }
        match chat_key {
            Some(key) => rendezvous_owner(key, candidates.iter().map(|c| c.account)),
            None => self.round_robin(candidates),
        }
    }

    /// Smooth weighted round-robin: every candidate gains its weight, the richest is
    /// chosen and pays the total. Over any run of picks each account is chosen in
    /// proportion to its weight, and the choices interleave rather than come in bursts.
    fn round_robin(&mut self, candidates: &[Candidate]) -> Option<AccountId> {
        let mut total = 0i64;
        let mut best: Option<(AccountId, i64)> = None;
        for candidate in candidates {
            let weight = weight(candidate.pending_downloads);
            total = total.saturating_add(weight);
            let current = self.current.entry(candidate.account).or_insert(0);
            *current = current.saturating_add(weight);
            if best.is_none_or(|(_, best_current)| *current > best_current) {
                best = Some((candidate.account, *current));
            }
        }
        let (chosen, _) = best?;
        if let Some(current) = self.current.get_mut(&chosen) {
            *current = current.saturating_sub(total);
        }
        Some(chosen)
    }

    /// Drops the round-robin state of an account that left the pool.
    pub fn forget(&mut self, account: AccountId) {
        self.current.remove(&account);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn idle(ids: impl IntoIterator<Item = i64>) -> Vec<Candidate> {
        ids.into_iter()
            .map(|id| Candidate {
                account: AccountId(id),
                holds_chat: false,
                pending_downloads: 0,
            })
            .collect()
    }

    fn count_picks(
        picker: &mut Picker,
        candidates: &[Candidate],
        rounds: usize,
    ) -> HashMap<i64, usize> {
        let mut counts = HashMap::new();
        for _ in 0..rounds {
            let chosen = picker.pick(None, candidates).expect("a candidate");
            *counts.entry(chosen.0).or_insert(0) += 1;
        }
        counts
    }

    #[test]
    fn weights_fall_as_pending_downloads_rise() {
        assert_eq!(weight(0), FULL_WEIGHT);
        assert_eq!(weight(1), FULL_WEIGHT / 2);
        assert_eq!(weight(9), FULL_WEIGHT / 10);
        assert!(
            weight(u32::MAX) >= 1,
            "never zero: a busy account is slow, not gone"
        );
    }

    #[test]
    fn idle_equals_share_picks_evenly_and_interleaved() {
        let mut picker = Picker::new();
        let candidates = idle([1, 2, 3]);
        let first: Vec<i64> = (0..6)
            .map(|_| picker.pick(None, &candidates).unwrap().0)
            .collect();
        assert_eq!(first, vec![1, 2, 3, 1, 2, 3]);
    }

    #[test]
    fn an_account_with_many_pending_downloads_gets_proportionally_fewer_picks() {
        let mut picker = Picker::new();
        let mut candidates = idle(1..=5);
        // Account 5 has 9 downloads queued: weight 1/10 of the others.
        candidates[4].pending_downloads = 9;
        let counts = count_picks(&mut picker, &candidates, 4100);
        // Weights 10:10:10:10:1 over 41 units: exactly 1000 picks per idle account and 100
        // for the busy one, as smooth round-robin is exact over whole cycles.
        for id in 1..=4 {
            assert_eq!(counts[&id], 1000, "idle account {id}: {counts:?}");
        }
        assert_eq!(counts[&5], 100, "busy account: {counts:?}");
    }

    #[test]
    fn the_distribution_follows_the_download_pressure_of_each_account() {
        let mut picker = Picker::new();
        let mut candidates = idle(1..=3);
        candidates[1].pending_downloads = 1; // weight 1/2
        candidates[2].pending_downloads = 3; // weight 1/4
        let counts = count_picks(&mut picker, &candidates, 7000);
        assert_eq!((counts[&1], counts[&2], counts[&3]), (4000, 2000, 1000));
    }

    #[test]
    fn holders_of_the_chat_win_over_the_rendezvous_owner() {
        let mut picker = Picker::new();
        let mut candidates = idle(1..=10);
        let owner = rendezvous_owner("some_chat", candidates.iter().map(|c| c.account)).unwrap();
        let holder = candidates.iter_mut().find(|c| c.account != owner).unwrap();
        holder.holds_chat = true;
        let holder = holder.account;
        for _ in 0..5 {
            assert_eq!(picker.pick(Some("some_chat"), &candidates), Some(holder));
        }
    }

    #[test]
    fn several_holders_share_by_round_robin() {
        let mut picker = Picker::new();
        let mut candidates = idle(1..=4);
        candidates[0].holds_chat = true;
        candidates[2].holds_chat = true;
        let picks: Vec<i64> = (0..4)
            .map(|_| picker.pick(Some("chat"), &candidates).unwrap().0)
            .collect();
        assert_eq!(picks, vec![1, 3, 1, 3]);
    }

    #[test]
    fn without_holders_a_chat_always_lands_on_its_rendezvous_owner() {
        let mut picker = Picker::new();
        let candidates = idle(1..=10);
        let first = picker.pick(Some("durov"), &candidates).unwrap();
        for _ in 0..20 {
            assert_eq!(picker.pick(Some("durov"), &candidates), Some(first));
        }
        // Different chats spread over the accounts.
        let owners: std::collections::HashSet<_> = (0..200)
            .map(|i| {
                picker
                    .pick(Some(&format!("chat_{i}")), &candidates)
                    .unwrap()
            })
            .collect();
        assert_eq!(owners.len(), 10, "200 chats should reach all 10 accounts");
    }

    #[test]
    fn losing_an_account_moves_only_the_chats_it_owned() {
        let all: Vec<AccountId> = (1..=10).map(AccountId).collect();
        let without_7: Vec<AccountId> = all.iter().copied().filter(|a| a.0 != 7).collect();
        for i in 0..500 {
            let key = format!("chat_{i}");
            let before = rendezvous_owner(&key, all.iter().copied()).unwrap();
            let after = rendezvous_owner(&key, without_7.iter().copied()).unwrap();
            if before.0 != 7 {
                assert_eq!(before, after, "{key} moved though its owner stayed");
            }
        }
    }

    #[test]
    fn no_candidate_no_pick() {
        let mut picker = Picker::new();
        assert_eq!(picker.pick(Some("chat"), &[]), None);
        assert_eq!(picker.pick(None, &[]), None);
    }
}
