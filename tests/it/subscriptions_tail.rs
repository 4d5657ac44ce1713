//! `tgcollector tail` as an operator runs it: it prints the events of one chat from a
//! temporary queue of the real RabbitMQ on 127.0.0.1:5672, and refuses a chat it cannot read.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use tgc_service::publisher::{BrokerLink, Pending};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

const BINARY: &str = env!("CARGO_BIN_EXE_tgcollector");
const HANG_GUARD: Duration = Duration::from_secs(60);
const BROKER: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";

fn shipped_config() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("config.properties")
}

fn pending(seq: i64, chat: i64, id: i32) -> Pending {
    Pending {
        seq,
        event_id: format!("{chat}:{id}:new:0"),
        routing_key: format!("message.new.{chat}"),
        body: format!("{{\"id\":{id}}}").into_bytes(),
    }
}

#[tokio::test]
async fn tail_prints_the_events_of_one_chat() {
    let exchange = format!("tgc.test.tail.{}", std::process::id());
    let mut child = Command::new(BINARY)
        .arg("--config")
        .arg(shipped_config())
        .args(["tail", "--chat", "-1001", "--count", "2"])
        .env("TGC_RABBITMQ_EXCHANGE", &exchange)
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("run tgcollector");
    // The banner comes once the queue is bound: from then on nothing published is missed.
    let mut stderr = BufReader::new(child.stderr.take().expect("stderr")).lines();
    let banner = tokio::time::timeout(HANG_GUARD, stderr.next_line())
        .await
        .expect("tail starts in time")
        .expect("stderr readable")
        .expect("a banner (is RabbitMQ up? run ./test.sh)");
    assert!(
        banner.contains(&exchange) && banner.contains("message.*.-1001"),
        "{banner}"
    );

    // A catch-all queue (named after the exchange), so that the other chat's event is
    // routed somewhere: the link keeps an unroutable event and tries it again.
    let link = BrokerLink::open(BROKER, &exchange, Some(&exchange))
        .await
        .expect("RabbitMQ on 127.0.0.1:5672 (run ./test.sh to start it)");
    let batch = [
        pending(1, -1002, 1),
        pending(2, -1001, 7),
        pending(3, -1001, 8),
    ];
    let published = link.publish(&batch).await.expect("published");
    assert_eq!(published.confirmed, 3, "{published:?}");
    link.close().await;

    let out = tokio::time::timeout(HANG_GUARD, child.wait_with_output())
        .await
        .expect("tail stops after --count events")
        .expect("tail ran");
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines,
        [
            "message.new.-1001 -1001:7:new:0 {\"id\":7}",
            "message.new.-1001 -1001:8:new:0 {\"id\":8}",
        ],
        "the other chat's event is not shown"
    );
    testkit::broker::delete_exchange(&exchange).await;
}

#[tokio::test]
async fn tail_refuses_a_chat_that_is_not_a_numeric_id() {
    let out = Command::new(BINARY)
        .arg("--config")
        .arg(shipped_config())
        .args(["tail", "--chat", "@news"])
        .output()
        .await
        .expect("run tgcollector");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("numeric chat id"), "{stderr}");
}
