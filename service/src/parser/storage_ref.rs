//! Where each media of a message is, or will be, stored: the hook the media pipeline fills.
//!
//! Storage keys are a pure function of the Telegram media id (docs/design.md §6), so the same photo
//! met in ten chats by three accounts is stored once, and a consumer can compute the key of
//! any media it has an id for. The key is the 128-bit MurmurHash3 (x64, seed 0) of the id's
//! decimal digits as 32 lowercase hex digits — in Python
//! `format(mmh3.hash128(str(media_id)), "032x")`.
//!
//! The parser asks a [`MediaHook`] for each media's [`StorageRef`]. Until the pipeline
//! installs its own hook (which also queues the download and knows what is stored already),
//! [`MediaRefs`] gives the deterministic key with status `pending`.

use tgc_common::hashing::murmur3_128;
use tgc_model::teleclient::{AccountId, tl};

/// The deterministic storage key of a Telegram media id (see the module docs).
pub fn storage_key(media_id: i64) -> String {
    format!("{:032x}", murmur3_128(media_id.to_string().as_bytes(), 0))
}

/// Where a media is in the pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StorageStatus {
    /// Known, not stored yet (queued, or waiting for the pipeline).
    Pending,
    /// In storage under its key.
    Stored,
    /// The pipeline gave up on it (the reason is in the gateway's logs and `media` method).
    Failed,
    /// Not stored by choice: over the size cap, or a kind the configuration filters out.
    Skipped,
}

impl StorageStatus {
    /// The schema's name of the status.
    pub fn as_str(self) -> &'static str {
        match self {
            StorageStatus::Pending => "pending",
            StorageStatus::Stored => "stored",
            StorageStatus::Failed => "failed",
            StorageStatus::Skipped => "skipped",
        }
    }
}

/// A media's storage key and status, as the schema's `media.storage` shows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageRef {
    pub key: String,
    pub status: StorageStatus,
}

/// One downloadable media met while parsing: what a hook needs to name it, and to queue it.
#[derive(Debug, Clone, Copy)]
pub struct MediaFile<'a> {
    /// The Telegram photo or document id.
    pub id: i64,
    /// The schema's media kind (`photo`, `video`, `voice`, …).
    pub kind: &'static str,
    pub size: Option<i64>,
    pub mime_type: Option<&'a str>,
    /// The account whose file reference this is (references are valid for it only).
    pub account: AccountId,
    /// The chat (marked id) and message it came in, to refetch an expired reference.
    pub chat_id: Option<i64>,
    pub message_id: i32,
    /// The TL media itself, with the access hash and file reference a download needs.
    pub media: &'a tl::enums::MessageMedia,
}

/// Gives each media met while parsing its storage reference.
pub trait MediaHook: Send + Sync {
    fn storage(&self, media: &MediaFile<'_>) -> StorageRef;

    /// Puts on disk what [`MediaHook::storage`] recorded, before anything that names it (a
    /// reply, a saved update state) goes out. It may block: call it off the async workers.
    fn make_durable(&self) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        Ok(())
    }
}

/// The hook used until the media pipeline installs its own: the deterministic key, status
/// `pending`.
#[derive(Debug, Clone, Copy, Default)]
pub struct MediaRefs;

impl MediaHook for MediaRefs {
    fn storage(&self, media: &MediaFile<'_>) -> StorageRef {
        StorageRef {
            key: storage_key(media.id),
            status: StorageStatus::Pending,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storage_keys_are_32_hex_digits_and_depend_on_the_id_only() {
        let key = storage_key(9_101);
        assert_eq!(key.len(), 32);
        assert!(
            key.bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        );
        assert_eq!(key, storage_key(9_101));
        assert_ne!(key, storage_key(9_102));
        assert_eq!(storage_key(i64::MIN).len(), 32);
    }

    #[test]
    fn the_key_is_mmh3_hash128_of_the_decimal_id_as_32_hex_digits() {
        // tgc_common::hashing checks murmur3_128 against Python's mmh3 bit for bit.
        assert_eq!(
            storage_key(9_101),
            format!("{:032x}", murmur3_128(b"9101", 0))
        );
        assert_eq!(storage_key(-42), format!("{:032x}", murmur3_128(b"-42", 0)));
    }
}
