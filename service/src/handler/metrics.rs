//! The gateway's Prometheus metrics (docs/design.md §8), served as text on the operator listener.
//!
//! Request counts and latency are recorded as requests finish. The pool's state is not
//! mirrored into gauges that could drift: a [`Collector`] reads `TeleClients::report()` at
//! each scrape, so `/metrics` always shows the accounts as they are now. The live stream's
//! publisher is read the same way, from its counters, when `serve` runs one.

use std::sync::Arc;
use std::time::Duration;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use tgc_model::teleclient::{AccountReport, AccountState, TeleClients};

use crate::mediaprocessor::MediaProcessor;
use crate::publisher::{PublisherMonitor, PublisherStats};

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: String,
    status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
}

type LatencyFamily = Family<RouteLabels, Histogram, fn() -> Histogram>;

/// The registry and the metrics the gateway records into.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: LatencyFamily,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

fn latency_histogram() -> Histogram {
    // 1 ms to about 33 s: from a cached resolve to a request at its deadline.
    Histogram::new(exponential_buckets(0.001, 2.0, 16))
}

impl Metrics {
    /// Metrics over `pool`, prefixed `tgc_`.
    pub fn new(pool: Arc<TeleClients>) -> Metrics {
        let mut registry = Registry::with_prefix("tgc");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "API requests answered, by route and HTTP status",
            requests.clone(),
        );
        let latency = LatencyFamily::new_with_constructor(latency_histogram);
        registry.register(
            "http_request_duration_seconds",
            "Time from a request's arrival to its sealed reply, by route",
            latency.clone(),
        );
        registry.register_collector(Box::new(PoolCollector { pool }));
        Metrics {
            registry,
            requests,
            latency,
        }
    }

    /// Adds the media pipeline's tasks, bytes and failures (`tgc_media_*`) to every scrape.
    pub fn watch_media(&mut self, media: Arc<MediaProcessor>) {
        self.registry
            .register_collector(Box::new(MediaCollector { media }));
    }

    /// Adds the publisher's counters (`tgc_publisher_*`) to every scrape.
    pub fn watch_publisher(&mut self, monitor: PublisherMonitor) {
        self.registry
            .register_collector(Box::new(PublisherCollector { monitor }));
    }

    /// Records one answered request; `route` is the API method or a fixed word for
    /// requests that never reached one (so clients cannot blow up the label space).
    pub fn record(&self, route: &str, status: u16, elapsed: Duration) {
        self.requests
            .get_or_create(&RequestLabels {
                route: route.to_string(),
                status,
            })
            .inc();
        self.latency
            .get_or_create(&RouteLabels {
                route: route.to_string(),
            })
            .observe(elapsed.as_secs_f64());
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut text = String::new();
        if let Err(error) = prometheus_client::encoding::text::encode(&mut text, &self.registry) {
            // Only a formatting bug can get here; an empty scrape is visible, a panic is not.
            tracing::error!(%error, "encoding the metrics failed");
        }
        text
    }
}

/// One of an account's since-start counts, read from its report.
type AccountCounter = fn(&AccountReport) -> u64;

/// Reads the pool at scrape time.
#[derive(Debug)]
struct PoolCollector {
    pool: Arc<TeleClients>,
}

