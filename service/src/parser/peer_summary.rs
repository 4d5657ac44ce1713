//! What the parser knows of a peer before it writes one: which id space its bare id lives in
//! ([`PeerKind`]), and its type, display name and username ([`PeerSummary`]), read from the
//! users and chats that come with a TL answer. Kept apart from the JSON it feeds
//! (`peer.rs`), which reads summaries through the parse context.

use tgc_model::teleclient::tl;

/// Which id space a bare id lives in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum PeerKind {
    User,
    Chat,
    Channel,
}

impl PeerKind {
    /// The kind and bare id a TL peer names.
    pub(crate) fn of(peer: &tl::enums::Peer) -> (PeerKind, i64) {
        match peer {
            tl::enums::Peer::User(p) => (PeerKind::User, p.user_id),
            tl::enums::Peer::Chat(p) => (PeerKind::Chat, p.chat_id),
            tl::enums::Peer::Channel(p) => (PeerKind::Channel, p.channel_id),
        }
    }

    /// The type shown when nothing more is known about the peer.
    pub(crate) fn default_type(self) -> &'static str {
        match self {
            PeerKind::User => "user",
            PeerKind::Chat => "group",
            PeerKind::Channel => "channel",
        }
    }
}

/// What the context remembers of a user or chat.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PeerSummary {
    /// One of the schema's peer types: user, bot, group, channel, megagroup, gigagroup,
    /// community.
    pub(crate) peer_type: &'static str,
    /// A chat's title, or a user's first and last name.
    pub(crate) name: Option<String>,
    pub(crate) username: Option<String>,
}

impl PeerSummary {
    pub(crate) fn of_user(user: &tl::enums::User) -> ((PeerKind, i64), PeerSummary) {
        match user {
            tl::enums::User::Empty(u) => (
                (PeerKind::User, u.id),
                PeerSummary {
                    peer_type: "user",
                    name: None,
                    username: None,
                },
            ),
            tl::enums::User::User(u) => (
                (PeerKind::User, u.id),
                PeerSummary {
                    peer_type: if u.bot { "bot" } else { "user" },
                    name: full_name(u.first_name.as_deref(), u.last_name.as_deref()),
                    username: u
                        .username
                        .clone()
                        .or_else(|| first_active(u.usernames.as_deref())),
                },
            ),
        }
    }

    pub(crate) fn of_chat(chat: &tl::enums::Chat) -> ((PeerKind, i64), PeerSummary) {
        use tl::enums::Chat;
        let (key, peer_type, title, username) = match chat {
            Chat::Empty(c) => ((PeerKind::Chat, c.id), "group", None, None),
            Chat::Chat(c) => ((PeerKind::Chat, c.id), "group", Some(&c.title), None),
            Chat::Forbidden(c) => ((PeerKind::Chat, c.id), "group", Some(&c.title), None),
            Chat::Channel(c) => (
                (PeerKind::Channel, c.id),
                channel_type(c.megagroup, c.gigagroup),
                Some(&c.title),
                c.username
                    .clone()
                    .or_else(|| first_active(c.usernames.as_deref())),
            ),
            Chat::ChannelForbidden(c) => (
                (PeerKind::Channel, c.id),
                channel_type(c.megagroup, false),
                Some(&c.title),
                None,
            ),
            Chat::Community(c) => ((PeerKind::Channel, c.id), "community", Some(&c.title), None),
            Chat::CommunityForbidden(c) => {
                ((PeerKind::Channel, c.id), "community", Some(&c.title), None)
            }
        };
        let summary = PeerSummary {
            peer_type,
            name: title.filter(|t| !t.is_empty()).cloned(),
            username,
        };
        (key, summary)
    }
}

fn channel_type(megagroup: bool, gigagroup: bool) -> &'static str {
    if gigagroup {
        "gigagroup"
    } else if megagroup {
        "megagroup"
    } else {
        "channel"
    }
}

fn full_name(first: Option<&str>, last: Option<&str>) -> Option<String> {
    let name = [first, last]
        .into_iter()
        .flatten()
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    (!name.is_empty()).then_some(name)
}

/// The first active name of a peer with several usernames (collectible usernames).
fn first_active(usernames: Option<&[tl::enums::Username]>) -> Option<String> {
    usernames?
        .iter()
        .find_map(|tl::enums::Username::Username(u)| u.active.then(|| u.username.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_name_skips_missing_and_blank_parts() {
        assert_eq!(
            full_name(Some("Alice"), Some("Liddell")).as_deref(),
            Some("Alice Liddell")
        );
        assert_eq!(full_name(Some("Bob"), None).as_deref(), Some("Bob"));
        assert_eq!(full_name(Some(" "), Some("")), None);
        assert_eq!(full_name(None, None), None);
    }
}
