//! The real binary as a process: SIGTERM while requests are in flight lets them complete
//! with their replies, refuses new connections, and the process exits 0; SIGHUP reopens
//! its log file after a rotation; at start it raises its own open-file limit.

use std::time::Duration;

use crate::gateway_support::{HANG_GUARD, Options, ServedGateway, json};

const IN_FLIGHT: u64 = 4;

#[tokio::test]
async fn sigterm_lets_in_flight_requests_finish_then_exits_zero() {
    let gateway = ServedGateway::start().await;
    // Resolve first, so that the slow calls counted below are the histories themselves.
    gateway
        .client()
        .await
        .query("resolve", &json(r#"{"chat": "@tech_digest"}"#))
        .await
        .unwrap();
    // Every history call is held back by telesim, which keeps the requests in flight.
    gateway
        .sim
        .faults
        .method_latency("messages.getHistory", Duration::from_secs(2));

    let mut requests = tokio::task::JoinSet::new();
    for _ in 0..IN_FLIGHT {
        let mut client = gateway.client().await;
        requests.spawn(async move {
            client
                .query("history", &json(r#"{"chat": "@tech_digest", "limit": 3}"#))
                .await
        });
    }
    // In flight: telesim has received every call (it counts a call before holding it back).
    tokio::time::timeout(HANG_GUARD, async {
        while gateway.sim.counters.method_total("messages.getHistory") < IN_FLIGHT {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("the requests reach telesim");

    gateway.terminate();
    let mut served = 0;
    while let Some(result) = tokio::time::timeout(HANG_GUARD, requests.join_next())
        .await
        .expect("the in-flight requests complete")
    {
        let reply = result
            .expect("request task")
            .expect("an in-flight request gets its reply");
        assert_eq!(reply["messages"].as_array().map(Vec::len), Some(3));
        served += 1;
    }
    assert_eq!(served, IN_FLIGHT);

    let api = gateway.api;
    let status = tokio::time::timeout(HANG_GUARD, gateway.wait())
        .await
        .expect("the server exits");
    assert_eq!(
        status.code(),
        Some(0),
        "a clean shutdown exits 0: {status:?}"
    );
    assert!(
        tokio::net::TcpStream::connect(api).await.is_err(),
        "nothing listens after the exit"
    );
}

#[tokio::test]
async fn a_low_soft_limit_on_open_files_is_raised_to_the_hard_limit_at_start() {
    let mut gateway = ServedGateway::start_with(Options {
        open_files: Some((256, 4096)),
        ..Options::default()
    })
    .await;
    let limits = std::fs::read_to_string(format!("/proc/{}/limits", gateway.pid()))
        .expect("the server's /proc limits");
    let open_files = limits
        .lines()
        .find(|line| line.starts_with("Max open files"))
        .expect("a Max open files line");
    let numbers: Vec<&str> = open_files.split_whitespace().skip(3).take(2).collect();
    assert_eq!(numbers, ["4096", "4096"], "{open_files}");
    let raised = gateway
        .log
        .drain()
        .iter()
        .any(|line| line.contains("open-file limit raised") && line.contains("from=256"));
    assert!(raised, "the log says so: {:?}", gateway.log.seen());
    let (status, ready) = gateway.operator_get("/readyz").await;
    assert_eq!(status, 200, "{ready}");
    assert!(!ready.contains("descriptors"), "{ready}");
}

/// Waits until the file at `path` exists and has a line containing `what`; its text.
async fn until_file_says(path: &std::path::Path, what: &str) -> String {
    let said = async {
        loop {
            if let Ok(text) = std::fs::read_to_string(path)
                && text.contains(what)
            {
                return text;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    tokio::time::timeout(HANG_GUARD, said)
        .await
        .unwrap_or_else(|_| panic!("{} never said {what:?}", path.display()))
}

/// logrotate moves the log file away and sends SIGHUP: the daemon keeps running and its next
/// lines start a new file under the configured name; the old file keeps what came before.
#[tokio::test]
async fn sighup_reopens_the_log_file_after_a_rotation() {
    let testkit::Setup { dir, .. } =
        testkit::Setup::start("log_reopen", telesim::world::World::demo()).await;
    let config = dir.path().join("config.properties");
    let log = dir.path().join("log").join("gateway.log");
    std::fs::write(
        &config,
        testkit::gateway_config::gateway_properties(
            &tgc_service::cryptor::keygen::generate(),
            &format!("log.file = {}", log.display()),
        ),
    )
    .unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_tgcollector"))
        .arg("--config")
        .arg(&config)
        .arg("serve")
        .env_remove("RUST_LOG")
        .stdin(std::process::Stdio::null())
        .spawn()
        .expect("the tgcollector binary starts");
    let signal = |name: &str| {
        let status = std::process::Command::new("kill")
            .args([name, &child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill {name} failed");
    };
    until_file_says(&log, "listening").await;

    let rotated = log.with_extension("log.1");
    std::fs::rename(&log, &rotated).unwrap();
    signal("-HUP");
    let fresh = until_file_says(&log, "log file reopened").await;
    assert!(!fresh.contains("listening"), "a new file: {fresh}");
    let old = std::fs::read_to_string(&rotated).unwrap();
    assert!(old.contains("listening"), "{old}");
    assert!(!old.contains("reopened"), "{old}");

    signal("-TERM");
    let status = tokio::task::spawn_blocking(move || child.wait())
        .await
        .unwrap()
        .expect("the server exits");
    assert!(
        status.success(),
        "alive after SIGHUP, clean at SIGTERM: {status}"
    );
    let last = std::fs::read_to_string(&log).unwrap();
    assert!(
        last.lines().count() > fresh.lines().count(),
        "the shutdown went to the new file: {last}"
    );
}
