//! Live changes and updates: posting, editing and deleting messages, pushing `Updates` to
//! subscribed sessions with the right pts, and replaying missed changes through
//! `updates.getDifference` / `updates.getChannelDifference`.
//!
//! Channels and megagroups have their own pts (one box per channel); small groups share each
//! member account's common pts. Every push has `seq: 0`, so clients check only pts, and pts are
//! contiguous: a client that sees a gap asks for the difference, which this module answers
//! from the same logs.

use super::history::collect_refs;
use super::state::{Change, State, Subscriber, UpdateBox};
use super::{RpcError, Telegram};
use crate::world::{Chat, Entity, Media, Message};
use grammers_tl_types::{Serializable, enums, functions, types};
use std::collections::BTreeSet;
use tokio::sync::mpsc;

/// How long clients should wait before polling a channel again (`channelDifference.timeout`).
const CHANNEL_TIMEOUT: i32 = 30;

/// A message to post live; the id and date are assigned when posted.
#[derive(Debug, Clone, Default)]
pub struct NewMessage {
    pub text: String,
    pub from_id: Option<i64>,
    pub entities: Vec<Entity>,
    pub reply_to: Option<i32>,
    pub grouped_id: Option<i64>,
    pub media: Option<Media>,
}

impl NewMessage {
    pub fn text(text: impl Into<String>) -> NewMessage {
        NewMessage {
            text: text.into(),
            ..NewMessage::default()
        }
    }

    pub fn from(mut self, user_id: i64) -> NewMessage {
        self.from_id = Some(user_id);
        self
    }

    pub fn with_media(mut self, media: Media) -> NewMessage {
        self.media = Some(media);
        self
    }
}

impl Telegram {
    /// Live updates for the account behind this key, serialized `Updates`, in order. The key
    /// may still be a login slot: updates flow once it is bound. `layer` does not change what
    /// is sent: every constructor pushed is the same in layers 229 and 230 (see `super::convert`).
    pub fn subscribe(&self, auth_key_id: i64, layer: i32) -> mpsc::UnboundedReceiver<Vec<u8>> {
        let _ = layer;
        let (tx, rx) = mpsc::unbounded_channel();
        self.lock().subscribers.push(Subscriber {
            key_id: auth_key_id,
            tx,
        });
        rx
    }

    /// Posts a message in a chat; members receive it live. Returns the new message id.
    pub fn post_message(&self, chat_id: i64, message: NewMessage) -> Result<i32, RpcError> {
        self.lock().post(chat_id, message)
    }

    /// Replaces the text of a message (sets `edit_date`); members receive the edit.
    pub fn edit_message(&self, chat_id: i64, id: i32, text: &str) -> Result<(), RpcError> {
        self.lock().edit(chat_id, id, text)
    }

    /// Moves telesim's clock to `unix_secs` if that is ahead of it; it stays there until the
    /// wall clock passes it. Dates of what happens meanwhile (posts, edits) all read that
    /// second, as on Telegram when things happen within one second.
    pub fn hold_clock_at(&self, unix_secs: i32) {
        let mut state = self.lock();
        state.clock = state.clock.max(unix_secs);
    }

    /// Deletes messages; members receive the deletion. Unknown ids are ignored, like Telegram.
    pub fn delete_messages(&self, chat_id: i64, ids: &[i32]) -> Result<(), RpcError> {
        self.lock().delete(chat_id, ids)
    }

    /// `FILE_REFERENCE_EXPIRED` for this media until a client fetches its message again.
    pub fn expire_file_reference(&self, media_id: i64) {
        self.lock().expire_file_reference(media_id);
    }

    /// The next `times` chunks of this media served by `upload.getFile` that hold byte `at`
    /// come back with that byte flipped.
    pub fn corrupt_chunks(&self, media_id: i64, at: u64, times: u32) {
        self.lock().corrupt_chunks(media_id, at, times);
    }

    /// A channel's current pts (None for unknown chats and small groups).
    pub fn channel_pts(&self, chat_id: i64) -> Option<i32> {
        self.lock().channel_boxes.get(&chat_id).map(|b| b.pts)
    }

    /// An account's common pts (small groups).
    pub fn common_pts(&self, user_id: i64) -> Option<i32> {
        self.lock().common_boxes.get(&user_id).map(|b| b.pts)
    }

    /// The access hash `viewer` sees for a peer or media (for tests building input peers).
    pub fn access_hash_for(&self, viewer: i64, peer: i64) -> i64 {
        self.lock().hash_for(viewer, peer)
    }

