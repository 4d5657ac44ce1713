//! Users, usernames, channels and membership: who an account can see and how.
//!
//! Every input peer is checked against the caller's own access hashes (a hash learned by
//! another account fails with `CHANNEL_INVALID`/`PEER_ID_INVALID`), and private channels answer
//! `CHANNEL_PRIVATE` to non-members, as Telegram does.

use super::RpcError;
use super::state::State;
use crate::world::Chat;
use grammers_tl_types::{enums, functions, types};

/// A resolved `InputPeer`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PeerRef {
    User(i64),
    Chat(i64),
}

impl State {
    /// The channel an `InputChannel` names, if the caller's access hash is right.
    pub(crate) fn input_channel(
        &self,
        me: i64,
        input: &enums::InputChannel,
    ) -> Result<Chat, RpcError> {
        let invalid = || RpcError::bad_request("CHANNEL_INVALID");
        let enums::InputChannel::Channel(c) = input else {
            return Err(invalid());
        };
        let chat = self
            .chat(c.channel_id)
            .filter(|chat| chat.is_channel())
            .ok_or_else(invalid)?;
        if c.access_hash != self.hash_for(me, chat.id) {
            return Err(invalid());
        }
        Ok(chat.clone())
    }

    /// Refuses private chats to non-members.
    pub(crate) fn check_readable(&self, me: i64, chat: &Chat) -> Result<(), RpcError> {
        if chat.is_member(me) || !chat.is_private() {
            return Ok(());
        }
        Err(if chat.is_channel() {
            RpcError::bad_request("CHANNEL_PRIVATE")
        } else {
            RpcError::bad_request("PEER_ID_INVALID")
        })
    }

    pub(crate) fn input_peer(
        &self,
        me: i64,
        input: &enums::InputPeer,
    ) -> Result<PeerRef, RpcError> {
        let invalid = || RpcError::bad_request("PEER_ID_INVALID");
        match input {
            enums::InputPeer::PeerSelf => Ok(PeerRef::User(me)),
            enums::InputPeer::User(u) => {
                if self.world.users.contains_key(&u.user_id)
                    && u.access_hash == self.hash_for(me, u.user_id)
                {
                    Ok(PeerRef::User(u.user_id))
                } else {
                    Err(invalid())
                }
            }
            enums::InputPeer::Chat(c) => match self.chat(c.chat_id) {
                Some(chat) if !chat.is_channel() && chat.is_member(me) => {
                    Ok(PeerRef::Chat(chat.id))
                }
                _ => Err(invalid()),
            },
            enums::InputPeer::Channel(c) => {
                let chat = self.input_channel(
                    me,
                    &enums::InputChannel::Channel(types::InputChannel {
                        channel_id: c.channel_id,
                        access_hash: c.access_hash,
                    }),
                )?;
                Ok(PeerRef::Chat(chat.id))
            }
            _ => Err(invalid()),
        }
    }

    fn input_user(&self, me: i64, input: &enums::InputUser) -> Option<i64> {
        match input {
            enums::InputUser::UserSelf => Some(me),
            enums::InputUser::User(u)
                if self.world.users.contains_key(&u.user_id)
                    && u.access_hash == self.hash_for(me, u.user_id) =>
            {
                Some(u.user_id)
            }
            _ => None,
        }
    }

    pub(crate) fn get_users(
        &self,
        me: i64,
        request: functions::users::GetUsers,
    ) -> Vec<enums::User> {
        request
            .id
            .iter()
            .filter_map(|input| self.input_user(me, input))
            .map(|id| self.tl_user(me, id))
            .collect()
    }

    pub(crate) fn get_full_user(
        &self,
        me: i64,
        request: functions::users::GetFullUser,
    ) -> Result<enums::users::UserFull, RpcError> {
        let id = self
            .input_user(me, &request.id)
            .ok_or_else(|| RpcError::bad_request("USER_ID_INVALID"))?;
        let about = self.world.users.get(&id).and_then(|u| u.about.clone());
        Ok(enums::users::UserFull::Full(types::users::UserFull {
            full_user: enums::UserFull::Full(full_user(id, about)),
            chats: Vec::new(),
            users: vec![self.tl_user(me, id)],
        }))
    }

    pub(crate) fn resolve_username(
        &self,
        me: i64,
        request: functions::contacts::ResolveUsername,
    ) -> Result<enums::contacts::ResolvedPeer, RpcError> {
        let name = request.username.trim_start_matches('@');
        if !valid_username(name) {
            return Err(RpcError::bad_request("USERNAME_INVALID"));
        }
        let lower = name.to_lowercase();
        let user = self.world.users.values().find(|u| {
            u.username.as_deref().map(str::to_lowercase).as_deref() == Some(lower.as_str())
        });
        if let Some(user) = user {
            return Ok(enums::contacts::ResolvedPeer::Peer(
                types::contacts::ResolvedPeer {
                    peer: enums::Peer::User(types::PeerUser { user_id: user.id }),
                    chats: Vec::new(),
                    users: vec![self.tl_user(me, user.id)],
                },
            ));
        }
        let chat = self
            .world
            .chats
            .values()
            .find(|c| {
                c.username.as_deref().map(str::to_lowercase).as_deref() == Some(lower.as_str())
            })
            .ok_or_else(|| RpcError::bad_request("USERNAME_NOT_OCCUPIED"))?;
        Ok(enums::contacts::ResolvedPeer::Peer(
            types::contacts::ResolvedPeer {
                peer: State::tl_peer(chat),
                chats: vec![self.tl_chat(me, chat)],
                users: Vec::new(),
            },
        ))
    }

