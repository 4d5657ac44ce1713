//! The pool's errors, and how a Telegram error is read: a flood wait to route around, a
//! lost authorization to retire the account, a broken connection to reconnect, or an
//! answer for the caller.

use std::path::PathBuf;
use std::time::Duration;

use grammers_client::InvocationError;

use super::account::AccountId;
use super::chat::ChatError;
use crate::session::SessionError;

/// Why the pool could not serve a request.
#[derive(Debug, thiserror::Error)]
pub enum PoolError {
    #[error(transparent)]
    Chat(#[from] ChatError),
    #[error("every able account is flood-waiting on {method}; retry in {}s", retry_after.as_secs())]
    AllCooling {
        method: String,
        /// The shortest wait among the accounts.
        retry_after: Duration,
    },
    #[error(
        "no account can serve: {active} active of {total} ({deauthorized} deauthorized, {disconnected} disconnected)"
    )]
    NoAccount {
        active: usize,
        total: usize,
        deauthorized: usize,
        disconnected: usize,
    },
    #[error("{chat} is not known to any account and every account has spent its username resolve budget{}", retry_hint(*retry_after))]
    ResolveBudgetSpent {
        chat: String,
        /// When the first account's budget frees up; `None` when resolving is off
        /// (`pool.resolve_budget_per_hour = 0`).
        retry_after: Option<Duration>,
    },
    #[error(
        "account {account} paces its requests (pool.requests_per_second) and its next turn is in {}ms, after this request's deadline (server.request_timeout); retry then",
        retry_after.as_millis()
    )]
    Overloaded {
        account: AccountId,
        /// When the account's turn would have come.
        retry_after: Duration,
    },
    #[error("no chat or user has the username @{username}")]
    UsernameNotFound { username: String },
    #[error(
        "chat id {id} is unknown to every account; ask by username first so an account can resolve it"
    )]
    UnknownChatId { id: i64 },
    #[error("Telegram refused {method} on account {account}: {error}")]
    Telegram {
        account: AccountId,
        method: String,
        error: grammers_client::sender::RpcError,
    },
    #[error("account {account} failed on {method}: {error}")]
    Invocation {
        account: AccountId,
        method: String,
        error: InvocationError,
    },
    #[error("the username directory failed: {0}")]
    Directory(#[from] crate::directory::DirectoryError),
}

impl PoolError {
    /// How long the caller should wait before trying again, when waiting helps.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            PoolError::AllCooling { retry_after, .. }
            | PoolError::Overloaded { retry_after, .. } => Some(*retry_after),
            PoolError::ResolveBudgetSpent { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

fn retry_hint(retry_after: Option<Duration>) -> String {
    match retry_after {
        Some(wait) => format!("; retry in {}s", wait.as_secs().max(1)),
        None => " (pool.resolve_budget_per_hour is 0: only cached chats are served)".into(),
    }
}

/// Why the pool could not start, or an account could not join it.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error(
        "session file {path} has no auth key: the account was never logged in; log it in with `tgcollector accounts login`"
    )]
    NotLoggedIn { path: PathBuf },
    #[error("session file {path} records no user; `TeleClient::join` asks Telegram who it is")]
    NoUser { path: PathBuf },
    #[error(
        "session file {path}: Telegram does not accept its key ({reason}): the account was logged out, revoked or deactivated; log it in again with `tgcollector accounts login`"
    )]
    Unauthorized { path: PathBuf, reason: String },
    #[error(
        "session file {path}: could not learn who the account is ({reason}); it is asked again at the next start"
    )]
    Unidentified { path: PathBuf, reason: String },
    #[error("session file {path}: {source}")]
    Session { path: PathBuf, source: SessionError },
    #[error("account {account} ({path}) is no longer authorized: {reason}")]
    Deauthorized {
        account: AccountId,
        path: PathBuf,
        reason: String,
    },
    #[error("account {account} ({path}) could not connect: {source}")]
    Network {
        account: AccountId,
        path: PathBuf,
        source: InvocationError,
    },
    #[error("proxy file {path}: {reason}")]
    Proxy { path: PathBuf, reason: String },
}

impl ConnectError {
    /// The session file the error is about.
    pub fn path(&self) -> &std::path::Path {
        match self {
            ConnectError::NotLoggedIn { path }
            | ConnectError::NoUser { path }
            | ConnectError::Unauthorized { path, .. }
            | ConnectError::Unidentified { path, .. }
            | ConnectError::Session { path, .. }
            | ConnectError::Deauthorized { path, .. }
            | ConnectError::Network { path, .. }
            | ConnectError::Proxy { path, .. } => path,
        }
    }

    /// Whether Telegram refused the account's key: no retry can mend that.
    pub fn is_unauthorized(&self) -> bool {
        matches!(
            self,
            ConnectError::Unauthorized { .. } | ConnectError::Deauthorized { .. }
        )
    }
}

