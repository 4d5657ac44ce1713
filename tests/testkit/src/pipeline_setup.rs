//! What the media pipeline tests and bench share: a telesim world of five accounts in ten channels
//! whose 200 messages carry media of mixed sizes (a few bytes to 50 MB), the accounts'
//! session files and a pool over them, a pipeline over a given storage, and the expected
//! bytes of every media, recomputed from telesim's deterministic media streams.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use sha2::{Digest, Sha256};
use telesim::world::{
    Chat, ChatKind, Media, MediaKind, Message, User, World, media_bytes, photo_sizes,
};
use tgc_model::media::TaskState;
use tgc_model::teleclient::{AccountId, ChatRef, PeerId, TeleClients, tl};
use tgc_service::mediaprocessor::{MediaConfig, MediaProcessor, Storage};
use tgc_service::parser::{ParseContext, messages_of, parse_message, storage_key};
use tokio_util::sync::CancellationToken;

use crate::guard::guarded;
pub use crate::setup::Setup;

/// The five accounts.
pub const ACCOUNTS: [i64; 5] = [7101, 7102, 7103, 7104, 7105];
/// Ten channels; channel `i` has accounts `i % 5` and `(i + 1) % 5` as members.
pub const CHANNELS: std::ops::Range<i64> = 810_000..810_010;
/// Messages with media per channel.
pub const PER_CHANNEL: i32 = 20;

/// The media id of message `m` (1-based) of channel index `c`.
pub fn media_id(c: usize, m: i32) -> i64 {
    9_000_000 + (c as i64) * 100 + m as i64
}

/// The size of the `n`th media (0..200): two of 50 MB, eighteen from 1 to 10 MB, the rest
/// from 3 bytes to 1 MB, spread geometrically so every range of chunk counts is met.
pub fn media_size(n: usize) -> u64 {
    match n {
        0 => 50_000_000,
        1 => 49_999_999,
        2..20 => 1_000_000 + (n as u64 - 2) * 530_000,
        _ => {
            let t = (n - 20) as f64 / 179.0;
            (3.0 * (1_000_000.0f64 / 3.0).powf(t)).round() as u64
        }
    }
}

fn media_of(n: usize, id: i64) -> Media {
    let size = media_size(n);
    match n % 6 {
        0 => Media::photo(id, size),
        1 => Media::document(id, MediaKind::Video, size),
        2 => Media::document(id, MediaKind::Audio, size),
        3 => Media::document(id, MediaKind::Voice, size),
        4 => Media::document(id, MediaKind::Sticker, size),
        _ => Media::document(id, MediaKind::File, size),
    }
}

pub fn members(c: usize) -> [i64; 2] {
    [ACCOUNTS[c % 5], ACCOUNTS[(c + 1) % 5]]
}

pub fn channel_name(c: usize) -> String {
    format!("media_channel_{c}")
}

/// The world: 200 media messages in ten channels, two accounts in each.
pub fn world() -> World {
    let mut builder = World::builder(606);
    for (i, id) in ACCOUNTS.iter().enumerate() {
        builder = builder.account(
            User::new(*id, &format!("Media{i}")),
            &format!("+1555300000{i}"),
        );
    }
    let mut n = 0;
    for (c, id) in CHANNELS.enumerate() {
        let mut chat = Chat::new(id, ChatKind::Channel, format!("Media {c}"));
        chat.username = Some(channel_name(c));
        chat.members = members(c).to_vec();
        for m in 1..=PER_CHANNEL {
            chat.messages.push(
                Message::text(m, 1_600_000_000 + m, format!("media {m}"))
                    .with_media(media_of(n, media_id(c, m))),
            );
            n += 1;
        }
        builder = builder.chat(chat);
    }
    builder.build().expect("a consistent world")
}

/// [`expected`] for the media of channel index `c` only.
pub fn expected_of_channel(c: usize) -> BTreeMap<i64, (u64, [u8; 32])> {
    let ids = media_id(c, 1)..=media_id(c, PER_CHANNEL);
    expected()
        .into_iter()
        .filter(|(id, _)| ids.contains(id))
        .collect()
}

/// Every media of the world: id → (size, SHA-256 of its bytes).
pub fn expected() -> BTreeMap<i64, (u64, [u8; 32])> {
    let world = world();
    let mut out = BTreeMap::new();
    for chat in world.chats.values() {
        for message in &chat.messages {
            let Some(media) = &message.media else {
                continue;
            };
            let thumb = if media.kind == MediaKind::Photo {
                photo_sizes(media).last().map(|s| s.kind).unwrap_or("")
            } else {
                ""
            };
            let bytes = media_bytes(world.seed, media.id, thumb, 0, media.size as usize);
            out.insert(media.id, (media.size, Sha256::digest(&bytes).into()));
        }
    }
    out
}

