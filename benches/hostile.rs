//! The gateway under hostile connections, on loopback, bounded in time: `tgcollector serve`
//! (this build's binary, as its own process, so its memory is its own) holds
//! - 2,000 idle connections that never send a byte,
//! - 200 slow-header connections that send a header line a second and never finish,
//! - 50 HTTP/2 connections, each with as many streams as the server allows, every stream a
//!   large POST body trickled in a KiB at a time,
//!
//! while a well-behaved client makes sealed `resolve` calls one after another. It prints the
//! gateway's peak RSS, the good client's success rate and its p99 latency, and what became of
//! the attackers. Run with `cargo bench --bench hostile` (`TGC_BENCH_SECONDS`, default 20).
//!
//! What it shows, not what it asserts: the numbers are printed; a bench fails only when the
//! gateway stops answering at all.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::StreamBody;
use hyper::body::Frame;
use hyper_util::rt::{TokioExecutor, TokioIo};
use telesim::world::World;
use testkit::Setup;
use testkit::served::{Served, cryptor_of};
use tgc_service::cryptor::keygen;
use tgc_service::handler::H2_MAX_STREAMS;
use tgc_service::handler::gateway_client::{ClientError, GatewayClient, params_from_arg};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

const IDLE: usize = 2_000;
const SLOW_HEADERS: usize = 200;
const H2_CONNECTIONS: usize = 50;
/// What each trickled body claims to be: the largest body the gateway takes by default.
const BODY_BYTES: usize = 16 * 1024;
/// A good request unanswered for this long counts as failed.
const GOOD_TIMEOUT: Duration = Duration::from_secs(10);

fn main() {
    let seconds: u64 = testkit::bench::env_number("TGC_BENCH_SECONDS", 20);
    let runtime = testkit::bench::runtime();
    runtime.block_on(run(Duration::from_secs(seconds)));
}