/// Logging in a new account failed.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    #[error("{phone:?} is not a phone number: expected + and 7 to 15 digits, e.g. +15551234567")]
    InvalidPhone { phone: String },
    #[error("Telegram did not accept the phone number {phone}: {error}")]
    PhoneRefused {
        phone: String,
        error: InvocationError,
    },
    #[error("the login code is wrong or expired ({error}); run the login again for a new code")]
    WrongCode { error: String },
    #[error("the 2FA password is wrong ({error})")]
    WrongPassword { error: String },
    #[error("the account needs to sign up first (this phone has no Telegram account)")]
    SignUpRequired,
    #[error("reading the {what}: {source}")]
    Prompt {
        what: &'static str,
        source: std::io::Error,
    },
    #[error("login failed: {0}")]
    Invocation(#[source] InvocationError),
    #[error("the login succeeded but the session has no auth key for DC {dc_id}")]
    NoAuthKey { dc_id: i32 },
    #[error(transparent)]
    Session(#[from] SessionError),
}

/// What a failed call means for the account that made it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// `FLOOD_WAIT_X` (or `FLOOD_PREMIUM_WAIT_X`): cool this method for X seconds, move on.
    FloodWait(Duration),
    /// The key is gone for good: retire the account.
    Deauthorized(String),
    /// The connection broke: reconnect with backoff, move on.
    Disconnected(String),
    /// An answer about the request itself (bad peer, private chat, …): the caller's.
    Request,
}

/// The errors after which an account's key is worthless. `AUTH_KEY_DUPLICATED` means the
/// session was used from two places at once; Telegram has invalidated the key.
const DEAUTHORIZING: [&str; 7] = [
    "AUTH_KEY_UNREGISTERED",
    "AUTH_KEY_DUPLICATED",
    "AUTH_KEY_INVALID",
    "USER_DEACTIVATED",
    "USER_DEACTIVATED_BAN",
    "SESSION_REVOKED",
    "SESSION_EXPIRED",
];

/// Reads a failed call.
pub fn classify(error: &InvocationError) -> Failure {
    match error {
        InvocationError::Rpc(rpc) => {
            if rpc.code == 420 && rpc.name.starts_with("FLOOD_") {
                // A flood wait without seconds still means "not now": a minute is safe.
                let seconds = rpc.value.unwrap_or(60);
                Failure::FloodWait(Duration::from_secs(u64::from(seconds)))
            } else if DEAUTHORIZING.contains(&rpc.name.as_str()) {
                Failure::Deauthorized(rpc.name.clone())
            } else {
                Failure::Request
            }
        }
        InvocationError::Io(_)
        | InvocationError::Transport(_)
        | InvocationError::Dropped(_)
        | InvocationError::Authentication(_) => Failure::Disconnected(error.to_string()),
        InvocationError::Session(_)
        | InvocationError::Deserialize(_)
        | InvocationError::InvalidDc => Failure::Request,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use grammers_client::sender::RpcError;

    fn rpc(code: i32, message: &str) -> InvocationError {
        InvocationError::Rpc(RpcError::from(grammers_client::tl::types::RpcError {
            error_code: code,
            error_message: message.into(),
        }))
    }

    #[test]
    fn flood_waits_carry_their_seconds() {
        assert_eq!(
            classify(&rpc(420, "FLOOD_WAIT_31")),
            Failure::FloodWait(Duration::from_secs(31))
        );
        assert_eq!(
            classify(&rpc(420, "FLOOD_PREMIUM_WAIT_5")),
            Failure::FloodWait(Duration::from_secs(5))
        );
    }

    #[test]
    fn lost_authorizations_retire_the_account() {
        for name in [
            "AUTH_KEY_UNREGISTERED",
            "AUTH_KEY_DUPLICATED",
            "USER_DEACTIVATED",
            "USER_DEACTIVATED_BAN",
            "SESSION_REVOKED",
        ] {
            assert_eq!(
                classify(&rpc(401, name)),
                Failure::Deauthorized(name.into())
            );
        }
    }

    #[test]
    fn request_errors_and_broken_connections_are_told_apart() {
        assert_eq!(classify(&rpc(400, "CHANNEL_PRIVATE")), Failure::Request);
        let io = InvocationError::Io(std::io::Error::from(std::io::ErrorKind::ConnectionReset));
        assert!(matches!(classify(&io), Failure::Disconnected(_)));
    }

    #[test]
    fn the_all_cooling_error_carries_the_wait() {
        let error = PoolError::AllCooling {
            method: "messages.getHistory".into(),
            retry_after: Duration::from_secs(42),
        };
        assert_eq!(error.retry_after(), Some(Duration::from_secs(42)));
        assert!(error.to_string().contains("retry in 42s"), "{error}");
    }
}
