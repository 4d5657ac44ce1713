//! The mutable state behind [`super::Telegram`]: the world plus everything live.
//!
//! Live changes are overlays on the world: posts, edits and deletions go into the chat's stored
//! messages (for generated chats: overrides above or over the computed ones, and a deleted set),
//! and each change is logged in the channel's (or, for small groups, every member account's
//! common) update box with its pts, so the difference calls can replay it.

use crate::world::{Chat, Message, World, generated};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::SocketAddr;

use num_bigint::BigUint;
use tokio::sync::mpsc::UnboundedSender;

/// One auth key the datacenter knows.
pub(crate) struct Slot {
    pub key: [u8; 256],
    /// Set once the key is logged in.
    pub bound: Option<i64>,
}

/// A logged change, replayed by the difference calls.
#[derive(Debug, Clone)]
pub(crate) enum Change {
    New { chat: i64, id: i32 },
    Edit { chat: i64, id: i32 },
    Delete { chat: i64, ids: Vec<i32> },
}

/// An update box: a pts counter and the changes that advanced it.
#[derive(Debug, Default)]
pub(crate) struct UpdateBox {
    pub pts: i32,
    /// The pts before the first logged change; older pts cannot be replayed.
    pub base_pts: i32,
    /// `(pts after, pts_count, date, change)`.
    pub log: Vec<(i32, i32, i32, Change)>,
}

impl UpdateBox {
    pub fn new(pts: i32) -> UpdateBox {
        UpdateBox {
            pts,
            base_pts: pts,
            log: Vec::new(),
        }
    }

    pub fn push(&mut self, count: i32, date: i32, change: Change) -> i32 {
        self.pts += count;
        self.log.push((self.pts, count, date, change));
        self.pts
    }

    /// The changes after `pts`, or None if they are older than the log.
    pub fn since(&self, pts: i32) -> Option<Vec<&(i32, i32, i32, Change)>> {
        if pts < self.base_pts {
            return None;
        }
        Some(self.log.iter().filter(|(after, ..)| *after > pts).collect())
    }
}

/// The live overlay of one chat's history.
#[derive(Debug, Default)]
pub(crate) struct History {
    /// Deleted ids (only needed for generated ids; stored ones are removed).
    pub deleted: BTreeSet<i32>,
    /// Stored messages by id (the world's, then live posts and edits).
    pub stored: BTreeMap<i32, Message>,
    pub top_id: i32,
}

/// Whether a file reference handed out for a media is still good, and a pending corruption.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct FileRef {
    pub generation: u32,
    pub expired: bool,
    /// The byte at this offset comes back flipped in the next N chunks served that hold it.
    pub corrupt: Option<(u64, u32)>,
}

pub(crate) struct Subscriber {
    pub key_id: i64,
    pub tx: UnboundedSender<Vec<u8>>,
}

/// An `auth.sendCode` in progress on a key.
#[derive(Debug, Clone)]
pub(crate) struct LoginFlow {
    pub phone: String,
    pub phone_code_hash: String,
    /// The user the code was accepted for, waiting for `auth.checkPassword`.
    pub awaiting_password: Option<i64>,
}

pub(crate) struct State {
    pub world: World,
    pub address: Option<SocketAddr>,
    pub slots: HashMap<i64, Slot>,
    pub histories: HashMap<i64, History>,
    pub channel_boxes: HashMap<i64, UpdateBox>,
    pub common_boxes: HashMap<i64, UpdateBox>,
    pub files: HashMap<i64, FileRef>,
    /// Where each stored media is attached: `media id → (chat, message id)`.
    pub media_index: HashMap<i64, (i64, i32)>,
    pub subscribers: Vec<Subscriber>,
    pub logins: HashMap<i64, LoginFlow>,
    pub srp: HashMap<i64, SrpSession>,
    /// SRP verifiers `v = g^x mod p` by user, computed on first use.
    pub verifiers: HashMap<i64, num_bigint::BigUint>,
    /// Bumped by every live change, so concurrent `now()` calls stay monotonic.
    pub clock: i32,
}

