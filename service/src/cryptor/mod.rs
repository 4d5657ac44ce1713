//! Sealed envelopes (docs/design.md §3): AES-256-GCM under a keyring, with a clock window and a replay
//! cache, for both ends of the API.
//!
//! ```text
//! sealed = version:u8 (=1) | key_id:u32 BE | nonce:12 | ciphertext | tag:16
//! AAD (request)  = version | key_id | "POST /api/v1/<method>"
//! AAD (response) = version | key_id | request nonce
//! AAD (stream)   = version | key_id | "AMQP <routing key> <message_id>"
//! request plaintext = {"ts": unix_ms, "id": "<unique>", "params": {...}}
//! ```
//!
//! One [`Cryptor`] serves the server (`open_request`, `seal_response`) and clients
//! (`seal_request`, `open_response`: the `query` command, the bench, tests), so the two sides
//! cannot drift apart. Its pieces each live in their own file: the byte layout ([`wire`]), the
//! keys (`keyring`), the request JSON (`plaintext`), the replay cache (`replay`, which says what
//! a flood of unique ids does), new keys ([`keygen`]), the live stream's sealed form (`stream`). Time is passed in as unix milliseconds so tests control the clock. The format is
//! written down for other languages in the README's envelope section.
//!
//! Nothing here logs keys or params; opened requests are logged at `debug` by id only.

mod error;
pub mod keygen;
mod keyring;
mod plaintext;
mod replay;
mod stream;
pub mod wire;

use std::time::Duration;

use tgc_common::config::CryptoSettings;

pub use error::{CryptorError, EnvelopeError};
pub use plaintext::MAX_ID_BYTES;
pub use replay::DEFAULT_CAPACITY as DEFAULT_REPLAY_CAPACITY;
pub use stream::SEALED_CONTENT_TYPE;

use keyring::{Keyring, SealingKey};
use plaintext::RequestPlaintext;
use replay::ReplayCache;
use wire::{Header, NONCE_LEN};

/// Seals and opens envelopes with the configured keyring; `Send + Sync`, shared by all requests.
#[derive(Debug)]
pub struct Cryptor {
    keyring: Keyring,
    window_ms: i64,
    replay: ReplayCache,
    /// Requests sealed before this instant (unix ms) are refused: see
    /// [`Cryptor::refusing_requests_before`].
    not_before_ms: i64,
}

/// A request that opened, was fresh, and was not seen before.
pub struct OpenedRequest {
    /// The key it was sealed with; its reply is sealed with the same key.
    pub key_id: u32,
    /// Its nonce, which the reply's AAD names.
    pub nonce: [u8; NONCE_LEN],
    pub id: String,
    /// Its timestamp, unix ms.
    pub ts: i64,
    /// The method's parameters: always a JSON object.
    pub params: serde_json::Value,
    key: SealingKey,
}

/// Params are the client's data: kept out of `Debug` so they never reach a log by accident.
impl std::fmt::Debug for OpenedRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenedRequest")
            .field("key_id", &self.key_id)
            .field("id", &self.id)
            .field("ts", &self.ts)
            .finish_non_exhaustive()
    }
}

/// What a client keeps after sealing a request, to open the reply: the key and the nonce the
/// reply must be bound to.
#[derive(Debug, Clone)]
pub struct PendingReply {
    key: SealingKey,
    nonce: [u8; NONCE_LEN],
    id: String,
}

impl PendingReply {
    /// The key id the request was sealed with (and the reply must be).
    pub fn key_id(&self) -> u32 {
        self.key.id
    }

    /// The request's nonce.
    pub fn nonce(&self) -> [u8; NONCE_LEN] {
        self.nonce
    }

    /// The request's id (empty when built by [`Cryptor::pending_reply_for`], which does not
    /// open the request).
    pub fn id(&self) -> &str {
        &self.id
    }
}

impl Cryptor {
    /// A cryptor for `settings`' keyring and clock window, with the default replay capacity
    /// ([`DEFAULT_REPLAY_CAPACITY`]). An empty keyring is an error.
    pub fn from_settings(settings: &CryptoSettings) -> Result<Cryptor, CryptorError> {
        Ok(Cryptor {
            keyring: Keyring::new(&settings.keys)?,
            window_ms: duration_ms(settings.clock_window),
            replay: ReplayCache::new(replay::DEFAULT_CAPACITY),
            not_before_ms: i64::MIN,
        })
    }

    /// The same cryptor refusing every request whose `ts` is before `started_ms`, the
    /// server's start. The replay cache lives in memory: without this, a request captured
    /// before a restart could be replayed after it, within the clock window. With it no
    /// request is accepted twice across restarts, at no disk write per request; the price is
    /// that a request sealed just before a restart (or by a client whose clock is behind)
    /// is refused once with 409 and must be sealed again.
    pub fn refusing_requests_before(self, started_ms: i64) -> Cryptor {
        Cryptor {
            not_before_ms: started_ms,
            ..self
        }
    }

    /// The same cryptor with room for `capacity` live request ids (see [`EnvelopeError::ReplayCacheFull`]).
    pub fn with_replay_capacity(self, capacity: usize) -> Cryptor {
        Cryptor {
            replay: ReplayCache::new(capacity),
            ..self
        }
    }

