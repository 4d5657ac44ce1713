//! The parser on hand-built TL values: what telesim never sends (reactions, reply counts,
//! animations, round videos, polls, story replies, private chats, unmapped actions) and what
//! nothing should send (huge ids, entities that cut a character in half) — each must give
//! the schema's defined form, never a panic.

use std::sync::{Arc, Mutex};

use crate::parser_support::{assert_valid, schema_validator};
use serde_json::{Value, json};
use tgc_model::teleclient::{AccountId, tl};
use tgc_service::parser::{
    MediaFile, MediaHook, ParseContext, StorageRef, StorageStatus, marked_id, parse_chat,
    parse_message, parse_messages, parse_user, storage_key,
};

const ACCOUNT: i64 = 42;

fn channel_peer(channel_id: i64) -> tl::enums::Peer {
    tl::enums::Peer::Channel(tl::types::PeerChannel { channel_id })
}

fn user_peer(user_id: i64) -> tl::enums::Peer {
    tl::enums::Peer::User(tl::types::PeerUser { user_id })
}

fn group_peer(chat_id: i64) -> tl::enums::Peer {
    tl::enums::Peer::Chat(tl::types::PeerChat { chat_id })
}

/// A message with every optional field empty.
fn message(id: i32, peer_id: tl::enums::Peer, text: &str) -> tl::types::Message {
    telesim::tl_blank::message(id, peer_id, 1_700_000_000, text)
}

fn document(
    id: i64,
    mime: &str,
    attributes: Vec<tl::enums::DocumentAttribute>,
) -> tl::enums::MessageMedia {
    tl::enums::MessageMedia::Document(tl::types::MessageMediaDocument {
        nopremium: false,
        spoiler: false,
        video: false,
        round: false,
        voice: false,
        document: Some(tl::enums::Document::Document(tl::types::Document {
            id,
            access_hash: 7,
            file_reference: vec![1, 2, 3],
            date: 1_700_000_000,
            mime_type: mime.to_string(),
            size: 4_096,
            thumbs: None,
            video_thumbs: None,
            dc_id: 2,
            attributes,
        })),
        alt_documents: None,
        video_cover: None,
        video_timestamp: None,
        ttl_seconds: None,
    })
}

fn video_attribute(round_message: bool) -> tl::enums::DocumentAttribute {
    tl::enums::DocumentAttribute::Video(tl::types::DocumentAttributeVideo {
        round_message,
        supports_streaming: true,
        nosound: false,
        duration: 3.25,
        w: 240,
        h: 240,
        preload_prefix_size: None,
        video_start_ts: None,
        video_codec: None,
    })
}

/// Parses and checks the schema in one go: every edge case must still be schema-valid.
fn parse(message: tl::types::Message, ctx: &ParseContext) -> Value {
    let parsed = parse_message(&tl::enums::Message::Message(message), ctx);
    assert_valid(&schema_validator(), &parsed);
    parsed
}

fn media_of(media: tl::enums::MessageMedia) -> Value {
    let mut m = message(1, channel_peer(10), "");
    m.media = Some(media);
    parse(m, &ParseContext::new(AccountId(ACCOUNT)))["media"].clone()
}

#[test]
fn a_small_group_message_without_from_id_has_no_sender() {
    let parsed = parse(
        message(3, group_peer(500), "who wrote me?"),
        &ParseContext::new(AccountId(ACCOUNT)),
    );
    assert_eq!(parsed["sender"], Value::Null);
    assert_eq!(parsed["chat"]["id"], -500);
}

#[test]
fn in_a_private_chat_the_sender_is_the_other_user_or_this_account() {
    let ctx = ParseContext::new(AccountId(ACCOUNT));
    let incoming = parse(message(1, user_peer(7), "hi"), &ctx);
    assert_eq!(incoming["sender"]["id"], 7);
    let mut sent = message(2, user_peer(7), "hello");
    sent.out = true;
    let outgoing = parse(sent, &ctx);
    assert_eq!(outgoing["sender"]["id"], ACCOUNT);
    assert_eq!(outgoing["out"], true);
}

