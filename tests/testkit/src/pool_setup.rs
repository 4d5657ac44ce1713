//! What the pool tests (and the account commands' tests) share: a telesim world of N accounts
//! and M public channels, its session files on disk, and a pool over them, configured as
//! production would be except for generous budgets (the tests count resolves, they do not
//! wait for budgets).

use std::path::PathBuf;
use std::time::Duration;

use telesim::Sim;
use telesim::world::{Chat, ChatKind, User, World};
use tgc_model::directory::Directory;
use tgc_model::teleclient::{ChatRef, ClientConfig, PeerRef, TeleClients, tl};

use crate::guard::guarded;
use crate::sessions::SimSessions;

/// Account user ids are `FIRST_ACCOUNT + i`.
pub const FIRST_ACCOUNT: i64 = 5000;
/// Channel ids are `FIRST_CHANNEL + i`, usernames `channel_<i>`.
pub const FIRST_CHANNEL: i64 = 900_000;
pub fn account(i: usize) -> i64 {
    FIRST_ACCOUNT + i as i64
}

/// Account `i`'s phone; telesim names its session file after the digits.
pub fn phone(i: usize) -> String {
    format!("+1555100{i:04}")
}

pub fn channel_name(i: usize) -> String {
    format!("channel_{i}")
}

pub fn chat(i: usize) -> ChatRef {
    ChatRef::parse(&channel_name(i)).expect("a valid username")
}

/// `accounts` logged-in accounts and `channels` public channels with one message each.
pub fn world(accounts: usize, channels: usize) -> World {
    let mut builder = World::builder(7);
    for i in 0..accounts {
        let id = account(i);
        builder = builder.account(
            User::new(id, &format!("Account {i}")),
            &format!("+1555100{i:04}"),
        );
    }
    for i in 0..channels {
        let mut channel = Chat::new(
            FIRST_CHANNEL + i as i64,
            ChatKind::Channel,
            format!("Channel {i}"),
        );
        channel.username = Some(channel_name(i));
        channel.messages = vec![telesim::world::Message::text(1, 1_600_000_000, "hello")];
        builder = builder.chat(channel);
    }
    builder.build().expect("a consistent world")
}

pub fn config() -> ClientConfig {
    client_config(Duration::from_secs(300))
}

/// The accounts' configuration every set-up uses: budgets and pacing generous enough that no
/// test waits on them (tests count calls, they do not wait for budgets), and the given
/// reconnect backoff.
pub fn client_config(reconnect_max_backoff: Duration) -> ClientConfig {
    ClientConfig {
        api_id: 1,
        device_model: "tgcollector tests".into(),
        resolve_budget_per_hour: 1000,
        requests_per_second: 10_000.0,
        reconnect_max_backoff,
        proxy: None,
    }
}

/// A simulator with its sessions written to a temporary directory.
pub struct Setup {
    pub sim: Sim,
    pub dir: tempfile::TempDir,
}

impl Setup {
    pub async fn new(accounts: usize, channels: usize) -> Setup {
        let sim = Sim::start(world(accounts, channels))
            .await
            .expect("telesim starts");
        let dir = tempfile::tempdir().expect("a temporary directory");
        sim.write_sessions(&dir.path().join("sessions"))
            .expect("session files");
        Setup { sim, dir }
    }

    pub fn sessions(&self) -> PathBuf {
        self.dir.path().join("sessions")
    }

    /// The session file of account `i`.
    pub fn session_of(&self, i: usize) -> PathBuf {
        self.sessions().join(format!("{}.session", &phone(i)[1..]))
    }

    pub fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// A pool over the sessions, as a server start would build it.
    pub async fn pool(&self) -> TeleClients {
        self.pool_with(&config()).await
    }

    pub async fn pool_with(&self, config: &ClientConfig) -> TeleClients {
        let directory =
            Directory::open_in(&self.data(), Duration::from_secs(24 * 3600)).expect("directory");
        let (pool, report) = guarded(
            "pool start",
            TeleClients::start_from_dir(&self.sessions(), directory, config),
        )
        .await;
        assert!(report.unreadable.is_empty(), "{:?}", report.unreadable);
        assert!(report.failed.is_empty(), "{:?}", report.failed);
        pool
    }

    pub fn resolves(&self) -> u64 {
        self.sim.counters.method_total("contacts.resolveUsername")
    }
}

/// The newest message of a chat: a cheap call that needs the peer's access hash.
pub async fn last_message(
    client: tgc_model::teleclient::Client,
    peer: PeerRef,
) -> Result<i32, tgc_model::teleclient::InvocationError> {
    let history = client
        .invoke(&tl::functions::messages::GetHistory {
            peer: (&peer).into(),
            offset_id: 0,
            offset_date: 0,
            add_offset: 0,
            limit: 1,
            max_id: 0,
            min_id: 0,
            hash: 0,
        })
        .await?;
    let messages = match history {
        tl::enums::messages::Messages::Messages(m) => m.messages,
        tl::enums::messages::Messages::Slice(m) => m.messages,
        tl::enums::messages::Messages::ChannelMessages(m) => m.messages,
        tl::enums::messages::Messages::NotModified(_) => Vec::new(),
    };
    Ok(messages.len() as i32)
}

/// A deterministic shuffle (xorshift), so a failing order can be replayed.
pub fn shuffled<T>(mut items: Vec<T>, seed: u64) -> Vec<T> {
    let mut state = seed.max(1);
    for i in (1..items.len()).rev() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        items.swap(i, (state % (i as u64 + 1)) as usize);
    }
    items
}
