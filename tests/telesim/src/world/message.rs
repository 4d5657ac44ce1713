//! Messages: text with entities, replies, forwards, counters, edits, albums, media and service
//! actions — the fields the gateway's parser reads.

use super::Media;
use serde::{Deserialize, Serialize};

/// One message of a chat. Ids are per chat, positive and increasing with time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub id: i32,
    pub date: i32,
    /// The author; `None` for a channel post (signed by the channel).
    #[serde(default)]
    pub from_id: Option<i64>,
    #[serde(default)]
    pub text: String,
    #[serde(default)]
    pub entities: Vec<Entity>,
    #[serde(default)]
    pub reply_to: Option<i32>,
    #[serde(default)]
    pub fwd_from: Option<Forward>,
    #[serde(default)]
    pub views: Option<i32>,
    #[serde(default)]
    pub forwards: Option<i32>,
    #[serde(default)]
    pub edit_date: Option<i32>,
    /// Messages of one album share it.
    #[serde(default)]
    pub grouped_id: Option<i64>,
    #[serde(default)]
    pub media: Option<Media>,
    #[serde(default)]
    pub post_author: Option<String>,
    /// Set for service messages (then text and media are ignored).
    #[serde(default)]
    pub action: Option<Action>,
}

impl Message {
    /// A plain text message.
    pub fn text(id: i32, date: i32, text: impl Into<String>) -> Message {
        Message {
            id,
            date,
            from_id: None,
            text: text.into(),
            entities: Vec::new(),
            reply_to: None,
            fwd_from: None,
            views: None,
            forwards: None,
            edit_date: None,
            grouped_id: None,
            media: None,
            post_author: None,
            action: None,
        }
    }

    /// A service message.
    pub fn service(id: i32, date: i32, action: Action) -> Message {
        Message {
            action: Some(action),
            ..Message::text(id, date, "")
        }
    }

    pub fn with_from(mut self, user_id: i64) -> Message {
        self.from_id = Some(user_id);
        self
    }

    pub fn with_media(mut self, media: Media) -> Message {
        self.media = Some(media);
        self
    }

    pub fn with_entities(mut self, entities: Vec<Entity>) -> Message {
        self.entities = entities;
        self
    }
}

/// Where a forwarded message came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Forward {
    #[serde(default)]
    pub from_user: Option<i64>,
    #[serde(default)]
    pub from_channel: Option<i64>,
    /// For senders hiding their account.
    #[serde(default)]
    pub from_name: Option<String>,
    pub date: i32,
    #[serde(default)]
    pub channel_post: Option<i32>,
}

/// A formatting entity over UTF-16 code units, like Telegram's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entity {
    pub kind: EntityKind,
    pub offset: i32,
    pub length: i32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum EntityKind {
    Bold,
    Italic,
    Underline,
    Strike,
    Code,
    Pre { language: String },
    Url,
    TextUrl { url: String },
    Mention,
    Hashtag,
    Email,
}

/// What a service message records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum Action {
    ChannelCreate { title: String },
    ChatCreate { title: String, users: Vec<i64> },
    ChatEditTitle { title: String },
    ChatAddUser { users: Vec<i64> },
    ChatDeleteUser { user_id: i64 },
    PinMessage,
}
