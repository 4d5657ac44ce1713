//! The [`Server`]: wires the pool, the gateway and the operator endpoints to their sockets,
//! and shuts them down cleanly. It is assembled here once, in the library, and run by
//! `tgcollector serve`, by in-process tests and by the benches alike, so a bench measures
//! exactly what `serve` runs.
//!
//! The shutdown sequence is the point of this module (docs/design.md §8, mini-redis's shape): when
//! the stop future resolves (SIGTERM or SIGINT for the daemon), both listeners stop
//! accepting, every open connection is told to finish (HTTP/1.1 closes after its current
//! response, HTTP/2 sends GOAWAY), in-flight requests run to completion, bounded by the
//! request timeout, and only then is the pool dropped, which closes the accounts' sessions.
//!
//! The live stream (docs/design.md §7) sits between the two: it starts after the pool when
//! `rabbitmq.enabled`, and stops after the listeners drained (a `join` in flight still
//! lands in the join map it reads) and before the pool goes, so each account's update
//! state is written back to its session file and the AMQP link is closed politely. Its
//! wiring is kept in `LiveStream`, apart from the HTTP side.
//!
//! The media pipeline (docs/design.md §6) starts right after the pool, since the handlers and the
//! live stream queue media through its hook, and stops last before the pool: its workers
//! are cancelled where they are (each chunk fetched is already recorded on disk) so a
//! restart resumes every task.

mod listener;
mod shutdown;
pub mod signal;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use tgc_common::Settings;
use tgc_model::joinmap::JoinMap;
use tgc_model::teleclient::TeleClients;
use tgc_service::cryptor::Cryptor;
use tgc_service::handler::{
    App, ConnectionLimits, Gateway, Limits, Metrics, Operator, Shared, api,
};
use tgc_service::mediaprocessor::{MediaConfig, MediaProcessor, Storage};
use tgc_service::parser::MediaHook;
use tgc_service::publisher::{Publisher, PublisherConfig, PublisherHandle};
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use listener::Listener;
use shutdown::Trigger;

/// Connections the operator listener holds at once (a scraper and a few operators).
const OPERATOR_CONNECTIONS: usize = 64;

/// How long past the request timeout connections may take to drain (a reply being written
/// when its deadline hits) before they are cut.
const DRAIN_MARGIN: Duration = Duration::from_secs(2);

/// How long the publisher may take to stop (write back update states, close AMQP) before
/// the server exits anyway; what it had not published is in the outbox on disk.
const PUBLISHER_STOP_GUARD: Duration = Duration::from_secs(15);

/// Runs the gateway until `stop` resolves, then shuts down as the module docs say: what
/// `tgcollector serve` does.
pub async fn run(settings: &Settings, stop: impl Future<Output = ()>) -> anyhow::Result<()> {
    Server::start(settings).await?.run_until(stop).await
}

/// The whole gateway, started and listening: the pool, the media pipeline, the live stream,
/// the sealed API and the operator endpoints.
pub struct Server {
    api_addr: SocketAddr,
    operator_addr: SocketAddr,
    pool: Arc<TeleClients>,
    media: Arc<MediaProcessor>,
    media_stop: CancellationToken,
    live: LiveStream,
    listeners: JoinSet<()>,
    trigger: Trigger,
    drain: Duration,
}

impl Server {
    /// Starts everything `serve` runs and binds its two listeners (`server.listen`,
    /// `server.operator_listen`; port 0 picks a free one, see [`Server::api_addr`]).
    pub async fn start(settings: &Settings) -> anyhow::Result<Server> {
        // Fail on configuration before touching the network.
        // A request sealed before this start may be a replay the old process's (in-memory)
        // replay cache would have refused.
        let cryptor = Cryptor::from_settings(&settings.crypto)?
            .refusing_requests_before(tgc_common::clock::unix_ms());
        let routes = api::routes().context("building the route table")?;
        for (path, mode) in settings.secrets_readable_by_others() {
            tracing::warn!(path = %path.display(), mode = format!("{mode:o}"), "this file holds secrets and other users may read it: chmod 600");
        }
        match tgc_common::descriptors::raise_soft_limit() {
            Ok(raised) if raised.after > raised.before => tracing::info!(
                from = raised.before,
                to = raised.after,
                "open-file limit raised to the hard limit"
            ),
            Ok(raised) => tracing::info!(limit = raised.after, "open-file limit"),
            Err(error) => tracing::warn!(%error, "cannot raise the open-file limit"),
        }

        let (pool, report) = TeleClients::start(settings)
            .await
            .context("starting the account pool")?;
        for error in &report.unreadable {
            tracing::warn!(%error, "session file skipped");
        }
        for error in &report.failed {
            tracing::warn!(%error, "account not serving");
        }
        let pool = Arc::new(pool);
        // The media pipeline first: the live stream's parser queues media through its hook.
        let media_stop = CancellationToken::new();
        let storage =
            Storage::from_settings(&settings.media.storage).context("opening the media storage")?;
        let media = Arc::new(
            MediaProcessor::start(
                MediaConfig::from_settings(settings),
                storage,
                Arc::clone(&pool),
                media_stop.clone(),
            )
            .context("starting the media pipeline")?,
        );
        let live = LiveStream::start(settings, &pool, media.hook()).await?;
        let mut metrics = Metrics::new(Arc::clone(&pool));
        live.watch_metrics(&mut metrics);
        metrics.watch_media(Arc::clone(&media));
        let metrics = Arc::new(metrics);
        let limits = Limits::from_settings(&settings.server);
        let shared = Shared {
            pool: Arc::clone(&pool),
            joinmap: Arc::clone(&live.joinmap),
            media: Arc::clone(&media),
        };
        let gateway = Gateway::new(routes, cryptor, shared, Arc::clone(&metrics), limits);
        let operator = live.watch_operator(Operator::new(Arc::clone(&pool), metrics));

        let api = bind(settings.server.listen, "server.listen").await?;
        let ops = bind(settings.server.operator_listen, "server.operator_listen").await?;
        let api_addr = api.local_addr()?;
        let operator_addr = ops.local_addr()?;
        tracing::info!(
            api = %api_addr,
            operator = %operator_addr,
            accounts = pool.accounts().len(),
            "listening"
        );

        let trigger = Trigger::new();
        let mut listeners = JoinSet::new();
        let limits = ConnectionLimits {
            header_timeout: settings.server.header_timeout,
            idle_timeout: settings.server.idle_timeout,
        };
        listeners.spawn(
            Listener::new(
                api,
                App::Api(Arc::new(gateway)),
                trigger.watch(),
                settings.server.max_connections,
                limits,
            )
            .run(),
        );
        listeners.spawn(
            Listener::new(
                ops,
                App::Operator(Arc::new(operator)),
                trigger.watch(),
                OPERATOR_CONNECTIONS,
                limits,
            )
            .run(),
        );
        Ok(Server {
            api_addr,
            operator_addr,
            pool,
            media,
            media_stop,
            live,
            listeners,
            trigger,
            drain: settings.server.request_timeout + DRAIN_MARGIN,
        })
    }

