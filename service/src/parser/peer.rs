//! Peers (users, small groups, channels) as the schema shows them: Telethon's marked id,
//! the bare id, a type, a display name and a username.
//!
//! Marked ids (users as is, small groups negated, channels as `-(10^12 + id)`) are what the
//! original Python collector and Telethon hand out, so consumers keep their keys. The sum is
//! computed with checked arithmetic: an id that cannot be marked (only a corrupt or hostile
//! one could) becomes `null`, while `bare_id` still carries it. grammers' `PeerId` is not
//! used for this because it panics on out-of-range ids.

use serde::Serialize;
use serde_json::{Value, json};
use tgc_model::teleclient::{PeerId, tl};

use super::context::ParseContext;
use super::date;
use super::peer_summary::{PeerKind, PeerSummary};

/// Telethon's marked id of a bare id: users as is, small groups negated, channels
/// `-(10^12 + id)`; `None` when the id is too large to be marked.
pub(crate) fn mark(kind: PeerKind, bare_id: i64) -> Option<i64> {
    match kind {
        PeerKind::User => Some(bare_id),
        PeerKind::Chat => bare_id.checked_neg(),
        PeerKind::Channel => 1_000_000_000_000_i64
            .checked_add(bare_id)
            .and_then(i64::checked_neg),
    }
}

/// Telethon's marked id of a TL peer (see the module docs); `None` if it cannot be marked.
pub fn marked_id(peer: &tl::enums::Peer) -> Option<i64> {
    let (kind, bare_id) = PeerKind::of(peer);
    mark(kind, bare_id)
}

/// grammers' `PeerId` of a TL peer, or `None` for an id out of any valid range. grammers'
/// own constructors assert on such ids (`*_unchecked`) or overflow while checking them.
pub fn peer_id(peer: &tl::enums::Peer) -> Option<PeerId> {
    use grammers_client::session::types::PeerKind as Kind;
    let id = marked_id(peer).and_then(PeerId::from_bot_api_dialog_id)?;
    // A bare id of the wrong sign marks into another kind's range (chat -1 is user 1).
    let same_kind = matches!(
        (peer, id.kind()),
        (tl::enums::Peer::User(_), Kind::User)
            | (tl::enums::Peer::Chat(_), Kind::Chat)
            | (tl::enums::Peer::Channel(_), Kind::Channel)
    );
    same_kind.then_some(id)
}

/// [`peer_id`] of a channel's bare id.
pub fn channel_peer_id(channel_id: i64) -> Option<PeerId> {
    peer_id(&tl::enums::Peer::Channel(tl::types::PeerChannel {
        channel_id,
    }))
}

/// [`peer_id`] of a small group's bare id.
pub fn chat_peer_id(chat_id: i64) -> Option<PeerId> {
    peer_id(&tl::enums::Peer::Chat(tl::types::PeerChat { chat_id }))
}

/// The schema's `peer` object: a chat, a sender, a forward's origin. Its names are
/// borrowed from the parse context.
#[derive(Debug, Clone, Serialize)]
pub struct Peer<'a> {
    id: Option<i64>,
    bare_id: i64,
    #[serde(rename = "type")]
    peer_type: &'static str,
    name: Option<&'a str>,
    username: Option<&'a str>,
}

impl<'a> Peer<'a> {
    /// A peer, named from the context when it is known there.
    pub(crate) fn of(kind: PeerKind, bare_id: i64, ctx: &'a ParseContext) -> Peer<'a> {
        let known = ctx.peer(kind, bare_id);
        Peer {
            id: mark(kind, bare_id),
            bare_id,
            peer_type: known.map_or(kind.default_type(), |k| k.peer_type),
            name: known.and_then(|k| k.name.as_deref()),
            username: known.and_then(|k| k.username.as_deref()),
        }
    }

    /// A TL peer, named from the context when it is known there.
    pub(crate) fn of_tl(peer: &tl::enums::Peer, ctx: &'a ParseContext) -> Peer<'a> {
        let (kind, bare_id) = PeerKind::of(peer);
        Peer::of(kind, bare_id, ctx)
    }
}

/// A user as the API's `resolve` and `chat` methods show it: the peer fields plus the
/// user's own flags.
pub fn parse_user(user: &tl::enums::User) -> Value {
    let ((_, id), summary) = PeerSummary::of_user(user);
    let mut out = json!({
        "id": id,
        "bare_id": id,
        "type": summary.peer_type,
        "name": summary.name,
        "username": summary.username,
    });
    if let tl::enums::User::User(u) = user {
        out["first_name"] = json!(u.first_name);
        out["last_name"] = json!(u.last_name);
        out["deleted"] = json!(u.deleted);
        out["verified"] = json!(u.verified);
        out["scam"] = json!(u.scam);
        out["fake"] = json!(u.fake);
    }
    out
}

/// A chat or channel as the API's `resolve` and `chat` methods show it: the peer fields plus
/// what the chat object itself says (members, creation date, whether this account may read
/// it).
pub fn parse_chat(chat: &tl::enums::Chat) -> Value {
    use tl::enums::Chat;
    let ((kind, bare_id), summary) = PeerSummary::of_chat(chat);
    let mut out = json!({
        "id": mark(kind, bare_id),
        "bare_id": bare_id,
        "type": summary.peer_type,
        "name": summary.name,
        "username": summary.username,
        "forbidden": matches!(chat, Chat::Forbidden(_) | Chat::ChannelForbidden(_) | Chat::CommunityForbidden(_)),
    });
    let (members, created) = match chat {
        Chat::Chat(c) => (Some(c.participants_count), Some(c.date)),
        Chat::Channel(c) => {
            out["verified"] = json!(c.verified);
            out["scam"] = json!(c.scam);
            out["fake"] = json!(c.fake);
            out["left"] = json!(c.left);
            out["has_linked_chat"] = json!(c.has_link);
            (c.participants_count, Some(c.date))
        }
        Chat::Community(c) => (None, Some(c.date)),
        _ => (None, None),
    };
    out["participants_count"] = json!(members);
    out["date"] = json!(created);
    out["date_iso"] = json!(created.and_then(date::iso));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marked_ids_follow_telethon() {
        assert_eq!(mark(PeerKind::User, 1001), Some(1001));
        assert_eq!(mark(PeerKind::Chat, 500), Some(-500));
        assert_eq!(mark(PeerKind::Channel, 100_001), Some(-1_000_000_100_001));
    }

    #[test]
    fn peer_ids_exist_only_for_ids_in_their_kinds_range() {
        assert_eq!(
            channel_peer_id(100_001).and_then(PeerId::bot_api_dialog_id),
            Some(-1_000_000_100_001)
        );
        assert_eq!(
            chat_peer_id(500).and_then(PeerId::bot_api_dialog_id),
            Some(-500)
        );
        for id in [0, -1, -1_000_000_000_001, i64::MAX, i64::MIN] {
            assert_eq!(channel_peer_id(id), None, "channel {id}");
            assert_eq!(chat_peer_id(id), None, "chat {id}");
        }
    }

    #[test]
    fn ids_too_large_to_mark_become_none_instead_of_overflowing() {
        assert_eq!(mark(PeerKind::Channel, i64::MAX), None);
        assert_eq!(mark(PeerKind::Chat, i64::MIN), None);
        assert_eq!(mark(PeerKind::User, i64::MAX), Some(i64::MAX));
    }
}
