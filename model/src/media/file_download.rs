//! [`download`]: one media file into its staging file, in parallel chunks, resumable.
//!
//! The file is cut by [`super::chunks::plan`]; the chunks the task store already records
//! are skipped, the rest are fetched by up to `parallel_chunks` workers that each hold one
//! chunk at a time (memory is bounded by parallel × chunk size), write it at its offset,
//! and only then record it done. So whatever stops a download (a flood wait, a dropped
//! connection, a crash) costs at most the chunks that were in flight.
//!
//! Telegram's answers are read the way the pool reads them ([`classify`]), but a download
//! is bound to its account (the file reference is that account's), so instead of moving
//! on it waits: a flood wait cools the account for `upload.getFile` and every worker
//! waits it out; a dropped connection hands the account to the pool's reconnect loop and
//! the workers wait until it is back; `FILE_REFERENCE_EXPIRED` refetches the message once
//! for all workers and records the new location; `FILE_MIGRATE_X` moves the download to
//! DC X (copying the authorization there when that DC does not know the key yet). Only
//! what waiting cannot mend ends it: a lost authorization, a deleted message, a permanent
//! refusal, a wait longer than the caller allows.
//!
//! A complete file is checked before it is handed back: against the SHA-256 of each part
//! that Telegram gives (`upload.getFileHashes`, when [`DownloadOptions::verify_hashes`]).
//! The chunks under a part that does not match are fetched again, once; a second mismatch
//! ends the download ([`DownloadError::HashMismatch`]). A file Telegram gives no hashes for
//! is checked by size only (the staging file has the task's size from the start).
//!
//! The caller owns the task's state in the store and the account's pending-download count
//! ([`TeleClient::begin_download`]); this module only fetches and records chunks.

use std::collections::HashSet;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use grammers_client::{InvocationError, tl};
use grammers_session::Session as _;
use sha2::{Digest, Sha256};

use super::chunks::{Chunk, ChunkSizeError, check_chunk_size, plan};
use super::location::FileLocation;
use super::refetch::{RefetchError, refetch};
use super::task::MediaTask;
use super::task_store::{StoreError, TaskStore};
use crate::teleclient::{AccountId, AccountState, Failure, TeleClient, classify};

/// The method flood waits are charged to.
pub const GET_FILE: &str = "upload.getFile";
/// The method that gives the hashes of a file's parts.
pub const GET_FILE_HASHES: &str = "upload.getFileHashes";

/// More refreshes than this in one download means Telegram keeps refusing fresh
/// references: a permanent problem, not an expiry.
const MAX_REFRESHES: u32 = 8;

/// How a download runs.
#[derive(Debug, Clone)]
pub struct DownloadOptions {
    /// Bytes per `upload.getFile` request: a power of two, 4 KiB to 512 KiB.
    pub chunk_size: u32,
    /// Requests in flight at once for this file (at least 1).
    pub parallel_chunks: usize,
    /// The longest flood wait the download sits out; a longer one ends it with
    /// [`DownloadError::Cooling`] so the caller can requeue.
    pub max_flood_wait: Duration,
    /// How long the download waits for a disconnected account to come back before it
    /// ends with [`DownloadError::Unreachable`].
    pub reconnect_wait: Duration,
    /// Whether the finished file is checked against Telegram's hashes of its parts.
    pub verify_hashes: bool,
}

impl Default for DownloadOptions {
    fn default() -> DownloadOptions {
        DownloadOptions {
            chunk_size: 512 * 1024,
            parallel_chunks: 4,
            max_flood_wait: Duration::from_secs(300),
            reconnect_wait: Duration::from_secs(300),
            verify_hashes: true,
        }
    }
}

