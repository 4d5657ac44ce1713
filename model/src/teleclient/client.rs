//! [`TeleClient`]: one account of the pool, its grammers client over its session file,
//! and everything the pool needs to decide whether to use it.
//!
//! The grammers sender runs in its own task; the account's bookkeeping (state, per-method
//! cooldowns, budgets) sits behind one short-held mutex, never held across an await, so
//! picking an account never waits on the network. When a connection breaks, the account
//! is marked disconnected and a background task probes it again with exponential backoff
//! (capped by `pool.reconnect_max_backoff`); the pool meanwhile serves from the others.
//!
//! An account connects through `telegram.proxy` (SOCKS5) when set, or through its own
//! proxy when a `<name>.proxy` file beside its session holds one URL: accounts that share
//! an exit address are easier for Telegram to link, so large pools spread them.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::path::Path;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock, Weak};
use std::time::{Duration, Instant};

use grammers_client::sender::{AutoSleep, ConnectionParams, SenderPoolHandle};
use grammers_client::session::updates::UpdatesLike;
use grammers_client::{Client, SenderPool, tl};
use grammers_session::types::{PeerAuth, PeerId, PeerRef};
use tgc_common::{Secret, Settings};
use tokio::sync::{Notify, mpsc};
use tokio::task::JoinHandle;

use super::account::{AccountId, AccountReport, AccountState};
use super::budget::{RequestPacer, ResolveBudget};
use super::cooldowns::Cooldowns;
use super::error::{ConnectError, Failure, classify};
use super::identity::{self, AskError};
use super::pacing::{MethodPacers, MethodRates};
use crate::session::SessionFile;

/// The first wait before probing a disconnected account again; it doubles up to the
/// configured maximum.
const FIRST_BACKOFF: Duration = Duration::from_secs(1);

/// A flood wait shorter than this still cools the account this long, so a
/// `FLOOD_WAIT_0` cannot make the pool retry the same account in a tight loop.
const MIN_COOLDOWN: Duration = Duration::from_secs(1);

/// The call that checks an account is alive and authorized.
const CHECK_METHOD: &str = "updates.getState";

/// What every account of the pool is configured with.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    pub api_id: i32,
    pub device_model: String,
    pub resolve_budget_per_hour: u32,
    pub requests_per_second: f64,
    /// Each method's starting rate (`pool.method_rates`), shared by every account.
    pub method_rates: Arc<MethodRates>,
    /// Past this wait for an account's turn, the pool moves a request about a chat to
    /// another account that can read it (`pool.max_queue_wait`).
    pub max_queue_wait: Duration,
    pub reconnect_max_backoff: Duration,
    /// `socks5://[user:pass@]host:port` every account connects through (`telegram.proxy`).
    pub proxy: Option<Secret<String>>,
}

impl ClientConfig {
    pub fn from_settings(settings: &Settings) -> ClientConfig {
        ClientConfig {
            api_id: settings.telegram.api_id,
            device_model: settings.telegram.device_model.clone(),
            resolve_budget_per_hour: settings.pool.resolve_budget_per_hour,
            requests_per_second: settings.pool.requests_per_second,
            method_rates: Arc::new(MethodRates::new(
                &settings.pool.method_rates,
                settings.pool.requests_per_second,
            )),
            max_queue_wait: settings.pool.max_queue_wait,
            reconnect_max_backoff: settings.pool.reconnect_max_backoff,
            proxy: settings
                .telegram
                .proxy
                .as_ref()
                .map(|url| Secret::new(url.expose().to_string())),
        }
    }

    /// The connection parameters grammers gets: flood waits are never slept on (the pool
    /// moves the request instead), a broken connection is re-dialled once at once.
    pub(crate) fn connection_params(&self) -> ConnectionParams {
        ConnectionParams {
            device_model: self.device_model.clone(),
            app_version: env!("CARGO_PKG_VERSION").to_string(),
            retry_policy: Box::new(AutoSleep {
                tries: NonZeroU32::MIN,
                threshold: Duration::ZERO,
                io_errors_as_flood_of: Some(Duration::from_millis(100)),
            }),
            proxy_url: self.proxy.as_ref().map(|url| url.expose().clone()),
            // grammers drops update batches past this bound without a word, and one container
            // can carry more than its default of 100: a dropped tail would only resurface with
            // the chat's next update ("events go silent").
            updates_channel_capacity: UPDATES_CHANNEL_CAPACITY,
            ..Default::default()
        }
    }
}

