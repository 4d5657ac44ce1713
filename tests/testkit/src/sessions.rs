//! The gateway's own session files for a telesim world's accounts, so a test's pool starts as
//! production's does, from `sessions.dir`.
//!
//! Unlike the Telethon files telesim writes for the demo ([`telesim::telethon`]), these record
//! every DC (all pointing at the simulator, each with the account's key) and the self user, so
//! a client that switches DC lands on telesim too and no test depends on learning who an
//! account is. They are written through the gateway's own `SessionFile`, which is why this
//! lives here and not in telesim.

use std::path::{Path, PathBuf};
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use grammers_session::Session as _;
use telesim::Sim;
use telesim::api::HOME_DC;
use telesim::sim::DC_IDS;
use telesim::telethon::session_name;
use tgc_model::session::SessionFile;

/// Session files for a running [`Sim`].
pub trait SimSessions {
    /// Writes one session file (mode 0600) per logged-in account into `dir`, named after the
    /// account's phone number (`<digits>.session`), and returns their paths. An existing file is
    /// an error, never overwritten.
    fn write_sessions(&self, dir: &Path) -> Result<Vec<PathBuf>, String>;
}

impl SimSessions for Sim {
    fn write_sessions(&self, dir: &Path) -> Result<Vec<PathBuf>, String> {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("creating the sessions directory {}: {e}", dir.display()))?;
        let mut written = Vec::new();
        for account in self.telegram.accounts().into_iter().filter(|a| a.logged_in) {
            let path = dir.join(format!("{}.session", session_name(&account)));
            let file = SessionFile::create(&path, HOME_DC, self.addr, &account.auth_key)
                .map_err(|e| e.to_string())?;
            for id in DC_IDS {
                poll_ready(file.set_dc_option(&self.dc_option(id, Some(account.auth_key))))
                    .map_err(|e| format!("recording DC {id} in {}: {e}", path.display()))?;
            }
            file.set_self_user(account.user_id, false)
                .map_err(|e| e.to_string())?;
            written.push(path);
        }
        Ok(written)
    }
}

/// Runs a future that completes without waiting (SessionFile's SQLite calls run inline), from
/// sync code that may itself be inside a runtime, where `block_on` is not allowed.
fn poll_ready<T, E: std::fmt::Display>(
    future: impl std::future::Future<Output = Result<T, E>>,
) -> Result<T, String> {
    let mut future = pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(result) => result.map_err(|e| e.to_string()),
        Poll::Pending => Err("the session store unexpectedly waited on I/O".into()),
    }
}
