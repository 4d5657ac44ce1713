//! `messages`: messages of a chat by id (`channels.getMessages` for channels and
//! supergroups, `messages.getMessages` for users and basic groups, whose ids are per
//! account). Ids Telegram does not have come back in `missing`.

use serde::Serialize;
use tgc_model::teleclient::tl;

use super::page::{message_id, parse_all};
use super::peer::{Kind, bare_id};
use crate::handler::route::{Context, Handler, Json, Reply};
use crate::parser::{ParseContext, ParsedMessage};

/// The `messages` reply: the messages found, in Telegram's order, and the ids that were not.
#[derive(Debug, Serialize)]
struct Found<'a> {
    chat: String,
    account: i64,
    messages: Vec<ParsedMessage<'a>>,
    missing: Vec<i32>,
}

pub struct Messages;

/// Telegram answers at most 100 ids per call.
const MAX_IDS: usize = 100;

impl Handler for Messages {
    fn params(&self) -> &'static [&'static str] {
        &["chat", "ids"]
    }

    fn post<'a>(&'a self, cx: &'a Context) -> Reply<'a> {
        Box::pin(async move {
            let chat = cx.params.chat("chat")?;
            let ids = cx.params.message_ids("ids", MAX_IDS)?;
            let kind = Kind::of(&cx.pool.resolve(&chat).await?.peer);
            let method = match kind {
                Kind::Channel => "channels.getMessages",
                Kind::User | Kind::Group => "messages.getMessages",
            };
            let input: Vec<tl::enums::InputMessage> = ids
                .iter()
                .map(|&id| tl::enums::InputMessage::Id(tl::types::InputMessageId { id }))
                .collect();
            let served = cx
                .pool
                .run(&chat, method, |client, peer| {
                    let id = input.clone();
                    async move {
                        let answer = match Kind::of(&peer) {
                            Kind::Channel => {
                                client
                                    .invoke(&tl::functions::channels::GetMessages {
                                        channel: (&peer).into(),
                                        id,
                                    })
                                    .await?
                            }
                            Kind::User | Kind::Group => {
                                client
                                    .invoke(&tl::functions::messages::GetMessages { id })
                                    .await?
                            }
                        };
                        Ok((answer, peer))
                    }
                })
                .await?;
            let (answer, peer) = &served.value;
            // Outside channels ids are the account's own message box: keep this chat's only.
            let wanted = bare_id(peer);
            let parse = ParseContext::from_messages(answer, served.account)
                .with_media_hook(cx.media_hook());
            let messages = parse_all(answer, &parse, |m| in_chat(m, kind, wanted));
            let found: Vec<i32> = crate::parser::messages_of(answer)
                .iter()
                .filter(|m| in_chat(m, kind, wanted))
                .map(message_id)
                .collect();
            let missing: Vec<i32> = ids
                .iter()
                .copied()
                .filter(|id| !found.contains(id))
                .collect();
            Json::of(&Found {
                chat: chat.to_string(),
                account: served.account.0,
                messages,
                missing,
            })
        })
    }
}

/// Whether a message belongs to the chat asked about.
fn in_chat(message: &tl::enums::Message, kind: Kind, wanted: i64) -> bool {
    let peer = match message {
        // An empty message is a missing id, whatever peer it names.
        tl::enums::Message::Empty(_) => return false,
        tl::enums::Message::Message(m) => &m.peer_id,
        tl::enums::Message::Service(m) => &m.peer_id,
    };
    match (peer, kind) {
        (tl::enums::Peer::Channel(p), Kind::Channel) => p.channel_id == wanted,
        (tl::enums::Peer::Chat(p), Kind::Group) => p.chat_id == wanted,
        (tl::enums::Peer::User(p), Kind::User) => p.user_id == wanted,
        _ => false,
    }
}
