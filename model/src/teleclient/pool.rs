//! [`TeleClients`]: the pool of accounts, and the one way the gateway reaches Telegram.
//!
//! A request names a chat and a method; the pool finds the peer (cache by id, then the
//! shared username directory, then a network resolve counted against a budget), picks
//! the account ([`super::pick`]), runs the caller's call with that account's client and
//! peer reference, and reads any failure: a flood wait cools the account for the method
//! and the request moves on, a lost key retires the account, a broken connection sends
//! it to the reconnect loop. The caller sees an error only when no account is left to
//! try, and then the shortest wait.
//!
//! Network resolves of one name are single-flight: concurrent requests for a name nobody
//! holds wait for the first resolve instead of each spending one.

use std::collections::HashMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use grammers_client::{Client, InvocationError};
use grammers_session::types::{PeerId, PeerRef};
use tgc_common::Settings;

use super::account::{AccountId, AccountReport, AccountState};
use super::chat::ChatRef;
use super::client::{ClientConfig, TeleClient};
use super::error::{ConnectError, Failure, PoolError, classify};
use super::pick::{Candidate, Picker};
use crate::directory::Directory;
use crate::session::{SessionError, SessionFile, load_dir};

/// The method a network resolve is, for cooldowns and budgets.
pub const RESOLVE_METHOD: &str = "contacts.resolveUsername";

/// A peer found for a request, and the account whose access hash it carries.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub account: Arc<TeleClient>,
    pub peer: PeerRef,
}

/// A call's answer and the account that made it (media found in it is bound to it).
#[derive(Debug)]
pub struct Served<T> {
    pub account: AccountId,
    pub value: T,
}

/// What starting the pool ran into, beside the accounts that came up.
#[derive(Debug, Default)]
pub struct StartReport {
    /// Session files that could not be opened.
    pub unreadable: Vec<SessionError>,
    /// Accounts that could not join (not logged in, deauthorized) or did not answer
    /// (those stay in the pool, disconnected, and are retried).
    pub failed: Vec<ConnectError>,
}

/// A session file whose account could not join the pool, and why; kept so operators see
/// it beside the accounts that serve (`accounts`, `/readyz`), not only in the start log.
#[derive(Debug, Clone)]
pub struct LeftOut {
    pub path: PathBuf,
    pub reason: String,
}

/// The pool.
pub struct TeleClients {
    accounts: Vec<Arc<TeleClient>>,
    left_out: Vec<LeftOut>,
    directory: Directory,
    picker: Mutex<Picker>,
    resolving: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// Past this wait for its account's turn, a request about a chat moves (spills over)
    /// to another account that can read the chat.
    max_queue_wait: Duration,
    /// Requests that spilled over, since start.
    spill_overs: AtomicU64,
}

impl std::fmt::Debug for TeleClients {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TeleClients")
            .field("accounts", &self.accounts.len())
            .field("directory", &self.directory)
            .finish_non_exhaustive()
    }
}

impl TeleClients {
    /// Loads every session of `sessions.dir`, opens the username directory in `data.dir`
    /// and connects the accounts concurrently.
    pub async fn start(settings: &Settings) -> Result<(TeleClients, StartReport), PoolError> {
        let directory = Directory::open_in(&settings.data.dir, settings.pool.username_ttl)?;
        let config = ClientConfig::from_settings(settings);
        Ok(TeleClients::start_from_dir(&settings.sessions.dir, directory, &config).await)
    }

    /// [`TeleClients::start`] from explicit parts.
    pub async fn start_from_dir(
        sessions_dir: &Path,
        directory: Directory,
        config: &ClientConfig,
    ) -> (TeleClients, StartReport) {
        let (files, unreadable) = load_dir(sessions_dir);
        let (pool, failed) = TeleClients::connect(files, directory, config).await;
        (pool, StartReport { unreadable, failed })
    }

