//! Reading joins and leaves out of Telegram's updates, for the join map.
//!
//! An account can enter or leave a chat without the gateway's `join`/`leave`: an operator
//! joins from a phone, an admin adds or kicks the account, a channel bans it. Telegram
//! says so in several ways, and this file reads them all into one [`MembershipChange`]:
//! `updateChannel` with the channel's own `left` flag (or a forbidden channel),
//! `updateChannelParticipant` about the account itself, `updateChatParticipantAdd/Delete`,
//! and the service messages of small groups (`chatAddUser`, `chatDeleteUser`,
//! `chatJoinedByLink`, `chatJoinedByRequest`). Ids come from Telegram: one out of range is
//! no change (grammers' own constructors would assert or overflow on it).

use grammers_client::session::types::PeerId;
use tgc_model::teleclient::{AccountId, tl};

use crate::parser::{channel_peer_id, chat_peer_id, peer_id};

/// A membership of the account that changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MembershipChange {
    Joined(PeerId),
    Left(PeerId),
}

/// The change an update reports about the account `me`, if any. `chats` are the chats
/// that came with the update (they carry a channel's `left` flag).
pub fn of_update(
    update: &tl::enums::Update,
    me: AccountId,
    chats: &[tl::enums::Chat],
) -> Option<MembershipChange> {
    use tl::enums::Update as U;
    let me_id = me.0;
    match update {
        U::Channel(u) => {
            let channel = channel_peer_id(u.channel_id)?;
            chats.iter().find_map(|chat| match chat {
                tl::enums::Chat::Channel(c) if c.id == u.channel_id => Some(if c.left {
                    MembershipChange::Left(channel)
                } else {
                    MembershipChange::Joined(channel)
                }),
                tl::enums::Chat::ChannelForbidden(c) if c.id == u.channel_id => {
                    Some(MembershipChange::Left(channel))
                }
                _ => None,
            })
        }
        U::ChannelParticipant(u) if u.user_id == me_id => {
            let channel = channel_peer_id(u.channel_id)?;
            Some(match &u.new_participant {
                None
                | Some(tl::enums::ChannelParticipant::Left(_))
                | Some(tl::enums::ChannelParticipant::Banned(_)) => MembershipChange::Left(channel),
                Some(_) => MembershipChange::Joined(channel),
            })
        }
        U::ChatParticipantAdd(u) if u.user_id == me_id => {
            Some(MembershipChange::Joined(chat_peer_id(u.chat_id)?))
        }
        U::ChatParticipantDelete(u) if u.user_id == me_id => {
            Some(MembershipChange::Left(chat_peer_id(u.chat_id)?))
        }
        U::NewMessage(u) => of_message(&u.message, me),
        U::NewChannelMessage(u) => of_message(&u.message, me),
        _ => None,
    }
}

