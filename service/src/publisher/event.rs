//! [`Event`]: one publishable change of one message, and how it is named on the wire.
//!
//! Consumers must be able to drop redeliveries (an outbox replays what was not confirmed,
//! a restart catches up on updates that may have been published already), so every event
//! carries an id that is a pure function of what happened, never of when or by which
//! account it was seen: chat, message, kind and, for edits, the edit date and a digest of
//! what the edit left (text, entities, media, buttons). The date alone is not enough: two
//! edits within one second share it, and the second would be dropped as a repeat of the
//! first. The same id is the de-duplication key across accounts: a chat joined by two
//! accounts yields two identical updates, one event. The digest leaves out what differs
//! between accounts (file references, view counts).
//!
//! A new or edited message is published as the parser's JSON (the schema of the HTTP API,
//! `schema/message.v1.json`); a deletion, which Telegram reports by id only, as a small
//! object naming the chat and the message.

use serde_json::json;
use sha2::{Digest, Sha256};
use tgc_model::teleclient::{AccountId, tl};
use tl::Serializable;

use crate::parser::{ParseContext, SCHEMA_VERSION, marked_id, message_of};

/// What happened to the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    New,
    Edit,
    Delete,
}

impl EventKind {
    /// The word used in routing keys and event ids.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::New => "new",
            EventKind::Edit => "edit",
            EventKind::Delete => "delete",
        }
    }
}

/// One change of one message, ready for the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub kind: EventKind,
    /// The chat's marked (Bot API) id, as the schema's `chat.id`.
    pub chat_id: i64,
    pub message_id: i32,
    /// The message's edit date for edits (0 otherwise): a second edit is a second event.
    pub edit_date: i32,
    /// For edits, a digest of the edited content (see `edit_digest`); 0 otherwise.
    pub edit_digest: u64,
    /// The JSON published.
    pub body: Vec<u8>,
}

/// What names a change before its message is parsed: enough to skip parsing (and handing
/// its media to the pipeline) when the event is a duplicate or its chat is not joined.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventKey {
    pub kind: EventKind,
    pub chat_id: i64,
    pub message_id: i32,
    pub edit_date: i32,
    pub edit_digest: u64,
}

impl EventKey {
    /// The key of a new or edited message, or None for a message without a chat (an empty
    /// message Telegram sent without its peer).
    pub fn of_message(kind: EventKind, message: &tl::enums::Message) -> Option<EventKey> {
        let (peer, id, edit_date) = match message {
            tl::enums::Message::Message(m) => (&m.peer_id, m.id, m.edit_date),
            tl::enums::Message::Service(m) => (&m.peer_id, m.id, None),
            tl::enums::Message::Empty(m) => (m.peer_id.as_ref()?, m.id, None),
        };
        let (edit_date, edit_digest) = match kind {
            EventKind::Edit => (edit_date.unwrap_or(0), edit_digest(message)),
            _ => (0, 0),
        };
        Some(EventKey {
            kind,
            chat_id: marked_id(peer)?,
            message_id: id,
            edit_date,
            edit_digest,
        })
    }

    /// The AMQP `message_id`: `<chat_id>:<message_id>:<new|delete>:0`, and for edits
    /// `<chat_id>:<message_id>:edit:<edit_date>:<digest>` (16 hex digits).
    pub fn id(&self) -> String {
        match self.kind {
            EventKind::Edit => format!(
                "{}:{}:edit:{}:{:016x}",
                self.chat_id, self.message_id, self.edit_date, self.edit_digest
            ),
            kind => format!("{}:{}:{}:0", self.chat_id, self.message_id, kind.as_str()),
        }
    }
}

impl Event {
    /// The event for a new or edited message, or None for a message without a chat.
    pub fn of_message(
        kind: EventKind,
        message: &tl::enums::Message,
        ctx: &ParseContext,
    ) -> Option<Event> {
        Some(Event::parsed(
            EventKey::of_message(kind, message)?,
            message,
            ctx,
        ))
    }

    /// The event for a message whose key is known.
    pub fn parsed(key: EventKey, message: &tl::enums::Message, ctx: &ParseContext) -> Event {
        let body = serde_json::to_vec(&message_of(message, ctx))
            // A parsed message always serializes (non-finite floats become null); this
            // branch only keeps the type honest.
            .unwrap_or_else(|_| b"{}".to_vec());
        Event {
            kind: key.kind,
            chat_id: key.chat_id,
            message_id: key.message_id,
            edit_date: key.edit_date,
            edit_digest: key.edit_digest,
            body,
        }
    }

    /// The event for a deleted message.
    pub fn deleted(chat_id: i64, message_id: i32, account: AccountId) -> Event {
        let body = json!({
            "schema": SCHEMA_VERSION,
            "event": "delete",
            "chat_id": chat_id,
            "id": message_id,
            "account": account.0,
        });
        Event {
            kind: EventKind::Delete,
            chat_id,
            message_id,
            edit_date: 0,
            edit_digest: 0,
            body: body.to_string().into_bytes(),
        }
    }

    pub fn key(&self) -> EventKey {
        EventKey {
            kind: self.kind,
            chat_id: self.chat_id,
            message_id: self.message_id,
            edit_date: self.edit_date,
            edit_digest: self.edit_digest,
        }
    }

    /// The AMQP `message_id` (see [`EventKey::id`]).
    pub fn id(&self) -> String {
        self.key().id()
    }

    /// `message.<kind>.<chat_id>`.
    pub fn routing_key(&self) -> String {
        format!("message.{}.{}", self.kind.as_str(), self.chat_id)
    }
}

