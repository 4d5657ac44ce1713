//! [`Outbox`]: every event is written here before it is published, and removed only when
//! RabbitMQ has confirmed it.
//!
//! That one rule is what makes the stream lossless: a broker outage only makes the outbox
//! grow, a crash leaves the unconfirmed events on disk, and the drainer sends them again,
//! oldest first, when it can. It is also where events are de-duplicated: the `seen` table
//! remembers every event id accepted (in the same transaction as the outbox row), so the
//! second account to report a message, or a catch-up after a restart replaying what was
//! already published, adds nothing.
//!
//! The outbox is bounded (`rabbitmq.outbox_max_events`): at the cap new events are refused
//! and the streams wait for room (the gateway must not fill the disk while the broker is
//! away for days; Telegram keeps the updates meanwhile), and a warning is logged when it
//! passes nine tenths of the cap. SQLite in WAL mode with `synchronous = normal`: a
//! committed event survives a killed process; [`Outbox::sync`] puts it on disk for a power
//! cut, which the streams do before saving the update state that depends on it (one sync
//! a second, not one per event).

use std::path::Path;
use std::sync::MutexGuard;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use tgc_common::clock::unix_secs;
use tgc_common::sqlite::SqliteFile;

use rusqlite::{Connection, params};
use tokio::sync::Notify;

use super::error::OutboxError;
use super::event::Event;

/// The file name inside `data.dir`.
pub const FILE_NAME: &str = "outbox.sqlite";

/// How long an event id is remembered for de-duplication. Catch-up after downtime and a
/// second account's copy both arrive well within it.
const SEEN_FOR: Duration = Duration::from_secs(3 * 24 * 3600);

/// Old `seen` rows are pruned once every this many accepted events.
const PRUNE_EVERY: u64 = 10_000;

/// What became of an event handed to [`Outbox::enqueue`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enqueued {
    /// Stored; it will be published.
    Added,
    /// Its id was seen before (another account, or a replay): nothing to do.
    Duplicate,
    /// The outbox is at its cap: the event was refused.
    Full,
}

/// An event waiting for its confirm.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    /// Position in the outbox; publishing follows it.
    pub seq: i64,
    pub event_id: String,
    pub routing_key: String,
    pub body: Vec<u8>,
}

const SCHEMA: &str = "
    pragma journal_mode = wal;
    pragma synchronous = normal;
    create table if not exists outbox (
        seq integer primary key autoincrement,
        event_id text not null,
        routing_key text not null,
        body blob not null,
        created_at integer not null
    );
    create table if not exists seen (
        event_id text primary key,
        seen_at integer not null
    );
    create index if not exists seen_by_age on seen (seen_at);
";

/// The persisted outbox.
pub struct Outbox {
    file: SqliteFile,
    max_events: u64,
    len: AtomicU64,
    accepted: AtomicU64,
    near_cap: AtomicBool,
    added: Notify,
    removed: Notify,
}

impl std::fmt::Debug for Outbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outbox")
            .field("path", &self.file.path())
            .field("len", &self.len())
            .field("max_events", &self.max_events)
            .finish_non_exhaustive()
    }
}

impl Outbox {
    /// Opens (creating if needed) `data_dir/outbox.sqlite`, holding at most `max_events`.
    pub fn open_in(data_dir: &Path, max_events: u64) -> Result<Outbox, OutboxError> {
        Outbox::with_file(
            SqliteFile::open_in(data_dir, FILE_NAME, SCHEMA)?,
            max_events,
        )
    }

    /// Opens (creating if needed) the outbox at `path`.
    pub fn open(path: &Path, max_events: u64) -> Result<Outbox, OutboxError> {
        Outbox::with_file(SqliteFile::open(path, SCHEMA)?, max_events)
    }