    /// Builds the pool from open session files and brings every account up at once
    /// ([`TeleClient::join`]: an account whose session never recorded its user is asked
    /// who it is). An account that cannot join is reported and left out; one that does not
    /// answer its check stays, disconnected, and is retried with backoff. Accounts keep the
    /// order of `files`.
    pub async fn connect(
        files: Vec<SessionFile>,
        directory: Directory,
        config: &ClientConfig,
    ) -> (TeleClients, Vec<ConnectError>) {
        let mut joins = tokio::task::JoinSet::new();
        for (index, file) in files.into_iter().enumerate() {
            seed_directory(&directory, &file);
            let config = config.clone();
            joins.spawn(async move { (index, TeleClient::join(file, &config).await) });
        }
        let mut joined = Vec::new();
        let mut failed = Vec::new();
        let mut left_out = Vec::new();
        while let Some(result) = joins.join_next().await {
            match result {
                Ok((index, Ok(account))) => {
                    if let Err(error) = account.check {
                        tracing::warn!(%error, "account failed its first check");
                        failed.push(error);
                    }
                    joined.push((index, account.account));
                }
                Ok((_, Err(error))) => {
                    tracing::warn!(%error, "account left out of the pool");
                    left_out.push(LeftOut {
                        path: error.path().to_owned(),
                        reason: error.to_string(),
                    });
                    failed.push(error);
                }
                Err(join) => tracing::error!(%join, "account start task failed"),
            }
        }
        joined.sort_by_key(|(index, _)| *index);
        left_out.sort_by(|a: &LeftOut, b| a.path.cmp(&b.path));
        let pool = TeleClients {
            accounts: joined.into_iter().map(|(_, account)| account).collect(),
            left_out,
            directory,
            picker: Mutex::new(Picker::new()),
            resolving: Mutex::new(HashMap::new()),
            max_queue_wait: config.max_queue_wait,
            spill_overs: AtomicU64::new(0),
        };
        (pool, failed)
    }

    pub fn accounts(&self) -> &[Arc<TeleClient>] {
        &self.accounts
    }

    /// Session files whose accounts could not join at start.
    pub fn left_out(&self) -> &[LeftOut] {
        &self.left_out
    }

    pub fn account(&self, id: AccountId) -> Option<&Arc<TeleClient>> {
        self.accounts.iter().find(|a| a.id() == id)
    }

    pub fn directory(&self) -> &Directory {
        &self.directory
    }

    /// Accounts retired because Telegram revoked their keys (accounts never come back
    /// from that without an operator logging them in again, so this is also "since start").
    pub fn deauthorized_count(&self) -> u64 {
        self.accounts
            .iter()
            .filter(|a| matches!(a.state(), AccountState::Deauthorized { .. }))
            .count() as u64
    }

    /// One report per account, in load order.
    pub fn report(&self) -> Vec<AccountReport> {
        let now = Instant::now();
        self.accounts.iter().map(|a| a.report(now)).collect()
    }

    /// The peer `chat` names and an account that can use it, touching the network only
    /// when no account holds it.
    pub async fn resolve(&self, chat: &ChatRef) -> Result<Resolved, PoolError> {
        self.locate(chat, None).await
    }

    /// Runs `call` with the client and peer of the best account for `chat` and `method`
    /// (the TL name, e.g. `"messages.getHistory"`), moving to another account on a flood
    /// wait, a lost key or a broken connection. `call` may run more than once.
    pub async fn run<T, F, Fut>(
        &self,
        chat: &ChatRef,
        method: &str,
        call: F,
    ) -> Result<Served<T>, PoolError>
    where
        F: Fn(Client, PeerRef) -> Fut,
        Fut: Future<Output = Result<T, InvocationError>>,
    {
        for _ in 0..self.attempts() {
            let located = self.locate(chat, Some(method)).await?;
            let Resolved { account, peer } = self.spill_over(chat, located, method).await?;
            pace_within_deadline(&account, method).await?;
            let result = call(account.client().clone(), peer).await;
            if let Some(value) = self.settle(&account, method, result)? {
                return Ok(Served {
                    account: account.id(),
                    value,
                });
            }
        }
        Err(self.exhausted(method))
    }

