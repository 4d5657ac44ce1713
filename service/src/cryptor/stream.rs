//! The live stream's sealed form (`rabbitmq.sealed = true`, README "RabbitMQ stream").
//!
//! Each message body is an envelope of the event's JSON in the API's layout, sealed with
//! the keyring's first key and bound to the routing key and `message_id` it is published
//! with ([`wire::stream_aad`]). There is no clock window or replay cache on this side: a
//! stream message is not a request, may wait in the outbox for hours, and consumers already
//! drop repeats by id, which the AAD makes unforgeable.

use super::error::EnvelopeError;
use super::{Cryptor, seal, wire};

/// The AMQP `content_type` of a sealed live-stream message.
pub const SEALED_CONTENT_TYPE: &str = "application/vnd.tgc.sealed";

impl Cryptor {
    /// Publisher side: seals an event's JSON for `routing_key` and `message_id`.
    pub fn seal_stream(&self, routing_key: &str, message_id: &str, plaintext: &[u8]) -> Vec<u8> {
        let key = self.keyring.first();
        let aad = wire::stream_aad(key.id, routing_key, message_id);
        seal(key, &aad, plaintext).0
    }

    /// Consumer side: opens a stream message received with `routing_key` and `message_id`,
    /// with whichever key of the keyring it names.
    pub fn open_stream(
        &self,
        routing_key: &str,
        message_id: &str,
        sealed: &[u8],
    ) -> Result<Vec<u8>, EnvelopeError> {
        let (header, body) = wire::split(sealed)?;
        let key = self
            .keyring
            .get(header.key_id)
            .ok_or(EnvelopeError::UnknownKey(header.key_id))?;
        key.open(
            &header.nonce,
            &wire::stream_aad(header.key_id, routing_key, message_id),
            body,
        )
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tgc_common::config::{CryptoKey, CryptoSettings};

    use super::*;
    use crate::cryptor::keygen;

    fn cryptor(keys: &[CryptoKey]) -> Cryptor {
        Cryptor::from_settings(&CryptoSettings {
            keys: keys.to_vec(),
            clock_window: Duration::from_secs(60),
        })
        .unwrap()
        .with_replay_capacity(1)
    }

    const KEY: &str = "message.new.-1000000100001";
    const ID: &str = "-1000000100001:5:new:0";

    /// The README's example (computed there with Python's `cryptography`).
    #[test]
    fn the_readme_example_opens_to_its_plaintext() {
        let key = CryptoKey {
            id: 7,
            key: tgc_common::Secret::new(std::array::from_fn(|i| i as u8)),
        };
        let body = "0100000007303132333435363738393a3bc81758a4cb557e310611fa896aed1c52be4f2675be30935af15b0c538332519e48e5af39b6";
        let body: Vec<u8> = (0..body.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&body[i..i + 2], 16).unwrap())
            .collect();
        let opened = cryptor(&[key])
            .open_stream(
                "message.new.-1001234567890",
                "-1001234567890:42:new:0",
                &body,
            )
            .unwrap();
        assert_eq!(opened, br#"{"id":42,"text":"hi"}"#);
    }

    #[test]
    fn a_consumer_with_the_key_opens_what_the_publisher_sealed() {
        let key = keygen::generate();
        let sealed = cryptor(std::slice::from_ref(&key)).seal_stream(KEY, ID, br#"{"id":5}"#);
        assert_eq!(sealed[0], wire::VERSION);
        let opened = cryptor(&[key]).open_stream(KEY, ID, &sealed).unwrap();
        assert_eq!(opened, br#"{"id":5}"#);
    }

    #[test]
    fn another_routing_key_message_id_or_key_does_not_open_it() {
        let key = keygen::generate();
        let sealing = cryptor(std::slice::from_ref(&key));
        let sealed = sealing.seal_stream(KEY, ID, br#"{"id":5}"#);
        assert_eq!(
            sealing.open_stream("message.delete.-1000000100001", ID, &sealed),
            Err(EnvelopeError::Unauthentic)
        );
        assert_eq!(
            sealing.open_stream(KEY, "-1000000100001:6:new:0", &sealed),
            Err(EnvelopeError::Unauthentic)
        );
        let mut other = keygen::generate();
        other.id = key.id;
        assert_eq!(
            cryptor(std::slice::from_ref(&other)).open_stream(KEY, ID, &sealed),
            Err(EnvelopeError::Unauthentic),
            "same key id, other key bytes"
        );
        other.id = key.id.wrapping_add(1);
        assert_eq!(
            cryptor(&[other.clone()]).open_stream(KEY, ID, &sealed),
            Err(EnvelopeError::UnknownKey(key.id))
        );
    }
}