/// Why a download stopped.
#[derive(Debug, thiserror::Error)]
pub enum DownloadError {
    #[error("account {account} can no longer download media {media_id}: {reason}")]
    OwnerGone {
        account: AccountId,
        media_id: i64,
        reason: String,
    },
    #[error(
        "media {media_id} is gone: message {message_id} of chat {chat_id} was deleted or lost its media"
    )]
    Gone {
        media_id: i64,
        chat_id: i64,
        message_id: i32,
    },
    #[error("account {account} cannot reach chat {chat_id} to refresh media {media_id}: {reason}")]
    NoAccess {
        account: AccountId,
        chat_id: i64,
        media_id: i64,
        reason: String,
    },
    #[error("Telegram refused {method} for media {media_id} on account {account}: {source}")]
    Telegram {
        account: AccountId,
        media_id: i64,
        method: &'static str,
        source: InvocationError,
    },
    #[error(
        "Telegram answered media {media_id} at offset {offset} with {got} bytes where {expected} were due (task size {size})"
    )]
    SizeMismatch {
        media_id: i64,
        offset: u64,
        expected: u32,
        got: usize,
        size: u64,
    },
    #[error("account {account} is flood-waiting {}s on {method}, longer than a download waits", retry_after.as_secs())]
    Cooling {
        account: AccountId,
        method: &'static str,
        retry_after: Duration,
    },
    #[error("account {account} stayed disconnected for {}s while downloading media {media_id}", waited.as_secs())]
    Unreachable {
        account: AccountId,
        media_id: i64,
        waited: Duration,
    },
    #[error("staging file {path} for media {media_id}: {source}")]
    Io {
        path: PathBuf,
        media_id: i64,
        source: std::io::Error,
    },
    #[error(
        "Telegram answered upload.getFile for media {media_id} with a CDN redirect, though CDN was not offered"
    )]
    CdnRedirect { media_id: i64 },
    #[error(
        "account {account} refetched media {media_id} {refreshes} times and Telegram still calls its file reference expired"
    )]
    ReferenceRejected {
        account: AccountId,
        media_id: i64,
        refreshes: u32,
    },
    #[error(
        "media {media_id}: the {len} bytes at offset {offset} still differ from Telegram's hash after they were fetched again"
    )]
    HashMismatch {
        media_id: i64,
        offset: u64,
        len: u64,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    ChunkSize(#[from] ChunkSizeError),
}

impl DownloadError {
    /// Whether another account may succeed where this one cannot: its owner lost its key,
    /// cannot reach the chat any more, or stayed disconnected.
    pub fn wants_another_account(&self) -> bool {
        matches!(
            self,
            DownloadError::OwnerGone { .. }
                | DownloadError::NoAccess { .. }
                | DownloadError::Unreachable { .. }
        )
    }

    /// Whether the disk (the staging file, or the task table) is full: the download waits
    /// for room and is tried again, never failed for it.
    pub fn is_disk_full(&self) -> bool {
        match self {
            DownloadError::Io { source, .. } => is_no_space(source),
            DownloadError::Store(StoreError::Sql { source, .. }) => matches!(
                source.sqlite_error_code(),
                Some(rusqlite::ErrorCode::DiskFull)
            ),
            _ => false,
        }
    }

    /// Whether trying again later, with the same account, may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            DownloadError::Cooling { .. }
                | DownloadError::Unreachable { .. }
                | DownloadError::Io { .. }
                | DownloadError::Store(_)
        )
    }
}

