//! Photos and documents, and their bytes.
//!
//! Media bytes are never stored: byte `o` of a file is a pure function of
//! `(world seed, media id, size type, o)` (a splitmix64 keyed stream), so a 2 GiB video costs
//! nothing and a test recomputes the expected bytes (or their hash) with [`media_bytes`].

use serde::{Deserialize, Serialize};

/// What a media is; decides its TL shape (photo, or document with attributes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MediaKind {
    Photo,
    Video,
    Audio,
    Voice,
    Sticker,
    File,
}

/// A photo or document attached to a message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Media {
    /// The photo or document id; unique in the world.
    pub id: i64,
    pub kind: MediaKind,
    /// Bytes of the file (of the largest size, for photos).
    pub size: u64,
    #[serde(default)]
    pub mime_type: Option<String>,
    #[serde(default)]
    pub file_name: Option<String>,
    /// Seconds, for video, audio and voice.
    #[serde(default)]
    pub duration: f64,
    #[serde(default)]
    pub width: i32,
    #[serde(default)]
    pub height: i32,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub performer: Option<String>,
    /// The emoji of a sticker.
    #[serde(default)]
    pub alt: Option<String>,
}

impl Media {
    /// A photo of `size` bytes (largest size) at 1280×960.
    pub fn photo(id: i64, size: u64) -> Media {
        Media {
            width: 1280,
            height: 960,
            ..Media::bare(id, MediaKind::Photo, size)
        }
    }

    /// A document of the given kind with the usual attributes filled in.
    pub fn document(id: i64, kind: MediaKind, size: u64) -> Media {
        let mut media = Media::bare(id, kind, size);
        match kind {
            MediaKind::Video => {
                media.duration = 12.5;
                media.width = 1280;
                media.height = 720;
                media.file_name = Some(format!("video_{id}.mp4"));
            }
            MediaKind::Audio => {
                media.duration = 185.0;
                media.title = Some(format!("Track {id}"));
                media.performer = Some("The Simulators".into());
                media.file_name = Some(format!("track_{id}.mp3"));
            }
            MediaKind::Voice => media.duration = 7.0,
            MediaKind::Sticker => {
                media.alt = Some("🙂".into());
                media.width = 512;
                media.height = 512;
            }
            MediaKind::File => media.file_name = Some(format!("report_{id}.pdf")),
            MediaKind::Photo => {
                media.width = 1280;
                media.height = 960;
            }
        }
        media
    }

    fn bare(id: i64, kind: MediaKind, size: u64) -> Media {
        Media {
            id,
            kind,
            size,
            mime_type: None,
            file_name: None,
            duration: 0.0,
            width: 0,
            height: 0,
            title: None,
            performer: None,
            alt: None,
        }
    }

    /// The MIME type, defaulted by kind.
    pub fn mime(&self) -> String {
        if let Some(mime) = &self.mime_type {
            return mime.clone();
        }
        match self.kind {
            MediaKind::Photo => "image/jpeg",
            MediaKind::Video => "video/mp4",
            MediaKind::Audio => "audio/mpeg",
            MediaKind::Voice => "audio/ogg",
            MediaKind::Sticker => "image/webp",
            MediaKind::File => "application/pdf",
        }
        .to_string()
    }

    /// The bytes of the file stored under `thumb` ("" for a document, a size type for a photo).
    pub fn file_size(&self, thumb: &str) -> Option<u64> {
        if self.kind != MediaKind::Photo {
            return thumb.is_empty().then_some(self.size);
        }
        photo_sizes(self)
            .into_iter()
            .find(|s| s.kind == thumb)
            .map(|s| s.size)
    }
}

/// One stored size of a photo.
#[derive(Debug, Clone, PartialEq)]
pub struct PhotoSizeSpec {
    /// Telegram's size type letter: "s", "m", "x" or "y".
    pub kind: &'static str,
    pub width: i32,
    pub height: i32,
    pub size: u64,
}

/// The sizes a photo is stored in, smallest first; the last one is `media.size` bytes.
pub fn photo_sizes(media: &Media) -> Vec<PhotoSizeSpec> {
    let (w, h) = (media.width.max(1), media.height.max(1));
    let scaled = |side: i32| {
        let long = w.max(h);
        let f = side.min(long) as f64 / long as f64;
        (
            ((w as f64) * f).round().max(1.0) as i32,
            ((h as f64) * f).round().max(1.0) as i32,
        )
    };
    let biggest = if w.max(h) > 800 { "y" } else { "x" };
    let mut sizes = Vec::new();
    for (kind, side, div) in [("s", 100, 64), ("m", 320, 8), ("x", 800, 2)] {
        if kind == "x" && biggest == "x" {
            break;
        }
        let (sw, sh) = scaled(side);
        sizes.push(PhotoSizeSpec {
            kind,
            width: sw,
            height: sh,
            size: (media.size / div).max(256),
        });
    }
    sizes.push(PhotoSizeSpec {
        kind: biggest,
        width: w,
        height: h,
        size: media.size,
    });
    sizes
}

/// `len` bytes of the file (`thumb` "" for documents, a size type for photos) from `offset`.
pub fn media_bytes(seed: u64, media_id: i64, thumb: &str, offset: u64, len: usize) -> Vec<u8> {
    let mut out = vec![0u8; len];
    KeyStream::for_file(seed, media_id, thumb).fill_at(offset, &mut out);
    out
}

/// A seekable keyed byte stream: block `i` is `splitmix64(key + i·φ)`.
pub(crate) struct KeyStream {
    key: u64,
    pos: u64,
}

impl KeyStream {
    pub(crate) fn new(a: u64, b: u64) -> KeyStream {
        KeyStream {
            key: splitmix64(a ^ splitmix64(b)),
            pos: 0,
        }
    }

    fn for_file(seed: u64, media_id: i64, thumb: &str) -> KeyStream {
        let thumb_key = thumb.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ b as u64).wrapping_mul(0x100_0000_01b3)
        });
        KeyStream::new(seed ^ thumb_key, media_id as u64)
    }

    pub(crate) fn fill(&mut self, out: &mut [u8]) {
        let pos = self.pos;
        self.fill_at(pos, out);
        self.pos += out.len() as u64;
    }

    fn fill_at(&self, offset: u64, out: &mut [u8]) {
        let mut written = 0usize;
        let mut at = offset;
        while written < out.len() {
            let block =
                splitmix64(self.key.wrapping_add((at / 8).wrapping_mul(GOLDEN))).to_le_bytes();
            let skip = (at % 8) as usize;
            let take = (8 - skip).min(out.len() - written);
            out[written..written + take].copy_from_slice(&block[skip..skip + take]);
            written += take;
            at += take as u64;
        }
    }
}

const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

/// A well-mixed 64-bit hash (splitmix64's finalizer over `x + φ`).
pub(crate) fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(GOLDEN);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}
