//! Where published events go when no consumer has bound a queue: by default into the
//! gateway's own durable queue (`rabbitmq.queue`); with none configured, nowhere, so they
//! stay in the outbox (RabbitMQ returns a `mandatory` publish that reaches no queue) until a
//! queue is bound, in order.

use std::time::Duration;

use testkit::broker::{amqp_url, take_from_queue};
use testkit::guarded;
use testkit::stream_setup::{self, JOINED, Received, marked};
use tgc_service::publisher::PublisherHandle;

/// Waits until RabbitMQ has confirmed `count` events.
async fn until_confirmed(publisher: &PublisherHandle, count: usize) {
    let mut published = publisher.published();
    guarded(
        "every event confirmed",
        published.wait_for(|n| *n >= count as u64),
    )
    .await
    .expect("the publisher runs");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_no_consumer_events_reach_the_gateways_own_queue() {
    let setup = stream_setup::start("own_queue").await;
    let mut config = setup.publisher_config(&amqp_url());
    // The test's own queue, named after its exchange so the clean-up deletes it.
    config.queue = Some(setup.exchange.clone());
    let (_pool, publisher) = setup.publisher_with(config).await;

    let posted = setup.post(JOINED, 30, "nobody listening");
    until_confirmed(&publisher, posted.len()).await;
    let taken = take_from_queue(&setup.exchange, posted.len()).await;
    let ids: Vec<String> = taken.iter().map(|(id, _)| id.clone()).collect();
    let expected: Vec<String> = posted
        .iter()
        .map(|id| format!("{}:{id}:new:0", marked(JOINED)))
        .collect();
    assert_eq!(ids, expected, "every event, in order, in the queue");
    assert_eq!(publisher.stats().unroutable, 0);
    publisher.shutdown().await;
    testkit::broker::delete_exchange(&setup.exchange).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_no_queue_receives_stays_in_the_outbox_until_one_is_bound() {
    let setup = stream_setup::start("no_queue").await;
    let (_pool, publisher) = setup.publisher(&amqp_url()).await;

    let posted = setup.post(JOINED, 10, "routed nowhere");
    let stats = guarded("RabbitMQ returns the first event", async {
        loop {
            let stats = publisher.stats();
            if stats.unroutable > 0 && stats.accepted >= 10 {
                break stats;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    assert!(stats.unroutable_now, "{stats:?}");
    assert_eq!(stats.published, 0, "nothing counts as delivered: {stats:?}");
    assert_eq!(
        publisher.outbox().len(),
        10,
        "every event waits in the outbox"
    );

    // A consumer binds its queue: the events come, in order, once each.
    let mut tail = setup.tail().await;
    let received = Received::until(&mut tail, |r| r.distinct() >= posted.len()).await;
    assert_eq!(received.new_ids(JOINED), posted, "all of them, in order");
    assert_eq!(received.duplicates(), 0);
    // The consumer may see the events before their confirms reach the gateway.
    until_confirmed(&publisher, posted.len()).await;
    assert!(!publisher.stats().unroutable_now);
    publisher.shutdown().await;
    setup.finish(tail).await;
}
