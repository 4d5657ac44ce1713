//! Telethon's marked ids and grammers' peers, converted both ways.
//!
//! Telethon keys `entities` by the "marked" id of the Bot API: users as they are, small
//! groups negated, channels as `-(10^12 + id)`. grammers' [`PeerId`] uses the very same
//! numbers internally, so the mapping is a matter of validating ranges: a row written by
//! some other program with an impossible id must be skipped, never trusted (grammers'
//! unchecked constructors would panic in debug builds).

use grammers_session::types::{ChannelKind, PeerAuth, PeerId, PeerInfo, PeerKind};

/// The marked id Telethon stores for a peer, or `None` when its bare id is out of the
/// range Telegram uses for that kind of peer.
pub fn marked_id(peer: &PeerInfo) -> Option<i64> {
    let id = match peer {
        PeerInfo::User { id, .. } => PeerId::user(*id),
        PeerInfo::Chat { id } => PeerId::chat(*id),
        PeerInfo::Channel { id, .. } => PeerId::channel(*id),
    }?;
    id.bot_api_dialog_id()
}

/// The grammers peer id of a Telethon marked id, or `None` for ids no peer can have
/// (including Telethon's fake self row, id 0).
pub fn peer_id(marked_id: i64) -> Option<PeerId> {
    PeerId::from_bot_api_dialog_id(marked_id)
}

/// What we know of a peer beyond its access hash (kept in `tgc_peer`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct PeerExtras {
    pub bot: Option<bool>,
    pub channel_kind: Option<ChannelKind>,
}

impl PeerExtras {
    pub fn of(peer: &PeerInfo) -> Self {
        match peer {
            PeerInfo::User { bot, .. } => PeerExtras {
                bot: *bot,
                channel_kind: None,
            },
            PeerInfo::Chat { .. } => PeerExtras::default(),
            PeerInfo::Channel { kind, .. } => PeerExtras {
                bot: None,
                channel_kind: *kind,
            },
        }
    }
}

/// Builds the grammers view of a stored peer. `access_hash` is `None` when only our
/// extras are known (grammers cached the peer without a hash).
pub(crate) fn peer_info(
    id: PeerId,
    access_hash: Option<i64>,
    extras: PeerExtras,
    self_user_id: Option<i64>,
) -> Option<PeerInfo> {
    let bare = id.bare_id()?;
    Some(match id.kind() {
        PeerKind::User => PeerInfo::User {
            id: bare,
            auth: access_hash.map(PeerAuth::from_hash),
            bot: extras.bot,
            is_self: self_user_id.map(|self_id| self_id == bare),
        },
        PeerKind::Chat => PeerInfo::Chat { id: bare },
        PeerKind::Channel => PeerInfo::Channel {
            id: bare,
            auth: access_hash.map(PeerAuth::from_hash),
            kind: extras.channel_kind,
        },
    })
}

/// Stable numbers for [`ChannelKind`] in `tgc_peer.channel_kind`.
pub(crate) fn channel_kind_code(kind: ChannelKind) -> i64 {
    match kind {
        ChannelKind::Broadcast => 1,
        ChannelKind::Megagroup => 2,
        ChannelKind::Gigagroup => 3,
        ChannelKind::Community => 4,
    }
}

pub(crate) fn channel_kind_from_code(code: i64) -> Option<ChannelKind> {
    match code {
        1 => Some(ChannelKind::Broadcast),
        2 => Some(ChannelKind::Megagroup),
        3 => Some(ChannelKind::Gigagroup),
        4 => Some(ChannelKind::Community),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marked_ids_follow_telethon() {
        let user = PeerInfo::User {
            id: 777,
            auth: None,
            bot: None,
            is_self: None,
        };
        let chat = PeerInfo::Chat { id: 123 };
        let channel = PeerInfo::Channel {
            id: 1_234_567_890,
            auth: None,
            kind: None,
        };
        assert_eq!(marked_id(&user), Some(777));
        assert_eq!(marked_id(&chat), Some(-123));
        assert_eq!(marked_id(&channel), Some(-1_001_234_567_890));
        assert_eq!(
            peer_id(-1_001_234_567_890).and_then(|p| p.bare_id()),
            Some(1_234_567_890)
        );
        assert_eq!(peer_id(-123).map(|p| p.kind()), Some(PeerKind::Chat));
    }

    #[test]
    fn impossible_ids_are_rejected_not_panicking() {
        assert_eq!(peer_id(0), None);
        assert_eq!(peer_id(-1_000_000_000_000), None);
        assert_eq!(peer_id(i64::MIN), None);
        assert_eq!(marked_id(&PeerInfo::Chat { id: 0 }), None);
        assert_eq!(
            marked_id(&PeerInfo::User {
                id: -5,
                auth: None,
                bot: None,
                is_self: None
            }),
            None
        );
    }
}
