//! The account pool: one [`TeleClient`] per account, and [`TeleClients`], the pool that
//! every request to Telegram goes through.
//!
//! Accounts are the scarce resource: Telegram bans accounts that resolve usernames in
//! bursts and answers overuse with `FLOOD_WAIT_X`. So the pool looks peers up cache-first
//! (the account's own cache by id, then the shared, persisted username [`Directory`],
//! then the network, within a per-account budget), routes each chat to the account that
//! already holds it or, failing that, to its rendezvous owner, spreads equal work by
//! smooth weighted round-robin that backs off accounts with many pending downloads, cools
//! an account per method on a flood wait and moves the request on, and retires accounts
//! whose keys Telegram revoked.
//!
//! The module is split by concern: who an account is and its state (`account`), chat
//! names (`chat`), the pure decisions (`pick`, `cooldowns`, `budget`, `pacing`), reading Telegram's
//! errors (`error`), learning who an account is (`identity`), one connected account (`client`), the pool (`pool`), and logging a
//! new account in (`login`).
//!
//! [`Directory`]: crate::directory::Directory

mod account;
pub mod budget;
mod chat;
mod client;
pub mod cooldowns;
pub mod deadline;
mod error;
mod identity;
mod login;
pub mod pacing;
pub mod pick;
mod pool;

pub use account::{AccountId, AccountReport, AccountState};
pub use chat::{ACCEPTED_FORMS, ChatError, ChatRef};
pub use client::{ClientConfig, Joined, PendingDownload, TeleClient};
pub use error::{ConnectError, Failure, LoginError, PoolError, classify};
pub use identity::describe_user;
pub use login::{LoggedIn, LoginPrompt, login, normalize_phone, session_path_for};
pub use pacing::{MethodPacing, MethodRates};
pub use pool::{LeftOut, RESOLVE_METHOD, Resolved, Served, StartReport, TeleClients};

// What callers of `run` need to write their calls, so the server layer does not have to
// depend on grammers' crates at the same version by hand.
pub use grammers_client::{Client, InvocationError, tl};
pub use grammers_session::types::{PeerId, PeerRef};
