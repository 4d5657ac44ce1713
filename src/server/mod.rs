//! The `Server`: wires the pool, the gateway and the operator endpoints to their sockets,
//! and shuts them down cleanly.
//!
//! The shutdown sequence is the point of this module (DESIGN §8, mini-redis's shape): when
//! the stop future resolves (SIGTERM or SIGINT for the daemon), both listeners stop
//! accepting, every open connection is told to finish (HTTP/1.1 closes after its current
//! response, HTTP/2 sends GOAWAY), in-flight requests run to completion, bounded by the
//! request timeout, and only then is the pool dropped, which closes the accounts' sessions.

mod listener;
mod shutdown;
pub mod signal;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use tgc_common::Settings;
use tgc_model::teleclient::TeleClients;
use tgc_service::cryptor::Cryptor;
use tgc_service::handler::{App, Gateway, Limits, Metrics, Operator, api};
use tokio::net::TcpListener;

use listener::Listener;
use shutdown::Trigger;

/// How long past the request timeout connections may take to drain (a reply being written
/// when its deadline hits) before they are cut.
const DRAIN_MARGIN: Duration = Duration::from_secs(2);

/// Runs the gateway until `stop` resolves, then shuts down as the module docs say.
pub async fn run(settings: &Settings, stop: impl Future<Output = ()>) -> anyhow::Result<()> {
    // Fail on configuration before touching the network.
    let cryptor = Cryptor::from_settings(&settings.crypto)?;
    let routes = api::routes().context("building the route table")?;

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
    let metrics = Arc::new(Metrics::new(Arc::clone(&pool)));
    let limits = Limits::from_settings(&settings.server);
    let gateway = Gateway::new(
        routes,
        cryptor,
        Arc::clone(&pool),
        Arc::clone(&metrics),
        limits,
    );
    let operator = Operator::new(Arc::clone(&pool), metrics);

    let api = bind(settings.server.listen, "server.listen").await?;
    let ops = bind(settings.server.operator_listen, "server.operator_listen").await?;
    tracing::info!(
        api = %api.local_addr()?,
        operator = %ops.local_addr()?,
        accounts = pool.accounts().len(),
        "listening"
    );

    let trigger = Trigger::new();
    let mut listeners = tokio::task::JoinSet::new();
    listeners.spawn(Listener::new(api, App::Api(Arc::new(gateway)), trigger.watch()).run());
    listeners.spawn(Listener::new(ops, App::Operator(Arc::new(operator)), trigger.watch()).run());

    stop.await;
    tracing::info!("shutting down: no new connections, finishing the requests in flight");
    trigger.fire();
    let drain = settings.server.request_timeout + DRAIN_MARGIN;
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
    // The listeners held the last handles on the gateway; the pool goes with this one.
    drop(pool);
    tracing::info!("stopped");
    Ok(())
}

async fn bind(addr: std::net::SocketAddr, key: &str) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr} ({key})"))
}