/// The five accounts and their ten channels, on the common [`Setup`] (reconnecting within
/// 2 s).
pub async fn start() -> Setup {
    Setup::start("pipeline", world())
        .await
        .reconnecting_within(Duration::from_secs(2))
}

/// The pipeline's configuration for the tests: production's, with a global download budget
/// of 8.
pub fn config(setup: &Setup) -> MediaConfig {
    MediaConfig {
        downloads_total: 8,
        ..MediaConfig::defaults(setup.data())
    }
}

/// Fetches the history of channel `c` through `account` and parses it with the pipeline's
/// hook, as the `history` method does: every media becomes a task of that account.
pub async fn read_channel(pool: &TeleClients, processor: &MediaProcessor, c: usize, account: i64) {
    // As the gateway does: the pool's directory learns the channel's username and id, so
    // any account can find the chat later (a takeover does).
    guarded(
        "pool resolve",
        pool.resolve(&ChatRef::Username(channel_name(c))),
    )
    .await
    .expect("the pool resolves the channel");
    let answer = history_via(pool, account, &channel_name(c), CHANNELS.start + c as i64).await;
    let cx =
        ParseContext::from_messages(&answer, AccountId(account)).with_media_hook(processor.hook());
    let messages = messages_of(&answer);
    assert_eq!(messages.len(), PER_CHANNEL as usize);
    for message in messages {
        let json = parse_message(message, &cx);
        let storage = &json["media"]["storage"];
        assert_eq!(
            storage["key"],
            storage_key(json["media"]["id"].as_i64().expect("a media id")),
            "{json}"
        );
        assert!(
            ["pending", "stored"].contains(&storage["status"].as_str().unwrap_or("")),
            "{json}"
        );
    }
}

/// The first 100 messages of `channel` (a bare channel id, public as `username`) as
/// `account` reads them: the account resolves the name itself, so the file references in
/// the answer are its own.
pub async fn history_via(
    pool: &TeleClients,
    account: i64,
    username: &str,
    channel: i64,
) -> tl::enums::messages::Messages {
    let client = pool
        .account(AccountId(account))
        .expect("the account is in the pool");
    guarded("resolve", client.client().resolve_username(username))
        .await
        .expect("resolving the channel")
        .expect("the channel exists");
    let peer = client
        .peer_ref(PeerId::channel_unchecked(channel))
        .expect("the account holds the channel after resolving it");
    guarded(
        "history",
        client
            .client()
            .invoke(&tl::functions::messages::GetHistory {
                peer: peer.into(),
                offset_id: 0,
                offset_date: 0,
                add_offset: 0,
                limit: 100,
                max_id: 0,
                min_id: 0,
                hash: 0,
            }),
    )
    .await
    .expect("history")
}

/// Starts the pipeline over `storage`, configured by [`config`].
pub fn start_pipeline(
    setup: &Setup,
    pool: &Arc<TeleClients>,
    storage: Storage,
    cancel: &CancellationToken,
) -> MediaProcessor {
    setup.pipeline(config(setup), pool, storage, cancel)
}

/// Waits until the task table holds `count` stored tasks.
pub async fn until_stored(processor: &MediaProcessor, count: u64) {
    let mut stored = processor.watch_stored();
    guarded("every media stored", async {
        loop {
            let counts = processor.counts();
            let done = counts
                .iter()
                .find(|(state, _)| *state == TaskState::Stored)
                .map_or(0, |(_, n)| *n);
            let failed = counts
                .iter()
                .find(|(state, _)| *state == TaskState::Failed)
                .map_or(0, |(_, n)| *n);
            assert_eq!(failed, 0, "tasks failed: {:?}", processor.stats());
            if done >= count {
                return;
            }
            if stored.changed().await.is_err() {
                panic!("the pipeline stopped");
            }
        }
    })
    .await;
}

/// Checks that storage holds exactly the expected objects, byte-exact.
pub async fn assert_stored_exactly(storage: &Storage, expected: &BTreeMap<i64, (u64, [u8; 32])>) {
    let listed = storage.list().await.expect("listing storage");
    let keys: BTreeMap<String, u64> = listed.into_iter().collect();
    let want: BTreeMap<String, u64> = expected
        .iter()
        .map(|(id, (size, _))| (storage_key(*id), *size))
        .collect();
    assert_eq!(keys.len(), want.len(), "one object per media, no more");
    assert_eq!(keys, want, "every media under its key with its size");
    for (id, (_, sha)) in expected {
        let bytes = storage.get(&storage_key(*id)).await.expect("reading back");
        let got: [u8; 32] = Sha256::digest(&bytes).into();
        assert_eq!(&got, sha, "media {id} is byte-exact");
    }
}
