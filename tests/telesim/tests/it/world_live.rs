//! Live changes: posts, edits and deletions reach subscribed members with contiguous pts, and
//! an account that was away catches up through the difference calls.

use crate::world_support::*;
use grammers_tl_types::{Deserializable, enums, functions, types};
use telesim::api::{NewMessage, Telegram};
use telesim::world::demo::{ALICE, BOB, FRIENDS, NEWS, TECH_DIGEST};
use telesim::world::{Media, MediaKind, World, generated};
use tokio::sync::mpsc::UnboundedReceiver;

fn next_update(rx: &mut UnboundedReceiver<Vec<u8>>) -> types::Updates {
    let bytes = rx.try_recv().expect("an update was pushed");
    match enums::Updates::from_bytes(&bytes).expect("pushed bytes are a serialized Updates") {
        enums::Updates::Updates(u) => u,
        other => panic!("expected updates, got {other:?}"),
    }
}

fn channel_difference(
    tg: &Telegram,
    me: i64,
    chat: i64,
    pts: i32,
    limit: i32,
) -> enums::updates::ChannelDifference {
    call(
        tg,
        me,
        &functions::updates::GetChannelDifference {
            force: false,
            channel: input_channel(tg, me, chat),
            filter: enums::ChannelMessagesFilter::Empty,
            pts,
            limit,
        },
    )
    .unwrap()
}

#[test]
fn a_post_reaches_subscribed_members_with_the_next_channel_pts() {
    let tg = Telegram::new(World::demo());
    let mut alice = tg.subscribe(key_of(&tg, ALICE), LAYER);
    let mut bob = tg.subscribe(key_of(&tg, BOB), LAYER);
    let before = tg.channel_pts(NEWS).unwrap();
    let id = tg
        .post_message(NEWS, NewMessage::text("Breaking: live posts work"))
        .unwrap();
    assert_eq!(id, 18, "after the 17 demo messages");
    for rx in [&mut alice, &mut bob] {
        let updates = next_update(rx);
        assert_eq!(updates.seq, 0);
        let [enums::Update::NewChannelMessage(new)] = updates.updates.as_slice() else {
            panic!("{:?}", updates.updates)
        };
        assert_eq!((new.pts, new.pts_count), (before + 1, 1));
        let message = plain(&new.message);
        assert_eq!(
            (message.id, message.message.as_str()),
            (18, "Breaking: live posts work")
        );
        assert!(
            updates
                .chats
                .iter()
                .any(|c| matches!(c, enums::Chat::Channel(c) if c.id == NEWS))
        );
    }
    assert_eq!(tg.channel_pts(NEWS), Some(before + 1));
    // Non-members get nothing.
    let mut alice_only = tg.subscribe(key_of(&tg, BOB), LAYER);
    tg.post_message(TECH_DIGEST, NewMessage::text("not for Bob"))
        .unwrap();
    assert!(alice_only.try_recv().is_err());
}

#[test]
fn edits_and_deletions_advance_pts_by_their_count() {
    let tg = Telegram::new(World::demo());
    let mut rx = tg.subscribe(key_of(&tg, ALICE), LAYER);
    let before = tg.channel_pts(NEWS).unwrap();
    tg.edit_message(NEWS, 3, "Launch report (updated)").unwrap();
    tg.delete_messages(NEWS, &[4, 5, 999]).unwrap();
    let edit = next_update(&mut rx);
    let [enums::Update::EditChannelMessage(edit)] = edit.updates.as_slice() else {
        panic!("{:?}", edit.updates)
    };
    let edited = plain(&edit.message);
    assert_eq!(
        (edit.pts, edited.message.as_str()),
        (before + 1, "Launch report (updated)")
    );
    assert!(edited.edit_date.is_some());
    let delete = next_update(&mut rx);
    let [enums::Update::DeleteChannelMessages(delete)] = delete.updates.as_slice() else {
        panic!("{:?}", delete.updates)
    };
    assert_eq!(
        (
            delete.channel_id,
            delete.messages.clone(),
            delete.pts,
            delete.pts_count
        ),
        (NEWS, vec![4, 5], before + 3, 2)
    );
    assert!(tg.message(NEWS, 4).is_none());
    assert_eq!(
        tg.edit_message(NEWS, 4, "gone").unwrap_err().message,
        "MESSAGE_ID_INVALID"
    );
    let page = call(
        &tg,
        ALICE,
        &history(input_peer_channel(&tg, ALICE, NEWS), 6, 0, 10, 0, 0),
    )
    .unwrap();
    assert_eq!(ids(&page), vec![3, 2, 1], "deleted messages leave history");
}

#[test]
fn deleting_generated_messages_keeps_paging_exact() {
    let tg = Telegram::new(World::generated(1, 300, 3));
    let me = generated::ACCOUNT_IDS[0];
    let chat = generated::FIRST_CHANNEL_ID;
    tg.delete_messages(chat, &[150, 151]).unwrap();
    let posted = tg.post_message(chat, NewMessage::text("fresh")).unwrap();
    assert_eq!(posted, 301);
    let page = call(
        &tg,
        me,
        &history(input_peer_channel(&tg, me, chat), 153, 0, 4, 0, 0),
    )
    .unwrap();
    assert_eq!(ids(&page), vec![152, 149, 148, 147]);
    assert_eq!(count(&page), 299);
    let newest = call(
        &tg,
        me,
        &history(input_peer_channel(&tg, me, chat), 0, 0, 2, 0, 0),
    )
    .unwrap();
    assert_eq!(ids(&newest), vec![301, 300]);
}

