//! The world model: the demo world, building in code, JSON loading and its refusals, generated
//! worlds that compute their messages, deterministic media bytes and auth keys.

use sha1::{Digest, Sha1};
use telesim::world::demo::{ALICE, NEWS};
use telesim::world::{
    Chat, ChatKind, Media, MediaKind, Message, User, World, WorldError, auth_key_for, auth_key_id,
    generated, media_bytes,
};

#[test]
fn the_demo_world_is_valid_and_covers_every_media_kind() {
    let world = World::demo();
    world.validate().unwrap();
    let kinds: std::collections::BTreeSet<String> = world
        .chats
        .values()
        .flat_map(|c| c.messages.iter())
        .filter_map(|m| m.media.as_ref())
        .map(|m| format!("{:?}", m.kind))
        .collect();
    for kind in ["Photo", "Video", "Audio", "Voice", "Sticker", "File"] {
        assert!(kinds.contains(kind), "demo lacks {kind}");
    }
    let kinds: Vec<ChatKind> = world.chats.values().map(|c| c.kind).collect();
    assert!(
        kinds.contains(&ChatKind::Channel)
            && kinds.contains(&ChatKind::Megagroup)
            && kinds.contains(&ChatKind::Group)
    );
    assert!(
        world
            .chats
            .values()
            .any(|c| c.kind == ChatKind::Channel && c.is_private())
    );
    assert!(
        world
            .accounts
            .iter()
            .any(|a| !a.logged_in && a.password.is_some())
    );
}

#[test]
fn json_round_trip_keeps_the_world() {
    let world = World::demo();
    let again = World::from_json(&world.to_json()).unwrap();
    assert_eq!(again, world);
}

#[test]
fn a_world_file_is_loaded_with_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("world.json");
    let json = r#"{
        "seed": 5,
        "accounts": [{"user_id": 1, "phone": "+100"}],
        "users": {"1": {"id": 1, "first_name": "One"}},
        "chats": {"10": {"id": 10, "kind": "channel", "title": "Ten", "username": "tenten",
                  "members": [1], "messages": [{"id": 1, "date": 5, "text": "hi",
                  "media": {"id": 3, "kind": "video", "size": 4096}}]}}
    }"#;
    std::fs::write(&path, json).unwrap();
    let world = World::load(&path).unwrap();
    assert!(
        world.accounts[0].logged_in,
        "accounts are logged in unless said otherwise"
    );
    assert_eq!(world.accounts[0].password, None);
    assert_eq!(
        world.chats[&10].messages[0].media.as_ref().unwrap().mime(),
        "video/mp4"
    );
    assert_eq!(world.account_infos()[0].auth_key, auth_key_for(5, 1));
}

#[test]
fn inconsistent_or_malformed_world_files_are_refused_with_the_reason() {
    let dangling = r#"{"seed": 1, "accounts": [], "users": {},
        "chats": {"10": {"id": 10, "kind": "channel", "title": "T", "members": [42]}}}"#;
    match World::from_json(dangling) {
        Err(WorldError::Invalid(why)) => assert!(why.contains("member 42"), "{why}"),
        other => panic!("expected Invalid, got {other:?}"),
    }
    let unordered = r#"{"seed": 1, "accounts": [], "users": {},
        "chats": {"10": {"id": 10, "kind": "group", "title": "T",
        "messages": [{"id": 2, "date": 1}, {"id": 1, "date": 1}]}}}"#;
    assert!(
        matches!(World::from_json(unordered), Err(WorldError::Invalid(why)) if why.contains("ascending"))
    );
    assert!(matches!(
        World::from_json("{not json"),
        Err(WorldError::Json(_))
    ));
    assert!(matches!(
        World::load(std::path::Path::new("/nonexistent/world.json")),
        Err(WorldError::Io(..))
    ));
}

#[test]
fn the_builder_refuses_duplicate_usernames() {
    let built = World::builder(1)
        .account(User::new(1, "A").with_username("same_name"), "+1")
        .chat(Chat {
            username: Some("Same_Name".into()),
            ..Chat::new(5, ChatKind::Channel, "C")
        })
        .build();
    assert!(matches!(built, Err(WorldError::Invalid(why)) if why.contains("taken twice")));
}