impl Collector for PoolCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let report = self.pool.report();
        {
            let mut states = encoder.encode_descriptor(
                "account_state",
                "1 for the state each account is in (active, disconnected, deauthorized)",
                None,
                MetricType::Gauge,
            )?;
            for account in &report {
                for state in ["active", "disconnected", "deauthorized"] {
                    let labels = [
                        ("account", account.account.to_string()),
                        ("state", state.to_string()),
                    ];
                    let value = i64::from(account.state.name() == state);
                    ConstGauge::new(value).encode(states.encode_family(&labels)?)?;
                }
            }
        }
        {
            let mut cooling = encoder.encode_descriptor(
                "account_cooling_methods",
                "Methods each account is cooling for after a flood wait",
                None,
                MetricType::Gauge,
            )?;
            for account in &report {
                let labels = [("account", account.account.to_string())];
                ConstGauge::new(account.cooling.len() as i64)
                    .encode(cooling.encode_family(&labels)?)?;
            }
        }
        let counters: [(&str, &str, AccountCounter); 4] = [
            (
                "account_flood_waits",
                "FLOOD_WAIT answers per account since start",
                |a| a.flood_waits,
            ),
            (
                "account_disconnections",
                "Times each account lost its connection since start",
                |a| a.disconnections,
            ),
            (
                "account_resolves",
                "Network username resolves per account since start",
                |a| a.resolves,
            ),
            (
                "account_requests",
                "Telegram calls per account since start",
                |a| a.requests,
            ),
        ];
        for (name, help, value) in counters {
            let mut family = encoder.encode_descriptor(name, help, None, MetricType::Counter)?;
            for account in &report {
                let labels = [("account", account.account.to_string())];
                ConstCounter::new(value(account)).encode(family.encode_family(&labels)?)?;
            }
        }
        {
            let mut queued = encoder.encode_descriptor(
                "account_queue_wait_seconds",
                "How long a request taking its turn on each account now would wait for it (pool.requests_per_second)",
                None,
                MetricType::Gauge,
            )?;
            for account in &report {
                let labels = [("account", account.account.to_string())];
                ConstGauge::new(account.queue_wait.as_secs_f64())
                    .encode(queued.encode_family(&labels)?)?;
            }
        }
        {
            let mut rates = encoder.encode_descriptor(
                "account_method_rate",
                "Calls per second each account paces each method it has called at now (pool.method_rates, lowered after a flood wait and raised slowly after)",
                None,
                MetricType::Gauge,
            )?;
            for account in &report {
                for pacing in &account.pacing {
                    let labels = [
                        ("account", account.account.to_string()),
                        ("method", pacing.method.clone()),
                    ];
                    ConstGauge::new(pacing.per_second).encode(rates.encode_family(&labels)?)?;
                }
            }
        }
        let spill_overs = ConstCounter::new(self.pool.spill_overs());
        spill_overs.encode(encoder.encode_descriptor(
            "pool_spill_overs",
            "Requests moved to another account that can read the chat because theirs would have waited longer than pool.max_queue_wait",
            None,
            spill_overs.metric_type(),
        )?)?;
        let active = report
            .iter()
            .filter(|a| a.state == AccountState::Active)
            .count();
        let gauge = ConstGauge::new(active as i64);
        gauge.encode(encoder.encode_descriptor(
            "accounts_active",
            "Accounts connected and authorized",
            None,
            gauge.metric_type(),
        )?)?;
        Ok(())
    }
}

/// One of the publisher's since-start counts.
type PublisherCounter = fn(&PublisherStats) -> u64;

/// Reads the publisher's counters at scrape time.
#[derive(Debug)]
struct PublisherCollector {
    monitor: PublisherMonitor,
}

impl Collector for PublisherCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let stats = self.monitor.stats();
        let counters: [(&str, &str, PublisherCounter); 7] = [
            (
                "publisher_accepted",
                "Live events written to the outbox since start",
                |s| s.accepted,
            ),
            (
                "publisher_published",
                "Live events RabbitMQ confirmed since start",
                |s| s.published,
            ),
            (
                "publisher_duplicates",
                "Live events dropped as already seen (another account's copy, a replay)",
                |s| s.duplicates,
            ),
            (
                "publisher_write_retries",
                "Tries of an update whose events the outbox could not take (full disk, I/O error, cap); tried again, never dropped",
                |s| s.write_retries,
            ),
            (
                "publisher_unroutable",
                "Times RabbitMQ returned an event as routed to no queue; it stayed in the outbox and was tried again",
                |s| s.unroutable,
            ),
            (
                "publisher_stream_restarts",
                "Times an account's update stream that failed or panicked was started again",
                |s| s.stream_restarts,
            ),
            (
                "publisher_ignored",
                "Updates about chats nobody joined",
                |s| s.ignored,
            ),
        ];
        for (name, help, value) in counters {
            let counter = ConstCounter::new(value(&stats));
            counter.encode(encoder.encode_descriptor(
                name,
                help,
                None,
                counter.metric_type(),
            )?)?;
        }
        let gauges: [(&str, &str, i64); 8] = [
            (
                "publisher_outbox_events",
                "Live events waiting in the outbox for a confirm",
                i64::try_from(stats.outbox).unwrap_or(i64::MAX),
            ),
            (
                "publisher_outbox_max_events",
                "The outbox's cap (rabbitmq.outbox_max_events)",
                i64::try_from(self.monitor.outbox_max_events()).unwrap_or(i64::MAX),
            ),
            (
                "publisher_link_up",
                "1 while the RabbitMQ link is up",
                i64::from(stats.link_up),
            ),
            (
                "publisher_unroutable_now",
                "1 while the oldest event is routed to no queue (nothing is published until a queue is bound)",
                i64::from(stats.unroutable_now),
            ),
            (
                "publisher_streams",
                "Accounts whose updates are streamed",
                i64::try_from(stats.streams).unwrap_or(i64::MAX),
            ),
            (
                "publisher_streams_up",
                "Account update streams running now (the rest are restarting or ended)",
                i64::try_from(stats.streams_up).unwrap_or(i64::MAX),
            ),
            (
                "publisher_streams_ended",
                "Account update streams ended for good (the account's client is gone)",
                i64::try_from(stats.streams_ended).unwrap_or(i64::MAX),
            ),
            (
                "publisher_streams_waiting",
                "Account streams waiting now for the outbox to take their events",
                i64::try_from(stats.streams_waiting).unwrap_or(i64::MAX),
            ),
        ];
        for (name, help, value) in gauges {
            let gauge = ConstGauge::new(value);
            gauge.encode(encoder.encode_descriptor(name, help, None, gauge.metric_type())?)?;
        }
        Ok(())
    }
}

