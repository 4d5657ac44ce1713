//! [`SessionFile`] as a grammers [`Session`].
//!
//! The trait is the only way grammers reaches the file. Its two hot methods
//! (`home_dc_id`, `dc_option`) answer from the in-memory cache; the rest go to SQLite.
//! Reads are short and run inline. A write fsyncs (the file is Telethon's: a rollback
//! journal, `synchronous = full`) and may wait up to five seconds for a lock a Telethon
//! process holds, so each runs through [`offload`]: the other tasks of the tokio worker
//! move to another thread instead of waiting with it. That hand-off costs a thread wake-up,
//! so the peers grammers caches after every answer (nearly always known already) are first
//! compared inline, and only a real change is offloaded.

use grammers_session::types::{DcOption, PeerId, PeerInfo, UpdateState, UpdatesState};
use grammers_session::{BoxFuture, Session};

use tgc_common::blocking::offload;

use super::error::SessionError;
use super::file::SessionFile;

impl Session for SessionFile {
    type Error = SessionError;

    fn home_dc_id(&self) -> Result<i32, SessionError> {
        self.dcs_home()
    }

    fn set_home_dc_id(&self, dc_id: i32) -> BoxFuture<'_, Result<(), SessionError>> {
        Box::pin(async move { offload(|| self.store_home_dc(dc_id)) })
    }

    fn dc_option(&self, dc_id: i32) -> Result<Option<DcOption>, SessionError> {
        self.dcs_option(dc_id)
    }

    fn set_dc_option(&self, dc_option: &DcOption) -> BoxFuture<'_, Result<(), SessionError>> {
        let dc_option = dc_option.clone();
        Box::pin(async move { offload(|| self.store_dc_option(&dc_option)) })
    }

    fn peer(&self, peer: PeerId) -> BoxFuture<'_, Result<Option<PeerInfo>, SessionError>> {
        Box::pin(async move { self.load_peer(peer) })
    }

    fn cache_peer(&self, peer: PeerInfo) -> BoxFuture<'_, Result<(), SessionError>> {
        Box::pin(async move { self.cache_if_changed(std::slice::from_ref(&peer)) })
    }

    fn cache_peers(&self, peers: Vec<PeerInfo>) -> BoxFuture<'_, Result<(), SessionError>> {
        Box::pin(async move { self.cache_if_changed(&peers) })
    }

    fn updates_state(&self) -> BoxFuture<'_, Result<UpdatesState, SessionError>> {
        Box::pin(async move { self.update_states() })
    }

    fn set_update_state(&self, update: UpdateState) -> BoxFuture<'_, Result<(), SessionError>> {
        Box::pin(async move { offload(|| self.store_update_state(update)) })
    }
}

/// Peers remembered as settled per session file; past this the memory starts over.
const SETTLED_PEERS: usize = 4096;

impl SessionFile {
    /// Stores `peers` off the async worker, if storing them would change the file.
    ///
    /// grammers caches the peers of every update, and a burst of a channel's messages brings
    /// the same channel and authors again and again: a peer equal to one this handle cached
    /// lately is skipped without reading the file (the read, under the file's lock, was a
    /// fifth of the CPU of a burst). The file already holds what that peer says, merged.
    fn cache_if_changed(&self, peers: &[PeerInfo]) -> Result<(), SessionError> {
        let (fresh, prints): (Vec<PeerInfo>, Vec<Option<(i64, u64)>>) = {
            let settled = self.settled();
            peers
                .iter()
                .filter_map(|peer| {
                    let print = fingerprint(peer);
                    let known =
                        print.is_some_and(|(marked, print)| settled.get(&marked) == Some(&print));
                    (!known).then(|| (peer.clone(), print))
                })
                .unzip()
        };
        if fresh.is_empty() {
            return Ok(());
        }
        if self.peers_would_change(&fresh)? {
            offload(|| self.store_peers(&fresh))?;
        }
        let mut settled = self.settled();
        if settled.len() + fresh.len() > SETTLED_PEERS {
            settled.clear();
        }
        settled.extend(prints.into_iter().flatten());
        Ok(())
    }

    fn settled(&self) -> std::sync::MutexGuard<'_, std::collections::HashMap<i64, u64>> {
        self.settled_peers
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A peer's marked id and a hash of everything it says (`None`: an id out of range, which
/// storing reports).
fn fingerprint(peer: &PeerInfo) -> Option<(i64, u64)> {
    use std::fmt::Write as _;
    use std::hash::Hasher as _;

    /// Feeds formatted text to a hasher without building the string.
    struct HashWriter(std::collections::hash_map::DefaultHasher);
    impl std::fmt::Write for HashWriter {
        fn write_str(&mut self, text: &str) -> std::fmt::Result {
            self.0.write(text.as_bytes());
            Ok(())
        }
    }
    let marked = super::peers::marked_id(peer)?;
    let mut writer = HashWriter(std::collections::hash_map::DefaultHasher::new());
    write!(writer, "{peer:?}").ok()?;
    Some((marked, writer.0.finish()))
}