/// How many update batches may wait for the account's consumer before grammers drops them.
const UPDATES_CHANNEL_CAPACITY: std::num::NonZeroUsize =
    std::num::NonZeroUsize::new(100_000).unwrap();

/// The mutable bookkeeping of one account.
#[derive(Debug)]
struct Status {
    state: AccountState,
    cooldowns: Cooldowns,
    resolve_budget: ResolveBudget,
    /// The account-wide pace (`pool.requests_per_second`).
    pacer: RequestPacer,
    /// Each method's own, adaptive pace (`pool.method_rates`).
    methods: MethodPacers,
    backoff: Duration,
}

/// One account of the pool.
pub struct TeleClient {
    id: AccountId,
    session: Arc<SessionFile>,
    client: Client,
    sender: SenderPoolHandle,
    runner: JoinHandle<()>,
    updates: Mutex<Option<mpsc::Receiver<UpdatesLike>>>,
    status: Mutex<Status>,
    max_backoff: Duration,
    /// Peers whose access hash this account holds (its session's cache, by id), so the
    /// pool can prefer it without a SQLite query per account per request; with the hash once
    /// read, so a warm request needs no query at all. An account's access hash of a peer
    /// never changes, so a program sharing the session file (Telethon) cannot make it stale.
    known: RwLock<HashMap<PeerId, Option<PeerAuth>>>,
    /// Woken on every change of state, for whoever waits for an account to come back.
    state_changed: Notify,
    pending_downloads: AtomicU32,
    resolves: AtomicU64,
    flood_waits: AtomicU64,
    /// Times an active account was found disconnected.
    disconnections: AtomicU64,
    requests: AtomicU64,
}

impl std::fmt::Debug for TeleClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TeleClient")
            .field("id", &self.id)
            .field("path", &self.session.path())
            .finish_non_exhaustive()
    }
}

/// What bringing one account up came to.
#[derive(Debug)]
pub struct Joined {
    pub account: Arc<TeleClient>,
    /// The first check: the round-trip time, or why it failed (the account stays in the
    /// pool, disconnected and probed again, or retired). For a session that had recorded no
    /// user, Telegram's answer to who the account is is this check.
    pub check: Result<Duration, ConnectError>,
}

impl TeleClient {
    /// Brings an account up: starts it, learns who it is when its session never recorded
    /// that (once: the answer is written to the file), and checks it. An account that
    /// cannot join at all (no key, a key Telegram refuses, unknown and unreachable) is an
    /// error; one that joined but failed its check comes back with the failure in
    /// [`Joined::check`].
    pub async fn join(session: SessionFile, config: &ClientConfig) -> Result<Joined, ConnectError> {
        let path = session.path().to_owned();
        if session.auth_key().is_none() {
            return Err(ConnectError::NotLoggedIn { path });
        }
        let recorded = session
            .self_user()
            .map_err(|source| ConnectError::Session {
                path: path.clone(),
                source,
            })?;
        if let Some(user) = recorded {
            let account = Arc::new(TeleClient::build(session, config, AccountId(user.user_id))?);
            let check = account.connect().await;
            return Ok(Joined { account, check });
        }

        // The id is Telegram's to tell; nothing reads it before it is set below.
        let mut account = TeleClient::build(session, config, AccountId(0))?;
        let started = Instant::now();
        let identity = identity::ask(&account.client)
            .await
            .map_err(|error| unidentified(&path, error))?;
        let rtt = started.elapsed();
        identity::record(&account.session, &identity).map_err(|source| ConnectError::Session {
            path: path.clone(),
            source,
        })?;
        account.id = AccountId(identity.user_id);
        tracing::info!(account = %account.id, path = %path.display(), "learned who the account is: {}", identity.describe());
        Ok(Joined {
            account: Arc::new(account),
            check: Ok(rtt),
        })
    }

    /// Sets up the account of a session file that records its user: its grammers sender
    /// runs from now on, but nothing is sent until [`TeleClient::connect`] or a request.
    /// [`TeleClient::join`] also takes sessions that do not record their user.
    pub fn start(session: SessionFile, config: &ClientConfig) -> Result<TeleClient, ConnectError> {
        let path = session.path().to_owned();
        let user = session
            .self_user()
            .map_err(|source| ConnectError::Session {
                path: path.clone(),
                source,
            })?
            .ok_or(ConnectError::NoUser { path: path.clone() })?;
        if session.auth_key().is_none() {
            return Err(ConnectError::NotLoggedIn { path });
        }
        TeleClient::build(session, config, AccountId(user.user_id))
    }

