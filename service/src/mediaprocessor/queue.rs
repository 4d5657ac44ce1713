//! The per-account download queues.
//!
//! A file reference is valid only for the account that fetched the message, so a download
//! task belongs to one account's queue (docs/design.md §6). Each queue holds task ids in arrival
//! order and, for each, the account's [`PendingDownload`] guard: the pool sees the
//! account's queued and running downloads in its weights from the moment a task is queued
//! until it leaves the account (downloaded, failed, or handed to another account).
//!
//! The queues are in memory only; the task table is the durable record, and the processor
//! refills the queues from it at start.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use tgc_model::teleclient::{AccountId, PendingDownload, TeleClient};
use tokio::sync::Notify;

/// One account's queue.
#[derive(Default)]
struct Lane {
    waiting: VecDeque<i64>,
    /// Guards of every task of this account, waiting or running.
    guards: HashMap<i64, PendingDownload>,
}

/// Every account's queue, keyed by the account.
#[derive(Default)]
pub(crate) struct Queues {
    lanes: Mutex<HashMap<AccountId, Lane>>,
    /// Tasks queued or running anywhere, so a task met twice is not queued twice.
    tracked: Mutex<HashSet<i64>>,
    wake: Notify,
}

impl Queues {
    fn lanes(&self) -> MutexGuard<'_, HashMap<AccountId, Lane>> {
        self.lanes
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn tracked(&self) -> MutexGuard<'_, HashSet<i64>> {
        self.tracked
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Queues `media_id` on `account`; false if it is already queued or running somewhere.
    pub fn push(&self, account: &Arc<TeleClient>, media_id: i64) -> bool {
        if !self.tracked().insert(media_id) {
            return false;
        }
        let mut lanes = self.lanes();
        let lane = lanes.entry(account.id()).or_default();
        lane.guards.insert(media_id, account.begin_download());
        lane.waiting.push_back(media_id);
        drop(lanes);
        self.wake.notify_waiters();
        true
    }

    /// The next task of `account`, if any; it stays counted against the account until
    /// [`Queues::finish`].
    pub fn pop(&self, account: AccountId) -> Option<i64> {
        self.lanes().get_mut(&account)?.waiting.pop_front()
    }

    /// Registers interest before looking, so a push between the look and the wait is not missed.
    pub fn notified(&self) -> tokio::sync::futures::Notified<'_> {
        self.wake.notified()
    }

    /// The task left `account` (done, failed, or moving to another account). It stays
    /// tracked if another account's queue holds it (it was taken over meanwhile).
    pub fn finish(&self, account: AccountId, media_id: i64) {
        let mut lanes = self.lanes();
        if let Some(lane) = lanes.get_mut(&account) {
            lane.guards.remove(&media_id);
            lane.waiting.retain(|id| *id != media_id);
        }
        let elsewhere = lanes
            .values()
            .any(|lane| lane.guards.contains_key(&media_id));
        drop(lanes);
        if !elsewhere {
            self.tracked().remove(&media_id);
        }
    }

    /// Takes every waiting task off `account` (it died): their ids, to hand over.
    pub fn drain(&self, account: AccountId) -> Vec<i64> {
        let mut lanes = self.lanes();
        let Some(lane) = lanes.get_mut(&account) else {
            return Vec::new();
        };
        let ids: Vec<i64> = lane.waiting.drain(..).collect();
        for id in &ids {
            lane.guards.remove(id);
        }
        drop(lanes);
        let mut tracked = self.tracked();
        for id in &ids {
            tracked.remove(id);
        }
        ids
    }
}
