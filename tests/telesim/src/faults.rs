//! Faults injected on demand, the way Telegram presents them.
//!
//! The server consults [`Faults`] for every API call after counting it and before handing it to
//! the Telegram layer (so a call answered with a fault still counts, see [`crate::counters`]):
//!
//! - **flood waits**: `FLOOD_WAIT_X` (420) for an (account, method), for the next N calls (or the
//!   N calls after the next M) or until an instant (X is then the seconds left, rounded up, as
//!   Telegram reports it);
//! - **unregistered keys**: `AUTH_KEY_UNREGISTERED` (401) for every call of an account except the
//!   ones Telegram serves without authorization (`help.getConfig`, `help.getNearestDc`, `auth.*`,
//!   `langpack.*`), until restored; likewise `AUTH_KEY_DUPLICATED` (406), which Telegram sends
//!   when one session is used from two places at once;
//! - **rate rules**, like Telegram's own: past `calls` calls of a method by one account within a
//!   sliding `window`, the next call answers `FLOOD_WAIT_X` with X the seconds until the
//!   oldest call leaves the window (rounded up); refused calls do not count against the
//!   window. Kept per account; [`Faults::rate_limited`] counts the refusals;
//! - **latency**: the answer to a call is held back (the connection keeps serving other calls);
//!   a global delay and per-method delays add up;
//! - **bandwidth**: `upload.getFile` answers of one account are paced to a byte rate;
//! - **dropped connections**: the sockets of an account (or all) are closed now; clients reconnect.
//!
//! `FILE_REFERENCE_EXPIRED` depends on which messages were fetched, so it belongs to the Telegram
//! layer (`Telegram::expire_file_reference`), not here.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::api::{RpcError, Telegram};
use crate::server::registry::Registry;

/// How long a flood wait lasts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultSpan {
    /// The next N calls of the method get the error; then it lifts.
    Calls(u32),
    /// Every call until this instant gets the error, with X the seconds left.
    Until(Instant),
    /// The next `pass` calls of the method go through, the `calls` after them get the
    /// error; then it lifts. Lands a fault mid-download without timing.
    After { pass: u32, calls: u32 },
}

/// A shared, cheap-to-clone handle on the injected faults.
#[derive(Clone)]
pub struct Faults {
    state: Arc<Mutex<State>>,
    registry: Arc<Registry>,
    telegram: Telegram,
}

#[derive(Default)]
struct State {
    flood_waits: HashMap<(i64, String), FloodWait>,
    rate_rules: HashMap<String, RateRule>,
    /// Calls each (account, method) under a rate rule made within its window, oldest first.
    recent_calls: HashMap<(i64, String), std::collections::VecDeque<Instant>>,
    /// Calls each (account, method) a rate rule refused.
    rate_limited: HashMap<(i64, String), u64>,
    /// Accounts whose key Telegram refuses, with the error it answers.
    unregistered: HashMap<i64, RpcError>,
    latency: Duration,
    method_latency: HashMap<String, Duration>,
    bandwidth: Option<u64>,
    /// When each account's download pipe is free again under the bandwidth cap.
    pipe_free_at: HashMap<i64, Instant>,
}

/// At most `calls` calls of a method by one account within any `window`.
#[derive(Debug, Clone, Copy)]
struct RateRule {
    calls: u32,
    window: Duration,
}

#[derive(Debug, Clone, Copy)]
struct FloodWait {
    seconds: u32,
    span: FaultSpan,
}

impl State {
    /// Counts the call against its method's rate rule, or refuses it past the rule.
    fn rate_rule_verdict(&mut self, key: (i64, String)) -> Option<RpcError> {
        let rule = *self.rate_rules.get(&key.1)?;
        let now = Instant::now();
        let recent = self.recent_calls.entry(key.clone()).or_default();
        while recent
            .front()
            .is_some_and(|first| now.saturating_duration_since(*first) >= rule.window)
        {
            recent.pop_front();
        }
        if recent.len() < rule.calls as usize {
            recent.push_back(now);
            return None;
        }
        let frees_up = recent
            .front()
            .map(|first| (*first + rule.window).saturating_duration_since(now))
            .unwrap_or(rule.window);
        *self.rate_limited.entry(key).or_default() += 1;
        Some(flood_wait_error(
            (frees_up.as_secs_f64().ceil() as u32).max(1),
        ))
    }
}