impl State {
    pub fn new(mut world: World) -> State {
        let mut slots = HashMap::new();
        for account in &world.accounts {
            let key = world.auth_key(account);
            slots.insert(
                crate::world::auth_key_id(&key),
                Slot {
                    key,
                    bound: account.logged_in.then_some(account.user_id),
                },
            );
        }
        let mut histories = HashMap::new();
        let mut channel_boxes = HashMap::new();
        let mut common_pts: HashMap<i64, i32> = HashMap::new();
        let mut media_index = HashMap::new();
        for chat in world.chats.values_mut() {
            let stored: BTreeMap<i32, Message> = std::mem::take(&mut chat.messages)
                .into_iter()
                .map(|m| (m.id, m))
                .collect();
            for m in stored.values() {
                if let Some(media) = &m.media {
                    media_index.insert(media.id, (chat.id, m.id));
                }
            }
            let generated_top = chat.generated.map_or(0, |g| g.count);
            let top_id = stored
                .keys()
                .next_back()
                .copied()
                .unwrap_or(0)
                .max(generated_top);
            let count =
                stored.keys().filter(|&&id| id > generated_top).count() as i32 + generated_top;
            if chat.is_channel() {
                channel_boxes.insert(chat.id, UpdateBox::new(count.max(1)));
            } else {
                for member in &chat.members {
                    *common_pts.entry(*member).or_insert(1) += count;
                }
            }
            histories.insert(
                chat.id,
                History {
                    deleted: BTreeSet::new(),
                    stored,
                    top_id,
                },
            );
        }
        let common_boxes = world
            .accounts
            .iter()
            .map(|a| {
                (
                    a.user_id,
                    UpdateBox::new(common_pts.get(&a.user_id).copied().unwrap_or(1)),
                )
            })
            .collect();
        let clock = world.epoch;
        State {
            world,
            address: None,
            slots,
            histories,
            channel_boxes,
            common_boxes,
            files: HashMap::new(),
            media_index,
            subscribers: Vec::new(),
            logins: HashMap::new(),
            srp: HashMap::new(),
            verifiers: HashMap::new(),
            clock,
        }
    }

    /// The current unix time, never before the world's epoch nor an earlier `now`.
    pub fn now(&mut self) -> i32 {
        let wall = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i32);
        self.clock = self.clock.max(wall);
        self.clock
    }

    pub fn chat(&self, id: i64) -> Option<&Chat> {
        self.world.chats.get(&id)
    }

    /// Message `id` of `chat`, live overlay first, then the generated history.
    pub fn message(&self, chat: &Chat, id: i32) -> Option<Message> {
        let history = self.histories.get(&chat.id)?;
        if let Some(m) = history.stored.get(&id) {
            return Some(m.clone());
        }
        if history.deleted.contains(&id) {
            return None;
        }
        generated::message(chat, id)
    }

    /// How many messages the chat has now.
    pub fn message_count(&self, chat: &Chat) -> i32 {
        let Some(history) = self.histories.get(&chat.id) else {
            return 0;
        };
        let generated_top = chat.generated.map_or(0, |g| g.count);
        let above = history.stored.range(generated_top + 1..).count() as i32;
        let deleted = history.deleted.range(..=generated_top).count() as i32;
        generated_top - deleted + above
    }

    /// Existing message ids below `below` (exclusive), newest first.
    pub fn ids_desc(&self, chat: &Chat, below: i32) -> Box<dyn Iterator<Item = i32> + '_> {
        let Some(history) = self.histories.get(&chat.id) else {
            return Box::new(std::iter::empty());
        };
        let generated_top = chat.generated.map_or(0, |g| g.count);
        let upper = below.max(1);
        let stored = history
            .stored
            .range(..upper)
            .rev()
            .map(|(id, _)| *id)
            .filter(move |id| *id > generated_top);
        let gen_start = (upper - 1).min(generated_top);
        let deleted = &history.deleted;
        let computed = (1..=gen_start)
            .rev()
            .filter(move |id| !deleted.contains(id));
        Box::new(stored.chain(computed))
    }

    /// Existing message ids from `from` (inclusive), oldest first.
    pub fn ids_asc(&self, chat: &Chat, from: i32) -> Box<dyn Iterator<Item = i32> + '_> {
        let Some(history) = self.histories.get(&chat.id) else {
            return Box::new(std::iter::empty());
        };
        let generated_top = chat.generated.map_or(0, |g| g.count);
        let from = from.max(1);
        let deleted = &history.deleted;
        let computed = (from..=generated_top).filter(move |id| !deleted.contains(id));
        let stored = history
            .stored
            .range(from..)
            .map(|(id, _)| *id)
            .filter(move |id| *id > generated_top);
        Box::new(computed.chain(stored))
    }

    /// The account bound to a key.
    pub fn user_of_key(&self, key_id: i64) -> Option<i64> {
        self.slots.get(&key_id).and_then(|s| s.bound)
    }
}

/// One `account.getPassword` answer, kept until `auth.checkPassword` uses it.
pub(crate) struct SrpSession {
    pub(crate) user_id: i64,
    pub(crate) srp_id: i64,
    pub(crate) b: BigUint,
    pub(crate) g_b: [u8; 256],
    pub(crate) v: BigUint,
    pub(crate) salt1: Vec<u8>,
    pub(crate) salt2: Vec<u8>,
}