/// Fetches the chunks of `task` not yet recorded in `store` into the file at `staging`
/// (created, or sized to the task, as needed) and returns the location it ended with,
/// refreshed if the file reference expired on the way (the store has it too).
pub async fn download(
    account: &Arc<TeleClient>,
    task: &MediaTask,
    store: &TaskStore,
    staging: &Path,
    options: &DownloadOptions,
) -> Result<FileLocation, DownloadError> {
    let chunk_size = check_chunk_size(u64::from(options.chunk_size))?;
    let file = Arc::new(open_staging(task, store, staging)?);
    let done = store.chunks_done(task.media_id)?;
    let pending: Vec<Chunk> = plan(task.size, chunk_size)
        .into_iter()
        .filter(|chunk| !done.contains(&chunk.index))
        .collect();
    tracing::debug!(
        account = %account.id(),
        media_id = task.media_id,
        size = task.size,
        done = done.len(),
        pending = pending.len(),
        "downloading"
    );
    let run = Run {
        account,
        task,
        store,
        staging,
        options,
        file,
        queue: Mutex::new(pending.into_iter().rev().collect()),
        shared: Mutex::new(Shared {
            location: task.location.clone(),
            generation: 0,
            refreshes: 0,
            rechecked: false,
            dc: task.location.dc_id,
            auth_copied: HashSet::new(),
        }),
        refresh_gate: tokio::sync::Mutex::new(()),
    };
    run.fetch_all().await?;
    if options.verify_hashes {
        let mismatched = run.mismatched_parts(0, task.size).await?;
        if !mismatched.is_empty() {
            tracing::warn!(
                account = %account.id(),
                media_id = task.media_id,
                parts = mismatched.len(),
                "parts of a downloaded file differ from Telegram's hashes: fetching them again"
            );
            let again: Vec<Chunk> = plan(task.size, chunk_size)
                .into_iter()
                .filter(|chunk| mismatched.iter().any(|part| part.overlaps(chunk)))
                .collect();
            let indices: Vec<u32> = again.iter().map(|chunk| chunk.index).collect();
            store.forget_chunks(task.media_id, &indices)?;
            *run.queue.lock().unwrap_or_else(|p| p.into_inner()) =
                again.into_iter().rev().collect();
            run.fetch_all().await?;
            for part in mismatched {
                let still = run
                    .mismatched_parts(part.offset, part.offset + part.len)
                    .await?;
                if let Some(part) = still.first() {
                    return Err(DownloadError::HashMismatch {
                        media_id: task.media_id,
                        offset: part.offset,
                        len: part.len,
                    });
                }
            }
        }
    }
    Ok(run.lock().location.clone())
}

/// Opens the staging file at the task's size. Chunks recorded for a staging file that is
/// missing or of another size are not there any more: they are forgotten and fetched again.
/// The pipeline calls it before a download to claim the file's room in staging.
pub fn open_staging(
    task: &MediaTask,
    store: &TaskStore,
    staging: &Path,
) -> Result<std::fs::File, DownloadError> {
    let io = |source| DownloadError::Io {
        path: staging.to_owned(),
        media_id: task.media_id,
        source,
    };
    if let Some(parent) = staging.parent() {
        std::fs::create_dir_all(parent).map_err(io)?;
    }
    let existing = match std::fs::metadata(staging) {
        Ok(meta) => Some(meta.len()),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => None,
        Err(error) => return Err(io(error)),
    };
    if existing != Some(task.size) {
        store.clear_chunks(task.media_id)?;
    }
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(staging)
        .map_err(io)?;
    if existing != Some(task.size) {
        file.set_len(task.size).map_err(io)?;
    }
    Ok(file)
}

/// What the workers of one download share.
struct Run<'a> {
    account: &'a Arc<TeleClient>,
    task: &'a MediaTask,
    store: &'a TaskStore,
    staging: &'a Path,
    options: &'a DownloadOptions,
    file: Arc<std::fs::File>,
    /// Chunks nobody has taken yet, the next one last.
    queue: Mutex<Vec<Chunk>>,
    shared: Mutex<Shared>,
    /// One refetch at a time; the others wait for its result.
    refresh_gate: tokio::sync::Mutex<()>,
}

/// Where the file is fetched from now.
struct Shared {
    location: FileLocation,
    /// Bumped by every refresh, so a worker whose reference expired can tell whether
    /// another worker already fetched a fresh one.
    generation: u64,
    refreshes: u32,
    /// Whether a refusal was already answered with a refetch.
    rechecked: bool,
    dc: i32,
    /// DCs this download imported the account's authorization into.
    auth_copied: HashSet<i32>,
}

