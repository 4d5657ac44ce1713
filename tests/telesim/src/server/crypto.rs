//! MTProto 2.0 message encryption, seen from the server's side.
//!
//! grammers-crypto only ships the client's half (`encrypt_data_v2` encrypts as a client,
//! `decrypt_data_v2` decrypts as a client), so the server's half lives here: it decrypts with
//! x = 0 (client → server) and encrypts with x = 8 (server → client). The AES-IGE primitive is
//! grammers-crypto's; only the key derivation and the framing around it are written out.

use grammers_crypto::aes;
use rand::RngCore;
use sha1::Sha1;
use sha2::{Digest, Sha256};

/// The offset `x` of the MTProto 2.0 key derivation for messages from client to server.
const FROM_CLIENT: usize = 0;
/// The offset `x` of the MTProto 2.0 key derivation for messages from server to client.
const FROM_SERVER: usize = 8;

/// `auth_key_id` (8) and `msg_key` (16) precede the ciphertext.
const ENVELOPE_HEADER_LEN: usize = 8 + 16;

/// Why an encrypted message could not be opened.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DecryptError {
    #[error(
        "an encrypted message must be 24 header bytes plus a multiple of 16 bytes, got {0} bytes"
    )]
    BadLength(usize),
    #[error("the message is for auth key id {got}, but this key has id {expected}")]
    WrongKey { expected: i64, got: i64 },
    #[error("msg_key does not match the decrypted plaintext (wrong key or corrupted message)")]
    MsgKeyMismatch,
}

/// A permanent authorization key with its id precomputed.
#[derive(Clone)]
pub struct AuthKey {
    data: [u8; 256],
    id: i64,
}

impl AuthKey {
    pub fn new(data: [u8; 256]) -> AuthKey {
        AuthKey {
            id: auth_key_id(&data),
            data,
        }
    }

    pub fn id(&self) -> i64 {
        self.id
    }

    /// Opens a client message (`auth_key_id | msg_key | ciphertext`), returning the plaintext
    /// (`salt | session_id | message | padding`).
    pub fn decrypt_from_client(&self, envelope: &[u8]) -> Result<Vec<u8>, DecryptError> {
        if envelope.len() < ENVELOPE_HEADER_LEN + 16
            || !(envelope.len() - ENVELOPE_HEADER_LEN).is_multiple_of(16)
        {
            return Err(DecryptError::BadLength(envelope.len()));
        }
        let got = envelope_key_id(envelope).unwrap_or_default();
        if got != self.id {
            return Err(DecryptError::WrongKey {
                expected: self.id,
                got,
            });
        }
        let mut msg_key = [0u8; 16];
        msg_key.copy_from_slice(&envelope[8..ENVELOPE_HEADER_LEN]);
        let (key, iv) = derive_aes(&self.data, &msg_key, FROM_CLIENT);
        let mut plaintext = envelope[ENVELOPE_HEADER_LEN..].to_vec();
        aes::ige_decrypt(&mut plaintext, &key, &iv);
        if compute_msg_key(&self.data, &plaintext, FROM_CLIENT) != msg_key {
            return Err(DecryptError::MsgKeyMismatch);
        }
        Ok(plaintext)
    }

    /// Seals a server message: pads `plaintext` (`salt | session_id | message`) with 12–1024
    /// random bytes to a multiple of 16 and returns `auth_key_id | msg_key | ciphertext`.
    pub fn encrypt_from_server(&self, plaintext: &[u8]) -> Vec<u8> {
        // 16 + (16 - len % 16) is in 17..=32: at least the 12 bytes MTProto 2.0 requires.
        let padding = 16 + (16 - plaintext.len() % 16);
        let mut body = Vec::with_capacity(ENVELOPE_HEADER_LEN + plaintext.len() + padding);
        body.extend_from_slice(plaintext);
        let mut random = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut random);
        body.extend_from_slice(&random[..padding]);

        let msg_key = compute_msg_key(&self.data, &body, FROM_SERVER);
        let (key, iv) = derive_aes(&self.data, &msg_key, FROM_SERVER);
        aes::ige_encrypt(&mut body, &key, &iv);

        let mut envelope = Vec::with_capacity(ENVELOPE_HEADER_LEN + body.len());
        envelope.extend_from_slice(&self.id.to_le_bytes());
        envelope.extend_from_slice(&msg_key);
        envelope.extend_from_slice(&body);
        envelope
    }
}

/// `auth_key_id = SHA1(auth_key)[12..20]`, read as a little-endian i64 like on the wire.
pub fn auth_key_id(key: &[u8; 256]) -> i64 {
    let sha = Sha1::digest(key);
    let mut id = [0u8; 8];
    id.copy_from_slice(&sha[12..20]);
    i64::from_le_bytes(id)
}

