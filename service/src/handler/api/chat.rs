//! `chat`: the full information of a chat, channel or user (`channels.getFullChannel`,
//! `messages.getFullChat`, `users.getFullUser`, by the peer's kind).

use serde_json::{Value, json};
use tgc_model::teleclient::{Client, InvocationError, PeerRef, tl};

use super::peer::{Kind, bare, bare_id, describe};
use crate::handler::route::{Context, Handler, Reply};

pub struct Chat;

impl Handler for Chat {
    fn params(&self) -> &'static [&'static str] {
        &["chat"]
    }

    fn post<'a>(&'a self, cx: &'a Context) -> Reply<'a> {
        Box::pin(async move {
            let chat = cx.params.chat("chat")?;
            let method = match cx.pool.resolve(&chat).await.map(|r| Kind::of(&r.peer))? {
                Kind::Channel => "channels.getFullChannel",
                Kind::Group => "messages.getFullChat",
                Kind::User => "users.getFullUser",
            };
            let served = cx.pool.run(&chat, method, full_info).await?;
            let mut reply = served.value;
            reply["account"] = json!(served.account.0);
            Ok(reply.into())
        })
    }
}

async fn full_info(client: Client, peer: PeerRef) -> Result<Value, InvocationError> {
    let described = |chats: &[tl::enums::Chat], users: &[tl::enums::User]| {
        describe(&peer, chats, users).unwrap_or_else(|| bare(&peer))
    };
    Ok(match Kind::of(&peer) {
        Kind::Channel => {
            let tl::enums::messages::ChatFull::Full(full) = client
                .invoke(&tl::functions::channels::GetFullChannel {
                    channel: (&peer).into(),
                })
                .await?;
            let mut reply = json!({ "chat": described(&full.chats, &full.users) });
            add_full_chat(&mut reply, &full.full_chat);
            reply
        }
        Kind::Group => {
            let tl::enums::messages::ChatFull::Full(full) = client
                .invoke(&tl::functions::messages::GetFullChat {
                    chat_id: bare_id(&peer),
                })
                .await?;
            let mut reply = json!({ "chat": described(&full.chats, &full.users) });
            add_full_chat(&mut reply, &full.full_chat);
            reply
        }
        Kind::User => {
            let tl::enums::users::UserFull::Full(full) = client
                .invoke(&tl::functions::users::GetFullUser { id: (&peer).into() })
                .await?;
            let tl::enums::UserFull::Full(user) = &full.full_user;
            json!({
                "chat": described(&full.chats, &full.users),
                "about": user.about,
                "pinned_msg_id": user.pinned_msg_id,
                "common_chats_count": user.common_chats_count,
            })
        }
    })
}

fn add_full_chat(reply: &mut Value, full: &tl::enums::ChatFull) {
    match full {
        tl::enums::ChatFull::ChannelFull(c) => {
            reply["about"] = json!(c.about);
            reply["participants_count"] = json!(c.participants_count);
            reply["admins_count"] = json!(c.admins_count);
            reply["online_count"] = json!(c.online_count);
            reply["linked_chat_id"] = json!(c.linked_chat_id.and_then(channel_marked));
            reply["pinned_msg_id"] = json!(c.pinned_msg_id);
            reply["slowmode_seconds"] = json!(c.slowmode_seconds);
        }
        tl::enums::ChatFull::Full(c) => {
            reply["about"] = json!(c.about);
            let members = match &c.participants {
                tl::enums::ChatParticipants::Participants(p) => Some(p.participants.len()),
                tl::enums::ChatParticipants::Forbidden(_) => None,
            };
            reply["participants_count"] = json!(members);
            reply["pinned_msg_id"] = json!(c.pinned_msg_id);
        }
        tl::enums::ChatFull::CommunityFull(_) => {
            reply["about"] = Value::Null;
        }
    }
}

/// A channel's marked id (`-100…`) from its bare id.
fn channel_marked(id: i64) -> Option<i64> {
    id.checked_add(1_000_000_000_000).and_then(i64::checked_neg)
}
