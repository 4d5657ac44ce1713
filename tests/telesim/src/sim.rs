//! [`Sim`]: a running simulated datacenter, the handle tests start, poke and stop.
//!
//! It binds the listener, tells the Telegram layer where it listens (so `help.getConfig` points
//! every DC here), and hands out what clients need to skip the DH handshake: grammers sessions
//! preset with an account's auth key (every DC of such a session points at the simulator with
//! the same key, so a client that switches DC lands here too), and the accounts as Telethon
//! hands them over ([`crate::telethon`]).

use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use grammers_session::types::{DcOption, PeerId, PeerInfo};
use grammers_session::{SessionData, storages::MemorySession};

use crate::api::{HOME_DC, Telegram};
use crate::counters::Counters;
use crate::faults::Faults;
use crate::server::{Server, Shared, registry::Registry};
use crate::world::{AccountInfo, World};

/// Telegram's five production DCs, all pointed at the simulator.
pub const DC_IDS: [i32; 5] = [1, 2, 3, 4, 5];

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
        Some(preset_session(self.addr, &self.account(user_id)?))
    }

    /// Every logged-in account's Telethon `StringSession`, as (user id, string).
    pub fn telethon_strings(&self) -> Vec<(i64, String)> {
        self.telegram
            .accounts()
            .iter()
            .filter(|a| a.logged_in)
            .map(|a| (a.user_id, crate::telethon::string_session(a, self.addr)))
            .collect()
    }

    /// Writes the Telethon session file of every logged-in account into `dir`
    /// ([`crate::telethon::write_session_files`]).
    pub fn write_telethon_files(&self, dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
        crate::telethon::write_session_files(&self.telegram.accounts(), self.addr, dir)
    }

    /// Stops listening and closes every connection.
    pub async fn shutdown(self) {
        self.server.shutdown().await;
    }

    /// DC `id` at the simulator, with `auth_key`.
    pub fn dc_option(&self, id: i32, auth_key: Option<[u8; 256]>) -> DcOption {
        dc_option_at(self.addr, id, auth_key)
    }
}

/// A grammers session for `account` of a simulator listening at `addr`: its auth key on every
/// DC, every DC at the simulator, and (for a logged-in account) the self user cached, so
/// grammers skips the DH handshake and knows who it is.
pub fn preset_session(addr: SocketAddr, account: &AccountInfo) -> MemorySession {
    let mut data = SessionData {
        home_dc: HOME_DC,
        dc_options: DC_IDS
            .iter()
            .map(|&id| (id, dc_option_at(addr, id, Some(account.auth_key))))
            .collect(),
        ..SessionData::default()
    };
    if account.logged_in {
        let me = PeerInfo::User {
            id: account.user_id,
            auth: None,
            bot: Some(false),
            is_self: Some(true),
        };
        data.peer_infos.insert(PeerId::self_user(), me.clone());
        data.peer_infos.insert(me.id(), me);
    }
    MemorySession::from(data)
}

/// DC `id` at a simulator listening at `addr`, with `auth_key`.
pub fn dc_option_at(addr: SocketAddr, id: i32, auth_key: Option<[u8; 256]>) -> DcOption {
    let ipv4 = match addr.ip() {
        IpAddr::V4(ip) => ip,
        IpAddr::V6(ip) => ip.to_ipv4_mapped().unwrap_or(Ipv4Addr::LOCALHOST),
    };
    DcOption {
        id,
        ipv4: SocketAddrV4::new(ipv4, addr.port()),
        ipv6: SocketAddrV6::new(ipv4.to_ipv6_mapped(), addr.port(), 0, 0),
        auth_key,
    }
}
