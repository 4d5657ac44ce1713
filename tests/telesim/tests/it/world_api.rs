//! The Telegram layer's methods through `Telegram::call`, with serialized grammers functions:
//! connect-time calls, peers and access hashes, Telegram's history paging, search, membership,
//! recommendations, file downloads and their errors.

use crate::world_support::*;
use grammers_tl_types::{Identifiable, Serializable, enums, functions, types};
use telesim::api::{CallContext, Telegram};
use telesim::world::demo::{ALICE, BOB, CAROL, EVE, FRIENDS, NEWS, SECRET_LAB, TECH_DIGEST};
use telesim::world::{Chat, ChatKind, User, World, generated, media_bytes};

fn demo() -> Telegram {
    Telegram::new(World::demo())
}

/// One generated channel of `n` messages; ALICE-equivalent is `ACCOUNT_IDS[0]`.
fn generated_channel(n: i32) -> (Telegram, i64, i64) {
    (
        Telegram::new(World::generated(2, n, 7)),
        generated::ACCOUNT_IDS[0],
        generated::FIRST_CHANNEL_ID,
    )
}

#[test]
fn get_config_points_all_five_dcs_at_the_set_address() {
    let tg = demo();
    tg.set_address("127.0.0.1:40404".parse().unwrap());
    let enums::Config::Config(config) = call(&tg, ALICE, &functions::help::GetConfig {}).unwrap();
    let dcs: Vec<(i32, String, i32, bool)> = config
        .dc_options
        .iter()
        .map(|enums::DcOption::Option(o)| (o.id, o.ip_address.clone(), o.port, o.r#static))
        .collect();
    assert_eq!(
        dcs,
        (1..=5)
            .map(|id| (id, "127.0.0.1".to_string(), 40404, false))
            .collect::<Vec<_>>()
    );
    assert_eq!(config.this_dc, telesim::api::HOME_DC);
}

#[test]
fn get_state_and_get_me_work_for_a_logged_in_key() {
    let tg = demo();
    let enums::updates::State::State(state) =
        call(&tg, ALICE, &functions::updates::GetState {}).unwrap();
    assert!(state.pts >= 1);
    assert_eq!(state.seq, 0);
    let users = call(
        &tg,
        ALICE,
        &functions::users::GetUsers {
            id: vec![enums::InputUser::UserSelf],
        },
    )
    .unwrap();
    let [enums::User::User(me)] = users.as_slice() else {
        panic!("expected one user, got {users:?}")
    };
    assert!(me.is_self);
    assert_eq!(
        (me.id, me.first_name.as_deref(), me.username.as_deref()),
        (ALICE, Some("Alice"), Some("alice"))
    );
    assert_eq!(me.phone.as_deref(), Some("+15550001001"));
}

#[test]
fn a_login_slot_is_unregistered_until_it_signs_in() {
    let tg = demo();
    assert_eq!(tg.account_of(key_of(&tg, CAROL)), None);
    assert!(
        tg.auth_key(key_of(&tg, CAROL)).is_some(),
        "the slot's key is known to the datacenter"
    );
    assert_eq!(
        error_of(&tg, CAROL, &functions::updates::GetState {}),
        (401, "AUTH_KEY_UNREGISTERED".into())
    );
}

#[test]
fn unknown_and_malformed_requests_are_rpc_errors() {
    let tg = demo();
    let ctx = CallContext {
        auth_key_id: key_of(&tg, ALICE),
        layer: LAYER,
    };
    assert_eq!(
        tg.call(&ctx, &[1, 2]).unwrap_err().message,
        "INPUT_REQUEST_INVALID"
    );
    // getHistory's constructor followed by a truncated body.
    let mut truncated = <functions::messages::GetHistory as Identifiable>::CONSTRUCTOR_ID
        .to_le_bytes()
        .to_vec();
    truncated.extend_from_slice(&[0x15, 0xc4]);
    assert_eq!(
        tg.call(&ctx, &truncated).unwrap_err().message,
        "INPUT_REQUEST_INVALID"
    );
    let unsupported = functions::messages::SendMessage {
        no_webpage: false,
        silent: false,
        background: false,
        clear_draft: false,
        noforwards: false,
        update_stickersets_order: false,
        invert_media: false,
        allow_paid_floodskip: false,
        peer: enums::InputPeer::PeerSelf,
        reply_to: None,
        message: "hi".into(),
        random_id: 1,
        reply_markup: None,
        entities: None,
        schedule_date: None,
        schedule_repeat_period: None,
        send_as: None,
        quick_reply_shortcut: None,
        effect: None,
        allow_paid_stars: None,
        suggested_post: None,
        rich_message: None,
    };
    let err = tg.call(&ctx, &unsupported.to_bytes()).unwrap_err();
    assert_eq!(
        (err.code, err.message.as_str()),
        (400, "METHOD_NOT_SIMULATED_MESSAGES_SENDMESSAGE")
    );
}

#[test]
fn resolve_username_finds_channels_and_users_and_refuses_others() {
    let tg = demo();
    let resolve = |name: &str| functions::contacts::ResolveUsername {
        username: name.into(),
        referer: None,
    };
    let enums::contacts::ResolvedPeer::Peer(peer) =
        call(&tg, BOB, &resolve("telesim_news")).unwrap();
    assert_eq!(
        peer.peer,
        enums::Peer::Channel(types::PeerChannel { channel_id: NEWS })
    );
    let [enums::Chat::Channel(channel)] = peer.chats.as_slice() else {
        panic!("{:?}", peer.chats)
    };
    assert_eq!(channel.access_hash, Some(tg.access_hash_for(BOB, NEWS)));
    assert!(channel.broadcast && !channel.left);
    let enums::contacts::ResolvedPeer::Peer(peer) = call(&tg, BOB, &resolve("Eve_Sim")).unwrap();
    assert_eq!(
        peer.peer,
        enums::Peer::User(types::PeerUser { user_id: EVE })
    );
    assert_eq!(
        error_of(&tg, BOB, &resolve("nobody_here")),
        (400, "USERNAME_NOT_OCCUPIED".into())
    );
    assert_eq!(
        error_of(&tg, BOB, &resolve("a!")),
        (400, "USERNAME_INVALID".into())
    );
    assert_eq!(
        error_of(&tg, BOB, &resolve("1abcdef")),
        (400, "USERNAME_INVALID".into())
    );
}

#[test]
fn access_hashes_are_per_account() {
    let tg = demo();
    assert_ne!(
        tg.access_hash_for(ALICE, NEWS),
        tg.access_hash_for(BOB, NEWS)
    );
    let alices = input_channel(&tg, ALICE, NEWS);
    let bobs_call = functions::channels::GetChannels {
        id: vec![alices.clone()],
    };
    assert_eq!(
        error_of(&tg, BOB, &bobs_call),
        (400, "CHANNEL_INVALID".into())
    );
    assert!(call(&tg, ALICE, &bobs_call).is_ok());
    let foreign_peer = enums::InputPeer::Channel(types::InputPeerChannel {
        channel_id: NEWS,
        access_hash: tg.access_hash_for(ALICE, NEWS),
    });
    assert_eq!(
        error_of(&tg, BOB, &history(foreign_peer, 0, 0, 10, 0, 0)),
        (400, "CHANNEL_INVALID".into())
    );
    let foreign_user = enums::InputUser::User(types::InputUser {
        user_id: EVE,
        access_hash: tg.access_hash_for(ALICE, EVE),
    });
    assert_eq!(
        error_of(
            &tg,
            BOB,
            &functions::users::GetFullUser { id: foreign_user }
        ),
        (400, "USER_ID_INVALID".into())
    );
}

#[test]
fn a_private_channel_is_channel_private_to_non_members() {
    let tg = demo();
    assert_eq!(
        error_of(
            &tg,
            BOB,
            &history(input_peer_channel(&tg, BOB, SECRET_LAB), 0, 0, 10, 0, 0)
        ),
        (400, "CHANNEL_PRIVATE".into())
    );
    assert_eq!(
        error_of(
            &tg,
            BOB,
            &functions::channels::GetFullChannel {
                channel: input_channel(&tg, BOB, SECRET_LAB)
            }
        ),
        (400, "CHANNEL_PRIVATE".into())
    );
    assert_eq!(
        error_of(
            &tg,
            BOB,
            &functions::channels::JoinChannel {
                channel: input_channel(&tg, BOB, SECRET_LAB)
            }
        ),
        (400, "CHANNEL_PRIVATE".into())
    );
    let enums::messages::Chats::Chats(chats) = call(
        &tg,
        BOB,
        &functions::channels::GetChannels {
            id: vec![input_channel(&tg, BOB, SECRET_LAB)],
        },
    )
    .unwrap() else {
        panic!("expected messages.chats")
    };
    assert!(matches!(
        chats.chats.as_slice(),
        [enums::Chat::ChannelForbidden(_)]
    ));
    let page = call(
        &tg,
        ALICE,
        &history(input_peer_channel(&tg, ALICE, SECRET_LAB), 0, 0, 10, 0, 0),
    )
    .unwrap();
    assert_eq!(ids(&page), vec![3, 2, 1]);
}

#[test]
fn history_walks_a_generated_channel_newest_first_without_gap_or_duplicate() {
    let (tg, me, chat) = generated_channel(1_050);
    let peer = input_peer_channel(&tg, me, chat);
    let mut seen = Vec::new();
    let mut offset = 0;
    loop {
        let page = call(&tg, me, &history(peer.clone(), offset, 0, 100, 0, 0)).unwrap();
        assert_eq!(count(&page), 1_050);
        let page_ids = ids(&page);
        if page_ids.is_empty() {
            break;
        }
        offset = *page_ids.last().unwrap();
        seen.extend(page_ids);
    }
    assert_eq!(seen, (1..=1_050).rev().collect::<Vec<_>>());
}

#[test]
fn history_paging_follows_telegrams_offsets() {
    let (tg, me, chat) = generated_channel(500);
    let peer = input_peer_channel(&tg, me, chat);
    let page = |offset_id, add_offset, limit, max_id, min_id| {
        ids(&call(
            &tg,
            me,
            &history(peer.clone(), offset_id, add_offset, limit, max_id, min_id),
        )
        .unwrap())
    };
    // offset_id is exclusive.
    assert_eq!(page(100, 0, 3, 0, 0), vec![99, 98, 97]);
    // add_offset skips forward…
    assert_eq!(page(100, 2, 3, 0, 0), vec![97, 96, 95]);
    // …and a negative one reaches newer messages, the offset message included.
    assert_eq!(page(100, -2, 5, 0, 0), vec![101, 100, 99, 98, 97]);
    assert_eq!(page(100, -5, 5, 0, 0), vec![104, 103, 102, 101, 100]);
    // Near the newest message a negative add_offset is clamped.
    assert_eq!(page(499, -5, 4, 0, 0), vec![500, 499, 498, 497]);
    // min_id and max_id are exclusive bounds.
    assert_eq!(page(0, 0, 100, 10, 5), vec![9, 8, 7, 6]);
    assert_eq!(page(0, 0, 3, 0, 0), vec![500, 499, 498]);
    // limit is capped at 100.
    assert_eq!(page(0, 0, 1000, 0, 0).len(), 100);
    assert_eq!(page(0, 0, 0, 0, 0), Vec::<i32>::new());
    // Past the oldest message: nothing.
    assert_eq!(page(1, 0, 10, 0, 0), Vec::<i32>::new());
}

#[test]
fn history_by_offset_date_starts_below_that_date() {
    let (tg, me, chat) = generated_channel(300);
    let date_of_200 = tg.message(chat, 200).unwrap().date;
    let request = functions::messages::GetHistory {
        offset_date: date_of_200,
        ..history(input_peer_channel(&tg, me, chat), 0, 0, 2, 0, 0)
    };
    assert_eq!(ids(&call(&tg, me, &request).unwrap()), vec![199, 198]);
}

#[test]
fn history_carries_the_fields_the_parser_reads() {
    let tg = demo();
    let page = call(
        &tg,
        ALICE,
        &history(input_peer_channel(&tg, ALICE, NEWS), 0, 0, 100, 0, 0),
    )
    .unwrap();
    let enums::messages::Messages::ChannelMessages(channel_messages) = &page else {
        panic!("channels answer messages.channelMessages")
    };
    assert_eq!(channel_messages.pts, tg.channel_pts(NEWS).unwrap());
    let all = list(&page);
    assert!(
        matches!(all.last(), Some(enums::Message::Service(_))),
        "message 1 is the channel's creation"
    );
    let plain_messages: Vec<types::Message> = all
        .iter()
        .filter_map(|m| match m {
            enums::Message::Message(m) => Some(m.clone()),
            _ => None,
        })
        .collect();
    assert!(
        plain_messages
            .iter()
            .any(|m| m.entities.as_ref().is_some_and(|e| e.len() == 3))
    );
    assert!(plain_messages.iter().any(|m| m.reply_to.is_some()));
    assert!(plain_messages.iter().any(|m| m.fwd_from.is_some()));
    assert!(plain_messages.iter().any(|m| m.edit_date.is_some()));
    assert!(
        plain_messages
            .iter()
            .any(|m| m.views == Some(1200) && m.forwards == Some(14))
    );
    assert_eq!(
        plain_messages
            .iter()
            .filter(|m| m.grouped_id.is_some())
            .count(),
        3
    );
    let documents: Vec<_> = plain_messages
        .iter()
        .filter_map(|m| match &m.media {
            Some(enums::MessageMedia::Document(d)) => Some(d.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(documents.len(), 5, "video, audio, voice, sticker and file");
    assert!(documents.iter().any(|d| d.video) && documents.iter().any(|d| d.voice));
    let enums::Peer::Channel(_) = plain_messages[0].peer_id else {
        panic!("channel messages carry peerChannel")
    };
}

#[test]
fn small_group_history_answers_messages_and_needs_membership() {
    let tg = demo();
    let peer = enums::InputPeer::Chat(types::InputPeerChat { chat_id: FRIENDS });
    let page = call(&tg, BOB, &history(peer.clone(), 0, 0, 100, 0, 0)).unwrap();
    assert!(matches!(page, enums::messages::Messages::Messages(_)));
    assert_eq!(ids(&page), vec![4, 3, 2, 1]);
    let sliced = call(&tg, BOB, &history(peer.clone(), 0, 0, 2, 0, 0)).unwrap();
    assert!(matches!(sliced, enums::messages::Messages::Slice(ref s) if s.count == 4));
    // Someone outside the group cannot name it.
    let mut friends = Chat::new(FRIENDS, ChatKind::Group, "Friends");
    friends.members = vec![ALICE];
    let world = World::builder(1)
        .account(User::new(ALICE, "Alice"), "+1000")
        .account(User::new(BOB, "Bob"), "+1001")
        .chat(friends)
        .build()
        .unwrap();
    let tg = Telegram::new(world);
    assert_eq!(
        error_of(&tg, BOB, &history(peer, 0, 0, 1, 0, 0)),
        (400, "PEER_ID_INVALID".into())
    );
}

#[test]
fn channel_get_messages_returns_empty_for_missing_ids() {
    let tg = demo();
    let request = functions::channels::GetMessages {
        channel: input_channel(&tg, ALICE, TECH_DIGEST),
        id: vec![
            enums::InputMessage::Id(types::InputMessageId { id: 3 }),
            enums::InputMessage::Id(types::InputMessageId { id: 999 }),
        ],
    };
    let found = list(&call(&tg, ALICE, &request).unwrap());
    assert_eq!(
        plain(&found[0]).message,
        "Digest #3: compilers, networks and more"
    );
    assert!(matches!(&found[1], enums::Message::Empty(e) if e.id == 999));
}

#[test]
fn search_in_a_chat_filters_by_text_and_counts_all_matches() {
    let (tg, me, chat) = generated_channel(200);
    let search = |q: &str, limit, offset_id| functions::messages::Search {
        peer: input_peer_channel(&tg, me, chat),
        q: q.into(),
        from_id: None,
        saved_peer_id: None,
        saved_reaction: None,
        top_msg_id: None,
        filter: enums::MessagesFilter::InputMessagesFilterEmpty,
        min_date: 0,
        max_date: 0,
        offset_id,
        add_offset: 0,
        limit,
        max_id: 0,
        min_id: 0,
        hash: 0,
    };
    // "Post 12" matches 12, 120..=129 and nothing else below 200.
    let first = call(&tg, me, &search("post 12", 5, 0)).unwrap();
    assert_eq!(count(&first), 11);
    assert_eq!(ids(&first), vec![129, 128, 127, 126, 125]);
    let next = call(&tg, me, &search("post 12", 100, 125)).unwrap();
    assert_eq!(ids(&next), vec![124, 123, 122, 121, 120, 12]);
    let photos = functions::messages::Search {
        filter: enums::MessagesFilter::InputMessagesFilterPhotos,
        ..search("", 100, 0)
    };
    let photo_ids = ids(&call(&tg, me, &photos).unwrap());
    assert_eq!(
        photo_ids,
        vec![
            200, 180, 162, 161, 160, 140, 120, 100, 80, 62, 61, 60, 40, 20
        ]
    );
}

#[test]
fn search_global_pages_across_the_accounts_chats() {
    let tg = Telegram::new(World::generated(3, 50, 1));
    let me = generated::ACCOUNT_IDS[0];
    let search = |offset_rate, offset_peer, offset_id| functions::messages::SearchGlobal {
        broadcasts_only: false,
        groups_only: false,
        users_only: false,
        folder_id: None,
        community: None,
        q: "post 4".into(),
        filter: enums::MessagesFilter::InputMessagesFilterEmpty,
        min_date: 0,
        max_date: 0,
        offset_rate,
        offset_peer,
        offset_id,
        limit: 10,
    };
    let mut collected = Vec::new();
    let mut cursor = (0, enums::InputPeer::Empty, 0);
    loop {
        let enums::messages::Messages::Slice(page) =
            call(&tg, me, &search(cursor.0, cursor.1.clone(), cursor.2)).unwrap()
        else {
            panic!("searchGlobal answers messages.messagesSlice")
        };
        assert_eq!(page.count, 33, "4 and 40..=49 in each of 3 channels");
        let Some(enums::Message::Message(last)) = page.messages.last() else {
            break;
        };
        let enums::Peer::Channel(c) = &last.peer_id else {
            panic!("channel message expected")
        };
        cursor = (
            page.next_rate.unwrap(),
            input_peer_channel(&tg, me, c.channel_id),
            last.id,
        );
        collected.extend(page.messages.iter().map(message_id));
    }
    assert_eq!(collected.len(), 33);
}

#[test]
fn join_and_leave_change_membership() {
    let tg = demo();
    assert!(!tg.is_member(TECH_DIGEST, BOB));
    let joined = call(
        &tg,
        BOB,
        &functions::channels::JoinChannel {
            channel: input_channel(&tg, BOB, TECH_DIGEST),
        },
    )
    .unwrap();
    let enums::messages::ChatInviteJoinResult::Ok(ok) = joined else {
        panic!("expected chatInviteJoinResultOk")
    };
    let enums::Updates::Updates(updates) = ok.updates else {
        panic!("expected updates")
    };
    assert!(
        matches!(updates.updates.as_slice(), [enums::Update::Channel(u)] if u.channel_id == TECH_DIGEST)
    );
    assert!(matches!(updates.chats.as_slice(), [enums::Chat::Channel(c)] if !c.left));
    assert!(tg.is_member(TECH_DIGEST, BOB));
    call(
        &tg,
        BOB,
        &functions::channels::LeaveChannel {
            channel: input_channel(&tg, BOB, TECH_DIGEST),
        },
    )
    .unwrap();
    assert!(!tg.is_member(TECH_DIGEST, BOB));
    assert_eq!(
        error_of(
            &tg,
            BOB,
            &functions::channels::LeaveChannel {
                channel: input_channel(&tg, BOB, TECH_DIGEST)
            }
        ),
        (400, "USER_NOT_PARTICIPANT".into())
    );
}

#[test]
fn recommendations_list_public_channels() {
    let tg = demo();
    let enums::messages::Chats::Chats(recs) = call(
        &tg,
        BOB,
        &functions::channels::GetChannelRecommendations {
            channel: Some(input_channel(&tg, BOB, NEWS)),
        },
    )
    .unwrap() else {
        panic!("expected messages.chats")
    };
    let ids: Vec<i64> = recs
        .chats
        .iter()
        .map(|c| match c {
            enums::Chat::Channel(c) => c.id,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(ids, vec![TECH_DIGEST]);
}

#[test]
fn full_channel_reports_about_linked_chat_and_pts() {
    let tg = demo();
    let enums::messages::ChatFull::Full(full) = call(
        &tg,
        BOB,
        &functions::channels::GetFullChannel {
            channel: input_channel(&tg, BOB, NEWS),
        },
    )
    .unwrap();
    let enums::ChatFull::ChannelFull(channel) = full.full_chat else {
        panic!("expected channelFull")
    };
    assert_eq!(
        channel.about,
        "Everything that happens in the simulated world."
    );
    assert_eq!(
        channel.linked_chat_id,
        Some(telesim::world::demo::NEWS_CHAT)
    );
    assert_eq!(channel.pts, tg.channel_pts(NEWS).unwrap());
    assert_eq!(full.chats.len(), 2, "the channel and its linked chat");
}

/// The document of message `id` as `viewer` gets it.
fn document(tg: &Telegram, viewer: i64, chat: i64, id: i32) -> types::Document {
    let request = functions::channels::GetMessages {
        channel: input_channel(tg, viewer, chat),
        id: vec![enums::InputMessage::Id(types::InputMessageId { id })],
    };
    let found = list(&call(tg, viewer, &request).unwrap());
    match plain(&found[0]).media {
        Some(enums::MessageMedia::Document(types::MessageMediaDocument {
            document: Some(enums::Document::Document(d)),
            ..
        })) => d,
        other => panic!("message {id} has no document: {other:?}"),
    }
}

fn get_file(doc: &types::Document, offset: i64, limit: i32) -> functions::upload::GetFile {
    functions::upload::GetFile {
        precise: false,
        cdn_supported: false,
        location: enums::InputFileLocation::InputDocumentFileLocation(
            types::InputDocumentFileLocation {
                id: doc.id,
                access_hash: doc.access_hash,
                file_reference: doc.file_reference.clone(),
                thumb_size: String::new(),
            },
        ),
        offset,
        limit,
    }
}

#[test]
fn get_file_serves_deterministic_bytes_in_chunks() {
    let tg = demo();
    // The launch video: 2,600,000 bytes.
    let doc = document(&tg, ALICE, NEWS, 11);
    assert_eq!(doc.size, 2_600_000);
    let mut bytes = Vec::new();
    let mut offset = 0;
    loop {
        let enums::upload::File::File(chunk) =
            call(&tg, ALICE, &get_file(&doc, offset, 512 * 1024)).unwrap()
        else {
            panic!("expected upload.file")
        };
        bytes.extend_from_slice(&chunk.bytes);
        if chunk.bytes.len() < 512 * 1024 {
            break;
        }
        offset += 512 * 1024;
    }
    assert_eq!(bytes, media_bytes(tg.seed(), doc.id, "", 0, 2_600_000));
}

#[test]
fn get_file_refuses_bad_offsets_and_limits_like_telegram() {
    let tg = demo();
    let doc = document(&tg, ALICE, NEWS, 11);
    let err = |offset, limit| error_of(&tg, ALICE, &get_file(&doc, offset, limit));
    assert_eq!(err(1000, 1024), (400, "OFFSET_INVALID".into()));
    assert_eq!(err(0, 1000), (400, "LIMIT_INVALID".into()));
    assert_eq!(
        err(0, 1024 * 1024),
        (400, "LIMIT_INVALID".into()),
        "over 512 KiB"
    );
    assert_eq!(
        err(768 * 1024, 512 * 1024),
        (400, "LIMIT_INVALID".into()),
        "crosses the 1 MiB boundary"
    );
    assert!(
        call(&tg, ALICE, &get_file(&doc, 1023 * 1024, 1024)).is_ok(),
        "the last KiB below the boundary"
    );
    let past_end = call(&tg, ALICE, &get_file(&doc, 4 * 1024 * 1024, 1024)).unwrap();
    let enums::upload::File::File(past_end) = past_end else {
        panic!("expected upload.file")
    };
    assert!(past_end.bytes.is_empty());
    let mut wrong_hash = doc.clone();
    wrong_hash.access_hash ^= 1;
    assert_eq!(
        error_of(&tg, ALICE, &get_file(&wrong_hash, 0, 1024)),
        (400, "FILE_ID_INVALID".into())
    );
}

#[test]
fn an_expired_file_reference_is_refused_until_the_message_is_fetched_again() {
    let tg = demo();
    let doc = document(&tg, ALICE, NEWS, 15);
    tg.expire_file_reference(doc.id);
    assert_eq!(
        error_of(&tg, ALICE, &get_file(&doc, 0, 4096)),
        (400, "FILE_REFERENCE_EXPIRED".into())
    );
    let fresh = document(&tg, ALICE, NEWS, 15);
    assert_ne!(fresh.file_reference, doc.file_reference);
    assert!(call(&tg, ALICE, &get_file(&fresh, 0, 4096)).is_ok());
    assert_eq!(
        error_of(&tg, ALICE, &get_file(&doc, 0, 4096)),
        (400, "FILE_REFERENCE_EXPIRED".into()),
        "the old reference stays dead"
    );
}

#[test]
fn photos_download_each_size() {
    let tg = demo();
    let request = functions::channels::GetMessages {
        channel: input_channel(&tg, ALICE, NEWS),
        id: vec![enums::InputMessage::Id(types::InputMessageId { id: 8 })],
    };
    let found = list(&call(&tg, ALICE, &request).unwrap());
    let Some(enums::MessageMedia::Photo(types::MessageMediaPhoto {
        photo: Some(enums::Photo::Photo(photo)),
        ..
    })) = plain(&found[0]).media
    else {
        panic!("message 8 is an album photo")
    };
    assert!(photo.sizes.len() >= 3);
    for size in &photo.sizes {
        let enums::PhotoSize::Size(size) = size else {
            panic!("plain photoSize expected")
        };
        let request = functions::upload::GetFile {
            precise: false,
            cdn_supported: false,
            location: enums::InputFileLocation::InputPhotoFileLocation(
                types::InputPhotoFileLocation {
                    id: photo.id,
                    access_hash: photo.access_hash,
                    file_reference: photo.file_reference.clone(),
                    thumb_size: size.r#type.clone(),
                },
            ),
            offset: 0,
            limit: 512 * 1024,
        };
        let enums::upload::File::File(file) = call(&tg, ALICE, &request).unwrap() else {
            panic!("expected upload.file")
        };
        assert_eq!(file.bytes.len(), size.size as usize);
        assert_eq!(
            file.bytes,
            media_bytes(tg.seed(), photo.id, &size.r#type, 0, size.size as usize)
        );
    }
}

#[test]
fn extreme_paging_and_file_values_are_answered_not_panicked() {
    let (tg, me, chat) = generated_channel(50);
    let peer = input_peer_channel(&tg, me, chat);
    for (offset_id, add_offset, limit, max_id, min_id) in [
        (i32::MAX, i32::MIN, i32::MAX, i32::MAX, i32::MAX),
        (i32::MIN, i32::MAX, i32::MIN, i32::MIN, i32::MIN),
        (0, -1, 100, 0, i32::MAX),
    ] {
        let page = call(
            &tg,
            me,
            &history(peer.clone(), offset_id, add_offset, limit, max_id, min_id),
        )
        .unwrap();
        assert!(ids(&page).len() <= 100);
    }
    let demo = demo();
    let doc = document(&demo, ALICE, NEWS, 11);
    // The last KiB-aligned offset a client can name: far past the end, so empty, not a panic.
    let far = (i64::MAX / 1024) * 1024;
    let enums::upload::File::File(file) = call(&demo, ALICE, &get_file(&doc, far, 1024)).unwrap()
    else {
        panic!("expected upload.file")
    };
    assert!(file.bytes.is_empty());
    assert_eq!(
        error_of(&demo, ALICE, &get_file(&doc, -1024, 1024)),
        (400, "OFFSET_INVALID".into())
    );
}

#[test]
fn dialogs_list_the_accounts_chats_newest_first_and_page() {
    let tg = demo();
    let get_dialogs =
        |offset_date, offset_id, offset_peer, limit| functions::messages::GetDialogs {
            exclude_pinned: false,
            folder_id: None,
            offset_date,
            offset_id,
            offset_peer,
            limit,
            hash: 0,
        };
    let peer_of = |d: &enums::Dialog| match d {
        enums::Dialog::Dialog(d) => d.peer.clone(),
        other => panic!("{other:?}"),
    };
    // Alice is in News, its chat, Secret Lab and Friends.
    let enums::messages::Dialogs::Dialogs(all) =
        call(&tg, ALICE, &get_dialogs(0, 0, enums::InputPeer::Empty, 100)).unwrap()
    else {
        panic!("everything fits in one messages.dialogs")
    };
    assert_eq!(all.dialogs.len(), 4);
    assert_eq!(
        all.messages.len(),
        4,
        "each dialog comes with its top message"
    );
    let news = all.dialogs.iter().find_map(|d| match d {
        enums::Dialog::Dialog(d)
            if d.peer == enums::Peer::Channel(types::PeerChannel { channel_id: NEWS }) =>
        {
            Some(d.clone())
        }
        _ => None,
    });
    let news = news.expect("News is a dialog");
    assert_eq!((news.top_message, news.pts), (17, tg.channel_pts(NEWS)));
    // Two at a time: the pages add up to the whole list, in the same order.
    let mut paged = Vec::new();
    let mut cursor = (0, 0, enums::InputPeer::Empty);
    loop {
        let enums::messages::Dialogs::Slice(page) = call(
            &tg,
            ALICE,
            &get_dialogs(cursor.0, cursor.1, cursor.2.clone(), 2),
        )
        .unwrap() else {
            panic!("a partial list is a messages.dialogsSlice")
        };
        assert_eq!(page.count, 4);
        let Some(enums::Dialog::Dialog(last)) = page.dialogs.last() else {
            break;
        };
        let top = page
            .messages
            .iter()
            .find(|m| {
                let peer = match m {
                    enums::Message::Message(m) => Some(&m.peer_id),
                    enums::Message::Service(m) => Some(&m.peer_id),
                    enums::Message::Empty(_) => None,
                };
                message_id(m) == last.top_message && peer == Some(&last.peer)
            })
            .expect("top message included");
        let date = match top {
            enums::Message::Message(m) => m.date,
            enums::Message::Service(m) => m.date,
            enums::Message::Empty(_) => panic!("empty top message"),
        };
        let peer = match &last.peer {
            enums::Peer::Channel(c) => input_peer_channel(&tg, ALICE, c.channel_id),
            enums::Peer::Chat(c) => {
                enums::InputPeer::Chat(types::InputPeerChat { chat_id: c.chat_id })
            }
            enums::Peer::User(_) => panic!("no private dialogs in the demo"),
        };
        cursor = (date, last.top_message, peer);
        paged.extend(page.dialogs.iter().map(peer_of));
    }
    assert_eq!(paged, all.dialogs.iter().map(peer_of).collect::<Vec<_>>());
}

#[test]
fn a_file_reference_is_good_for_the_account_that_fetched_it_only() {
    let tg = demo();
    let alices = document(&tg, ALICE, NEWS, 15);
    let bobs = document(&tg, BOB, NEWS, 15);
    assert_ne!(alices.file_reference, bobs.file_reference);
    let mut borrowed = bobs.clone();
    borrowed.file_reference = alices.file_reference.clone();
    assert_eq!(
        error_of(&tg, BOB, &get_file(&borrowed, 0, 4096)),
        (400, "FILE_REFERENCE_INVALID".into())
    );
    let mut garbage = bobs.clone();
    garbage.file_reference = vec![9; 3];
    assert_eq!(
        error_of(&tg, BOB, &get_file(&garbage, 0, 4096)),
        (400, "FILE_REFERENCE_INVALID".into())
    );
    assert!(call(&tg, BOB, &get_file(&bobs, 0, 4096)).is_ok());
}
