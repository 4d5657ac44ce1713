//! `tgcollector serve` with the live stream on, stopped with SIGTERM: it exits cleanly
//! after saving each account's update state and closing the AMQP link, and once started
//! again it publishes what was posted while it was stopped, without repeating what it had
//! already published. The operator endpoints show the publisher meanwhile.

use std::time::Duration;

use crate::gateway_support::Stream;
use testkit::guarded;
use tgc_service::publisher::Tail;

/// A guard against a hang: generous, never a measurement.
const HANG_GUARD: Duration = Duration::from_secs(120);

/// Reads `count` events from `tail`, returning their message_ids.
async fn read(tail: &mut Tail, count: usize) -> Vec<String> {
    let reading = async {
        let mut ids = Vec::with_capacity(count);
        while ids.len() < count {
            let event = tail
                .next()
                .await
                .expect("the consumer stays open")
                .expect("a delivery");
            ids.push(event.message_id.expect("every event has a message_id"));
        }
        ids
    };
    tokio::time::timeout(HANG_GUARD, reading)
        .await
        .unwrap_or_else(|_| panic!("{count} events did not arrive within {HANG_GUARD:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_saves_the_stream_state_and_a_restart_publishes_what_came_meanwhile() {
    // The consumer binds first: everything published from the first post on is queued.
    let mut stream = Stream::bind("serve_shutdown").await;
    let mut gateway = stream.gateway().await;
    gateway.join_tech_digest().await;

    gateway.post(20, "before");
    let first = read(&mut stream.tail, 20).await;
    // The consumer may see an event before its confirm reaches the gateway: the count of
    // publishes follows the confirms, so wait for it to move.
    let counted = |metrics: &str| {
        metrics
            .lines()
            .any(|l| l.starts_with("tgc_publisher_published_total ") && !l.ends_with(" 0"))
    };
    let metrics = guarded("/metrics counts the publishes", async {
        loop {
            let (_, metrics) = gateway.operator_get("/metrics").await;
            if counted(&metrics) {
                break metrics;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    assert!(
        metrics.contains("tgc_publisher_outbox_events"),
        "/metrics shows the outbox:\n{metrics}"
    );

    gateway.terminate();
    gateway
        .log
        .wait_for("the publisher stopping", |line| {
            line.contains("publisher stopped")
        })
        .await;
    let status = gateway.exited().await;
    assert!(
        status.success(),
        "the server exits cleanly after SIGTERM: {status}"
    );

    gateway.post(10, "while stopped");
    gateway.restart().await;
    let second = read(&mut stream.tail, 10).await;
    assert!(
        second.iter().all(|id| !first.contains(id)),
        "after a clean stop nothing is published twice: {second:?}"
    );
    let (status, ready) = gateway.operator_get("/readyz").await;
    assert_eq!(status, 200, "{ready}");
    assert!(ready.contains("publisher: link up"), "{ready}");

    stream.finish().await;
}
