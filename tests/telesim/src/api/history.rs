//! Reading history: `messages.getHistory` with Telegram's exact paging, message lookups, and
//! search in a chat and across chats.
//!
//! Paging follows Telegram: results are newest first; `offset_id` is exclusive (start below it,
//! or below the first message older than `offset_date`); `add_offset` shifts the window (a
//! negative one reaches messages newer than `offset_id`); only ids strictly between `min_id`
//! and `max_id` qualify; `limit` is capped at 100. Ids are walked lazily, so a page of a
//! generated 100,000-message channel touches about `limit` messages.

use super::RpcError;
use super::peers::PeerRef;
use super::state::State;
use crate::world::{Chat, MediaKind, Message};
use grammers_tl_types::{enums, functions, types};
use std::collections::BTreeSet;

/// The largest page Telegram serves.
pub const MAX_LIMIT: i32 = 100;

/// The window of one paged request.
pub(crate) struct Window {
    pub offset_id: i32,
    pub offset_date: i32,
    pub add_offset: i32,
    pub limit: i32,
    pub max_id: i32,
    pub min_id: i32,
}

impl State {
    /// The page `window` selects among the messages of `chat` that `keep` accepts.
    pub(crate) fn page(
        &self,
        chat: &Chat,
        window: &Window,
        keep: &dyn Fn(&Message) -> bool,
    ) -> Vec<Message> {
        let limit = window.limit.clamp(0, MAX_LIMIT) as usize;
        let upper = if window.max_id > 0 {
            window.max_id
        } else {
            i32::MAX
        };
        let min_id = window.min_id.max(0);
        let below = if window.offset_id > 0 {
            window.offset_id.min(upper)
        } else if window.offset_date > 0 {
            self.ids_desc(chat, upper)
                .filter_map(|id| self.message(chat, id))
                .find(|m| m.date < window.offset_date)
                .map_or(0, |m| m.id + 1)
        } else {
            upper
        };
        let older = self
            .ids_desc(chat, below)
            .take_while(|id| *id > min_id)
            .filter_map(|id| self.message(chat, id))
            .filter(|m| keep(m));
        if window.add_offset >= 0 {
            return older.skip(window.add_offset as usize).take(limit).collect();
        }
        let newer_wanted = window.add_offset.unsigned_abs() as usize;
        let mut newer: Vec<Message> = self
            .ids_asc(chat, below.max(min_id.saturating_add(1)))
            .take_while(|id| *id < upper)
            .filter_map(|id| self.message(chat, id))
            .filter(|m| keep(m))
            .take(newer_wanted)
            .collect();
        newer.reverse();
        newer.into_iter().chain(older).take(limit).collect()
    }

    /// A chat the caller may read, from an input peer.
    fn readable_chat(&self, me: i64, peer: &enums::InputPeer) -> Result<Option<Chat>, RpcError> {
        match self.input_peer(me, peer)? {
            PeerRef::Chat(id) => {
                let chat = self
                    .chat(id)
                    .cloned()
                    .ok_or_else(|| RpcError::bad_request("PEER_ID_INVALID"))?;
                self.check_readable(me, &chat)?;
                Ok(Some(chat))
            }
            // Private conversations are not simulated: they are empty.
            PeerRef::User(_) => Ok(None),
        }
    }

    pub(crate) fn get_history(
        &mut self,
        me: i64,
        request: functions::messages::GetHistory,
    ) -> Result<enums::messages::Messages, RpcError> {
        let Some(chat) = self.readable_chat(me, &request.peer)? else {
            return Ok(empty_messages());
        };
        let window = Window {
            offset_id: request.offset_id,
            offset_date: request.offset_date,
            add_offset: request.add_offset,
            limit: request.limit,
            max_id: request.max_id,
            min_id: request.min_id,
        };
        let messages = self.page(&chat, &window, &|_| true);
        let count = self.message_count(&chat);
        Ok(self.messages_result(me, &chat, messages, count))
    }

