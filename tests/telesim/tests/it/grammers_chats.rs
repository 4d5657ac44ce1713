//! grammers against telesim: who am I, resolving usernames, private channels, joining and leaving.

use grammers_client::tl;
use telesim::Sim;
use telesim::world::World;
use telesim::world::demo::{ALICE, BOB, NEWS, SECRET_LAB, TECH_DIGEST};
use testkit::connected::{connect, rpc_error};
use testkit::guarded;

#[tokio::test]
async fn get_me_answers_with_the_account_of_the_session() {
    let sim = Sim::start(World::demo()).await.unwrap();
    for (user_id, name) in [(ALICE, "Alice"), (BOB, "Bob")] {
        let connected = connect(&sim, user_id);
        let me = guarded("get_me", connected.client.get_me()).await.unwrap();
        assert_eq!(me.id().bare_id(), Some(user_id));
        assert_eq!(me.first_name(), Some(name));
        assert_eq!(sim.counters.get(user_id, "users.getUsers"), 1);
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn resolve_finds_a_public_channel_and_counts_one_network_call() {
    let sim = Sim::start(World::demo()).await.unwrap();
    let alice = connect(&sim, ALICE);
    let peer = guarded("resolve", alice.client.resolve_username("telesim_news"))
        .await
        .unwrap()
        .expect("telesim_news exists");
    assert_eq!(peer.id().bare_id(), Some(NEWS));
    assert_eq!(peer.name(), Some("Telesim News"));
    assert_eq!(sim.counters.get(ALICE, "contacts.resolveUsername"), 1);
    sim.shutdown().await;
}

#[tokio::test]
async fn an_unknown_username_is_username_not_occupied() {
    let sim = Sim::start(World::demo()).await.unwrap();
    let alice = connect(&sim, ALICE);
    let result = guarded(
        "resolve",
        alice
            .client
            .invoke(&tl::functions::contacts::ResolveUsername {
                username: "nobody_has_this_name".into(),
                referer: None,
            }),
    )
    .await;
    assert_eq!(
        rpc_error(result),
        (400, "USERNAME_NOT_OCCUPIED".to_string(), None)
    );
    // grammers maps it to "no such peer".
    let resolved = guarded(
        "resolve",
        alice.client.resolve_username("nobody_has_this_name"),
    )
    .await;
    assert!(matches!(resolved, Ok(None)), "{resolved:?}");
    sim.shutdown().await;
}

#[tokio::test]
async fn a_private_channel_is_channel_private_to_a_non_member() {
    let sim = Sim::start(World::demo()).await.unwrap();
    let bob = connect(&sim, BOB);
    let access_hash = telesim::api::access_hash(sim.telegram.seed(), BOB, SECRET_LAB);
    let result = guarded(
        "getHistory",
        bob.client.invoke(&tl::functions::messages::GetHistory {
            peer: tl::types::InputPeerChannel {
                channel_id: SECRET_LAB,
                access_hash,
            }
            .into(),
            offset_id: 0,
            offset_date: 0,
            add_offset: 0,
            limit: 10,
            max_id: 0,
            min_id: 0,
            hash: 0,
        }),
    )
    .await;
    assert_eq!(
        rpc_error(result),
        (400, "CHANNEL_PRIVATE".to_string(), None)
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn join_and_leave_change_membership() {
    let sim = Sim::start(World::demo()).await.unwrap();
    let alice = connect(&sim, ALICE);
    let digest = guarded("resolve", alice.client.resolve_username("tech_digest"))
        .await
        .unwrap()
        .expect("tech_digest exists");
    assert_eq!(digest.id().bare_id(), Some(TECH_DIGEST));
    let digest = digest
        .to_ref()
        .await
        .unwrap()
        .expect("resolved peers are usable");

    guarded("join", alice.client.join_chat(digest))
        .await
        .unwrap();
    assert_eq!(sim.counters.get(ALICE, "channels.joinChannel"), 1);
    assert!(
        is_member(&sim, &alice, ALICE, TECH_DIGEST).await,
        "member after joining"
    );

    guarded("leave", alice.client.delete_dialog(digest))
        .await
        .unwrap();
    assert_eq!(sim.counters.get(ALICE, "channels.leaveChannel"), 1);
    assert!(
        !is_member(&sim, &alice, ALICE, TECH_DIGEST).await,
        "not a member after leaving"
    );
    sim.shutdown().await;
}

/// Whether `user_id` is a member, as `channels.getChannels` reports it (the `left` flag).
async fn is_member(
    sim: &Sim,
    connected: &testkit::connected::Connected,
    user_id: i64,
    channel_id: i64,
) -> bool {
    let access_hash = telesim::api::access_hash(sim.telegram.seed(), user_id, channel_id);
    let chats = guarded(
        "getChannels",
        connected
            .client
            .invoke(&tl::functions::channels::GetChannels {
                id: vec![
                    tl::types::InputChannel {
                        channel_id,
                        access_hash,
                    }
                    .into(),
                ],
            }),
    )
    .await
    .unwrap();
    let chats = match chats {
        tl::enums::messages::Chats::Chats(c) => c.chats,
        tl::enums::messages::Chats::Slice(c) => c.chats,
    };
    match chats.first() {
        Some(tl::enums::Chat::Channel(channel)) => !channel.left,
        other => panic!("expected the channel, got {other:?}"),
    }
}