    /// Like [`TeleClients::run`] for a request about no chat in particular (a global
    /// search, `help.*`): every able account is an equal, by download pressure.
    pub async fn run_any<T, F, Fut>(&self, method: &str, call: F) -> Result<Served<T>, PoolError>
    where
        F: Fn(Client) -> Fut,
        Fut: Future<Output = Result<T, InvocationError>>,
    {
        for _ in 0..self.attempts() {
            let account = self.pick(None, method)?;
            pace_within_deadline(&account, method).await?;
            let result = call(account.client().clone()).await;
            if let Some(value) = self.settle(&account, method, result)? {
                return Ok(Served {
                    account: account.id(),
                    value,
                });
            }
        }
        Err(self.exhausted(method))
    }

    /// The account a request about `chat` (`None`: no chat in particular) and `method`
    /// would go to now, decided from caches alone: it never touches the network.
    pub fn pick(&self, chat: Option<&ChatRef>, method: &str) -> Result<Arc<TeleClient>, PoolError> {
        let now = Instant::now();
        let able = self.able_for(Some(method), now)?;
        let peer = match chat {
            Some(ChatRef::Id(peer)) => Some(*peer),
            Some(ChatRef::Username(name)) => self.directory.lookup(name)?,
            None => None,
        };
        let candidates: Vec<Candidate> = able
            .iter()
            .map(|a| Candidate {
                account: a.id(),
                holds_chat: peer.is_some_and(|p| a.holds(p)),
                pending_downloads: a.pending_downloads(),
            })
            .collect();
        let key = chat.map(ChatRef::key);
        let chosen = self
            .picker()
            .pick(key.as_deref(), &candidates)
            .and_then(|id| able.iter().find(|a| a.id() == id).cloned());
        chosen.ok_or_else(|| self.exhausted(method))
    }

    /// Reads the outcome of one call; `Ok(None)` means "try another account".
    fn settle<T>(
        &self,
        account: &Arc<TeleClient>,
        method: &str,
        result: Result<T, InvocationError>,
    ) -> Result<Option<T>, PoolError> {
        match result {
            Ok(value) => {
                account.succeeded();
                Ok(Some(value))
            }
            Err(error) => match classify(&error) {
                Failure::FloodWait(wait) => {
                    account.cool(method, wait);
                    Ok(None)
                }
                Failure::Deauthorized(reason) => {
                    self.retire(account, &reason);
                    Ok(None)
                }
                Failure::Disconnected(reason) => {
                    account.disconnected(&reason);
                    Ok(None)
                }
                Failure::Request => Err(match error {
                    InvocationError::Rpc(error) => PoolError::Telegram {
                        account: account.id(),
                        method: method.to_owned(),
                        error,
                    },
                    error => PoolError::Invocation {
                        account: account.id(),
                        method: method.to_owned(),
                        error,
                    },
                }),
            },
        }
    }

    /// Takes an account whose key Telegram revoked out of the pool for good (also for
    /// callers outside the pool's own calls, such as the media downloads).
    pub fn retire(&self, account: &TeleClient, reason: &str) {
        account.retire(reason);
        self.picker().forget(account.id());
    }

    /// Each attempt takes one account out of the running (cooled, retired or
    /// disconnected), so twice the pool size (a resolve and a call per account) bounds
    /// the loop even if Telegram misbehaves.
    fn attempts(&self) -> usize {
        2 * self.accounts.len() + 2
    }

