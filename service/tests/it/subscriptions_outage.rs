//! Nothing is lost when RabbitMQ goes away or the gateway stops: the broker link is cut
//! mid-stream through a TCP proxy the test controls, and the gateway is stopped with events
//! still unconfirmed while more messages are posted; everything arrives afterwards, in
//! order, any repeat carrying the same message_id.

use std::time::Duration;

use testkit::broker::{amqp_url, broker_addr};
use testkit::guarded;
use testkit::proxy::Proxy;
use testkit::stream_setup::{self, JOINED, Received, Setup, wait_for};
use tgc_service::publisher::{Outbox, PublisherHandle};

/// Every delivery of an id carried the same body: a repeat is a redelivery, not news.
fn assert_repeats_are_identical(received: &Received) {
    assert!(
        received.changed_repeats.is_empty(),
        "repeats that differ: {:?}",
        received.changed_repeats
    );
}

/// Posts `count` messages in bursts of 50, each accepted before the next: grammers 0.11
/// drops what does not fit its 100-batch update channel when telesim packs a larger burst
/// into one container, and a dropped tail only shows with the chat's next update.
async fn post_in_bursts(
    setup: &Setup,
    publisher: &PublisherHandle,
    posted: &mut Vec<i32>,
    count: usize,
    label: &str,
) {
    for _ in 0..count / 50 {
        let accepted = publisher.stats().accepted + 50;
        posted.extend(setup.post(JOINED, 50, label));
        wait_for("a burst accepted", publisher, publisher.accepted(), |n| {
            n >= accepted
        })
        .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_posted_while_the_broker_link_is_cut_arrive_once_it_is_back() {
    let setup = stream_setup::start("link_cut").await;
    let mut tail = setup.tail().await;
    let proxy = Proxy::start(broker_addr()).await;
    let (_pool, publisher) = setup.publisher(&proxy.url()).await;

    let mut posted = Vec::new();
    post_in_bursts(&setup, &publisher, &mut posted, 300, "before the cut").await;
    wait_for(
        "the first events confirmed",
        &publisher,
        publisher.published(),
        |n| n >= 300,
    )
    .await;

    proxy.cut();
    post_in_bursts(&setup, &publisher, &mut posted, 300, "during the cut").await;
    assert!(
        !publisher.outbox().is_empty(),
        "with the link cut, the events wait in the outbox: {:?}",
        publisher.stats()
    );
    assert!(publisher.stats().published < 600);

    proxy.restore();
    let received = Received::until(&mut tail, |r| r.distinct() >= 600).await;
    assert_eq!(received.new_ids(JOINED), posted, "all of them, in order");
    assert_repeats_are_identical(&received);
    wait_for(
        "the outbox drained",
        &publisher,
        publisher.published(),
        |n| n >= 600,
    )
    .await;
    assert!(publisher.outbox().is_empty());
    publisher.shutdown().await;
    setup.finish(tail).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_sends_the_outbox_and_catches_up_on_what_was_posted_while_down() {
    let setup = stream_setup::start("restart").await;
    let mut tail = setup.tail().await;

    // First run: the broker is unreachable, so every event stays in the outbox.
    let proxy = Proxy::start(broker_addr()).await;
    proxy.cut();
    let (pool, publisher) = setup.publisher(&proxy.url()).await;
    let mut posted = Vec::new();
    post_in_bursts(&setup, &publisher, &mut posted, 200, "queued").await;
    assert_eq!(publisher.stats().published, 0);
    publisher.shutdown().await;
    drop(pool);
    let outbox = Outbox::open_in(&setup.data(), 1_000_000).unwrap();
    assert_eq!(outbox.len(), 200, "the unconfirmed events are on disk");
    drop(outbox);

    // While the gateway is down, the channel goes on.
    posted.extend(setup.post(JOINED, 150, "while down"));

    // Second run: the outbox drains first, then grammers catches up from the update state
    // the first run saved in the session files.
    let (_pool, publisher) = setup.publisher(&amqp_url()).await;
    let received = Received::until(&mut tail, |r| r.distinct() >= 350).await;
    assert_eq!(received.new_ids(JOINED), posted, "nothing lost, in order");
    assert_repeats_are_identical(&received);
    assert_eq!(received.duplicates(), 0);
    publisher.shutdown().await;
    setup.finish(tail).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_outbox_holds_the_stream_back_instead_of_dropping_events() {
    let setup = stream_setup::start("outbox_cap").await;
    let mut tail = setup.tail().await;
    let proxy = Proxy::start(broker_addr()).await;
    proxy.cut();
    let mut config = setup.publisher_config(&proxy.url());
    config.outbox_max_events = 20;
    let (_pool, publisher) = setup.publisher_with(config).await;

    // Five times the cap while the broker is away: the outbox fills, the stream waits.
    let posted = setup.post(JOINED, 100, "over the cap");
    wait_for(
        "the outbox at its cap",
        &publisher,
        publisher.accepted(),
        |n| n >= 20,
    )
    .await;
    let waiting = guarded("the stream waits for room", async {
        loop {
            let stats = publisher.stats();
            if stats.streams_waiting > 0 {
                break stats;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    assert_eq!(waiting.outbox, 20, "never past the cap: {waiting:?}");

    proxy.restore();
    let received = Received::until(&mut tail, |r| r.distinct() >= posted.len()).await;
    assert_eq!(received.new_ids(JOINED), posted, "all of them, in order");
    assert_repeats_are_identical(&received);
    publisher.shutdown().await;
    setup.finish(tail).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stream_goes_on_after_telegram_drops_the_accounts_connections() {
    let setup = stream_setup::start("telegram_drop").await;
    let mut tail = setup.tail().await;
    let (_pool, publisher) = setup.publisher(&amqp_url()).await;
    let mut posted = setup.post(JOINED, 5, "before the drop");
    let mut received = Received::until(&mut tail, |r| r.distinct() >= posted.len()).await;

    for round in 0..3 {
        let dropped = setup.sim.faults.drop_all_connections();
        assert!(dropped > 0, "round {round}: connections were open");
        posted.extend(setup.post(JOINED, 5, &format!("after drop {round}")));
        received
            .read_until(&mut tail, |r| r.distinct() >= posted.len())
            .await;
    }
    assert_eq!(received.new_ids(JOINED), posted, "all of them, in order");
    publisher.shutdown().await;
    setup.finish(tail).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_that_cannot_start_is_started_again_until_it_runs() {
    let setup = stream_setup::start("stream_restart").await;
    let mut tail = setup.tail().await;
    let pool = setup.pool().await;
    // Another program holds every session file locked (a sqlite3 shell, a backup, Telethon):
    // the streams cannot read their update state, so they cannot start.
    let locks: Vec<rusqlite::Connection> = std::fs::read_dir(setup.sessions())
        .expect("the sessions")
        .map(|entry| entry.expect("an entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "session"))
        .map(|path| {
            let lock = rusqlite::Connection::open(&path).expect("opens");
            lock.execute_batch("begin exclusive").expect("locked");
            lock
        })
        .collect();
    assert_eq!(locks.len(), 2);
    let joinmap = std::sync::Arc::new(
        tgc_model::joinmap::JoinMap::open_in(&setup.data()).expect("the join map"),
    );
    let publisher = tgc_service::publisher::Publisher::start(
        setup.publisher_config(&amqp_url()),
        joinmap,
        std::sync::Arc::clone(&pool),
        tokio_util::sync::CancellationToken::new(),
    )
    .expect("the publisher starts");
    let failed = guarded("a stream fails to start and is started again", async {
        loop {
            let stats = publisher.stats();
            if stats.stream_restarts > 0 {
                break stats;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    assert_eq!(failed.streams, 2, "{failed:?}");

    drop(locks);
    let posted = setup.post(JOINED, 5, "after the locks");
    let received = Received::until(&mut tail, |r| r.distinct() >= posted.len()).await;
    assert_eq!(received.new_ids(JOINED), posted, "all of them, in order");
    publisher.shutdown().await;
    setup.finish(tail).await;
}
