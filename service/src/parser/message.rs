//! One TL message into the schema's message object (see `schema/message.v1.json`).
//!
//! Regular and service messages share one shape, told apart by `type` ("message" or
//! "service"): a service message has empty text, no media and an `action`; a regular one
//! has `action: null`. Every key is always present (`null`, `[]` or `false` when it does not
//! apply) so consumers never test for a key. A deleted or inaccessible message
//! (`messageEmpty`) has its own short form: `type: "empty"`, its id, and its chat if known.

use serde::Serialize;
use serde_json::Value;
use tgc_model::teleclient::{AccountId, tl};

use super::SCHEMA_VERSION;
use super::action::action_json;
use super::context::ParseContext;
use super::date;
use super::entity::{Entity, entities};
use super::media::{Media, Origin, media};
use super::peer::{Peer, marked_id};
use super::peer_summary::PeerKind;

/// A message as the schema shows it, borrowing from the TL message and the parse context,
/// serialized straight into a reply or an event (no intermediate JSON tree).
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum ParsedMessage<'a> {
    /// A regular or service message.
    Message(Box<MessageFields<'a>>),
    /// A deleted or inaccessible message.
    Empty(EmptyMessage<'a>),
}

/// Every field of a regular or service message, in the schema's order.
#[derive(Debug, Clone, Serialize)]
pub struct MessageFields<'a> {
    schema: u32,
    #[serde(rename = "type")]
    kind: &'static str,
    id: i32,
    account_id: i64,
    chat: Peer<'a>,
    sender: Option<Peer<'a>>,
    date: i32,
    date_iso: Option<String>,
    edit_date: Option<i32>,
    edit_date_iso: Option<String>,
    text: &'a str,
    entities: Vec<Entity<'a>>,
    views: Option<i32>,
    forwards: Option<i32>,
    replies: Option<i32>,
    reply_to: Option<ReplyTo<'a>>,
    forward: Option<Forward<'a>>,
    grouped_id: Option<i64>,
    reactions: Vec<Reaction<'a>>,
    out: bool,
    mentioned: bool,
    silent: bool,
    post: bool,
    pinned: bool,
    noforwards: bool,
    post_author: Option<&'a str>,
    via_bot_id: Option<i64>,
    media: Option<Media<'a>>,
    /// A service message's action; the ~100 kinds keep their own small JSON objects.
    action: Option<Value>,
}

/// The short form of a deleted or inaccessible message.
#[derive(Debug, Clone, Serialize)]
pub struct EmptyMessage<'a> {
    schema: u32,
    #[serde(rename = "type")]
    kind: &'static str,
    id: i32,
    account_id: i64,
    chat: Option<Peer<'a>>,
}

/// What a message replies to.
#[derive(Debug, Clone, Serialize)]
pub struct ReplyTo<'a> {
    message_id: Option<i32>,
    top_id: Option<i32>,
    chat: Option<Peer<'a>>,
    quote_text: Option<&'a str>,
    forum_topic: bool,
    story_id: Option<i32>,
}

/// Where a forwarded message came from.
#[derive(Debug, Clone, Serialize)]
pub struct Forward<'a> {
    from: Option<Peer<'a>>,
    from_name: Option<&'a str>,
    date: i32,
    date_iso: Option<String>,
    channel_post: Option<i32>,
    post_author: Option<&'a str>,
}

/// One reaction and its count.
#[derive(Debug, Clone, Serialize)]
pub struct Reaction<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    emoji: Option<&'a str>,
    document_id: Option<i64>,
    count: i32,
    chosen: bool,
}

/// One raw message into the schema, as JSON. `ctx` names the chat and sender and gives
/// each media its storage reference. Never fails: anything unexpected gets the schema's
/// fallback form. [`message_of`] gives the same without building a JSON tree.
pub fn parse_message(message: &tl::enums::Message, ctx: &ParseContext) -> Value {
    // A message always serializes (non-finite floats become null); Null only keeps the
    // type honest.
    serde_json::to_value(message_of(message, ctx)).unwrap_or(Value::Null)
}

