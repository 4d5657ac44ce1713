//! The media pipeline: account-bound download queues, an upload queue, object storage
//! (docs/design.md §6).
//!
//! ```text
//! parser ──hook──▶ task table ──▶ account A queue ─▶ A's workers ─┐              ┌─▶ local dir
//!  (history,        (SQLite,      account B queue ─▶ B's workers ─┼─▶ upload ─▶ │   S3
//!   search, live)    durable)     …  (chunks → staging files)      │   queue     └─▶ HTTP
//!                                 dead owner ─▶ takeover ─▶ other account's queue
//! ```
//!
//! A media met while parsing becomes a task in the task table, on disk before the reply
//! that names it leaves (`hook`), bound to the account that fetched the message: its file
//! reference is valid for that account only. The account's workers (`download_workers`)
//! fetch its chunks in parallel into a staging file, recording each; then the upload queue
//! (`upload`) puts the file into storage under the media's deterministic key and records
//! it stored. Each step is recorded in the table, so a crash anywhere resumes from the last
//! recorded step:
//! chunks already fetched are not fetched again, and a stored object is not written again.
//!
//! Shutdown is a [`CancellationToken`]: workers stop where they are (their progress is
//! already on disk) and [`MediaProcessor::join`] waits for them.

mod download_workers;
mod hook;
mod object_storage;
mod queue;
mod stats;
mod upload;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex as SyncMutex, Weak};

use tgc_common::Settings;
use tgc_common::config::MediaKind;
use tgc_model::media::{DownloadOptions, MediaTask, StoreError, TaskState, TaskStore};
use tgc_model::teleclient::TeleClients;
use tokio::sync::{Semaphore, mpsc, watch};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::parser::MediaHook;

pub use hook::PipelineHook;
pub use object_storage::{Storage, StorageError};
pub use stats::MediaStats;

/// What the pipeline needs from the configuration.
#[derive(Debug, Clone)]
pub struct MediaConfig {
    pub enabled: bool,
    pub max_size: u64,
    pub kinds: Vec<MediaKind>,
    pub downloads_per_account: usize,
    pub downloads_total: usize,
    pub uploads: usize,
    pub chunk_size: u64,
    pub parallel_chunks: usize,
    /// Bytes of files waiting in staging past which new downloads pause.
    pub staging_max: u64,
    /// Whether finished files are checked against Telegram's hashes of their parts.
    pub verify_hashes: bool,
    /// Where `media.sqlite` and the staging files live.
    pub data_dir: PathBuf,
}

impl MediaConfig {
    /// The configuration's defaults (every kind, 2 GiB cap, 2 downloads per account, 16
    /// in all, 4 uploads, 512 KiB chunks, 4 at a time), keeping files in `data_dir`.
    pub fn defaults(data_dir: impl Into<PathBuf>) -> MediaConfig {
        MediaConfig {
            enabled: true,
            max_size: 2 << 30,
            kinds: MediaKind::ALL.iter().map(|(_, kind)| *kind).collect(),
            downloads_per_account: 2,
            downloads_total: 16,
            uploads: 4,
            chunk_size: 512 * 1024,
            parallel_chunks: 4,
            staging_max: 4 << 30,
            verify_hashes: true,
            data_dir: data_dir.into(),
        }
    }

    pub fn from_settings(settings: &Settings) -> MediaConfig {
        let media = &settings.media;
        MediaConfig {
            enabled: media.enabled,
            max_size: media.max_size,
            kinds: media.kinds.clone(),
            downloads_per_account: media.downloads_per_account,
            downloads_total: media.downloads_total,
            uploads: media.uploads,
            chunk_size: media.chunk_size,
            parallel_chunks: media.parallel_chunks,
            staging_max: media.staging_max,
            verify_hashes: media.verify_hashes,
            data_dir: settings.data.dir.clone(),
        }
    }
}

