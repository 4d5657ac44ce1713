//! New keys for the keyring, in the form `crypto.keys` reads: `key_id:base64(32 bytes)`.
//!
//! Lives beside the cryptor rather than in the binary so the format written here and the one
//! read by the configuration are tested against each other in one crate.

use base64::Engine;
use rand::RngCore;
use tgc_common::Secret;
use tgc_common::config::CryptoKey;

/// A fresh key: 32 bytes and a key id, both from the operating system's CSPRNG.
///
/// The id is random so that keys made on different machines rarely collide in a keyring.
pub fn generate() -> CryptoKey {
    let mut rng = rand::rngs::OsRng;
    let mut key = [0u8; 32];
    rng.fill_bytes(&mut key);
    CryptoKey {
        id: rng.next_u32(),
        key: Secret::new(key),
    }
}

/// `key_id:base64`, one keyring entry as `crypto.keys` reads it.
pub fn config_value(key: &CryptoKey) -> String {
    format!(
        "{}:{}",
        key.id,
        base64::engine::general_purpose::STANDARD.encode(key.key.expose())
    )
}

/// The full configuration line, `crypto.keys = key_id:base64`.
pub fn config_line(key: &CryptoKey) -> String {
    format!("crypto.keys = {}", config_value(key))
}