    fn with_file(file: SqliteFile, max_events: u64) -> Result<Outbox, OutboxError> {
        let len: i64 = file
            .conn()
            .query_row("select count(*) from outbox", [], |row| row.get(0))
            .map_err(|source| OutboxError::Sql {
                path: file.path().to_owned(),
                source,
            })?;
        let outbox = Outbox {
            file,
            max_events: max_events.max(1),
            len: AtomicU64::new(len as u64),
            accepted: AtomicU64::new(0),
            near_cap: AtomicBool::new(false),
            added: Notify::new(),
            removed: Notify::new(),
        };
        if len > 0 {
            tracing::info!(events = len, path = %outbox.path().display(), "outbox holds unconfirmed events from before: they are sent first");
        }
        Ok(outbox)
    }

    /// Stores `event` unless its id was seen before or the outbox is full (the caller
    /// waits for [`Outbox::room`] and tries again).
    pub fn enqueue(&self, event: &Event) -> Result<Enqueued, OutboxError> {
        let fates = self.enqueue_many(std::slice::from_ref(event))?;
        Ok(fates.first().copied().unwrap_or(Enqueued::Full))
    }

    /// Stores `events`, in order, in one transaction, and says what became of each: a
    /// transaction's commit writes each page it touched once, where one transaction per
    /// event wrote the outbox's, the `seen` table's and its index's pages again for every
    /// event. Seen events are skipped; at the cap the events from there on are refused
    /// (`Full`) and those before it are kept.
    pub fn enqueue_many(&self, events: &[Event]) -> Result<Vec<Enqueued>, OutboxError> {
        if events.is_empty() {
            return Ok(Vec::new());
        }
        let now = unix_secs();
        let mut fates = Vec::with_capacity(events.len());
        let (added, len) = {
            // The cap is checked and the events counted under the connection's lock: two
            // streams enqueueing at once must not both see the last free place.
            let mut conn = self.conn();
            let tx = conn.transaction().map_err(|e| self.sql(e))?;
            let mut len = self.len();
            let mut added = 0u64;
            for event in events {
                let id = event.id();
                if len >= self.max_events {
                    let seen = tx
                        .prepare_cached("select 1 from seen where event_id = ?1")
                        .and_then(|mut seen| seen.exists([&id]))
                        .map_err(|e| self.sql(e))?;
                    if seen {
                        fates.push(Enqueued::Duplicate);
                        continue;
                    }
                    tracing::warn!(
                        max_events = self.max_events,
                        event = %id,
                        "outbox full (rabbitmq.outbox_max_events): the stream waits for room; is RabbitMQ down?"
                    );
                    // Past the cap nothing more goes in: the rest waits with this one.
                    fates.resize(events.len(), Enqueued::Full);
                    break;
                }
                // Cached statements: an insert is a few microseconds of SQLite, and parsing
                // the SQL again each time would be most of it.
                let fresh = tx
                    .prepare_cached(
                        "insert or ignore into seen (event_id, seen_at) values (?1, ?2)",
                    )
                    .and_then(|mut seen| seen.execute(params![id, now]))
                    .map_err(|e| self.sql(e))?;
                if fresh == 0 {
                    fates.push(Enqueued::Duplicate);
                    continue;
                }
                tx.prepare_cached(
                    "insert into outbox (event_id, routing_key, body, created_at)
                     values (?1, ?2, ?3, ?4)",
                )
                .and_then(|mut insert| {
                    insert.execute(params![id, event.routing_key(), event.body, now])
                })
                .map_err(|e| self.sql(e))?;
                fates.push(Enqueued::Added);
                added += 1;
                len += 1;
            }
            if added == 0 {
                // Nothing written: the transaction ends without a commit.
                return Ok(fates);
            }
            tx.commit().map_err(|e| self.sql(e))?;
            (added, self.len.fetch_add(added, Ordering::Relaxed) + added)
        };
        self.file.wrote();
        self.watch_cap(len);
        let before = self.accepted.fetch_add(added, Ordering::Relaxed);
        if before / PRUNE_EVERY != (before + added) / PRUNE_EVERY {
            self.prune_seen(now)?;
        }
        self.added.notify_one();
        Ok(fates)
    }

