//! `tgcollector keygen`'s output is a configuration line that the configuration reads back as
//! the same, working key.

use std::path::Path;

use tgc_common::Settings;
use tgc_service::cryptor::{Cryptor, keygen};

#[test]
fn a_generated_key_line_loads_as_that_key_and_seals() {
    let key = keygen::generate();
    let line = keygen::config_line(&key);
    assert!(line.starts_with("crypto.keys = "), "{line}");
    let text = format!("{line}\n");
    let settings = Settings::from_text(&text, Path::new("/nonexistent/config.properties"), &|_| {
        None
    })
    .unwrap_or_else(|errors| panic!("the generated line must load: {errors}"));
    assert_eq!(settings.crypto.keys, vec![key.clone()]);

    let cryptor = Cryptor::from_settings(&settings.crypto).expect("one key");
    let (sealed, pending) =
        cryptor.seal_request("POST /api/v1/accounts", &serde_json::json!({}), 1);
    let opened = cryptor
        .open_request("POST /api/v1/accounts", &sealed, 1)
        .expect("opens with the generated key");
    let reply = cryptor.seal_response(&opened, b"[]");
    assert_eq!(
        cryptor.open_response(&pending, &reply).expect("opens"),
        b"[]"
    );
}

#[test]
fn generated_keys_differ() {
    let (a, b) = (keygen::generate(), keygen::generate());
    assert_ne!(a.key.expose(), b.key.expose());
    assert_ne!(keygen::config_value(&a), keygen::config_value(&b));
}
