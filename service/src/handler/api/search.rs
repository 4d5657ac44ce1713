//! `search`: messages matching a query, in one chat (`messages.search`, paged by
//! `offset_id` like `history`) or across every public chat the account can see
//! (`messages.searchGlobal`, first page only: Telegram's global cursor names a peer by the
//! answering account's access hash, which another account of the pool could not use).

use tgc_model::teleclient::tl;

use super::page::{Page, page};
use crate::handler::route::{Context, Handler, Json, Reply};
use crate::parser::ParseContext;

pub struct Search;

const MAX_LIMIT: i64 = 100;

impl Handler for Search {
    fn params(&self) -> &'static [&'static str] {
        &["query", "chat", "offset_id", "limit"]
    }

    fn post<'a>(&'a self, cx: &'a Context) -> Reply<'a> {
        Box::pin(async move {
            let p = &cx.params;
            let query = p.required_string("query", "the text to search for")?;
            let chat = p.optional_chat("chat")?;
            let offset_id = p.int("offset_id", 0, 0..=i64::from(i32::MAX))? as i32;
            let limit = p.int("limit", 20, 1..=MAX_LIMIT)? as i32;
            let Some(chat) = chat else {
                if p.has("offset_id") {
                    return Err(crate::handler::error::ApiError::bad_params(
                        "`offset_id` pages a search in a chat; a global search (no `chat`) returns its first page only",
                    ));
                }
                let served = cx
                    .pool
                    .run_any("messages.searchGlobal", |client| {
                        let q = query.clone();
                        async move {
                            client
                                .invoke(&tl::functions::messages::SearchGlobal {
                                    broadcasts_only: false,
                                    groups_only: false,
                                    users_only: false,
                                    folder_id: None,
                                    community: None,
                                    q,
                                    filter: tl::enums::MessagesFilter::InputMessagesFilterEmpty,
                                    min_date: 0,
                                    max_date: 0,
                                    offset_rate: 0,
                                    offset_peer: tl::enums::InputPeer::Empty,
                                    offset_id: 0,
                                    limit,
                                })
                                .await
                        }
                    })
                    .await?;
                let parse = ParseContext::from_messages(&served.value, served.account)
                    .with_media_hook(cx.media_hook());
                let reply = page(&served.value, &parse, served.account, limit as usize);
                return Json::of(&Page {
                    // See the module docs: there is no next page to offer across accounts.
                    next_offset_id: None,
                    query: Some(&query),
                    ..reply
                });
            };
            let served = cx
                .pool
                .run(&chat, "messages.search", |client, peer| {
                    let q = query.clone();
                    async move {
                        client
                            .invoke(&tl::functions::messages::Search {
                                peer: (&peer).into(),
                                q,
                                from_id: None,
                                saved_peer_id: None,
                                saved_reaction: None,
                                top_msg_id: None,
                                filter: tl::enums::MessagesFilter::InputMessagesFilterEmpty,
                                min_date: 0,
                                max_date: 0,
                                offset_id,
                                add_offset: 0,
                                limit,
                                max_id: 0,
                                min_id: 0,
                                hash: 0,
                            })
                            .await
                    }
                })
                .await?;
            let parse = ParseContext::from_messages(&served.value, served.account)
                .with_media_hook(cx.media_hook());
            let reply = page(&served.value, &parse, served.account, limit as usize);
            Json::of(&Page {
                query: Some(&query),
                chat: Some(chat.to_string()),
                ..reply
            })
        })
    }
}
