//! Chats: broadcast channels, megagroups and small groups, with their members and history.

use super::Message;
use serde::{Deserialize, Serialize};

/// Telegram's three kinds of group-like chat. Channels and megagroups are "channels" in the
/// API (own pts, `InputChannel` with access hash); small groups are "chats" (common pts).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChatKind {
    Channel,
    Megagroup,
    Group,
}

/// A history computed on demand: messages `1..=count` of the chat come from
/// [`crate::world::generated::message`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct GeneratedHistory {
    pub count: i32,
    pub seed: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Chat {
    pub id: i64,
    pub kind: ChatKind,
    pub title: String,
    /// Public chats have one; a channel or megagroup without it is private (`CHANNEL_PRIVATE`
    /// to non-members).
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub about: String,
    /// Shown participants count; defaults to the number of members.
    #[serde(default)]
    pub participants_count: Option<i32>,
    /// The discussion group of a channel (or the channel of a discussion group).
    #[serde(default)]
    pub linked_chat_id: Option<i64>,
    /// Users (accounts or not) that are members.
    #[serde(default)]
    pub members: Vec<i64>,
    /// Channels `channels.getChannelRecommendations` suggests for this one.
    #[serde(default)]
    pub recommendations: Vec<i64>,
    /// Creation date.
    #[serde(default)]
    pub date: i32,
    /// Stored messages, ascending ids (for generated chats: overrides and later posts).
    #[serde(default)]
    pub messages: Vec<Message>,
    #[serde(default)]
    pub generated: Option<GeneratedHistory>,
}

impl Chat {
    pub fn new(id: i64, kind: ChatKind, title: impl Into<String>) -> Chat {
        Chat {
            id,
            kind,
            title: title.into(),
            username: None,
            about: String::new(),
            participants_count: None,
            linked_chat_id: None,
            members: Vec::new(),
            recommendations: Vec::new(),
            date: 0,
            messages: Vec::new(),
            generated: None,
        }
    }

    /// Channels and megagroups are "channels" in the API.
    pub fn is_channel(&self) -> bool {
        self.kind != ChatKind::Group
    }

    /// A channel without username: only members may see it.
    pub fn is_private(&self) -> bool {
        self.kind == ChatKind::Group || self.username.is_none()
    }

    pub fn is_member(&self, user_id: i64) -> bool {
        self.members.contains(&user_id)
    }

    pub fn shown_participants(&self) -> i32 {
        self.participants_count.unwrap_or(self.members.len() as i32)
    }
}
