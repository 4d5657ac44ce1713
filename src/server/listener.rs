//! One listening socket: accepts connections and serves each on its own task until the
//! shutdown signal, then stops accepting and waits for its connections to drain.

use std::time::Duration;

use tgc_service::handler::{App, serve_connection};
use tokio::net::TcpListener;
use tokio::task::JoinSet;

use super::shutdown::Shutdown;

/// Pause after a failed accept (e.g. out of file descriptors), so the loop does not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

pub struct Listener {
    listener: TcpListener,
    app: App,
    shutdown: Shutdown,
}

impl Listener {
    pub fn new(listener: TcpListener, app: App, shutdown: Shutdown) -> Listener {
        Listener {
            listener,
            app,
            shutdown,
        }
    }

    /// Accepts until shutdown; returns once every connection it accepted has finished.
    pub async fn run(self) {
        let Listener {
            listener,
            app,
            shutdown,
        } = self;
        let mut connections = JoinSet::new();
        let stopping = shutdown.clone().wait();
        tokio::pin!(stopping);
        loop {
            tokio::select! {
                () = &mut stopping => break,
                accepted = listener.accept() => match accepted {
                    Ok((stream, _)) => {
                        let _ = stream.set_nodelay(true);
                        connections.spawn(serve_connection(stream, app.clone(), shutdown.clone().wait()));
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