/// Reads the media pipeline at scrape time: tasks by state as its task table counts them
/// (also across restarts), bytes and failures from its counters.
struct MediaCollector {
    media: Arc<MediaProcessor>,
}

impl std::fmt::Debug for MediaCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MediaCollector").finish_non_exhaustive()
    }
}

impl Collector for MediaCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let stats = self.media.stats();
        {
            let counts = self.media.counts();
            let mut tasks = encoder.encode_descriptor(
                "media_tasks",
                "Media tasks by state (queued, downloading, uploading, stored, failed, skipped)",
                None,
                MetricType::Gauge,
            )?;
            for (state, count) in counts {
                let labels = [("state", state.as_str().to_owned())];
                ConstGauge::new(i64::try_from(count).unwrap_or(i64::MAX))
                    .encode(tasks.encode_family(&labels)?)?;
            }
        }
        {
            let mut bytes = encoder.encode_descriptor(
                "media_bytes",
                "Media bytes moved since start: downloaded from Telegram, uploaded to storage",
                None,
                MetricType::Counter,
            )?;
            for (direction, value) in [
                ("download", stats.downloaded_bytes),
                ("upload", stats.uploaded_bytes),
            ] {
                let labels = [("direction", direction.to_owned())];
                ConstCounter::new(value).encode(bytes.encode_family(&labels)?)?;
            }
        }
        {
            let mut failures = encoder.encode_descriptor(
                "media_failures",
                "Media tasks failed since start, by reason",
                None,
                MetricType::Counter,
            )?;
            for (reason, count) in &stats.failures {
                let labels = [("reason", reason.clone())];
                ConstCounter::new(*count).encode(failures.encode_family(&labels)?)?;
            }
        }
        let counters: [(&str, &str, u64); 6] = [
            (
                "media_staging_waits",
                "Downloads put off because staging held media.staging_max bytes",
                stats.staging_waits,
            ),
            (
                "media_disk_full_waits",
                "Downloads put off because the disk was full (they wait, never fail for it)",
                stats.disk_full_waits,
            ),
            (
                "media_table_retries",
                "Steps of media tasks the task table refused (full disk, I/O error), held and tried again",
                stats.table_retries,
            ),
            (
                "media_upload_retries",
                "Uploads retried after a storage failure since start",
                stats.upload_retries,
            ),
            (
                "media_takeovers",
                "Media tasks another account took over from a dead owner since start",
                stats.takeovers,
            ),
            (
                "media_already_stored",
                "Media found in storage already (same key and size), not uploaded again",
                stats.already_stored,
            ),
        ];
        for (name, help, value) in counters {
            let counter = ConstCounter::new(value);
            counter.encode(encoder.encode_descriptor(
                name,
                help,
                None,
                counter.metric_type(),
            )?)?;
        }
        Ok(())
    }
}
