//! Who an account is, for sessions that never recorded it.
//!
//! A session file needs two things to serve: an auth key and the user it belongs to (the
//! pool keys everything per account by that user id). Telethon records its own user only
//! as the fake entity row 0, which Telethon 1.25+ writes when it disconnects cleanly; files
//! of older versions, files written offline and every Telethon `StringSession` carry the
//! key alone. Such an account is not "not logged in": Telegram knows whom the key belongs
//! to, and `users.getUsers([inputUserSelf])` (Telethon's `get_me`) says so. The answer is
//! written into the session file, our way and Telethon's, so each account is asked once,
//! not at every start.
//!
//! The answer is read here rather than through grammers' `get_me`, which panics when
//! Telegram answers with other than exactly one user: nothing from Telegram may crash us.

use grammers_client::{Client, InvocationError, tl};
use grammers_session::types::PeerId;

use crate::session::{Entity, SessionError, SessionFile};

/// The account's own user, as Telegram describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    pub user_id: i64,
    pub bot: bool,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    /// The main username, without `@`; else the first active collectible one.
    pub username: Option<String>,
    pub phone: Option<String>,
    access_hash: Option<i64>,
}

impl Identity {
    /// First and last name joined, as Telethon stores a user's name.
    pub fn name(&self) -> Option<String> {
        let parts: Vec<&str> = [self.first_name.as_deref(), self.last_name.as_deref()]
            .into_iter()
            .flatten()
            .filter(|part| !part.is_empty())
            .collect();
        (!parts.is_empty()).then(|| parts.join(" "))
    }

    /// One line for operators: `user 12345 (Ann Lee, @ann)`.
    pub fn describe(&self) -> String {
        describe_user(
            self.user_id,
            self.name().as_deref(),
            self.username.as_deref(),
        )
    }

    fn from_raw(user: tl::enums::User) -> Option<Identity> {
        let tl::enums::User::User(user) = user else {
            return None;
        };
        PeerId::user(user.id)?;
        let username = user.username.clone().or_else(|| {
            user.usernames.as_ref().and_then(|names| {
                names
                    .iter()
                    .find_map(|tl::enums::Username::Username(name)| {
                        name.active.then(|| name.username.clone())
                    })
            })
        });
        Some(Identity {
            user_id: user.id,
            bot: user.bot,
            first_name: user.first_name,
            last_name: user.last_name,
            username,
            phone: user.phone,
            access_hash: user.access_hash,
        })
    }
}

/// One line for operators about a user: `user 12345 (Ann Lee, @ann)`.
pub fn describe_user(user_id: i64, name: Option<&str>, username: Option<&str>) -> String {
    let name = name.unwrap_or("no name");
    match username {
        Some(username) => format!("user {user_id} ({name}, @{username})"),
        None => format!("user {user_id} ({name})"),
    }
}

/// Why Telegram could not tell who the account is.
#[derive(Debug, thiserror::Error)]
pub(crate) enum AskError {
    #[error(transparent)]
    Telegram(#[from] InvocationError),
    #[error("Telegram answered users.getUsers([self]) with {0}")]
    Unusable(String),
}

/// Asks Telegram who the account behind `client` is.
pub(crate) async fn ask(client: &Client) -> Result<Identity, AskError> {
    let users = client
        .invoke(&tl::functions::users::GetUsers {
            id: vec![tl::enums::InputUser::UserSelf],
        })
        .await?;
    let count = users.len();
    let mut users = users.into_iter();
    match (users.next(), users.next()) {
        (Some(user), None) => Identity::from_raw(user)
            .ok_or_else(|| AskError::Unusable("an empty or invalid user".into())),
        _ => Err(AskError::Unusable(format!("{count} users, expected 1"))),
    }
}

/// Records the account's user in its session file: `tgc_self` and Telethon's row 0 (so
/// either program knows whom the file belongs to), and the user's own entity row with
/// its name, username and phone (so `accounts list` shows them).
pub(crate) fn record(session: &SessionFile, identity: &Identity) -> Result<(), SessionError> {
    session.set_self_user(identity.user_id, identity.bot)?;
    let Some(peer) = PeerId::user(identity.user_id) else {
        return Ok(());
    };
    session.cache_entity(&Entity {
        peer,
        access_hash: identity.access_hash.unwrap_or_default(),
        username: identity.username.clone(),
        phone: identity.phone.clone(),
        name: identity.name(),
        date: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity(first: Option<&str>, last: Option<&str>, username: Option<&str>) -> Identity {
        Identity {
            user_id: 5550001,
            bot: false,
            first_name: first.map(str::to_owned),
            last_name: last.map(str::to_owned),
            username: username.map(str::to_owned),
            phone: None,
            access_hash: None,
        }
    }

    #[test]
    fn an_identity_reads_as_telethon_names_a_user() {
        let ann = identity(Some("Ann"), Some("Lee"), Some("ann"));
        assert_eq!(ann.name().as_deref(), Some("Ann Lee"));
        assert_eq!(ann.describe(), "user 5550001 (Ann Lee, @ann)");
        let nameless = identity(None, Some(""), None);
        assert_eq!(nameless.name(), None);
        assert_eq!(nameless.describe(), "user 5550001 (no name)");
    }
}