    /// The key ids of the keyring, sealing key first.
    pub fn key_ids(&self) -> Vec<u32> {
        self.keyring.ids()
    }

    /// How far a request's timestamp may be from the clock, either way, in ms.
    pub fn clock_window_ms(&self) -> i64 {
        self.window_ms
    }

    /// How many request ids the replay cache holds now.
    pub fn replay_cache_len(&self) -> usize {
        self.replay.held_ids()
    }

    /// Server side: opens a request sent to `route` (`"POST /api/v1/<method>"`) at `now_ms`.
    ///
    /// Checks, in order: layout and version, key id, tag (which covers the route), plaintext
    /// JSON, clock window, replay. Only a request that passes all of them uses up its id.
    pub fn open_request(
        &self,
        route: &str,
        sealed: &[u8],
        now_ms: i64,
    ) -> Result<OpenedRequest, EnvelopeError> {
        let (header, body) = wire::split(sealed)?;
        let key = self
            .keyring
            .get(header.key_id)
            .ok_or(EnvelopeError::UnknownKey(header.key_id))?;
        let plain = key.open(&header.nonce, &wire::request_aad(key.id, route), body)?;
        let RequestPlaintext { ts, id, params } = RequestPlaintext::parse(&plain)?;
        if now_ms.abs_diff(ts) > self.window_ms.unsigned_abs() {
            return Err(EnvelopeError::Stale {
                ts,
                now: now_ms,
                window_ms: self.window_ms,
            });
        }
        if ts < self.not_before_ms {
            return Err(EnvelopeError::BeforeStart {
                ts,
                started: self.not_before_ms,
            });
        }
        // After `ts + window` a replay is refused as stale, so the id need not outlive that.
        self.replay
            .check_and_insert(key.id, &id, ts.saturating_add(self.window_ms), now_ms)?;
        tracing::debug!(key_id = key.id, id = %id, ts, route, "opened request");
        Ok(OpenedRequest {
            key_id: key.id,
            nonce: header.nonce,
            id,
            ts,
            params,
            key: key.clone(),
        })
    }

    /// Server side: seals `plaintext` (the JSON reply) for `request`, with the key it used and
    /// bound to its nonce.
    pub fn seal_response(&self, request: &OpenedRequest, plaintext: &[u8]) -> Vec<u8> {
        let aad = wire::response_aad(request.key.id, &request.nonce);
        seal(&request.key, &aad, plaintext).0
    }

    /// Client side: seals `params` for `route` at `now_ms` with the first key and a fresh random
    /// id; keep the [`PendingReply`] to open the reply.
    pub fn seal_request(
        &self,
        route: &str,
        params: &serde_json::Value,
        now_ms: i64,
    ) -> (Vec<u8>, PendingReply) {
        let key = self.keyring.first();
        let id = format!("{:032x}", rand::random::<u128>());
        let plaintext = RequestPlaintext {
            ts: now_ms,
            id: id.clone(),
            params: params.clone(),
        };
        let aad = wire::request_aad(key.id, route);
        let (sealed, nonce) = seal(key, &aad, &plaintext.to_bytes());
        let pending = PendingReply {
            key: key.clone(),
            nonce,
            id,
        };
        (sealed, pending)
    }

    /// Client side: the pending reply of a request sealed by other means (another process, a
    /// recorded request), read from its header. Fails if its key is not in the keyring.
    pub fn pending_reply_for(&self, sealed_request: &[u8]) -> Result<PendingReply, EnvelopeError> {
        let (header, _) = wire::split(sealed_request)?;
        let key = self
            .keyring
            .get(header.key_id)
            .ok_or(EnvelopeError::UnknownKey(header.key_id))?;
        Ok(PendingReply {
            key: key.clone(),
            nonce: header.nonce,
            id: String::new(),
        })
    }

    /// Client side: opens a reply to the request `pending` was made for.
    pub fn open_response(
        &self,
        pending: &PendingReply,
        sealed: &[u8],
    ) -> Result<Vec<u8>, EnvelopeError> {
        let (header, body) = wire::split(sealed)?;
        if header.key_id != pending.key.id {
            return Err(EnvelopeError::WrongKey {
                expected: pending.key.id,
                got: header.key_id,
            });
        }
        pending.key.open(
            &header.nonce,
            &wire::response_aad(header.key_id, &pending.nonce),
            body,
        )
    }
}

/// A complete envelope of `plaintext` under `key` and `aad`, and the fresh random nonce it used.
///
/// Random 96-bit nonces are safe for about 2^32 envelopes per key (NIST SP 800-38D); rotate keys
/// well before that.
fn seal(key: &SealingKey, aad: &[u8], plaintext: &[u8]) -> (Vec<u8>, [u8; NONCE_LEN]) {
    let header = Header {
        key_id: key.id,
        nonce: rand::random(),
    };
    let sealed = wire::assemble(header, &key.seal(&header.nonce, aad, plaintext));
    (sealed, header.nonce)
}

/// A duration in whole ms, saturating (a window of centuries is as good as infinite).
fn duration_ms(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}
