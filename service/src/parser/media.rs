//! A message's media as the schema shows it: a kind, the Telegram media id, size, MIME type,
//! file name, dimensions, duration, and where it is or will be stored.
//!
//! Telegram has two file-carrying shapes: photos, and documents whose attributes say what
//! they are (a video attribute with `round_message` is a round video, an `animated`
//! attribute makes a GIF-like animation, an audio attribute with `voice` is a voice note…).
//! Everything else (locations, polls, web page previews, …) is named by its kind with no
//! file fields. Every key is always present, `null` when it does not apply, so consumers
//! read one shape.

use serde::Serialize;
use tgc_model::teleclient::tl;

use super::context::ParseContext;
use super::storage_ref::MediaFile;

/// Where a media was met, for the storage hook.
pub(crate) struct Origin {
    pub(crate) chat_id: Option<i64>,
    pub(crate) message_id: i32,
}

/// The fields of a file-carrying media, borrowed from the TL media.
#[derive(Debug, Clone, Default, Serialize)]
struct FileFields<'a> {
    id: Option<i64>,
    size: Option<i64>,
    mime_type: Option<&'a str>,
    file_name: Option<&'a str>,
    width: Option<i32>,
    height: Option<i32>,
    duration: Option<f64>,
    title: Option<&'a str>,
    performer: Option<&'a str>,
    emoji: Option<&'a str>,
    spoiler: bool,
}

/// The schema's `media` object.
#[derive(Debug, Clone, Serialize)]
pub struct Media<'a> {
    kind: &'static str,
    #[serde(flatten)]
    fields: FileFields<'a>,
    storage: Option<Storage>,
}

/// Where a media is, or will be, stored.
#[derive(Debug, Clone, Serialize)]
struct Storage {
    key: String,
    status: &'static str,
}

/// The schema's `media` object, or `None` for a message without media.
pub(crate) fn media<'a>(
    media: &'a tl::enums::MessageMedia,
    origin: &Origin,
    ctx: &ParseContext,
) -> Option<Media<'a>> {
    use tl::enums::MessageMedia as M;
    let (kind, fields) = match media {
        M::Empty => return None,
        M::Photo(p) => photo(p),
        M::Document(d) => document(d),
        M::Geo(_) => ("geo", FileFields::default()),
        M::Contact(_) => ("contact", FileFields::default()),
        M::Unsupported => ("unsupported", FileFields::default()),
        M::WebPage(_) => ("webpage", FileFields::default()),
        M::Venue(_) => ("venue", FileFields::default()),
        M::Game(_) => ("game", FileFields::default()),
        M::Invoice(_) => ("invoice", FileFields::default()),
        M::GeoLive(_) => ("geo_live", FileFields::default()),
        M::Poll(_) => ("poll", FileFields::default()),
        M::Dice(_) => ("dice", FileFields::default()),
        M::Story(_) => ("story", FileFields::default()),
        M::Giveaway(_) => ("giveaway", FileFields::default()),
        M::GiveawayResults(_) => ("giveaway_results", FileFields::default()),
        M::PaidMedia(_) => ("paid_media", FileFields::default()),
        M::ToDo(_) => ("todo", FileFields::default()),
        M::VideoStream(_) => ("video_stream", FileFields::default()),
    };
    let storage = fields.id.map(|id| {
        let stored = ctx.media_hook().storage(&MediaFile {
            id,
            kind,
            size: fields.size,
            mime_type: fields.mime_type,
            account: ctx.account(),
            chat_id: origin.chat_id,
            message_id: origin.message_id,
            media,
        });
        Storage {
            key: stored.key,
            status: stored.status.as_str(),
        }
    });
    Some(Media {
        kind,
        fields,
        storage,
    })
}

/// A photo; its size and dimensions are those of its largest stored size.
fn photo(media: &tl::types::MessageMediaPhoto) -> (&'static str, FileFields<'_>) {
    let photo = match &media.photo {
        Some(tl::enums::Photo::Photo(photo)) => photo,
        // A self-destructing photo after its time, or one Telegram no longer serves.
        Some(tl::enums::Photo::Empty(_)) | None => return ("expired", FileFields::default()),
    };
    let largest = photo
        .sizes
        .iter()
        .filter_map(photo_size)
        .max_by_key(|&(w, h, bytes)| (i64::from(w) * i64::from(h), bytes));
    let fields = FileFields {
        id: Some(photo.id),
        size: largest.map(|(_, _, bytes)| bytes),
        // Telegram re-encodes every photo as JPEG.
        mime_type: Some("image/jpeg"),
        width: largest.map(|(w, _, _)| w),
        height: largest.map(|(_, h, _)| h),
        spoiler: media.spoiler,
        ..FileFields::default()
    };
    ("photo", fields)
}

/// (width, height, bytes) of a photo size that is a real image (not a stripped preview or
/// an outline).
fn photo_size(size: &tl::enums::PhotoSize) -> Option<(i32, i32, i64)> {
    use tl::enums::PhotoSize as S;
    match size {
        S::Size(s) => Some((s.w, s.h, i64::from(s.size))),
        S::Progressive(s) => Some((s.w, s.h, i64::from(s.sizes.iter().copied().max()?))),
        S::PhotoCachedSize(s) => Some((s.w, s.h, i64::try_from(s.bytes.len()).ok()?)),
        S::Empty(_) | S::PhotoStrippedSize(_) | S::PhotoPathSize(_) => None,
    }
}

/// A document, its kind read from its attributes (and the media's own flags).
fn document(media: &tl::types::MessageMediaDocument) -> (&'static str, FileFields<'_>) {
    use tl::enums::DocumentAttribute as A;
    let document = match &media.document {
        Some(tl::enums::Document::Document(document)) => document,
        Some(tl::enums::Document::Empty(_)) | None => return ("expired", FileFields::default()),
    };
    let mut fields = FileFields {
        id: Some(document.id),
        size: Some(document.size),
        mime_type: Some(document.mime_type.as_str()).filter(|m| !m.is_empty()),
        spoiler: media.spoiler,
        ..FileFields::default()
    };
    let (mut sticker, mut animated, mut video, mut round, mut audio, mut voice) =
        (false, false, media.video, media.round, false, media.voice);
    for attribute in &document.attributes {
        match attribute {
            A::ImageSize(a) => {
                fields.width = Some(a.w);
                fields.height = Some(a.h);
            }
            A::Animated => animated = true,
            A::Sticker(a) => {
                sticker = true;
                fields.emoji = Some(a.alt.as_str()).filter(|alt| !alt.is_empty());
            }
            A::CustomEmoji(a) => {
                sticker = true;
                fields.emoji = Some(a.alt.as_str()).filter(|alt| !alt.is_empty());
            }
            A::Video(a) => {
                video = true;
                round |= a.round_message;
                fields.width = Some(a.w);
                fields.height = Some(a.h);
                fields.duration = Some(a.duration);
            }
            A::Audio(a) => {
                audio = true;
                voice |= a.voice;
                fields.duration = Some(f64::from(a.duration));
                fields.title = a.title.as_deref();
                fields.performer = a.performer.as_deref();
            }
            A::Filename(a) => fields.file_name = Some(&a.file_name),
            A::HasStickers => {}
        }
    }
    // Order matters: an animated sticker also has a video attribute; a GIF is a silent
    // video marked animated; a round video is a video marked round.
    let kind = if sticker {
        "sticker"
    } else if animated {
        "animation"
    } else if round {
        "round"
    } else if video {
        "video"
    } else if voice {
        "voice"
    } else if audio {
        "audio"
    } else {
        "document"
    };
    (kind, fields)
}
