//! Shared helpers for the envelope tests: cryptors with known keys, a clock, and a second,
//! hand-built sealer (straight on `aes-gcm`) for plaintexts the public API would never produce.

use std::time::Duration;

use aes_gcm::aead::{Aead, KeyInit, Nonce, Payload};
use aes_gcm::{Aes256Gcm, Key};
use tgc_common::Secret;
use tgc_common::config::{CryptoKey, CryptoSettings};
use tgc_service::cryptor::Cryptor;

/// A fixed instant, unix ms, for tests that do not care which.
pub const NOW: i64 = 1_700_000_000_000;
/// The default clock window, in ms.
pub const WINDOW_MS: i64 = 60_000;

/// A key whose 32 bytes are all `byte`.
pub fn key(id: u32, byte: u8) -> CryptoKey {
    CryptoKey {
        id,
        key: Secret::new([byte; 32]),
    }
}

/// A cryptor over `keys` with a 60 s window.
pub fn cryptor(keys: &[CryptoKey]) -> Cryptor {
    Cryptor::from_settings(&CryptoSettings {
        keys: keys.to_vec(),
        clock_window: Duration::from_millis(WINDOW_MS as u64),
    })
    .expect("a non-empty keyring")
}

pub fn history() -> &'static str {
    "POST /api/v1/history"
}

/// An envelope of arbitrary `plaintext` for `route`, sealed by hand (not by the code under test).
pub fn seal_raw(key: &CryptoKey, nonce: [u8; 12], route: &str, plaintext: &[u8]) -> Vec<u8> {
    let mut aad = vec![1u8];
    aad.extend_from_slice(&key.id.to_be_bytes());
    aad.extend_from_slice(route.as_bytes());
    let cipher = Aes256Gcm::new(&Key::<Aes256Gcm>::from(*key.key.expose()));
    let body = cipher
        .encrypt(
            &Nonce::<Aes256Gcm>::from(nonce),
            Payload {
                msg: plaintext,
                aad: &aad,
            },
        )
        .expect("a short message seals");
    let mut sealed = vec![1u8];
    sealed.extend_from_slice(&key.id.to_be_bytes());
    sealed.extend_from_slice(&nonce);
    sealed.extend_from_slice(&body);
    sealed
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

pub fn unhex(text: &str) -> Vec<u8> {
    assert!(text.len().is_multiple_of(2), "hex of odd length: {text:?}");
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex"))
        .collect()
}
