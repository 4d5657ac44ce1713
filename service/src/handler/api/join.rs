//! `join`: an account of the pool joins a public channel or supergroup
//! (`channels.joinChannel`). The account the pool picks is the one that holds the chat, so a
//! later `leave` lands on the same account. The join is recorded in the join map
//! (`how = api`), which is what makes the live stream publish the chat's messages.

use serde_json::{Value, json};
use tgc_model::joinmap::{JoinHow, JoinMap};
use tgc_model::teleclient::tl;

use super::peer::{Kind, bare, describe};
use crate::handler::error::ApiError;
use crate::handler::route::{Context, Handler, Reply};

pub struct Join;

impl Handler for Join {
    fn params(&self) -> &'static [&'static str] {
        &["chat"]
    }

    fn post<'a>(&'a self, cx: &'a Context) -> Reply<'a> {
        Box::pin(async move {
            let chat = cx.params.chat("chat")?;
            let joinmap: &JoinMap = &cx.joinmap;
            channel_only(cx, &chat, "joined").await?;
            let served = cx
                .pool
                .run(&chat, "channels.joinChannel", |client, peer| async move {
                    let joined = client
                        .invoke(&tl::functions::channels::JoinChannel {
                            channel: (&peer).into(),
                        })
                        .await?;
                    let described = match joined {
                        tl::enums::messages::ChatInviteJoinResult::Ok(ok) => {
                            chat_in_updates(&ok.updates, &peer)
                        }
                        // A join that asks for a bot's web view first: joined, nothing to show.
                        tl::enums::messages::ChatInviteJoinResult::WebView(_) => bare(&peer),
                    };
                    Ok((described, peer.id))
                })
                .await?;
            let (described, chat_peer) = served.value;
            joinmap
                .record_join(chat_peer, served.account, JoinHow::Api)
                .map_err(|error| {
                    ApiError::internal(format!(
                        "account {} joined {chat} but recording it failed: {error}",
                        served.account.0
                    ))
                })?;
            Ok(json!({
                "joined": true,
                "chat": described,
                "account": served.account.0,
            })
            .into())
        })
    }
}

/// Refuses users and basic groups: only channels and supergroups are joined by name.
pub async fn channel_only(
    cx: &Context,
    chat: &tgc_model::teleclient::ChatRef,
    verb: &str,
) -> Result<(), ApiError> {
    let kind = Kind::of(&cx.pool.resolve(chat).await?.peer);
    if kind == Kind::Channel {
        return Ok(());
    }
    Err(ApiError::bad_params(format!(
        "`chat` {chat} is a {}; only channels and supergroups can be {verb}",
        kind.name()
    )))
}

/// The chat as the updates of a join or leave describe it.
pub fn chat_in_updates(
    updates: &tl::enums::Updates,
    peer: &tgc_model::teleclient::PeerRef,
) -> Value {
    let described = match updates {
        tl::enums::Updates::Updates(u) => describe(peer, &u.chats, &u.users),
        tl::enums::Updates::Combined(u) => describe(peer, &u.chats, &u.users),
        _ => None,
    };
    described.unwrap_or_else(|| bare(peer))
}