    pub(crate) fn get_channels(
        &self,
        me: i64,
        request: functions::channels::GetChannels,
    ) -> Result<enums::messages::Chats, RpcError> {
        let mut chats = Vec::new();
        for input in &request.id {
            let chat = self.input_channel(me, input)?;
            chats.push(self.tl_chat(me, &chat));
        }
        Ok(enums::messages::Chats::Chats(types::messages::Chats {
            chats,
        }))
    }

    pub(crate) fn get_full_channel(
        &self,
        me: i64,
        request: functions::channels::GetFullChannel,
    ) -> Result<enums::messages::ChatFull, RpcError> {
        let chat = self.input_channel(me, &request.channel)?;
        self.check_readable(me, &chat)?;
        let pts = self.channel_boxes.get(&chat.id).map_or(1, |b| b.pts);
        let mut chats = vec![self.tl_chat(me, &chat)];
        if let Some(linked) = chat.linked_chat_id.and_then(|id| self.chat(id)) {
            chats.push(self.tl_chat(me, linked));
        }
        let top = self.ids_desc(&chat, i32::MAX).next().unwrap_or(0);
        Ok(enums::messages::ChatFull::Full(types::messages::ChatFull {
            full_chat: enums::ChatFull::ChannelFull(channel_full(&chat, pts, top)),
            chats,
            users: Vec::new(),
        }))
    }

    pub(crate) fn join_channel(
        &mut self,
        me: i64,
        request: functions::channels::JoinChannel,
    ) -> Result<enums::messages::ChatInviteJoinResult, RpcError> {
        let chat = self.input_channel(me, &request.channel)?;
        if chat.is_private() && !chat.is_member(me) {
            return Err(RpcError::bad_request("CHANNEL_PRIVATE"));
        }
        if let Some(c) = self.world.chats.get_mut(&chat.id)
            && !c.members.contains(&me)
        {
            c.members.push(me);
        }
        let updates = self.membership_changed(me, chat.id);
        Ok(enums::messages::ChatInviteJoinResult::Ok(
            types::messages::ChatInviteJoinResultOk { updates },
        ))
    }

    pub(crate) fn leave_channel(
        &mut self,
        me: i64,
        request: functions::channels::LeaveChannel,
    ) -> Result<enums::Updates, RpcError> {
        let chat = self.input_channel(me, &request.channel)?;
        if !chat.is_member(me) {
            return Err(RpcError::bad_request("USER_NOT_PARTICIPANT"));
        }
        if let Some(c) = self.world.chats.get_mut(&chat.id) {
            c.members.retain(|m| *m != me);
        }
        Ok(self.membership_changed(me, chat.id))
    }

    /// `updateChannel` for the account, returned to the caller and pushed to its other sessions.
    fn membership_changed(&mut self, me: i64, chat_id: i64) -> enums::Updates {
        let date = self.now();
        let chats = self
            .chat(chat_id)
            .map(|c| vec![self.tl_chat(me, c)])
            .unwrap_or_default();
        let updates = enums::Updates::Updates(types::Updates {
            updates: vec![enums::Update::Channel(types::UpdateChannel {
                channel_id: chat_id,
            })],
            users: Vec::new(),
            chats,
            date,
            seq: 0,
        });
        self.push_to_account(me, &updates);
        updates
    }

    pub(crate) fn recommendations(
        &self,
        me: i64,
        request: functions::channels::GetChannelRecommendations,
    ) -> Result<enums::messages::Chats, RpcError> {
        let ids: Vec<i64> = match &request.channel {
            Some(input) => self.input_channel(me, input)?.recommendations.clone(),
            None => self
                .world
                .chats
                .values()
                .filter(|c| c.is_member(me))
                .flat_map(|c| c.recommendations.iter().copied())
                .collect(),
        };
        let mut seen = std::collections::HashSet::new();
        let chats = ids
            .into_iter()
            .filter(|id| seen.insert(*id))
            .filter_map(|id| self.chat(id))
            .filter(|c| !c.is_private() || c.is_member(me))
            .map(|c| self.tl_chat(me, c))
            .collect();
        Ok(enums::messages::Chats::Chats(types::messages::Chats {
            chats,
        }))
    }
}

/// Telegram's username rule: 4–32 of `[A-Za-z0-9_]`, starting with a letter, no trailing `_`.
pub(crate) fn valid_username(name: &str) -> bool {
    let len = name.chars().count();
    (4..=32).contains(&len)
        && name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !name.ends_with('_')
}

