//! The parser on real traffic: messages of the demo world (and a few additions below) fetched
//! from telesim through grammers, parsed, checked against `schema/message.v1.json`, and
//! checked field by field against the world they came from.

use crate::parser_support::{
    Connected, assert_valid, by_id, connect, guarded, history, input_peer, schema_validator,
    utf16_span,
};
use serde_json::{Value, json};
use telesim::Sim;
use telesim::world::demo::{
    ALICE, BOB, DAVE, EVE, FRIENDS, NEWS, NEWS_CHAT, SECRET_LAB, TECH_DIGEST,
};
use telesim::world::{Action, Chat, ChatKind, Entity, EntityKind, Forward, Message, World};
use tgc_model::teleclient::{AccountId, tl};
use tgc_service::parser::{ParseContext, parse_message, parse_messages, storage_key};

/// A public channel added to the demo world: one message with every entity type telesim
/// produces (after an emoji, so UTF-16 offsets differ from char offsets), and a forward from
/// a user.
const LAB: i64 = 100_010;

/// Every entity of [`formatted_entities`] covers one part of this text.
const FORMATTED: &str = "🙂 Bold, italic, underlined, struck, code, fn main() {}, \
    https://example.org, the docs, @alice, #rust, bob@example.com";

fn formatted_entities() -> Vec<(EntityKind, &'static str)> {
    vec![
        (EntityKind::Bold, "Bold"),
        (EntityKind::Italic, "italic"),
        (EntityKind::Underline, "underlined"),
        (EntityKind::Strike, "struck"),
        (EntityKind::Code, "code"),
        (
            EntityKind::Pre {
                language: "rust".into(),
            },
            "fn main() {}",
        ),
        (EntityKind::Url, "https://example.org"),
        (
            EntityKind::TextUrl {
                url: "https://docs.example.org/".into(),
            },
            "the docs",
        ),
        (EntityKind::Mention, "@alice"),
        (EntityKind::Hashtag, "#rust"),
        (EntityKind::Email, "bob@example.com"),
    ]
}

/// The demo world, plus [`LAB`] and the small group's membership and title changes.
fn test_world() -> World {
    let mut world = World::demo();
    let epoch = world.epoch;

    let mut lab = Chat::new(LAB, ChatKind::Channel, "Formatting Lab");
    lab.username = Some("formatting_lab".into());
    lab.members = vec![ALICE];
    lab.date = epoch - 86_400;
    let entities = formatted_entities()
        .into_iter()
        .map(|(kind, covered)| {
            let (offset, length) = utf16_span(FORMATTED, covered);
            Entity {
                kind,
                offset,
                length,
            }
        })
        .collect();
    lab.messages = vec![
        Message::text(1, epoch - 3_600, FORMATTED).with_entities(entities),
        Message {
            fwd_from: Some(Forward {
                from_user: Some(EVE),
                from_channel: None,
                from_name: None,
                date: epoch - 7_200,
                channel_post: None,
            }),
            ..Message::text(2, epoch - 1_800, "Eve said it first")
        },
    ];
    world.chats.insert(LAB, lab);

    let friends = world.chats.get_mut(&FRIENDS).expect("the demo has Friends");
    let last = friends.messages.last().map_or(epoch, |m| m.date);
    friends.messages.extend([
        Message::service(
            5,
            last + 60,
            Action::ChatEditTitle {
                title: "Best Friends".into(),
            },
        )
        .with_from(BOB),
        Message::service(6, last + 120, Action::ChatAddUser { users: vec![DAVE] }).with_from(ALICE),
        Message::service(7, last + 180, Action::ChatDeleteUser { user_id: DAVE }).with_from(DAVE),
    ]);

    world.validate().expect("the test world is consistent");
    world
}

/// A simulator of [`test_world`] with Alice connected.
struct Fixture {
    world: World,
    sim: Sim,
    alice: Connected,
}

impl Fixture {
    async fn start() -> Fixture {
        let world = test_world();
        let sim = Sim::start(world.clone()).await.expect("telesim starts");
        let alice = connect(&sim, ALICE);
        Fixture { world, sim, alice }
    }

    fn input_peer(&self, chat_id: i64) -> tl::enums::InputPeer {
        let chat = &self.world.chats[&chat_id];
        input_peer(self.world.seed, ALICE, chat_id, chat.is_channel())
    }

