//! What the parser's tests share: the shipped JSON Schema as a validator, and a telesim world
//! read through a real grammers client, the way the gateway's accounts read Telegram.

use serde_json::Value;
use tgc_model::teleclient::tl;
use tgc_service::parser::MESSAGE_SCHEMA_V1;

pub use testkit::connected::{Connected, connect};
pub use testkit::guarded;

/// The shipped schema, compiled with format checks (`date-time`) on.
pub fn schema_validator() -> jsonschema::Validator {
    let schema: Value =
        serde_json::from_str(MESSAGE_SCHEMA_V1).expect("schema/message.v1.json is JSON");
    jsonschema::draft202012::options()
        .should_validate_formats(true)
        .build(&schema)
        .unwrap_or_else(|e| panic!("schema/message.v1.json does not compile: {e}"))
}

/// Panics with every schema violation of `message`, naming where each is.
pub fn assert_valid(validator: &jsonschema::Validator, message: &Value) {
    let errors: Vec<String> = validator
        .iter_errors(message)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "message does not match the schema:\n{}\n{message:#}",
        errors.join("\n")
    );
}

/// The input peer `viewer` uses for a chat of the world (channels need the viewer's hash).
pub fn input_peer(
    sim_seed: u64,
    viewer: i64,
    chat_id: i64,
    is_channel: bool,
) -> tl::enums::InputPeer {
    if is_channel {
        tl::enums::InputPeer::Channel(tl::types::InputPeerChannel {
            channel_id: chat_id,
            access_hash: telesim::api::access_hash(sim_seed, viewer, chat_id),
        })
    } else {
        tl::enums::InputPeer::Chat(tl::types::InputPeerChat { chat_id })
    }
}

/// The newest `limit` messages of a chat (`messages.getHistory`), as Telegram returns them.
pub async fn history(
    connected: &Connected,
    peer: tl::enums::InputPeer,
    limit: i32,
) -> tl::enums::messages::Messages {
    let request = tl::functions::messages::GetHistory {
        peer,
        offset_id: 0,
        offset_date: 0,
        add_offset: 0,
        limit,
        max_id: 0,
        min_id: 0,
        hash: 0,
    };
    guarded("messages.getHistory", connected.client.invoke(&request))
        .await
        .expect("messages.getHistory succeeds")
}

/// The parsed message with `id` in a list of parsed messages.
pub fn by_id(messages: &[Value], id: i64) -> &Value {
    messages
        .iter()
        .find(|m| m["id"] == id)
        .unwrap_or_else(|| panic!("no message {id} among {} parsed", messages.len()))
}

/// The UTF-16 offset and length of the first `needle` in `text`, as Telegram counts them.
pub fn utf16_span(text: &str, needle: &str) -> (i32, i32) {
    let start = text.find(needle).expect("needle is in the text");
    let units = |s: &str| i32::try_from(s.encode_utf16().count()).expect("short text");
    (units(&text[..start]), units(needle))
}
