//! `similar`: channels Telegram recommends beside a channel
//! (`channels.getChannelRecommendations`).

use serde_json::json;
use tgc_model::teleclient::tl;

use super::peer::Kind;
use crate::handler::error::ApiError;
use crate::handler::route::{Context, Handler, Reply};
use crate::parser::parse_chat;

pub struct Similar;

impl Handler for Similar {
    fn params(&self) -> &'static [&'static str] {
        &["chat"]
    }

    fn post<'a>(&'a self, cx: &'a Context) -> Reply<'a> {
        Box::pin(async move {
            let chat = cx.params.chat("chat")?;
            let kind = Kind::of(&cx.pool.resolve(&chat).await?.peer);
            if kind != Kind::Channel {
                return Err(ApiError::bad_params(format!(
                    "`chat` {chat} is a {}; recommendations exist for channels only",
                    kind.name()
                )));
            }
            let served = cx
                .pool
                .run(
                    &chat,
                    "channels.getChannelRecommendations",
                    |client, peer| async move {
                        client
                            .invoke(&tl::functions::channels::GetChannelRecommendations {
                                channel: Some((&peer).into()),
                            })
                            .await
                    },
                )
                .await?;
            let (chats, count) = match &served.value {
                tl::enums::messages::Chats::Chats(c) => (&c.chats, c.chats.len()),
                tl::enums::messages::Chats::Slice(c) => {
                    (&c.chats, usize::try_from(c.count).unwrap_or(0))
                }
            };
            Ok(json!({
                "chat": chat.to_string(),
                "account": served.account.0,
                "similar": chats.iter().map(parse_chat).collect::<Vec<_>>(),
                "count": count,
            })
            .into())
        })
    }
}
