//! Who an account is and what state it is in, as the pool and operators see it.

use std::fmt;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// An account of the pool: its Telegram user id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AccountId(pub i64);

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Whether an account can serve. Cooling is per method and kept beside the state (an
/// account cooling for one method still serves the others).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountState {
    /// Connected and authorized.
    Active,
    /// The connection failed; it is retried at `retry_at` (backoff doubles each time).
    Disconnected {
        since: Instant,
        retry_at: Instant,
        reason: String,
    },
    /// Telegram no longer accepts the account's key (`AUTH_KEY_UNREGISTERED`,
    /// `USER_DEACTIVATED(_BAN)`, `SESSION_REVOKED`, …): it has left the pool for good,
    /// until an operator logs it in again.
    Deauthorized { reason: String },
}

impl AccountState {
    /// The one-word name operators and metrics use.
    pub fn name(&self) -> &'static str {
        match self {
            AccountState::Active => "active",
            AccountState::Disconnected { .. } => "disconnected",
            AccountState::Deauthorized { .. } => "deauthorized",
        }
    }
}

/// A snapshot of one account, for `accounts list`, the `accounts` endpoint and metrics.
#[derive(Debug, Clone)]
pub struct AccountReport {
    pub account: AccountId,
    /// The session file it lives in.
    pub path: PathBuf,
    pub state: AccountState,
    /// Methods it is cooling for, with the time left.
    pub cooling: Vec<(String, Duration)>,
    pub pending_downloads: u32,
    /// Network resolves still allowed in the current hour.
    pub resolves_left: u32,
    /// Counted since start.
    pub resolves: u64,
    pub flood_waits: u64,
    /// Times the account, active, was found disconnected.
    pub disconnections: u64,
    /// How long a request taking its turn now would wait for it (`pool.requests_per_second`).
    pub queue_wait: Duration,
    /// Each method called so far: the rate it is paced at now (lower than configured after
    /// a flood wait), and its flood waits.
    pub pacing: Vec<super::pacing::MethodPacing>,
    pub requests: u64,
}