/// One raw message into the schema, ready to serialize.
pub fn message_of<'a>(message: &'a tl::enums::Message, ctx: &'a ParseContext) -> ParsedMessage<'a> {
    match message {
        tl::enums::Message::Message(m) => ParsedMessage::Message(Box::new(regular(m, ctx))),
        tl::enums::Message::Service(m) => ParsedMessage::Message(Box::new(service(m, ctx))),
        tl::enums::Message::Empty(m) => ParsedMessage::Empty(EmptyMessage {
            schema: SCHEMA_VERSION,
            kind: "empty",
            id: m.id,
            account_id: ctx.account().0,
            chat: m.peer_id.as_ref().map(|p| Peer::of_tl(p, ctx)),
        }),
    }
}

/// Every message of a `messages.*` reply, parsed with the users and chats that came with it.
pub fn parse_messages(messages: &tl::enums::messages::Messages, account: AccountId) -> Vec<Value> {
    let ctx = ParseContext::from_messages(messages, account);
    messages_of(messages)
        .iter()
        .map(|m| parse_message(m, &ctx))
        .collect()
}

/// The messages of a `messages.Messages` answer, newest first as Telegram sends them: the one
/// walk over its variants, for the parser and the handlers that page through answers.
pub fn messages_of(answer: &tl::enums::messages::Messages) -> &[tl::enums::Message] {
    use tl::enums::messages::Messages;
    match answer {
        Messages::Messages(m) => &m.messages,
        Messages::Slice(m) => &m.messages,
        Messages::ChannelMessages(m) => &m.messages,
        Messages::NotModified(_) => &[],
    }
}

fn regular<'a>(m: &'a tl::types::Message, ctx: &'a ParseContext) -> MessageFields<'a> {
    let origin = Origin {
        chat_id: marked_id(&m.peer_id),
        message_id: m.id,
    };
    let replies = m.replies.as_ref().map(|r| match r {
        tl::enums::MessageReplies::Replies(r) => r.replies,
    });
    MessageFields {
        schema: SCHEMA_VERSION,
        kind: "message",
        id: m.id,
        account_id: ctx.account().0,
        chat: Peer::of_tl(&m.peer_id, ctx),
        sender: sender(m.from_id.as_ref(), &m.peer_id, m.out, ctx),
        date: m.date,
        date_iso: date::iso(m.date),
        edit_date: m.edit_date,
        edit_date_iso: m.edit_date.and_then(date::iso),
        text: &m.message,
        entities: entities(&m.message, m.entities.as_deref()),
        views: m.views,
        forwards: m.forwards,
        replies,
        reply_to: m.reply_to.as_ref().map(|r| reply_to(r, ctx)),
        forward: m.fwd_from.as_ref().map(|f| forward(f, ctx)),
        grouped_id: m.grouped_id,
        reactions: reactions(m.reactions.as_ref()),
        out: m.out,
        mentioned: m.mentioned,
        silent: m.silent,
        post: m.post,
        pinned: m.pinned,
        noforwards: m.noforwards,
        post_author: m.post_author.as_deref(),
        via_bot_id: m.via_bot_id,
        media: m.media.as_ref().and_then(|item| media(item, &origin, ctx)),
        action: None,
    }
}

