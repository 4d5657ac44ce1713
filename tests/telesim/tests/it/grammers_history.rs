//! grammers against telesim: reading whole histories and searching them.

use telesim::Sim;
use telesim::world::World;
use telesim::world::demo::{ALICE, NEWS};
use telesim::world::generated::{ACCOUNT_IDS, FIRST_CHANNEL_ID};
use testkit::connected::connect;
use testkit::guarded;

#[tokio::test]
async fn the_full_history_of_a_10000_message_channel_arrives_in_order_without_gaps() {
    let sim = Sim::start(World::generated(1, 10_000, 11)).await.unwrap();
    let reader = ACCOUNT_IDS[0];
    let connected = connect(&sim, reader);
    let channel = guarded(
        "resolve",
        connected.client.resolve_username("gen_channel_0"),
    )
    .await
    .unwrap()
    .expect("gen_channel_0 exists");
    assert_eq!(channel.id().bare_id(), Some(FIRST_CHANNEL_ID));
    let channel = channel.to_ref().await.unwrap().expect("usable peer");

    let mut messages = connected.client.iter_messages(channel);
    let mut ids = Vec::with_capacity(10_000);
    while let Some(message) = guarded("a page of history", messages.next()).await.unwrap() {
        ids.push(message.id());
    }
    let expected: Vec<i32> = (1..=10_000).rev().collect();
    assert_eq!(ids.len(), expected.len(), "no message missing or repeated");
    assert_eq!(ids, expected, "newest first, each id once");
    // grammers asks 100 at a time: the network was used once per page, not once per message.
    let pages = sim.counters.get(reader, "messages.getHistory");
    assert!((100..=101).contains(&pages), "{pages} getHistory calls");
    sim.shutdown().await;
}

#[tokio::test]
async fn search_returns_the_matching_messages_newest_first() {
    let sim = Sim::start(World::demo()).await.unwrap();
    let alice = connect(&sim, ALICE);
    let news = guarded("resolve", alice.client.resolve_username("telesim_news"))
        .await
        .unwrap()
        .expect("telesim_news exists")
        .to_ref()
        .await
        .unwrap()
        .expect("usable peer");

    let mut found = alice.client.search_messages(news).query("launch");
    let mut hits = Vec::new();
    while let Some(message) = guarded("a page of search", found.next()).await.unwrap() {
        hits.push((message.id(), message.text().to_string()));
    }
    let world = World::demo();
    let mut expected: Vec<i32> = world.chats[&NEWS]
        .messages
        .iter()
        .filter(|m| m.text.to_lowercase().contains("launch"))
        .map(|m| m.id)
        .collect();
    expected.reverse();
    assert!(!expected.is_empty());
    assert_eq!(hits.iter().map(|(id, _)| *id).collect::<Vec<_>>(), expected);
    assert!(
        hits.iter()
            .all(|(_, text)| text.to_lowercase().contains("launch"))
    );
    assert!(sim.counters.get(ALICE, "messages.search") >= 1);
    sim.shutdown().await;
}
