//! `tgcollector serve` whose `data/` fills up while live messages arrive: no message is lost,
//! and none is published twice unless the gateway is killed. The stream stops at the first
//! update whose events the outbox cannot take, waits, and goes on by itself once there is
//! room; stopped or killed while waiting and restarted, it asks Telegram again for what it
//! had not handled.
//!
//! The full filesystem is real: `data/` is a small tmpfs the test fills with a file, so the
//! outbox meets `SQLITE_FULL` as it would on a full disk. RabbitMQ is cut (through a proxy)
//! while the disk is full, as in the outage that fills disks in production: the outbox must
//! grow, where otherwise its drained pages would be reused.

use std::time::Duration;

use crate::gateway_support::{Options, ServedGateway, Stream};
use telesim::world::demo::TECH_DIGEST;
use testkit::broker::broker_addr;
use testkit::guarded;
use testkit::proxy::Proxy;
use testkit::stream_setup::Received;
use tgc_service::publisher::Tail;

/// Messages posted at a time while `data/` is full, until the stream waits.
const PER_ROUND: usize = 500;

/// A counter or gauge of `/metrics` (0 when absent).
async fn metric(gateway: &ServedGateway, name: &str) -> u64 {
    let (_, metrics) = gateway.operator_get("/metrics").await;
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or(0)
}

/// Posts `batch` messages at a time until the stream has failed to write more than `before`
/// times and is waiting: the filesystem really is full. Files the gateway already grew (the
/// outbox's free pages, its WAL) take some messages before a write needs new space, and how
/// many depends on the rounds before, so the test posts until it does.
async fn post_until_waiting(
    gateway: &ServedGateway,
    posted: &mut Vec<i32>,
    batch: usize,
    round: &str,
    before: u64,
) -> u64 {
    guarded("the stream meets the full filesystem", async {
        loop {
            posted.extend(gateway.post(batch, round));
            for _ in 0..20 {
                let retries = metric(gateway, "tgc_publisher_write_retries_total").await;
                if retries > before && metric(gateway, "tgc_publisher_streams_waiting").await > 0 {
                    return retries;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    })
    .await
}

async fn read_all(received: &mut Received, tail: &mut Tail, count: usize) {
    guarded(
        "every posted message",
        received.read_until(tail, |r| r.distinct() >= count),
    )
    .await;
}

/// One round: RabbitMQ away (so the outbox must grow) and `data/` filled while messages are
/// posted, `count` at a time, until the stream waits; then RabbitMQ back. The caller frees
/// the space.
async fn fill_while_posting(
    gateway: &ServedGateway,
    broker: &Proxy,
    posted: &mut Vec<i32>,
    count: usize,
    round: &str,
    retries: &mut u64,
) {
    // What the consumer already has must be confirmed first: cutting the broker between a
    // delivery and its confirm makes RabbitMQ's ordinary repeat, not the disk's.
    guarded("the outbox drained", async {
        while metric(gateway, "tgc_publisher_outbox_events").await > 0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    broker.cut();
    gateway.data_fs.as_ref().expect("data/ on a tmpfs").fill();
    *retries = post_until_waiting(gateway, posted, count, round, *retries).await;
    let (status, ready) = gateway.operator_get("/readyz").await;
    assert_eq!(status, 200, "{ready}");
    assert!(
        ready.contains("stream(s) waiting for the outbox"),
        "/readyz says the stream waits: {ready}"
    );
    broker.restore();
}

fn free(gateway: &ServedGateway) {
    gateway.data_fs.as_ref().expect("data/ on a tmpfs").free();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_data_filesystem_loses_nothing_and_repeats_nothing_short_of_a_kill() {
    let mut stream = Stream::bind("full_disk").await;
    let broker = Proxy::start(broker_addr()).await;
    let mut gateway = stream
        .gateway_with(Options {
            data_tmpfs: Some("16m"),
            rabbitmq_url: Some(broker.url()),
            ..Options::default()
        })
        .await;
    gateway.join_tech_digest().await;
    let mut posted = gateway.post(20, "before");
    let mut received = Received::default();
    read_all(&mut received, &mut stream.tail, posted.len()).await;
    let mut retries = 0;

    // Round 1: space freed while the gateway runs: it goes on by itself.
    fill_while_posting(
        &gateway,
        &broker,
        &mut posted,
        PER_ROUND,
        "round 1",
        &mut retries,
    )
    .await;
    free(&gateway);
    read_all(&mut received, &mut stream.tail, posted.len()).await;

    // Round 2: space freed, and the gateway stopped and started again at once.
    fill_while_posting(
        &gateway,
        &broker,
        &mut posted,
        PER_ROUND,
        "round 2",
        &mut retries,
    )
    .await;
    free(&gateway);
    gateway.terminate();
    gateway.exited().await;
    gateway.restart().await;
    retries = 0; // the counters start again with the process
    // A last message: a repeat of anything before it would arrive before it.
    posted.extend(gateway.post(1, "after round 2"));
    read_all(&mut received, &mut stream.tail, posted.len()).await;
    assert_eq!(
        received.new_ids(TECH_DIGEST),
        posted,
        "every message, in order"
    );
    assert_eq!(received.duplicates(), 0, "nothing published twice");

    // Round 3: the gateway killed while it waits; space freed, then a restart. Events
    // RabbitMQ confirmed whose removal from the full outbox failed are published again
    // after the kill, with the same id and body (at least once across SIGKILL).
    fill_while_posting(
        &gateway,
        &broker,
        &mut posted,
        PER_ROUND,
        "round 3",
        &mut retries,
    )
    .await;
    gateway.kill();
    free(&gateway);
    gateway.restart().await;
    read_all(&mut received, &mut stream.tail, posted.len()).await;
    assert_eq!(
        received.new_ids(TECH_DIGEST),
        posted,
        "every message, in order"
    );
    assert!(
        received.changed_repeats.is_empty(),
        "repeats carry the same id and body: {:?}",
        received.changed_repeats
    );
    stream.finish().await;
}
