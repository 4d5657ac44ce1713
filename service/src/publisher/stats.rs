//! Counters of the publisher, for `/metrics` and for tests that wait on progress.
//!
//! Plain atomics behind one `Arc`: the account streams and the drainer count, readers take
//! a [`PublisherStats`] snapshot. `watch` channels carry the accepted and published counts
//! so a test or an operator tool can wait for progress without polling.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use tokio::sync::watch;

/// A snapshot of the publisher's counters, counted since start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PublisherStats {
    /// Events written to the outbox.
    pub accepted: u64,
    /// Events already seen (another account's copy, a replay).
    pub duplicates: u64,
    /// Tries of an update whose events could not be written (a full disk, an I/O error, the
    /// outbox at its cap); the update was tried again, nothing was dropped.
    pub write_retries: u64,
    /// Streams waiting now for their events to be written.
    pub streams_waiting: u64,
    /// Accounts whose updates are streamed (one stream each).
    pub streams: u64,
    /// Streams running now.
    pub streams_up: u64,
    /// Streams that ended for good (their account's client is gone).
    pub streams_ended: u64,
    /// Times a stream that failed or panicked was started again.
    pub stream_restarts: u64,
    /// Updates about chats nobody joined.
    pub ignored: u64,
    /// Events RabbitMQ confirmed.
    pub published: u64,
    /// Events waiting in the outbox now.
    pub outbox: u64,
    /// Whether the broker link is up now.
    pub link_up: bool,
    /// Times RabbitMQ returned an event as unroutable (no queue bound for it); the event
    /// stayed in the outbox and was tried again.
    pub unroutable: u64,
    /// Whether the oldest event is unroutable now: nothing is published until a queue is
    /// bound for it.
    pub unroutable_now: bool,
}

#[derive(Debug)]
pub(crate) struct Stats {
    accepted: watch::Sender<u64>,
    duplicates: AtomicU64,
    write_retries: AtomicU64,
    streams_waiting: AtomicU64,
    streams: u64,
    streams_up: AtomicU64,
    streams_ended: AtomicU64,
    stream_restarts: AtomicU64,
    ignored: AtomicU64,
    published: watch::Sender<u64>,
    link_up: AtomicBool,
    unroutable: AtomicU64,
    unroutable_now: AtomicBool,
}

impl Stats {
    /// The counters of a publisher streaming `streams` accounts.
    pub fn new(streams: u64) -> Stats {
        Stats {
            streams,
            streams_up: AtomicU64::new(0),
            streams_ended: AtomicU64::new(0),
            stream_restarts: AtomicU64::new(0),
            accepted: watch::Sender::new(0),
            duplicates: AtomicU64::new(0),
            write_retries: AtomicU64::new(0),
            streams_waiting: AtomicU64::new(0),
            ignored: AtomicU64::new(0),
            published: watch::Sender::new(0),
            link_up: AtomicBool::new(false),
            unroutable: AtomicU64::new(0),
            unroutable_now: AtomicBool::new(false),
        }
    }

    pub fn accepted(&self) {
        self.accepted.send_modify(|total| *total += 1);
    }

    pub fn duplicate(&self) {
        self.duplicates.fetch_add(1, Ordering::Relaxed);
    }

    pub fn write_retry(&self) {
        self.write_retries.fetch_add(1, Ordering::Relaxed);
    }

    pub fn stream_stalled(&self) {
        self.streams_waiting.fetch_add(1, Ordering::Relaxed);
    }

    pub fn stream_resumed(&self) {
        self.streams_waiting.fetch_sub(1, Ordering::Relaxed);
    }

    pub fn stream_up(&self) {
        self.streams_up.fetch_add(1, Ordering::Relaxed);
    }

    pub fn stream_down(&self) {
        self.streams_up.fetch_sub(1, Ordering::Relaxed);
    }

    pub fn stream_ended(&self) {
        self.streams_ended.fetch_add(1, Ordering::Relaxed);
    }

    pub fn stream_restart(&self) {
        self.stream_restarts.fetch_add(1, Ordering::Relaxed);
    }

    pub fn ignored(&self) {
        self.ignored.fetch_add(1, Ordering::Relaxed);
    }

    pub fn published(&self, count: u64) {
        if count > 0 {
            self.published.send_modify(|total| *total += count);
        }
    }

    /// RabbitMQ returned an event as unroutable.
    pub fn unroutable(&self) {
        self.unroutable.fetch_add(1, Ordering::Relaxed);
        self.unroutable_now.store(true, Ordering::Relaxed);
    }

    /// Events reached a queue again.
    pub fn routed(&self) {
        self.unroutable_now.store(false, Ordering::Relaxed);
    }

    pub fn set_link_up(&self, up: bool) {
        self.link_up.store(up, Ordering::Relaxed);
    }

    pub fn subscribe_accepted(&self) -> watch::Receiver<u64> {
        self.accepted.subscribe()
    }

    pub fn subscribe_published(&self) -> watch::Receiver<u64> {
        self.published.subscribe()
    }

    pub fn snapshot(&self, outbox: u64) -> PublisherStats {
        PublisherStats {
            accepted: *self.accepted.borrow(),
            duplicates: self.duplicates.load(Ordering::Relaxed),
            write_retries: self.write_retries.load(Ordering::Relaxed),
            streams_waiting: self.streams_waiting.load(Ordering::Relaxed),
            streams: self.streams,
            streams_up: self.streams_up.load(Ordering::Relaxed),
            streams_ended: self.streams_ended.load(Ordering::Relaxed),
            stream_restarts: self.stream_restarts.load(Ordering::Relaxed),
            ignored: self.ignored.load(Ordering::Relaxed),
            published: *self.published.borrow(),
            outbox,
            link_up: self.link_up.load(Ordering::Relaxed),
            unroutable: self.unroutable.load(Ordering::Relaxed),
            unroutable_now: self.unroutable_now.load(Ordering::Relaxed),
        }
    }
}
