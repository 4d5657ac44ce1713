//! How fast the publisher gets events to RabbitMQ, beside what lapin alone does on the same
//! broker in the same run, and how long a live message takes from Telegram to a consumer.
//!
//! 1. lapin alone: persistent publishes in batches of 512, `wait_for_confirms` per batch.
//! 2. The publisher: events written to the outbox (SQLite), drained with confirms, removed
//!    on confirm: the whole lossless path, minus Telegram.
//! 3. Update-to-consumer latency at 1,000 events/s: telesim posts to a channel two accounts
//!    are in; the time from the post to the consumer receiving the event, p50 and p99.
//! 4. The same for a burst of 1,000 posts made at once.
//! 5. The floor under 4 on this broker: lapin alone publishing 1,000 events at once, with
//!    confirms, each event's time from its publish to the consumer.
//!
//! Needs RabbitMQ on 127.0.0.1:5672 (`./test.sh` starts it). `cargo bench -p tgc-service
//! --bench publish`; `TGC_BENCH_EVENTS` sets the event count of 1 and 2 (default 20,000).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use testkit::broker::{amqp_url, delete_exchange, exchange};
use testkit::stream_setup::{self, JOINED};
use tgc_model::directory::Directory;
use tgc_model::joinmap::JoinMap;
use tgc_model::teleclient::TeleClients;
use tgc_service::publisher::lapin::options::{BasicPublishOptions, ConfirmSelectOptions};
use tgc_service::publisher::lapin::{BasicProperties, Channel, Connection, ConnectionProperties};
use tgc_service::publisher::{Event, EventKind, Publisher, Tail, declare_exchange};
use tokio_util::sync::CancellationToken;

const BATCH: usize = 512;
/// Updates a live stream reads before writing their events in one transaction.
const STREAM_BATCH: usize = 256;
const LATENCY_RATE: u64 = 1_000;
const LATENCY_EVENTS: usize = 3_000;
/// Live messages posted at once for the burst latency.
const BURST: usize = 1_000;

fn main() {
    let events: usize = testkit::bench::env_number("TGC_BENCH_EVENTS", 20_000);
    let runtime = testkit::bench::runtime();
    runtime.block_on(async {
        // The broker's speed drifts within a run: the two sides take turns, and each side's
        // median is compared.
        let (mut lapin, mut ours) = (Vec::new(), Vec::new());
        for _ in 0..ROUNDS {
            lapin.push(lapin_batched(events).await);
            ours.push(publisher_rate(events).await);
        }
        let (lapin_rate, lapin_all) = median(lapin);
        let (our_rate, ours_all) = median(ours);
        println!(
            "publish with confirms, {events} persistent events of ~300 bytes, {ROUNDS} rounds taking turns (median, then every round):"
        );
        println!("  lapin alone, batches of {BATCH}: {lapin_rate:>9.0} events/s {lapin_all:.0?}");
        println!(
            "  publisher (outbox + confirms): {our_rate:>9.0} events/s {ours_all:.0?} ({:.0}% of lapin alone)",
            100.0 * our_rate / lapin_rate
        );
        let every = Duration::from_micros(1_000_000 / LATENCY_RATE);
        let (p50, p99) = latency(LATENCY_EVENTS, every).await;
        println!(
            "update-to-consumer latency at {LATENCY_RATE} events/s ({LATENCY_EVENTS} events): \
             p50 {p50:?}, p99 {p99:?}"
        );
        let (p50, p99) = latency(BURST, Duration::ZERO).await;
        println!(
            "update-to-consumer latency, a burst of {BURST} posted at once: p50 {p50:?}, p99 {p99:?}"
        );
        let (p50, p99) = lapin_burst(BURST).await;
        println!(
            "  the floor: lapin alone publishing {BURST} at once, publish-to-consumer: p50 {p50:?}, p99 {p99:?}"
        );
    });
}

/// Rounds of lapin alone and the publisher, taking turns.
const ROUNDS: usize = 3;