    /// The peer for `chat` and an account to use it with, for `method` (`None`: the
    /// caller only wants the peer, so a cooling holder still answers from its cache).
    async fn locate(&self, chat: &ChatRef, method: Option<&str>) -> Result<Resolved, PoolError> {
        for _ in 0..self.attempts() {
            if let Some(found) = self.cached(chat, method)? {
                return Ok(found);
            }
            let username = match chat {
                ChatRef::Username(name) => name.clone(),
                ChatRef::Id(peer) => match self.directory.username_of(*peer)? {
                    Some(name) => name,
                    None => {
                        return Err(PoolError::UnknownChatId {
                            id: peer.bot_api_dialog_id_unchecked(),
                        });
                    }
                },
            };
            // One network resolve per name at a time; whoever waited here looks in the
            // cache again first, since the resolve it waited for may have filled it.
            let gate = self.gate(&username);
            let _turn = gate.lock().await;
            if let Some(found) = self.cached(chat, method)? {
                return Ok(found);
            }
            if let Some(found) = self
                .resolve_over_network(chat, &username, method, &[])
                .await?
            {
                return Ok(found);
            }
        }
        Err(self.exhausted(method.unwrap_or(RESOLVE_METHOD)))
    }

    /// Requests that moved to another account because theirs would have waited longer than
    /// `pool.max_queue_wait`, since start.
    pub fn spill_overs(&self) -> u64 {
        self.spill_overs.load(Ordering::Relaxed)
    }

    /// Keeps `located` unless its account's turn would come later than `pool.max_queue_wait`.
    /// Then another account that can read the chat takes the request: a holder of its hash
    /// whose turn comes sooner, or else the next account by the chat's rendezvous order
    /// with resolve budget, which resolves the chat (once: it holds the hash from then on,
    /// and the pool's round-robin over holders spreads the chat's requests). When nobody
    /// can, the request waits its turn where it was.
    async fn spill_over(
        &self,
        chat: &ChatRef,
        located: Resolved,
        method: &str,
    ) -> Result<Resolved, PoolError> {
        let now = Instant::now();
        if located.account.queue_wait(method, now) <= self.max_queue_wait {
            return Ok(located);
        }
        let able = self.able_for(Some(method), now)?;
        let peer = located.peer.id;
        if let Some(found) = self.holder_in_time(&able, peer, located.account.id(), method) {
            return Ok(found);
        }
        let username = match chat {
            ChatRef::Username(name) => Some(name.clone()),
            ChatRef::Id(peer) => self.directory.username_of(*peer)?,
        };
        let Some(username) = username else {
            // Only a username can be resolved by another account.
            return Ok(located);
        };
        let gate = self.gate(&username);
        let _turn = gate.lock().await;
        // Who waited here may find that the spill it waited for made a holder free.
        if let Some(found) = self.holder_in_time(&able, peer, located.account.id(), method) {
            return Ok(found);
        }
        let holders: Vec<AccountId> = able
            .iter()
            .filter(|a| a.holds(peer))
            .map(|a| a.id())
            .collect();
        match self
            .resolve_over_network(chat, &username, Some(method), &holders)
            .await
        {
            Ok(Some(found)) => {
                tracing::debug!(from = %located.account.id(), to = %found.account.id(), chat = %chat, "request spilled over to another account");
                self.spill_overs.fetch_add(1, Ordering::Relaxed);
                Ok(found)
            }
            // No account with budget (or it could not): the request waits its turn.
            Ok(None) | Err(_) => Ok(located),
        }
    }

    /// The holder of `peer` among `able` whose turn comes soonest, if it comes within
    /// `pool.max_queue_wait`; a holder other than `from` counts as a spill-over.
    fn holder_in_time(
        &self,
        able: &[Arc<TeleClient>],
        peer: PeerId,
        from: AccountId,
        method: &str,
    ) -> Option<Resolved> {
        let now = Instant::now();
        let (_, account) = able
            .iter()
            .filter(|a| a.holds(peer))
            .map(|a| (a.queue_wait(method, now), a))
            .filter(|(wait, _)| *wait <= self.max_queue_wait)
            .min_by_key(|(wait, _)| *wait)?;
        let peer = account.peer_ref(peer)?;
        if account.id() != from {
            self.spill_overs.fetch_add(1, Ordering::Relaxed);
        }
        Some(Resolved {
            account: Arc::clone(account),
            peer,
        })
    }

