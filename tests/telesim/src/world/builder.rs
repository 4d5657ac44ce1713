//! Building worlds in code, and checking any world (built, loaded or generated) for dangling
//! references before the API layer trusts it.

use super::{Account, Chat, User, World, default_epoch, generated};
use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;

/// Why a world was refused.
#[derive(Debug, thiserror::Error)]
pub enum WorldError {
    #[error("world file is not valid JSON for a world: {0}")]
    Json(serde_json::Error),
    #[error("cannot read world file {0}: {1}")]
    Io(PathBuf, std::io::Error),
    #[error("inconsistent world: {0}")]
    Invalid(String),
}

/// Fluent construction of a [`World`]; [`WorldBuilder::build`] validates it.
#[derive(Debug, Clone)]
pub struct WorldBuilder {
    world: World,
}

impl WorldBuilder {
    pub fn new(seed: u64) -> WorldBuilder {
        WorldBuilder {
            world: World {
                seed,
                accounts: Vec::new(),
                users: BTreeMap::new(),
                chats: BTreeMap::new(),
                epoch: default_epoch(),
            },
        }
    }

    /// The world's "now" for stored history.
    pub fn epoch(mut self, unix_time: i32) -> WorldBuilder {
        self.world.epoch = unix_time;
        self
    }

    /// A user that is not an account.
    pub fn user(mut self, user: User) -> WorldBuilder {
        self.world.users.insert(user.id, user);
        self
    }

    /// A logged-in account.
    pub fn account(self, user: User, phone: &str) -> WorldBuilder {
        self.account_with(user, phone, None, true)
    }

    /// An account with every option: a 2FA password, and `logged_in: false` for a pre-keyed
    /// login slot.
    pub fn account_with(
        mut self,
        mut user: User,
        phone: &str,
        password: Option<&str>,
        logged_in: bool,
    ) -> WorldBuilder {
        user.phone = Some(phone.to_string());
        self.world.accounts.push(Account {
            user_id: user.id,
            phone: phone.to_string(),
            password: password.map(str::to_string),
            logged_in,
            auth_key_hex: None,
        });
        self.world.users.insert(user.id, user);
        self
    }

    pub fn chat(mut self, chat: Chat) -> WorldBuilder {
        self.world.chats.insert(chat.id, chat);
        self
    }

    pub fn build(self) -> Result<World, WorldError> {
        validate(&self.world)?;
        Ok(self.world)
    }
}

impl User {
    /// A user with a first name only.
    pub fn new(id: i64, first_name: &str) -> User {
        User {
            id,
            first_name: first_name.to_string(),
            last_name: None,
            username: None,
            phone: None,
            bot: false,
            about: None,
        }
    }

    pub fn with_username(mut self, username: &str) -> User {
        self.username = Some(username.to_string());
        self
    }

    pub fn with_last_name(mut self, last_name: &str) -> User {
        self.last_name = Some(last_name.to_string());
        self
    }
}

pub(crate) fn validate(world: &World) -> Result<(), WorldError> {
    let invalid = |what: String| Err(WorldError::Invalid(what));
    let mut phones = HashSet::new();
    for account in &world.accounts {
        if !world.users.contains_key(&account.user_id) {
            return invalid(format!("account {} has no user", account.user_id));
        }
        if !phones.insert(account.phone.clone()) {
            return invalid(format!("phone {} is used by two accounts", account.phone));
        }
        if let Some(hex) = &account.auth_key_hex
            && super::account::parse_key_hex(hex).is_none()
        {
            return invalid(format!(
                "account {}: auth_key_hex must be 512 hex digits",
                account.user_id
            ));
        }
    }
    let mut usernames = HashSet::new();
    let names = world
        .users
        .values()
        .filter_map(|u| u.username.as_ref())
        .chain(world.chats.values().filter_map(|c| c.username.as_ref()));
    for name in names {
        if !usernames.insert(name.to_lowercase()) {
            return invalid(format!("username {name} is taken twice"));
        }
    }
    let mut media_ids = HashSet::new();
    for chat in world.chats.values() {
        if world.users.contains_key(&chat.id) && !chat.is_channel() {
            return invalid(format!("small group {} has a user's id", chat.id));
        }
        for member in &chat.members {
            if !world.users.contains_key(member) {
                return invalid(format!("chat {}: member {member} is no user", chat.id));
            }
        }
        if let Some(linked) = chat.linked_chat_id
            && !world.chats.contains_key(&linked)
        {
            return invalid(format!("chat {}: linked chat {linked} is missing", chat.id));
        }
        for rec in &chat.recommendations {
            match world.chats.get(rec) {
                Some(c) if c.is_channel() => {}
                _ => {
                    return invalid(format!(
                        "chat {}: recommendation {rec} is no channel",
                        chat.id
                    ));
                }
            }
        }
        if let Some(generated) = chat.generated
            && !(0..generated::MAX_GENERATED_ID).contains(&generated.count)
        {
            return invalid(format!(
                "chat {}: generated count must be below {}",
                chat.id,
                generated::MAX_GENERATED_ID
            ));
        }
        if chat.generated.is_some() && !(0..(1 << 37)).contains(&chat.id) {
            return invalid(format!("generated chat id {} must be below 2^37", chat.id));
        }
        let mut last = 0;
        for message in &chat.messages {
            if message.id <= last {
                return invalid(format!(
                    "chat {}: message ids must be positive and ascending, got {} after {last}",
                    chat.id, message.id
                ));
            }
            last = message.id;
            if let Some(media) = &message.media {
                if media.id < 0 || media.id >= generated::GENERATED_MEDIA_TAG {
                    return invalid(format!("media id {} out of range", media.id));
                }
                if !media_ids.insert(media.id) {
                    return invalid(format!("media id {} is used twice", media.id));
                }
            }
        }
    }
    Ok(())
}