pub(crate) fn notify_settings() -> enums::PeerNotifySettings {
    enums::PeerNotifySettings::Settings(types::PeerNotifySettings {
        show_previews: None,
        silent: None,
        mute_until: None,
        ios_sound: None,
        android_sound: None,
        other_sound: None,
        stories_muted: None,
        stories_hide_sender: None,
        stories_ios_sound: None,
        stories_android_sound: None,
        stories_other_sound: None,
    })
}

fn full_user(id: i64, about: Option<String>) -> types::UserFull {
    types::UserFull {
        blocked: false,
        phone_calls_available: false,
        phone_calls_private: false,
        can_pin_message: false,
        has_scheduled: false,
        video_calls_available: false,
        voice_messages_forbidden: false,
        translations_disabled: false,
        stories_pinned_available: false,
        blocked_my_stories_from: false,
        wallpaper_overridden: false,
        contact_require_premium: false,
        read_dates_private: false,
        sponsored_enabled: false,
        can_view_revenue: false,
        bot_can_manage_emoji_status: false,
        display_gifts_button: false,
        noforwards_my_enabled: false,
        noforwards_peer_enabled: false,
        unofficial_security_risk: false,
        id,
        about,
        settings: enums::PeerSettings::Settings(types::PeerSettings {
            report_spam: false,
            add_contact: false,
            block_contact: false,
            share_contact: false,
            need_contacts_exception: false,
            report_geo: false,
            autoarchived: false,
            invite_members: false,
            request_chat_broadcast: false,
            business_bot_paused: false,
            business_bot_can_reply: false,
            geo_distance: None,
            request_chat_title: None,
            request_chat_date: None,
            business_bot_id: None,
            business_bot_manage_url: None,
            charge_paid_message_stars: None,
            registration_month: None,
            phone_country: None,
            name_change_date: None,
            photo_change_date: None,
        }),
        personal_photo: None,
        profile_photo: None,
        fallback_photo: None,
        notify_settings: notify_settings(),
        bot_info: None,
        pinned_msg_id: None,
        common_chats_count: 0,
        folder_id: None,
        ttl_period: None,
        theme: None,
        private_forward_name: None,
        bot_group_admin_rights: None,
        bot_broadcast_admin_rights: None,
        wallpaper: None,
        stories: None,
        business_work_hours: None,
        business_location: None,
        business_greeting_message: None,
        business_away_message: None,
        business_intro: None,
        birthday: None,
        personal_channel_id: None,
        personal_channel_message: None,
        stargifts_count: None,
        starref_program: None,
        bot_verification: None,
        send_paid_messages_stars: None,
        disallowed_gifts: None,
        stars_rating: None,
        stars_my_pending_rating: None,
        stars_my_pending_rating_date: None,
        main_tab: None,
        saved_music: None,
        note: None,
        bot_manager_id: None,
    }
}

fn channel_full(chat: &Chat, pts: i32, top: i32) -> types::ChannelFull {
    types::ChannelFull {
        can_view_participants: false,
        can_set_username: false,
        can_set_stickers: false,
        hidden_prehistory: false,
        can_set_location: false,
        has_scheduled: false,
        can_view_stats: false,
        blocked: false,
        can_delete_channel: false,
        antispam: false,
        participants_hidden: false,
        translations_disabled: false,
        stories_pinned_available: false,
        view_forum_as_messages: false,
        restricted_sponsored: false,
        can_view_revenue: false,
        paid_media_allowed: false,
        can_view_stars_revenue: false,
        paid_reactions_available: false,
        stargifts_available: false,
        paid_messages_available: false,
        has_welcome_messages: false,
        id: chat.id,
        about: chat.about.clone(),
        participants_count: Some(chat.shown_participants()),
        admins_count: None,
        kicked_count: None,
        banned_count: None,
        online_count: None,
        read_inbox_max_id: top,
        read_outbox_max_id: top,
        unread_count: 0,
        chat_photo: enums::Photo::Empty(types::PhotoEmpty { id: 0 }),
        notify_settings: notify_settings(),
        exported_invite: None,
        bot_info: Vec::new(),
        migrated_from_chat_id: None,
        migrated_from_max_id: None,
        pinned_msg_id: None,
        stickerset: None,
        available_min_id: None,
        folder_id: None,
        linked_chat_id: chat.linked_chat_id,
        location: None,
        slowmode_seconds: None,
        slowmode_next_send_date: None,
        stats_dc: None,
        pts,
        call: None,
        ttl_period: None,
        pending_suggestions: None,
        groupcall_default_join_as: None,
        theme_emoticon: None,
        requests_pending: None,
        recent_requesters: None,
        default_send_as: None,
        available_reactions: None,
        reactions_limit: None,
        stories: None,
        wallpaper: None,
        boosts_applied: None,
        boosts_unrestrict: None,
        emojiset: None,
        bot_verification: None,
        stargifts_count: None,
        send_paid_messages_stars: None,
        main_tab: None,
        guard_bot_id: None,
    }
}
