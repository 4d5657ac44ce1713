//! One listening socket: accepts connections and serves each on its own task until the
//! shutdown signal, then stops accepting and waits for its connections to drain. It holds at
//! most its connection limit open: past it a new connection is closed at once, so a flood of
//! idle connections costs bounded memory and descriptors, and is shed as they idle out.

use std::sync::Arc;
use std::time::Duration;

use tgc_service::handler::{App, ConnectionLimits, serve_connection};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::shutdown::Shutdown;

/// Pause after a failed accept (e.g. out of file descriptors), so the loop does not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

pub struct Listener {
    listener: TcpListener,
    app: App,
    shutdown: Shutdown,
    max_connections: usize,
    limits: ConnectionLimits,
}

impl Listener {
    /// Serves `app` on `listener`, at most `max_connections` at once, each held to `limits`.
    pub fn new(
        listener: TcpListener,
        app: App,
        shutdown: Shutdown,
        max_connections: usize,
        limits: ConnectionLimits,
    ) -> Listener {
        Listener {
            listener,
            app,
            shutdown,
            max_connections,
            limits,
        }
    }

    /// Accepts until shutdown; returns once every connection it accepted has finished.
    pub async fn run(self) {
        let Listener {
            listener,
            app,
            shutdown,
            max_connections,
            limits,
        } = self;
        let open = Arc::new(Semaphore::new(max_connections));
        let mut refused: u64 = 0;
        let mut connections = JoinSet::new();
        let stopping = shutdown.clone().wait();
        tokio::pin!(stopping);
        loop {
            tokio::select! {
                () = &mut stopping => break,
                accepted = listener.accept() => match accepted {
                    Ok((stream, peer)) => {
                        let Ok(slot) = Arc::clone(&open).try_acquire_owned() else {
                            // Closing at once costs nothing to keep; log now and then.
                            refused += 1;
                            if refused.is_power_of_two() {
                                tracing::warn!(%peer, max_connections, refused, "connection limit reached (server.max_connections): closing new connections");
                            }
                            drop(stream);
                            continue;
                        };
                        let _ = stream.set_nodelay(true);
                        let serving = serve_connection(stream, app.clone(), limits, shutdown.clone().wait());
                        connections.spawn(async move {
                            serving.await;
                            drop(slot);
                        });
                    }
                    Err(error) => {
                        tracing::warn!(%error, "accepting a connection failed");
                        tokio::time::sleep(ACCEPT_BACKOFF).await;
                    }
                },
                // Reap finished connections so the set does not grow with the server's age.
                Some(_) = connections.join_next(), if !connections.is_empty() => {}
            }
        }
        // Closing the socket now refuses new connections while the old ones drain.
        drop(listener);
        while connections.join_next().await.is_some() {}
    }
}
