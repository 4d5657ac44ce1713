//! The download side: each account's workers, and handing tasks over when an account dies.
//!
//! Every account runs `media.downloads_per_account` workers on its own queue, and all of
//! them share one semaphore of `media.downloads_total`, so one busy account cannot take
//! the whole budget and the process never runs more downloads than configured. The bytes
//! themselves are fetched by [`tgc_model::media::download`], chunk by chunk into a staging
//! file, recording each chunk in the task table: a worker stopped anywhere (shutdown,
//! SIGKILL) leaves a task that resumes from the chunks it has.
//!
//! A task whose owner died (its key revoked, or the account gone from the pool) cannot be
//! downloaded with the owner's file reference. The takeover worker finds another account
//! that can see the chat, refetches the message through it for a reference of its own,
//! and moves the task, with the chunks already fetched, to that account's queue.

use std::sync::Arc;
use std::time::Duration;

use tgc_model::media::{DownloadError, MediaTask, TaskState, download, open_staging, refetch};
use tgc_model::teleclient::{ChatRef, PeerId, TeleClient};

use super::Inner;

/// How long a task with nobody able to take it over waits before the next try, at most.
const TAKEOVER_MAX_WAIT: Duration = Duration::from_secs(300);
/// A task failing for a passing reason (disk, task table) is retried this many times…
const MAX_TRANSIENT_ATTEMPTS: u32 = 10;
/// …after this long times the attempt number.
const TRANSIENT_RETRY: Duration = Duration::from_secs(5);
/// How long a download waits before looking again at a full staging directory or disk.
const STAGING_WAIT: Duration = Duration::from_secs(1);
const DISK_FULL_WAIT: Duration = Duration::from_secs(5);

impl Inner {
    /// One worker of `account`'s queue, until shutdown.
    pub(crate) async fn download_worker(self: Arc<Inner>, account: Arc<TeleClient>) {
        let owner = account.id();
        loop {
            let pushed = self.queues.notified();
            tokio::pin!(pushed);
            pushed.as_mut().enable();
            if let Some(media_id) = self.queues.pop(owner) {
                let permit = tokio::select! {
                    _ = self.cancel.cancelled() => return,
                    permit = self.downloads.acquire() => permit,
                };
                let Ok(_permit) = permit else { return };
                tokio::select! {
                    _ = self.cancel.cancelled() => return,
                    () = self.download_one(&account, media_id) => {}
                }
                continue;
            }
            tokio::select! {
                _ = self.cancel.cancelled() => return,
                () = pushed => {}
            }
        }
    }