    fn build(
        session: SessionFile,
        config: &ClientConfig,
        id: AccountId,
    ) -> Result<TeleClient, ConnectError> {
        let path = session.path().to_owned();
        let known: HashMap<PeerId, Option<PeerAuth>> = match session.entities() {
            Ok(entities) => entities
                .into_iter()
                .filter(|e| {
                    e.access_hash != 0 || e.peer.kind() == grammers_session::types::PeerKind::Chat
                })
                // The hash itself is read on first use, the way grammers would read it.
                .map(|e| (e.peer, None))
                .collect(),
            Err(error) => {
                tracing::warn!(%error, path = %path.display(), "cached peers unreadable; starting cold");
                HashMap::new()
            }
        };
        let own_proxy = account_proxy(&path)?;
        let mut params = config.connection_params();
        if let Some(proxy) = own_proxy {
            params.proxy_url = Some(proxy.expose().clone());
        }
        // A session made over IPv6 (a Telethon IPv6 StringSession, say) is reached over
        // IPv6: its IPv4 address is only grammers' default for that DC.
        params.use_ipv6 = session.home_dc().addr.is_some_and(|addr| addr.is_ipv6());
        let session = Arc::new(session);
        let pool = SenderPool::with_configuration(Arc::clone(&session), config.api_id, params);
        let client = Client::new(pool.handle.clone());
        let sender = pool.handle.thin.clone();
        let runner = tokio::spawn(pool.runner.run());
        let now = Instant::now();
        Ok(TeleClient {
            id,
            session,
            client,
            sender,
            runner,
            updates: Mutex::new(Some(pool.updates)),
            status: Mutex::new(Status {
                state: AccountState::Active,
                cooldowns: Cooldowns::default(),
                resolve_budget: ResolveBudget::new(config.resolve_budget_per_hour),
                pacer: RequestPacer::new(config.requests_per_second, now),
                methods: MethodPacers::new(Arc::clone(&config.method_rates)),
                backoff: FIRST_BACKOFF,
            }),
            max_backoff: config.reconnect_max_backoff.max(FIRST_BACKOFF),
            known: RwLock::new(known),
            state_changed: Notify::new(),
            pending_downloads: AtomicU32::new(0),
            resolves: AtomicU64::new(0),
            flood_waits: AtomicU64::new(0),
            disconnections: AtomicU64::new(0),
            requests: AtomicU64::new(0),
        })
    }

    /// Checks the account with `updates.getState` and returns the round-trip time. It is
    /// what Telethon's and grammers' "is the user authorized" ask: proof that the key
    /// serves, without asking again who the account is (the session recorded that). A
    /// lost authorization retires the account; a network failure marks it disconnected
    /// (the pool's reconnect loop takes it from there).
    pub async fn connect(self: &Arc<Self>) -> Result<Duration, ConnectError> {
        let started = Instant::now();
        match self
            .client
            .invoke(&tl::functions::updates::GetState {})
            .await
        {
            Ok(_) => {
                self.mark_active();
                Ok(started.elapsed())
            }
            Err(error) => match classify(&error) {
                Failure::Deauthorized(reason) => {
                    self.retire(&reason);
                    Err(ConnectError::Deauthorized {
                        account: self.id,
                        path: self.path().to_owned(),
                        reason,
                    })
                }
                Failure::Disconnected(reason) => {
                    self.disconnected(&reason);
                    Err(ConnectError::Network {
                        account: self.id,
                        path: self.path().to_owned(),
                        source: error,
                    })
                }
                Failure::FloodWait(wait) => {
                    // Alive and authorized, merely rate-limited on the check itself.
                    self.cool(CHECK_METHOD, wait);
                    Ok(started.elapsed())
                }
                Failure::Request => Err(ConnectError::Network {
                    account: self.id,
                    path: self.path().to_owned(),
                    source: error,
                }),
            },
        }
    }

    pub fn id(&self) -> AccountId {
        self.id
    }

    pub fn path(&self) -> &Path {
        self.session.path()
    }

    pub fn session(&self) -> &SessionFile {
        &self.session
    }

    /// The grammers client, for calls the pool has already routed here.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The account's raw update stream, once (the publisher takes it).
    pub fn take_updates(&self) -> Option<mpsc::Receiver<UpdatesLike>> {
        self.updates
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take()
    }

    pub fn state(&self) -> AccountState {
        self.status().state.clone()
    }