#[test]
fn an_unknown_peer_keeps_its_id_and_a_default_type() {
    let mut m = message(1, channel_peer(10), "");
    m.from_id = Some(user_peer(99));
    let parsed = parse(m, &ParseContext::new(AccountId(ACCOUNT)));
    assert_eq!(
        parsed["sender"],
        json!({"id": 99, "bare_id": 99, "type": "user", "name": null, "username": null})
    );
    assert_eq!(parsed["chat"]["type"], "channel");
}

#[test]
fn huge_ids_stay_exact_and_an_unmarkable_chat_id_is_null() {
    let mut m = message(i32::MAX, channel_peer(i64::MAX), "");
    m.grouped_id = Some(i64::MIN);
    m.from_id = Some(user_peer(i64::MAX));
    m.media = Some(document(i64::MAX, "application/octet-stream", vec![]));
    let parsed = parse(m, &ParseContext::new(AccountId(ACCOUNT)));
    assert_eq!(parsed["id"], i32::MAX);
    assert_eq!(parsed["chat"]["id"], Value::Null);
    assert_eq!(parsed["chat"]["bare_id"], i64::MAX);
    assert_eq!(parsed["sender"]["id"], i64::MAX);
    assert_eq!(parsed["grouped_id"], i64::MIN);
    assert_eq!(parsed["media"]["id"], i64::MAX);
    assert_eq!(parsed["media"]["storage"]["key"], storage_key(i64::MAX));
    assert_eq!(marked_id(&channel_peer(i64::MAX)), None);
    assert_eq!(marked_id(&channel_peer(1)), Some(-1_000_000_000_001));
}

#[test]
fn entity_offsets_count_utf16_units_and_a_cut_surrogate_pair_covers_nothing() {
    let text = "👍🏽 ok 𝄞";
    let entity = |offset, length| {
        tl::enums::MessageEntity::Bold(tl::types::MessageEntityBold { offset, length })
    };
    let mut m = message(1, channel_peer(10), text);
    m.entities = Some(vec![
        entity(0, 4),  // 👍🏽: two astral characters, four units
        entity(5, 2),  // ok
        entity(8, 2),  // 𝄞
        entity(1, 2),  // starts inside 👍
        entity(8, 1),  // half of 𝄞
        entity(9, 50), // past the end
    ]);
    let parsed = parse(m, &ParseContext::new(AccountId(ACCOUNT)));
    let covered: Vec<&Value> = parsed["entities"]
        .as_array()
        .expect("entities")
        .iter()
        .map(|e| &e["text"])
        .collect();
    assert_eq!(
        covered,
        [
            &json!("👍🏽"),
            &json!("ok"),
            &json!("𝄞"),
            &Value::Null,
            &Value::Null,
            &Value::Null
        ]
    );
    assert_eq!(
        parsed["entities"][5]["offset"], 9,
        "offsets are kept as Telegram sent them"
    );
}

