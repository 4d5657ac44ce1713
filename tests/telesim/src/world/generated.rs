//! Worlds generated at scale, whose messages are computed, never stored.
//!
//! Message `id` of a generated chat is a pure function of `(chat, id, seed)`: text, entities,
//! replies, forwards, edits, albums and media all follow fixed patterns over the id, mixed by a
//! hash, so paging through 100,000 messages allocates one page at a time. Media ids of generated
//! messages encode their `(chat, id)` (see [`media_id`]) so `upload.getFile` can find the media
//! again without an index.

use super::media::splitmix64;
use super::{
    Account, Action, Chat, ChatKind, Entity, EntityKind, Forward, GeneratedHistory, Media,
    MediaKind, Message, User, World, default_epoch,
};
use std::collections::BTreeMap;

/// Generated message ids stay below this (they are packed into media ids).
pub const MAX_GENERATED_ID: i32 = 1 << 24;
/// Media ids with this bit are generated: `tag | chat_id << 24 | message_id`.
pub const GENERATED_MEDIA_TAG: i64 = 1 << 62;
/// Seconds between two generated messages.
pub const MESSAGE_INTERVAL: i32 = 60;
/// The id of the first generated channel; channel `i` is `FIRST_CHANNEL_ID + i`.
pub const FIRST_CHANNEL_ID: i64 = 2_000_000_000;
/// The accounts of a generated world.
pub const ACCOUNT_IDS: [i64; 3] = [7001, 7002, 7003];

const WORDS: [&str; 16] = [
    "market", "weather", "update", "report", "launch", "river", "signal", "garden", "orbit",
    "harbor", "ticket", "forest", "engine", "summit", "canvas", "lantern",
];

pub(crate) fn world(channels: usize, messages_per_channel: i32, seed: u64) -> World {
    let count = messages_per_channel.clamp(0, MAX_GENERATED_ID - 1);
    let epoch = default_epoch();
    let mut users = BTreeMap::new();
    let mut accounts = Vec::new();
    for (i, id) in ACCOUNT_IDS.into_iter().enumerate() {
        let phone = format!("+1555000{:04}", i + 1);
        users.insert(
            id,
            User {
                phone: Some(phone.clone()),
                username: Some(format!("gen_account_{}", i + 1)),
                ..User::new(id, &format!("Account {}", i + 1))
            },
        );
        accounts.push(Account {
            user_id: id,
            phone,
            password: None,
            logged_in: true,
            auth_key_hex: None,
        });
    }
    let mut chats = BTreeMap::new();
    for i in 0..channels {
        let id = FIRST_CHANNEL_ID + i as i64;
        let mut members = vec![ACCOUNT_IDS[0]];
        if i % 2 == 0 {
            members.push(ACCOUNT_IDS[1]);
        }
        let recommendations = (1..=3)
            .map(|k| FIRST_CHANNEL_ID + ((i + k) % channels) as i64)
            .filter(|&r| r != id)
            .collect();
        let mut chat = Chat::new(id, ChatKind::Channel, format!("Generated channel {i}"));
        chat.username = Some(format!("gen_channel_{i}"));
        chat.about = format!("Channel {i} of a generated world");
        chat.participants_count = Some(1000 + i as i32);
        chat.members = members;
        chat.recommendations = recommendations;
        chat.date = epoch - count * MESSAGE_INTERVAL - 3600;
        chat.generated = Some(GeneratedHistory { count, seed });
        chats.insert(id, chat);
    }
    World {
        seed,
        accounts,
        users,
        chats,
        epoch,
    }
}

/// The media id of generated message `(chat_id, message_id)`.
pub fn media_id(chat_id: i64, message_id: i32) -> i64 {
    GENERATED_MEDIA_TAG | (chat_id << 24) | message_id as i64
}

/// The `(chat_id, message_id)` a generated media id was made from.
pub fn media_origin(media_id: i64) -> Option<(i64, i32)> {
    if media_id & GENERATED_MEDIA_TAG == 0 || media_id < 0 {
        return None;
    }
    let rest = media_id & !GENERATED_MEDIA_TAG;
    Some((rest >> 24, (rest & ((1 << 24) - 1)) as i32))
}

/// Generated message `id` of `chat` (1 ≤ id ≤ count), or None out of range.
pub fn message(chat: &Chat, id: i32) -> Option<Message> {
    let generated = chat.generated?;
    if id < 1 || id > generated.count {
        return None;
    }
    let h = splitmix64(generated.seed ^ splitmix64(chat.id as u64) ^ (id as u64) << 1);
    let date = chat.date + 3600 + (id - 1) * MESSAGE_INTERVAL;
    if id == 1 {
        return Some(Message::service(
            id,
            date,
            Action::ChannelCreate {
                title: chat.title.clone(),
            },
        ));
    }
    let words: Vec<&str> = (0..4)
        .map(|k| WORDS[((h >> (k * 4)) & 15) as usize])
        .collect();
    let text = format!(
        "Post {id}: {} {} {} {}",
        words[0], words[1], words[2], words[3]
    );
    let mut message = Message::text(id, date, text);
    message.views = Some((h % 10_000) as i32 + id);
    message.forwards = Some(((h >> 20) % 50) as i32);
    if id % 7 == 0 {
        // "Post" is the first word: 4 UTF-16 code units.
        message.entities.push(Entity {
            kind: EntityKind::Bold,
            offset: 0,
            length: 4,
        });
    }
    if id % 10 == 3 {
        message.reply_to = Some(id - 1);
    }
    if id % 13 == 0 {
        message.fwd_from = Some(Forward {
            from_user: None,
            from_channel: Some(chat.id),
            from_name: None,
            date: date - 86_400,
            channel_post: Some(id / 2),
        });
    }
    if id % 17 == 0 {
        message.edit_date = Some(date + 120);
    }
    let album = matches!(id % 100, 60..=62);
    if id % 20 == 0 || album {
        message.media = Some(Media::photo(
            media_id(chat.id, id),
            40_000 + (h >> 8) % 200_000,
        ));
        if album {
            message.grouped_id = Some(chat.id * 1_000_000 + (id / 100) as i64);
        }
    } else if id % 50 == 25 {
        let kinds = [
            MediaKind::Video,
            MediaKind::Audio,
            MediaKind::Voice,
            MediaKind::Sticker,
            MediaKind::File,
        ];
        let kind = kinds[((id / 50) as usize) % kinds.len()];
        let size = match kind {
            MediaKind::Video => 1_500_000 + (h >> 16) % 2_000_000,
            MediaKind::Audio => 800_000 + (h >> 16) % 1_000_000,
            _ => 20_000 + (h >> 16) % 100_000,
        };
        message.media = Some(Media::document(media_id(chat.id, id), kind, size));
    }
    Some(message)
}