    /// Whether the account may take a request now: active, or disconnected with its
    /// retry time passed (the request then doubles as the reconnection probe).
    pub fn is_able(&self, now: Instant) -> bool {
        match &self.status().state {
            AccountState::Active => true,
            AccountState::Disconnected { retry_at, .. } => *retry_at <= now,
            AccountState::Deauthorized { .. } => false,
        }
    }

    /// How long `method` must still wait on this account.
    pub fn cooling_for(&self, method: &str, now: Instant) -> Option<Duration> {
        self.status().cooldowns.remaining(method, now)
    }

    /// Resolves still allowed now.
    pub fn resolves_left(&self, now: Instant) -> u32 {
        self.status().resolve_budget.left(now)
    }

    /// Takes one network resolve from the budget, or says when one frees up.
    pub(crate) fn spend_resolve(&self, now: Instant) -> Result<(), Option<Duration>> {
        self.status().resolve_budget.try_spend(now)
    }

    pub(crate) fn refund_resolve(&self) {
        self.status().resolve_budget.refund();
    }

    pub(crate) fn count_resolve(&self) {
        self.resolves.fetch_add(1, Ordering::Relaxed);
    }

    /// Waits for the account's turn to call `method` (its own pace and the method's), then
    /// counts the request. The turn is given back if the caller gives up while waiting (a
    /// request cancelled at its deadline), so an overload does not push every later request
    /// past its deadline too.
    pub async fn pace(&self, method: &str) {
        // Without a deadline the wait is never refused.
        let _ = self.take_turn(method, None).await;
    }

    /// [`TeleClient::pace`] for a request with a deadline ([`super::deadline`]): a turn that
    /// would come after the deadline is refused at once, with the wait it would have taken.
    pub(crate) async fn pace_before(
        &self,
        method: &str,
        deadline: Option<Instant>,
    ) -> Result<(), Duration> {
        self.take_turn(method, deadline).await
    }

    async fn take_turn(&self, method: &str, deadline: Option<Instant>) -> Result<(), Duration> {
        let now = Instant::now();
        let wait = {
            let mut status = self.status();
            let account_wait = status.pacer.reserve(now);
            account_wait.max(status.methods.reserve(method, now))
        };
        if deadline.is_some_and(|deadline| now + wait > deadline) {
            self.give_turn_back(method);
            return Err(wait);
        }
        if !wait.is_zero() {
            /// Gives the turn back unless disarmed: dropped while waiting means cancelled.
            struct Unsent<'a>(&'a TeleClient, &'a str);
            impl Drop for Unsent<'_> {
                fn drop(&mut self) {
                    self.0.give_turn_back(self.1);
                }
            }
            let unsent = Unsent(self, method);
            tokio::time::sleep(wait).await;
            std::mem::forget(unsent);
        }
        self.requests.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    fn give_turn_back(&self, method: &str) {
        let mut status = self.status();
        status.pacer.refund();
        status.methods.refund(method);
    }

    /// How long a call of `method` taking its turn now would wait for it (zero when both the
    /// account's and the method's tokens are there).
    pub fn queue_wait(&self, method: &str, now: Instant) -> Duration {
        let status = self.status();
        status
            .pacer
            .wait_at(now)
            .max(status.methods.wait_at(method, now))
    }

    /// Whether this account's cache holds `peer`'s access hash.
    pub fn holds(&self, peer: PeerId) -> bool {
        self.known().contains_key(&peer)
    }

    /// The usable reference to `peer` from this account's own cache: from memory once its
    /// hash was read, else from the session file.
    pub fn peer_ref(&self, peer: PeerId) -> Option<PeerRef> {
        if let Some(Some(auth)) = self.known().get(&peer) {
            return Some(PeerRef {
                id: peer,
                auth: *auth,
            });
        }
        let found = self.load_peer_ref(peer)?;
        self.known_mut().insert(peer, Some(found.auth));
        Some(found)
    }

    fn load_peer_ref(&self, peer: PeerId) -> Option<PeerRef> {
        let info = match self.session.load_peer(peer) {
            Ok(info) => info?,
            Err(error) => {
                tracing::warn!(account = %self.id, %error, "reading a cached peer failed");
                return None;
            }
        };
        let auth = match peer.kind() {
            grammers_session::types::PeerKind::Chat => info.auth().unwrap_or_default(),
            _ => info.auth()?,
        };
        Some(PeerRef { id: peer, auth })
    }

