//! `messages.getDialogs`: the account's chats, most recently active first, each with its top
//! message (and, for channels, the pts clients start tracking updates from).
//!
//! Paging follows Telegram: a page continues strictly after the `(offset_date, offset_id,
//! offset_peer)` of the previous page's last dialog; `limit` is capped at 100.

use super::history::{MAX_LIMIT, collect_refs};
use super::state::State;
use crate::world::Chat;
use grammers_tl_types::{enums, functions, types};
use std::collections::BTreeSet;

impl State {
    pub(crate) fn get_dialogs(
        &mut self,
        me: i64,
        request: functions::messages::GetDialogs,
    ) -> enums::messages::Dialogs {
        let offset_peer = match &request.offset_peer {
            enums::InputPeer::Channel(c) => c.channel_id,
            enums::InputPeer::Chat(c) => c.chat_id,
            enums::InputPeer::User(u) => u.user_id,
            _ => 0,
        };
        let cursor = (request.offset_date, request.offset_id, offset_peer);
        let limit = match request.limit {
            l if l <= 0 => MAX_LIMIT,
            l => l.min(MAX_LIMIT),
        } as usize;
        // (top date, top id, chat) of every chat the account is in, newest first.
        let mut tops: Vec<(i32, i32, i64)> = self
            .world
            .chats
            .values()
            .filter(|c| c.is_member(me))
            .map(|chat| {
                let top = self
                    .ids_desc(chat, i32::MAX)
                    .next()
                    .and_then(|id| self.message(chat, id));
                (
                    top.as_ref().map_or(chat.date, |m| m.date),
                    top.map_or(0, |m| m.id),
                    chat.id,
                )
            })
            .collect();
        tops.sort_unstable_by(|a, b| b.cmp(a));
        let total = tops.len();
        let page: Vec<(i32, i32, i64)> = tops
            .into_iter()
            .filter(|top| request.offset_date == 0 || *top < cursor)
            .take(limit)
            .collect();
        let complete = request.offset_date == 0 && page.len() == total;
        let mut dialogs = Vec::new();
        let mut messages = Vec::new();
        let mut chat_ids = BTreeSet::new();
        let mut user_ids = BTreeSet::new();
        for (_, top_id, chat_id) in page {
            let Some(chat) = self.chat(chat_id).cloned() else {
                continue;
            };
            chat_ids.insert(chat_id);
            if let Some(m) = self.message(&chat, top_id) {
                collect_refs(&m, &mut chat_ids, &mut user_ids);
                messages.push(self.tl_message(me, &chat, &m));
            }
            dialogs.push(self.tl_dialog(&chat, top_id));
        }
        let (chats, users) = self.refs(me, chat_ids, user_ids);
        if complete {
            return enums::messages::Dialogs::Dialogs(types::messages::Dialogs {
                dialogs,
                messages,
                chats,
                users,
            });
        }
        enums::messages::Dialogs::Slice(types::messages::DialogsSlice {
            count: total as i32,
            dialogs,
            messages,
            chats,
            users,
        })
    }

    /// A dialog, everything read, with the channel's pts for channels.
    pub(crate) fn tl_dialog(&self, chat: &Chat, top: i32) -> enums::Dialog {
        enums::Dialog::Dialog(types::Dialog {
            pinned: false,
            unread_mark: false,
            view_forum_as_messages: false,
            peer: State::tl_peer(chat),
            top_message: top,
            read_inbox_max_id: top,
            read_outbox_max_id: top,
            unread_count: 0,
            unread_mentions_count: 0,
            unread_reactions_count: 0,
            unread_poll_votes_count: 0,
            notify_settings: super::peers::notify_settings(),
            pts: chat
                .is_channel()
                .then(|| self.channel_boxes.get(&chat.id).map_or(1, |b| b.pts)),
            draft: None,
            folder_id: None,
            ttl_period: None,
        })
    }
}