fn service<'a>(m: &'a tl::types::MessageService, ctx: &'a ParseContext) -> MessageFields<'a> {
    MessageFields {
        schema: SCHEMA_VERSION,
        kind: "service",
        id: m.id,
        account_id: ctx.account().0,
        chat: Peer::of_tl(&m.peer_id, ctx),
        sender: sender(m.from_id.as_ref(), &m.peer_id, m.out, ctx),
        date: m.date,
        date_iso: date::iso(m.date),
        edit_date: None,
        edit_date_iso: None,
        text: "",
        entities: Vec::new(),
        views: None,
        forwards: None,
        replies: None,
        reply_to: m.reply_to.as_ref().map(|r| reply_to(r, ctx)),
        forward: None,
        grouped_id: None,
        reactions: reactions(m.reactions.as_ref()),
        out: m.out,
        mentioned: m.mentioned,
        silent: m.silent,
        post: m.post,
        pinned: false,
        noforwards: false,
        post_author: None,
        via_bot_id: None,
        media: None,
        action: Some(action_json(&m.action)),
    }
}

/// Who wrote a message. Telegram omits `from_id` where the chat says it: in a private chat
/// (the other user, or this account for outgoing messages) and for channel posts (the
/// channel). In a small group a message without `from_id` has no known sender: `None`.
fn sender<'a>(
    from_id: Option<&tl::enums::Peer>,
    chat: &tl::enums::Peer,
    out: bool,
    ctx: &'a ParseContext,
) -> Option<Peer<'a>> {
    if let Some(from) = from_id {
        return Some(Peer::of_tl(from, ctx));
    }
    match PeerKind::of(chat) {
        (PeerKind::User, _) if out => Some(Peer::of(PeerKind::User, ctx.account().0, ctx)),
        (PeerKind::User, id) => Some(Peer::of(PeerKind::User, id, ctx)),
        (PeerKind::Channel, id) => Some(Peer::of(PeerKind::Channel, id, ctx)),
        (PeerKind::Chat, _) => None,
    }
}

fn reply_to<'a>(reply: &'a tl::enums::MessageReplyHeader, ctx: &'a ParseContext) -> ReplyTo<'a> {
    match reply {
        tl::enums::MessageReplyHeader::Header(h) => ReplyTo {
            message_id: h.reply_to_msg_id,
            top_id: h.reply_to_top_id,
            chat: h.reply_to_peer_id.as_ref().map(|p| Peer::of_tl(p, ctx)),
            quote_text: h.quote_text.as_deref(),
            forum_topic: h.forum_topic,
            story_id: None,
        },
        tl::enums::MessageReplyHeader::MessageReplyStoryHeader(h) => ReplyTo {
            message_id: None,
            top_id: None,
            chat: Some(Peer::of_tl(&h.peer, ctx)),
            quote_text: None,
            forum_topic: false,
            story_id: Some(h.story_id),
        },
    }
}

fn forward<'a>(forward: &'a tl::enums::MessageFwdHeader, ctx: &'a ParseContext) -> Forward<'a> {
    let tl::enums::MessageFwdHeader::Header(f) = forward;
    Forward {
        from: f.from_id.as_ref().map(|p| Peer::of_tl(p, ctx)),
        from_name: f.from_name.as_deref(),
        date: f.date,
        date_iso: date::iso(f.date),
        channel_post: f.channel_post,
        post_author: f.post_author.as_deref(),
    }
}

fn reactions(reactions: Option<&tl::enums::MessageReactions>) -> Vec<Reaction<'_>> {
    let Some(tl::enums::MessageReactions::Reactions(reactions)) = reactions else {
        return Vec::new();
    };
    reactions
        .results
        .iter()
        .map(|tl::enums::ReactionCount::Count(r)| {
            let (kind, emoji, document_id) = match &r.reaction {
                tl::enums::Reaction::Emoji(e) => ("emoji", Some(e.emoticon.as_str()), None),
                tl::enums::Reaction::CustomEmoji(e) => ("custom_emoji", None, Some(e.document_id)),
                tl::enums::Reaction::Paid => ("paid", None, None),
                tl::enums::Reaction::Empty => ("empty", None, None),
            };
            Reaction {
                kind,
                emoji,
                document_id,
                count: r.count,
                chosen: r.chosen_order.is_some(),
            }
        })
        .collect()
}
