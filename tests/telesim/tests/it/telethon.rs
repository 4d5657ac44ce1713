//! The Telethon cross-check: Telethon 1.45 (layer 229) logs in with a `StringSession` for a
//! demo account and does the core steps against a running telesim — get_me, get_entity,
//! iter_messages, download_media, and a NewMessage event for a message posted here — so
//! telesim is shown to speak MTProto, not only grammers' habits.
//!
//! The script is `tests/py/telethon_telesim.py`; it prints JSON lines this test asserts on.

use serde_json::Value;
use sha2::{Digest, Sha256};
use std::process::Stdio;
use std::time::Duration;
use telesim::Sim;
use telesim::api::NewMessage;
use telesim::world::World;
use telesim::world::demo::{ALICE, NEWS};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

/// A guard so a broken client cannot hang the test run; nothing is measured against it.
const GUARD: Duration = Duration::from_secs(180);
/// The launch video of the demo channel: 2.6 MB, so the download crosses 1 MiB boundaries.
const MEDIA_MESSAGE: i32 = 11;
const MEDIA_ID: i64 = 9_301;
const MEDIA_SIZE: usize = 2_600_000;

use testkit::python::{python, script_path};

async fn next_json(lines: &mut tokio::io::Lines<BufReader<tokio::process::ChildStdout>>) -> Value {
    let line = lines
        .next_line()
        .await
        .expect("reading the script's output")
        .expect("the script ended without printing its result");
    let value: Value = serde_json::from_str(&line)
        .unwrap_or_else(|e| panic!("script printed non-JSON {line:?}: {e}"));
    assert!(
        value.get("error").is_none(),
        "the Telethon script failed: {}\n{}",
        value["error"],
        value["trace"].as_str().unwrap_or("")
    );
    value
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn telethon_gets_me_resolves_reads_downloads_and_receives_a_new_message() {
    let sim = Sim::start(World::demo()).await.expect("starting telesim");
    let (_, session) = sim
        .telethon_strings()
        .into_iter()
        .find(|(id, _)| *id == ALICE)
        .expect("Alice is a logged-in demo account");
    let config = serde_json::json!({ "session": session, "channel": "telesim_news", "media_message": MEDIA_MESSAGE });
    let mut child = Command::new(python())
        .arg(script_path("telethon_telesim.py"))
        .arg(config.to_string())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("starting the Telethon script");
    let mut lines = BufReader::new(child.stdout.take().expect("piped stdout")).lines();

    let run = async {
        let ready = next_json(&mut lines).await;
        let ready = &ready["ready"];
        assert_eq!(ready["me"]["id"], ALICE);
        assert_eq!(ready["me"]["first_name"], "Alice");
        assert_eq!(ready["me"]["username"], "alice");
        assert_eq!(ready["channel"]["id"], NEWS);
        assert_eq!(ready["channel"]["title"], "Telesim News");
        let ids: Vec<i64> = ready["message_ids"]
            .as_array()
            .expect("message ids")
            .iter()
            .filter_map(Value::as_i64)
            .collect();
        assert_eq!(
            ids,
            (1..=17).rev().collect::<Vec<i64>>(),
            "every message, newest first, no gap"
        );
        assert_eq!(ready["texts"]["3"], "Launch report: all systems nominal");
        let expected =
            telesim::world::media_bytes(sim.telegram.seed(), MEDIA_ID, "", 0, MEDIA_SIZE);
        assert_eq!(ready["media"]["size"], MEDIA_SIZE);
        assert_eq!(
            ready["media"]["sha256"],
            format!("{:x}", Sha256::digest(&expected))
        );

        let id = sim
            .telegram
            .post_message(NEWS, NewMessage::text("Hello, Telethon"))
            .expect("posting");
        let event = next_json(&mut lines).await;
        assert_eq!(event["event"]["id"], id);
        assert_eq!(event["event"]["text"], "Hello, Telethon");
        assert_eq!(
            event["event"]["chat_id"],
            -1_000_000_000_000 - NEWS,
            "Telethon's marked channel id"
        );
        let status = child.wait().await.expect("waiting for the script");
        assert!(status.success(), "the script exited with {status}");
    };
    tokio::time::timeout(GUARD, run)
        .await
        .expect("the Telethon script got stuck");
    sim.shutdown().await;
}
