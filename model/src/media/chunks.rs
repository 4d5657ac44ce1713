//! The chunk plan: how a file of known size is cut into `upload.getFile` requests.
//!
//! Telegram's rules for a (non-CDN, non-precise) download: the offset and the limit are
//! multiples of 4 KiB (1 KiB for precise requests), the offset is a multiple of the limit,
//! and no request crosses a 1 MiB boundary. One fixed chunk size that is a power of two
//! between 4 KiB and 512 KiB satisfies all of them for every chunk at once, so the plan is
//! simply the file cut at multiples of it. The chunk index is what the task store records
//! as done, so a resumed download fetches exactly the chunks it lacks.

use std::ops::Range;

/// The smallest chunk Telegram takes (and the alignment of every offset).
pub const MIN_CHUNK_SIZE: u64 = 4 * 1024;
/// The largest chunk Telegram serves.
pub const MAX_CHUNK_SIZE: u64 = 512 * 1024;
/// No request may cross a multiple of this.
pub const BOUNDARY: u64 = 1024 * 1024;

/// A chunk size Telegram would refuse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "chunk size {size} is not allowed: it must be a power of two from {MIN_CHUNK_SIZE} to {MAX_CHUNK_SIZE} bytes (4 KiB to 512 KiB)"
)]
pub struct ChunkSizeError {
    pub size: u64,
}

/// Accepts a chunk size under which every aligned chunk obeys Telegram's rules.
pub fn check_chunk_size(size: u64) -> Result<u32, ChunkSizeError> {
    if size.is_power_of_two() && (MIN_CHUNK_SIZE..=MAX_CHUNK_SIZE).contains(&size) {
        // At most 512 KiB, so it fits.
        u32::try_from(size).map_err(|_| ChunkSizeError { size })
    } else {
        Err(ChunkSizeError { size })
    }
}

/// One `upload.getFile` request of a plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Chunk {
    /// Its position in the plan (`offset / limit`), as recorded by the task store.
    pub index: u32,
    /// Where it starts in the file.
    pub offset: u64,
    /// What the request asks for: the plan's chunk size, even for the last chunk.
    pub limit: u32,
    /// The bytes of the file it covers: `limit`, or less for the last chunk.
    pub len: u32,
}

impl Chunk {
    /// The byte range of the file it covers.
    pub fn range(&self) -> Range<u64> {
        self.offset..self.offset + u64::from(self.len)
    }
}

/// The chunks of a file of `size` bytes at `chunk_size` (checked with
/// [`check_chunk_size`]), in file order; empty for an empty file.
pub fn plan(size: u64, chunk_size: u32) -> Vec<Chunk> {
    let step = u64::from(chunk_size.max(1));
    let count = size.div_ceil(step);
    (0..count)
        .map_while(|index| {
            let offset = index * step;
            let len = step.min(size - offset);
            Some(Chunk {
                index: u32::try_from(index).ok()?,
                offset,
                limit: chunk_size,
                len: u32::try_from(len).ok()?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const KIB: u64 = 1024;
    const MIB: u64 = 1024 * KIB;

    /// Every rule, for every chunk of every plan below.
    fn assert_obeys_the_rules(size: u64, chunk_size: u32) {
        let chunks = plan(size, chunk_size);
        let mut next = 0u64;
        for (position, chunk) in chunks.iter().enumerate() {
            let limit = u64::from(chunk.limit);
            assert_eq!(chunk.index as usize, position, "indices are positions");
            assert_eq!(chunk.offset, next, "chunks are contiguous");
            assert_eq!(chunk.offset % (4 * KIB), 0, "offset aligned: {chunk:?}");
            assert_eq!(limit % (4 * KIB), 0, "limit aligned: {chunk:?}");
            assert_eq!(chunk.offset % limit, 0, "offset a multiple of the limit");
            assert!(limit <= MAX_CHUNK_SIZE);
            assert_eq!(
                chunk.offset / MIB,
                (chunk.offset + limit - 1) / MIB,
                "the request crosses a 1 MiB boundary: {chunk:?}"
            );
            assert!(chunk.len >= 1 && chunk.len <= chunk.limit);
            next = chunk.range().end;
        }
        assert_eq!(next, size, "the plan covers the file exactly");
    }

    #[test]
    fn every_chunk_is_aligned_stays_within_a_mebibyte_and_the_plan_covers_the_file() {
        let sizes = [
            1,
            1023,
            1024,
            4 * KIB - 1,
            4 * KIB,
            4 * KIB + 1,
            MIB - 1,
            MIB,
            MIB + 1,
            5 * MIB + 12_345,
            2000 * MIB + 7,
        ];
        let mut chunk_size = MIN_CHUNK_SIZE;
        while chunk_size <= MAX_CHUNK_SIZE {
            let checked = check_chunk_size(chunk_size).expect("a valid chunk size");
            for size in sizes {
                assert_obeys_the_rules(size, checked);
            }
            chunk_size *= 2;
        }
    }

    #[test]
    fn the_last_chunk_asks_for_a_full_limit_but_covers_the_rest() {
        let chunks = plan(MIB + 1, 512 * 1024);
        assert_eq!(chunks.len(), 3);
        assert_eq!(
            chunks[2],
            Chunk {
                index: 2,
                offset: MIB,
                limit: 512 * 1024,
                len: 1
            }
        );
        assert!(plan(0, 64 * 1024).is_empty());
        assert_eq!(plan(1, 4096).len(), 1);
    }

    #[test]
    fn chunk_sizes_telegram_would_refuse_are_rejected() {
        for bad in [0, 1024, 3 * 1024, 96 * 1024, 1024 * 1024, 100_000] {
            let error = check_chunk_size(bad).expect_err("refused");
            assert!(error.to_string().contains(&bad.to_string()), "{error}");
        }
        assert_eq!(check_chunk_size(512 * 1024), Ok(512 * 1024));
        assert_eq!(check_chunk_size(4096), Ok(4096));
    }
}