    /// Where the sealed API listens.
    pub fn api_addr(&self) -> SocketAddr {
        self.api_addr
    }

    /// Where `/healthz`, `/readyz` and `/metrics` are served.
    pub fn operator_addr(&self) -> SocketAddr {
        self.operator_addr
    }

    /// Serves until `stop` resolves, then shuts down in order: listeners drained, live
    /// stream stopped, media pipeline stopped, pool dropped.
    pub async fn run_until(self, stop: impl Future<Output = ()>) -> anyhow::Result<()> {
        let Server {
            pool,
            media,
            media_stop,
            live,
            mut listeners,
            trigger,
            drain,
            ..
        } = self;
        stop.await;
        tracing::info!("shutting down: no new connections, finishing the requests in flight");
        trigger.fire();
        let drained = tokio::time::timeout(drain, async {
            while let Some(result) = listeners.join_next().await {
                if let Err(error) = result {
                    tracing::error!(%error, "a listener task failed");
                }
            }
        })
        .await;
        if drained.is_err() {
            tracing::warn!(
                seconds = drain.as_secs(),
                "connections still open after the drain window; closing them"
            );
            listeners.shutdown().await;
        }
        live.stop().await;
        // Downloads stop where they are: every chunk fetched is already recorded, and the
        // next start resumes from there.
        media_stop.cancel();
        media.join().await;
        // The listeners held the last handles on the gateway; the pool goes with this one.
        drop(pool);
        tracing::info!("stopped");
        Ok(())
    }
}

/// The join map and, when `rabbitmq.enabled`, the publisher of the live stream.
struct LiveStream {
    /// Shared by the `join`/`leave`/`subscriptions` handlers and the publisher's streams.
    joinmap: Arc<JoinMap>,
    publisher: Option<PublisherHandle>,
    /// Stops the publisher: the server fires it after the listeners drained.
    stop: CancellationToken,
}

impl LiveStream {
    async fn start(
        settings: &Settings,
        pool: &Arc<TeleClients>,
        media: Arc<dyn MediaHook>,
    ) -> anyhow::Result<LiveStream> {
        let joinmap =
            Arc::new(JoinMap::open_in(&settings.data.dir).context("opening the join map")?);
        if !settings.rabbitmq.enabled {
            tracing::info!("rabbitmq.enabled = false: live messages are not published");
            return Ok(LiveStream {
                joinmap,
                publisher: None,
                stop: CancellationToken::new(),
            });
        }
        let config = PublisherConfig::from_settings(settings)
            .context("configuring the publisher")?
            .with_media_hook(media);
        // The publisher's own token: the server stops it explicitly, after the listeners.
        let stop = CancellationToken::new();
        let publisher =
            Publisher::start(config, Arc::clone(&joinmap), Arc::clone(pool), stop.clone())
                .context("starting the publisher")?;
        Ok(LiveStream {
            joinmap,
            publisher: Some(publisher),
            stop,
        })
    }

    fn watch_metrics(&self, metrics: &mut Metrics) {
        if let Some(publisher) = &self.publisher {
            metrics.watch_publisher(publisher.monitor());
        }
    }

    fn watch_operator(&self, operator: Operator) -> Operator {
        match &self.publisher {
            Some(publisher) => operator.with_publisher(publisher.monitor()),
            None => operator,
        }
    }

    /// Stops the streams (update states saved) and the drainer (AMQP closed), bounded.
    async fn stop(self) {
        let Some(publisher) = self.publisher else {
            return;
        };
        self.stop.cancel();
        if tokio::time::timeout(PUBLISHER_STOP_GUARD, publisher.join())
            .await
            .is_err()
        {
            tracing::warn!(
                seconds = PUBLISHER_STOP_GUARD.as_secs(),
                "the publisher did not stop in time; unpublished events stay in the outbox"
            );
        }
    }
}

async fn bind(addr: std::net::SocketAddr, key: &str) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr} ({key})"))
}
