//! [`Sim`]: a running simulated datacenter, the handle tests start, poke and stop.
//!
//! It binds the listener, tells the Telegram layer where it listens (so `help.getConfig` points
//! every DC here), and hands out what clients need to skip the DH handshake: grammers sessions
//! preset with an account's auth key, and Telethon-layout session files. Every DC of a session
//! points at the simulator with the same key, so a client that switches DC (media, migrations)
//! lands here too.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::path::{Path, PathBuf};
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use anyhow::Context as _;
use grammers_session::types::{DcOption, PeerId, PeerInfo};
use grammers_session::{Session, SessionData, storages::MemorySession};
use tgc_model::session::{SessionFile, TelethonString};

use crate::api::{HOME_DC, Telegram};
use crate::counters::Counters;
use crate::faults::Faults;
use crate::server::{Server, Shared, registry::Registry};
use crate::world::{AccountInfo, World};

/// Telegram's five production DCs, all pointed at the simulator.
const DC_IDS: [i32; 5] = [1, 2, 3, 4, 5];

/// A running simulated datacenter.
pub struct Sim {
    /// Where it listens.
    pub addr: SocketAddr,
    /// The world and its API semantics; also the way to post, edit and delete live.
    pub telegram: Telegram,
    /// Faults to inject.
    pub faults: Faults,
    /// Requests per (account, method).
    pub counters: Counters,
    server: Server,
}

impl Sim {
    /// Starts a datacenter for `world` on a free port of 127.0.0.1.
    pub async fn start(world: World) -> std::io::Result<Sim> {
        Sim::start_on(world, SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await
    }

    /// Starts a datacenter for `world` on `addr` (port 0 picks a free one).
    pub async fn start_on(world: World, addr: SocketAddr) -> std::io::Result<Sim> {
        let telegram = Telegram::new(world);
        let registry = Arc::new(Registry::default());
        let faults = Faults::new(telegram.clone(), Arc::clone(&registry));
        let counters = Counters::new();
        let shared = Arc::new(Shared::new(
            telegram.clone(),
            faults.clone(),
            counters.clone(),
            registry,
        ));
        let server = Server::start(addr, shared).await?;
        telegram.set_address(server.addr);
        Ok(Sim {
            addr: server.addr,
            telegram,
            faults,
            counters,
            server,
        })
    }

    /// The world's account with this user id.
    pub fn account(&self, user_id: i64) -> Option<AccountInfo> {
        self.telegram
            .accounts()
            .into_iter()
            .find(|a| a.user_id == user_id)
    }

    /// A grammers session preset for an account: its auth key on every DC, every DC at the
    /// simulator, and (for a logged-in account) the self user cached, so grammers skips the DH
    /// handshake and knows who it is.
    ///
    /// # Panics
    /// If the world has no account with this user id (a mistake in the test itself); see
    /// [`Sim::try_grammers_session`] for the fallible form.
    pub fn grammers_session(&self, user_id: i64) -> MemorySession {
        self.try_grammers_session(user_id)
            .unwrap_or_else(|| panic!("the world has no account with user id {user_id}"))
    }

    /// [`Sim::grammers_session`], or None if the world has no account with this user id.
    pub fn try_grammers_session(&self, user_id: i64) -> Option<MemorySession> {
        let account = self.account(user_id)?;
        let mut data = SessionData {
            home_dc: HOME_DC,
            dc_options: DC_IDS
                .iter()
                .map(|&id| (id, self.dc_option(id, Some(account.auth_key))))
                .collect(),
            ..SessionData::default()
        };
        if account.logged_in {
            let me = PeerInfo::User {
                id: user_id,
                auth: None,
                bot: Some(false),
                is_self: Some(true),
            };
            data.peer_infos.insert(PeerId::self_user(), me.clone());
            data.peer_infos.insert(me.id(), me);
        }
        Some(MemorySession::from(data))
    }

    /// Writes one Telethon-layout session file (mode 0600) per logged-in account into `dir`,
    /// named after the account's phone number (`<digits>.session`), and returns their paths.
    /// Existing files are not overwritten (that is an error).
    pub fn write_sessions(&self, dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating the sessions directory {}", dir.display()))?;
        let mut written = Vec::new();
        for account in self.telegram.accounts().into_iter().filter(|a| a.logged_in) {
            let path = dir.join(format!("{}.session", session_name(&account)));
            let file = SessionFile::create(&path, HOME_DC, self.addr, &account.auth_key)
                .with_context(|| format!("creating session file {}", path.display()))?;
            for id in DC_IDS {
                poll_ready(file.set_dc_option(&self.dc_option(id, Some(account.auth_key))))
                    .with_context(|| format!("recording DC {id} in {}", path.display()))?;
            }
            file.set_self_user(account.user_id, false)
                .with_context(|| format!("recording the self user in {}", path.display()))?;
            written.push(path);
        }
        Ok(written)
    }

    /// A Telethon `StringSession` per logged-in account, as (user id, string).
    pub fn telethon_strings(&self) -> Vec<(i64, String)> {
        self.telegram
            .accounts()
            .into_iter()
            .filter(|a| a.logged_in)
            .map(|a| {
                let string = TelethonString {
                    dc_id: HOME_DC,
                    addr: self.addr,
                    auth_key: a.auth_key,
                };
                (a.user_id, string.encode())
            })
            .collect()
    }

    /// Stops listening and closes every connection.
    pub async fn shutdown(self) {
        self.server.shutdown().await;
    }

    fn dc_option(&self, id: i32, auth_key: Option<[u8; 256]>) -> DcOption {
        let ipv4 = match self.addr.ip() {
            IpAddr::V4(ip) => ip,
            IpAddr::V6(ip) => ip.to_ipv4_mapped().unwrap_or(Ipv4Addr::LOCALHOST),
        };
        DcOption {
            id,
            ipv4: SocketAddrV4::new(ipv4, self.addr.port()),
            ipv6: SocketAddrV6::new(ipv4.to_ipv6_mapped(), self.addr.port(), 0, 0),
            auth_key,
        }
    }
}

/// `[A-Za-z0-9]` of the phone number, or the user id when the phone has none.
fn session_name(account: &AccountInfo) -> String {
    let digits: String = account
        .phone
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect();
    if digits.is_empty() {
        account.user_id.to_string()
    } else {
        digits
    }
}

/// Runs a future that completes without waiting (SessionFile's SQLite calls run inline), from
/// sync code that may itself be inside a runtime, where `block_on` is not allowed.
fn poll_ready<T, E: std::error::Error + Send + Sync + 'static>(
    future: impl std::future::Future<Output = Result<T, E>>,
) -> anyhow::Result<T> {
    let mut future = pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(result) => Ok(result?),
        Poll::Pending => anyhow::bail!("the session store unexpectedly waited on I/O"),
    }
}
