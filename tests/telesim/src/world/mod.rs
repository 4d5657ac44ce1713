//! The simulated world: accounts, users, chats, messages and media.
//!
//! A [`World`] is plain data. It is built in code with [`WorldBuilder`], taken from
//! [`World::demo`], loaded from JSON ([`World::from_json`]), or generated at scale with
//! [`World::generated`]; generated chats never hold their messages: each one is computed from
//! `(chat, id)` on demand ([`generated`]), so a world of 100 channels × 100,000 messages costs a
//! few kilobytes. The API layer ([`crate::api`]) owns a world and overlays live changes on it.

mod account;
mod builder;
mod chat;
pub mod demo;
pub mod generated;
mod media;
mod message;

pub use account::{AccountInfo, auth_key_for, auth_key_id};
pub use builder::{WorldBuilder, WorldError};
pub use chat::{Chat, ChatKind, GeneratedHistory};
pub use media::{Media, MediaKind, PhotoSizeSpec, media_bytes, photo_sizes};
pub use message::{Action, Entity, EntityKind, Forward, Message};

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A user that is not necessarily one of the world's accounts (authors, forward sources, …).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct User {
    pub id: i64,
    pub first_name: String,
    #[serde(default)]
    pub last_name: Option<String>,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub bot: bool,
    #[serde(default)]
    pub about: Option<String>,
}

/// One account of the world: a user plus the credentials a client needs to act as it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Account {
    pub user_id: i64,
    pub phone: String,
    /// The 2FA password, if the account has one (checked through SRP at login).
    #[serde(default)]
    pub password: Option<String>,
    /// `false` makes the account a pre-keyed login slot: its auth key is known to the datacenter
    /// but bound to no user until `auth.signIn` (and `auth.checkPassword`) succeed on it.
    #[serde(default = "yes")]
    pub logged_in: bool,
    /// Hex of the 256-byte key; when absent it is derived from the world seed and the user id.
    #[serde(default)]
    pub auth_key_hex: Option<String>,
}

fn yes() -> bool {
    true
}

/// The whole simulated world. Cheap to clone for small worlds; generated chats hold no messages.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct World {
    /// Keys everything derived: auth keys, access hashes, generated messages, media bytes.
    pub seed: u64,
    pub accounts: Vec<Account>,
    pub users: BTreeMap<i64, User>,
    pub chats: BTreeMap<i64, Chat>,
    /// The unix time "now" of the world's stored history (message dates are before it).
    #[serde(default = "default_epoch")]
    pub epoch: i32,
}

pub(crate) fn default_epoch() -> i32 {
    1_700_000_000
}

impl World {
    /// Starts an empty world built in code.
    pub fn builder(seed: u64) -> WorldBuilder {
        WorldBuilder::new(seed)
    }

    /// Parses a world from its JSON form (the serde layout of [`World`]) and checks it.
    pub fn from_json(text: &str) -> Result<World, WorldError> {
        let world: World = serde_json::from_str(text).map_err(WorldError::Json)?;
        world.validate()?;
        Ok(world)
    }

    /// Reads [`World::from_json`] from a file.
    pub fn load(path: &std::path::Path) -> Result<World, WorldError> {
        let text = std::fs::read_to_string(path).map_err(|e| WorldError::Io(path.into(), e))?;
        World::from_json(&text)
    }

    /// Serializes the world to JSON (what [`World::from_json`] reads).
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// A world of `channels` public channels of `messages_per_channel` messages each, computed
    /// on demand. Three accounts: the first is a member of every channel, the second of every
    /// other one, the third of none.
    pub fn generated(channels: usize, messages_per_channel: i32, seed: u64) -> World {
        generated::world(channels, messages_per_channel, seed)
    }

    /// A small, varied world for demos and end-to-end tests (see [`demo`]).
    pub fn demo() -> World {
        demo::world()
    }

    /// Every account with its credentials.
    pub fn account_infos(&self) -> Vec<AccountInfo> {
        self.accounts
            .iter()
            .map(|a| AccountInfo::of(self, a))
            .collect()
    }

    /// The auth key of an account: from the world file, or derived from the seed.
    pub fn auth_key(&self, account: &Account) -> [u8; 256] {
        account
            .auth_key_hex
            .as_deref()
            .and_then(account::parse_key_hex)
            .unwrap_or_else(|| auth_key_for(self.seed, account.user_id))
    }

    /// Checks cross references: accounts and members are users, linked chats and
    /// recommendations exist, message ids are positive and unique, generated counts fit.
    pub fn validate(&self) -> Result<(), WorldError> {
        builder::validate(self)
    }
}
pub(crate) use media::splitmix64 as media_splitmix;