    async fn download_one(&self, account: &Arc<TeleClient>, media_id: i64) {
        let owner = account.id();
        let read = self
            .until_recorded(media_id, "read the task", || self.store.get(media_id))
            .await;
        let Some(Some(task)) = read else {
            return self.queues.finish(owner, media_id);
        };
        if !matches!(task.state, TaskState::Queued | TaskState::Downloading) {
            return self.queues.finish(owner, media_id);
        }
        if task.owner != owner {
            // Taken over meanwhile; the new owner's queue has it.
            self.queues.finish(owner, media_id);
            return self.enqueue(&task);
        }
        let staging = self.staging_path(&task.key);
        // Staging full (uploads are behind, storage is down): this download waits, and so the
        // disk does not fill. One file larger than the cap still goes when staging is empty.
        if !self.claim_staging(&task, &staging) {
            self.queues.finish(owner, media_id);
            self.stats.staging_wait();
            return self.retry_later(&task, STAGING_WAIT, "staging full (media.staging_max)");
        }
        if let Err(error) = self.store.set_state(media_id, TaskState::Downloading, None) {
            tracing::error!(media_id, %error, "cannot record a media task's state");
        }
        let result = download(
            account,
            &task,
            &self.store,
            &staging,
            &self.download_options,
        )
        .await;
        self.queues.finish(owner, media_id);
        match result {
            Ok(_) => {
                self.stats.downloaded(task.size);
                let recorded = self
                    .until_recorded(media_id, "record the download", || {
                        self.store.set_state(media_id, TaskState::Uploading, None)
                    })
                    .await;
                if recorded.is_some() {
                    self.upload_later(media_id);
                }
            }
            Err(DownloadError::OwnerGone { reason, .. }) => {
                tracing::warn!(account = %owner, media_id, %reason, "owner of media tasks gone: handing them over");
                self.pool.retire(account, &reason);
                self.orphaned(media_id);
                for waiting in self.queues.drain(owner) {
                    self.orphaned(waiting);
                }
            }
            Err(error) if error.wants_another_account() => {
                tracing::warn!(account = %owner, media_id, %error, "handing a media task to another account");
                self.orphaned(media_id);
            }
            Err(DownloadError::Cooling { retry_after, .. }) => {
                self.retry_later(&task, retry_after, "cooling");
            }
            Err(error) if error.is_disk_full() => {
                // Not an attempt: the disk fills and empties whatever the task does.
                tracing::warn!(media_id, %error, retry_in = ?DISK_FULL_WAIT, "the disk is full: the download waits");
                self.stats.disk_full_wait();
                if let Err(store) = self.store.set_state(media_id, TaskState::Queued, None) {
                    tracing::warn!(media_id, error = %store, "cannot record a media task's state");
                }
                self.retry_later(&task, DISK_FULL_WAIT, "disk full");
            }
            Err(error) if error.is_transient() => {
                let attempts = task.attempts + 1;
                if attempts >= MAX_TRANSIENT_ATTEMPTS {
                    self.fail(media_id, failure_reason(&error), &error.to_string());
                } else {
                    if let Err(store) =
                        self.store
                            .set_state(media_id, TaskState::Queued, Some(&error.to_string()))
                    {
                        tracing::error!(media_id, error = %store, "cannot record a media task's state");
                    }
                    self.retry_later(&task, TRANSIENT_RETRY * attempts, failure_reason(&error));
                }
            }
            Err(error) => self.fail(media_id, failure_reason(&error), &error.to_string()),
        }
    }

    /// Whether staging has room for `task`'s file at `staging`; if so the file is opened at
    /// the task's size (sparse) at once, as the download would, so the room is taken before
    /// another download looks.
    fn claim_staging(&self, task: &MediaTask, staging: &std::path::Path) -> bool {
        let _gate = self
            .staging_gate
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let waiting = super::staging_bytes(&self.staging_dir, staging);
        if waiting > 0 && waiting.saturating_add(task.size) > self.config.staging_max {
            return false;
        }
        if let Err(error) = open_staging(task, &self.store, staging) {
            // The download's own open meets it again and reports it (a full disk waits).
            tracing::debug!(path = %staging.display(), %error, "cannot claim a staging file");
        }
        true
    }

    /// Puts the task back in its owner's queue after `wait` (the owner is cooling, or a
    /// passing failure); meanwhile it counts against nobody.
    fn retry_later(&self, task: &MediaTask, wait: Duration, why: &str) {
        if wait >= TRANSIENT_RETRY {
            tracing::info!(
                media_id = task.media_id,
                ?wait,
                why,
                "media task retried later"
            );
        } else {
            // Short waits (staging full) repeat every second while they last.
            tracing::debug!(
                media_id = task.media_id,
                ?wait,
                why,
                "media task retried later"
            );
        }
        let Some(retry) = self.me.upgrade() else {
            return;
        };
        let task = task.clone();
        tokio::spawn(async move {
            tokio::select! {
                _ = retry.cancel.cancelled() => {}
                () = tokio::time::sleep(wait) => retry.enqueue(&task),
            }
        });
    }

    /// The task's owner cannot download it: find it another owner (in the background).
    pub(crate) fn orphaned(&self, media_id: i64) {
        if self.orphans.send(media_id).is_err() {
            tracing::debug!(
                media_id,
                "shutting down: the orphaned task waits for the next start"
            );
        }
    }

