//! The signals the daemon answers: SIGTERM (`startup.sh stop`, systemd, Kubernetes) and
//! SIGINT (Ctrl-C) stop it; SIGHUP reopens its log file (logrotate's `postrotate`).
//!
//! The handlers are installed when [`terminate`] is called, not when its future is first
//! polled, so a signal that arrives while the pool is still connecting is not lost (nor
//! does it kill the process with the default action).

use std::future::Future;

use tgc_common::logging::Logging;
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

/// Installs the SIGHUP handler now and reopens the log file at each SIGHUP, for as long as
/// the runtime runs. Logging to stderr, there is nothing to reopen, but a SIGHUP still does
/// not stop the daemon (its default action would).
pub fn reopen_logs_on_hangup(logging: Logging) -> std::io::Result<()> {
    let mut hangup = signal(SignalKind::hangup())?;
    tokio::spawn(async move {
        while hangup.recv().await.is_some() {
            match (logging.reopen(), logging.file()) {
                (Ok(()), Some(file)) => {
                    tracing::info!(file = %file.display(), "SIGHUP: log file reopened");
                }
                (Ok(()), None) => tracing::info!("SIGHUP: logging to stderr, nothing to reopen"),
                (Err(error), _) => {
                    tracing::warn!(%error, "SIGHUP: cannot reopen the log file; still writing to the old one");
                }
            }
        }
    });
    Ok(())
}
