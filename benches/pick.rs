//! How fast the pool decides which account serves a request, with 100 accounts: picks per
//! second and the latency of one pick (median, 99th percentile, worst), for the three
//! paths a pick can take. Run with `cargo bench --bench pick`.
//!
//! It measures the decision itself ([`Picker::pick`] over the candidates the pool gathers),
//! not the network: that is what every request pays before it reaches Telegram, so it
//! must stay negligible next to a round trip (well under a microsecond per pick).

use std::hint::black_box;
use std::time::{Duration, Instant};

use tgc_model::teleclient::AccountId;
use tgc_model::teleclient::pick::{Candidate, Picker};

const ACCOUNTS: i64 = 100;
const PICKS: usize = 200_000;

fn candidates(holders: &[i64]) -> Vec<Candidate> {
    (0..ACCOUNTS)
        .map(|i| Candidate {
            account: AccountId(10_000 + i),
            holds_chat: holders.contains(&i),
            // Download pressure varies, as in a busy gateway.
            pending_downloads: (i % 7) as u32,
        })
        .collect()
}

fn measure(name: &str, mut pick: impl FnMut(usize) -> Option<AccountId>) {
    // Warm up caches and the round-robin state.
    for i in 0..10_000 {
        black_box(pick(i));
    }
    let mut latencies = Vec::with_capacity(PICKS);
    let started = Instant::now();
    for i in 0..PICKS {
        let t = Instant::now();
        black_box(pick(i));
        latencies.push(t.elapsed());
    }
    let total = started.elapsed();
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() - 1) as f64 * q) as usize];
    println!(
        "{name:<44} {:>10.0} picks/s   p50 {:>7?}   p99 {:>7?}   max {:>9?}",
        PICKS as f64 / total.as_secs_f64(),
        at(0.50),
        at(0.99),
        latencies.last().copied().unwrap_or(Duration::ZERO),
    );
}

fn main() {
    println!("pick with {ACCOUNTS} accounts, {PICKS} picks per path");
    let chat_keys: Vec<String> = (0..1000).map(|i| format!("channel_{i}")).collect();

    let mut picker = Picker::new();
    let nobody = candidates(&[]);
    measure("no holder: rendezvous over murmur3", |i| {
        picker.pick(Some(&chat_keys[i % chat_keys.len()]), &nobody)
    });

    let mut picker = Picker::new();
    let some = candidates(&[3, 17, 42, 64, 99]);
    measure("5 holders: smooth weighted round-robin", |i| {
        picker.pick(Some(&chat_keys[i % chat_keys.len()]), &some)
    });

    let mut picker = Picker::new();
    measure("no chat: round-robin over all 100", |_| {
        picker.pick(None, &nobody)
    });
}