/// The pipeline could not start.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    #[error("media storage: {0}")]
    Storage(#[from] StorageError),
    #[error("media task table: {0}")]
    Tasks(#[from] StoreError),
    #[error("cannot create the media staging directory {path}: {source}")]
    Staging {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The running pipeline: its hook for the parser, its task table for the `media` method.
pub struct MediaProcessor {
    inner: Arc<Inner>,
    workers: SyncMutex<JoinSet<()>>,
}

/// What every worker shares.
pub(crate) struct Inner {
    config: MediaConfig,
    download_options: DownloadOptions,
    store: TaskStore,
    storage: Storage,
    pool: Arc<TeleClients>,
    queues: queue::Queues,
    /// The global download budget (`media.downloads_total`).
    downloads: Semaphore,
    uploads: mpsc::UnboundedSender<i64>,
    orphans: mpsc::UnboundedSender<i64>,
    staging_dir: PathBuf,
    /// Held while a download checks the room in staging and claims its file's bytes, so two
    /// downloads cannot both take the last room.
    staging_gate: SyncMutex<()>,
    stats: stats::Stats,
    cancel: CancellationToken,
    /// Itself, for work it schedules for later (a retry after a flood wait).
    me: Weak<Inner>,
}

impl MediaProcessor {
    /// Starts the pipeline: the task table and staging files in `config.data_dir`, media
    /// stored in `storage`; its workers run until `cancel` fires ([`MediaProcessor::join`]
    /// waits for them).
    pub fn start(
        config: MediaConfig,
        storage: Storage,
        pool: Arc<TeleClients>,
        cancel: CancellationToken,
    ) -> Result<MediaProcessor, MediaError> {
        let store = TaskStore::open_in(&config.data_dir)?;
        let staging_dir = config.data_dir.join("media-staging");
        std::fs::create_dir_all(&staging_dir).map_err(|source| MediaError::Staging {
            path: staging_dir.clone(),
            source,
        })?;
        let (uploads, upload_queue) = mpsc::unbounded_channel();
        let (orphans, orphan_queue) = mpsc::unbounded_channel();
        let inner = Arc::new_cyclic(|me| Inner {
            download_options: DownloadOptions {
                // `media.chunk_size` is checked to be at most 512 KiB when read.
                chunk_size: u32::try_from(config.chunk_size).unwrap_or(512 * 1024),
                parallel_chunks: config.parallel_chunks,
                verify_hashes: config.verify_hashes,
                ..DownloadOptions::default()
            },
            downloads: Semaphore::new(config.downloads_total),
            config,
            store,
            storage,
            pool,
            queues: queue::Queues::default(),
            uploads,
            orphans,
            staging_dir,
            staging_gate: SyncMutex::new(()),
            stats: stats::Stats::new(),
            cancel,
            me: me.clone(),
        });

        let mut workers = JoinSet::new();
        for account in inner.pool.accounts() {
            for _ in 0..inner.config.downloads_per_account {
                workers.spawn(Arc::clone(&inner).download_worker(Arc::clone(account)));
            }
        }
        let upload_queue = Arc::new(tokio::sync::Mutex::new(upload_queue));
        for _ in 0..inner.config.uploads {
            workers.spawn(Arc::clone(&inner).upload_worker(Arc::clone(&upload_queue)));
        }
        workers.spawn(Arc::clone(&inner).takeover_worker(orphan_queue));
        inner.resume()?;
        Ok(MediaProcessor {
            inner,
            workers: SyncMutex::new(workers),
        })
    }

    /// The hook the parser calls for every media it meets.
    pub fn hook(&self) -> Arc<dyn MediaHook> {
        Arc::new(PipelineHook {
            inner: Arc::clone(&self.inner),
        })
    }

    /// A task as the table has it (the `media` method's answer).
    pub fn task(&self, media_id: i64) -> Result<Option<MediaTask>, StoreError> {
        self.inner.store.get(media_id)
    }

    /// Tasks by state (counted beside the table, which is never scanned for them).
    pub fn counts(&self) -> Vec<(TaskState, u64)> {
        self.inner.store.counts()
    }

    /// Puts every task that a parsed message named on disk before what depends on it (a
    /// reply, a saved update state) goes out. One fsync for all tasks recorded so far, none
    /// when there are none; the wait is handed off the async worker.
    pub fn make_durable(&self) -> Result<(), StoreError> {
        // Most replies name no new task: no sync, and no hand-off of the worker for one.
        if self.inner.store.is_synced() {
            return Ok(());
        }
        tgc_common::blocking::offload(|| self.inner.store.sync())
    }

    /// The pipeline's counters.
    pub fn stats(&self) -> MediaStats {
        self.inner.stats.snapshot()
    }

    /// The number of tasks stored since start, to wait on.
    pub fn watch_stored(&self) -> watch::Receiver<u64> {
        self.inner.stats.watch_stored()
    }

    /// Changes on every change of [`MediaProcessor::stats`], to wait for one without polling.
    pub fn watch_stats(&self) -> watch::Receiver<u64> {
        self.inner.stats.watch_changes()
    }

    /// Where media goes.
    pub fn storage(&self) -> &Storage {
        &self.inner.storage
    }

    /// Waits for the workers after the cancellation token fired.
    pub async fn join(&self) {
        let mut workers = std::mem::take(
            &mut *self
                .workers
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
        );
        while let Some(result) = workers.join_next().await {
            if let Err(error) = result
                && error.is_panic()
            {
                tracing::error!(%error, "a media worker panicked");
            }
        }
    }
}

impl Inner {
    /// Puts every unfinished task of the table back in its queue (at start).
    fn resume(&self) -> Result<(), StoreError> {
        let unfinished = self.store.unfinished()?;
        if !unfinished.is_empty() {
            tracing::info!(tasks = unfinished.len(), "resuming media tasks");
        }
        for task in unfinished {
            match task.state {
                TaskState::Uploading => self.upload_later(task.media_id),
                _ => self.enqueue(&task),
            }
        }
        Ok(())
    }

    fn staging_path(&self, key: &str) -> PathBuf {
        staging_file(&self.staging_dir, key)
    }

    /// Runs `step` (a read or write of the task table, `what` in the log) until it succeeds,
    /// or None once the pipeline stops. A table that refuses (a full disk, an I/O error, a
    /// lock held elsewhere) holds this task where it is: nothing moves on as if the step had
    /// been recorded, and nothing is dropped or left for the next start. Each refusal is
    /// counted (`tgc_media_table_retries_total`) and waited out with growing pauses.
    pub(crate) async fn until_recorded<T>(
        &self,
        media_id: i64,
        what: &'static str,
        mut step: impl FnMut() -> Result<T, StoreError>,
    ) -> Option<T> {
        let mut wait = TABLE_FIRST_WAIT;
        loop {
            match step() {
                Ok(done) => return Some(done),
                Err(error) => {
                    self.stats.table_retry();
                    tracing::warn!(media_id, %error, what, retry_in = ?wait, "the media task table refused a step; it is tried again");
                }
            }
            tokio::select! {
                _ = self.cancel.cancelled() => return None,
                () = tokio::time::sleep(wait) => {}
            }
            wait = (wait * 2).min(TABLE_MAX_WAIT);
        }
    }
}

/// The first pause after the task table refused a step, and the longest.
const TABLE_FIRST_WAIT: std::time::Duration = std::time::Duration::from_millis(200);
const TABLE_MAX_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

/// The bytes of the files in the staging directory but `except` (the file of the download
/// about to start or resume): what waits for an upload.
fn staging_bytes(dir: &Path, except: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .filter(|entry| entry.path() != except)
        .filter_map(|entry| entry.metadata().ok())
        .map(|meta| meta.len())
        .sum()
}

/// The staging file of the media stored under `key`.
fn staging_file(dir: &Path, key: &str) -> PathBuf {
    dir.join(format!("{key}.part"))
}