#[test]
fn small_group_posts_use_each_members_common_pts() {
    let tg = Telegram::new(World::demo());
    let mut bob = tg.subscribe(key_of(&tg, BOB), LAYER);
    let bob_pts = tg.common_pts(BOB).unwrap();
    let id = tg
        .post_message(FRIENDS, NewMessage::text("See you at 8").from(ALICE))
        .unwrap();
    let updates = next_update(&mut bob);
    let [enums::Update::NewMessage(new)] = updates.updates.as_slice() else {
        panic!("{:?}", updates.updates)
    };
    assert_eq!((new.pts, new.pts_count), (bob_pts + 1, 1));
    let message = plain(&new.message);
    assert_eq!((message.id, message.out), (id, false));
    assert_eq!(
        message.peer_id,
        enums::Peer::Chat(types::PeerChat { chat_id: FRIENDS })
    );
    assert!(
        updates
            .users
            .iter()
            .any(|u| matches!(u, enums::User::User(u) if u.id == ALICE))
    );
    let enums::updates::State::State(state) =
        call(&tg, BOB, &functions::updates::GetState {}).unwrap();
    assert_eq!(state.pts, bob_pts + 1);
}

#[test]
fn channel_difference_replays_what_an_away_account_missed() {
    let tg = Telegram::new(World::demo());
    let pts = tg.channel_pts(NEWS).unwrap();
    let enums::updates::ChannelDifference::Empty(empty) =
        channel_difference(&tg, BOB, NEWS, pts, 100)
    else {
        panic!("nothing new yet")
    };
    assert_eq!((empty.pts, empty.r#final), (pts, true));
    let first = tg.post_message(NEWS, NewMessage::text("one")).unwrap();
    let second = tg
        .post_message(
            NEWS,
            NewMessage::text("two").with_media(Media::document(77, MediaKind::File, 5000)),
        )
        .unwrap();
    tg.edit_message(NEWS, first, "one (edited)").unwrap();
    tg.delete_messages(NEWS, &[2]).unwrap();
    let enums::updates::ChannelDifference::Difference(diff) =
        channel_difference(&tg, BOB, NEWS, pts, 100)
    else {
        panic!("expected a difference")
    };
    assert!(diff.r#final);
    assert_eq!(diff.pts, pts + 4);
    assert_eq!(
        diff.new_messages.iter().map(message_id).collect::<Vec<_>>(),
        vec![first, second]
    );
    assert_eq!(
        plain(&diff.new_messages[0]).message,
        "one (edited)",
        "new messages are shown as they are now"
    );
    assert!(
        matches!(diff.other_updates.as_slice(), [enums::Update::EditChannelMessage(_), enums::Update::DeleteChannelMessages(d)] if d.messages == vec![2])
    );
    // A small limit pages the difference.
    let enums::updates::ChannelDifference::Difference(partial) =
        channel_difference(&tg, BOB, NEWS, pts, 1)
    else {
        panic!("expected a difference")
    };
    assert_eq!(
        (partial.r#final, partial.pts, partial.new_messages.len()),
        (false, pts + 1, 1)
    );
    // Older than the log: too long, with the newest messages and the current pts.
    let enums::updates::ChannelDifference::TooLong(too_long) =
        channel_difference(&tg, BOB, NEWS, 1, 100)
    else {
        panic!("expected tooLong")
    };
    let enums::Dialog::Dialog(dialog) = too_long.dialog else {
        panic!("expected a dialog")
    };
    assert_eq!((dialog.pts, dialog.top_message), (Some(pts + 4), second));
    assert_eq!(message_id(&too_long.messages[0]), second);
}

#[test]
fn difference_replays_small_group_messages_and_points_at_busy_channels() {
    let tg = Telegram::new(World::demo());
    let enums::updates::State::State(state) =
        call(&tg, BOB, &functions::updates::GetState {}).unwrap();
    let get_difference = |pts, date| functions::updates::GetDifference {
        pts,
        pts_limit: None,
        pts_total_limit: None,
        date,
        qts: 0,
        qts_limit: None,
    };
    assert!(matches!(
        call(&tg, BOB, &get_difference(state.pts, state.date)).unwrap(),
        enums::updates::Difference::Empty(_)
    ));
    let id = tg
        .post_message(FRIENDS, NewMessage::text("missed me?").from(ALICE))
        .unwrap();
    tg.post_message(NEWS, NewMessage::text("channel news"))
        .unwrap();
    let enums::updates::Difference::Difference(diff) =
        call(&tg, BOB, &get_difference(state.pts, state.date)).unwrap()
    else {
        panic!("expected a difference")
    };
    assert_eq!(
        diff.new_messages.iter().map(message_id).collect::<Vec<_>>(),
        vec![id]
    );
    // The hint has no pts: the client asks from the pts it knows instead of skipping ahead.
    assert!(diff.other_updates.iter().any(
        |u| matches!(u, enums::Update::ChannelTooLong(c) if c.channel_id == NEWS && c.pts.is_none())
    ));
    let enums::updates::State::State(new_state) = diff.state;
    assert_eq!(new_state.pts, state.pts + 1);
}

#[test]
fn updates_flow_to_a_slot_only_after_it_logs_in() {
    let tg = Telegram::new(World::demo());
    let key = key_of(&tg, telesim::world::demo::DAVE);
    let mut rx = tg.subscribe(key, LAYER);
    tg.post_message(NEWS, NewMessage::text("before login"))
        .unwrap();
    assert!(rx.try_recv().is_err());
}
