//! `upload.getFile`: chunks of deterministic media bytes, with Telegram's rules on offsets,
//! limits, access hashes and file references.
//!
//! Rules (Telegram's, for non-CDN downloads): `offset` a multiple of 1 KiB (`OFFSET_INVALID`);
//! `limit` a positive multiple of 1 KiB, at most 512 KiB, and the chunk may not cross a 1 MiB
//! boundary (`LIMIT_INVALID`); reading past the end gives empty bytes. A reference that is not
//! the media's current one answers `FILE_REFERENCE_EXPIRED` until the client fetches the
//! message again; another account's reference is `FILE_REFERENCE_INVALID`.
//!
//! `upload.getFileHashes`: the SHA-256 of each 128 KiB part of the file, [`HASHES_PER_CALL`]
//! parts from the part that holds `offset` (Telegram also answers a window of parts per
//! call), under the same location rules. A test can make the chunks that hold one byte of a
//! media come back corrupted ([`crate::api::Telegram::corrupt_chunks`]), as a broken path
//! might.

use super::RpcError;
use super::convert::file_reference;
use super::state::State;
use crate::world::{Media, generated, media_bytes};
use grammers_tl_types::{enums, functions, types};
use sha2::{Digest, Sha256};

pub const KIB: i64 = 1024;
pub const MIB: i64 = 1024 * 1024;
pub const MAX_CHUNK: i64 = 512 * KIB;
/// The part `upload.getFileHashes` hashes, and how many parts one call answers.
pub const HASH_PART: u64 = 128 * 1024;
pub const HASHES_PER_CALL: u64 = 8;

impl State {
    /// The media with this id, wherever it is attached.
    pub(crate) fn find_media(&self, media_id: i64) -> Option<Media> {
        let (chat_id, message_id) = match generated::media_origin(media_id) {
            Some(origin) => origin,
            None => *self.media_index.get(&media_id)?,
        };
        let chat = self.chat(chat_id)?;
        let media = self.message(chat, message_id)?.media?;
        (media.id == media_id).then_some(media)
    }

    pub(crate) fn get_file(
        &mut self,
        me: i64,
        request: functions::upload::GetFile,
    ) -> Result<enums::upload::File, RpcError> {
        if request.offset < 0 || request.offset % KIB != 0 {
            return Err(RpcError::bad_request("OFFSET_INVALID"));
        }
        let limit = request.limit as i64;
        if limit <= 0
            || limit % KIB != 0
            || limit > MAX_CHUNK
            || request.offset / MIB != request.offset.saturating_add(limit - 1) / MIB
        {
            return Err(RpcError::bad_request("LIMIT_INVALID"));
        }
        let located = self.locate_file(me, &request.location)?;
        let start = (request.offset as u64).min(located.size);
        let len = (limit as u64).min(located.size - start) as usize;
        let mut bytes = media_bytes(self.world.seed, located.id, &located.thumb, start, len);
        let file = self.files.entry(located.id).or_default();
        if let Some((at, times)) = file.corrupt
            && at >= start
            && at < start + bytes.len() as u64
        {
            bytes[(at - start) as usize] ^= 0xff;
            file.corrupt = (times > 1).then_some((at, times - 1));
        }
        let mtime = self.world.epoch;
        Ok(enums::upload::File::File(types::upload::File {
            r#type: file_type(&located.media.mime()),
            mtime,
            bytes,
        }))
    }

    pub(crate) fn get_file_hashes(
        &mut self,
        me: i64,
        request: functions::upload::GetFileHashes,
    ) -> Result<Vec<enums::FileHash>, RpcError> {
        if request.offset < 0 {
            return Err(RpcError::bad_request("OFFSET_INVALID"));
        }
        let located = self.locate_file(me, &request.location)?;
        let first = request.offset as u64 / HASH_PART * HASH_PART;
        let hashes = (0..HASHES_PER_CALL)
            .map(|k| first + k * HASH_PART)
            .take_while(|&offset| offset < located.size)
            .map(|offset| {
                let len = HASH_PART.min(located.size - offset) as usize;
                let bytes = media_bytes(self.world.seed, located.id, &located.thumb, offset, len);
                enums::FileHash::Hash(types::FileHash {
                    offset: offset as i64,
                    limit: len as i32,
                    hash: Sha256::digest(&bytes).to_vec(),
                })
            })
            .collect();
        Ok(hashes)
    }

    /// The media a file location names, checked as Telegram checks it: the media exists,
    /// the access hash is `me`'s, the file reference is current and `me`'s, the size exists.
    fn locate_file(
        &self,
        me: i64,
        location: &enums::InputFileLocation,
    ) -> Result<LocatedFile, RpcError> {
        let (id, access_hash, reference, thumb) = match location {
            enums::InputFileLocation::InputDocumentFileLocation(l) => {
                (l.id, l.access_hash, &l.file_reference, &l.thumb_size)
            }
            enums::InputFileLocation::InputPhotoFileLocation(l) => {
                (l.id, l.access_hash, &l.file_reference, &l.thumb_size)
            }
            _ => return Err(RpcError::bad_request("LOCATION_INVALID")),
        };
        let media = self
            .find_media(id)
            .ok_or_else(|| RpcError::bad_request("FILE_ID_INVALID"))?;
        if access_hash != self.hash_for(me, id) {
            return Err(RpcError::bad_request("FILE_ID_INVALID"));
        }
        let current = self.files.get(&id).copied().unwrap_or_default();
        let tag = self.hash_for(me, id) as u32;
        let held = file_reference(id, current.generation, tag);
        // Not a reference to this media, or one handed to another account.
        if reference.len() != held.len()
            || reference.get(..9) != held.get(..9)
            || reference.get(13..) != held.get(13..)
        {
            return Err(RpcError::bad_request("FILE_REFERENCE_INVALID"));
        }
        if current.expired || *reference != held {
            return Err(RpcError::bad_request("FILE_REFERENCE_EXPIRED"));
        }
        let size = media
            .file_size(thumb)
            .ok_or_else(|| RpcError::bad_request("LOCATION_INVALID"))?;
        Ok(LocatedFile {
            id,
            thumb: thumb.clone(),
            size,
            media,
        })
    }

    /// Invalidates the references clients hold for a media until its message is fetched again.
    pub(crate) fn expire_file_reference(&mut self, media_id: i64) {
        let state = self.files.entry(media_id).or_default();
        state.generation += 1;
        state.expired = true;
    }

    pub(crate) fn corrupt_chunks(&mut self, media_id: i64, at: u64, times: u32) {
        self.files.entry(media_id).or_default().corrupt = (times > 0).then_some((at, times));
    }
}

/// A file a location names, found and checked.
struct LocatedFile {
    id: i64,
    thumb: String,
    size: u64,
    media: Media,
}

fn file_type(mime: &str) -> enums::storage::FileType {
    use enums::storage::FileType as T;
    match mime {
        "image/jpeg" => T::FileJpeg,
        "image/png" => T::FilePng,
        "image/gif" => T::FileGif,
        "image/webp" => T::FileWebp,
        "video/mp4" => T::FileMp4,
        "video/quicktime" => T::FileMov,
        "audio/mpeg" => T::FileMp3,
        "application/pdf" => T::FilePdf,
        _ => T::FileUnknown,
    }
}
