//! `subscriptions`: the chats the gateway is subscribed to, read from the join map: for
//! each chat (by its marked id, the `chat.id` of the messages the stream publishes), the
//! accounts recorded in it, when and how each joined (`api` through `join`, `telegram`
//! when seen in an update).
//!
//! The join map, not Telegram, is the answer because it is what the live stream filters
//! on: a chat an account sits in but nobody joined through the gateway (nor was added to
//! while it streamed) is not published, so it is not a subscription. Reading it costs no
//! Telegram call, so polling this method cannot get an account flood-limited.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use tgc_model::joinmap::Subscription;

use crate::handler::error::ApiError;
use crate::handler::route::{Context, Handler, Reply};

pub struct Subscriptions;

impl Handler for Subscriptions {
    fn params(&self) -> &'static [&'static str] {
        &[]
    }

    fn post<'a>(&'a self, cx: &'a Context) -> Reply<'a> {
        Box::pin(async move {
            let joinmap = &cx.joinmap;
            let recorded = joinmap.subscriptions().map_err(|error| {
                ApiError::internal(format!("reading the join map failed: {error}"))
            })?;
            Ok(json!({ "subscriptions": by_chat(&recorded) }).into())
        })
    }
}

/// One entry per chat, in chat id order, each with its accounts in account order.
fn by_chat(recorded: &[Subscription]) -> Vec<Value> {
    let mut chats: BTreeMap<i64, Vec<Value>> = BTreeMap::new();
    for subscription in recorded {
        chats
            .entry(subscription.chat_id())
            .or_default()
            .push(json!({
                "account": subscription.account.0,
                "joined_at": subscription.joined_at,
                "how": subscription.how.as_str(),
            }));
    }
    chats
        .into_iter()
        .map(|(id, accounts)| json!({ "id": id, "accounts": accounts }))
        .collect()
}

#[cfg(test)]
mod tests {
    use tgc_model::joinmap::JoinHow;
    use tgc_model::teleclient::{AccountId, PeerId};

    use super::*;

    #[test]
    fn each_chat_lists_its_accounts_with_when_and_how() {
        let news = PeerId::channel_unchecked(100_001);
        let recorded = [
            Subscription {
                chat: news,
                account: AccountId(1),
                joined_at: 1_700_000_000,
                how: JoinHow::Api,
            },
            Subscription {
                chat: news,
                account: AccountId(2),
                joined_at: 1_700_000_100,
                how: JoinHow::Telegram,
            },
            Subscription {
                chat: PeerId::chat_unchecked(500),
                account: AccountId(2),
                joined_at: 1_700_000_200,
                how: JoinHow::Api,
            },
        ];
        let chats = by_chat(&recorded);
        assert_eq!(
            Value::Array(chats),
            json!([
                { "id": -1_000_000_100_001_i64, "accounts": [
                    { "account": 1, "joined_at": 1_700_000_000, "how": "api" },
                    { "account": 2, "joined_at": 1_700_000_100, "how": "telegram" },
                ]},
                { "id": -500, "accounts": [
                    { "account": 2, "joined_at": 1_700_000_200, "how": "api" },
                ]},
            ])
        );
    }
}
