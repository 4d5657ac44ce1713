//! `subscriptions`: the channels and groups the pool's accounts are members of, each with the
//! accounts in it, read from every active account's dialogs (`messages.getDialogs`).
//!
//! Every account is asked because membership is per account; an account that fails is
//! reported in `errors` and the others still answer, so one bad account does not hide the
//! rest.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use tgc_model::teleclient::{AccountState, tl};

use super::peer::chat_id;
use crate::handler::route::{Context, Handler, Reply};
use crate::parser::parse_chat;

pub struct Subscriptions;

/// Dialogs read per account: one page of Telegram's maximum.
const DIALOGS: i32 = 100;

impl Handler for Subscriptions {
    fn params(&self) -> &'static [&'static str] {
        &[]
    }

    fn post<'a>(&'a self, cx: &'a Context) -> Reply<'a> {
        Box::pin(async move {
            let mut chats: BTreeMap<i64, (Value, Vec<i64>)> = BTreeMap::new();
            let mut errors = Vec::new();
            for account in cx.pool.accounts() {
                if account.state() != AccountState::Active {
                    continue;
                }
                account.pace().await;
                let answer = account
                    .client()
                    .invoke(&tl::functions::messages::GetDialogs {
                        exclude_pinned: false,
                        folder_id: None,
                        offset_date: 0,
                        offset_id: 0,
                        offset_peer: tl::enums::InputPeer::Empty,
                        limit: DIALOGS,
                        hash: 0,
                    })
                    .await;
                let found = match answer {
                    Ok(tl::enums::messages::Dialogs::Dialogs(d)) => d.chats,
                    Ok(tl::enums::messages::Dialogs::Slice(d)) => d.chats,
                    Ok(tl::enums::messages::Dialogs::NotModified(_)) => Vec::new(),
                    Err(error) => {
                        errors.push(
                            json!({ "account": account.id().0, "message": error.to_string() }),
                        );
                        continue;
                    }
                };
                for chat in &found {
                    if is_member(chat) {
                        let entry = chats
                            .entry(chat_id(chat))
                            .or_insert_with(|| (parse_chat(chat), Vec::new()));
                        entry.1.push(account.id().0);
                    }
                }
            }
            let subscriptions: Vec<Value> = chats
                .into_values()
                .map(|(mut chat, accounts)| {
                    chat["accounts"] = json!(accounts);
                    chat
                })
                .collect();
            Ok(json!({ "subscriptions": subscriptions, "errors": errors }))
        })
    }
}

/// Whether the account is in the chat (dialogs also list chats it left or was removed from).
fn is_member(chat: &tl::enums::Chat) -> bool {
    match chat {
        tl::enums::Chat::Chat(c) => !c.left && !c.deactivated,
        tl::enums::Chat::Channel(c) => !c.left,
        _ => false,
    }
}