    /// Every message of a chat as Alice reads it, parsed, newest first.
    async fn parsed(&self, chat_id: i64) -> Vec<Value> {
        let raw = history(&self.alice, self.input_peer(chat_id), 100).await;
        parse_messages(&raw, AccountId(ALICE))
    }

    async fn shutdown(self) {
        drop(self.alice);
        self.sim.shutdown().await;
    }
}

#[tokio::test]
async fn every_message_of_every_readable_chat_matches_the_schema() {
    let fixture = Fixture::start().await;
    let validator = schema_validator();
    let chats = [NEWS, NEWS_CHAT, SECRET_LAB, TECH_DIGEST, FRIENDS, LAB];
    let mut parsed_count = 0;
    for chat_id in chats {
        let parsed = fixture.parsed(chat_id).await;
        let mut ids: Vec<i64> = parsed.iter().filter_map(|m| m["id"].as_i64()).collect();
        ids.sort_unstable();
        let expected: Vec<i64> = fixture.world.chats[&chat_id]
            .messages
            .iter()
            .map(|m| i64::from(m.id))
            .collect();
        assert_eq!(ids, expected, "chat {chat_id}: every message, once");
        for message in &parsed {
            assert_valid(&validator, message);
            assert_eq!(message["schema"], 1);
            assert_eq!(message["account_id"], ALICE);
            assert_eq!(message["chat"]["bare_id"], chat_id);
        }
        parsed_count += parsed.len();
    }
    assert_eq!(parsed_count, 17 + 4 + 3 + 25 + 7 + 2);
    fixture.shutdown().await;
}

#[tokio::test]
async fn chats_carry_marked_ids_types_titles_and_usernames() {
    let fixture = Fixture::start().await;
    let chat_of = |parsed: &[Value]| parsed[0]["chat"].clone();
    assert_eq!(
        chat_of(&fixture.parsed(NEWS).await),
        json!({"id": -1_000_000_100_001_i64, "bare_id": NEWS, "type": "channel",
               "name": "Telesim News", "username": "telesim_news"})
    );
    assert_eq!(
        chat_of(&fixture.parsed(NEWS_CHAT).await),
        json!({"id": -1_000_000_100_002_i64, "bare_id": NEWS_CHAT, "type": "megagroup",
               "name": "Telesim News Chat", "username": "telesim_chat"})
    );
    assert_eq!(
        chat_of(&fixture.parsed(FRIENDS).await),
        json!({"id": -FRIENDS, "bare_id": FRIENDS, "type": "group",
               "name": "Friends", "username": null})
    );
    assert_eq!(
        chat_of(&fixture.parsed(SECRET_LAB).await)["username"],
        Value::Null,
        "a private channel has no username"
    );
    fixture.shutdown().await;
}

#[tokio::test]
async fn every_media_kind_telesim_produces_is_described_with_its_file_fields() {
    let fixture = Fixture::start().await;
    let news = fixture.parsed(NEWS).await;
    let friends = fixture.parsed(FRIENDS).await;
    let lab = fixture.parsed(SECRET_LAB).await;
    let storage = |id: i64| json!({"key": storage_key(id), "status": "pending"});
    let media = |kind: &str, id: i64, size: i64, mime: &str| {
        json!({
            "kind": kind, "id": id, "size": size, "mime_type": mime, "file_name": null,
            "width": null, "height": null, "duration": null, "title": null,
            "performer": null, "emoji": null, "spoiler": false, "storage": storage(id),
        })
    };

    let mut photo = media("photo", 9_101, 180_000, "image/jpeg");
    photo["width"] = json!(1280);
    photo["height"] = json!(960);
    assert_eq!(by_id(&friends, 4)["media"], photo);

    let mut video = media("video", 9_301, 2_600_000, "video/mp4");
    video["file_name"] = json!("video_9301.mp4");
    video["width"] = json!(1280);
    video["height"] = json!(720);
    video["duration"] = json!(12.5);
    assert_eq!(by_id(&news, 11)["media"], video);
    assert_eq!(by_id(&news, 11)["text"], "Launch video", "the caption");

    let mut audio = media("audio", 9_302, 1_100_000, "audio/mpeg");
    audio["file_name"] = json!("track_9302.mp3");
    audio["duration"] = json!(185.0);
    audio["title"] = json!("Track 9302");
    audio["performer"] = json!("The Simulators");
    assert_eq!(by_id(&news, 12)["media"], audio);

    let mut voice = media("voice", 9_303, 48_000, "audio/ogg");
    voice["duration"] = json!(7.0);
    assert_eq!(by_id(&news, 13)["media"], voice);

    let mut sticker = media("sticker", 9_304, 24_000, "image/webp");
    sticker["width"] = json!(512);
    sticker["height"] = json!(512);
    sticker["emoji"] = json!("🙂");
    assert_eq!(by_id(&news, 14)["media"], sticker);

    let mut document = media("document", 9_305, 700_000, "application/pdf");
    document["file_name"] = json!("report_9305.pdf");
    assert_eq!(by_id(&news, 15)["media"], document);

    let mut blueprints = media("document", 9_001, 1_300_000, "application/pdf");
    blueprints["file_name"] = json!("report_9001.pdf");
    assert_eq!(by_id(&lab, 3)["media"], blueprints);

    assert_eq!(
        by_id(&news, 3)["media"],
        Value::Null,
        "a text message has none"
    );
    fixture.shutdown().await;
}

