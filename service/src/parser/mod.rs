//! Raw Telegram messages into the stable, versioned JSON of `schema/message.v1.json`.
//!
//! The HTTP API and the RabbitMQ stream hand out the same objects, so consumers learn one
//! shape, written down as a JSON Schema in the repository and checked by the tests against
//! what this module produces from real (simulated) Telegram traffic.
//!
//! Shape of the module: a [`ParseContext`] carries what a message alone does not say (the
//! users and chats that came with it, to name the chat and the sender; the account that
//! fetched it; and a [`MediaHook`] that gives each media its storage reference). The message
//! is assembled in `message`, from one file per part: peers (`peer`), dates (`date`), text
//! entities (`entity`), media (`media`), service actions (`action`).
//!
//! The parser is total: it returns JSON for every message it is given and never panics. TL
//! constructors it does not map field by field (new media kinds, new service actions, new
//! entity types) still get a defined form that names them, so a new Telegram layer degrades
//! to less detail, never to an error.

mod action;
mod context;
mod date;
mod entity;
mod media;
mod message;
mod peer;
mod peer_summary;
mod storage_ref;

pub use context::ParseContext;
pub use entity::Entity;
pub use media::Media;
pub use message::{
    EmptyMessage, Forward, MessageFields, ParsedMessage, Reaction, ReplyTo, message_of,
    messages_of, parse_message, parse_messages,
};
pub use peer::Peer;
pub use peer::{channel_peer_id, chat_peer_id, marked_id, parse_chat, parse_user, peer_id};
pub use storage_ref::{MediaFile, MediaHook, MediaRefs, StorageRef, StorageStatus, storage_key};

/// The version of the message schema, written into every message as `"schema"`. It changes
/// only when a field changes meaning or disappears; new fields do not bump it.
pub const SCHEMA_VERSION: u32 = 1;

/// The JSON Schema (draft 2020-12) that every parsed message satisfies, as shipped in
/// `schema/message.v1.json`, for serving it or validating against it.
pub const MESSAGE_SCHEMA_V1: &str = include_str!("../../../schema/message.v1.json");
