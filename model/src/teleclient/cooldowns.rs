//! Per-method cooling of one account after a `FLOOD_WAIT_X`.
//!
//! Telegram rate-limits each method separately: an account told to wait 30 s on
//! `contacts.resolveUsername` may still read history. So a cooldown is kept per method
//! and only that method avoids the account until it runs out.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// When each method of one account may be called again.
#[derive(Debug, Default, Clone)]
pub struct Cooldowns {
    until: HashMap<String, Instant>,
}

impl Cooldowns {
    /// The account may not call `method` before `until`; a later wait never shortens
    /// one already running.
    pub fn cool(&mut self, method: &str, until: Instant) {
        let entry = self.until.entry(method.to_owned()).or_insert(until);
        if *entry < until {
            *entry = until;
        }
    }

    /// How long `method` must still wait at `now`, if it is cooling.
    pub fn remaining(&self, method: &str, now: Instant) -> Option<Duration> {
        self.until
            .get(method)
            .map(|until| until.saturating_duration_since(now))
            .filter(|left| !left.is_zero())
    }

    /// Whether `method` is cooling at `now`.
    pub fn is_cooling(&self, method: &str, now: Instant) -> bool {
        self.remaining(method, now).is_some()
    }

    /// Every method still cooling at `now`, with the time left, by method name; ended
    /// cooldowns are forgotten on the way.
    pub fn active(&mut self, now: Instant) -> Vec<(String, Duration)> {
        self.until.retain(|_, until| *until > now);
        let mut active: Vec<_> = self
            .until
            .iter()
            .map(|(method, until)| (method.clone(), until.saturating_duration_since(now)))
            .collect();
        active.sort();
        active
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cooldown_holds_only_its_method_and_only_until_it_ends() {
        let now = Instant::now();
        let mut cooldowns = Cooldowns::default();
        cooldowns.cool("contacts.resolveUsername", now + Duration::from_secs(30));
        assert!(cooldowns.is_cooling("contacts.resolveUsername", now));
        assert!(!cooldowns.is_cooling("messages.getHistory", now));
        assert_eq!(
            cooldowns.remaining("contacts.resolveUsername", now + Duration::from_secs(10)),
            Some(Duration::from_secs(20))
        );
        assert!(!cooldowns.is_cooling("contacts.resolveUsername", now + Duration::from_secs(30)));
    }

    #[test]
    fn a_shorter_wait_never_cuts_a_longer_one() {
        let now = Instant::now();
        let mut cooldowns = Cooldowns::default();
        cooldowns.cool("m", now + Duration::from_secs(60));
        cooldowns.cool("m", now + Duration::from_secs(5));
        assert_eq!(cooldowns.remaining("m", now), Some(Duration::from_secs(60)));
    }

    #[test]
    fn active_lists_running_cooldowns_and_forgets_ended_ones() {
        let now = Instant::now();
        let mut cooldowns = Cooldowns::default();
        cooldowns.cool("a", now + Duration::from_secs(1));
        cooldowns.cool("b", now + Duration::from_secs(9));
        let later = now + Duration::from_secs(2);
        assert_eq!(
            cooldowns.active(later),
            vec![("b".to_string(), Duration::from_secs(7))]
        );
        assert_eq!(cooldowns.until.len(), 1);
    }
}