    /// The cached path: the directory gives the id, a holder gives the access hash.
    fn cached(&self, chat: &ChatRef, method: Option<&str>) -> Result<Option<Resolved>, PoolError> {
        let peer = match chat {
            ChatRef::Id(peer) => *peer,
            ChatRef::Username(name) => match self.directory.lookup(name)? {
                Some(peer) => peer,
                None => return Ok(None),
            },
        };
        let now = Instant::now();
        let able = self.able_for(method, now)?;
        loop {
            let holders: Vec<Candidate> = able
                .iter()
                .filter(|a| a.holds(peer))
                .map(|a| Candidate {
                    account: a.id(),
                    holds_chat: true,
                    pending_downloads: a.pending_downloads(),
                })
                .collect();
            let Some(chosen) = self.picker().pick(Some(&chat.key()), &holders) else {
                return Ok(None);
            };
            let Some(account) = able.iter().find(|a| a.id() == chosen) else {
                return Ok(None);
            };
            match account.peer_ref(peer) {
                Some(peer) => {
                    return Ok(Some(Resolved {
                        account: Arc::clone(account),
                        peer,
                    }));
                }
                // The session lost the row (or never had a usable hash): stop believing it.
                None => account.forget(peer),
            }
        }
    }

    /// Resolves `username` on the account that owns it by rendezvous hashing among those
    /// with resolve budget left, `exclude` left out; `Ok(None)` means "that account could
    /// not, look again".
    async fn resolve_over_network(
        &self,
        chat: &ChatRef,
        username: &str,
        method: Option<&str>,
        exclude: &[AccountId],
    ) -> Result<Option<Resolved>, PoolError> {
        let now = Instant::now();
        let able = self.able_for(method, now)?;
        let not_cooling: Vec<&Arc<TeleClient>> = able
            .iter()
            .filter(|a| !exclude.contains(&a.id()))
            .filter(|a| a.cooling_for(RESOLVE_METHOD, now).is_none())
            .collect();
        if not_cooling.is_empty() {
            let retry_after = able
                .iter()
                .filter_map(|a| a.cooling_for(RESOLVE_METHOD, now))
                .min()
                .unwrap_or_default();
            return Err(PoolError::AllCooling {
                method: RESOLVE_METHOD.to_owned(),
                retry_after,
            });
        }
        let mut remaining = not_cooling;
        let mut budget_waits = Vec::new();
        let account = loop {
            let candidates: Vec<Candidate> = remaining
                .iter()
                .map(|a| Candidate {
                    account: a.id(),
                    holds_chat: false,
                    pending_downloads: a.pending_downloads(),
                })
                .collect();
            let Some(chosen) = self.picker().pick(Some(&chat.key()), &candidates) else {
                return Err(PoolError::ResolveBudgetSpent {
                    chat: chat.to_string(),
                    retry_after: budget_waits.into_iter().flatten().min(),
                });
            };
            let Some(index) = remaining.iter().position(|a| a.id() == chosen) else {
                return Ok(None);
            };
            let account = remaining.swap_remove(index);
            match account.spend_resolve(now) {
                Ok(()) => break Arc::clone(account),
                Err(wait) => budget_waits.push(wait),
            }
        };

        if let Err(error) = pace_within_deadline(&account, RESOLVE_METHOD).await {
            account.refund_resolve();
            return Err(error);
        }
        account.count_resolve();
        tracing::debug!(account = %account.id(), username, "resolving over the network");
        let result = account.client().resolve_username(username).await;
        let peer = match result {
            Ok(Some(peer)) => peer,
            Ok(None) => {
                account.succeeded();
                self.directory.forget(username)?;
                return Err(PoolError::UsernameNotFound {
                    username: username.to_owned(),
                });
            }
            Err(error) => {
                if let Failure::Disconnected(_) = classify(&error) {
                    // The call never reached Telegram's rate limiter.
                    account.refund_resolve();
                }
                return self
                    .settle(&account, RESOLVE_METHOD, Err(error))
                    .map(|_: Option<()>| None);
            }
        };
        account.succeeded();
        let id = peer.id();
        self.directory.record(username, id)?;
        account.remember(id);
        match account.peer_ref(id) {
            Some(peer) => Ok(Some(Resolved { account, peer })),
            // grammers caches what it resolves; a peer it could not cache is unusable.
            None => Err(PoolError::UsernameNotFound {
                username: username.to_owned(),
            }),
        }
    }

