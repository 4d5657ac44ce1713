//! A page of messages as the API returns it: parsed messages, Telegram's total count, and
//! the cursor for the next page. The messages are read out of Telegram's answer and parsed
//! by the parser's own entry points (`messages_of`, `parse_message`).

use serde::Serialize;
use tgc_model::teleclient::{AccountId, tl};

use crate::parser::{ParseContext, ParsedMessage, message_of, messages_of};

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

/// Every message of `answer` that `keep` accepts, parsed with `cx` (which names the peers
/// and, through the pipeline's hook, queues each media met).
pub fn parse_all<'a>(
    answer: &'a tl::enums::messages::Messages,
    cx: &'a ParseContext,
    keep: impl Fn(&tl::enums::Message) -> bool,
) -> Vec<ParsedMessage<'a>> {
    messages_of(answer)
        .iter()
        .filter(|m| keep(m))
        .map(|m| message_of(m, cx))
        .collect()
}

/// A history or search page as the API returns it, serialized straight from the parsed
/// messages: `{"chat"?, "query"?, "account", "count", "next_offset_id", "messages"}`.
#[derive(Debug, Serialize)]
pub struct Page<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chat: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query: Option<&'a str>,
    pub account: i64,
    pub count: usize,
    pub next_offset_id: Option<i32>,
    pub messages: Vec<ParsedMessage<'a>>,
}

/// A history or search page of `answer`, parsed with `cx`. The cursor is the oldest id of a
/// full page (ask again with `offset_id` set to it: Telegram answers the messages below it),
/// `null` on the last page, which is also the page that holds message 1: nothing is older.
/// The oldest id counts whatever kind of message holds it (service, empty), so a page
/// boundary on one neither skips nor repeats a message.
pub fn page<'a>(
    answer: &'a tl::enums::messages::Messages,
    cx: &'a ParseContext,
    account: AccountId,
    limit: usize,
) -> Page<'a> {
    let raw = messages_of(answer);
    let next = if raw.len() >= limit && limit > 0 {
        raw.iter()
            .map(message_id)
            .min()
            .filter(|oldest| *oldest > 1)
    } else {
        None
    };
    Page {
        chat: None,
        query: None,
        account: account.0,
        count: total_of(answer),
        next_offset_id: next,
        messages: parse_all(answer, cx, |_| true),
    }
}
