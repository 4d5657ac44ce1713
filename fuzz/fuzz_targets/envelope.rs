//! Any bytes as a sealed request: opened (or refused) without a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tgc_common::config::{CryptoKey, CryptoSettings};
use tgc_service::cryptor::Cryptor;

fuzz_target!(|data: &[u8]| {
    let cryptor = Cryptor::from_settings(&CryptoSettings {
        keys: vec![CryptoKey {
            id: 7,
            key: tgc_common::Secret::new([0x42; 32]),
        }],
        clock_window: std::time::Duration::from_secs(60),
    })
    .expect("a keyring");
    let _ = cryptor.open_request("POST /api/v1/history", data, 1_700_000_000_000);
    let _ = tgc_service::cryptor::wire::split(data);
});