/// The median of `rates`, and all of them in the order measured.
fn median(rates: Vec<f64>) -> (f64, Vec<f64>) {
    let mut sorted = rates.clone();
    sorted.sort_by(f64::total_cmp);
    (sorted[sorted.len() / 2], rates)
}

fn body(i: usize) -> Vec<u8> {
    format!(
        "{{\"schema\":1,\"type\":\"message\",\"id\":{i},\"text\":\"{}\"}}",
        "x".repeat(250)
    )
    .into_bytes()
}

/// Events/s of lapin alone on this broker: publish a batch, wait for its confirms.
async fn lapin_batched(events: usize) -> f64 {
    let exchange = exchange("bench_lapin");
    let mut tail = Tail::connect(&amqp_url(), &exchange, None)
        .await
        .expect("RabbitMQ on 127.0.0.1:5672 (run ./test.sh to start it)");
    let consumer = tokio::spawn(async move {
        for _ in 0..events {
            tail.next().await.expect("open").expect("a delivery");
        }
        tail.close().await;
    });
    let lapin = Lapin::open(&exchange).await;
    let started = Instant::now();
    for start in (0..events).step_by(BATCH) {
        for i in start..(start + BATCH).min(events) {
            lapin.publish(i).await;
        }
        lapin.channel.wait_for_confirms().await.expect("confirmed");
    }
    let rate = events as f64 / started.elapsed().as_secs_f64();
    consumer.await.expect("the consumer");
    lapin.close().await;
    delete_exchange(&exchange).await;
    rate
}

/// p50 and p99 of publish-to-consumer time of `events` published at once by lapin alone
/// (persistent, confirms on, waited for at the end): what the broker itself takes.
async fn lapin_burst(events: usize) -> (Duration, Duration) {
    let exchange = exchange("bench_lapin_burst");
    let mut tail = Tail::connect(&amqp_url(), &exchange, None)
        .await
        .expect("a consumer");
    let consumer = tokio::spawn(async move {
        let mut arrivals = Vec::with_capacity(events);
        for _ in 0..events {
            tail.next().await.expect("open").expect("a delivery");
            arrivals.push(Instant::now());
        }
        tail.close().await;
        arrivals
    });
    let lapin = Lapin::open(&exchange).await;
    let mut published = Vec::with_capacity(events);
    for i in 0..events {
        published.push(Instant::now());
        lapin.publish(i).await;
    }
    lapin.channel.wait_for_confirms().await.expect("confirmed");
    // One publisher, one queue, one consumer: deliveries come in publish order.
    let arrivals = consumer.await.expect("the consumer");
    lapin.close().await;
    delete_exchange(&exchange).await;
    p50_p99(
        published
            .iter()
            .zip(&arrivals)
            .map(|(sent, arrived)| arrived.duration_since(*sent))
            .collect(),
    )
}

/// lapin alone: a channel in confirm mode on `exchange`, publishing the bench's events as the
/// publisher would (persistent, JSON, the event id as `message_id`).
struct Lapin {
    connection: Connection,
    channel: Channel,
    exchange: String,
}

impl Lapin {
    async fn open(exchange: &str) -> Lapin {
        let connection = Connection::connect(&amqp_url(), ConnectionProperties::default())
            .await
            .expect("RabbitMQ on 127.0.0.1:5672 (run ./test.sh to start it)");
        let channel = connection.create_channel().await.expect("a channel");
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await
            .expect("confirms");
        declare_exchange(&channel, exchange)
            .await
            .expect("the exchange");
        Lapin {
            connection,
            channel,
            exchange: exchange.to_owned(),
        }
    }

    /// Publishes event `i`; its confirm is waited for with the channel's.
    async fn publish(&self, i: usize) {
        self.channel
            .basic_publish(
                self.exchange.as_str().into(),
                "message.new.-1".into(),
                BasicPublishOptions::default(),
                &body(i),
                BasicProperties::default()
                    .with_delivery_mode(2)
                    .with_content_type("application/json".into())
                    .with_message_id(format!("-1:{i}:new:0").into()),
            )
            .await
            .expect("published");
    }