    /// Whether `user_id` is a member of `chat_id` now.
    pub fn is_member(&self, chat_id: i64, user_id: i64) -> bool {
        self.lock()
            .chat(chat_id)
            .is_some_and(|c| c.is_member(user_id))
    }

    /// A message as stored now (live overlay included).
    pub fn message(&self, chat_id: i64, id: i32) -> Option<Message> {
        let state = self.lock();
        let chat = state.chat(chat_id)?;
        state.message(chat, id)
    }
}

impl State {
    fn live_chat(&self, chat_id: i64) -> Result<Chat, RpcError> {
        self.chat(chat_id)
            .cloned()
            .ok_or_else(|| RpcError::bad_request("PEER_ID_INVALID"))
    }

    fn post(&mut self, chat_id: i64, new: NewMessage) -> Result<i32, RpcError> {
        let chat = self.live_chat(chat_id)?;
        let date = self.now();
        let history = self.histories.entry(chat_id).or_default();
        let id = history.top_id + 1;
        history.top_id = id;
        let message = Message {
            id,
            date,
            from_id: new.from_id,
            text: new.text,
            entities: new.entities,
            reply_to: new.reply_to,
            fwd_from: None,
            views: chat.is_channel().then_some(1),
            forwards: chat.is_channel().then_some(0),
            edit_date: None,
            grouped_id: new.grouped_id,
            media: new.media,
            post_author: None,
            action: None,
        };
        if let Some(media) = &message.media {
            self.media_index.insert(media.id, (chat_id, id));
        }
        history.stored.insert(id, message);
        self.log_and_push(&chat, 1, date, Change::New { chat: chat_id, id });
        Ok(id)
    }

    fn edit(&mut self, chat_id: i64, id: i32, text: &str) -> Result<(), RpcError> {
        let chat = self.live_chat(chat_id)?;
        let mut message = self
            .message(&chat, id)
            .ok_or_else(|| RpcError::bad_request("MESSAGE_ID_INVALID"))?;
        let date = self.now();
        message.text = text.to_string();
        message.entities.clear();
        message.edit_date = Some(date);
        self.histories
            .entry(chat_id)
            .or_default()
            .stored
            .insert(id, message);
        self.log_and_push(&chat, 1, date, Change::Edit { chat: chat_id, id });
        Ok(())
    }

    fn delete(&mut self, chat_id: i64, ids: &[i32]) -> Result<(), RpcError> {
        let chat = self.live_chat(chat_id)?;
        let existing: Vec<i32> = ids
            .iter()
            .copied()
            .filter(|id| self.message(&chat, *id).is_some())
            .collect();
        if existing.is_empty() {
            return Ok(());
        }
        let generated_top = chat.generated.map_or(0, |g| g.count);
        let history = self.histories.entry(chat_id).or_default();
        for id in &existing {
            history.stored.remove(id);
            if *id <= generated_top {
                history.deleted.insert(*id);
            }
        }
        let date = self.now();
        self.log_and_push(
            &chat,
            existing.len() as i32,
            date,
            Change::Delete {
                chat: chat_id,
                ids: existing,
            },
        );
        Ok(())
    }

    /// Logs a change in the boxes it advances and pushes it to subscribed members.
    fn log_and_push(&mut self, chat: &Chat, count: i32, date: i32, change: Change) {
        if chat.is_channel() {
            let pts = self
                .channel_boxes
                .entry(chat.id)
                .or_insert_with(|| UpdateBox::new(1))
                .push(count, date, change.clone());
            for member in chat.members.clone() {
                if let Some(updates) = self.updates_for(member, chat, &change, pts, count, date) {
                    self.push_to_account(member, &updates);
                }
            }
        } else {
            for member in chat.members.clone() {
                let Some(common) = self.common_boxes.get_mut(&member) else {
                    continue;
                };
                let pts = common.push(count, date, change.clone());
                if let Some(updates) = self.updates_for(member, chat, &change, pts, count, date) {
                    self.push_to_account(member, &updates);
                }
            }
        }
    }

    /// The `Updates` one member receives for a change.
    fn updates_for(
        &mut self,
        viewer: i64,
        chat: &Chat,
        change: &Change,
        pts: i32,
        pts_count: i32,
        date: i32,
    ) -> Option<enums::Updates> {
        let mut chat_ids = BTreeSet::from([chat.id]);
        let mut user_ids = BTreeSet::new();
        let update = self.tl_update(
            viewer,
            chat,
            change,
            pts,
            pts_count,
            &mut chat_ids,
            &mut user_ids,
        )?;
        let (chats, users) = self.refs(viewer, chat_ids, user_ids);
        Some(enums::Updates::Updates(types::Updates {
            updates: vec![update],
            users,
            chats,
            date,
            seq: 0,
        }))
    }