    pub(crate) fn search(
        &mut self,
        me: i64,
        request: functions::messages::Search,
    ) -> Result<enums::messages::Messages, RpcError> {
        let Some(chat) = self.readable_chat(me, &request.peer)? else {
            return Ok(empty_messages());
        };
        let from = match &request.from_id {
            Some(peer) => match self.input_peer(me, peer)? {
                PeerRef::User(id) => Some(id),
                PeerRef::Chat(_) => return Err(RpcError::bad_request("PEER_ID_INVALID")),
            },
            None => None,
        };
        let query = request.q.to_lowercase();
        let (min_date, max_date, filter) =
            (request.min_date, request.max_date, request.filter.clone());
        let keep = move |m: &Message| {
            (query.is_empty() || m.text.to_lowercase().contains(&query))
                && (min_date == 0 || m.date >= min_date)
                && (max_date == 0 || m.date <= max_date)
                && from.is_none_or(|f| m.from_id == Some(f))
                && matches_filter(&filter, m)
        };
        let window = Window {
            offset_id: request.offset_id,
            offset_date: 0,
            add_offset: request.add_offset,
            limit: request.limit,
            max_id: request.max_id,
            min_id: request.min_id,
        };
        let messages = self.page(&chat, &window, &keep);
        let count = self
            .ids_desc(&chat, i32::MAX)
            .filter_map(|id| self.message(&chat, id))
            .filter(|m| keep(m))
            .count() as i32;
        Ok(self.messages_result(me, &chat, messages, count))
    }

    /// Search across the caller's chats, newest first; the next page starts after
    /// `(offset_rate = date, offset_peer, offset_id)` of the last result.
    pub(crate) fn search_global(
        &mut self,
        me: i64,
        request: functions::messages::SearchGlobal,
    ) -> enums::messages::Messages {
        let query = request.q.to_lowercase();
        let limit = request.limit.clamp(0, MAX_LIMIT) as usize;
        let offset_peer = match &request.offset_peer {
            enums::InputPeer::Channel(c) => c.channel_id,
            enums::InputPeer::Chat(c) => c.chat_id,
            _ => 0,
        };
        let after_cursor = |date: i32, peer: i64, id: i32| {
            request.offset_rate == 0
                || (date, peer, id) < (request.offset_rate, offset_peer, request.offset_id)
        };
        let chats: Vec<Chat> = self
            .world
            .chats
            .values()
            .filter(|c| c.is_member(me))
            .filter(|c| !request.broadcasts_only || c.kind == crate::world::ChatKind::Channel)
            .filter(|c| !request.groups_only || c.kind != crate::world::ChatKind::Channel)
            .filter(|_| !request.users_only)
            .cloned()
            .collect();
        let mut hits: Vec<(i32, i64, i32)> = Vec::new();
        for chat in &chats {
            for id in self.ids_desc(chat, i32::MAX) {
                let Some(m) = self.message(chat, id) else {
                    continue;
                };
                if (query.is_empty() || m.text.to_lowercase().contains(&query))
                    && matches_filter(&request.filter, &m)
                    && (request.min_date == 0 || m.date >= request.min_date)
                    && (request.max_date == 0 || m.date <= request.max_date)
                {
                    hits.push((m.date, chat.id, m.id));
                }
            }
        }
        hits.sort_unstable_by(|a, b| b.cmp(a));
        let total = hits.len() as i32;
        let page: Vec<(i32, i64, i32)> = hits
            .into_iter()
            .filter(|(d, p, i)| after_cursor(*d, *p, *i))
            .take(limit)
            .collect();
        let next_rate = page.last().map(|(date, ..)| *date);
        let mut messages = Vec::new();
        let mut chat_ids = BTreeSet::new();
        let mut user_ids = BTreeSet::new();
        for (_, chat_id, id) in &page {
            let Some(chat) = self.chat(*chat_id).cloned() else {
                continue;
            };
            let Some(m) = self.message(&chat, *id) else {
                continue;
            };
            collect_refs(&m, &mut chat_ids, &mut user_ids);
            chat_ids.insert(chat.id);
            messages.push(self.tl_message(me, &chat, &m));
        }
        let (chats, users) = self.refs(me, chat_ids, user_ids);
        enums::messages::Messages::Slice(types::messages::MessagesSlice {
            inexact: false,
            count: total,
            next_rate,
            offset_id_offset: None,
            search_flood: None,
            messages,
            topics: Vec::new(),
            chats,
            users,
        })
    }

