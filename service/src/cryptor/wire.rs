//! The byte layout of a sealed envelope and of the associated data that binds it (docs/design.md §3).
//!
//! ```text
//! sealed = version:u8 (=1) | key_id:u32 BE | nonce:12 | ciphertext | tag:16
//! AAD (request)  = version | key_id | "POST /api/v1/<method>"
//! AAD (response) = version | key_id | request nonce
//! AAD (stream)   = version | key_id | "AMQP <routing key> <message_id>"
//! ```
//!
//! Kept apart from the cryptography so the format can be read, and checked against
//! the README's envelope section, in one place. Splitting an envelope looks only at lengths and the version
//! byte: everything else is judged by the AEAD tag, so a forged header fails as a bad tag.

use super::error::EnvelopeError;

/// The only envelope version there is.
pub const VERSION: u8 = 1;
/// AES-GCM's standard 96-bit nonce.
pub const NONCE_LEN: usize = 12;
/// AES-GCM's full 128-bit tag; shorter tags are not accepted.
pub const TAG_LEN: usize = 16;
/// version + key_id + nonce.
pub const HEADER_LEN: usize = 1 + 4 + NONCE_LEN;
/// The shortest envelope: a header and a tag around an empty ciphertext.
pub const MIN_SEALED_LEN: usize = HEADER_LEN + TAG_LEN;

/// The clear-text front of an envelope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub key_id: u32,
    pub nonce: [u8; NONCE_LEN],
}

/// Splits `sealed` into its header and `ciphertext | tag`, checking only length and version.
pub fn split(sealed: &[u8]) -> Result<(Header, &[u8]), EnvelopeError> {
    if sealed.len() < MIN_SEALED_LEN {
        return Err(EnvelopeError::Malformed);
    }
    let (header, body) = sealed.split_at(HEADER_LEN);
    let (version, rest) = header.split_at(1);
    let (key_id, nonce) = rest.split_at(4);
    if version[0] != VERSION {
        return Err(EnvelopeError::UnsupportedVersion(version[0]));
    }
    let header = Header {
        // The lengths were checked above, so these conversions cannot fail; `map_err` keeps
        // the function panic-free even so.
        key_id: u32::from_be_bytes(key_id.try_into().map_err(|_| malformed_header())?),
        nonce: nonce.try_into().map_err(|_| malformed_header())?,
    };
    Ok((header, body))
}

fn malformed_header() -> EnvelopeError {
    EnvelopeError::Malformed
}

/// `version | key_id | nonce | ciphertext_and_tag`.
pub fn assemble(header: Header, ciphertext_and_tag: &[u8]) -> Vec<u8> {
    let mut sealed = Vec::with_capacity(HEADER_LEN + ciphertext_and_tag.len());
    sealed.push(VERSION);
    sealed.extend_from_slice(&header.key_id.to_be_bytes());
    sealed.extend_from_slice(&header.nonce);
    sealed.extend_from_slice(ciphertext_and_tag);
    sealed
}

/// The associated data of a request: it binds the envelope to the route it was sent to, so a
/// request sealed for `history` cannot be replayed against `leave`.
pub fn request_aad(key_id: u32, route: &str) -> Vec<u8> {
    let mut aad = Vec::with_capacity(5 + route.len());
    aad.push(VERSION);
    aad.extend_from_slice(&key_id.to_be_bytes());
    aad.extend_from_slice(route.as_bytes());
    aad
}

/// The associated data of a reply: it binds the reply to the request whose nonce it names, so
/// a client cannot be handed the reply to some other request.
pub fn response_aad(key_id: u32, request_nonce: &[u8; NONCE_LEN]) -> Vec<u8> {
    let mut aad = Vec::with_capacity(5 + NONCE_LEN);
    aad.push(VERSION);
    aad.extend_from_slice(&key_id.to_be_bytes());
    aad.extend_from_slice(request_nonce);
    aad
}

/// The associated data of a live-stream message: it binds the envelope to the routing key
/// it was published with and to its `message_id`, so a body cannot be passed off as another
/// chat's or another kind's event, nor replayed under a new id past a consumer that drops
/// repeats by id.
pub fn stream_aad(key_id: u32, routing_key: &str, message_id: &str) -> Vec<u8> {
    let mut aad = Vec::with_capacity(5 + 6 + routing_key.len() + message_id.len());
    aad.push(VERSION);
    aad.extend_from_slice(&key_id.to_be_bytes());
    aad.extend_from_slice(b"AMQP ");
    aad.extend_from_slice(routing_key.as_bytes());
    aad.push(b' ');
    aad.extend_from_slice(message_id.as_bytes());
    aad
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_reads_the_header_and_keeps_the_rest() {
        let header = Header {
            key_id: 0x0102_0304,
            nonce: [7; NONCE_LEN],
        };
        let sealed = assemble(header, &[9; TAG_LEN + 3]);
        assert_eq!(&sealed[..5], &[1, 1, 2, 3, 4]);
        let (read, body) = split(&sealed).expect("a well-formed envelope splits");
        assert_eq!(read, header);
        assert_eq!(body, &[9; TAG_LEN + 3]);
    }

    #[test]
    fn split_refuses_short_input_and_other_versions() {
        assert_eq!(split(&[]), Err(EnvelopeError::Malformed));
        assert_eq!(
            split(&[1; MIN_SEALED_LEN - 1]),
            Err(EnvelopeError::Malformed)
        );
        let mut sealed = vec![0; MIN_SEALED_LEN];
        sealed[0] = 2;
        assert_eq!(split(&sealed), Err(EnvelopeError::UnsupportedVersion(2)));
        sealed[0] = VERSION;
        assert!(split(&sealed).is_ok());
    }

    #[test]
    fn aads_start_with_version_and_big_endian_key_id() {
        assert_eq!(request_aad(258, "POST /x"), b"\x01\x00\x00\x01\x02POST /x");
        assert_eq!(
            response_aad(1, &[0xAA; NONCE_LEN]),
            [&[1u8, 0, 0, 0, 1][..], &[0xAA; NONCE_LEN][..]].concat()
        );
        assert_eq!(
            stream_aad(3, "message.new.-100", "-100:5:new:0"),
            b"\x01\x00\x00\x00\x03AMQP message.new.-100 -100:5:new:0"
        );
    }
}