/// What an edit left of a message, as 64 bits of SHA-256: its text, entities, media (by
/// kind and id: file references differ between accounts) and buttons. Counters that change
/// without an edit (views, forwards, reactions, replies) are left out.
pub fn edit_digest(message: &tl::enums::Message) -> u64 {
    let tl::enums::Message::Message(m) = message else {
        return 0;
    };
    let mut hasher = Sha256::new();
    hasher.update(m.message.as_bytes());
    hasher.update([0]);
    for entity in m.entities.iter().flatten() {
        hasher.update(entity.to_bytes());
    }
    hasher.update([0]);
    if let Some(media) = &m.media {
        let (kind, id) = media_identity(media);
        hasher.update(kind.as_bytes());
        hasher.update(id.to_le_bytes());
    }
    hasher.update([0]);
    if let Some(markup) = &m.reply_markup {
        hasher.update(markup.to_bytes());
    }
    let digest = hasher.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(first)
}

/// A media's kind and, for photos and documents, its id: what stays the same for every
/// account that sees it.
fn media_identity(media: &tl::enums::MessageMedia) -> (&'static str, i64) {
    use tl::enums::MessageMedia as M;
    match media {
        M::Photo(p) => (
            "photo",
            match &p.photo {
                Some(tl::enums::Photo::Photo(photo)) => photo.id,
                _ => 0,
            },
        ),
        M::Document(d) => (
            "document",
            match &d.document {
                Some(tl::enums::Document::Document(document)) => document.id,
                _ => 0,
            },
        ),
        M::WebPage(_) => ("webpage", 0),
        M::Geo(_) | M::GeoLive(_) | M::Venue(_) => ("place", 0),
        M::Poll(_) => ("poll", 0),
        M::Contact(_) => ("contact", 0),
        M::Dice(_) => ("dice", 0),
        _ => ("other", 0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn channel_message(id: i32, edit_date: Option<i32>) -> tl::enums::Message {
        tl::enums::Message::Message(tl::types::Message {
            post: true,
            views: Some(1),
            edit_date,
            ..telesim::tl_blank::message(
                id,
                tl::enums::Peer::Channel(tl::types::PeerChannel {
                    channel_id: 100_001,
                }),
                1_700_000_000,
                "hello",
            )
        })
    }

    #[test]
    fn a_new_message_is_named_by_chat_message_and_kind() {
        let ctx = ParseContext::new(AccountId(1001));
        let event = Event::of_message(EventKind::New, &channel_message(7, None), &ctx).unwrap();
        assert_eq!(event.chat_id, -1_000_000_100_001);
        assert_eq!(event.id(), "-1000000100001:7:new:0");
        assert_eq!(event.routing_key(), "message.new.-1000000100001");
        let body: serde_json::Value = serde_json::from_slice(&event.body).unwrap();
        assert_eq!(body["id"], 7);
        assert_eq!(body["schema"], SCHEMA_VERSION);
    }

    #[test]
    fn each_edit_is_its_own_event_and_the_same_edit_is_the_same_event() {
        let ctx = ParseContext::new(AccountId(1001));
        let first =
            Event::of_message(EventKind::Edit, &channel_message(7, Some(10)), &ctx).unwrap();
        let again =
            Event::of_message(EventKind::Edit, &channel_message(7, Some(10)), &ctx).unwrap();
        let second =
            Event::of_message(EventKind::Edit, &channel_message(7, Some(11)), &ctx).unwrap();
        assert!(
            first.id().starts_with("-1000000100001:7:edit:10:"),
            "{}",
            first.id()
        );
        assert_eq!(first.id().rsplit(':').next().map(str::len), Some(16));
        assert_eq!(first.id(), again.id());
        assert_ne!(first.id(), second.id());
        assert_eq!(first.routing_key(), "message.edit.-1000000100001");
    }

    #[test]
    fn two_edits_in_one_second_are_two_events_and_counters_do_not_count() {
        let ctx = ParseContext::new(AccountId(1001));
        let edited = |text: &str, views: i32| {
            let tl::enums::Message::Message(mut m) = channel_message(7, Some(10)) else {
                unreachable!()
            };
            m.message = text.into();
            m.views = Some(views);
            tl::enums::Message::Message(m)
        };
        let first = Event::of_message(EventKind::Edit, &edited("one", 1), &ctx).unwrap();
        let second = Event::of_message(EventKind::Edit, &edited("two", 1), &ctx).unwrap();
        let seen_later = Event::of_message(EventKind::Edit, &edited("one", 500), &ctx).unwrap();
        assert_ne!(first.id(), second.id(), "same second, different content");
        assert_eq!(
            first.id(),
            seen_later.id(),
            "another account's copy with other view counts is the same event"
        );
    }

    #[test]
    fn a_deletion_names_its_chat_and_message() {
        let event = Event::deleted(-1_000_000_100_001, 9, AccountId(1001));
        assert_eq!(event.id(), "-1000000100001:9:delete:0");
        assert_eq!(event.routing_key(), "message.delete.-1000000100001");
        let body: serde_json::Value = serde_json::from_slice(&event.body).unwrap();
        assert_eq!(body["event"], "delete");
        assert_eq!(body["id"], 9);
        assert_eq!(body["chat_id"], -1_000_000_100_001i64);
    }

    #[test]
    fn an_empty_message_without_a_peer_is_no_event() {
        let empty = tl::enums::Message::Empty(tl::types::MessageEmpty {
            id: 3,
            peer_id: None,
        });
        assert!(
            Event::of_message(EventKind::New, &empty, &ParseContext::new(AccountId(1))).is_none()
        );
    }
}