#[test]
fn entity_types_telesim_does_not_send_keep_their_fields() {
    use tl::enums::MessageEntity as E;
    let mut m = message(1, channel_peer(10), "abcdefghij");
    m.entities = Some(vec![
        E::MentionName(tl::types::MessageEntityMentionName {
            offset: 0,
            length: 1,
            user_id: 7,
        }),
        E::CustomEmoji(tl::types::MessageEntityCustomEmoji {
            offset: 1,
            length: 1,
            document_id: 5,
        }),
        E::Blockquote(tl::types::MessageEntityBlockquote {
            collapsed: true,
            offset: 2,
            length: 1,
        }),
        E::Spoiler(tl::types::MessageEntitySpoiler {
            offset: 3,
            length: 1,
        }),
        E::Unknown(tl::types::MessageEntityUnknown {
            offset: 4,
            length: 1,
        }),
        E::BotCommand(tl::types::MessageEntityBotCommand {
            offset: 5,
            length: 1,
        }),
        E::InputMessageEntityMentionName(tl::types::InputMessageEntityMentionName {
            offset: 6,
            length: 1,
            user_id: tl::enums::InputUser::User(tl::types::InputUser {
                user_id: 8,
                access_hash: 1,
            }),
        }),
    ]);
    let parsed = parse(m, &ParseContext::new(AccountId(ACCOUNT)));
    assert_eq!(
        parsed["entities"],
        json!([
            {"type": "mention_name", "offset": 0, "length": 1, "text": "a", "user_id": 7},
            {"type": "custom_emoji", "offset": 1, "length": 1, "text": "b", "document_id": 5},
            {"type": "blockquote", "offset": 2, "length": 1, "text": "c", "collapsed": true},
            {"type": "spoiler", "offset": 3, "length": 1, "text": "d"},
            {"type": "unknown", "offset": 4, "length": 1, "text": "e"},
            {"type": "bot_command", "offset": 5, "length": 1, "text": "f"},
            {"type": "mention_name", "offset": 6, "length": 1, "text": "g", "user_id": 8},
        ])
    );
}

#[test]
fn document_kinds_come_from_attributes() {
    use tl::enums::DocumentAttribute as A;
    let gif = media_of(document(
        1,
        "video/mp4",
        vec![A::Animated, video_attribute(false)],
    ));
    assert_eq!(gif["kind"], "animation");
    assert_eq!(gif["duration"], 3.25);

    let round = media_of(document(2, "video/mp4", vec![video_attribute(true)]));
    assert_eq!(round["kind"], "round");
    assert_eq!(round["width"], 240);

    let emoji = media_of(document(
        3,
        "application/x-tgsticker",
        vec![A::CustomEmoji(tl::types::DocumentAttributeCustomEmoji {
            free: true,
            text_color: false,
            alt: "🔥".into(),
            stickerset: tl::enums::InputStickerSet::Empty,
        })],
    ));
    assert_eq!(emoji["kind"], "sticker");
    assert_eq!(emoji["emoji"], "🔥");

    let bare = media_of(document(4, "", vec![]));
    assert_eq!(bare["kind"], "document");
    assert_eq!(
        bare["mime_type"],
        Value::Null,
        "an empty MIME type is no MIME type"
    );
    assert_eq!(bare["size"], 4_096);
    assert_eq!(
        bare["storage"],
        json!({"key": storage_key(4), "status": "pending"})
    );
}

#[test]
fn a_photo_is_measured_by_its_largest_real_size() {
    use tl::enums::PhotoSize as S;
    let photo = tl::enums::MessageMedia::Photo(tl::types::MessageMediaPhoto {
        spoiler: true,
        live_photo: false,
        photo: Some(tl::enums::Photo::Photo(tl::types::Photo {
            has_stickers: false,
            id: 77,
            access_hash: 1,
            file_reference: vec![],
            date: 0,
            sizes: vec![
                S::PhotoStrippedSize(tl::types::PhotoStrippedSize {
                    r#type: "i".into(),
                    bytes: vec![0; 40],
                }),
                S::Size(tl::types::PhotoSize {
                    r#type: "m".into(),
                    w: 320,
                    h: 240,
                    size: 9_000,
                }),
                S::Progressive(tl::types::PhotoSizeProgressive {
                    r#type: "y".into(),
                    w: 1280,
                    h: 960,
                    sizes: vec![10_000, 50_000, 120_000],
                }),
            ],
            video_sizes: None,
            dc_id: 2,
        })),
        ttl_seconds: None,
        video: None,
    });
    let parsed = media_of(photo);
    assert_eq!(
        (
            &parsed["kind"],
            &parsed["width"],
            &parsed["height"],
            &parsed["size"]
        ),
        (&json!("photo"), &json!(1280), &json!(960), &json!(120_000))
    );
    assert_eq!(parsed["spoiler"], true);
}

