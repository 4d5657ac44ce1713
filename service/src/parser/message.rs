//! One TL message into the schema's message object (see `schema/message.v1.json`).
//!
//! Regular and service messages share one shape, told apart by `type` ("message" or
//! "service"): a service message has empty text, no media and an `action`; a regular one
//! has `action: null`. Every key is always present (`null`, `[]` or `false` when it does not
//! apply) so consumers never test for a key. A deleted or inaccessible message
//! (`messageEmpty`) has its own short form: `type: "empty"`, its id, and its chat if known.

use serde_json::{Value, json};
use tgc_model::teleclient::{AccountId, tl};

use super::SCHEMA_VERSION;
use super::action::action_json;
use super::context::ParseContext;
use super::date;
use super::entity::entities_json;
use super::media::{Origin, media_json};
use super::peer::{marked_id, peer_json, tl_peer_json};
use super::peer_summary::PeerKind;

/// One raw message into the schema. `ctx` names the chat and sender and gives each media
/// its storage reference. Never fails: anything unexpected gets the schema's fallback form.
pub fn parse_message(message: &tl::enums::Message, ctx: &ParseContext) -> Value {
    match message {
        tl::enums::Message::Message(m) => regular(m, ctx),
        tl::enums::Message::Service(m) => service(m, ctx),
        tl::enums::Message::Empty(m) => json!({
            "schema": SCHEMA_VERSION,
            "type": "empty",
            "id": m.id,
            "account_id": ctx.account().0,
            "chat": m.peer_id.as_ref().map(|p| tl_peer_json(p, ctx)),
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

fn regular(m: &tl::types::Message, ctx: &ParseContext) -> Value {
    let origin = Origin {
        chat_id: marked_id(&m.peer_id),
        message_id: m.id,
    };
    let replies = m.replies.as_ref().map(|r| match r {
        tl::enums::MessageReplies::Replies(r) => r.replies,
    });
    json!({
        "schema": SCHEMA_VERSION,
        "type": "message",
        "id": m.id,
        "account_id": ctx.account().0,
        "chat": tl_peer_json(&m.peer_id, ctx),
        "sender": sender(m.from_id.as_ref(), &m.peer_id, m.out, ctx),
        "date": m.date,
        "date_iso": date::iso(m.date),
        "edit_date": m.edit_date,
        "edit_date_iso": m.edit_date.and_then(date::iso),
        "text": m.message,
        "entities": entities_json(&m.message, m.entities.as_deref()),
        "views": m.views,
        "forwards": m.forwards,
        "replies": replies,
        "reply_to": m.reply_to.as_ref().map(|r| reply_json(r, ctx)),
        "forward": m.fwd_from.as_ref().map(|f| forward_json(f, ctx)),
        "grouped_id": m.grouped_id,
        "reactions": reactions_json(m.reactions.as_ref()),
        "out": m.out,
        "mentioned": m.mentioned,
        "silent": m.silent,
        "post": m.post,
        "pinned": m.pinned,
        "noforwards": m.noforwards,
        "post_author": m.post_author,
        "via_bot_id": m.via_bot_id,
        "media": m.media.as_ref().and_then(|media| media_json(media, &origin, ctx)),
        "action": null,
    })
}

fn service(m: &tl::types::MessageService, ctx: &ParseContext) -> Value {
    json!({
        "schema": SCHEMA_VERSION,
        "type": "service",
        "id": m.id,
        "account_id": ctx.account().0,
        "chat": tl_peer_json(&m.peer_id, ctx),
        "sender": sender(m.from_id.as_ref(), &m.peer_id, m.out, ctx),
        "date": m.date,
        "date_iso": date::iso(m.date),
        "edit_date": null,
        "edit_date_iso": null,
        "text": "",
        "entities": [],
        "views": null,
        "forwards": null,
        "replies": null,
        "reply_to": m.reply_to.as_ref().map(|r| reply_json(r, ctx)),
        "forward": null,
        "grouped_id": null,
        "reactions": reactions_json(m.reactions.as_ref()),
        "out": m.out,
        "mentioned": m.mentioned,
        "silent": m.silent,
        "post": m.post,
        "pinned": false,
        "noforwards": false,
        "post_author": null,
        "via_bot_id": null,
        "media": null,
        "action": action_json(&m.action),
    })
}

/// Who wrote a message. Telegram omits `from_id` where the chat says it: in a private chat
/// (the other user, or this account for outgoing messages) and for channel posts (the
/// channel). In a small group a message without `from_id` has no known sender: `null`.
fn sender(
    from_id: Option<&tl::enums::Peer>,
    chat: &tl::enums::Peer,
    out: bool,
    ctx: &ParseContext,
) -> Value {
    if let Some(from) = from_id {
        return tl_peer_json(from, ctx);
    }
    match PeerKind::of(chat) {
        (PeerKind::User, _) if out => peer_json(PeerKind::User, ctx.account().0, ctx),
        (PeerKind::User, id) => peer_json(PeerKind::User, id, ctx),
        (PeerKind::Channel, id) => peer_json(PeerKind::Channel, id, ctx),
        (PeerKind::Chat, _) => Value::Null,
    }
}

fn reply_json(reply: &tl::enums::MessageReplyHeader, ctx: &ParseContext) -> Value {
    match reply {
        tl::enums::MessageReplyHeader::Header(h) => json!({
            "message_id": h.reply_to_msg_id,
            "top_id": h.reply_to_top_id,
            "chat": h.reply_to_peer_id.as_ref().map(|p| tl_peer_json(p, ctx)),
            "quote_text": h.quote_text,
            "forum_topic": h.forum_topic,
            "story_id": null,
        }),
        tl::enums::MessageReplyHeader::MessageReplyStoryHeader(h) => json!({
            "message_id": null,
            "top_id": null,
            "chat": tl_peer_json(&h.peer, ctx),
            "quote_text": null,
            "forum_topic": false,
            "story_id": h.story_id,
        }),
    }
}

fn forward_json(forward: &tl::enums::MessageFwdHeader, ctx: &ParseContext) -> Value {
    let tl::enums::MessageFwdHeader::Header(f) = forward;
    json!({
        "from": f.from_id.as_ref().map(|p| tl_peer_json(p, ctx)),
        "from_name": f.from_name,
        "date": f.date,
        "date_iso": date::iso(f.date),
        "channel_post": f.channel_post,
        "post_author": f.post_author,
    })
}

fn reactions_json(reactions: Option<&tl::enums::MessageReactions>) -> Vec<Value> {
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
            json!({
                "type": kind,
                "emoji": emoji,
                "document_id": document_id,
                "count": r.count,
                "chosen": r.chosen_order.is_some(),
            })
        })
        .collect()
}
