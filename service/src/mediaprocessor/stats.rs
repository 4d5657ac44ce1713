//! Counters of the media pipeline, for `/metrics` and for tests that wait on progress.
//!
//! Tasks by state are not counted here: the task table is the truth for those and
//! [`super::MediaProcessor::counts`] reads it. What the table cannot tell (bytes moved,
//! failures by reason, retries) is counted in atomics. `stored`, and a count of changes to
//! any counter, are also `watch`es, so a test or an operator tool waits for progress
//! without polling.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::watch;

/// A snapshot of the pipeline's counters, counted since start.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MediaStats {
    /// Bytes fetched from Telegram (whole files, counted when a download completes).
    pub downloaded_bytes: u64,
    /// Bytes written to storage.
    pub uploaded_bytes: u64,
    /// Tasks that reached storage.
    pub stored: u64,
    /// Tasks found already in storage (same key, same size), so not uploaded again.
    pub already_stored: u64,
    /// Upload attempts that failed and were retried (storage outage).
    pub upload_retries: u64,
    /// Tasks another account took over from a dead owner.
    pub takeovers: u64,
    /// Downloads put off because staging held `media.staging_max` bytes.
    pub staging_waits: u64,
    /// Downloads put off because the disk was full (they wait; they do not fail).
    pub disk_full_waits: u64,
    /// Steps the task table refused (full disk, I/O error, busy), waited out and tried
    /// again.
    pub table_retries: u64,
    /// Failures by reason (`gone`, `telegram`, `io`, `storage`, `orphaned`, …).
    pub failures: BTreeMap<String, u64>,
}

#[derive(Debug)]
pub(crate) struct Stats {
    downloaded_bytes: AtomicU64,
    uploaded_bytes: AtomicU64,
    stored: watch::Sender<u64>,
    already_stored: AtomicU64,
    upload_retries: AtomicU64,
    takeovers: AtomicU64,
    staging_waits: AtomicU64,
    disk_full_waits: AtomicU64,
    table_retries: AtomicU64,
    failures: Mutex<BTreeMap<String, u64>>,
    /// Bumped on every change of any counter, for whoever waits on one of them.
    changes: watch::Sender<u64>,
}

impl Stats {
    pub fn new() -> Stats {
        Stats {
            downloaded_bytes: AtomicU64::new(0),
            uploaded_bytes: AtomicU64::new(0),
            stored: watch::Sender::new(0),
            already_stored: AtomicU64::new(0),
            upload_retries: AtomicU64::new(0),
            takeovers: AtomicU64::new(0),
            staging_waits: AtomicU64::new(0),
            disk_full_waits: AtomicU64::new(0),
            table_retries: AtomicU64::new(0),
            failures: Mutex::new(BTreeMap::new()),
            changes: watch::Sender::new(0),
        }
    }

    pub fn downloaded(&self, bytes: u64) {
        self.downloaded_bytes.fetch_add(bytes, Ordering::Relaxed);
        self.changed();
    }

    pub fn uploaded(&self, bytes: u64) {
        self.uploaded_bytes.fetch_add(bytes, Ordering::Relaxed);
        self.changed();
    }

    pub fn stored(&self, already: bool) {
        if already {
            self.already_stored.fetch_add(1, Ordering::Relaxed);
        }
        self.stored.send_modify(|n| *n += 1);
        self.changed();
    }

    pub fn upload_retry(&self) {
        self.upload_retries.fetch_add(1, Ordering::Relaxed);
        self.changed();
    }

    pub fn takeover(&self) {
        self.takeovers.fetch_add(1, Ordering::Relaxed);
        self.changed();
    }

    pub fn staging_wait(&self) {
        self.staging_waits.fetch_add(1, Ordering::Relaxed);
        self.changed();
    }

    pub fn disk_full_wait(&self) {
        self.disk_full_waits.fetch_add(1, Ordering::Relaxed);
        self.changed();
    }

    pub fn table_retry(&self) {
        self.table_retries.fetch_add(1, Ordering::Relaxed);
        self.changed();
    }

    pub fn failed(&self, reason: &str) {
        *self
            .failures
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .entry(reason.to_owned())
            .or_default() += 1;
        self.changed();
    }

    fn changed(&self) {
        self.changes.send_modify(|n| *n += 1);
    }

    pub fn watch_changes(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
    }

    pub fn watch_stored(&self) -> watch::Receiver<u64> {
        self.stored.subscribe()
    }

    pub fn snapshot(&self) -> MediaStats {
        MediaStats {
            downloaded_bytes: self.downloaded_bytes.load(Ordering::Relaxed),
            uploaded_bytes: self.uploaded_bytes.load(Ordering::Relaxed),
            stored: *self.stored.borrow(),
            already_stored: self.already_stored.load(Ordering::Relaxed),
            upload_retries: self.upload_retries.load(Ordering::Relaxed),
            takeovers: self.takeovers.load(Ordering::Relaxed),
            staging_waits: self.staging_waits.load(Ordering::Relaxed),
            disk_full_waits: self.disk_full_waits.load(Ordering::Relaxed),
            table_retries: self.table_retries.load(Ordering::Relaxed),
            failures: self
                .failures
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .clone(),
        }
    }
}
