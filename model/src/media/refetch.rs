//! Refetching a media's message for a fresh location: the cure for
//! `FILE_REFERENCE_EXPIRED`, and how another account takes a task over (its own access
//! hash and file reference come only from its own fetch of the message).
//!
//! One request by id (`channels.getMessages` for channels and megagroups,
//! `messages.getMessages` for small groups and private chats, whose ids live in the
//! account's common message box), through the account's cached peer: refetching never
//! resolves a username, which Telegram rate-limits harshly.

use grammers_client::{InvocationError, tl};
use grammers_session::types::{PeerId, PeerKind};

use super::location::FileLocation;
use crate::teleclient::{AccountId, TeleClient};

/// Why a message could not be refetched.
#[derive(Debug, thiserror::Error)]
pub enum RefetchError {
    #[error("chat id {chat_id} is not a valid marked (Bot API) chat id")]
    BadChat { chat_id: i64 },
    #[error("account {account} holds no access hash for chat {chat_id}")]
    NotCached { account: AccountId, chat_id: i64 },
    #[error(
        "message {message_id} of chat {chat_id} no longer exists or no longer carries media {media_id}"
    )]
    Gone {
        chat_id: i64,
        message_id: i32,
        media_id: i64,
    },
    #[error(
        "account {account} failed on {method} for message {message_id} of chat {chat_id}: {source}"
    )]
    Invocation {
        account: AccountId,
        method: &'static str,
        chat_id: i64,
        message_id: i32,
        source: InvocationError,
    },
}

impl RefetchError {
    /// Whether the message or its media no longer exists (no account can fetch it).
    pub fn is_gone(&self) -> bool {
        matches!(self, RefetchError::Gone { .. })
    }
}

/// Fetches message `message_id` of `chat_id` (marked id) again with `account` and returns
/// that account's current location of media `media_id` in it.
pub async fn refetch(
    account: &TeleClient,
    chat_id: i64,
    message_id: i32,
    media_id: i64,
) -> Result<FileLocation, RefetchError> {
    refetch_sized(account, chat_id, message_id, media_id)
        .await
        .map(|(location, _)| location)
}

/// [`refetch`], with the file's size as the message now gives it.
pub async fn refetch_sized(
    account: &TeleClient,
    chat_id: i64,
    message_id: i32,
    media_id: i64,
) -> Result<(FileLocation, u64), RefetchError> {
    let peer = PeerId::from_bot_api_dialog_id(chat_id).ok_or(RefetchError::BadChat { chat_id })?;
    let peer = account.peer_ref(peer).ok_or(RefetchError::NotCached {
        account: account.id(),
        chat_id,
    })?;
    let id = vec![tl::enums::InputMessage::Id(tl::types::InputMessageId {
        id: message_id,
    })];
    let (method, result) = if peer.id.kind() == PeerKind::Channel {
        let request = tl::functions::channels::GetMessages {
            channel: (&peer).into(),
            id,
        };
        account.pace("channels.getMessages").await;
        (
            "channels.getMessages",
            account.client().invoke(&request).await,
        )
    } else {
        account.pace("messages.getMessages").await;
        let request = tl::functions::messages::GetMessages { id };
        (
            "messages.getMessages",
            account.client().invoke(&request).await,
        )
    };
    let messages = result.map_err(|source| RefetchError::Invocation {
        account: account.id(),
        method,
        chat_id,
        message_id,
        source,
    })?;
    account.succeeded();
    let messages = match messages {
        tl::enums::messages::Messages::Messages(m) => m.messages,
        tl::enums::messages::Messages::Slice(m) => m.messages,
        tl::enums::messages::Messages::ChannelMessages(m) => m.messages,
        tl::enums::messages::Messages::NotModified(_) => Vec::new(),
    };
    let gone = RefetchError::Gone {
        chat_id,
        message_id,
        media_id,
    };
    messages
        .iter()
        .find_map(|message| match message {
            tl::enums::Message::Message(m)
                if m.id == message_id && in_chat(&m.peer_id, peer.id) =>
            {
                m.media.as_ref()
            }
            _ => None,
        })
        .and_then(FileLocation::from_media)
        .filter(|(location, _)| location.id == media_id)
        .ok_or(gone)
}

/// Whether a message's peer is the chat asked about (`messages.getMessages` answers from
/// the account's whole common box).
fn in_chat(peer: &tl::enums::Peer, chat: PeerId) -> bool {
    match peer {
        tl::enums::Peer::User(p) => {
            chat.kind() == PeerKind::User && chat.bare_id() == Some(p.user_id)
        }
        tl::enums::Peer::Chat(p) => {
            chat.kind() == PeerKind::Chat && chat.bare_id() == Some(p.chat_id)
        }
        tl::enums::Peer::Channel(p) => {
            chat.kind() == PeerKind::Channel && chat.bare_id() == Some(p.channel_id)
        }
    }
}