#[test]
fn a_generated_world_holds_no_messages_yet_computes_them_deterministically() {
    let world = World::generated(100, 100_000, 42);
    assert_eq!(world.chats.len(), 100);
    assert!(
        world.chats.values().all(|c| c.messages.is_empty()),
        "messages are computed, not stored"
    );
    // The whole 10-million-message world serializes to a few tens of kilobytes.
    assert!(world.to_json().len() < 100_000);
    let chat = &world.chats[&generated::FIRST_CHANNEL_ID];
    let m = generated::message(chat, 99_999).unwrap();
    assert_eq!(Some(m.clone()), generated::message(chat, 99_999));
    assert!(m.text.starts_with("Post 99999: "));
    assert!(generated::message(chat, 100_001).is_none());
    assert!(generated::message(chat, 0).is_none());
    let again = World::generated(100, 100_000, 42);
    assert_eq!(
        generated::message(&again.chats[&generated::FIRST_CHANNEL_ID], 77_777),
        generated::message(chat, 77_777)
    );
    let other_seed = World::generated(1, 100, 43);
    assert_ne!(
        generated::message(&other_seed.chats[&generated::FIRST_CHANNEL_ID], 50).map(|m| m.text),
        generated::message(
            &World::generated(1, 100, 42).chats[&generated::FIRST_CHANNEL_ID],
            50
        )
        .map(|m| m.text)
    );
}

#[test]
fn generated_media_ids_lead_back_to_their_message() {
    let world = World::generated(2, 1000, 9);
    let chat = &world.chats[&(generated::FIRST_CHANNEL_ID + 1)];
    let media = generated::message(chat, 20).unwrap().media.unwrap();
    assert_eq!(media.kind, MediaKind::Photo);
    assert_eq!(generated::media_origin(media.id), Some((chat.id, 20)));
    let video = generated::message(chat, 25).unwrap().media.unwrap();
    assert_eq!(video.kind, MediaKind::Video);
    assert!(video.size > 1024 * 1024);
    assert_eq!(generated::media_origin(9_001), None);
}

#[test]
fn media_bytes_are_deterministic_and_seekable() {
    let whole = media_bytes(7, 1234, "", 0, 10_000);
    assert_eq!(whole, media_bytes(7, 1234, "", 0, 10_000));
    assert_eq!(
        &whole[4_093..6_001],
        media_bytes(7, 1234, "", 4_093, 1_908).as_slice()
    );
    assert_ne!(whole, media_bytes(7, 1235, "", 0, 10_000));
    assert_ne!(whole, media_bytes(8, 1234, "", 0, 10_000));
    assert_ne!(
        media_bytes(7, 1234, "x", 0, 64),
        media_bytes(7, 1234, "m", 0, 64)
    );
    // Not a constant stream: every byte value shows up.
    let distinct: std::collections::HashSet<u8> = whole.iter().copied().collect();
    assert_eq!(distinct.len(), 256);
}

#[test]
fn photo_sizes_grow_to_the_media_size() {
    let photo = Media::photo(1, 300_000);
    let sizes = telesim::world::photo_sizes(&photo);
    assert_eq!(
        sizes.iter().map(|s| s.kind).collect::<Vec<_>>(),
        vec!["s", "m", "x", "y"]
    );
    assert_eq!(sizes.last().unwrap().size, 300_000);
    assert!(sizes.windows(2).all(|w| w[0].size < w[1].size));
    assert_eq!(photo.file_size("y"), Some(300_000));
    assert_eq!(photo.file_size(""), None);
    assert_eq!(
        Media::document(2, MediaKind::File, 10).file_size(""),
        Some(10)
    );
}

#[test]
fn auth_keys_are_derived_and_identified_like_mtproto() {
    let world = World::demo();
    let alice = world
        .account_infos()
        .into_iter()
        .find(|a| a.user_id == ALICE)
        .unwrap();
    assert_eq!(alice.auth_key, auth_key_for(world.seed, ALICE));
    let digest = Sha1::digest(alice.auth_key);
    assert_eq!(
        alice.auth_key_id,
        i64::from_le_bytes(digest[12..20].try_into().unwrap())
    );
    assert_eq!(auth_key_id(&alice.auth_key), alice.auth_key_id);
    assert_ne!(
        auth_key_for(world.seed, ALICE),
        auth_key_for(world.seed, ALICE + 1)
    );
}

#[test]
fn messages_of_a_built_world_keep_their_fields() {
    let mut chat = Chat::new(NEWS, ChatKind::Channel, "N");
    chat.messages =
        vec![Message::text(1, 100, "x").with_media(Media::document(5, MediaKind::Voice, 100))];
    let world = World::builder(3)
        .account(User::new(1, "A"), "+1")
        .chat(chat)
        .build()
        .unwrap();
    let m = &world.chats[&NEWS].messages[0];
    assert_eq!(m.media.as_ref().unwrap().mime(), "audio/ogg");
}