#[tokio::test]
async fn service_messages_carry_their_action_and_nothing_else() {
    let fixture = Fixture::start().await;
    let news = fixture.parsed(NEWS).await;
    let friends = fixture.parsed(FRIENDS).await;

    let created = by_id(&news, 1);
    assert_eq!(created["type"], "service");
    assert_eq!(
        created["action"],
        json!({"type": "channel_create", "title": "Telesim News"})
    );
    assert_eq!(created["text"], "");
    assert_eq!(created["media"], Value::Null);
    assert_eq!(by_id(&news, 16)["action"], json!({"type": "pin_message"}));

    assert_eq!(
        by_id(&friends, 1)["action"],
        json!({"type": "chat_create", "title": "Friends", "users": [ALICE, BOB, EVE]})
    );
    let renamed = by_id(&friends, 5);
    assert_eq!(
        renamed["action"],
        json!({"type": "chat_edit_title", "title": "Best Friends"})
    );
    assert_eq!(renamed["sender"]["name"], "Bob");
    assert_eq!(renamed["sender"]["username"], "bob_builder");
    assert_eq!(
        by_id(&friends, 6)["action"],
        json!({"type": "chat_add_user", "users": [DAVE]})
    );
    assert_eq!(
        by_id(&friends, 7)["action"],
        json!({"type": "chat_delete_user", "user_id": DAVE})
    );
    assert_eq!(
        by_id(&friends, 2)["action"],
        Value::Null,
        "a regular message"
    );
    fixture.shutdown().await;
}

#[tokio::test]
async fn forwards_name_their_origin() {
    let fixture = Fixture::start().await;
    let news = fixture.parsed(NEWS).await;
    let at = |i: i32| fixture.world.epoch - 30 * 86_400 + i * 3600;

    let from_channel = &by_id(&news, 5)["forward"];
    assert_eq!(
        from_channel["from"],
        json!({"id": -1_000_000_100_004_i64, "bare_id": TECH_DIGEST, "type": "channel",
               "name": "Tech Digest", "username": "tech_digest"})
    );
    assert_eq!(from_channel["channel_post"], 3);
    assert_eq!(from_channel["date"], at(1));
    assert_eq!(from_channel["from_name"], Value::Null);

    let hidden = &by_id(&news, 6)["forward"];
    assert_eq!(hidden["from"], Value::Null);
    assert_eq!(hidden["from_name"], "Anonymous Reader");
    assert_eq!(hidden["channel_post"], Value::Null);

    let lab = fixture.parsed(LAB).await;
    let from_user = &by_id(&lab, 2)["forward"]["from"];
    assert_eq!(
        *from_user,
        json!({"id": EVE, "bare_id": EVE, "type": "user", "name": "Eve", "username": "eve_sim"})
    );
    assert_eq!(by_id(&news, 3)["forward"], Value::Null);
    fixture.shutdown().await;
}

#[tokio::test]
async fn a_reply_points_at_its_message_and_the_sender_is_named() {
    let fixture = Fixture::start().await;
    let chat = fixture.parsed(NEWS_CHAT).await;
    let reply = by_id(&chat, 3);
    assert_eq!(
        reply["reply_to"],
        json!({"message_id": 2, "top_id": null, "chat": null, "quote_text": null,
               "forum_topic": false, "story_id": null})
    );
    assert_eq!(
        reply["sender"],
        json!({"id": ALICE, "bare_id": ALICE, "type": "user", "name": "Alice Liddell",
               "username": "alice"})
    );
    assert_eq!(reply["out"], true, "Alice fetched her own message");
    assert_eq!(by_id(&chat, 2)["out"], false);
    assert_eq!(by_id(&chat, 2)["reply_to"], Value::Null);

    let news = fixture.parsed(NEWS).await;
    assert_eq!(by_id(&news, 4)["reply_to"]["message_id"], 3);
    fixture.shutdown().await;
}