    /// The takeover worker: moves orphaned tasks to accounts that can see their chats.
    pub(crate) async fn takeover_worker(
        self: Arc<Inner>,
        mut orphans: tokio::sync::mpsc::UnboundedReceiver<i64>,
    ) {
        loop {
            let media_id = tokio::select! {
                _ = self.cancel.cancelled() => return,
                next = orphans.recv() => match next { Some(id) => id, None => return },
            };
            if let Err(wait) = self.take_over(media_id).await {
                // Nobody can take it now (every account cooling or disconnected): try again later.
                let inner = Arc::clone(&self);
                tokio::spawn(async move {
                    tokio::select! {
                        _ = inner.cancel.cancelled() => {}
                        () = tokio::time::sleep(wait) => inner.orphaned(media_id),
                    }
                });
            }
        }
    }

    /// Gives the task to another account; `Err(wait)` to try again after `wait`.
    async fn take_over(&self, media_id: i64) -> Result<(), Duration> {
        let read = self
            .until_recorded(media_id, "read the task", || self.store.get(media_id))
            .await;
        let task = match read {
            Some(Some(task)) if !task.state.is_finished() => task,
            _ => return Ok(()),
        };
        let Some(peer) = PeerId::from_bot_api_dialog_id(task.chat_id) else {
            self.fail(media_id, "orphaned", "its account is gone and the message's chat is unknown, so no other account can refetch it");
            return Ok(());
        };
        let located = match self.pool.resolve(&ChatRef::Id(peer)).await {
            Ok(found) => found.account,
            Err(error) => {
                let wait = error
                    .retry_after()
                    .unwrap_or(Duration::from_secs(30))
                    .min(TAKEOVER_MAX_WAIT);
                tracing::warn!(media_id, %error, ?wait, "no account can take over a media task yet");
                return Err(wait);
            }
        };
        match refetch(&located, task.chat_id, task.message_id, media_id).await {
            Ok(location) => {
                let new_owner = located.id();
                let moved = self
                    .until_recorded(media_id, "record a takeover", || {
                        self.store
                            .set_owner(media_id, new_owner, &location)
                            .and_then(|()| self.store.set_state(media_id, TaskState::Queued, None))
                    })
                    .await;
                if moved.is_none() {
                    return Ok(());
                }
                tracing::info!(
                    media_id,
                    from = %task.owner,
                    to = %new_owner,
                    "media task taken over"
                );
                self.stats.takeover();
                self.queues.push(&located, media_id);
                Ok(())
            }
            Err(error) if error.is_gone() => {
                self.fail(media_id, "gone", &error.to_string());
                Ok(())
            }
            Err(error) => {
                tracing::warn!(media_id, %error, "takeover refetch failed; trying again later");
                Err(Duration::from_secs(30))
            }
        }
    }

    /// Records a task as failed for good (until the media is met again); if the table
    /// refuses, the record is tried again in the background until it takes.
    pub(crate) fn fail(&self, media_id: i64, reason: &str, detail: &str) {
        tracing::warn!(media_id, reason, detail, "media task failed");
        self.stats.failed(reason);
        let error = format!("{reason}: {detail}");
        if self
            .store
            .set_state(media_id, TaskState::Failed, Some(&error))
            .is_ok()
        {
            return;
        }
        let Some(retry) = self.me.upgrade() else {
            return;
        };
        tokio::spawn(async move {
            retry
                .until_recorded(media_id, "record a failure", || {
                    retry
                        .store
                        .set_state(media_id, TaskState::Failed, Some(&error))
                })
                .await;
        });
    }
}

/// The metrics label of a download failure.
fn failure_reason(error: &DownloadError) -> &'static str {
    match error {
        DownloadError::OwnerGone { .. } => "owner_gone",
        DownloadError::Gone { .. } => "gone",
        DownloadError::NoAccess { .. } => "no_access",
        DownloadError::Telegram { .. } => "telegram",
        DownloadError::SizeMismatch { .. } => "size_mismatch",
        DownloadError::Cooling { .. } => "cooling",
        DownloadError::Unreachable { .. } => "unreachable",
        DownloadError::Io { .. } => "io",
        DownloadError::CdnRedirect { .. } => "cdn_redirect",
        DownloadError::ReferenceRejected { .. } => "reference_rejected",
        DownloadError::Store(_) => "task_table",
        DownloadError::ChunkSize(_) => "chunk_size",
        DownloadError::HashMismatch { .. } => "hash_mismatch",
    }
}
