//! What the pool tests (and the account commands' tests) share: a telesim world of N accounts
//! and M public channels, on the common [`Setup`].

use std::path::PathBuf;
use std::time::Duration;

use telesim::world::{Chat, ChatKind, User, World};
use tgc_model::teleclient::{ChatRef, ClientConfig, PeerRef, tl};

pub use crate::setup::{Setup, client_config};

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

/// `accounts` accounts and `channels` public channels (see [`world`]), as a [`Setup`].
pub async fn start(accounts: usize, channels: usize) -> Setup {
    Setup::start("pool", world(accounts, channels)).await
}

/// The session file of account `i` (telesim names it after the phone's digits).
pub fn session_of(setup: &Setup, i: usize) -> PathBuf {
    setup.sessions().join(format!("{}.session", &phone(i)[1..]))
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
