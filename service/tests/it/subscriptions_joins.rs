//! Joins and leaves seen in Telegram's updates keep the join map current, and the stream
//! follows it: a channel an account joins outside the join map's writers starts streaming,
//! and stops once the account leaves.

use grammers_client::tl;
use testkit::broker::amqp_url;
use testkit::guarded;
use testkit::stream_setup::{self, ALICE, JOIN_LATER, JOINED, Received, Setup};
use tgc_model::joinmap::JoinHow;
use tgc_model::teleclient::{AccountId, PeerId, PeerRef, TeleClient};
use tgc_service::publisher::Tail;

/// The channel as `account` sees it, resolved over the account's own connection.
async fn channel_ref(account: &TeleClient) -> PeerRef {
    let peer = guarded("resolve", account.client().resolve_username("join_later"))
        .await
        .expect("resolved")
        .expect("the channel exists");
    guarded("peer ref", peer.to_ref())
        .await
        .expect("a reference")
        .expect("with an access hash")
}

/// Posts in the joined channel and reads until that post arrives: everything the streams
/// did before it is done.
async fn marker(setup: &Setup, tail: &mut Tail, received: &mut Received) {
    setup.post(JOINED, 1, "marker");
    let markers = received.new_ids(JOINED).len() + 1;
    received
        .read_until(tail, |r| r.new_ids(JOINED).len() >= markers)
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn joining_and_leaving_on_telegram_starts_and_stops_a_chats_stream() {
    let setup = stream_setup::start("joins").await;
    let mut tail = setup.tail().await;
    let (pool, publisher) = setup.publisher(&amqp_url()).await;
    let alice = pool
        .account(AccountId(ALICE))
        .expect("Alice is in the pool");
    let channel = channel_ref(alice).await;
    let later = PeerId::channel_unchecked(JOIN_LATER);

    guarded(
        "join",
        alice
            .client()
            .invoke(&tl::functions::channels::JoinChannel {
                channel: (&channel).into(),
            }),
    )
    .await
    .expect("joined");
    // The join reaches the stream as updateChannel; a post after it is published once the
    // join map knows, so post until one arrives.
    let mut received = Received::default();
    guarded("the joined chat's first event", async {
        while received.new_ids(JOIN_LATER).is_empty() {
            setup.post(JOIN_LATER, 1, "after the join");
            marker(&setup, &mut tail, &mut received).await;
        }
    })
    .await;
    let subscriptions = publisher.joinmap().subscriptions().unwrap();
    let recorded = subscriptions
        .iter()
        .find(|s| s.chat == later)
        .expect("the join is in the join map");
    assert_eq!(
        (recorded.account, recorded.how),
        (AccountId(ALICE), JoinHow::Telegram)
    );

    guarded(
        "leave",
        alice
            .client()
            .invoke(&tl::functions::channels::LeaveChannel {
                channel: (&channel).into(),
            }),
    )
    .await
    .expect("left");
    // The leave reaches Alice's stream as updateChannel with `left`; markers give it the
    // time it needs, without a sleep.
    guarded("the join map forgets the chat", async {
        while !publisher.joinmap().holders(later).unwrap().is_empty() {
            marker(&setup, &mut tail, &mut received).await;
        }
    })
    .await;
    // Asked of the message posted after the leave itself: messages posted while joined
    // (the loop above may post more than one) can still be arriving, and rightly published.
    let after_leave = setup.post(JOIN_LATER, 1, "after the leave");
    marker(&setup, &mut tail, &mut received).await;
    let published = received.new_ids(JOIN_LATER);
    assert!(
        after_leave.iter().all(|id| !published.contains(id)),
        "nothing of a left chat is published: {after_leave:?} in {published:?}"
    );
    publisher.shutdown().await;
    setup.finish(tail).await;
}