async fn run(length: Duration) {
    // The attackers hold thousands of sockets in this process too.
    let _ = tgc_common::descriptors::raise_soft_limit();
    let setup = Setup::start("hostile_bench", World::demo()).await;
    let key = keygen::generate();
    let mut gateway = Served::start_in(
        env!("CARGO_BIN_EXE_tgcollector"),
        setup.dir.path(),
        &key,
        "log.level = warn\npool.requests_per_second = 1000\npool.method_rates = none",
    )
    .await;
    let (pid, api) = (gateway.pid, gateway.api);
    let cryptor = cryptor_of(&key);
    let mut good = GatewayClient::connect(api, Arc::clone(&cryptor))
        .await
        .expect("the good client connects");
    let resolve = params_from_arg(Some(r#"{"chat": "@tech_digest"}"#)).expect("params");
    good.query("resolve", &resolve).await.expect("warm resolve");
    let rss_before = gateway.peak_rss();
    eprintln!("gateway {pid} on {api}; attacking for {length:?}");

    let stop = Instant::now() + length;
    let counts = Arc::new(Counts::default());
    let mut attackers = tokio::task::JoinSet::new();
    for _ in 0..IDLE {
        attackers.spawn(idle(api, Arc::clone(&counts), stop));
    }
    for _ in 0..SLOW_HEADERS {
        attackers.spawn(slow_headers(api, Arc::clone(&counts), stop));
    }
    for _ in 0..H2_CONNECTIONS {
        attackers.spawn(trickling_h2(api, Arc::clone(&counts), stop));
    }

    let mut latencies = Vec::new();
    let mut failures = 0u64;
    while Instant::now() < stop {
        let started = Instant::now();
        let answered = tokio::time::timeout(GOOD_TIMEOUT, good.query("resolve", &resolve))
            .await
            .unwrap_or_else(|_| {
                Err(ClientError::Refused {
                    status: 0,
                    text: format!("no answer within {GOOD_TIMEOUT:?}"),
                })
            });
        match answered {
            Ok(_) => latencies.push(started.elapsed()),
            Err(error) => {
                failures += 1;
                if failures <= 3 {
                    eprintln!("good request failed: {error}");
                }
                // A connection the gateway closed is reopened, as any client would.
                if let Ok(client) = GatewayClient::connect(api, Arc::clone(&cryptor)).await {
                    good = client;
                }
            }
        }
    }
    let peak = gateway.peak_rss();
    attackers.abort_all();
    let _ = gateway.child.kill().await;

    latencies.sort();
    let total = latencies.len() as u64 + failures;
    let p = |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
    println!(
        "{IDLE} idle, {SLOW_HEADERS} slow-header, {H2_CONNECTIONS} h2c x {H2_MAX_STREAMS} trickled {} KiB bodies, {}s, loopback",
        BODY_BYTES / 1024,
        length.as_secs()
    );
    println!(
        "good client: {} of {total} sealed resolves answered ({:.2}%), p50 {:?}, p99 {:?}",
        latencies.len(),
        100.0 * latencies.len() as f64 / total.max(1) as f64,
        p(0.50),
        p(0.99)
    );
    println!(
        "gateway peak RSS: {:.1} MiB (before the attack {:.1} MiB)",
        peak as f64 / (1024.0 * 1024.0),
        rss_before as f64 / (1024.0 * 1024.0)
    );
    println!(
        "attackers: {} connected, {} refused or closed by the gateway, {} h2 streams opened, {} streams refused",
        counts.connected.load(Ordering::Relaxed),
        counts.closed.load(Ordering::Relaxed),
        counts.streams.load(Ordering::Relaxed),
        counts.streams_refused.load(Ordering::Relaxed),
    );
}

#[derive(Default)]
struct Counts {
    connected: AtomicU64,
    closed: AtomicU64,
    streams: AtomicU64,
    streams_refused: AtomicU64,
}

/// Connects and never sends; reconnects when the gateway lets go, until `stop`.
async fn idle(api: SocketAddr, counts: Arc<Counts>, stop: Instant) {
    while Instant::now() < stop {
        let Ok(mut stream) = TcpStream::connect(api).await else {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        counts.connected.fetch_add(1, Ordering::Relaxed);
        let mut buf = [0u8; 64];
        let _ = tokio::time::timeout_at(
            stop.into(),
            tokio::io::AsyncReadExt::read(&mut stream, &mut buf),
        )
        .await;
        if Instant::now() < stop {
            counts.closed.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Sends a request's header lines a second apart and never the blank line that ends them.
async fn slow_headers(api: SocketAddr, counts: Arc<Counts>, stop: Instant) {
    while Instant::now() < stop {
        let Ok(mut stream) = TcpStream::connect(api).await else {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        counts.connected.fetch_add(1, Ordering::Relaxed);
        if stream
            .write_all(b"POST /api/v1/resolve HTTP/1.1\r\nHost: gateway\r\n")
            .await
            .is_err()
        {
            counts.closed.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        let mut line = 0u64;
        loop {
            if Instant::now() >= stop {
                return;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
            line += 1;
            if stream
                .write_all(format!("X-Slow-{line}: still coming\r\n").as_bytes())
                .await
                .is_err()
            {
                counts.closed.fetch_add(1, Ordering::Relaxed);
                break;
            }
        }
    }
}

/// One h2c connection with as many streams as the gateway allows, each a POST whose body
/// announces the largest size and arrives a KiB every half second.
async fn trickling_h2(api: SocketAddr, counts: Arc<Counts>, stop: Instant) {
    while Instant::now() < stop {
        let Ok(stream) = TcpStream::connect(api).await else {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        counts.connected.fetch_add(1, Ordering::Relaxed);
        let Ok((sender, connection)) =
            hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream)).await
        else {
            counts.closed.fetch_add(1, Ordering::Relaxed);
            continue;
        };
        let driving = tokio::spawn(connection);
        let mut streams = tokio::task::JoinSet::new();
        for _ in 0..H2_MAX_STREAMS {
            let mut sender = sender.clone();
            let counts = Arc::clone(&counts);
            streams.spawn(async move {
                if sender.ready().await.is_err() {
                    return;
                }
                let (tx, rx) = tokio::sync::mpsc::channel::<Result<Frame<Bytes>, Infallible>>(1);
                let body = StreamBody::new(tokio_stream_of(rx));
                let request = hyper::Request::post("/api/v1/resolve")
                    .header("content-length", BODY_BYTES)
                    .body(body)
                    .expect("a request");
                counts.streams.fetch_add(1, Ordering::Relaxed);
                let response = sender.send_request(request);
                let trickle = async move {
                    for _ in 0..BODY_BYTES / 1024 {
                        tokio::time::sleep(Duration::from_millis(500)).await;
                        if tx
                            .send(Ok(Frame::data(Bytes::from(vec![0u8; 1024]))))
                            .await
                            .is_err()
                        {
                            return;
                        }
                    }
                };
                tokio::select! {
                    answered = response => match answered {
                        Ok(response) if response.status() == 503 => {
                            counts.streams_refused.fetch_add(1, Ordering::Relaxed);
                        }
                        Ok(_) => {}
                        Err(_) => {
                            counts.streams_refused.fetch_add(1, Ordering::Relaxed);
                        }
                    },
                    () = trickle => {}
                }
            });
        }
        let _ = tokio::time::timeout_at(stop.into(), async {
            while streams.join_next().await.is_some() {}
            let _ = driving.await;
        })
        .await;
        if Instant::now() < stop {
            counts.closed.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// A receiver as the `Stream` a body is made of.
fn tokio_stream_of<T>(
    mut rx: tokio::sync::mpsc::Receiver<T>,
) -> impl futures_util::Stream<Item = T> {
    futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx))
}