    #[allow(clippy::too_many_arguments)]
    fn tl_update(
        &mut self,
        viewer: i64,
        chat: &Chat,
        change: &Change,
        pts: i32,
        pts_count: i32,
        chat_ids: &mut BTreeSet<i64>,
        user_ids: &mut BTreeSet<i64>,
    ) -> Option<enums::Update> {
        use enums::Update as U;
        match change {
            Change::New { id, .. } | Change::Edit { id, .. } => {
                let message = self.message(chat, *id)?;
                collect_refs(&message, chat_ids, user_ids);
                let message = self.tl_message(viewer, chat, &message);
                let edit = matches!(change, Change::Edit { .. });
                Some(match (chat.is_channel(), edit) {
                    (true, false) => U::NewChannelMessage(types::UpdateNewChannelMessage {
                        message,
                        pts,
                        pts_count,
                    }),
                    (true, true) => U::EditChannelMessage(types::UpdateEditChannelMessage {
                        message,
                        pts,
                        pts_count,
                    }),
                    (false, false) => U::NewMessage(types::UpdateNewMessage {
                        message,
                        pts,
                        pts_count,
                    }),
                    (false, true) => U::EditMessage(types::UpdateEditMessage {
                        message,
                        pts,
                        pts_count,
                    }),
                })
            }
            Change::Delete { ids, .. } => Some(if chat.is_channel() {
                U::DeleteChannelMessages(types::UpdateDeleteChannelMessages {
                    channel_id: chat.id,
                    messages: ids.clone(),
                    pts,
                    pts_count,
                })
            } else {
                U::DeleteMessages(types::UpdateDeleteMessages {
                    messages: ids.clone(),
                    pts,
                    pts_count,
                })
            }),
        }
    }

    /// Sends `updates` to every live session of the account; forgets closed ones.
    pub(crate) fn push_to_account(&mut self, user_id: i64, updates: &enums::Updates) {
        let bytes = updates.to_bytes();
        let slots = &self.slots;
        self.subscribers.retain(|s| {
            if slots.get(&s.key_id).and_then(|slot| slot.bound) != Some(user_id) {
                return !s.tx.is_closed();
            }
            s.tx.send(bytes.clone()).is_ok()
        });
    }

    pub(crate) fn update_state(&mut self, me: i64) -> enums::updates::State {
        let pts = self
            .common_boxes
            .entry(me)
            .or_insert_with(|| UpdateBox::new(1))
            .pts;
        let date = self.now();
        enums::updates::State::State(types::updates::State {
            pts,
            qts: 0,
            date,
            seq: 0,
            unread_count: 0,
        })
    }

    pub(crate) fn get_difference(
        &mut self,
        me: i64,
        request: functions::updates::GetDifference,
    ) -> enums::updates::Difference {
        let date = self.now();
        // Channels with changes since the client's date: tell it to fetch their difference.
        // The hint carries no pts: clients (grammers, Telethon) adopt a given pts as their own
        // and would skip what they missed; without one they ask from the pts they know.
        let hints: Vec<enums::Update> = self
            .world
            .chats
            .values()
            .filter(|c| c.is_channel() && c.is_member(me))
            .filter_map(|c| {
                let b = self.channel_boxes.get(&c.id)?;
                b.log
                    .iter()
                    .any(|(_, _, d, _)| *d >= request.date)
                    .then_some(enums::Update::ChannelTooLong(types::UpdateChannelTooLong {
                        channel_id: c.id,
                        pts: None,
                    }))
            })
            .collect();
        let common = self
            .common_boxes
            .entry(me)
            .or_insert_with(|| UpdateBox::new(1));
        let current = common.pts;
        if request.pts >= current && hints.is_empty() {
            return enums::updates::Difference::Empty(types::updates::DifferenceEmpty {
                date,
                seq: 0,
            });
        }
        let Some(changes) = common.since(request.pts) else {
            return enums::updates::Difference::TooLong(types::updates::DifferenceTooLong {
                pts: current,
            });
        };
        let changes: Vec<(i32, i32, Change)> = changes
            .into_iter()
            .map(|(p, c, _, ch)| (*p, *c, ch.clone()))
            .collect();
        let mut new_messages = Vec::new();
        let mut other_updates = hints;
        let mut chat_ids = BTreeSet::new();
        let mut user_ids = BTreeSet::new();
        for (pts, count, change) in changes {
            let chat_id = match &change {
                Change::New { chat, .. }
                | Change::Edit { chat, .. }
                | Change::Delete { chat, .. } => *chat,
            };
            let Some(chat) = self.chat(chat_id).cloned() else {
                continue;
            };
            chat_ids.insert(chat_id);
            match self.tl_update(me, &chat, &change, pts, count, &mut chat_ids, &mut user_ids) {
                Some(enums::Update::NewMessage(u)) => new_messages.push(u.message),
                Some(other) => other_updates.push(other),
                None => {}
            }
        }
        for update in &other_updates {
            if let enums::Update::ChannelTooLong(u) = update {
                chat_ids.insert(u.channel_id);
            }
        }
        let (chats, users) = self.refs(me, chat_ids, user_ids);
        enums::updates::Difference::Difference(types::updates::Difference {
            new_messages,
            new_encrypted_messages: Vec::new(),
            other_updates,
            chats,
            users,
            state: enums::updates::State::State(types::updates::State {
                pts: current,
                qts: 0,
                date,
                seq: 0,
                unread_count: 0,
            }),
        })
    }

