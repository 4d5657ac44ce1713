//! `resolve`: which peer a chat name stands for, and which account holds it.
//!
//! Answered from the caches whenever an account already holds the chat (docs/design.md §4: network
//! resolves are rate-limited and risk bans), so it is cheap to call before anything else.
//! It says what the caches know (id and kind); `chat` asks Telegram for the full picture.

use serde_json::json;

use super::peer::{Kind, bare_id, peer_id};
use crate::handler::route::{Context, Handler, Reply};

pub struct Resolve;

impl Handler for Resolve {
    fn params(&self) -> &'static [&'static str] {
        &["chat"]
    }

    fn post<'a>(&'a self, cx: &'a Context) -> Reply<'a> {
        Box::pin(async move {
            let chat = cx.params.chat("chat")?;
            let resolved = cx.pool.resolve(&chat).await?;
            Ok(json!({
                "chat": {
                    "id": peer_id(&resolved.peer),
                    "bare_id": bare_id(&resolved.peer),
                    "type": Kind::of(&resolved.peer).name(),
                    "input": chat.to_string(),
                },
                "account": resolved.account.id().0,
            })
            .into())
        })
    }
}
