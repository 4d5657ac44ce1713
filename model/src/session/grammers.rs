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

impl SessionFile {
    /// Stores `peers` off the async worker, if storing them would change the file.
    fn cache_if_changed(&self, peers: &[PeerInfo]) -> Result<(), SessionError> {
        if self.peers_would_change(peers)? {
            offload(|| self.store_peers(peers))
        } else {
            Ok(())
        }
    }
}