/// The change a service message reports about the account `me`, if any.
pub fn of_message(message: &tl::enums::Message, me: AccountId) -> Option<MembershipChange> {
    use tl::enums::MessageAction as A;
    let me = me.0;
    let tl::enums::Message::Service(service) = message else {
        return None;
    };
    let chat = match &service.peer_id {
        tl::enums::Peer::User(_) => return None,
        peer => peer_id(peer)?,
    };
    let from_me = matches!(&service.from_id, Some(tl::enums::Peer::User(u)) if u.user_id == me);
    match &service.action {
        A::ChatAddUser(a) if a.users.contains(&me) => Some(MembershipChange::Joined(chat)),
        A::ChatDeleteUser(a) if a.user_id == me => Some(MembershipChange::Left(chat)),
        A::ChatJoinedByLink(_) | A::ChatJoinedByRequest if from_me => {
            Some(MembershipChange::Joined(chat))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_out_of_range_are_no_change_rather_than_a_panic() {
        let me = AccountId(7);
        for id in [0, -1, i64::MAX, i64::MIN] {
            let add = tl::enums::Update::ChatParticipantAdd(tl::types::UpdateChatParticipantAdd {
                chat_id: id,
                user_id: 7,
                inviter_id: 1,
                date: 0,
                version: 1,
            });
            assert_eq!(of_update(&add, me, &[]), None, "chat {id}");
            let left = tl::enums::Update::ChannelParticipant(tl::types::UpdateChannelParticipant {
                channel_id: id,
                date: 0,
                actor_id: 7,
                user_id: 7,
                prev_participant: None,
                new_participant: None,
                invite: None,
                via_chatlist: false,
                qts: 1,
            });
            assert_eq!(of_update(&left, me, &[]), None, "channel {id}");
        }
    }

    const ME: i64 = 1001;

    fn service(action: tl::enums::MessageAction, from: Option<i64>) -> tl::enums::Message {
        tl::enums::Message::Service(tl::types::MessageService {
            from_id: from.map(|user_id| tl::enums::Peer::User(tl::types::PeerUser { user_id })),
            ..telesim::tl_blank::service(
                5,
                tl::enums::Peer::Chat(tl::types::PeerChat { chat_id: 500 }),
                1_700_000_000,
                action,
            )
        })
    }

    #[test]
    fn being_added_to_or_removed_from_a_small_group_is_read_from_its_service_message() {
        let added = service(
            tl::enums::MessageAction::ChatAddUser(tl::types::MessageActionChatAddUser {
                users: vec![7, ME],
            }),
            Some(7),
        );
        assert_eq!(
            of_message(&added, AccountId(ME)),
            Some(MembershipChange::Joined(PeerId::chat_unchecked(500)))
        );
        let someone_else = service(
            tl::enums::MessageAction::ChatAddUser(tl::types::MessageActionChatAddUser {
                users: vec![7],
            }),
            Some(7),
        );
        assert_eq!(of_message(&someone_else, AccountId(ME)), None);
        let kicked = service(
            tl::enums::MessageAction::ChatDeleteUser(tl::types::MessageActionChatDeleteUser {
                user_id: ME,
            }),
            Some(7),
        );
        assert_eq!(
            of_message(&kicked, AccountId(ME)),
            Some(MembershipChange::Left(PeerId::chat_unchecked(500)))
        );
        let by_link = service(
            tl::enums::MessageAction::ChatJoinedByLink(tl::types::MessageActionChatJoinedByLink {
                inviter_id: 7,
            }),
            Some(ME),
        );
        assert_eq!(
            of_message(&by_link, AccountId(ME)),
            Some(MembershipChange::Joined(PeerId::chat_unchecked(500)))
        );
    }

    #[test]
    fn participant_updates_about_the_account_itself_are_read() {
        let left = tl::enums::Update::ChannelParticipant(tl::types::UpdateChannelParticipant {
            via_chatlist: false,
            channel_id: 42,
            date: 0,
            actor_id: ME,
            user_id: ME,
            prev_participant: None,
            new_participant: None,
            invite: None,
            qts: 1,
        });
        assert_eq!(
            of_update(&left, AccountId(ME), &[]),
            Some(MembershipChange::Left(PeerId::channel_unchecked(42)))
        );
        assert_eq!(
            of_update(&left, AccountId(7), &[]),
            None,
            "about someone else"
        );

        let added = tl::enums::Update::ChatParticipantAdd(tl::types::UpdateChatParticipantAdd {
            chat_id: 500,
            user_id: ME,
            inviter_id: 7,
            date: 0,
            version: 1,
        });
        assert_eq!(
            of_update(&added, AccountId(ME), &[]),
            Some(MembershipChange::Joined(PeerId::chat_unchecked(500)))
        );
    }

    #[test]
    fn a_channel_update_without_its_channel_says_nothing() {
        let update = tl::enums::Update::Channel(tl::types::UpdateChannel { channel_id: 42 });
        assert_eq!(of_update(&update, AccountId(ME), &[]), None);
        let forbidden = tl::enums::Chat::ChannelForbidden(tl::types::ChannelForbidden {
            broadcast: true,
            megagroup: false,
            monoforum: false,
            id: 42,
            access_hash: 1,
            title: "gone".into(),
            until_date: None,
        });
        assert_eq!(
            of_update(&update, AccountId(ME), &[forbidden]),
            Some(MembershipChange::Left(PeerId::channel_unchecked(42)))
        );
    }
}
