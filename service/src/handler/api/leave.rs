//! `leave`: an account of the pool leaves a channel or supergroup (`channels.leaveChannel`).
//! The pool routes the chat to the account that holds it, which is the one that joined it.
//! The leave is removed from the join map, so the live stream stops publishing the chat
//! once no account is recorded in it.

use serde_json::json;
use tgc_model::teleclient::tl;

use super::join::{channel_only, chat_in_updates};
use crate::handler::error::ApiError;
use crate::handler::route::{Context, Handler, Reply};

pub struct Leave;

impl Handler for Leave {
    fn params(&self) -> &'static [&'static str] {
        &["chat"]
    }

    fn post<'a>(&'a self, cx: &'a Context) -> Reply<'a> {
        Box::pin(async move {
            let chat = cx.params.chat("chat")?;
            let joinmap = &cx.joinmap;
            channel_only(cx, &chat, "left").await?;
            let served = cx
                .pool
                .run(&chat, "channels.leaveChannel", |client, peer| async move {
                    let updates = client
                        .invoke(&tl::functions::channels::LeaveChannel {
                            channel: (&peer).into(),
                        })
                        .await?;
                    Ok((chat_in_updates(&updates, &peer), peer.id))
                })
                .await?;
            let (described, chat_peer) = served.value;
            joinmap
                .record_leave(chat_peer, served.account)
                .map_err(|error| {
                    ApiError::internal(format!(
                        "account {} left {chat} but recording it failed: {error}",
                        served.account.0
                    ))
                })?;
            Ok(json!({
                "left": true,
                "chat": described,
                "account": served.account.0,
            })
            .into())
        })
    }
}
