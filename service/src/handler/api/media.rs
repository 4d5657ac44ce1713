//! `media`: where a media object is, or will be, stored, and how far its task has come.
//!
//! Storage keys are a pure function of the Telegram media id (docs/design.md §6), so the key is
//! always known. The status comes from the media pipeline's task table: `pending` while the
//! task is queued, downloading or uploading (`task.state` says which), `stored`, `failed`
//! (with the reason), or `not_tracked` when this gateway never met the media in a message
//! or runs without the pipeline.

use serde_json::{Value, json};
use tgc_model::media::{MediaTask, TaskState};

use crate::handler::error::ApiError;
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
            let key = storage_key(media_id);
            let pipeline = &cx.media;
            let url = pipeline.storage().url(&key);
            let task = pipeline.task(media_id).map_err(|error| {
                ApiError::internal(format!("reading the media task table: {error}"))
            })?;
            let reply = match task {
                None => json!({
                    "media_id": media_id,
                    "storage": { "key": key, "status": "not_tracked", "url": url },
                    "task": Value::Null,
                    "detail": "this gateway has not met the media in a message yet; read the message (history, search, live) to queue it",
                }),
                Some(task) => json!({
                    "media_id": media_id,
                    "storage": { "key": key, "status": status(task.state), "url": url },
                    "task": task_json(&task),
                }),
            };
            Ok(reply.into())
        })
    }
}

/// The schema's storage status of a task state.
fn status(state: TaskState) -> &'static str {
    match state {
        TaskState::Queued | TaskState::Downloading | TaskState::Uploading => "pending",
        TaskState::Stored => "stored",
        TaskState::Failed => "failed",
        TaskState::Skipped => "skipped",
    }
}

fn task_json(task: &MediaTask) -> Value {
    json!({
        "state": task.state.as_str(),
        "kind": task.kind,
        "size": task.size,
        "mime_type": task.mime_type,
        "account": task.owner.0,
        "chat_id": task.chat_id,
        "message_id": task.message_id,
        "attempts": task.attempts,
        "last_error": task.last_error,
        "created_at_ms": task.created_ms,
        "updated_at_ms": task.updated_ms,
    })
}
