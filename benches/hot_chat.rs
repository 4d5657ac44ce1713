//! One hot chat: 10 accounts that can all read one channel, and 100 concurrent sealed
//! `history` calls for it, with `pool.requests_per_second = 5` (the default). Run twice in
//! one go, on fresh servers: with spill-over off (`pool.max_queue_wait` of an hour: every
//! call queues behind the one account that holds the chat, as before) and on (the default
//! 1 s). Prints each run's p50/p99 latency, how many accounts served, the requests each
//! account made, and the FLOOD_WAITs the accounts met.
//! Run with `cargo bench --bench hot_chat`.
//!
//! The server runs in this process exactly as `serve` runs it ([`tgcollector::server::Server`]).

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Instant;

use testkit::Setup;
use testkit::gateway_config::gateway_properties;
use testkit::pool_setup::{channel_name, world};
use tgc_common::Settings;
use tgc_service::cryptor::{Cryptor, keygen};
use tgc_service::handler::gateway_client::{GatewayClient, params_from_arg};
use tgcollector::server::Server;

const ACCOUNTS: usize = 10;
const CALLS: usize = 100;

fn main() {
    let runtime = testkit::bench::runtime();
    runtime.block_on(async {
        println!(
            "{CALLS} concurrent sealed history calls for one channel all {ACCOUNTS} accounts can read, pool.requests_per_second = 5\n"
        );
        run("spill-over off (max_queue_wait 1h)", "1h").await;
        run("spill-over on (max_queue_wait 1s)", "1s").await;
    });
}

async fn run(name: &str, max_queue_wait: &str) {
    let setup = Setup::start("hot_chat", world(ACCOUNTS, 1)).await;
    let key = keygen::generate();
    let config = gateway_properties(
        &key,
        &format!(
            "log.level = warn\npool.requests_per_second = 5\npool.max_queue_wait = {max_queue_wait}\n\
             server.request_timeout = 60s\nmedia.enabled = false"
        ),
    );
    let no_env = |_: &str| None;
    let settings =
        Settings::from_text(&config, &setup.dir.path().join("bench.properties"), &no_env)
            .unwrap_or_else(|errors| panic!("the bench's configuration: {errors}"));
    let server = Server::start(&settings).await.expect("the server starts");
    let api = server.api_addr();
    tokio::spawn(server.run_until(std::future::pending()));
    let cryptor = Arc::new(Cryptor::from_settings(&settings.crypto).expect("a keyring"));
    let params = params_from_arg(Some(&format!(
        r#"{{"chat": "@{}", "limit": 20}}"#,
        channel_name(0)
    )))
    .expect("params");
    // The chat resolved once, as a collector's first call would: one account holds it.
    GatewayClient::connect(api, Arc::clone(&cryptor))
        .await
        .expect("connect")
        .query(
            "resolve",
            &params_from_arg(Some(&format!(r#"{{"chat": "@{}"}}"#, channel_name(0))))
                .expect("params"),
        )
        .await
        .expect("resolve");
    let mut calls = tokio::task::JoinSet::new();
    for _ in 0..CALLS {
        let cryptor = Arc::clone(&cryptor);
        let params = params.clone();
        calls.spawn(async move {
            let mut client = GatewayClient::connect(api, cryptor).await.expect("connect");
            let started = Instant::now();
            let reply = client.query("history", &params).await.expect("history");
            (
                started.elapsed(),
                reply["account"].as_i64().expect("the serving account"),
            )
        });
    }
    let mut latencies = Vec::with_capacity(CALLS);
    let mut accounts = BTreeSet::new();
    while let Some(done) = calls.join_next().await {
        let (latency, account) = done.expect("a call");
        latencies.push(latency);
        accounts.insert(account);
    }
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() - 1) as f64 * q) as usize];
    let metrics = GatewayClient::connect(api, Arc::clone(&cryptor))
        .await
        .expect("connect")
        .query("accounts", &params_from_arg(Some("{}")).expect("params"))
        .await
        .expect("accounts");
    let all = metrics["accounts"].as_array().cloned().unwrap_or_default();
    let served: Vec<u64> = all.iter().filter_map(|a| a["requests"].as_u64()).collect();
    let flood_waits: u64 = all.iter().filter_map(|a| a["flood_waits"].as_u64()).sum();
    println!(
        "{name:<36} p50 {:>8.2?}  p99 {:>8.2?}  accounts serving {:>2}  FLOOD_WAITs {flood_waits}  requests per account {served:?}",
        at(0.50),
        at(0.99),
        accounts.len(),
    );
}
