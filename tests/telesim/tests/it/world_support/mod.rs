//! Shared helpers of the `world_*` tests: calling [`Telegram`] with typed grammers functions
//! as a given account, the way the server layer does with bytes off the wire.

use grammers_tl_types::{Deserializable, RemoteCall, enums, types};
use telesim::api::{CallContext, RpcError, Telegram};

/// grammers 0.11's layer.
pub const LAYER: i32 = 230;

/// The auth key id of an account (logged in or slot).
pub fn key_of(tg: &Telegram, user_id: i64) -> i64 {
    tg.accounts()
        .into_iter()
        .find(|a| a.user_id == user_id)
        .map(|a| a.auth_key_id)
        .unwrap_or_else(|| panic!("no account {user_id} in the world"))
}

/// Calls `request` as the account `user_id` and parses the answer.
pub fn call<R: RemoteCall>(
    tg: &Telegram,
    user_id: i64,
    request: &R,
) -> Result<R::Return, RpcError> {
    call_key(tg, key_of(tg, user_id), request)
}

/// Calls `request` on an auth key.
pub fn call_key<R: RemoteCall>(
    tg: &Telegram,
    key: i64,
    request: &R,
) -> Result<R::Return, RpcError> {
    let ctx = CallContext {
        auth_key_id: key,
        layer: LAYER,
    };
    let bytes = tg.call(&ctx, &request.to_bytes())?;
    Ok(R::Return::from_bytes(&bytes)
        .unwrap_or_else(|e| panic!("answer does not parse as the function's return type: {e}")))
}

/// The error code and message of a call that must fail.
pub fn error_of<R: RemoteCall>(tg: &Telegram, user_id: i64, request: &R) -> (i32, String) {
    match call(tg, user_id, request) {
        Ok(_) => panic!("the call succeeded but an error was expected"),
        Err(e) => (e.code, e.message),
    }
}

pub fn input_channel(tg: &Telegram, viewer: i64, channel_id: i64) -> enums::InputChannel {
    enums::InputChannel::Channel(types::InputChannel {
        channel_id,
        access_hash: tg.access_hash_for(viewer, channel_id),
    })
}

pub fn input_peer_channel(tg: &Telegram, viewer: i64, channel_id: i64) -> enums::InputPeer {
    enums::InputPeer::Channel(types::InputPeerChannel {
        channel_id,
        access_hash: tg.access_hash_for(viewer, channel_id),
    })
}

pub fn history(
    peer: enums::InputPeer,
    offset_id: i32,
    add_offset: i32,
    limit: i32,
    max_id: i32,
    min_id: i32,
) -> grammers_tl_types::functions::messages::GetHistory {
    grammers_tl_types::functions::messages::GetHistory {
        peer,
        offset_id,
        offset_date: 0,
        add_offset,
        limit,
        max_id,
        min_id,
        hash: 0,
    }
}

/// Message ids of a `messages.Messages`, in order.
pub fn ids(messages: &enums::messages::Messages) -> Vec<i32> {
    list(messages).iter().map(message_id).collect()
}

pub fn list(messages: &enums::messages::Messages) -> Vec<enums::Message> {
    match messages {
        enums::messages::Messages::Messages(m) => m.messages.clone(),
        enums::messages::Messages::Slice(m) => m.messages.clone(),
        enums::messages::Messages::ChannelMessages(m) => m.messages.clone(),
        enums::messages::Messages::NotModified(_) => Vec::new(),
    }
}

pub fn count(messages: &enums::messages::Messages) -> i32 {
    match messages {
        enums::messages::Messages::Messages(m) => m.messages.len() as i32,
        enums::messages::Messages::Slice(m) => m.count,
        enums::messages::Messages::ChannelMessages(m) => m.count,
        enums::messages::Messages::NotModified(m) => m.count,
    }
}

pub fn message_id(m: &enums::Message) -> i32 {
    match m {
        enums::Message::Empty(m) => m.id,
        enums::Message::Message(m) => m.id,
        enums::Message::Service(m) => m.id,
    }
}

/// The plain message (panics on service/empty ones).
pub fn plain(m: &enums::Message) -> types::Message {
    match m {
        enums::Message::Message(m) => m.clone(),
        other => panic!("expected a plain message, got {other:?}"),
    }
}
