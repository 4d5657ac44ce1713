//! Any text as a chat form and any JSON as a method's params: a clear error or a value,
//! never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tgc_model::teleclient::ChatRef;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = ChatRef::parse(text);
    }
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(data)
        && let Ok(params) = tgc_service::handler::params::Params::from_value(value)
    {
        for name in [
            "chat",
            "limit",
            "offset_id",
            "min_id",
            "max_id",
            "ids",
            "query",
            "media_id",
        ] {
            let _ = params.chat(name);
            let _ = params.optional_chat(name);
            let _ = params.int(name, 0, 0..=i64::from(i32::MAX));
            let _ = params.message_ids(name, 100);
            let _ = params.string(name);
        }
    }
});
