//! Memory per idle account: `tgcollector serve` (this bench's release build, a process of its
//! own) with 3, 100 and 500 accounts of a telesim world connected and doing nothing, its
//! resident memory once every account is up, and what each added account costs.
//! Run with `cargo bench --bench idle_accounts`; `TGC_BENCH_ACCOUNTS` overrides the sizes
//! (comma-separated).

use std::time::Duration;

use testkit::Setup;
use testkit::pool_setup::world;
use testkit::served::Served;
use tgc_service::cryptor::keygen;

/// How long the gateway is left idle after start before its memory is read: its accounts'
/// first checks and connections settle well within it.
const SETTLE: Duration = Duration::from_secs(5);

fn main() {
    let sizes: Vec<usize> = std::env::var("TGC_BENCH_ACCOUNTS")
        .ok()
        .map(|list| {
            list.split(',')
                .filter_map(|n| n.trim().parse().ok())
                .collect()
        })
        .unwrap_or_else(|| vec![3, 100, 500]);
    let runtime = testkit::bench::runtime();
    runtime.block_on(async {
        println!("idle `serve`, every account connected, after {SETTLE:?}:\n");
        let mut first: Option<(usize, u64)> = None;
        for accounts in sizes {
            let rss = idle_rss(accounts).await;
            let per_added = first
                .map(|(n, base)| {
                    format!(
                        ", {:.0} KB per account added since {n}",
                        (rss as f64 - base as f64) / (accounts - n) as f64 / 1000.0
                    )
                })
                .unwrap_or_default();
            println!(
                "{accounts:>5} accounts: {:.1} MB resident{per_added}",
                rss as f64 / 1e6
            );
            first.get_or_insert((accounts, rss));
        }
    });
}

/// The gateway's resident memory with `accounts` idle accounts, bytes.
async fn idle_rss(accounts: usize) -> u64 {
    let setup = Setup::start("idle_accounts", world(accounts, 1)).await;
    let gateway = Served::start_in(
        env!("CARGO_BIN_EXE_tgcollector"),
        setup.dir.path(),
        &keygen::generate(),
        "log.level = warn",
    )
    .await;
    tokio::time::sleep(SETTLE).await;
    gateway.rss()
}
