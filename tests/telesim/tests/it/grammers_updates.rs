//! grammers against telesim: live updates through grammers' update stream, and catching up on
//! what was posted while the connection was down.

use grammers_client::client::UpdateStream;
use grammers_client::sender::UpdatesConfiguration;
use grammers_client::update::Update;
use telesim::Sim;
use telesim::api::NewMessage;
use telesim::world::World;
use telesim::world::demo::{ALICE, NEWS};
use testkit::connected::{Connected, connect};
use testkit::guarded;

/// Starts grammers' update stream, after one call so the connection is up and subscribed.
async fn stream(connected: &mut Connected) -> UpdateStream {
    guarded("get_me", connected.client.get_me()).await.unwrap();
    let updates = connected
        .updates
        .take()
        .expect("the update channel is taken once");
    guarded(
        "stream_updates",
        connected
            .client
            .stream_updates(updates, UpdatesConfiguration { catch_up: false }),
    )
    .await
    .unwrap()
}

/// The next update that concerns messages (grammers also surfaces raw ones).
async fn next_message_update(stream: &mut UpdateStream) -> Update {
    loop {
        let update = guarded("the next update", stream.next()).await.unwrap();
        if matches!(
            update,
            Update::NewMessage(_) | Update::MessageEdited(_) | Update::MessageDeleted(_)
        ) {
            return update;
        }
    }
}

#[tokio::test]
async fn posted_edited_and_deleted_messages_reach_a_connected_member() {
    let sim = Sim::start(World::demo()).await.unwrap();
    let mut alice = connect(&sim, ALICE);
    let mut updates = stream(&mut alice).await;

    let id = sim
        .telegram
        .post_message(NEWS, NewMessage::text("Breaking: telesim ships"))
        .unwrap();
    match next_message_update(&mut updates).await {
        Update::NewMessage(m) => {
            assert_eq!(m.id(), id);
            assert_eq!(m.text(), "Breaking: telesim ships");
            assert_eq!(m.peer_id().bare_id(), Some(NEWS));
        }
        other => panic!("expected the new message, got {other:?}"),
    }

    sim.telegram
        .edit_message(NEWS, id, "Breaking: telesim ships today")
        .unwrap();
    match next_message_update(&mut updates).await {
        Update::MessageEdited(m) => {
            assert_eq!(m.id(), id);
            assert_eq!(m.text(), "Breaking: telesim ships today");
        }
        other => panic!("expected the edit, got {other:?}"),
    }

    sim.telegram.delete_messages(NEWS, &[id]).unwrap();
    match next_message_update(&mut updates).await {
        Update::MessageDeleted(d) => {
            assert_eq!(d.messages(), &[id]);
            assert_eq!(d.channel_id(), Some(NEWS));
        }
        other => panic!("expected the deletion, got {other:?}"),
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn messages_posted_while_disconnected_are_caught_up_in_order() {
    let sim = Sim::start(World::demo()).await.unwrap();
    let mut alice = connect(&sim, ALICE);
    let mut updates = stream(&mut alice).await;
    let first = sim
        .telegram
        .post_message(NEWS, NewMessage::text("before the outage"))
        .unwrap();
    match next_message_update(&mut updates).await {
        Update::NewMessage(m) => assert_eq!(m.id(), first),
        other => panic!("expected the first message, got {other:?}"),
    }

    assert_eq!(sim.faults.drop_connections(ALICE), 1);
    let missed: Vec<i32> = ["missed one", "missed two"]
        .into_iter()
        .map(|text| {
            sim.telegram
                .post_message(NEWS, NewMessage::text(text))
                .unwrap()
        })
        .collect();
    // Back online: the next call reconnects; the next live update reveals the pts gap, and
    // grammers fills it with updates.getChannelDifference.
    guarded("get_me after the outage", alice.client.get_me())
        .await
        .unwrap();
    let after = sim
        .telegram
        .post_message(NEWS, NewMessage::text("after the outage"))
        .unwrap();

    let mut seen = Vec::new();
    while seen.len() < 3 {
        if let Update::NewMessage(m) = next_message_update(&mut updates).await {
            seen.push((m.id(), m.text().to_string()));
        }
    }
    assert_eq!(
        seen,
        vec![
            (missed[0], "missed one".to_string()),
            (missed[1], "missed two".to_string()),
            (after, "after the outage".to_string()),
        ]
    );
    assert!(sim.counters.get(ALICE, "updates.getChannelDifference") >= 1);
    sim.shutdown().await;
}
