//! A page of messages as the API returns it: parsed messages, Telegram's total count, and
//! the cursor for the next page. The messages are read out of Telegram's answer and parsed
//! by the parser's own entry points (`messages_of`, `parse_message`).

use serde_json::{Value, json};
use tgc_model::teleclient::{AccountId, tl};

use std::sync::Arc;

use crate::parser::{MediaHook, ParseContext, messages_of, parse_message};

/// How many messages match in all (Telegram's `count`), or the page length when it sent all.
fn total_of(answer: &tl::enums::messages::Messages) -> usize {
    use tl::enums::messages::Messages;
    match answer {
        Messages::Messages(m) => m.messages.len(),
        Messages::Slice(m) => usize::try_from(m.count).unwrap_or(0),
        Messages::ChannelMessages(m) => usize::try_from(m.count).unwrap_or(0),
        Messages::NotModified(m) => usize::try_from(m.count).unwrap_or(0),
    }
}

pub fn message_id(message: &tl::enums::Message) -> i32 {
    match message {
        tl::enums::Message::Empty(m) => m.id,
        tl::enums::Message::Message(m) => m.id,
        tl::enums::Message::Service(m) => m.id,
    }
}

/// Parses every message of `answer` fetched by `account`, keeping those `keep` accepts;
/// `media` names (and the pipeline's hook queues) each media met.
pub fn parse_all(
    answer: &tl::enums::messages::Messages,
    account: AccountId,
    media: Arc<dyn MediaHook>,
    keep: impl Fn(&tl::enums::Message) -> bool,
) -> Vec<Value> {
    let cx = ParseContext::from_messages(answer, account).with_media_hook(media);
    messages_of(answer)
        .iter()
        .filter(|m| keep(m))
        .map(|m| parse_message(m, &cx))
        .collect()
}

/// A history or search page: `{"messages", "count", "next_offset_id"}`. The cursor is the
/// oldest id of a full page (ask again with `offset_id` set to it: Telegram answers the
/// messages below it), `null` on the last page, which is also the page that holds message 1:
/// nothing is older. The oldest id counts whatever kind of message holds it (service,
/// empty), so a page boundary on one neither skips nor repeats a message.
pub fn page(
    answer: &tl::enums::messages::Messages,
    account: AccountId,
    limit: usize,
    media: Arc<dyn MediaHook>,
) -> Value {
    let raw = messages_of(answer);
    let next = if raw.len() >= limit && limit > 0 {
        raw.iter()
            .map(message_id)
            .min()
            .filter(|oldest| *oldest > 1)
    } else {
        None
    };
    json!({
        "messages": parse_all(answer, account, media, |_| true),
        "count": total_of(answer),
        "next_offset_id": next,
    })
}
