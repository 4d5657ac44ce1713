//! [`FileLocation`]: where one media file lives on Telegram, as one account sees it.
//!
//! A download needs the photo or document id, the account's own access hash and file
//! reference for it (both are per account: another account's are refused), which stored
//! size of a photo to fetch, and the DC holding the file. That is all a persisted task
//! needs to resume, so it is a plain value that the task store writes as columns and the
//! downloader turns into `upload.getFile`'s `InputFileLocation`.

use grammers_client::tl;

/// Whether the file is a photo (fetched by size type) or a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FileKind {
    Photo,
    Document,
}

impl FileKind {
    /// The name stored in the task store.
    pub fn as_str(self) -> &'static str {
        match self {
            FileKind::Photo => "photo",
            FileKind::Document => "document",
        }
    }
}

impl std::str::FromStr for FileKind {
    type Err = String;

    fn from_str(text: &str) -> Result<FileKind, String> {
        match text {
            "photo" => Ok(FileKind::Photo),
            "document" => Ok(FileKind::Document),
            other => Err(format!(
                "{other:?} is not a file kind; expected photo or document"
            )),
        }
    }
}

/// One media file as one account may fetch it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileLocation {
    pub kind: FileKind,
    /// The photo or document id (the media id).
    pub id: i64,
    /// The account's access hash for the file.
    pub access_hash: i64,
    /// The account's file reference; it expires, and fetching the message again renews it.
    pub file_reference: Vec<u8>,
    /// The photo size type to fetch (its largest); empty for documents.
    pub thumb_size: String,
    /// The DC that stores the file.
    pub dc_id: i32,
}

impl FileLocation {
    /// The downloadable file of a message's media and its size in bytes: a photo's largest
    /// stored size, or the document. `None` for media without a file (a geo point, a poll,
    /// a web page) and for photos or documents Telegram no longer serves.
    pub fn from_media(media: &tl::enums::MessageMedia) -> Option<(FileLocation, u64)> {
        match media {
            tl::enums::MessageMedia::Photo(media) => {
                let tl::enums::Photo::Photo(photo) = media.photo.as_ref()? else {
                    return None;
                };
                let (thumb_size, size) = largest_size(&photo.sizes)?;
                let location = FileLocation {
                    kind: FileKind::Photo,
                    id: photo.id,
                    access_hash: photo.access_hash,
                    file_reference: photo.file_reference.clone(),
                    thumb_size,
                    dc_id: photo.dc_id,
                };
                Some((location, size))
            }
            tl::enums::MessageMedia::Document(media) => {
                let tl::enums::Document::Document(document) = media.document.as_ref()? else {
                    return None;
                };
                let location = FileLocation {
                    kind: FileKind::Document,
                    id: document.id,
                    access_hash: document.access_hash,
                    file_reference: document.file_reference.clone(),
                    thumb_size: String::new(),
                    dc_id: document.dc_id,
                };
                Some((location, u64::try_from(document.size).ok()?))
            }
            _ => None,
        }
    }

    /// The location `upload.getFile` takes.
    pub fn input(&self) -> tl::enums::InputFileLocation {
        match self.kind {
            FileKind::Photo => tl::types::InputPhotoFileLocation {
                id: self.id,
                access_hash: self.access_hash,
                file_reference: self.file_reference.clone(),
                thumb_size: self.thumb_size.clone(),
            }
            .into(),
            FileKind::Document => tl::types::InputDocumentFileLocation {
                id: self.id,
                access_hash: self.access_hash,
                file_reference: self.file_reference.clone(),
                thumb_size: self.thumb_size.clone(),
            }
            .into(),
        }
    }
}

/// The size type and byte count of a photo's largest stored size: the most pixels, then
/// the most bytes (as the parser reports the photo's size). Stripped previews and vector
/// outlines are not files and never count.
fn largest_size(sizes: &[tl::enums::PhotoSize]) -> Option<(String, u64)> {
    use tl::enums::PhotoSize as S;
    sizes
        .iter()
        .filter_map(|size| match size {
            S::Size(s) => Some((s.r#type.clone(), s.w, s.h, i64::from(s.size))),
            S::Progressive(s) => Some((
                s.r#type.clone(),
                s.w,
                s.h,
                i64::from(s.sizes.iter().copied().max()?),
            )),
            S::PhotoCachedSize(s) => Some((
                s.r#type.clone(),
                s.w,
                s.h,
                i64::try_from(s.bytes.len()).ok()?,
            )),
            S::Empty(_) | S::PhotoStrippedSize(_) | S::PhotoPathSize(_) => None,
        })
        .max_by_key(|(_, w, h, bytes)| (i64::from(*w) * i64::from(*h), *bytes))
        .and_then(|(kind, _, _, bytes)| Some((kind, u64::try_from(bytes).ok()?)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn size(kind: &str, w: i32, h: i32, bytes: i32) -> tl::enums::PhotoSize {
        tl::types::PhotoSize {
            r#type: kind.into(),
            w,
            h,
            size: bytes,
        }
        .into()
    }

    fn photo_media(sizes: Vec<tl::enums::PhotoSize>) -> tl::enums::MessageMedia {
        tl::types::MessageMediaPhoto {
            spoiler: false,
            live_photo: false,
            photo: Some(
                tl::types::Photo {
                    has_stickers: false,
                    id: 5,
                    access_hash: 6,
                    file_reference: vec![1, 2, 3],
                    date: 0,
                    sizes,
                    video_sizes: None,
                    dc_id: 2,
                }
                .into(),
            ),
            ttl_seconds: None,
            video: None,
        }
        .into()
    }

    #[test]
    fn a_photo_is_fetched_at_its_largest_size() {
        let media = photo_media(vec![
            tl::types::PhotoStrippedSize {
                r#type: "i".into(),
                bytes: vec![0; 40],
            }
            .into(),
            size("m", 320, 240, 9_000),
            size("y", 1280, 960, 120_000),
            size("x", 800, 600, 60_000),
        ]);
        let (location, bytes) = FileLocation::from_media(&media).expect("a photo file");
        assert_eq!(bytes, 120_000);
        assert_eq!(location.thumb_size, "y");
        assert_eq!(
            (location.kind, location.id, location.dc_id),
            (FileKind::Photo, 5, 2)
        );
        assert!(matches!(
            location.input(),
            tl::enums::InputFileLocation::InputPhotoFileLocation(l)
                if l.thumb_size == "y" && l.access_hash == 6 && l.file_reference == [1, 2, 3]
        ));
    }

    #[test]
    fn a_photo_without_real_sizes_has_no_file() {
        assert!(FileLocation::from_media(&photo_media(Vec::new())).is_none());
        let empty: tl::enums::MessageMedia = tl::types::MessageMediaEmpty {}.into();
        assert!(FileLocation::from_media(&empty).is_none());
    }

    #[test]
    fn file_kinds_round_trip_through_their_names() {
        for kind in [FileKind::Photo, FileKind::Document] {
            assert_eq!(kind.as_str().parse::<FileKind>(), Ok(kind));
        }
        assert!("video".parse::<FileKind>().is_err());
    }
}