    /// Whether an event with this id was accepted before (it may be skipped unparsed).
    pub fn has_seen(&self, event_id: &str) -> Result<bool, OutboxError> {
        let conn = self.conn();
        let mut statement = conn
            .prepare_cached("select 1 from seen where event_id = ?1")
            .map_err(|e| self.sql(e))?;
        statement.exists([event_id]).map_err(|e| self.sql(e))
    }

    /// Up to `limit` events, oldest first.
    pub fn oldest(&self, limit: usize) -> Result<Vec<Pending>, OutboxError> {
        self.oldest_after(0, limit)
    }

    /// The oldest `limit` events after sequence number `after` (those before it are in
    /// flight), in order.
    pub fn oldest_after(&self, after: i64, limit: usize) -> Result<Vec<Pending>, OutboxError> {
        let conn = self.conn();
        let mut statement = conn
            .prepare_cached(
                "select seq, event_id, routing_key, body from outbox where seq > ?1
                 order by seq limit ?2",
            )
            .map_err(|e| self.sql(e))?;
        let rows = statement
            .query_map(params![after, limit as i64], |row| {
                Ok(Pending {
                    seq: row.get(0)?,
                    event_id: row.get(1)?,
                    routing_key: row.get(2)?,
                    body: row.get(3)?,
                })
            })
            .map_err(|e| self.sql(e))?;
        rows.map(|row| row.map_err(|e| self.sql(e))).collect()
    }

    /// Removes confirmed events. A run of consecutive sequence numbers (a drained batch:
    /// nothing else can sit between them, since new events only get higher ones) goes in
    /// one ranged statement; anything else row by row.
    pub fn remove(&self, seqs: &[i64]) -> Result<(), OutboxError> {
        if seqs.is_empty() {
            return Ok(());
        }
        let removed = {
            let mut conn = self.conn();
            let tx = conn.transaction().map_err(|e| self.sql(e))?;
            let mut removed = 0;
            let (first, last) = (seqs[0], seqs[seqs.len() - 1]);
            let consecutive = seqs.windows(2).all(|pair| pair[1] == pair[0] + 1);
            if consecutive {
                removed += tx
                    .prepare_cached("delete from outbox where seq between ?1 and ?2")
                    .and_then(|mut range| range.execute([first, last]))
                    .map_err(|e| self.sql(e))?;
            } else {
                let mut statement = tx
                    .prepare_cached("delete from outbox where seq = ?1")
                    .map_err(|e| self.sql(e))?;
                for seq in seqs {
                    removed += statement.execute([seq]).map_err(|e| self.sql(e))?;
                }
            }
            tx.commit().map_err(|e| self.sql(e))?;
            removed as u64
        };
        let len = self
            .len
            .fetch_sub(removed.min(self.len()), Ordering::Relaxed)
            .saturating_sub(removed);
        self.watch_cap(len);
        self.removed.notify_waiters();
        Ok(())
    }