    /// The accounts that can take a request for `method` now, or the error saying why
    /// none can.
    fn able_for(
        &self,
        method: Option<&str>,
        now: Instant,
    ) -> Result<Vec<Arc<TeleClient>>, PoolError> {
        let able: Vec<Arc<TeleClient>> = self
            .accounts
            .iter()
            .filter(|a| a.is_able(now))
            .cloned()
            .collect();
        if able.is_empty() {
            return Err(self.no_account());
        }
        let Some(method) = method else {
            return Ok(able);
        };
        let ready: Vec<Arc<TeleClient>> = able
            .iter()
            .filter(|a| a.cooling_for(method, now).is_none())
            .cloned()
            .collect();
        if ready.is_empty() {
            let retry_after = able
                .iter()
                .filter_map(|a| a.cooling_for(method, now))
                .min()
                .unwrap_or_default();
            return Err(PoolError::AllCooling {
                method: method.to_owned(),
                retry_after,
            });
        }
        Ok(ready)
    }

    /// The error for "every attempt used up": whatever [`TeleClients::able_for`] says now.
    fn exhausted(&self, method: &str) -> PoolError {
        match self.able_for(Some(method), Instant::now()) {
            Err(error) => error,
            Ok(_) => self.no_account(),
        }
    }

    fn no_account(&self) -> PoolError {
        let states: Vec<AccountState> = self.accounts.iter().map(|a| a.state()).collect();
        PoolError::NoAccount {
            active: states
                .iter()
                .filter(|s| matches!(s, AccountState::Active))
                .count(),
            total: states.len(),
            deauthorized: states
                .iter()
                .filter(|s| matches!(s, AccountState::Deauthorized { .. }))
                .count(),
            disconnected: states
                .iter()
                .filter(|s| matches!(s, AccountState::Disconnected { .. }))
                .count(),
        }
    }

    fn picker(&self) -> std::sync::MutexGuard<'_, Picker> {
        self.picker
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn gate(&self, username: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut gates = self
            .resolving
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        // Gates nobody waits on any more are dropped, so the map stays as small as the
        // number of names being resolved right now.
        gates.retain(|_, gate| Arc::strong_count(gate) > 1);
        Arc::clone(gates.entry(username.to_owned()).or_default())
    }
}

/// Telethon-era session files know usernames: seed the shared directory with them (as of
/// when they were written, so the TTL still applies and fresher resolves win).
fn seed_directory(directory: &Directory, file: &SessionFile) {
    let Ok(entities) = file.entities() else {
        return;
    };
    let sightings = entities
        .iter()
        .filter_map(|entity| Some((entity.username.as_deref()?, entity.peer, entity.date?)));
    if let Err(error) = directory.record_many(sightings) {
        tracing::warn!(%error, "seeding the username directory failed");
    }
}

/// Waits for `account`'s turn, or refuses at once when the turn would come after the
/// deadline of the request being served (see [`super::deadline`]).
async fn pace_within_deadline(account: &TeleClient, method: &str) -> Result<(), PoolError> {
    account
        .pace_before(method, super::deadline::current())
        .await
        .map_err(|retry_after| PoolError::Overloaded {
            account: account.id(),
            retry_after,
        })
}