#[test]
fn media_without_a_file_is_named_and_has_no_storage() {
    let expired = media_of(tl::enums::MessageMedia::Photo(
        tl::types::MessageMediaPhoto {
            spoiler: false,
            live_photo: false,
            photo: None,
            ttl_seconds: Some(10),
            video: None,
        },
    ));
    assert_eq!(expired["kind"], "expired");
    assert_eq!(expired["storage"], Value::Null);

    let unsupported = media_of(tl::enums::MessageMedia::Unsupported);
    assert_eq!(unsupported["kind"], "unsupported");
    assert_eq!(unsupported["id"], Value::Null);

    let geo = media_of(tl::enums::MessageMedia::Geo(tl::types::MessageMediaGeo {
        geo: tl::enums::GeoPoint::Empty,
    }));
    assert_eq!(geo["kind"], "geo");

    let dice = media_of(tl::enums::MessageMedia::Dice(tl::types::MessageMediaDice {
        value: 6,
        emoticon: "🎲".into(),
        game_outcome: None,
    }));
    assert_eq!(dice["kind"], "dice");

    let mut m = message(1, channel_peer(10), "");
    m.media = Some(tl::enums::MessageMedia::Empty);
    assert_eq!(
        parse(m, &ParseContext::new(AccountId(ACCOUNT)))["media"],
        Value::Null
    );
}

#[test]
fn reactions_and_reply_counts_are_listed() {
    use tl::enums::{Reaction, ReactionCount};
    let count = |reaction, count, chosen: bool| {
        ReactionCount::Count(tl::types::ReactionCount {
            chosen_order: chosen.then_some(0),
            reaction,
            count,
        })
    };
    let mut m = message(1, channel_peer(10), "react");
    m.reactions = Some(tl::enums::MessageReactions::Reactions(
        tl::types::MessageReactions {
            min: false,
            can_see_list: false,
            reactions_as_tags: false,
            results: vec![
                count(
                    Reaction::Emoji(tl::types::ReactionEmoji {
                        emoticon: "👍".into(),
                    }),
                    12,
                    true,
                ),
                count(
                    Reaction::CustomEmoji(tl::types::ReactionCustomEmoji { document_id: 9 }),
                    3,
                    false,
                ),
                count(Reaction::Paid, 1, false),
            ],
            recent_reactions: None,
            top_reactors: None,
        },
    ));
    m.replies = Some(tl::enums::MessageReplies::Replies(
        tl::types::MessageReplies {
            comments: true,
            replies: 31,
            replies_pts: 0,
            recent_repliers: None,
            channel_id: Some(11),
            max_id: None,
            read_max_id: None,
        },
    ));
    let parsed = parse(m, &ParseContext::new(AccountId(ACCOUNT)));
    assert_eq!(parsed["replies"], 31);
    assert_eq!(
        parsed["reactions"],
        json!([
            {"type": "emoji", "emoji": "👍", "document_id": null, "count": 12, "chosen": true},
            {"type": "custom_emoji", "emoji": null, "document_id": 9, "count": 3, "chosen": false},
            {"type": "paid", "emoji": null, "document_id": null, "count": 1, "chosen": false},
        ])
    );
}

