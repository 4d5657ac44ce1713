//! Live messages of joined chats to RabbitMQ, through a persistent outbox (docs/design.md §7).
//!
//! ```text
//! account 1 updates ─┐                                   ┌─▶ exchange (durable topic)
//! account 2 updates ─┼─▶ stream: filter joined chats ─▶ outbox ─▶ drainer ─┤   message.new.<chat>
//! account N updates ─┘   (join map), parse, dedup    (SQLite)  (confirms)  │   message.edit.<chat>
//!                                                                          └─▶ message.delete.<chat>
//! ```
//!
//! Every account streams its updates (`stream`); new, edited and deleted messages of the
//! chats in the join map become [`Event`]s (`event`), in the parser's schema, their media
//! named through the [`MediaHook`] the media pipeline installs; joins and leaves seen in
//! the updates update the join map (`membership`). Every event goes into the [`Outbox`]
//! first, which also drops the second account's copy of it; the drainer (`link`) publishes
//! the outbox in order with publisher confirms and removes only what was confirmed. So a
//! broker outage only grows the outbox, and a crash or restart loses nothing: the outbox
//! is on disk, and grammers catches up on missed updates from the state in the session
//! files. Consumers drop redeliveries by the `message_id` property, which names the
//! change itself (`<chat_id>:<message_id>:<new|delete>:0`, or for an edit
//! `<chat_id>:<message_id>:edit:<edit_date>:<digest>`; see [`EventKey::id`]).
//!
//! # Wiring it into `serve`
//!
//! ```text
//! let pool = Arc::new(pool);
//! let joinmap = Arc::new(JoinMap::open_in(&settings.data.dir)?);  // shared with join/leave
//! let config = PublisherConfig::from_settings(&settings)?.with_media_hook(media.hook());
//! let publisher = Publisher::start(config, Arc::clone(&joinmap), Arc::clone(&pool), stop.clone())?;
//! stop.cancel();                           // on SIGTERM, after the HTTP server stopped
//! publisher.join().await;                  // saves update state, closes AMQP
//! ```
//!
//! With `rabbitmq.sealed = true` every body is a sealed envelope of the event's JSON
//! (`cryptor::stream`, README "RabbitMQ stream"), content type
//! [`SEALED_CONTENT_TYPE`]; it is sealed when published, so the outbox keeps plain JSON and
//! a change of the setting applies to what is still waiting.

mod error;
mod event;
mod handled;
mod link;
mod membership;
mod outbox;
mod stats;
mod stream;
mod tail;

use std::path::PathBuf;
use std::sync::Arc;

use tgc_common::Settings;
use tgc_model::joinmap::JoinMap;
use tgc_model::teleclient::TeleClients;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::cryptor::Cryptor;
use crate::parser::{MediaHook, MediaRefs};

pub use crate::cryptor::SEALED_CONTENT_TYPE;
pub use error::{OutboxError, PublisherError};
pub use event::{Event, EventKey, EventKind};
/// The AMQP client, for consumers and benchmarks written against the same version.
pub use lapin;
pub use link::{BrokerLink, LinkFailure, declare_exchange};
pub use membership::MembershipChange;
pub use outbox::{Enqueued, Outbox, Pending};
pub use stats::PublisherStats;
pub use tail::{Tail, TailEvent, binding_key, parse_chat};

/// What the publisher needs, usually from [`PublisherConfig::from_settings`].
#[derive(Clone)]
pub struct PublisherConfig {
    /// `amqp://…` (the password is never logged).
    pub url: String,
    pub exchange: String,
    /// The durable queue declared and bound to the exchange with `#` (`rabbitmq.queue`);
    /// None declares none.
    pub queue: Option<String>,
    /// Where `outbox.sqlite` and `joinmap.sqlite` live.
    pub data_dir: PathBuf,
    pub outbox_max_events: u64,
    /// Whether grammers catches up on updates missed while the gateway was down.
    pub catch_up: bool,
    /// Names (and, with the media pipeline's hook, queues) each media met.
    pub media: Arc<dyn MediaHook>,
    /// Seals every body (`rabbitmq.sealed = true`) with the API's keyring; None publishes
    /// plain JSON.
    pub seal: Option<Arc<Cryptor>>,
}

impl std::fmt::Debug for PublisherConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PublisherConfig")
            .field("url", &mask_url(&self.url))
            .field("exchange", &self.exchange)
            .field("queue", &self.queue)
            .field("data_dir", &self.data_dir)
            .field("outbox_max_events", &self.outbox_max_events)
            .field("catch_up", &self.catch_up)
            .field("sealed", &self.seal.is_some())
            .finish_non_exhaustive()
    }
}

