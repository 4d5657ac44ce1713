//! The parser's hook: every downloadable media met in a message becomes a task.
//!
//! The parser calls [`MediaHook::storage`] synchronously for each media while it builds a
//! message's JSON (history, search, live updates alike). Here that call decides the media's
//! fate (skipped by kind or size, already stored, already queued, or new), writes a new task
//! to the task table, and queues it on the account that fetched the message. The gateway
//! (and the live stream) call [`MediaHook::make_durable`] before the reply (or the update
//! state) that names the task goes out, so neither a crash nor a power cut can lose it.
//! The answer is what the message JSON shows in `media.storage`.

use std::sync::Arc;

use tgc_common::blocking::offload;
use tgc_common::config::MediaKind;
use tgc_model::media::{FileLocation, Inserted, MediaTask, TaskState};
use tgc_model::teleclient::AccountState;

use super::Inner;
use crate::parser::{MediaFile, MediaHook, StorageRef, StorageStatus, storage_key};

/// The pipeline's [`MediaHook`]; cheap to clone into every parse context.
#[derive(Clone)]
pub struct PipelineHook {
    pub(crate) inner: Arc<Inner>,
}

impl MediaHook for PipelineHook {
    fn storage(&self, media: &MediaFile<'_>) -> StorageRef {
        let key = storage_key(media.id);
        let status = self.inner.admit(media);
        StorageRef { key, status }
    }

    fn make_durable(&self) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        Ok(self.inner.store.sync()?)
    }
}

impl Inner {
    /// Decides what becomes of a media met while parsing, queuing it if it is new.
    fn admit(&self, media: &MediaFile<'_>) -> StorageStatus {
        if !self.config.enabled || !self.wanted_kind(media.kind) {
            return StorageStatus::Skipped;
        }
        let Some((location, size)) = FileLocation::from_media(media.media) else {
            // The parser found an id but no downloadable file (an empty photo, say).
            return StorageStatus::Skipped;
        };
        if size > self.config.max_size {
            return StorageStatus::Skipped;
        }
        let now = tgc_common::clock::unix_ms();
        let task = MediaTask {
            media_id: media.id,
            key: storage_key(media.id),
            kind: media.kind.to_owned(),
            mime_type: media.mime_type.map(str::to_owned),
            size,
            owner: media.account,
            chat_id: media.chat_id.unwrap_or(0),
            message_id: media.message_id,
            location,
            state: TaskState::Queued,
            attempts: 0,
            last_error: None,
            created_ms: now,
            updated_ms: now,
        };
        // A commit may run SQLite's automatic checkpoint, an fsync: off the async worker.
        match offload(|| self.store.insert(&task)) {
            Ok(Inserted::New) => {
                self.enqueue(&task);
                StorageStatus::Pending
            }
            Ok(Inserted::Existing(state)) => self.met_again(&task, state),
            Err(error) => {
                tracing::error!(media_id = media.id, %error, "cannot record a media task");
                self.stats.failed("task_table");
                StorageStatus::Failed
            }
        }
    }

    /// A media already in the table was met again, maybe by another account, with a fresh
    /// file reference. A failed task gets another chance with it.
    fn met_again(&self, task: &MediaTask, state: TaskState) -> StorageStatus {
        match state {
            TaskState::Stored => StorageStatus::Stored,
            TaskState::Skipped => StorageStatus::Skipped,
            TaskState::Failed => {
                let revived = offload(|| {
                    self.store
                        .set_owner(task.media_id, task.owner, &task.location)
                        .and_then(|()| self.store.set_state(task.media_id, TaskState::Queued, None))
                });
                match revived {
                    Ok(()) => {
                        tracing::info!(
                            media_id = task.media_id,
                            "retrying a failed media, met again"
                        );
                        self.enqueue(task);
                        StorageStatus::Pending
                    }
                    Err(error) => {
                        tracing::error!(media_id = task.media_id, %error, "cannot revive a media task");
                        StorageStatus::Failed
                    }
                }
            }
            TaskState::Queued | TaskState::Downloading | TaskState::Uploading => {
                StorageStatus::Pending
            }
        }
    }

    /// Puts a task in its owner's queue, or hands it over if the owner cannot serve.
    pub(crate) fn enqueue(&self, task: &MediaTask) {
        match self.pool.account(task.owner) {
            Some(account) if !matches!(account.state(), AccountState::Deauthorized { .. }) => {
                self.queues.push(account, task.media_id);
            }
            _ => self.orphaned(task.media_id),
        }
    }

    fn wanted_kind(&self, kind: &str) -> bool {
        self.config
            .kinds
            .iter()
            .any(|wanted: &MediaKind| wanted.name() == kind)
    }
}