#[test]
fn replies_in_threads_across_chats_and_to_stories() {
    let ctx = ParseContext::new(AccountId(ACCOUNT));
    let mut thread = message(5, channel_peer(10), "");
    thread.reply_to = Some(tl::enums::MessageReplyHeader::Header(
        tl::types::MessageReplyHeader {
            reply_to_scheduled: false,
            forum_topic: true,
            quote: true,
            reply_to_ephemeral: false,
            reply_to_msg_id: Some(4),
            reply_to_peer_id: Some(channel_peer(12)),
            reply_from: None,
            reply_media: None,
            reply_to_top_id: Some(2),
            quote_text: Some("quoted".into()),
            quote_entities: None,
            quote_offset: None,
            todo_item_id: None,
            poll_option: None,
        },
    ));
    let parsed = parse(thread, &ctx);
    assert_eq!(parsed["reply_to"]["message_id"], 4);
    assert_eq!(parsed["reply_to"]["top_id"], 2);
    assert_eq!(parsed["reply_to"]["chat"]["id"], -1_000_000_000_012_i64);
    assert_eq!(parsed["reply_to"]["quote_text"], "quoted");
    assert_eq!(parsed["reply_to"]["forum_topic"], true);

    let mut story = message(6, user_peer(7), "");
    story.reply_to = Some(tl::enums::MessageReplyHeader::MessageReplyStoryHeader(
        tl::types::MessageReplyStoryHeader {
            peer: user_peer(7),
            story_id: 3,
        },
    ));
    let parsed = parse(story, &ctx);
    assert_eq!(parsed["reply_to"]["story_id"], 3);
    assert_eq!(parsed["reply_to"]["message_id"], Value::Null);
}

#[test]
fn unmapped_service_actions_are_named_by_their_constructor() {
    let service = tl::enums::Message::Service(tl::types::MessageService {
        silent: true,
        ..telesim::tl_blank::service(
            8,
            group_peer(500),
            1_700_000_000,
            tl::enums::MessageAction::BoostApply(tl::types::MessageActionBoostApply { boosts: 2 }),
        )
    });
    let ctx = ParseContext::new(AccountId(ACCOUNT));
    let parsed = parse_message(&service, &ctx);
    assert_valid(&schema_validator(), &parsed);
    assert_eq!(
        parsed["action"],
        json!({"type": "boost_apply", "boosts": 2})
    );
    assert_eq!(parsed["silent"], true);

    let tl::enums::Message::Service(mut unmapped) = service else {
        unreachable!("built as a service message above");
    };
    unmapped.action = tl::enums::MessageAction::ScreenshotTaken;
    let parsed = parse_message(&tl::enums::Message::Service(unmapped.clone()), &ctx);
    assert_eq!(parsed["action"], json!({"type": "screenshot_taken"}));
    unmapped.action = tl::enums::MessageAction::HistoryClear;
    let parsed = parse_message(&tl::enums::Message::Service(unmapped), &ctx);
    assert_valid(&schema_validator(), &parsed);
    assert_eq!(parsed["action"], json!({"type": "history_clear"}));
}

#[test]
fn an_empty_message_without_a_chat_has_a_null_chat() {
    let empty = tl::enums::Message::Empty(tl::types::MessageEmpty {
        id: 3,
        peer_id: None,
    });
    let parsed = parse_message(&empty, &ParseContext::new(AccountId(ACCOUNT)));
    assert_valid(&schema_validator(), &parsed);
    assert_eq!(
        parsed,
        json!({"schema": 1, "type": "empty", "id": 3, "account_id": ACCOUNT, "chat": null})
    );
}