    /// Events waiting for a confirm.
    pub fn len(&self) -> u64 {
        self.len.load(Ordering::Relaxed)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn max_events(&self) -> u64 {
        self.max_events
    }

    pub fn path(&self) -> &Path {
        self.file.path()
    }

    /// Puts every committed event on disk (the WAL is synced by a checkpoint), so that what
    /// is saved after it (an update state) is never ahead of it after a power cut.
    /// It costs nothing when no event came since the last sync, and may fsync otherwise:
    /// call it off the async workers.
    pub fn sync(&self) -> Result<(), OutboxError> {
        self.file.sync().map_err(|e| self.sql(e))
    }

    /// Resolves once events leave the outbox after the call: a stream waiting for room
    /// sleeps on it.
    pub async fn room(&self) {
        self.removed.notified().await;
    }

    /// Resolves once an event is added after the last call (or at once if one was added
    /// since): the drainer sleeps on it when the outbox is empty.
    pub async fn added(&self) {
        self.added.notified().await;
    }

    /// Logs once when the outbox passes nine tenths of its cap, and once when it is back
    /// under half.
    fn watch_cap(&self, len: u64) {
        let high = self.max_events - self.max_events / 10;
        if len >= high && !self.near_cap.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                events = len,
                max_events = self.max_events,
                "outbox near its cap: RabbitMQ is not confirming; at the cap the streams wait"
            );
        } else if len <= self.max_events / 2 && self.near_cap.swap(false, Ordering::Relaxed) {
            tracing::info!(events = len, "outbox back under half its cap");
        }
    }

    fn prune_seen(&self, now: i64) -> Result<(), OutboxError> {
        let oldest = now.saturating_sub(SEEN_FOR.as_secs() as i64);
        self.conn()
            .execute("delete from seen where seen_at < ?1", [oldest])
            .map_err(|e| self.sql(e))?;
        Ok(())
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        self.file.conn()
    }

    fn sql(&self, source: rusqlite::Error) -> OutboxError {
        OutboxError::Sql {
            path: self.file.path().to_owned(),
            source,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::publisher::event::EventKind;

    fn event(message_id: i32) -> Event {
        Event {
            kind: EventKind::New,
            chat_id: -1_000_000_000_042,
            message_id,
            edit_date: 0,
            edit_digest: 0,
            body: format!("{{\"id\":{message_id}}}").into_bytes(),
        }
    }

    #[test]
    fn events_come_out_in_order_and_leave_only_when_removed() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = Outbox::open_in(dir.path(), 100).unwrap();
        for id in 1..=5 {
            assert_eq!(outbox.enqueue(&event(id)).unwrap(), Enqueued::Added);
        }
        let first = outbox.oldest(3).unwrap();
        let ids: Vec<&str> = first.iter().map(|p| p.event_id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "-1000000000042:1:new:0",
                "-1000000000042:2:new:0",
                "-1000000000042:3:new:0"
            ]
        );
        assert_eq!(first[0].routing_key, "message.new.-1000000000042");
        assert_eq!(first[0].body, b"{\"id\":1}");
        outbox
            .remove(&first.iter().map(|p| p.seq).collect::<Vec<_>>())
            .unwrap();
        assert_eq!(outbox.len(), 2);
        let rest = outbox.oldest(10).unwrap();
        assert_eq!(rest.len(), 2);
        assert_eq!(rest[0].event_id, "-1000000000042:4:new:0");
    }

    #[test]
    fn a_seen_event_is_a_duplicate_even_after_it_was_confirmed_and_reopened() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = Outbox::open_in(dir.path(), 100).unwrap();
        assert!(!outbox.has_seen(&event(1).id()).unwrap());
        assert_eq!(outbox.enqueue(&event(1)).unwrap(), Enqueued::Added);
        assert!(outbox.has_seen(&event(1).id()).unwrap());
        assert_eq!(outbox.enqueue(&event(1)).unwrap(), Enqueued::Duplicate);
        let pending = outbox.oldest(10).unwrap();
        outbox.remove(&[pending[0].seq]).unwrap();
        drop(outbox);
        let outbox = Outbox::open_in(dir.path(), 100).unwrap();
        assert_eq!(outbox.enqueue(&event(1)).unwrap(), Enqueued::Duplicate);
        assert!(outbox.is_empty());
    }

    #[test]
    fn unconfirmed_events_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = Outbox::open_in(dir.path(), 100).unwrap();
        outbox.enqueue(&event(1)).unwrap();
        outbox.enqueue(&event(2)).unwrap();
        drop(outbox);
        let outbox = Outbox::open_in(dir.path(), 100).unwrap();
        assert_eq!(outbox.len(), 2);
        let pending = outbox.oldest(10).unwrap();
        assert_eq!(pending[1].event_id, "-1000000000042:2:new:0");
    }

    #[test]
    fn past_its_cap_the_outbox_refuses_events_and_takes_them_again_once_drained() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = Outbox::open_in(dir.path(), 2).unwrap();
        assert_eq!(outbox.enqueue(&event(1)).unwrap(), Enqueued::Added);
        assert_eq!(outbox.enqueue(&event(2)).unwrap(), Enqueued::Added);
        assert_eq!(outbox.enqueue(&event(3)).unwrap(), Enqueued::Full);
        let pending = outbox.oldest(1).unwrap();
        outbox.remove(&[pending[0].seq]).unwrap();
        // Refused, not remembered: the same event is accepted once there is room.
        assert_eq!(outbox.enqueue(&event(3)).unwrap(), Enqueued::Added);
        assert_eq!(outbox.len(), 2);
    }

    /// Streams enqueue from several threads at once; near the cap each must see the others'
    /// events, or two take the last place (found in CI: 21 events in an outbox of 20).
    #[test]
    fn concurrent_writers_never_pass_the_cap() {
        const CAP: u64 = 40;
        for round in 0..20 {
            let dir = tempfile::tempdir().unwrap();
            let outbox = Outbox::open_in(dir.path(), CAP).unwrap();
            let added = std::sync::atomic::AtomicU64::new(0);
            std::thread::scope(|threads| {
                for writer in 0..4 {
                    let (outbox, added) = (&outbox, &added);
                    threads.spawn(move || {
                        for i in 0..20 {
                            let id = writer * 1_000 + i;
                            if outbox.enqueue(&event(id)).unwrap() == Enqueued::Added {
                                added.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                    });
                }
            });
            assert_eq!(added.load(Ordering::Relaxed), CAP, "round {round}");
            assert_eq!(outbox.len(), CAP, "round {round}");
            assert_eq!(
                outbox.oldest(100).unwrap().len() as u64,
                CAP,
                "round {round}"
            );
        }
    }

    #[test]
    fn a_batch_keeps_its_order_skips_seen_events_and_stops_at_the_cap() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = Outbox::open_in(dir.path(), 4).unwrap();
        assert_eq!(outbox.enqueue(&event(2)).unwrap(), Enqueued::Added);
        let batch: Vec<Event> = [1, 2, 3, 4, 5, 6].into_iter().map(event).collect();
        assert_eq!(
            outbox.enqueue_many(&batch).unwrap(),
            [
                Enqueued::Added,
                Enqueued::Duplicate,
                Enqueued::Added,
                Enqueued::Added,
                Enqueued::Full,
                Enqueued::Full
            ]
        );
        assert_eq!(outbox.len(), 4);
        let ids: Vec<String> = outbox
            .oldest(10)
            .unwrap()
            .into_iter()
            .map(|p| p.event_id)
            .collect();
        let expected: Vec<String> = [2, 1, 3, 4].into_iter().map(|i| event(i).id()).collect();
        assert_eq!(ids, expected);
        // What follows a batch in flight.
        let second = outbox.oldest(2).unwrap()[1].seq;
        let after: Vec<String> = outbox
            .oldest_after(second, 10)
            .unwrap()
            .into_iter()
            .map(|p| p.event_id)
            .collect();
        assert_eq!(after, expected[2..]);
        // Once drained, the refused ones go in; the kept ones are duplicates now.
        let seqs: Vec<i64> = outbox.oldest(10).unwrap().iter().map(|p| p.seq).collect();
        outbox.remove(&seqs).unwrap();
        assert_eq!(
            outbox.enqueue_many(&batch).unwrap()[3..],
            [Enqueued::Duplicate, Enqueued::Added, Enqueued::Added]
        );
    }

    #[tokio::test]
    async fn adding_an_event_wakes_the_drainer() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = std::sync::Arc::new(Outbox::open_in(dir.path(), 10).unwrap());
        let waiter = {
            let outbox = std::sync::Arc::clone(&outbox);
            tokio::spawn(async move { outbox.added().await })
        };
        outbox.enqueue(&event(1)).unwrap();
        waiter.await.unwrap();
    }
}