impl PublisherConfig {
    pub fn from_settings(settings: &Settings) -> Result<PublisherConfig, PublisherError> {
        let rabbitmq = &settings.rabbitmq;
        if !rabbitmq.enabled {
            return Err(PublisherError::Disabled);
        }
        // The stream needs no replay cache: one slot instead of the API's million.
        let seal = if rabbitmq.sealed {
            Some(Arc::new(
                Cryptor::from_settings(&settings.crypto)?.with_replay_capacity(1),
            ))
        } else {
            None
        };
        Ok(PublisherConfig {
            url: rabbitmq.url.expose().to_string(),
            exchange: rabbitmq.exchange.clone(),
            queue: rabbitmq.queue.clone(),
            data_dir: settings.data.dir.clone(),
            outbox_max_events: rabbitmq.outbox_max_events,
            catch_up: true,
            media: Arc::new(MediaRefs),
            seal,
        })
    }

    /// Replaces the media hook (the media pipeline installs its own).
    pub fn with_media_hook(mut self, media: Arc<dyn MediaHook>) -> PublisherConfig {
        self.media = media;
        self
    }
}

/// The publisher service.
#[derive(Debug)]
pub struct Publisher;

impl Publisher {
    /// Opens the outbox, starts one update stream per account of the pool and the drainer,
    /// reading (and, for joins and leaves seen in the updates, writing) `joinmap`, which
    /// the `join`/`leave` handlers share. It does not wait for RabbitMQ: events wait in the
    /// outbox until the broker answers. Everything stops when `shutdown` is cancelled.
    pub fn start(
        config: PublisherConfig,
        joinmap: Arc<JoinMap>,
        pool: Arc<TeleClients>,
        shutdown: CancellationToken,
    ) -> Result<PublisherHandle, PublisherError> {
        let outbox = Arc::new(Outbox::open_in(&config.data_dir, config.outbox_max_events)?);
        let relays: Vec<_> = pool
            .accounts()
            .iter()
            .filter_map(|account| Some((account, stream::take_updates(account)?)))
            .collect();
        let stats = Arc::new(stats::Stats::new(relays.len() as u64));
        let shutdown = shutdown.child_token();
        let shared = Arc::new(stream::Shared {
            joinmap: Arc::clone(&joinmap),
            outbox: Arc::clone(&outbox),
            media: Arc::clone(&config.media),
            stats: Arc::clone(&stats),
        });
        let mut tasks = JoinSet::new();
        for (account, relay) in relays {
            tasks.spawn(stream::supervise(
                Arc::clone(account),
                relay,
                Arc::clone(&shared),
                config.catch_up,
                shutdown.clone(),
            ));
        }
        tasks.spawn(link::drain(
            link::Target {
                url: config.url.clone(),
                exchange: config.exchange.clone(),
                queue: config.queue.clone(),
            },
            config.seal.clone(),
            Arc::clone(&outbox),
            Arc::clone(&stats),
            shutdown.clone(),
        ));
        tracing::info!(
            accounts = pool.accounts().len(),
            exchange = config.exchange,
            sealed = config.seal.is_some(),
            "publisher started"
        );
        Ok(PublisherHandle {
            outbox,
            joinmap,
            stats,
            tasks,
            shutdown,
        })
    }
}

/// The running publisher.
pub struct PublisherHandle {
    outbox: Arc<Outbox>,
    joinmap: Arc<JoinMap>,
    stats: Arc<stats::Stats>,
    tasks: JoinSet<()>,
    shutdown: CancellationToken,
}

impl std::fmt::Debug for PublisherHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PublisherHandle")
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl PublisherHandle {
    /// The counters now.
    pub fn stats(&self) -> PublisherStats {
        self.stats.snapshot(self.outbox.len())
    }

    /// The total of events written to the outbox, to wait on.
    pub fn accepted(&self) -> watch::Receiver<u64> {
        self.stats.subscribe_accepted()
    }

    /// The total of confirmed events, to wait on.
    pub fn published(&self) -> watch::Receiver<u64> {
        self.stats.subscribe_published()
    }

    /// A cheap, cloneable view of the counters, for `/metrics` and `/readyz`.
    pub fn monitor(&self) -> PublisherMonitor {
        PublisherMonitor {
            outbox: Arc::clone(&self.outbox),
            stats: Arc::clone(&self.stats),
        }
    }

    /// The join map the streams read (the `join`/`leave` handlers may share it).
    pub fn joinmap(&self) -> &Arc<JoinMap> {
        &self.joinmap
    }

    pub fn outbox(&self) -> &Arc<Outbox> {
        &self.outbox
    }

    /// Stops the publisher (only it) and waits, like [`PublisherHandle::join`].
    pub async fn shutdown(self) {
        self.shutdown.cancel();
        self.join().await;
    }

    /// Waits until every task has stopped after the shutdown token was cancelled: update
    /// states saved to the session files, the AMQP link closed. Unconfirmed events stay in
    /// the outbox for the next start.
    pub async fn join(mut self) {
        while let Some(result) = self.tasks.join_next().await {
            if let Err(error) = result {
                tracing::error!(%error, "a publisher task failed");
            }
        }
        tracing::info!(outbox = self.outbox.len(), "publisher stopped");
    }
}