/// A byte range of the file that Telegram hashed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Part {
    offset: u64,
    len: u64,
}

impl Part {
    fn overlaps(&self, chunk: &Chunk) -> bool {
        chunk.offset < self.offset + self.len && self.offset < chunk.offset + u64::from(chunk.len)
    }
}

/// What to do after a refused call.
enum Next {
    Retry,
    Stop(DownloadError),
}

impl Run<'_> {
    /// Fetches every chunk in the queue with `parallel_chunks` workers, then syncs the
    /// file. Each chunk was synced before it was recorded; this last sync covers the
    /// file's size and metadata before the caller uploads it.
    async fn fetch_all(&self) -> Result<(), DownloadError> {
        let workers = self.options.parallel_chunks.max(1);
        futures_util::future::try_join_all((0..workers).map(|_| self.worker())).await?;
        let file = Arc::clone(&self.file);
        tokio::task::spawn_blocking(move || file.sync_data())
            .await
            .map_err(|join| self.io(std::io::Error::other(join)))?
            .map_err(|source| self.io(source))
    }

    /// The parts of the staged file between `from` and `to` whose SHA-256 differs from
    /// the one Telegram gives (`upload.getFileHashes`, a few parts per call). Empty when
    /// every part matches, or as far as Telegram gives hashes.
    async fn mismatched_parts(&self, from: u64, to: u64) -> Result<Vec<Part>, DownloadError> {
        let size = self.task.size;
        let to = to.min(size);
        let mut checked = from;
        let mut mismatched = Vec::new();
        while checked < to {
            let Some(hashes) = self.file_hashes(checked).await? else {
                break;
            };
            let parts: Vec<(Part, Vec<u8>)> = hashes
                .into_iter()
                .filter_map(|hash| {
                    let tl::enums::FileHash::Hash(hash) = hash;
                    let offset = u64::try_from(hash.offset).ok()?;
                    let limit = u64::try_from(hash.limit).ok()?;
                    (limit > 0 && offset < size).then(|| {
                        let len = limit.min(size - offset);
                        (Part { offset, len }, hash.hash)
                    })
                })
                .collect();
            let reach = parts
                .iter()
                .map(|(part, _)| part.offset + part.len)
                .max()
                .unwrap_or(0);
            if reach <= checked {
                // Nothing new from here on: what is unhashed is checked by size only.
                break;
            }
            let wanted: Vec<(Part, Vec<u8>)> = parts
                .into_iter()
                .filter(|(part, _)| part.offset < to && part.offset + part.len > from)
                .collect();
            let file = Arc::clone(&self.file);
            let compared = tokio::task::spawn_blocking(move || -> std::io::Result<Vec<Part>> {
                let mut differ = Vec::new();
                for (part, hash) in wanted {
                    let mut bytes = vec![0u8; usize::try_from(part.len).unwrap_or(usize::MAX)];
                    file.read_exact_at(&mut bytes, part.offset)?;
                    if Sha256::digest(&bytes).as_slice() != hash.as_slice() {
                        differ.push(part);
                    }
                }
                Ok(differ)
            })
            .await
            .map_err(|join| self.io(std::io::Error::other(join)))?
            .map_err(|source| self.io(source))?;
            mismatched.extend(compared);
            checked = reach;
        }
        Ok(mismatched)
    }

    /// Telegram's hashes of the parts from the one holding `offset` on; None when Telegram
    /// will not give them for this file (the download then trusts the size).
    async fn file_hashes(
        &self,
        offset: u64,
    ) -> Result<Option<Vec<tl::enums::FileHash>>, DownloadError> {
        loop {
            self.wait_until_usable(GET_FILE_HASHES).await?;
            let (location, generation, dc) = {
                let shared = self.lock();
                (shared.location.clone(), shared.generation, shared.dc)
            };
            let request = tl::functions::upload::GetFileHashes {
                location: location.input(),
                offset: i64::try_from(offset).unwrap_or(i64::MAX),
            };
            self.account.pace("upload.getFileHashes").await;
            let error = match self.account.client().invoke_in_dc(dc, &request).await {
                Ok(hashes) => {
                    self.account.succeeded();
                    return Ok(Some(hashes));
                }
                Err(error) => error,
            };
            match self
                .after_file_error(GET_FILE_HASHES, error, generation, dc)
                .await
            {
                Next::Retry => continue,
                Next::Stop(DownloadError::Telegram { source, .. }) => {
                    tracing::debug!(media_id = self.task.media_id, error = %source, "no hashes for this file: checked by size only");
                    return Ok(None);
                }
                Next::Stop(error) => return Err(error),
            }
        }
    }

    /// Takes chunks until none are left.
    async fn worker(&self) -> Result<(), DownloadError> {
        loop {
            let next = self
                .queue
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .pop();
            let Some(chunk) = next else {
                return Ok(());
            };
            let bytes = self.fetch(chunk).await?;
            let file = Arc::clone(&self.file);
            let offset = chunk.offset;
            // On disk before it is recorded: after a power cut, a chunk the task table names
            // is a chunk the staging file holds.
            let written = tokio::task::spawn_blocking(move || {
                file.write_all_at(&bytes, offset)?;
                file.sync_data()
            })
            .await
            .map_err(|join| self.io(std::io::Error::other(join)))?;
            written.map_err(|source| self.io(source))?;
            self.store.mark_chunk(self.task.media_id, chunk.index)?;
        }
    }

    /// One chunk's bytes, however many calls it takes.
    async fn fetch(&self, chunk: Chunk) -> Result<Vec<u8>, DownloadError> {
        loop {
            self.wait_until_usable(GET_FILE).await?;
            let (location, generation, dc) = {
                let shared = self.lock();
                (shared.location.clone(), shared.generation, shared.dc)
            };
            let request = tl::functions::upload::GetFile {
                precise: false,
                cdn_supported: false,
                location: location.input(),
                offset: i64::try_from(chunk.offset).unwrap_or(i64::MAX),
                limit: i32::try_from(chunk.limit).unwrap_or(i32::MAX),
            };
            self.account.pace("upload.getFile").await;
            let error = match self.account.client().invoke_in_dc(dc, &request).await {
                Ok(tl::enums::upload::File::File(file)) => {
                    self.account.succeeded();
                    if file.bytes.len() != chunk.len as usize {
                        return Err(DownloadError::SizeMismatch {
                            media_id: self.task.media_id,
                            offset: chunk.offset,
                            expected: chunk.len,
                            got: file.bytes.len(),
                            size: self.task.size,
                        });
                    }
                    return Ok(file.bytes);
                }
                Ok(tl::enums::upload::File::CdnRedirect(_)) => {
                    // Asked with cdn_supported = false, so Telegram must not redirect.
                    return Err(DownloadError::CdnRedirect {
                        media_id: self.task.media_id,
                    });
                }
                Err(error) => error,
            };
            match self.after_file_error(GET_FILE, error, generation, dc).await {
                Next::Retry => continue,
                Next::Stop(error) => return Err(error),
            }
        }
    }

    /// The reading of a refused call on the file (`method`: `upload.getFile` or
    /// `upload.getFileHashes`, which Telegram answers with the same errors).
    async fn after_file_error(
        &self,
        method: &'static str,
        error: InvocationError,
        generation: u64,
        dc: i32,
    ) -> Next {
        if let InvocationError::Rpc(rpc) = &error {
            match rpc.name.as_str() {
                "FILE_REFERENCE_EXPIRED" => {
                    return match self.refresh(generation, None).await {
                        Ok(()) => Next::Retry,
                        Err(error) => Next::Stop(error),
                    };
                }
                // What Telegram answers for a file it no longer has, or a reference it does
                // not take: one refetch tells a deleted message (`Gone`) from a real refusal.
                "FILE_ID_INVALID" | "FILE_REFERENCE_INVALID" => {
                    return match self.refresh(generation, Some(error)).await {
                        Ok(()) => Next::Retry,
                        Err(error) => Next::Stop(error),
                    };
                }
                "FILE_MIGRATE" if rpc.code == 303 => {
                    let Some(target) = rpc.value.and_then(|v| i32::try_from(v).ok()) else {
                        return Next::Stop(self.telegram(method, error));
                    };
                    tracing::debug!(
                        media_id = self.task.media_id,
                        from = dc,
                        to = target,
                        "file migrated"
                    );
                    self.lock().dc = target;
                    return Next::Retry;
                }
                "AUTH_KEY_UNREGISTERED" if self.is_foreign_dc(dc) => {
                    return match self.copy_auth(dc).await {
                        Ok(true) => Next::Retry,
                        Ok(false) => Next::Stop(self.telegram(method, error)),
                        Err(error) => Next::Stop(error),
                    };
                }
                _ => {}
            }
        }
        self.after_failure(method, error)
    }

    /// The pool's reading of a failure, for a download that stays on its account.
    fn after_failure(&self, method: &'static str, error: InvocationError) -> Next {
        match classify(&error) {
            Failure::FloodWait(wait) => {
                self.account.cool(method, wait);
                Next::Retry
            }
            Failure::Deauthorized(reason) => {
                self.account.retire(&reason);
                Next::Stop(self.owner_gone(reason))
            }
            Failure::Disconnected(reason) => {
                // Every worker sees the same broken connection; the first one reports it.
                if matches!(self.account.state(), AccountState::Active) {
                    self.account.disconnected(&reason);
                }
                Next::Retry
            }
            Failure::Request => Next::Stop(self.telegram(method, error)),
        }
    }

    /// Waits out the account's cooldown for `method` and any disconnection, within the
    /// caller's bounds.
    async fn wait_until_usable(&self, method: &'static str) -> Result<(), DownloadError> {
        loop {
            match self.account.state() {
                AccountState::Active => {}
                AccountState::Deauthorized { reason } => return Err(self.owner_gone(reason)),
                AccountState::Disconnected { since, .. } => {
                    let waited = since.elapsed();
                    let left = self.options.reconnect_wait.saturating_sub(waited);
                    match tokio::time::timeout(left, self.account.wait_until_active()).await {
                        Ok(Ok(())) => continue,
                        Ok(Err(AccountState::Deauthorized { reason })) => {
                            return Err(self.owner_gone(reason));
                        }
                        Ok(Err(_)) => continue,
                        Err(_) => {
                            return Err(DownloadError::Unreachable {
                                account: self.account.id(),
                                media_id: self.task.media_id,
                                waited: since.elapsed(),
                            });
                        }
                    }
                }
            }
            let Some(wait) = self.account.cooling_for(method, Instant::now()) else {
                return Ok(());
            };
            if wait > self.options.max_flood_wait {
                return Err(DownloadError::Cooling {
                    account: self.account.id(),
                    method,
                    retry_after: wait,
                });
            }
            tokio::time::sleep(wait).await;
        }
    }

    /// Refetches the message for a fresh file reference, unless another worker already
    /// did since `seen` was read. `refused` is an error that one refetch may explain (the
    /// message is gone) but a second cannot: it ends the download the second time.
    async fn refresh(
        &self,
        seen: u64,
        refused: Option<InvocationError>,
    ) -> Result<(), DownloadError> {
        let _turn = self.refresh_gate.lock().await;
        {
            let mut shared = self.lock();
            if shared.generation != seen {
                return Ok(());
            }
            if let Some(error) = refused {
                if shared.rechecked {
                    return Err(self.telegram(GET_FILE, error));
                }
                shared.rechecked = true;
            }
            shared.refreshes += 1;
            if shared.refreshes > MAX_REFRESHES {
                return Err(DownloadError::ReferenceRejected {
                    account: self.account.id(),
                    media_id: self.task.media_id,
                    refreshes: MAX_REFRESHES,
                });
            }
        }
        let task = self.task;
        let location = loop {
            match refetch(self.account, task.chat_id, task.message_id, task.media_id).await {
                Ok(location) => break location,
                Err(RefetchError::Invocation { method, source, .. }) => {
                    match self.after_failure(method, source) {
                        Next::Retry => self.wait_until_usable(method).await?,
                        // The account may no longer see the chat: another account may.
                        Next::Stop(DownloadError::Telegram { source, .. }) => {
                            return Err(self.no_access(source.to_string()));
                        }
                        Next::Stop(error) => return Err(error),
                    }
                }
                Err(RefetchError::Gone { .. }) => {
                    return Err(DownloadError::Gone {
                        media_id: task.media_id,
                        chat_id: task.chat_id,
                        message_id: task.message_id,
                    });
                }
                Err(error @ (RefetchError::NotCached { .. } | RefetchError::BadChat { .. })) => {
                    return Err(self.no_access(error.to_string()));
                }
            }
        };
        self.store.set_location(task.media_id, &location)?;
        tracing::debug!(media_id = task.media_id, account = %self.account.id(), "file reference refreshed");
        let mut shared = self.lock();
        shared.dc = location.dc_id;
        shared.location = location;
        shared.generation += 1;
        Ok(())
    }

    /// Whether `dc` is not the account's home DC (where its key is known for sure).
    fn is_foreign_dc(&self, dc: i32) -> bool {
        self.account
            .session()
            .home_dc_id()
            .is_ok_and(|home| home != dc)
    }

    /// Imports the account's authorization into `dc`; `Ok(false)` when this download
    /// already did and the DC still refuses the key.
    async fn copy_auth(&self, dc: i32) -> Result<bool, DownloadError> {
        if !self.lock().auth_copied.insert(dc) {
            return Ok(false);
        }
        let client = self.account.client();
        let exported = client
            .invoke(&tl::functions::auth::ExportAuthorization { dc_id: dc })
            .await
            .map_err(|source| self.telegram("auth.exportAuthorization", source))?;
        let tl::enums::auth::ExportedAuthorization::Authorization(exported) = exported;
        client
            .invoke_in_dc(
                dc,
                &tl::functions::auth::ImportAuthorization {
                    id: exported.id,
                    bytes: exported.bytes,
                },
            )
            .await
            .map_err(|source| self.telegram("auth.importAuthorization", source))?;
        Ok(true)
    }

    fn owner_gone(&self, reason: String) -> DownloadError {
        DownloadError::OwnerGone {
            account: self.account.id(),
            media_id: self.task.media_id,
            reason,
        }
    }

    fn no_access(&self, reason: String) -> DownloadError {
        DownloadError::NoAccess {
            account: self.account.id(),
            chat_id: self.task.chat_id,
            media_id: self.task.media_id,
            reason,
        }
    }

    fn telegram(&self, method: &'static str, source: InvocationError) -> DownloadError {
        DownloadError::Telegram {
            account: self.account.id(),
            media_id: self.task.media_id,
            method,
            source,
        }
    }

    fn io(&self, source: std::io::Error) -> DownloadError {
        DownloadError::Io {
            path: self.staging.to_owned(),
            media_id: self.task.media_id,
            source,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Shared> {
        self.shared
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// `ENOSPC` or `EDQUOT`: no room on the filesystem, or over the user's quota.
fn is_no_space(error: &std::io::Error) -> bool {
    matches!(error.raw_os_error(), Some(28 | 122))
        || error.kind() == std::io::ErrorKind::StorageFull
}
