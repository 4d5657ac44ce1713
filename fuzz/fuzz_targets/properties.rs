//! Any text as `config.properties` (and as the values of `TGC_*` variables): settings or
//! errors naming the line, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tgc_common::Settings;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let env = |name: &str| {
        (name == "TGC_SERVER_REQUEST_TIMEOUT").then(|| text.lines().next().unwrap_or("").to_owned())
    };
    let _ = Settings::from_text(&text, std::path::Path::new("/fuzz/config.properties"), &env);
    let _ = tgc_common::properties::Properties::parse(&text);
});
