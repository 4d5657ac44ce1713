//! Any bytes as Telegram's TL answer to a history call and as one message: deserialized by
//! grammers' types (or refused), then parsed into the message schema, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tgc_model::teleclient::{AccountId, tl};
use tgc_service::parser::{ParseContext, messages_of, parse_message};
use tl::Deserializable;

fuzz_target!(|data: &[u8]| {
    if let Ok(answer) = tl::enums::messages::Messages::from_bytes(data) {
        let cx = ParseContext::from_messages(&answer, AccountId(1));
        for message in messages_of(&answer) {
            let _ = parse_message(message, &cx);
        }
    }
    if let Ok(message) = tl::enums::Message::from_bytes(data) {
        let _ = parse_message(&message, &ParseContext::new(AccountId(1)));
    }
});