    /// The account has just resolved `peer`: its hash is in the session file, read on first use.
    pub(crate) fn remember(&self, peer: PeerId) {
        self.known_mut().insert(peer, None);
    }

    pub(crate) fn forget(&self, peer: PeerId) {
        self.known_mut().remove(&peer);
    }

    fn known(&self) -> std::sync::RwLockReadGuard<'_, HashMap<PeerId, Option<PeerAuth>>> {
        self.known
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn known_mut(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<PeerId, Option<PeerAuth>>> {
        self.known
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Counts a download bound to this account until the returned guard is dropped;
    /// the pool gives the account fewer picks meanwhile.
    pub fn begin_download(self: &Arc<Self>) -> PendingDownload {
        self.pending_downloads.fetch_add(1, Ordering::Relaxed);
        PendingDownload {
            account: Arc::clone(self),
        }
    }

    pub fn pending_downloads(&self) -> u32 {
        self.pending_downloads.load(Ordering::Relaxed)
    }

    /// `FLOOD_WAIT_X` on `method`: the account cools for that method.
    pub fn cool(&self, method: &str, wait: Duration) {
        let wait = wait.max(MIN_COOLDOWN);
        self.flood_waits.fetch_add(1, Ordering::Relaxed);
        let now = Instant::now();
        let mut status = self.status();
        status.cooldowns.cool(method, now + wait);
        status.methods.flood_wait(method, now);
        let per_second = status.methods.per_second(method);
        drop(status);
        tracing::info!(account = %self.id, method, seconds = wait.as_secs(), paced_per_second = per_second, "flood wait: cooling, and pacing the method slower");
    }

    /// The key is worthless: the account leaves the pool for good.
    pub fn retire(&self, reason: &str) {
        let mut status = self.status();
        if matches!(status.state, AccountState::Deauthorized { .. }) {
            return;
        }
        if reason == "AUTH_KEY_DUPLICATED" {
            tracing::error!(account = %self.id, path = %self.path().display(), reason, "account deauthorized: Telegram saw this session file used from two places at once and invalidated its key; it leaves the pool. Stop the other program using the file, then log the account in again (tgcollector accounts login)");
        } else {
            tracing::error!(account = %self.id, path = %self.path().display(), reason, "account deauthorized: it leaves the pool");
        }
        status.state = AccountState::Deauthorized {
            reason: reason.to_owned(),
        };
        drop(status);
        self.state_changed.notify_waiters();
    }

    /// The connection broke: serve from others, probe this one again after a backoff.
    pub fn disconnected(self: &Arc<Self>, reason: &str) {
        let now = Instant::now();
        let spawn_probe = {
            let mut status = self.status();
            let was_active = match &status.state {
                AccountState::Active => true,
                AccountState::Disconnected { .. } => false,
                AccountState::Deauthorized { .. } => return,
            };
            let since = match &status.state {
                AccountState::Disconnected { since, .. } => *since,
                _ => now,
            };
            let backoff = status.backoff;
            status.backoff = (backoff * 2).min(self.max_backoff);
            status.state = AccountState::Disconnected {
                since,
                retry_at: now + backoff,
                reason: reason.to_owned(),
            };
            tracing::warn!(account = %self.id, reason, retry_in = ?backoff, "account disconnected");
            if was_active {
                self.disconnections.fetch_add(1, Ordering::Relaxed);
            }
            was_active
        };
        self.state_changed.notify_waiters();
        if spawn_probe {
            tokio::spawn(reconnect(Arc::downgrade(self)));
        }
    }

    fn mark_active(&self) {
        let mut status = self.status();
        status.backoff = FIRST_BACKOFF;
        if matches!(status.state, AccountState::Disconnected { .. }) {
            tracing::info!(account = %self.id, "account reconnected");
            status.state = AccountState::Active;
            drop(status);
            self.state_changed.notify_waiters();
        }
    }

    /// Waits until the account is active (at once if it is); gives up, returning the
    /// state, if it is deauthorized, which no wait can mend.
    pub async fn wait_until_active(&self) -> Result<(), AccountState> {
        loop {
            // Registered before the state is read, so a change in between is not missed.
            let changed = self.state_changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            match self.state() {
                AccountState::Active => return Ok(()),
                state @ AccountState::Deauthorized { .. } => return Err(state),
                AccountState::Disconnected { .. } => changed.await,
            }
        }
    }

    /// A request went through: a disconnected account is back.
    pub(crate) fn succeeded(&self) {
        if matches!(self.status().state, AccountState::Disconnected { .. }) {
            self.mark_active();
        }
    }

    pub fn report(&self, now: Instant) -> AccountReport {
        let mut status = self.status();
        AccountReport {
            account: self.id,
            path: self.path().to_owned(),
            state: status.state.clone(),
            cooling: status.cooldowns.active(now),
            pending_downloads: self.pending_downloads(),
            resolves_left: status.resolve_budget.left(now),
            resolves: self.resolves.load(Ordering::Relaxed),
            flood_waits: self.flood_waits.load(Ordering::Relaxed),
            disconnections: self.disconnections.load(Ordering::Relaxed),
            queue_wait: status.pacer.wait_at(now),
            pacing: status.methods.report(),
            requests: self.requests.load(Ordering::Relaxed),
        }
    }

    fn status(&self) -> MutexGuard<'_, Status> {
        // The bookkeeping is consistent after every statement, so a poisoned lock (a panic
        // elsewhere while holding it) leaves nothing half-done.
        self.status
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Drop for TeleClient {
    fn drop(&mut self) {
        self.sender.quit();
        self.runner.abort();
    }
}

/// The account's own proxy: one `socks5://` URL in `<session name>.proxy`, if that file
/// exists.
pub(crate) fn account_proxy(session_path: &Path) -> Result<Option<Secret<String>>, ConnectError> {
    let path = session_path.with_extension("proxy");
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => {
            return Err(ConnectError::Proxy {
                path,
                reason: error.to_string(),
            });
        }
    };
    let url = text.trim();
    let valid = url
        .strip_prefix("socks5://")
        .and_then(|rest| rest.rsplit_once(':'))
        .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok_and(|p| p > 0));
    if valid {
        Ok(Some(Secret::new(url.to_owned())))
    } else {
        Err(ConnectError::Proxy {
            path,
            reason: "expected one line socks5://[user:pass@]host:port".into(),
        })
    }
}

/// A download counted against its account while alive.
#[derive(Debug)]
pub struct PendingDownload {
    account: Arc<TeleClient>,
}

impl Drop for PendingDownload {
    fn drop(&mut self) {
        self.account
            .pending_downloads
            .fetch_sub(1, Ordering::Relaxed);
    }
}

/// Why an account whose user is unknown could not join: a key Telegram refuses makes it
/// unusable for good; anything else leaves it to be asked again at the next start.
fn unidentified(path: &Path, error: AskError) -> ConnectError {
    let path = path.to_owned();
    match error {
        AskError::Telegram(error) => match classify(&error) {
            Failure::Deauthorized(reason) => ConnectError::Unauthorized { path, reason },
            _ => ConnectError::Unidentified {
                path,
                reason: error.to_string(),
            },
        },
        unusable @ AskError::Unusable(_) => ConnectError::Unidentified {
            path,
            reason: unusable.to_string(),
        },
    }
}

/// Probes a disconnected account until it is back, deauthorized, or dropped.
async fn reconnect(account: Weak<TeleClient>) {
    loop {
        let wait = {
            let Some(account) = account.upgrade() else {
                return;
            };
            match &account.status().state {
                AccountState::Disconnected { retry_at, .. } => {
                    retry_at.saturating_duration_since(Instant::now())
                }
                _ => return,
            }
        };
        tokio::time::sleep(wait).await;
        let Some(account) = account.upgrade() else {
            return;
        };
        match account.connect().await {
            Ok(rtt) => {
                tracing::info!(account = %account.id, ?rtt, "reconnected");
                return;
            }
            Err(ConnectError::Network { .. }) => continue,
            Err(_) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_account_proxy_file_is_optional_and_checked() {
        let dir = tempfile::tempdir().unwrap();
        let session = dir.path().join("15550000001.session");
        assert!(account_proxy(&session).unwrap().is_none());

        std::fs::write(
            dir.path().join("15550000001.proxy"),
            "socks5://u:p@10.0.0.1:1080\n",
        )
        .unwrap();
        let proxy = account_proxy(&session).unwrap().unwrap();
        assert_eq!(proxy.expose(), "socks5://u:p@10.0.0.1:1080");

        std::fs::write(dir.path().join("15550000001.proxy"), "http://10.0.0.1:8080").unwrap();
        let error = account_proxy(&session).unwrap_err().to_string();
        assert!(
            error.contains("15550000001.proxy") && error.contains("socks5://"),
            "{error}"
        );
        assert!(!error.contains("u:p"), "no credentials in errors");
    }
}
