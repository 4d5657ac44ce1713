//! `media`: where a media object is, or will be, stored.
//!
//! Storage keys are a pure function of the Telegram media id (DESIGN §6), so the key is
//! always known. The media pipeline (download and upload queues) is not part of this build:
//! nothing is downloaded yet, so the status says exactly that (`not_tracked`) rather than
//! guessing. When the pipeline lands it answers from its task table here.

use serde_json::json;

use crate::handler::route::{Context, Handler, Reply};
use crate::parser::storage_key;

pub struct Media;

impl Handler for Media {
    fn params(&self) -> &'static [&'static str] {
        &["media_id"]
    }

    fn post<'a>(&'a self, cx: &'a Context) -> Reply<'a> {
        Box::pin(async move {
            let media_id = cx.params.required_int("media_id", i64::MIN..=i64::MAX)?;
            Ok(json!({
                "media_id": media_id,
                "storage": {
                    "key": storage_key(media_id),
                    "status": "not_tracked",
                },
                "detail": "this gateway runs no media pipeline yet: nothing is downloaded or stored; `key` is where the media will be stored (murmur3 of the media id, DESIGN §6)",
            }))
        })
    }
}