/// The auth key id an envelope (or any MTProto payload) starts with; 0 means unencrypted.
pub fn envelope_key_id(payload: &[u8]) -> Option<i64> {
    let bytes: [u8; 8] = payload.get(..8)?.try_into().ok()?;
    Some(i64::from_le_bytes(bytes))
}

/// `msg_key = SHA256(auth_key[88+x .. 120+x] ‖ padded plaintext)[8..24]`.
fn compute_msg_key(key: &[u8; 256], padded: &[u8], x: usize) -> [u8; 16] {
    let large = Sha256::new()
        .chain_update(&key[88 + x..120 + x])
        .chain_update(padded)
        .finalize();
    let mut msg_key = [0u8; 16];
    msg_key.copy_from_slice(&large[8..24]);
    msg_key
}

/// The MTProto 2.0 `(aes_key, aes_iv)` for a message key and direction.
fn derive_aes(key: &[u8; 256], msg_key: &[u8; 16], x: usize) -> ([u8; 32], [u8; 32]) {
    let a = Sha256::new()
        .chain_update(msg_key)
        .chain_update(&key[x..x + 36])
        .finalize();
    let b = Sha256::new()
        .chain_update(&key[40 + x..76 + x])
        .chain_update(msg_key)
        .finalize();
    let mut aes_key = [0u8; 32];
    aes_key[..8].copy_from_slice(&a[..8]);
    aes_key[8..24].copy_from_slice(&b[8..24]);
    aes_key[24..].copy_from_slice(&a[24..]);
    let mut iv = [0u8; 32];
    iv[..8].copy_from_slice(&b[..8]);
    iv[8..24].copy_from_slice(&a[8..24]);
    iv[24..].copy_from_slice(&b[24..]);
    (aes_key, iv)
}

#[cfg(test)]
mod tests {
    use super::*;
    use grammers_crypto::DequeBuffer;

    fn key() -> [u8; 256] {
        std::array::from_fn(|i| (i * 7 + 3) as u8)
    }

    #[test]
    fn key_id_matches_grammers() {
        // grammers-crypto writes the key id in front of what it encrypts; compare with ours.
        let mut buffer = DequeBuffer::with_capacity(16, 64);
        buffer.extend([0u8; 16]);
        grammers_crypto::encrypt_data_v2(&mut buffer, &grammers_crypto::AuthKey::from_bytes(key()));
        assert_eq!(envelope_key_id(&buffer[..]), Some(auth_key_id(&key())));
    }

    #[test]
    fn decrypts_what_the_grammers_client_encrypts() {
        let plaintext: Vec<u8> = (0..40u8).collect();
        let mut buffer = DequeBuffer::with_capacity(plaintext.len(), 64);
        buffer.extend(plaintext.iter().copied());
        grammers_crypto::encrypt_data_v2(&mut buffer, &grammers_crypto::AuthKey::from_bytes(key()));

        let opened = AuthKey::new(key())
            .decrypt_from_client(&buffer[..])
            .unwrap();
        assert_eq!(&opened[..plaintext.len()], &plaintext[..]);
        assert!(opened.len() - plaintext.len() >= 12);
    }

    #[test]
    fn the_grammers_client_decrypts_what_the_server_encrypts() {
        let plaintext: Vec<u8> = (0..48u8).collect();
        let mut sealed = AuthKey::new(key()).encrypt_from_server(&plaintext);
        let opened = grammers_crypto::decrypt_data_v2(
            &mut sealed,
            &grammers_crypto::AuthKey::from_bytes(key()),
        )
        .unwrap();
        assert_eq!(&opened[..plaintext.len()], &plaintext[..]);
        assert_eq!(opened.len() % 16, 0);
    }

    #[test]
    fn a_tampered_message_is_rejected() {
        let mut buffer = DequeBuffer::with_capacity(32, 64);
        buffer.extend([5u8; 32]);
        grammers_crypto::encrypt_data_v2(&mut buffer, &grammers_crypto::AuthKey::from_bytes(key()));
        let mut tampered = buffer[..].to_vec();
        let last = tampered.len() - 1;
        tampered[last] ^= 1;
        assert_eq!(
            AuthKey::new(key()).decrypt_from_client(&tampered),
            Err(DecryptError::MsgKeyMismatch)
        );
    }

    #[test]
    fn bad_lengths_and_foreign_keys_are_rejected() {
        let key = AuthKey::new(key());
        assert_eq!(
            key.decrypt_from_client(&[0u8; 30]),
            Err(DecryptError::BadLength(30))
        );
        let mut foreign = vec![0u8; 24 + 32];
        foreign[..8].copy_from_slice(&42i64.to_le_bytes());
        assert_eq!(
            key.decrypt_from_client(&foreign),
            Err(DecryptError::WrongKey {
                expected: key.id(),
                got: 42
            })
        );
    }
}