    pub(crate) fn get_channel_messages(
        &mut self,
        me: i64,
        request: functions::channels::GetMessages,
    ) -> Result<enums::messages::Messages, RpcError> {
        let chat = self.input_channel(me, &request.channel)?;
        self.check_readable(me, &chat)?;
        let found = self.lookup(&chat, &request.id);
        let count = found.len() as i32;
        Ok(self.lookup_result(me, &chat, found, count))
    }

    /// `messages.getMessages`: ids in the caller's small groups (the common message box).
    pub(crate) fn get_messages(
        &mut self,
        me: i64,
        request: functions::messages::GetMessages,
    ) -> enums::messages::Messages {
        let groups: Vec<Chat> = self
            .world
            .chats
            .values()
            .filter(|c| !c.is_channel() && c.is_member(me))
            .cloned()
            .collect();
        let mut messages = Vec::new();
        let mut chat_ids = BTreeSet::new();
        let mut user_ids = BTreeSet::new();
        for input in &request.id {
            let enums::InputMessage::Id(types::InputMessageId { id }) = input else {
                continue;
            };
            let hit = groups
                .iter()
                .find_map(|g| self.message(g, *id).map(|m| (g.clone(), m)));
            match hit {
                Some((chat, m)) => {
                    collect_refs(&m, &mut chat_ids, &mut user_ids);
                    chat_ids.insert(chat.id);
                    messages.push(self.tl_message(me, &chat, &m));
                }
                None => messages.push(enums::Message::Empty(types::MessageEmpty {
                    id: *id,
                    peer_id: None,
                })),
            }
        }
        let (chats, users) = self.refs(me, chat_ids, user_ids);
        enums::messages::Messages::Messages(types::messages::Messages {
            messages,
            topics: Vec::new(),
            chats,
            users,
        })
    }

    fn lookup(&self, chat: &Chat, ids: &[enums::InputMessage]) -> Vec<Result<Message, i32>> {
        ids.iter()
            .filter_map(|input| match input {
                enums::InputMessage::Id(types::InputMessageId { id }) => Some(*id),
                _ => None,
            })
            .map(|id| self.message(chat, id).ok_or(id))
            .collect()
    }

    fn lookup_result(
        &mut self,
        me: i64,
        chat: &Chat,
        found: Vec<Result<Message, i32>>,
        count: i32,
    ) -> enums::messages::Messages {
        let mut tl = Vec::new();
        let mut chat_ids = BTreeSet::from([chat.id]);
        let mut user_ids = BTreeSet::new();
        for item in found {
            match item {
                Ok(m) => {
                    collect_refs(&m, &mut chat_ids, &mut user_ids);
                    tl.push(self.tl_message(me, chat, &m));
                }
                Err(id) => tl.push(enums::Message::Empty(types::MessageEmpty {
                    id,
                    peer_id: Some(State::tl_peer(chat)),
                })),
            }
        }
        self.wrap(me, chat, tl, count, chat_ids, user_ids)
    }

    /// The result of a history-like call in the shape Telegram uses for the chat's kind.
    pub(crate) fn messages_result(
        &mut self,
        me: i64,
        chat: &Chat,
        messages: Vec<Message>,
        count: i32,
    ) -> enums::messages::Messages {
        self.lookup_result(me, chat, messages.into_iter().map(Ok).collect(), count)
    }

