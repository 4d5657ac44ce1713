//! The gateway killed with SIGKILL mid-stream and started again: nothing posted before,
//! during or after the kill is lost, the order per chat holds, and any repeat carries the
//! same message_id and body.
//!
//! A kill needs a process to kill, and the gateway here is this test binary itself: the test
//! starts it again as a child running only this test with [`CHILD`] set in its environment,
//! and the child is then the gateway (a pool and a publisher over the test's session files and
//! data directory), which the test kills and starts again.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use testkit::broker::amqp_url;
use testkit::guarded;
use testkit::stream_setup::{self, JOINED, Received};
use tgc_model::directory::Directory;
use tgc_model::joinmap::JoinMap;
use tgc_model::teleclient::TeleClients;
use tgc_service::publisher::Publisher;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio_util::sync::CancellationToken;

/// What the child prints once it streams.
const READY: &str = "killed-gateway: streaming";

/// Set in the child's environment to `<data dir>\n<exchange>`: run as the gateway.
const CHILD: &str = "TGC_TEST_KILLED_GATEWAY";

#[test]
fn a_gateway_killed_mid_stream_loses_nothing_after_restart() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    match std::env::var(CHILD) {
        Ok(child) => {
            let (dir, exchange) = child.split_once('\n').expect("dir and exchange");
            runtime.block_on(gateway(PathBuf::from(dir), exchange.to_owned()));
        }
        Err(_) => runtime.block_on(killed_mid_stream()),
    }
}

/// The gateway process: streams and publishes until killed.
async fn gateway(dir: PathBuf, exchange: String) {
    let data = dir.join("data");
    let directory =
        Directory::open_in(&data, Duration::from_secs(3600)).expect("the username directory");
    let (pool, report) = TeleClients::start_from_dir(
        &dir.join("sessions"),
        directory,
        &testkit::setup::client_config(Duration::from_secs(5)),
    )
    .await;
    assert!(report.failed.is_empty(), "{:?}", report.failed);
    let config = testkit::setup::publisher_config(&data, &exchange, &amqp_url());
    let joinmap = Arc::new(JoinMap::open_in(&data).expect("the join map"));
    let _publisher = Publisher::start(config, joinmap, Arc::new(pool), CancellationToken::new())
        .expect("the publisher starts");
    println!("{READY}");
    std::future::pending::<()>().await;
}

/// Starts the gateway process (this test, as the child) and waits until it streams.
async fn start_gateway(dir: &Path, exchange: &str) -> Child {
    // libtest names a test by its module path without the crate's name.
    let module = module_path!().split_once("::").map_or("", |(_, rest)| rest);
    let test = format!("{module}::a_gateway_killed_mid_stream_loses_nothing_after_restart");
    let mut child = Command::new(std::env::current_exe().expect("this test's executable"))
        .args([test.as_str(), "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD, format!("{}\n{exchange}", dir.display()))
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("the gateway process starts");
    let mut stdout = BufReader::new(child.stdout.take().expect("its stdout")).lines();
    // libtest speaks first ("running 1 test"); the gateway says [`READY`] when it streams.
    let ready = guarded("the gateway's start", async {
        while let Some(line) = stdout.next_line().await.expect("its stdout is readable") {
            // libtest's "test NAME ... " stays unterminated before it: look inside the line.
            if line.contains(READY) {
                return true;
            }
        }
        false
    })
    .await;
    assert!(ready, "the gateway did not start");
    child
}

async fn killed_mid_stream() {
    let setup = stream_setup::start("kill").await;
    let mut tail = setup.tail().await;
    let mut gateway = start_gateway(setup.dir.path(), &setup.exchange).await;

    let mut posted = setup.post(JOINED, 1_000, "first run");
    let mut received = Received::default();
    received
        .read_until(&mut tail, |r| r.distinct() >= 300)
        .await;
    // SIGKILL: no shutdown, no last sync of the update state, publishes in flight.
    gateway.kill().await.expect("SIGKILL");
    assert!(
        received.distinct() < posted.len(),
        "the kill came mid-stream ({} of {} received)",
        received.distinct(),
        posted.len()
    );

    posted.extend(setup.post(JOINED, 500, "while down"));
    let _gateway = start_gateway(setup.dir.path(), &setup.exchange).await;
    received
        .read_until(&mut tail, |r| r.distinct() >= posted.len())
        .await;

    assert_eq!(received.new_ids(JOINED), posted, "nothing lost, in order");
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
    setup.finish(tail).await;
}
