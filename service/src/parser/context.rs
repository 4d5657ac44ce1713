//! What parsing a message needs besides the message: who the peers it mentions are, which
//! account fetched it, and where its media will be stored.
//!
//! A Telegram message names its chat and sender by id only; their names come in the same
//! reply (`messages.Messages` carries `users` and `chats`). The context keeps a small summary
//! of each, keyed by peer kind and bare id (a small group and a channel may share a bare id),
//! rather than the TL objects, so a context is cheap to keep around for a stream of updates.

use std::collections::HashMap;
use std::sync::Arc;

use tgc_model::teleclient::{AccountId, tl};

use super::peer_summary::{PeerKind, PeerSummary};
use super::storage_ref::{MediaHook, MediaRefs};

/// The users and chats known while parsing, the fetching account, and the media hook.
#[derive(Clone)]
pub struct ParseContext {
    account: AccountId,
    peers: HashMap<(PeerKind, i64), PeerSummary>,
    media: Arc<dyn MediaHook>,
}

impl ParseContext {
    /// An empty context for `account` (the user id of the account that fetched the
    /// messages), with the default [`MediaRefs`] hook.
    pub fn new(account: AccountId) -> ParseContext {
        ParseContext {
            account,
            peers: HashMap::new(),
            media: Arc::new(MediaRefs),
        }
    }

    /// A context knowing every user and chat that came with a `messages.*` reply.
    pub fn from_messages(
        messages: &tl::enums::messages::Messages,
        account: AccountId,
    ) -> ParseContext {
        use tl::enums::messages::Messages;
        let mut context = ParseContext::new(account);
        match messages {
            Messages::Messages(m) => context.add_peers(&m.users, &m.chats),
            Messages::Slice(m) => context.add_peers(&m.users, &m.chats),
            Messages::ChannelMessages(m) => context.add_peers(&m.users, &m.chats),
            Messages::NotModified(_) => {}
        }
        context
    }

    /// Replaces the media hook (the media pipeline installs its own).
    pub fn with_media_hook(mut self, hook: Arc<dyn MediaHook>) -> ParseContext {
        self.media = hook;
        self
    }

    /// Learns users and chats (from an update, a `getFullChannel` reply, …); a later summary
    /// of the same peer replaces an earlier one, except that a user without a name (an empty
    /// or stripped-down constructor) never replaces one with a name.
    pub fn add_peers(&mut self, users: &[tl::enums::User], chats: &[tl::enums::Chat]) {
        for user in users {
            let (key, summary) = PeerSummary::of_user(user);
            let keep_old = summary.name.is_none()
                && self.peers.get(&key).is_some_and(|old| old.name.is_some());
            if !keep_old {
                self.peers.insert(key, summary);
            }
        }
        for chat in chats {
            let (key, summary) = PeerSummary::of_chat(chat);
            self.peers.insert(key, summary);
        }
    }

    /// The user id of the account that fetched the messages.
    pub fn account(&self) -> AccountId {
        self.account
    }

    pub(crate) fn peer(&self, kind: PeerKind, bare_id: i64) -> Option<&PeerSummary> {
        self.peers.get(&(kind, bare_id))
    }

    pub(crate) fn media_hook(&self) -> &dyn MediaHook {
        self.media.as_ref()
    }
}

impl std::fmt::Debug for ParseContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParseContext")
            .field("account", &self.account)
            .field("peers", &self.peers.len())
            .finish_non_exhaustive()
    }
}