    async fn close(self) {
        let _ = self.connection.close(200, "done".into()).await;
    }
}

/// The median and the 99th percentile of `latencies`.
fn p50_p99(mut latencies: Vec<Duration>) -> (Duration, Duration) {
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
    (at(0.50), at(0.99))
}

/// Events/s through the outbox and the drainer, from the first write to the last confirm.
async fn publisher_rate(events: usize) -> f64 {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let exchange = exchange("bench_publisher");
    let mut tail = Tail::connect(&amqp_url(), &exchange, None)
        .await
        .expect("a consumer");
    let consumer = tokio::spawn(async move {
        for _ in 0..events {
            tail.next().await.expect("open").expect("a delivery");
        }
        tail.close().await;
    });
    let directory = Directory::open_in(dir.path(), Duration::from_secs(3600)).expect("a directory");
    let (pool, _) = TeleClients::connect(
        Vec::new(),
        directory,
        &testkit::setup::client_config(Duration::from_secs(5)),
    )
    .await;
    let mut config = testkit::setup::publisher_config(dir.path(), &exchange, &amqp_url());
    config.catch_up = false;
    let joinmap = Arc::new(JoinMap::open_in(dir.path()).expect("the join map"));
    let handle = Publisher::start(config, joinmap, Arc::new(pool), CancellationToken::new())
        .expect("the publisher");
    let mut published = handle.published();
    let outbox = Arc::clone(handle.outbox());
    let started = Instant::now();
    // Written as a live stream writes a burst: the events of up to 256 updates that arrived
    // together in one transaction.
    for start in (0..events).step_by(STREAM_BATCH) {
        let batch: Vec<Event> = (start..(start + STREAM_BATCH).min(events))
            .map(|i| Event {
                kind: EventKind::New,
                chat_id: -1,
                message_id: i as i32,
                edit_date: 0,
                edit_digest: 0,
                body: body(i),
            })
            .collect();
        outbox.enqueue_many(&batch).expect("enqueued");
        // Let the drainer run alongside the writer, as it does behind live streams.
        tokio::task::yield_now().await;
    }
    published
        .wait_for(|n| *n >= events as u64)
        .await
        .expect("the publisher runs");
    let rate = events as f64 / started.elapsed().as_secs_f64();
    consumer.await.expect("the consumer");
    handle.shutdown().await;
    delete_exchange(&exchange).await;
    rate
}

/// p50 and p99 of post-to-consumer time for `events` posts, one every `every` (zero: all
/// at once, a burst).
async fn latency(events: usize, every: Duration) -> (Duration, Duration) {
    let setup = stream_setup::start("bench_latency").await;
    let mut tail = setup.tail().await;
    let (_pool, handle) = setup.publisher(&amqp_url()).await;
    let consumer = tokio::spawn(async move {
        let mut arrivals = HashMap::new();
        while arrivals.len() < events {
            let event = tail.next().await.expect("open").expect("a delivery");
            let body: serde_json::Value = serde_json::from_slice(&event.body).expect("JSON");
            let id = body["id"].as_i64().expect("an id") as i32;
            arrivals.entry(id).or_insert_with(Instant::now);
        }
        tail.close().await;
        arrivals
    });
    let mut ticks = (!every.is_zero()).then(|| tokio::time::interval(every));
    let mut posted = HashMap::new();
    for i in 0..events {
        if let Some(ticks) = ticks.as_mut() {
            ticks.tick().await;
        }
        let at = Instant::now();
        let id = setup
            .sim
            .telegram
            .post_message(JOINED, telesim::api::NewMessage::text(format!("tick {i}")))
            .expect("posted");
        posted.insert(id, at);
    }
    let arrivals = consumer.await.expect("the consumer");
    handle.shutdown().await;
    delete_exchange(&setup.exchange).await;
    p50_p99(
        posted
            .iter()
            .filter_map(|(id, at)| arrivals.get(id).map(|arrived| arrived.duration_since(*at)))
            .collect(),
    )
}
