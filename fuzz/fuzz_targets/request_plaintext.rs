//! Any bytes as the plaintext of an authentic request (sealed here with the server's key):
//! the plaintext JSON, its `ts`, `id` and `params` are checked without a panic.
#![no_main]

use aes_gcm::Aes256Gcm;
use aes_gcm::aead::{Aead, Key, KeyInit, Nonce, Payload};
use libfuzzer_sys::fuzz_target;
use tgc_common::config::{CryptoKey, CryptoSettings};
use tgc_service::cryptor::{Cryptor, wire};

const KEY: [u8; 32] = [0x42; 32];
const ROUTE: &str = "POST /api/v1/history";

fuzz_target!(|data: &[u8]| {
    let cryptor = Cryptor::from_settings(&CryptoSettings {
        keys: vec![CryptoKey {
            id: 7,
            key: tgc_common::Secret::new(KEY),
        }],
        clock_window: std::time::Duration::from_secs(60),
    })
    .expect("a keyring");
    let nonce = [9u8; wire::NONCE_LEN];
    let key: Key<Aes256Gcm> = KEY.into();
    let nonce_array: Nonce<Aes256Gcm> = nonce.into();
    let sealed = Aes256Gcm::new(&key)
        .encrypt(
            &nonce_array,
            Payload {
                msg: data,
                aad: &wire::request_aad(7, ROUTE),
            },
        )
        .expect("sealed");
    let envelope = wire::assemble(wire::Header { key_id: 7, nonce }, &sealed);
    if let Ok(opened) = cryptor.open_request(ROUTE, &envelope, 1_700_000_000_000) {
        let _ = tgc_service::handler::params::Params::from_value(opened.params);
    }
});
