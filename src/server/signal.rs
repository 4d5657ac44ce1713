//! The signals that stop the daemon: SIGTERM (`startup.sh stop`, systemd, Kubernetes) and
//! SIGINT (Ctrl-C).
//!
//! The handlers are installed when [`terminate`] is called, not when its future is first
//! polled, so a signal that arrives while the pool is still connecting is not lost (nor
//! does it kill the process with the default action).

use std::future::Future;

use tokio::signal::unix::{SignalKind, signal};

/// Installs the handlers now; the future resolves at the first SIGTERM or SIGINT.
pub fn terminate() -> std::io::Result<impl Future<Output = ()>> {
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => tracing::info!("SIGTERM received"),
            _ = int.recv() => tracing::info!("SIGINT received"),
        }
    })
}
