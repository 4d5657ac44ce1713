//! Which kind of peer a resolved chat is, read from its id, and its JSON in replies.
//!
//! Telegram has three kinds of peer and different calls for each (a channel's history is
//! `channels.*`, a basic group's `messages.*`), so handlers branch on [`Kind`].

use serde_json::{Value, json};
use tgc_model::teleclient::{PeerRef, tl};

use crate::parser::{marked_id, parse_chat, parse_user};

/// The kind of a peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    User,
    /// A basic group.
    Group,
    /// A channel or a supergroup (Telegram calls both channels).
    Channel,
}

impl Kind {
    pub fn of(peer: &PeerRef) -> Kind {
        match tl::enums::Peer::from(peer.id) {
            tl::enums::Peer::User(_) => Kind::User,
            tl::enums::Peer::Chat(_) => Kind::Group,
            tl::enums::Peer::Channel(_) => Kind::Channel,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Kind::User => "user",
            Kind::Group => "group",
            Kind::Channel => "channel",
        }
    }
}

/// The marked (Bot API) id of a peer: users positive, groups `-id`, channels `-100…`.
pub fn peer_id(peer: &PeerRef) -> Option<i64> {
    marked_id(&tl::enums::Peer::from(peer.id))
}

/// The bare id Telegram uses inside the peer's kind.
pub fn bare_id(peer: &PeerRef) -> i64 {
    match tl::enums::Peer::from(peer.id) {
        tl::enums::Peer::User(p) => p.user_id,
        tl::enums::Peer::Chat(p) => p.chat_id,
        tl::enums::Peer::Channel(p) => p.channel_id,
    }
}

/// The parsed chat or user among `chats`/`users` that is `peer`, if Telegram sent it.
pub fn describe(
    peer: &PeerRef,
    chats: &[tl::enums::Chat],
    users: &[tl::enums::User],
) -> Option<Value> {
    let id = bare_id(peer);
    match Kind::of(peer) {
        Kind::User => users.iter().find(|u| user_id(u) == id).map(parse_user),
        Kind::Group | Kind::Channel => chats.iter().find(|c| chat_id(c) == id).map(parse_chat),
    }
}

/// The minimal description of a peer when Telegram sent nothing about it.
pub fn bare(peer: &PeerRef) -> Value {
    json!({ "id": peer_id(peer), "bare_id": bare_id(peer), "type": Kind::of(peer).name() })
}

pub fn user_id(user: &tl::enums::User) -> i64 {
    match user {
        tl::enums::User::Empty(u) => u.id,
        tl::enums::User::User(u) => u.id,
    }
}

pub fn chat_id(chat: &tl::enums::Chat) -> i64 {
    use tl::enums::Chat;
    match chat {
        Chat::Empty(c) => c.id,
        Chat::Chat(c) => c.id,
        Chat::Forbidden(c) => c.id,
        Chat::Channel(c) => c.id,
        Chat::ChannelForbidden(c) => c.id,
        Chat::Community(c) => c.id,
        Chat::CommunityForbidden(c) => c.id,
    }
}
