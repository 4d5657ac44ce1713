//! The gateway killed with SIGKILL mid-stream and started again: nothing posted before,
//! during or after the kill is lost, the order per chat holds, and any repeat carries the
//! same message_id and body.
//!
//! A kill needs a process to kill, so this test target has no libtest harness: run as is,
//! it is the test (telesim, the consumer and the checks live here); run with `--child`, it
//! is the gateway (a pool and a publisher over the test's session files and data
//! directory), which the test starts, kills and starts again.

mod subscriptions_support;

use std::path::{Path, PathBuf};
use std::process::{ExitCode, Stdio};
use std::sync::Arc;
use std::time::Duration;

use subscriptions_support::{JOINED, Received, Setup, amqp_url, client_config, guarded};
use tgc_model::directory::Directory;
use tgc_model::teleclient::TeleClients;
use tgc_service::publisher::Publisher;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio_util::sync::CancellationToken;

const NAME: &str = "a_gateway_killed_mid_stream_loses_nothing_after_restart";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    if let [flag, dir, exchange] = args.as_slice()
        && flag == "--child"
    {
        runtime.block_on(gateway(PathBuf::from(dir), exchange.clone()));
        return ExitCode::SUCCESS;
    }
    // Like libtest: a name filter that does not match selects nothing.
    let filters: Vec<&String> = args.iter().filter(|a| !a.starts_with('-')).collect();
    if !filters.is_empty() && !filters.iter().any(|f| NAME.contains(f.as_str())) {
        println!("running 0 tests");
        return ExitCode::SUCCESS;
    }
    println!("running 1 test");
    runtime.block_on(killed_mid_stream());
    println!("test {NAME} ... ok");
    ExitCode::SUCCESS
}

/// The gateway process: streams and publishes until killed.
async fn gateway(dir: PathBuf, exchange: String) {
    let data = dir.join("data");
    let directory =
        Directory::open_in(&data, Duration::from_secs(3600)).expect("the username directory");
    let (pool, report) =
        TeleClients::start_from_dir(&dir.join("sessions"), directory, &client_config()).await;
    assert!(report.failed.is_empty(), "{:?}", report.failed);
    let config = Setup::config_for(&data, &exchange, &amqp_url());
    let _publisher = Publisher::start_with(config, Arc::new(pool), CancellationToken::new())
        .await
        .expect("the publisher starts");
    println!("ready");
    std::future::pending::<()>().await;
}

/// Starts the gateway process and waits until it streams.
async fn start_gateway(dir: &Path, exchange: &str) -> Child {
    let mut child = Command::new(std::env::current_exe().expect("this test's executable"))
        .arg("--child")
        .arg(dir)
        .arg(exchange)
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("the gateway process starts");
    let mut stdout = BufReader::new(child.stdout.take().expect("its stdout")).lines();
    let line = guarded("the gateway's start", stdout.next_line())
        .await
        .expect("its stdout is readable");
    assert_eq!(line.as_deref(), Some("ready"), "the gateway did not start");
    child
}

async fn killed_mid_stream() {
    let setup = Setup::new("kill").await;
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