    pub(crate) fn get_channel_difference(
        &mut self,
        me: i64,
        request: functions::updates::GetChannelDifference,
    ) -> Result<enums::updates::ChannelDifference, RpcError> {
        let chat = self.input_channel(me, &request.channel)?;
        self.check_readable(me, &chat)?;
        if request.pts <= 0 {
            return Err(RpcError::bad_request("PERSISTENT_TIMESTAMP_INVALID"));
        }
        let limit = request.limit.clamp(1, 1000) as usize;
        let channel_box = self
            .channel_boxes
            .entry(chat.id)
            .or_insert_with(|| UpdateBox::new(1));
        let current = channel_box.pts;
        if request.pts >= current {
            return Ok(enums::updates::ChannelDifference::Empty(
                types::updates::ChannelDifferenceEmpty {
                    r#final: true,
                    pts: current,
                    timeout: Some(CHANNEL_TIMEOUT),
                },
            ));
        }
        let Some(changes) = channel_box.since(request.pts) else {
            return Ok(self.channel_too_long(me, &chat, limit));
        };
        let all = changes.len();
        let changes: Vec<(i32, i32, Change)> = changes
            .into_iter()
            .take(limit)
            .map(|(p, c, _, ch)| (*p, *c, ch.clone()))
            .collect();
        let is_final = changes.len() == all;
        let pts = changes.last().map_or(current, |(p, ..)| *p);
        let mut new_messages = Vec::new();
        let mut other_updates = Vec::new();
        let mut chat_ids = BTreeSet::from([chat.id]);
        let mut user_ids = BTreeSet::new();
        for (pts, count, change) in changes {
            match self.tl_update(me, &chat, &change, pts, count, &mut chat_ids, &mut user_ids) {
                Some(enums::Update::NewChannelMessage(u)) => new_messages.push(u.message),
                Some(other) => other_updates.push(other),
                None => {}
            }
        }
        let (chats, users) = self.refs(me, chat_ids, user_ids);
        Ok(enums::updates::ChannelDifference::Difference(
            types::updates::ChannelDifference {
                r#final: is_final,
                pts,
                timeout: Some(CHANNEL_TIMEOUT),
                new_messages,
                other_updates,
                chats,
                users,
            },
        ))
    }

    /// The client is too far behind: the latest messages and the dialog with the current pts.
    fn channel_too_long(
        &mut self,
        me: i64,
        chat: &Chat,
        limit: usize,
    ) -> enums::updates::ChannelDifference {
        let ids: Vec<i32> = self.ids_desc(chat, i32::MAX).take(limit.min(100)).collect();
        let top = ids.first().copied().unwrap_or(0);
        let mut chat_ids = BTreeSet::from([chat.id]);
        let mut user_ids = BTreeSet::new();
        let mut messages = Vec::new();
        for id in ids {
            if let Some(m) = self.message(chat, id) {
                collect_refs(&m, &mut chat_ids, &mut user_ids);
                messages.push(self.tl_message(me, chat, &m));
            }
        }
        let (chats, users) = self.refs(me, chat_ids, user_ids);
        enums::updates::ChannelDifference::TooLong(types::updates::ChannelDifferenceTooLong {
            r#final: true,
            timeout: Some(CHANNEL_TIMEOUT),
            dialog: self.tl_dialog(chat, top),
            messages,
            chats,
            users,
        })
    }
}
