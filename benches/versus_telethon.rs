//! The gateway beside the original collector's way, on the same simulated channel, in one
//! run: messages per CPU-second on each side, and the ratio.
//!
//! - **Gateway**: `tgcollector serve` (this bench's release build) pages the channel through
//!   sealed `history` calls of 100 messages; the CPU counted is the gateway process's own
//!   (everything: HTTP, envelopes, the pool, MTProto, the parser, JSON).
//! - **Original way**: `tests/py/telethon_collector.py` in the test venv reads the same
//!   channel with Telethon's `iter_messages`, turns each message into `to_dict()`, and
//!   `json.dumps` and AES-GCM-seals each page of 100; the CPU counted is the Python process's
//!   own over the same work.
//!
//! Both read from the same telesim (in this process, not counted) with media downloads off
//! on both sides. Run with `cargo bench --bench versus_telethon`; `TGC_BENCH_MESSAGES` sizes
//! the channel (default 20,000).

use std::time::Instant;

use telesim::world::World;
use telesim::world::generated::ACCOUNT_IDS;
use testkit::Setup;
use testkit::python::{python, script_path};
use testkit::served::{Served, cryptor_of};
use tgc_service::cryptor::keygen;
use tgc_service::handler::gateway_client::{GatewayClient, params_from_arg};

/// Messages per sealed page, on both sides (Telethon asks Telegram for 100 at a time too).
const PAGE: usize = 100;
const CHANNEL: &str = "gen_channel_0";

fn main() {
    let runtime = testkit::bench::runtime();
    runtime.block_on(run());
}

async fn run() {
    let count: i32 = testkit::bench::env_number("TGC_BENCH_MESSAGES", 20_000);
    let setup = Setup::start("versus_telethon", World::generated(1, count, 17)).await;
    let key = keygen::generate();
    let gateway = Served::start_in(
        env!("CARGO_BIN_EXE_tgcollector"),
        setup.dir.path(),
        &key,
        "log.level = warn\nmedia.enabled = false\npool.requests_per_second = 1000\npool.method_rates = none",
    )
    .await;
    let mut client = GatewayClient::connect(gateway.api, cryptor_of(&key))
        .await
        .expect("connects to the gateway");
    // The chat resolved first, as a collector does once; not counted.
    client
        .query(
            "resolve",
            &params_from_arg(Some(&format!(r#"{{"chat": "@{CHANNEL}"}}"#))).expect("params"),
        )
        .await
        .expect("resolve");

    println!("one channel of {count} generated messages in telesim, pages of {PAGE}\n");
    let cpu_before = gateway.cpu_seconds();
    let wall = Instant::now();
    let (mut messages, mut pages, mut offset) = (0usize, 0usize, 0i64);
    loop {
        let params = format!(r#"{{"chat": "@{CHANNEL}", "limit": {PAGE}, "offset_id": {offset}}}"#);
        let page = client
            .query("history", &params_from_arg(Some(&params)).expect("params"))
            .await
            .expect("history");
        messages += page["messages"].as_array().map_or(0, Vec::len);
        pages += 1;
        match page["next_offset_id"].as_i64() {
            Some(next) => offset = next,
            None => break,
        }
    }
    let gateway_wall = wall.elapsed().as_secs_f64();
    let gateway_cpu = gateway.cpu_seconds() - cpu_before;
    assert_eq!(messages, count as usize, "the gateway read every message");

    let session = setup
        .sim
        .telethon_strings()
        .into_iter()
        .find(|(id, _)| *id == ACCOUNT_IDS[0])
        .map(|(_, session)| session)
        .expect("the channel's member account");
    let script_config = serde_json::json!({ "session": session, "channel": CHANNEL, "page": PAGE });
    let output = tokio::process::Command::new(python())
        .arg(script_path("telethon_collector.py"))
        .arg(script_config.to_string())
        .output()
        .await
        .expect("the Telethon collector runs");
    let line = String::from_utf8_lossy(&output.stdout);
    let original: serde_json::Value = serde_json::from_str(line.trim())
        .unwrap_or_else(|_| panic!("one JSON line from the Telethon collector, not {line:?}"));
    assert!(
        original.get("error").is_none(),
        "the Telethon collector failed: {original}"
    );
    let original_messages = original["messages"].as_u64().expect("messages") as usize;
    let original_cpu = original["cpu_seconds"].as_f64().expect("cpu_seconds");
    assert_eq!(
        original_messages, messages,
        "both sides read the same channel"
    );

    let gateway_rate = messages as f64 / gateway_cpu;
    let original_rate = messages as f64 / original_cpu;
    println!(
        "{:<44} {:>10} {:>9} {:>10} {:>14} {:>12}",
        "", "messages", "CPU s", "wall s", "msg/CPU-s", "µs CPU/msg"
    );
    println!(
        "{:<44} {:>10} {:>9.2} {:>10.2} {:>14.0} {:>12.1}",
        format!("gateway, sealed history ({pages} pages)"),
        messages,
        gateway_cpu,
        gateway_wall,
        gateway_rate,
        gateway_cpu * 1e6 / messages as f64
    );
    println!(
        "{:<44} {:>10} {:>9.2} {:>10.2} {:>14.0} {:>12.1}",
        format!(
            "Telethon iter_messages+to_dict+json+AES ({})",
            original["aes"].as_str().unwrap_or("?")
        ),
        original_messages,
        original_cpu,
        original["wall_seconds"].as_f64().unwrap_or(0.0),
        original_rate,
        original_cpu * 1e6 / original_messages as f64
    );
    println!(
        "\nratio: the gateway reads {:.1}x the messages per CPU-second",
        gateway_rate / original_rate
    );
}