    fn wrap(
        &mut self,
        me: i64,
        chat: &Chat,
        messages: Vec<enums::Message>,
        count: i32,
        chat_ids: BTreeSet<i64>,
        user_ids: BTreeSet<i64>,
    ) -> enums::messages::Messages {
        let (chats, users) = self.refs(me, chat_ids, user_ids);
        if chat.is_channel() {
            let pts = self.channel_boxes.get(&chat.id).map_or(1, |b| b.pts);
            return enums::messages::Messages::ChannelMessages(types::messages::ChannelMessages {
                inexact: false,
                pts,
                count,
                offset_id_offset: None,
                messages,
                topics: Vec::new(),
                chats,
                users,
            });
        }
        if (messages.len() as i32) < count {
            return enums::messages::Messages::Slice(types::messages::MessagesSlice {
                inexact: false,
                count,
                next_rate: None,
                offset_id_offset: None,
                search_flood: None,
                messages,
                topics: Vec::new(),
                chats,
                users,
            });
        }
        enums::messages::Messages::Messages(types::messages::Messages {
            messages,
            topics: Vec::new(),
            chats,
            users,
        })
    }

    /// The chats and users messages refer to, as the caller sees them.
    pub(crate) fn refs(
        &self,
        me: i64,
        chat_ids: BTreeSet<i64>,
        user_ids: BTreeSet<i64>,
    ) -> (Vec<enums::Chat>, Vec<enums::User>) {
        let chats = chat_ids
            .into_iter()
            .filter_map(|id| self.chat(id))
            .map(|c| self.tl_chat(me, c))
            .collect();
        let users = user_ids
            .into_iter()
            .filter(|id| self.world.users.contains_key(id))
            .map(|id| self.tl_user(me, id))
            .collect();
        (chats, users)
    }
}

/// Records the users and chats a message mentions (author, forward source, service targets).
pub(crate) fn collect_refs(m: &Message, chats: &mut BTreeSet<i64>, users: &mut BTreeSet<i64>) {
    users.extend(m.from_id);
    if let Some(f) = &m.fwd_from {
        users.extend(f.from_user);
        chats.extend(f.from_channel);
    }
    match &m.action {
        Some(crate::world::Action::ChatCreate { users: u, .. })
        | Some(crate::world::Action::ChatAddUser { users: u }) => users.extend(u.iter().copied()),
        Some(crate::world::Action::ChatDeleteUser { user_id }) => {
            users.insert(*user_id);
        }
        _ => {}
    }
}

fn matches_filter(filter: &enums::MessagesFilter, m: &Message) -> bool {
    use enums::MessagesFilter as F;
    let kind = m.media.as_ref().map(|media| media.kind);
    match filter {
        F::InputMessagesFilterEmpty => true,
        F::InputMessagesFilterPhotos => kind == Some(MediaKind::Photo),
        F::InputMessagesFilterVideo => kind == Some(MediaKind::Video),
        F::InputMessagesFilterPhotoVideo => {
            matches!(kind, Some(MediaKind::Photo | MediaKind::Video))
        }
        F::InputMessagesFilterDocument => {
            matches!(kind, Some(MediaKind::File | MediaKind::Sticker))
        }
        F::InputMessagesFilterMusic => kind == Some(MediaKind::Audio),
        F::InputMessagesFilterVoice | F::InputMessagesFilterRoundVoice => {
            kind == Some(MediaKind::Voice)
        }
        F::InputMessagesFilterUrl => m.entities.iter().any(|e| {
            matches!(
                e.kind,
                crate::world::EntityKind::Url | crate::world::EntityKind::TextUrl { .. }
            )
        }),
        F::InputMessagesFilterPinned => false,
        _ => false,
    }
}

fn empty_messages() -> enums::messages::Messages {
    enums::messages::Messages::Messages(types::messages::Messages {
        messages: Vec::new(),
        topics: Vec::new(),
        chats: Vec::new(),
        users: Vec::new(),
    })
}
