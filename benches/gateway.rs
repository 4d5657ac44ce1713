//! The gateway under load, on this machine: sealed `resolve` requests per second with a
//! warm cache and their p50/p99 latency, beside a plain hyper endpoint measured in the same
//! run (the ratio is what the gateway itself costs: envelopes, routing, params, the pool's
//! cache, metrics), and `history` messages per second served sealed and parsed.
//! Run with `cargo bench --bench gateway`.
//!
//! Everything runs in this process on loopback: telesim with its demo world, and the server
//! exactly as `tgcollector serve` runs it ([`tgcollector::server::Server`]: the pool, the media
//! pipeline, the join map, the gateway and the operator endpoints). The baseline is the same
//! server's operator `/healthz`: the hyper stack with no envelope, no routing of params and no
//! pool. Client, server and telesim share the machine's cores, as they would on one host; the
//! counts are bounded, so a run takes seconds.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use telesim::Sim;
use telesim::world::World;
use testkit::SimSessions;
use testkit::gateway_config::gateway_properties;
use tgc_common::Settings;
use tgc_service::cryptor::{Cryptor, keygen};
use tgc_service::handler::gateway_client::{GatewayClient, Method, params_from_arg};
use tgcollector::server::Server;

/// Concurrent connections, each with one request in flight.
const CONNECTIONS: usize = 8;
const RESOLVES: usize = 20_000;
const HISTORIES: usize = 2_000;
const PAGE: usize = 25;

fn main() {
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    runtime.block_on(run());
}

async fn run() {
    let sim = Sim::start(World::demo()).await.expect("telesim starts");
    let dir = tempfile::tempdir().expect("a temporary directory");
    sim.write_sessions(&dir.path().join("sessions"))
        .expect("session files");
    let key = keygen::generate();
    let config = gateway_properties(
        &key,
        "server.max_concurrency = 256\npool.requests_per_second = 100000\npool.method_rates = none",
    );
    let no_env = |_: &str| None;
    let settings = Settings::from_text(&config, &dir.path().join("bench.properties"), &no_env)
        .unwrap_or_else(|errors| panic!("the bench's configuration: {errors}"));
    let server = Server::start(&settings).await.expect("the server starts");
    let api_addr = server.api_addr();
    let operator_addr = server.operator_addr();
    tokio::spawn(server.run_until(std::future::pending()));
    let client_cryptor = Arc::new(Cryptor::from_settings(&settings.crypto).expect("a keyring"));

    println!(
        "{CONNECTIONS} connections, one request in flight each, loopback; telesim demo world, 2 accounts\n"
    );
    let plain = measure(operator_addr, &client_cryptor, RESOLVES, |client| {
        Box::pin(async move {
            let reply = client
                .send(Method::GET, "/healthz", Vec::new())
                .await
                .expect("baseline reply");
            assert_eq!(reply.status, 200);
        })
    })
    .await;
    plain.print("operator /healthz (baseline)", "req/s", 1);

    // Warm: the first resolve fills the cache; the measured ones never touch telesim.
    let mut warm = GatewayClient::connect(api_addr, Arc::clone(&client_cryptor))
        .await
        .expect("connect");
    warm.query("resolve", &params(r#"{"chat": "@tech_digest"}"#))
        .await
        .expect("resolve");
    let calls_before = sim.counters.total();
    let sealed = measure(api_addr, &client_cryptor, RESOLVES, |client| {
        Box::pin(async move {
            let reply = client
                .query("resolve", &params(r#"{"chat": "@tech_digest"}"#))
                .await
                .expect("sealed resolve");
            assert!(reply["chat"]["id"].is_i64());
        })
    })
    .await;
    sealed.print("sealed resolve, warm cache", "req/s", 1);
    assert_eq!(
        sim.counters.total(),
        calls_before,
        "a warm resolve makes no Telegram call"
    );
    println!(
        "{:<44} {:>10.2}x the baseline's time per request (p50 {:.2}x)",
        "gateway overhead",
        plain.rate / sealed.rate,
        sealed.p50.as_secs_f64() / plain.p50.as_secs_f64(),
    );

    let history = measure(api_addr, &client_cryptor, HISTORIES, |client| {
        Box::pin(async move {
            let reply = client
                .query(
                    "history",
                    &params(&format!(r#"{{"chat": "@tech_digest", "limit": {PAGE}}}"#)),
                )
                .await
                .expect("sealed history");
            assert_eq!(reply["messages"].as_array().map(Vec::len), Some(PAGE));
        })
    })
    .await;
    history.print(
        &format!("history, {PAGE} messages a page, sealed+parsed"),
        "msgs/s",
        PAGE,
    );
}

fn params(text: &str) -> tgc_service::handler::gateway_client::Value {
    params_from_arg(Some(text)).expect("bench params are valid JSON")
}

type Call = for<'a> fn(
    &'a mut GatewayClient,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + 'a>>;

struct Measured {
    rate: f64,
    p50: Duration,
    p99: Duration,
}

impl Measured {
    fn print(&self, name: &str, unit: &str, per_request: usize) {
        println!(
            "{name:<44} {:>10.0} {unit:<7} p50 {:>9.1?}   p99 {:>9.1?}",
            self.rate * per_request as f64,
            self.p50,
            self.p99,
        );
    }
}

/// `total` calls over [`CONNECTIONS`] connections, after a short warm-up on each.
async fn measure(addr: SocketAddr, cryptor: &Arc<Cryptor>, total: usize, call: Call) -> Measured {
    let mut clients = Vec::new();
    for _ in 0..CONNECTIONS {
        let mut client = GatewayClient::connect(addr, Arc::clone(cryptor))
            .await
            .expect("connect");
        for _ in 0..20 {
            call(&mut client).await;
        }
        clients.push(client);
    }
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for mut client in clients {
        tasks.spawn(async move {
            let mut latencies = Vec::with_capacity(total / CONNECTIONS);
            for _ in 0..total / CONNECTIONS {
                let t = Instant::now();
                call(&mut client).await;
                latencies.push(t.elapsed());
            }
            latencies
        });
    }
    let mut latencies = Vec::with_capacity(total);
    while let Some(done) = tasks.join_next().await {
        latencies.extend(done.expect("a bench connection"));
    }
    let elapsed = started.elapsed();
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() - 1) as f64 * q) as usize];
    Measured {
        rate: latencies.len() as f64 / elapsed.as_secs_f64(),
        p50: at(0.50),
        p99: at(0.99),
    }
}