#[tokio::test]
async fn an_album_is_the_messages_sharing_one_grouped_id() {
    let fixture = Fixture::start().await;
    let news = fixture.parsed(NEWS).await;
    let album: Vec<&Value> = news
        .iter()
        .filter(|m| m["grouped_id"] == 777_000_111)
        .collect();
    let mut ids: Vec<i64> = album.iter().filter_map(|m| m["id"].as_i64()).collect();
    ids.sort_unstable();
    assert_eq!(ids, [8, 9, 10]);
    let photos: Vec<&Value> = album.iter().map(|m| &m["media"]["id"]).collect();
    assert!(
        photos
            .iter()
            .all(|id| [9_200, 9_201, 9_202].iter().any(|p| *id == p))
    );
    assert_eq!(
        by_id(&news, 8)["text"],
        "Launch album",
        "the caption is on the first"
    );
    assert_eq!(by_id(&news, 8)["media"]["size"], 150_000);
    assert_eq!(by_id(&news, 10)["media"]["size"], 170_000);
    assert_eq!(by_id(&news, 11)["grouped_id"], Value::Null);
    fixture.shutdown().await;
}

#[tokio::test]
async fn every_entity_type_telesim_produces_keeps_utf16_offsets_and_covers_its_text() {
    let fixture = Fixture::start().await;
    let lab = fixture.parsed(LAB).await;
    let message = by_id(&lab, 1);
    assert_eq!(message["text"], FORMATTED);
    let entities = message["entities"]
        .as_array()
        .expect("entities is an array");
    let expected = [
        ("bold", "Bold", json!({})),
        ("italic", "italic", json!({})),
        ("underline", "underlined", json!({})),
        ("strike", "struck", json!({})),
        ("code", "code", json!({})),
        ("pre", "fn main() {}", json!({"language": "rust"})),
        ("url", "https://example.org", json!({})),
        (
            "text_url",
            "the docs",
            json!({"url": "https://docs.example.org/"}),
        ),
        ("mention", "@alice", json!({})),
        ("hashtag", "#rust", json!({})),
        ("email", "bob@example.com", json!({})),
    ];
    assert_eq!(entities.len(), expected.len());
    for (entity, (kind, covered, extra)) in entities.iter().zip(expected) {
        let (offset, length) = utf16_span(FORMATTED, covered);
        let mut want = json!({"type": kind, "offset": offset, "length": length, "text": covered});
        if let (Some(want), Some(extra)) = (want.as_object_mut(), extra.as_object()) {
            want.extend(extra.clone());
        }
        assert_eq!(*entity, want);
    }
    assert_eq!(
        entities[0]["offset"], 3,
        "the emoji is two UTF-16 units, then a space"
    );

    let news = fixture.parsed(NEWS).await;
    assert_eq!(
        by_id(&news, 2)["entities"],
        json!([
            {"type": "bold", "offset": 0, "length": 5, "text": "Hello"},
            {"type": "url", "offset": 26, "length": 19, "text": "https://example.com"},
            {"type": "hashtag", "offset": 46, "length": 7, "text": "#launch"},
        ])
    );
    fixture.shutdown().await;
}

