//! `tgcollector serve` killed with SIGKILL mid-stream and started again: every message
//! posted before, during and after the kill reaches a consumer, in order, and any repeat
//! carries the same message_id and body.
//!
//! This is the whole gateway as an operator runs it: telesim, the real binary with the
//! live stream on (a per-test exchange of the real RabbitMQ on 127.0.0.1:5672), the chat
//! joined through the sealed `join` API (so the join map is written by the handler, as in
//! production), and the kill that leaves no chance to save anything: what survives is what
//! the outbox and the session files already held.

use std::time::Duration;

use crate::gateway_support::{ServedGateway, Stream, json};
use telesim::world::demo::TECH_DIGEST;
use testkit::stream_setup::{Received, marked};
use tgc_service::handler::gateway_client::Value;
use tgc_service::publisher::Tail;

/// A guard against a hang: generous, never a measurement.
const HANG_GUARD: Duration = Duration::from_secs(180);

/// Posted before the kill; the kill comes once the consumer has seen [`KILL_AFTER`].
const BEFORE: usize = 2_000;
const KILL_AFTER: usize = 300;
/// Posted while the gateway is down.
const WHILE_DOWN: usize = 500;

/// Reads until `done`; a hang fails the test with what arrived and the server's log.
async fn read_until(
    received: &mut Received,
    tail: &mut Tail,
    gateway: &mut ServedGateway,
    what: &str,
    done: impl Fn(&Received) -> bool,
) {
    let reading = async {
        while !done(received) {
            received.read_one(tail).await;
        }
    };
    if tokio::time::timeout(HANG_GUARD, reading).await.is_err() {
        let log = gateway.log.drain();
        panic!(
            "{what}: not there within {HANG_GUARD:?} ({} distinct events received); \
             the server's log:\n{}",
            received.distinct(),
            log.join("\n")
        );
    }
}

/// The API's record of the chat, if any.
fn subscription(reply: &Value) -> Option<&Value> {
    reply["subscriptions"]
        .as_array()
        .expect("a subscriptions array")
        .iter()
        .find(|c| c["id"] == marked(TECH_DIGEST))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_killed_mid_stream_loses_nothing_after_restart() {
    // The consumer binds first: everything published from the first post on is queued.
    let mut stream = Stream::bind("kill_serve").await;
    let mut gateway = stream.gateway().await;

    let mut client = gateway.client().await;
    let joined = client
        .query("join", &json(r#"{"chat": "@tech_digest"}"#))
        .await
        .expect("join");
    let subscriptions = client
        .query("subscriptions", &json("{}"))
        .await
        .expect("subscriptions");
    let recorded = subscription(&subscriptions).expect("the join is in the join map");
    assert_eq!(
        recorded["accounts"][0]["account"], joined["account"],
        "{subscriptions}"
    );
    assert_eq!(recorded["accounts"][0]["how"], "api", "{subscriptions}");
    drop(client);

    let mut posted = gateway.post(BEFORE, "first run");
    let mut received = Received::default();
    read_until(
        &mut received,
        &mut stream.tail,
        &mut gateway,
        "the first events",
        |r| r.distinct() >= KILL_AFTER,
    )
    .await;
    // SIGKILL: no shutdown, no last save of the update state, publishes in flight.
    gateway.kill();
    assert!(
        received.distinct() < posted.len(),
        "the kill came mid-stream ({} of {} received)",
        received.distinct(),
        posted.len()
    );

    posted.extend(gateway.post(WHILE_DOWN, "while down"));
    gateway.restart().await;
    let (status, ready) = gateway.operator_get("/readyz").await;
    assert_eq!(status, 200, "{ready}");
    assert!(
        ready.contains("publisher"),
        "/readyz reports the publisher: {ready}"
    );
    read_until(
        &mut received,
        &mut stream.tail,
        &mut gateway,
        "every posted message",
        |r| r.distinct() >= posted.len(),
    )
    .await;

    assert_eq!(
        received.new_ids(TECH_DIGEST),
        posted,
        "nothing lost, in order"
    );
    assert!(
        received.changed_repeats.is_empty(),
        "repeats carry the same id and body: {:?}",
        received.changed_repeats
    );
    println!(
        "{} events, {} repeats after the kill",
        received.distinct(),
        received.duplicates()
    );

    // Leave nothing behind in the broker.
    stream.finish().await;
}