/// The publisher's counters as the operator endpoints read them; outlives nothing it
/// watches (a snapshot after shutdown shows the last counts).
#[derive(Clone)]
pub struct PublisherMonitor {
    outbox: Arc<Outbox>,
    stats: Arc<stats::Stats>,
}

impl std::fmt::Debug for PublisherMonitor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("PublisherMonitor")
            .field(&self.stats())
            .finish()
    }
}

impl PublisherMonitor {
    /// The counters now.
    pub fn stats(&self) -> PublisherStats {
        self.stats.snapshot(self.outbox.len())
    }

    /// The outbox's cap (`rabbitmq.outbox_max_events`).
    pub fn outbox_max_events(&self) -> u64 {
        self.outbox.max_events()
    }
}

/// The URL with its password replaced by `****`, for logs and errors.
pub fn mask_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let Some((credentials, host)) = rest.rsplit_once('@') else {
        return url.to_owned();
    };
    match credentials.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:****@{host}"),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shipped configuration with some lines replaced.
    fn settings(replacements: &[(&str, &str)]) -> Settings {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../config.properties");
        let mut text = std::fs::read_to_string(&path).unwrap();
        for (from, to) in replacements {
            assert!(text.contains(from), "{from}");
            text = text.replace(from, to);
        }
        Settings::from_text(&text, &path, &|_| None).unwrap()
    }

    #[test]
    fn the_configuration_gives_url_exchange_outbox_cap_and_data_dir() {
        let config = PublisherConfig::from_settings(&settings(&[
            (
                "rabbitmq.exchange = tgcollector.messages",
                "rabbitmq.exchange = live",
            ),
            (
                "rabbitmq.outbox_max_events = 1000000",
                "rabbitmq.outbox_max_events = 5",
            ),
        ]))
        .unwrap();
        assert_eq!(config.exchange, "live");
        assert_eq!(config.outbox_max_events, 5);
        assert!(config.url.starts_with("amqp://"));
        assert!(config.data_dir.is_absolute());
        assert!(config.catch_up);
        assert!(
            !format!("{config:?}").contains("guest:guest"),
            "no password in Debug"
        );
    }

    #[test]
    fn a_disabled_stream_is_refused_and_a_sealed_one_seals_with_the_keyring() {
        let disabled = PublisherConfig::from_settings(&settings(&[(
            "rabbitmq.enabled = true",
            "rabbitmq.enabled = false",
        )]))
        .unwrap_err();
        assert!(matches!(disabled, PublisherError::Disabled), "{disabled}");
        let plain = PublisherConfig::from_settings(&settings(&[])).unwrap();
        assert!(plain.seal.is_none());
        let keyless = PublisherConfig::from_settings(&settings(&[(
            "rabbitmq.sealed = false",
            "rabbitmq.sealed = true",
        )]))
        .unwrap_err();
        assert!(
            keyless.to_string().contains("rabbitmq.sealed")
                && keyless.to_string().contains("crypto.keys"),
            "{keyless}"
        );
        let key = crate::cryptor::keygen::config_value(&crate::cryptor::keygen::generate());
        let sealed = PublisherConfig::from_settings(&settings(&[
            ("rabbitmq.sealed = false", "rabbitmq.sealed = true"),
            ("crypto.keys =\n", &format!("crypto.keys = {key}\n")),
        ]))
        .unwrap();
        assert!(sealed.seal.is_some());
    }

    #[test]
    fn passwords_are_masked_in_broker_urls() {
        assert_eq!(
            mask_url("amqp://guest:s3cret@127.0.0.1:5672/%2f"),
            "amqp://guest:****@127.0.0.1:5672/%2f"
        );
        assert_eq!(
            mask_url("amqp://127.0.0.1:5672/%2f"),
            "amqp://127.0.0.1:5672/%2f"
        );
    }
}
