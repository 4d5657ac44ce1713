//! The keyring: every configured key, ready to use, looked up by key id.
//!
//! Rotation works by holding several keys at once: a request may be sealed with any of them,
//! its reply is sealed with the same one, and new requests are sealed with the first. A key is
//! expanded into AES round keys once, here, rather than per request.

use std::sync::Arc;

use aes_gcm::Aes256Gcm;
use aes_gcm::aead::{Aead, Key, KeyInit, Nonce, Payload};
use tgc_common::config::CryptoKey;

use super::error::{CryptorError, EnvelopeError};
use super::wire::NONCE_LEN;

/// One key, expanded; cheap to clone and share with the request it opened.
#[derive(Clone)]
pub struct SealingKey {
    pub id: u32,
    cipher: Arc<Aes256Gcm>,
}

impl std::fmt::Debug for SealingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SealingKey")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl SealingKey {
    pub fn new(key: &CryptoKey) -> SealingKey {
        let bytes: Key<Aes256Gcm> = (*key.key.expose()).into();
        SealingKey {
            id: key.id,
            cipher: Arc::new(Aes256Gcm::new(&bytes)),
        }
    }

    /// `ciphertext | tag` of `plaintext` under `nonce` and `aad`.
    pub fn seal(&self, nonce: &[u8; NONCE_LEN], aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
        let nonce: Nonce<Aes256Gcm> = (*nonce).into();
        self.cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: plaintext,
                    aad,
                },
            )
            // AES-GCM refuses only messages over 64 GiB, far beyond any body this server
            // builds or accepts.
            .expect("AES-GCM seals any message under 64 GiB")
    }

    /// The plaintext of `ciphertext | tag`, if the tag verifies for `nonce` and `aad`.
    pub fn open(
        &self,
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        ciphertext_and_tag: &[u8],
    ) -> Result<Vec<u8>, EnvelopeError> {
        let nonce: Nonce<Aes256Gcm> = (*nonce).into();
        self.cipher
            .decrypt(
                &nonce,
                Payload {
                    msg: ciphertext_and_tag,
                    aad,
                },
            )
            .map_err(|_| EnvelopeError::Unauthentic)
    }
}

/// The configured keys, in configuration order.
#[derive(Debug, Clone)]
pub struct Keyring {
    keys: Vec<SealingKey>,
}

impl Keyring {
    /// Expands every key; an empty keyring is an error since nothing could be opened.
    pub fn new(keys: &[CryptoKey]) -> Result<Keyring, CryptorError> {
        if keys.is_empty() {
            return Err(CryptorError::NoKeys);
        }
        Ok(Keyring {
            keys: keys.iter().map(SealingKey::new).collect(),
        })
    }

    /// The key new requests are sealed with.
    pub fn first(&self) -> &SealingKey {
        // `new` refuses an empty keyring.
        &self.keys[0]
    }

    pub fn get(&self, id: u32) -> Option<&SealingKey> {
        self.keys.iter().find(|key| key.id == id)
    }

    /// The key ids, in order (for logs: ids are not secret).
    pub fn ids(&self) -> Vec<u32> {
        self.keys.iter().map(|key| key.id).collect()
    }
}
