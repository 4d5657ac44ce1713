//! Why an envelope did not open, and why a [`Cryptor`](super::Cryptor) could not be built.
//!
//! The messages are for the server's log and for tests; what a client is told is decided by the
//! handler (docs/design.md §2: an envelope that fails to open gets a plain status and no detail), which
//! takes it from [`EnvelopeError::status`]. No message here repeats key material or plaintext.

/// Building a [`Cryptor`](super::Cryptor) from settings failed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CryptorError {
    #[error(
        "crypto.keys is empty; the sealed API needs at least one key: set crypto.keys (or crypto.keys_file) to key_id:base64, made with `tgcollector keygen`"
    )]
    NoKeys,
}

/// A sealed request or reply that could not be opened, or a request that opened but must not be
/// served.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum EnvelopeError {
    /// Too short to hold a header and a tag.
    #[error("malformed envelope: shorter than 33 bytes (version 1, key id 4, nonce 12, tag 16)")]
    Malformed,
    /// The first byte is not a version this server speaks.
    #[error("unsupported envelope version {0}; expected 1")]
    UnsupportedVersion(u8),
    /// The key id names no key in the keyring.
    #[error("envelope sealed with key id {0}, which is not in the keyring")]
    UnknownKey(u32),
    /// A reply carries a key id other than the one its request was sealed with.
    #[error("reply sealed with key id {got}; its request used key id {expected}")]
    WrongKey { expected: u32, got: u32 },
    /// The tag did not verify: wrong key, altered bytes, or AAD for another route or request.
    /// Deliberately without detail: AES-GCM cannot tell these apart, and a client must not learn
    /// more than "no".
    #[error("envelope is not authentic (tag check failed)")]
    Unauthentic,
    /// Authentic, but the plaintext is not the request JSON of docs/design.md §3.
    #[error("request plaintext is invalid: {0}")]
    BadPlaintext(String),
    /// Authentic, but its timestamp is outside the clock window.
    #[error(
        "request timestamp {ts} ms is {} ms from the server clock {now} ms; accepted within ±{window_ms} ms",
        now.abs_diff(*ts)
    )]
    Stale { ts: i64, now: i64, window_ms: i64 },
    /// Authentic and inside the clock window, but sealed before this server started: the
    /// replay cache of the server that might have seen it is gone, so it is refused as a
    /// possible replay across a restart.
    #[error(
        "request timestamp {ts} ms is before this server started ({started} ms): a request sealed before a restart may be a replay; seal it again"
    )]
    BeforeStart { ts: i64, started: i64 },
    /// Authentic and fresh, but its id was already seen inside the clock window.
    #[error("request id already seen inside the clock window (replayed request)")]
    Replayed,
    /// The replay cache holds as many live ids as it may; accepting one more would mean
    /// forgetting an id that could still be replayed, so the request is refused instead.
    #[error(
        "replay cache full ({capacity} live request ids); retry in {retry_after_ms} ms when the oldest expire"
    )]
    ReplayCacheFull {
        capacity: usize,
        retry_after_ms: i64,
    },
}

impl EnvelopeError {
    /// The HTTP status docs/design.md §2 gives this failure.
    pub fn status(&self) -> u16 {
        match self {
            EnvelopeError::Malformed
            | EnvelopeError::UnsupportedVersion(_)
            | EnvelopeError::BadPlaintext(_) => 400,
            EnvelopeError::UnknownKey(_)
            | EnvelopeError::WrongKey { .. }
            | EnvelopeError::Unauthentic => 401,
            EnvelopeError::Stale { .. }
            | EnvelopeError::BeforeStart { .. }
            | EnvelopeError::Replayed => 409,
            EnvelopeError::ReplayCacheFull { .. } => 503,
        }
    }

    /// Whole seconds a client should wait before retrying, where waiting helps.
    pub fn retry_after_secs(&self) -> Option<u64> {
        match self {
            EnvelopeError::ReplayCacheFull { retry_after_ms, .. } => Some(
                u64::try_from(*retry_after_ms)
                    .unwrap_or(0)
                    .div_ceil(1000)
                    .max(1),
            ),
            _ => None,
        }
    }

    /// Whether the envelope itself failed to open (as opposed to opening and then being
    /// refused). docs/design.md §2: such failures get a plain status and no sealed detail, since there is
    /// no authenticated request to bind a sealed reply to.
    pub fn is_unopened(&self) -> bool {
        matches!(
            self,
            EnvelopeError::Malformed
                | EnvelopeError::UnsupportedVersion(_)
                | EnvelopeError::UnknownKey(_)
                | EnvelopeError::WrongKey { .. }
                | EnvelopeError::Unauthentic
        )
    }
}
