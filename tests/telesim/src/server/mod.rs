//! The protocol side of the simulated datacenter: a TCP listener speaking MTProto 2.0.
//!
//! Layers, outermost first, one file each: [`transport`] (Full framing), [`crypto`] (MTProto 2.0
//! with preset keys), [`messages`] (containers, gzip, service messages), [`unwrap`] (invoke
//! wrappers), [`outbox`] (numbering and sending), [`connection`] (the per-socket state machine),
//! and [`registry`] (open connections, for dropping them on demand).
//!
//! Each accepted socket runs in its own task, so a client that sends garbage, or a panic while
//! answering it, ends that connection only. Sessions (auth key, session id) outlive connections,
//! like Telegram's: a client that reconnects with its session is not told `new_session_created`
//! again.

pub mod connection;
pub mod crypto;
pub mod messages;
pub mod outbox;
pub mod registry;
pub mod transport;
pub mod unwrap;

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::api::Telegram;
use crate::counters::Counters;
use crate::faults::Faults;

/// What every connection shares.
pub struct Shared {
    pub telegram: Telegram,
    pub faults: Faults,
    pub counters: Counters,
    pub registry: Arc<registry::Registry>,
    /// Sessions seen so far, as (auth key id, session id).
    sessions: Mutex<HashSet<(i64, i64)>>,
}

impl Shared {
    pub fn new(
        telegram: Telegram,
        faults: Faults,
        counters: Counters,
        registry: Arc<registry::Registry>,
    ) -> Shared {
        Shared {
            telegram,
            faults,
            counters,
            registry,
            sessions: Mutex::default(),
        }
    }

    fn sessions(&self) -> std::sync::MutexGuard<'_, HashSet<(i64, i64)>> {
        self.sessions
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Records a session; true if it is new.
    pub fn open_session(&self, auth_key_id: i64, session_id: i64) -> bool {
        self.sessions().insert((auth_key_id, session_id))
    }

    /// Forgets a session; true if it existed.
    pub fn close_session(&self, auth_key_id: i64, session_id: i64) -> bool {
        self.sessions().remove(&(auth_key_id, session_id))
    }
}

/// A running listener.
pub struct Server {
    pub addr: SocketAddr,
    stop: CancellationToken,
    accept: JoinHandle<()>,
}

impl Server {
    /// Binds `addr` and starts accepting connections.
    pub async fn start(addr: SocketAddr, shared: Arc<Shared>) -> std::io::Result<Server> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let stop = CancellationToken::new();
        let accept = tokio::spawn(accept_loop(listener, shared, stop.clone()));
        tracing::info!(%addr, "telesim listening");
        Ok(Server { addr, stop, accept })
    }

    /// Stops accepting and closes every connection.
    pub async fn shutdown(self) {
        self.stop.cancel();
        let _ = self.accept.await;
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>, stop: CancellationToken) {
    let mut connections = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            _ = stop.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    tracing::debug!(%peer, "accepted connection");
                    connections.spawn(connection::serve(stream, Arc::clone(&shared), stop.clone()));
                }
                Err(e) => {
                    // Out of descriptors and the like: transient, and no reason to stop serving.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
            },
            // Reap finished connections so the set does not grow without bound.
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    drop(listener);
    while connections.join_next().await.is_some() {}
}
