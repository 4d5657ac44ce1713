//! The one set-up the pool, stream, pipeline and media tests build on: a telesim world, its
//! accounts' session files in a temporary directory, and a pool over them configured as
//! production would be; from there, optionally, a publisher to the test RabbitMQ or a media
//! pipeline over that pool. The domain modules ([`crate::pool_setup`],
//! [`crate::stream_setup`], [`crate::pipeline_setup`]) only choose the world and the
//! accounts' configuration; the served binary's set-up builds on this one's files.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use telesim::Sim;
use telesim::world::World;
use tgc_model::directory::Directory;
use tgc_model::teleclient::{ClientConfig, TeleClients};
use tgc_service::mediaprocessor::{MediaConfig, MediaProcessor, Storage};
use tgc_service::parser::MediaRefs;
use tgc_service::publisher::{Publisher, PublisherConfig, PublisherHandle, Tail};
use tokio_util::sync::CancellationToken;

use crate::broker::{amqp_url, delete_exchange, exchange};
use crate::guard::guarded;
use crate::sessions::SimSessions;

/// A running simulator, its accounts' session files (`<dir>/sessions`), the gateway's data
/// directory (`<dir>/data`), and the accounts' configuration every pool of it gets.
pub struct Setup {
    pub sim: Sim,
    pub dir: tempfile::TempDir,
    /// The test's own exchange (named after the test), for the publisher and its consumer.
    pub exchange: String,
    client: ClientConfig,
}

impl Setup {
    /// Starts telesim on `world` and writes its accounts' session files. `test` names the
    /// test's own exchange, so tests that publish at once never see each other's events.
    pub async fn start(test: &str, world: World) -> Setup {
        crate::logging::from_env();
        let sim = Sim::start(world).await.expect("telesim starts");
        let dir = tempfile::tempdir().expect("a temporary directory");
        sim.write_sessions(&dir.path().join("sessions"))
            .expect("session files");
        Setup {
            sim,
            dir,
            exchange: exchange(test),
            client: client_config(Duration::from_secs(300)),
        }
    }

    /// The accounts reconnect within `max_backoff` (a test that cuts connections waits for
    /// the reconnect; the default is production's five minutes).
    pub fn reconnecting_within(mut self, max_backoff: Duration) -> Setup {
        self.client.reconnect_max_backoff = max_backoff;
        self
    }

    pub fn client_config(&self) -> &ClientConfig {
        &self.client
    }

    pub fn sessions(&self) -> PathBuf {
        self.dir.path().join("sessions")
    }

    pub fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// A local object store under the set-up's directory.
    pub fn local_storage(&self) -> Storage {
        Storage::local(self.dir.path().join("media")).expect("local storage")
    }

    /// A pool over the sessions, as a server start would build it.
    pub async fn pool(&self) -> Arc<TeleClients> {
        self.pool_with(&self.client).await
    }

    pub async fn pool_with(&self, config: &ClientConfig) -> Arc<TeleClients> {
        let directory =
            Directory::open_in(&self.data(), Duration::from_secs(24 * 3600)).expect("directory");
        let (pool, report) = guarded(
            "pool start",
            TeleClients::start_from_dir(&self.sessions(), directory, config),
        )
        .await;
        assert!(report.unreadable.is_empty(), "{:?}", report.unreadable);
        assert!(report.failed.is_empty(), "{:?}", report.failed);
        Arc::new(pool)
    }

    /// `contacts.resolveUsername` calls telesim answered, over all accounts.
    pub fn resolves(&self) -> u64 {
        self.sim.counters.method_total("contacts.resolveUsername")
    }

    /// A publisher configuration for the test's exchange at `url` (see [`publisher_config`]).
    pub fn publisher_config(&self, url: &str) -> PublisherConfig {
        publisher_config(&self.data(), &self.exchange, url)
    }

    /// A pool and a publisher to `url`.
    pub async fn publisher(&self, url: &str) -> (Arc<TeleClients>, PublisherHandle) {
        self.publisher_with(self.publisher_config(url)).await
    }

    /// A pool and a publisher configured by `config`.
    pub async fn publisher_with(
        &self,
        config: PublisherConfig,
    ) -> (Arc<TeleClients>, PublisherHandle) {
        let pool = self.pool().await;
        let joinmap =
            Arc::new(tgc_model::joinmap::JoinMap::open_in(&config.data_dir).expect("the join map"));
        let handle = Publisher::start(config, joinmap, Arc::clone(&pool), CancellationToken::new())
            .expect("publisher starts");
        (pool, handle)
    }

    /// A media pipeline over `pool` storing into `storage`, configured by `config`.
    pub fn pipeline(
        &self,
        config: MediaConfig,
        pool: &Arc<TeleClients>,
        storage: Storage,
        cancel: &CancellationToken,
    ) -> MediaProcessor {
        MediaProcessor::start(config, storage, Arc::clone(pool), cancel.clone())
            .expect("the pipeline starts")
    }

    /// A consumer of every event of the test's exchange.
    pub async fn tail(&self) -> Tail {
        guarded(
            "consumer connects",
            Tail::connect(&amqp_url(), &self.exchange, None),
        )
        .await
        .expect("RabbitMQ on 127.0.0.1:5672 (run ./test.sh to start it)")
    }

    /// Closes the consumer and deletes the test's exchange, so test runs leave nothing
    /// behind in the broker.
    pub async fn finish(&self, tail: Tail) {
        tail.close().await;
        delete_exchange(&self.exchange).await;
    }

    /// Posts `count` messages to `chat`, returning their ids.
    pub fn post(&self, chat: i64, count: usize, label: &str) -> Vec<i32> {
        (0..count)
            .map(|i| {
                self.sim
                    .telegram
                    .post_message(chat, telesim::api::NewMessage::text(format!("{label} {i}")))
                    .expect("posting")
            })
            .collect()
    }
}

/// A publisher configuration for `exchange` at `url`, keeping its files in `data`. It
/// declares no queue of its own: the test's consumer binds one.
pub fn publisher_config(data: &Path, exchange: &str, url: &str) -> PublisherConfig {
    PublisherConfig {
        url: url.to_owned(),
        exchange: exchange.to_owned(),
        queue: None,
        data_dir: data.to_owned(),
        outbox_max_events: 1_000_000,
        catch_up: true,
        media: Arc::new(MediaRefs),
        seal: None,
    }
}

/// The accounts' configuration every set-up uses: budgets and pacing generous enough that no
/// test waits on them (tests count calls, they do not wait for budgets), and the given
/// reconnect backoff.
pub fn client_config(reconnect_max_backoff: Duration) -> ClientConfig {
    ClientConfig {
        api_id: 1,
        device_model: "tgcollector tests".into(),
        resolve_budget_per_hour: 1000,
        requests_per_second: 10_000.0,
        // No per-method table: tests that pace a method set one.
        method_rates: Arc::new(tgc_model::teleclient::MethodRates::new(&[], 10_000.0)),
        max_queue_wait: Duration::from_secs(1),
        reconnect_max_backoff,
        proxy: None,
    }
}
