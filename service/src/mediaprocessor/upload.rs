//! The upload side: staged files into storage, retried with backoff while storage is down.
//!
//! A task reaches this queue once every chunk is in its staging file. `media.uploads`
//! workers take tasks in order; each first asks storage whether the key already holds an
//! object of the right size (stored by a run that died before recording it), so a media is
//! written once. A storage outage does not fail tasks: they wait, with exponential backoff
//! up to [`MAX_BACKOFF`], and the queue resumes where it stopped. Only a permanent refusal
//! (bad credentials, no such bucket) fails a task, with the storage's reason.

use std::sync::Arc;
use std::time::Duration;

use tgc_model::media::{MediaTask, TaskState};
use tokio::sync::Mutex;
use tokio::sync::mpsc::UnboundedReceiver;

use super::Inner;

/// The first wait after a failed upload.
const FIRST_BACKOFF: Duration = Duration::from_millis(200);
/// The longest wait between two tries of an upload.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

impl Inner {
    /// Queues a downloaded task for upload.
    pub(crate) fn upload_later(&self, media_id: i64) {
        if self.uploads.send(media_id).is_err() {
            tracing::debug!(
                media_id,
                "shutting down: the upload waits for the next start"
            );
        }
    }

    /// One upload worker, until shutdown.
    pub(crate) async fn upload_worker(self: Arc<Inner>, queue: Arc<Mutex<UnboundedReceiver<i64>>>) {
        loop {
            let next = {
                let mut queue = queue.lock().await;
                tokio::select! {
                    _ = self.cancel.cancelled() => return,
                    next = queue.recv() => next,
                }
            };
            let Some(media_id) = next else { return };
            tokio::select! {
                _ = self.cancel.cancelled() => return,
                () = self.upload_one(media_id) => {}
            }
        }
    }

    async fn upload_one(&self, media_id: i64) {
        let read = self
            .until_recorded(media_id, "read the task", || self.store.get(media_id))
            .await;
        let task = match read {
            Some(Some(task)) if task.state == TaskState::Uploading => task,
            _ => return,
        };
        let staging = self.staging_path(&task.key);
        let mut backoff = FIRST_BACKOFF;
        loop {
            let stored = match self.storage.size_of(&task.key).await {
                Ok(Some(size)) if size == task.size => Ok(true),
                Ok(_) if !staging.exists() => {
                    // Downloaded, but the staging file is gone (cleaned by hand, say):
                    // download it again rather than store nothing.
                    tracing::warn!(media_id, path = %staging.display(), "staging file missing: downloading again");
                    let requeued = self
                        .until_recorded(media_id, "requeue the task", || {
                            self.store.clear_chunks(media_id).and_then(|()| {
                                self.store.set_state(media_id, TaskState::Queued, None)
                            })
                        })
                        .await;
                    if requeued.is_some() {
                        self.enqueue(&task);
                    }
                    return;
                }
                Ok(_) => self
                    .storage
                    .put_file(&task.key, &staging, task.size)
                    .await
                    .map(|()| false),
                Err(error) => Err(error),
            };
            match stored {
                Ok(already) => {
                    if !already {
                        self.stats.uploaded(task.size);
                    }
                    self.stored(&task, already, &staging).await;
                    return;
                }
                Err(error) if error.is_transient() => {
                    self.stats.upload_retry();
                    tracing::warn!(media_id, %error, wait = ?backoff, "storage unavailable: retrying");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
                Err(error) => {
                    self.fail(media_id, "storage", &error.to_string());
                    return;
                }
            }
        }
    }

    async fn stored(&self, task: &MediaTask, already: bool, staging: &std::path::Path) {
        let media_id = task.media_id;
        let recorded = self
            .until_recorded(media_id, "record a stored media", || {
                self.store
                    .set_state(media_id, TaskState::Stored, None)
                    .and_then(|()| self.store.clear_chunks(media_id))
            })
            .await;
        if recorded.is_none() {
            // Stopping: the object is in storage; the next start finds it there.
            return;
        }
        if let Err(error) = std::fs::remove_file(staging)
            && error.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(media_id, %error, path = %staging.display(), "cannot remove a staging file");
        }
        tracing::info!(media_id, key = %task.key, bytes = task.size, already, "media stored");
        self.stats.stored(already);
    }
}