/// What the server must do with one call.
#[derive(Debug, Default)]
pub(crate) struct Verdict {
    /// Answer with this error instead of calling the Telegram layer.
    pub error: Option<RpcError>,
    /// Hold the answer back this long.
    pub delay: Duration,
}

/// Methods Telegram answers without an authorized key.
fn needs_authorization(method: &str) -> bool {
    !(method == "help.getConfig"
        || method == "help.getNearestDc"
        || method.starts_with("auth.")
        || method.starts_with("langpack."))
}

impl Faults {
    pub(crate) fn new(telegram: Telegram, registry: Arc<Registry>) -> Faults {
        Faults {
            state: Arc::default(),
            registry,
            telegram,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// `FLOOD_WAIT_<seconds>` for `user_id` calling `method` (e.g. `"messages.getHistory"`).
    pub fn flood_wait(&self, user_id: i64, method: &str, seconds: u32, span: FaultSpan) {
        self.lock()
            .flood_waits
            .insert((user_id, method.to_owned()), FloodWait { seconds, span });
    }

    /// Telegram's way of limiting `method`: every account may call it at most `calls` times
    /// within any `window`; past that, `FLOOD_WAIT_X`. Replaces an earlier rule for `method`.
    pub fn rate_limit(&self, method: &str, calls: u32, window: Duration) {
        let mut state = self.lock();
        state
            .rate_rules
            .insert(method.to_owned(), RateRule { calls, window });
        state.recent_calls.retain(|(_, m), _| m != method);
    }

    /// Lifts the rate rule of `method`.
    pub fn clear_rate_limit(&self, method: &str) {
        let mut state = self.lock();
        state.rate_rules.remove(method);
        state.recent_calls.retain(|(_, m), _| m != method);
    }

    /// How many calls of `method` by `user_id` a rate rule refused with `FLOOD_WAIT`.
    pub fn rate_limited(&self, user_id: i64, method: &str) -> u64 {
        self.lock()
            .rate_limited
            .get(&(user_id, method.to_owned()))
            .copied()
            .unwrap_or(0)
    }

    /// Lifts a flood wait before it runs out.
    pub fn clear_flood_wait(&self, user_id: i64, method: &str) {
        self.lock()
            .flood_waits
            .remove(&(user_id, method.to_owned()));
    }

    /// `AUTH_KEY_UNREGISTERED` for every authorized call of `user_id`, as after a revoked session.
    pub fn auth_key_unregistered(&self, user_id: i64) {
        self.lock().unregistered.insert(
            user_id,
            RpcError {
                code: 401,
                message: "AUTH_KEY_UNREGISTERED".into(),
            },
        );
    }

    /// `AUTH_KEY_DUPLICATED` for every authorized call of `user_id`, as after its session
    /// was used from two places at once (Telegram then invalidates it).
    pub fn auth_key_duplicated(&self, user_id: i64) {
        self.lock().unregistered.insert(
            user_id,
            RpcError {
                code: 406,
                message: "AUTH_KEY_DUPLICATED".into(),
            },
        );
    }

    /// Undoes [`Faults::auth_key_unregistered`] and [`Faults::auth_key_duplicated`].
    pub fn restore_auth_key(&self, user_id: i64) {
        self.lock().unregistered.remove(&user_id);
    }

    /// Holds back the answer to every call by `delay` (zero removes it).
    pub fn latency(&self, delay: Duration) {
        self.lock().latency = delay;
    }

    /// Holds back the answers to `method` by `delay`, on top of the global latency.
    pub fn method_latency(&self, method: &str, delay: Duration) {
        let mut state = self.lock();
        if delay.is_zero() {
            state.method_latency.remove(method);
        } else {
            state.method_latency.insert(method.to_owned(), delay);
        }
    }

    /// Paces each account's `upload.getFile` answers to `bytes_per_second` (None lifts the cap).
    pub fn bandwidth(&self, bytes_per_second: Option<u64>) {
        let mut state = self.lock();
        state.bandwidth = bytes_per_second.filter(|&b| b > 0);
        state.pipe_free_at.clear();
    }

    /// Closes every open connection of `user_id` now; returns how many were closed.
    pub fn drop_connections(&self, user_id: i64) -> usize {
        let telegram = self.telegram.clone();
        self.registry
            .close_where(move |key| telegram.account_of(key) == Some(user_id))
    }

    /// Closes every open connection now; returns how many were closed.
    pub fn drop_all_connections(&self) -> usize {
        self.registry.close_where(|_| true)
    }

    /// How many connections `user_id` has open (useful to wait for a reconnect).
    pub fn open_connections(&self, user_id: i64) -> usize {
        let telegram = self.telegram.clone();
        self.registry
            .count_where(move |key| telegram.account_of(key) == Some(user_id))
    }

    /// Removes every fault (open connections stay open).
    pub fn clear(&self) {
        *self.lock() = State::default();
    }

    /// Decides the fate of one call of `method` by `user_id` (None: no account on the key).
    pub(crate) fn check(&self, user_id: Option<i64>, method: &str) -> Verdict {
        let mut state = self.lock();
        let delay = state.latency
            + state
                .method_latency
                .get(method)
                .copied()
                .unwrap_or_default();
        let Some(user_id) = user_id else {
            return Verdict { error: None, delay };
        };
        if let Some(refused) = state.unregistered.get(&user_id)
            && needs_authorization(method)
        {
            return Verdict {
                error: Some(refused.clone()),
                delay,
            };
        }
        let key = (user_id, method.to_owned());
        let error = match state.flood_waits.get_mut(&key) {
            Some(wait) => match &mut wait.span {
                FaultSpan::Calls(left) => {
                    let seconds = wait.seconds;
                    *left = left.saturating_sub(1);
                    if *left == 0 {
                        state.flood_waits.remove(&key);
                    }
                    Some(flood_wait_error(seconds))
                }
                FaultSpan::After { pass, calls } => {
                    if *pass > 0 {
                        *pass -= 1;
                        None
                    } else {
                        let seconds = wait.seconds;
                        *calls = calls.saturating_sub(1);
                        if *calls == 0 {
                            state.flood_waits.remove(&key);
                        }
                        Some(flood_wait_error(seconds))
                    }
                }
                FaultSpan::Until(until) => {
                    let left = until.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        state.flood_waits.remove(&key);
                        None
                    } else {
                        Some(flood_wait_error(left.as_secs_f64().ceil() as u32))
                    }
                }
            },
            None => None,
        };
        let error = error.or_else(|| state.rate_rule_verdict(key));
        Verdict { error, delay }
    }

    /// How long to hold back an `upload.getFile` answer of `bytes` for `user_id` under the cap.
    pub(crate) fn download_delay(&self, user_id: Option<i64>, bytes: usize) -> Duration {
        let mut state = self.lock();
        let Some(rate) = state.bandwidth else {
            return Duration::ZERO;
        };
        let now = Instant::now();
        let pipe = state
            .pipe_free_at
            .entry(user_id.unwrap_or(crate::counters::NO_ACCOUNT))
            .or_insert(now);
        let start = (*pipe).max(now);
        *pipe = start + Duration::from_secs_f64(bytes as f64 / rate as f64);
        *pipe - now
    }
}

fn flood_wait_error(seconds: u32) -> RpcError {
    RpcError {
        code: 420,
        message: format!("FLOOD_WAIT_{seconds}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::World;

    fn faults() -> Faults {
        Faults::new(Telegram::new(World::demo()), Arc::default())
    }

    #[test]
    fn a_rate_rule_refuses_calls_past_its_count_per_account_and_counts_them() {
        let faults = faults();
        faults.rate_limit("m", 2, Duration::from_secs(3600));
        assert!(faults.check(Some(1), "m").error.is_none());
        assert!(faults.check(Some(1), "m").error.is_none());
        // Other accounts and other methods have their own count.
        assert!(faults.check(Some(2), "m").error.is_none());
        assert!(faults.check(Some(1), "n").error.is_none());
        let error = faults.check(Some(1), "m").error.expect("flood wait");
        assert_eq!(error.code, 420);
        assert!(
            error.message.starts_with("FLOOD_WAIT_"),
            "{}",
            error.message
        );
        let seconds: u32 = error.message["FLOOD_WAIT_".len()..].parse().unwrap();
        assert!((3599..=3600).contains(&seconds), "{seconds}");
        assert_eq!(faults.rate_limited(1, "m"), 1);
        assert_eq!(faults.rate_limited(2, "m"), 0);
        faults.clear_rate_limit("m");
        assert!(faults.check(Some(1), "m").error.is_none());
    }

    #[test]
    fn a_flood_wait_for_calls_lifts_after_that_many_calls() {
        let faults = faults();
        faults.flood_wait(1, "m", 7, FaultSpan::Calls(2));
        for _ in 0..2 {
            let error = faults.check(Some(1), "m").error.expect("flood wait");
            assert_eq!((error.code, error.message.as_str()), (420, "FLOOD_WAIT_7"));
        }
        assert!(faults.check(Some(1), "m").error.is_none());
        assert!(faults.check(Some(2), "m").error.is_none());
    }

    #[test]
    fn a_flood_wait_after_some_calls_lets_them_through_first() {
        let faults = faults();
        faults.flood_wait(1, "m", 3, FaultSpan::After { pass: 2, calls: 2 });
        assert!(faults.check(Some(1), "m").error.is_none());
        assert!(faults.check(Some(1), "m").error.is_none());
        for _ in 0..2 {
            let error = faults.check(Some(1), "m").error.expect("flood wait");
            assert_eq!((error.code, error.message.as_str()), (420, "FLOOD_WAIT_3"));
        }
        assert!(faults.check(Some(1), "m").error.is_none());
    }

    #[test]
    fn a_flood_wait_window_reports_seconds_left_and_expires() {
        let faults = faults();
        let until = Instant::now() + Duration::from_secs(90);
        faults.flood_wait(1, "m", 90, FaultSpan::Until(until));
        let error = faults.check(Some(1), "m").error.expect("flood wait");
        let seconds: u32 = error.message["FLOOD_WAIT_".len()..].parse().unwrap();
        assert!((1..=90).contains(&seconds));
        faults.flood_wait(1, "m", 90, FaultSpan::Until(Instant::now()));
        assert!(faults.check(Some(1), "m").error.is_none());
    }

    #[test]
    fn an_unregistered_key_spares_the_calls_telegram_allows_without_login() {
        let faults = faults();
        faults.auth_key_unregistered(1);
        let error = faults.check(Some(1), "users.getUsers").error.expect("401");
        assert_eq!(
            (error.code, error.message.as_str()),
            (401, "AUTH_KEY_UNREGISTERED")
        );
        assert!(faults.check(Some(1), "help.getConfig").error.is_none());
        assert!(faults.check(Some(1), "auth.sendCode").error.is_none());
        faults.restore_auth_key(1);
        assert!(faults.check(Some(1), "users.getUsers").error.is_none());
    }

    #[test]
    fn latencies_add_up_and_the_bandwidth_cap_queues_downloads() {
        let faults = faults();
        faults.latency(Duration::from_millis(100));
        faults.method_latency("upload.getFile", Duration::from_millis(50));
        assert_eq!(
            faults.check(None, "upload.getFile").delay,
            Duration::from_millis(150)
        );
        assert_eq!(
            faults.check(None, "other").delay,
            Duration::from_millis(100)
        );

        assert_eq!(faults.download_delay(Some(1), 1000), Duration::ZERO);
        faults.bandwidth(Some(1000));
        // Two back-to-back seconds' worth: the second waits for the first.
        assert!(faults.download_delay(Some(1), 1000) <= Duration::from_secs(1));
        assert!(faults.download_delay(Some(1), 1000) > Duration::from_secs(1));
        // Another account has its own pipe.
        assert!(faults.download_delay(Some(2), 1000) <= Duration::from_secs(1));
        faults.clear();
        assert_eq!(faults.check(None, "other").delay, Duration::ZERO);
        assert_eq!(faults.download_delay(Some(1), 1000), Duration::ZERO);
    }
}
