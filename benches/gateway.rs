//! The gateway under load, on this machine: sealed `resolve` requests per second with a
//! warm cache and their p50/p99 latency, beside a plain hyper endpoint measured in the same
//! run (the ratio is what the gateway itself costs: envelopes, routing, params, the pool's
//! cache, metrics), and `history` messages per second served sealed and parsed.
//! Run with `cargo bench --bench gateway`.
//!
//! Everything runs in this process on loopback: telesim with its demo world, the pool over
//! its accounts, and the server side exactly as `tgcollector serve` assembles it (the same
//! `Gateway`, route table and `serve_connection`). Client, server and telesim share the
//! machine's cores, as they would on one host; the counts are bounded, so a run takes
//! seconds.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use telesim::Sim;
use telesim::world::World;
use testkit::SimSessions;
use tgc_common::config::CryptoSettings;
use tgc_model::directory::Directory;
use tgc_model::teleclient::{ClientConfig, TeleClients};
use tgc_service::cryptor::{Cryptor, keygen};
use tgc_service::handler::client::{GatewayClient, params_from_arg};
use tgc_service::handler::{App, Gateway, Limits, Metrics, api, serve_connection};
use tokio::net::TcpListener;

/// Concurrent connections, each with one request in flight.
const CONNECTIONS: usize = 8;
const RESOLVES: usize = 20_000;
const HISTORIES: usize = 2_000;
const PAGE: usize = 25;

/// What the baseline is sent: as many bytes as a sealed `resolve`.
static BASELINE_BODY: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();

fn main() {
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    runtime.block_on(run());
}

async fn run() {
    let sim = Sim::start(World::demo()).await.expect("telesim starts");
    let dir = tempfile::tempdir().expect("a temporary directory");
    let sessions = dir.path().join("sessions");
    sim.write_sessions(&sessions).expect("session files");
    let config = ClientConfig {
        api_id: 2040,
        device_model: "gateway bench".into(),
        resolve_budget_per_hour: 1000,
        requests_per_second: 1_000_000.0,
        reconnect_max_backoff: Duration::from_secs(60),
        proxy: None,
    };
    let directory = Directory::open_in(&dir.path().join("data"), Duration::from_secs(3600))
        .expect("username directory");
    let (pool, report) = TeleClients::start_from_dir(&sessions, directory, &config).await;
    assert!(report.failed.is_empty(), "{:?}", report.failed);
    let pool = Arc::new(pool);

    let key = keygen::generate();
    let crypto = CryptoSettings {
        keys: vec![key],
        clock_window: Duration::from_secs(60),
    };
    let cryptor = || Cryptor::from_settings(&crypto).expect("a keyring");
    let gateway = Gateway::new(
        api::routes().expect("the route table"),
        cryptor(),
        Arc::clone(&pool),
        Arc::new(Metrics::new(Arc::clone(&pool))),
        Limits {
            max_body_bytes: 1 << 20,
            request_timeout: Duration::from_secs(30),
            max_concurrency: 256,
        },
    );
    let api_addr = listen(App::Api(Arc::new(gateway))).await;
    let plain_addr = listen(App::Baseline).await;
    let client_cryptor = Arc::new(cryptor());

    println!(
        "{CONNECTIONS} connections, one request in flight each, loopback; telesim demo world, 2 accounts\n"
    );
    // The baseline gets a body of a sealed request's size, so both move the same bytes.
    let body_len = client_cryptor
        .seal_request(
            "POST /api/v1/resolve",
            &params(r#"{"chat": "@tech_digest"}"#),
            0,
        )
        .0
        .len();
    BASELINE_BODY.get_or_init(|| vec![0; body_len]);
    let plain = measure(plain_addr, &client_cryptor, RESOLVES, |client| {
        Box::pin(async move {
            let body = BASELINE_BODY.get().cloned().unwrap_or_default();
            let reply = client.post("/", body).await.expect("baseline reply");
            assert_eq!(reply.status, 200);
        })
    })
    .await;
    plain.print("plain hyper endpoint (baseline)", "req/s", 1);

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

fn params(text: &str) -> tgc_service::handler::client::Value {
    params_from_arg(Some(text)).expect("bench params are valid JSON")
}

/// Serves `app` on a fresh loopback port until the process ends.
async fn listen(app: App) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("local address");
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let _ = stream.set_nodelay(true);
            tokio::spawn(serve_connection(
                stream,
                app.clone(),
                std::future::pending(),
            ));
        }
    });
    addr
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