/// What the hook was told of one media: (id, kind, account, chat id, message id).
type Seen = (i64, &'static str, i64, Option<i64>, i32);

/// A hook that records what it was asked and answers "stored" under its own key.
#[derive(Default)]
struct Recording(Mutex<Vec<Seen>>);

impl MediaHook for Recording {
    fn storage(&self, media: &MediaFile<'_>) -> StorageRef {
        if let Ok(mut seen) = self.0.lock() {
            seen.push((
                media.id,
                media.kind,
                media.account.0,
                media.chat_id,
                media.message_id,
            ));
        }
        StorageRef {
            key: format!("custom-{}", media.id),
            status: StorageStatus::Stored,
        }
    }
}

#[test]
fn an_installed_media_hook_names_the_storage_and_learns_where_the_media_was() {
    let hook = Arc::new(Recording::default());
    let ctx = ParseContext::new(AccountId(ACCOUNT)).with_media_hook(hook.clone());
    let mut m = message(9, channel_peer(10), "");
    m.media = Some(document(55, "audio/ogg", vec![]));
    let parsed = parse_message(&tl::enums::Message::Message(m), &ctx);
    assert_eq!(
        parsed["media"]["storage"],
        json!({"key": "custom-55", "status": "stored"})
    );
    let seen = hook.0.lock().expect("not poisoned").clone();
    assert_eq!(
        seen,
        [(55, "document", ACCOUNT, Some(-1_000_000_000_010), 9)]
    );
}

#[test]
fn users_and_chats_that_came_with_the_messages_name_them_and_a_min_user_keeps_the_full_name() {
    let full = user(7, Some("Grace"), Some("Hopper"), Some("grace"), false);
    let min = user(7, None, None, None, false);
    let channel = tl::enums::Chat::Channel(channel(10, "Ten", true));
    let reply = tl::enums::messages::Messages::Messages(tl::types::messages::Messages {
        messages: vec![tl::enums::Message::Message({
            let mut m = message(1, channel_peer(10), "");
            m.from_id = Some(user_peer(7));
            m
        })],
        topics: vec![],
        chats: vec![channel],
        users: vec![full, min],
    });
    let parsed = parse_messages(&reply, AccountId(ACCOUNT));
    assert_eq!(parsed.len(), 1);
    assert_valid(&schema_validator(), &parsed[0]);
    assert_eq!(parsed[0]["sender"]["name"], "Grace Hopper");
    assert_eq!(parsed[0]["sender"]["username"], "grace");
    assert_eq!(parsed[0]["chat"]["type"], "megagroup");
    assert_eq!(parsed[0]["chat"]["name"], "Ten");

    let not_modified =
        tl::enums::messages::Messages::NotModified(tl::types::messages::MessagesNotModified {
            count: 3,
        });
    assert!(parse_messages(&not_modified, AccountId(ACCOUNT)).is_empty());
}

#[test]
fn parse_chat_and_parse_user_describe_peers_for_resolve() {
    let chat = parse_chat(&tl::enums::Chat::Channel(channel(10, "Ten", false)));
    assert_eq!(chat["id"], -1_000_000_000_010_i64);
    assert_eq!(chat["type"], "channel");
    assert_eq!(chat["participants_count"], 1_234);
    assert_eq!(chat["forbidden"], false);
    assert_eq!(chat["date_iso"], "2023-11-14T22:13:20Z");

    let forbidden = parse_chat(&tl::enums::Chat::Forbidden(tl::types::ChatForbidden {
        id: 5,
        title: "Gone".into(),
    }));
    assert_eq!(forbidden["forbidden"], true);
    assert_eq!(forbidden["id"], -5);
    assert_eq!(forbidden["participants_count"], Value::Null);

    let bot = parse_user(&user(8, Some("Helper"), None, Some("helper_bot"), true));
    assert_eq!(bot["type"], "bot");
    assert_eq!(bot["name"], "Helper");
    assert_eq!(bot["last_name"], Value::Null);
    let gone = parse_user(&tl::enums::User::Empty(tl::types::UserEmpty { id: 9 }));
    assert_eq!(
        gone,
        json!({"id": 9, "bare_id": 9, "type": "user", "name": null, "username": null})
    );
}

fn user(
    id: i64,
    first: Option<&str>,
    last: Option<&str>,
    username: Option<&str>,
    bot: bool,
) -> tl::enums::User {
    tl::enums::User::User(tl::types::User {
        bot,
        min: first.is_none(),
        first_name: first.map(str::to_string),
        last_name: last.map(str::to_string),
        username: username.map(str::to_string),
        ..telesim::tl_blank::user(id)
    })
}

fn channel(id: i64, title: &str, megagroup: bool) -> tl::types::Channel {
    tl::types::Channel {
        broadcast: !megagroup,
        megagroup,
        access_hash: Some(1),
        date: 1_700_000_000,
        participants_count: Some(1_234),
        ..telesim::tl_blank::channel(id, title)
    }
}
