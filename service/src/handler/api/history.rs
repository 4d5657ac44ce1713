//! `history`: a chat's messages, newest first, one page at a time (`messages.getHistory`).
//!
//! Paging is Telegram's own: `offset_id` starts a page below that message id, `min_id` and
//! `max_id` bound the ids, `limit` sizes the page. Each reply carries `next_offset_id` for
//! the next page, so a client walks a history without knowing Telegram's rules.

use tgc_model::teleclient::tl;

use super::page::page;
use crate::handler::route::{Context, Handler, Json, Reply};
use crate::parser::ParseContext;

pub struct History;

/// Telegram serves at most 100 messages per call.
pub const MAX_LIMIT: i64 = 100;
const ID_RANGE: std::ops::RangeInclusive<i64> = 0..=(i32::MAX as i64);

impl Handler for History {
    fn params(&self) -> &'static [&'static str] {
        &["chat", "offset_id", "min_id", "max_id", "limit"]
    }

    fn post<'a>(&'a self, cx: &'a Context) -> Reply<'a> {
        Box::pin(async move {
            let p = &cx.params;
            let chat = p.chat("chat")?;
            // The ranges fit i32, so the conversions below cannot fail.
            let offset_id = p.int("offset_id", 0, ID_RANGE)? as i32;
            let min_id = p.int("min_id", 0, ID_RANGE)? as i32;
            let max_id = p.int("max_id", 0, ID_RANGE)? as i32;
            let limit = p.int("limit", 20, 1..=MAX_LIMIT)? as i32;
            let served = cx
                .pool
                .run(&chat, "messages.getHistory", |client, peer| async move {
                    client
                        .invoke(&tl::functions::messages::GetHistory {
                            peer: (&peer).into(),
                            offset_id,
                            offset_date: 0,
                            add_offset: 0,
                            limit,
                            max_id,
                            min_id,
                            hash: 0,
                        })
                        .await
                })
                .await?;
            let parse = ParseContext::from_messages(&served.value, served.account)
                .with_media_hook(cx.media_hook());
            let reply = page(&served.value, &parse, served.account, limit as usize);
            Json::of(&super::page::Page {
                chat: Some(chat.to_string()),
                ..reply
            })
        })
    }
}