#[tokio::test]
async fn channel_posts_carry_counters_edits_signatures_and_the_channel_as_sender() {
    let fixture = Fixture::start().await;
    let news = fixture.parsed(NEWS).await;
    let at = |i: i32| fixture.world.epoch - 30 * 86_400 + i * 3600;

    let report = by_id(&news, 3);
    assert_eq!(report["views"], 1200);
    assert_eq!(report["forwards"], 14);
    assert_eq!(report["post"], true);
    assert_eq!(report["date"], at(3));
    assert_eq!(
        report["sender"]["bare_id"], NEWS,
        "a channel post is signed by the channel"
    );
    assert_eq!(report["sender"]["type"], "channel");
    assert_eq!(report["edit_date"], Value::Null);

    let corrected = by_id(&news, 7);
    assert_eq!(corrected["edit_date"], at(8));
    let iso = corrected["edit_date_iso"].as_str().expect("an edit date");
    assert!(iso.ends_with('Z') && iso.len() == 20, "RFC 3339 UTC: {iso}");

    let signed = by_id(&news, 17);
    assert_eq!(signed["post_author"], "Editor");
    assert_eq!(signed["entities"][0]["url"], "https://example.com/tomorrow");
    // Offsets are Telegram's UTF-16 units; `text` is what the entity covers.
    assert_eq!(signed["entities"][0]["offset"], 21);
    assert_eq!(signed["entities"][0]["length"], 8);
    assert_eq!(signed["entities"][0]["text"], "tomorrow");

    let chat = fixture.parsed(NEWS_CHAT).await;
    assert_eq!(by_id(&chat, 2)["post"], false, "a group message is no post");
    assert_eq!(by_id(&chat, 2)["views"], Value::Null);
    fixture.shutdown().await;
}

#[tokio::test]
async fn a_missing_message_has_the_empty_form() {
    let fixture = Fixture::start().await;
    let validator = schema_validator();
    let request = tl::functions::channels::GetMessages {
        channel: tl::enums::InputChannel::Channel(tl::types::InputChannel {
            channel_id: NEWS,
            access_hash: telesim::api::access_hash(fixture.world.seed, ALICE, NEWS),
        }),
        id: vec![
            tl::enums::InputMessage::Id(tl::types::InputMessageId { id: 2 }),
            tl::enums::InputMessage::Id(tl::types::InputMessageId { id: 9_999 }),
        ],
    };
    let raw = guarded(
        "channels.getMessages",
        fixture.alice.client.invoke(&request),
    )
    .await
    .expect("channels.getMessages succeeds");
    let ctx = ParseContext::from_messages(&raw, AccountId(ALICE));
    let tl::enums::messages::Messages::ChannelMessages(raw) = raw else {
        panic!("a channel answers with channel messages");
    };
    let parsed: Vec<Value> = raw
        .messages
        .iter()
        .map(|m| parse_message(m, &ctx))
        .collect();
    for message in &parsed {
        assert_valid(&validator, message);
    }
    assert_eq!(by_id(&parsed, 2)["type"], "message");
    assert_eq!(
        *by_id(&parsed, 9_999),
        json!({"schema": 1, "type": "empty", "id": 9_999, "account_id": ALICE,
               "chat": {"id": -1_000_000_100_001_i64, "bare_id": NEWS, "type": "channel",
                        "name": "Telesim News", "username": "telesim_news"}})
    );
    fixture.shutdown().await;
}

#[tokio::test]
async fn corrupted_messages_from_the_wire_still_parse_into_the_schema() {
    use rand::{Rng, SeedableRng};
    use tl::{Deserializable, Serializable};

    let fixture = Fixture::start().await;
    let validator = schema_validator();
    let mut raw = Vec::new();
    for chat_id in [NEWS, FRIENDS, LAB] {
        let reply = history(&fixture.alice, fixture.input_peer(chat_id), 100).await;
        let ctx = ParseContext::from_messages(&reply, AccountId(ALICE));
        let messages = match reply {
            tl::enums::messages::Messages::Messages(m) => m.messages,
            tl::enums::messages::Messages::ChannelMessages(m) => m.messages,
            other => panic!("a whole history in one reply, got {other:?}"),
        };
        raw.extend(messages.into_iter().map(|m| (m, ctx.clone())));
    }
    // Flip bytes of real serialized messages: whatever still deserializes (huge or negative
    // ids and sizes, offsets past the text, broken UTF-8, unknown flags) must still parse to
    // schema-valid JSON.
    let mut rng = rand::rngs::StdRng::seed_from_u64(0x5eed);
    let mut parsed = 0;
    for (message, ctx) in &raw {
        let bytes = message.to_bytes();
        for _ in 0..200 {
            let mut corrupted = bytes.clone();
            for _ in 0..rng.gen_range(1..=3) {
                let at = rng.gen_range(4..corrupted.len());
                corrupted[at] ^= 1 << rng.gen_range(0..8);
            }
            if let Ok(message) = tl::enums::Message::from_bytes(&corrupted) {
                assert_valid(&validator, &parse_message(&message, ctx));
                parsed += 1;
            }
        }
    }
    assert!(
        parsed > 1_000,
        "only {parsed} corrupted messages deserialized: the test exercises too little"
    );
    fixture.shutdown().await;
}
