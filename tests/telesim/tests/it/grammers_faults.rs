//! grammers against telesim: each injected fault, observed the way Telegram presents it.
//!
//! Latency and bandwidth can only be observed as time; those tests check lower bounds (an answer
//! cannot come before it was allowed to), never upper bounds, so they cannot flake.

use std::time::{Duration, Instant};

use grammers_client::media::Media;
use telesim::world::World;
use telesim::world::demo::{ALICE, BOB};
use telesim::{FaultSpan, Sim};
use testkit::connected::{connect, rpc_error};
use testkit::guarded;

#[tokio::test]
async fn flood_wait_for_n_calls_is_an_rpc_error_with_the_seconds_as_value() {
    let sim = Sim::start(World::demo()).await.unwrap();
    let alice = connect(&sim, ALICE);
    sim.faults
        .flood_wait(ALICE, "contacts.resolveUsername", 30, FaultSpan::Calls(2));
    for _ in 0..2 {
        let result = guarded("resolve", alice.client.resolve_username("telesim_news")).await;
        assert_eq!(rpc_error(result), (420, "FLOOD_WAIT".to_string(), Some(30)));
    }
    let resolved = guarded("resolve", alice.client.resolve_username("telesim_news")).await;
    assert!(
        matches!(resolved, Ok(Some(_))),
        "the wait lifted after 2 calls: {resolved:?}"
    );
    // Calls answered with a fault count too: the client did use the network.
    assert_eq!(sim.counters.get(ALICE, "contacts.resolveUsername"), 3);
    // Other accounts and other methods are not affected.
    sim.faults
        .flood_wait(ALICE, "contacts.resolveUsername", 30, FaultSpan::Calls(1));
    let bob = connect(&sim, BOB);
    assert!(
        guarded("resolve", bob.client.resolve_username("telesim_news"))
            .await
            .is_ok()
    );
    assert!(guarded("get_me", alice.client.get_me()).await.is_ok());
    sim.shutdown().await;
}

#[tokio::test]
async fn flood_wait_for_a_window_reports_the_seconds_left() {
    let sim = Sim::start(World::demo()).await.unwrap();
    let alice = connect(&sim, ALICE);
    let until = Instant::now() + Duration::from_secs(120);
    sim.faults
        .flood_wait(ALICE, "users.getUsers", 120, FaultSpan::Until(until));
    let (code, name, value) = rpc_error(guarded("get_me", alice.client.get_me()).await);
    assert_eq!((code, name.as_str()), (420, "FLOOD_WAIT"));
    let left = value.expect("FLOOD_WAIT carries its seconds");
    assert!((1..=120).contains(&left), "{left} seconds left");
    sim.faults.clear_flood_wait(ALICE, "users.getUsers");
    assert!(guarded("get_me", alice.client.get_me()).await.is_ok());
    sim.shutdown().await;
}

#[tokio::test]
async fn an_unregistered_auth_key_is_401_until_restored() {
    let sim = Sim::start(World::demo()).await.unwrap();
    let alice = connect(&sim, ALICE);
    let bob = connect(&sim, BOB);
    assert!(guarded("get_me", alice.client.get_me()).await.is_ok());

    sim.faults.auth_key_unregistered(ALICE);
    let result = guarded("get_me", alice.client.get_me()).await;
    assert_eq!(
        rpc_error(result),
        (401, "AUTH_KEY_UNREGISTERED".to_string(), None)
    );
    let authorized = guarded("is_authorized", alice.client.is_authorized()).await;
    assert!(matches!(authorized, Ok(false)), "{authorized:?}");
    assert!(
        guarded("get_me", bob.client.get_me()).await.is_ok(),
        "Bob is unaffected"
    );

    sim.faults.restore_auth_key(ALICE);
    assert!(guarded("get_me", alice.client.get_me()).await.is_ok());
    sim.shutdown().await;
}

#[tokio::test]
async fn latency_holds_back_the_answer_but_not_the_connection() {
    let sim = Sim::start(World::demo()).await.unwrap();
    let alice = connect(&sim, ALICE);
    guarded("get_me", alice.client.get_me()).await.unwrap();
    let delay = Duration::from_millis(300);
    sim.faults.method_latency("contacts.resolveUsername", delay);

    let started = Instant::now();
    let finished = std::sync::Mutex::new(Vec::new());
    let slow = async {
        let resolved = alice.client.resolve_username("telesim_news").await;
        finished.lock().unwrap().push("resolve");
        resolved
    };
    let fast = async {
        let me = alice.client.get_me().await;
        finished.lock().unwrap().push("get_me");
        me
    };
    let (slow, fast) = guarded("both calls", async { tokio::join!(slow, fast) }).await;
    assert!(slow.unwrap().is_some());
    assert!(fast.is_ok());
    // The held-back answer did not hold up the other call on the same connection.
    assert_eq!(*finished.lock().unwrap(), ["get_me", "resolve"]);
    assert!(
        started.elapsed() >= delay,
        "the resolve answer was held back"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn the_bandwidth_cap_paces_downloads() {
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
    let mut iter = alice.client.iter_messages(news);
    let mut document = None;
    while let Some(m) = guarded("history", iter.next()).await.unwrap() {
        if let Some(media @ Media::Document(_)) = m.media() {
            document = Some(media);
            break;
        }
    }
    let document = document.expect("a document in the news");

    let rate = 2_000_000u64;
    sim.faults.bandwidth(Some(rate));
    let started = Instant::now();
    let mut chunks = alice.client.iter_download(&document);
    let mut size = 0u64;
    while let Some(chunk) = guarded("a chunk", chunks.next()).await.unwrap() {
        size += chunk.len() as u64;
    }
    let floor = Duration::from_secs_f64(size as f64 / rate as f64);
    assert!(size > 0);
    assert!(
        started.elapsed() >= floor,
        "{size} bytes at {rate} B/s take at least {floor:?}"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn grammers_survives_a_dropped_connection() {
    let sim = Sim::start(World::demo()).await.unwrap();
    let alice = connect(&sim, ALICE);
    guarded("get_me", alice.client.get_me()).await.unwrap();
    assert_eq!(sim.faults.open_connections(ALICE), 1);

    assert_eq!(sim.faults.drop_connections(ALICE), 1);
    // The next call notices the closed socket and is retried on a new connection.
    let me = guarded("get_me after the drop", alice.client.get_me())
        .await
        .unwrap();
    assert_eq!(me.id().bare_id(), Some(ALICE));
    assert_eq!(sim.faults.open_connections(ALICE), 1);
    assert_eq!(sim.faults.drop_all_connections(), 1);
    assert!(
        guarded("get_me after dropping all", alice.client.get_me())
            .await
            .is_ok()
    );
    sim.shutdown().await;
}
