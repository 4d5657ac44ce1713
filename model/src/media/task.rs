//! [`MediaTask`]: one media file to download and store, and its [`TaskState`].
//!
//! A task is bound to the account that fetched its message ([`MediaTask::owner`]): the
//! access hash and file reference in its location are that account's. It carries what a
//! restart needs to go on without the message (the location, the chat and message to
//! refetch it from, the storage key), and how far it got.

use super::location::FileLocation;
use crate::teleclient::AccountId;

/// Where a task stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TaskState {
    /// Waiting in its account's download queue.
    Queued,
    /// Chunks are being fetched into its staging file.
    Downloading,
    /// Downloaded; waiting for, or in, the upload to storage.
    Uploading,
    /// In object storage under its key.
    Stored,
    /// Given up on, with the last error.
    Failed,
    /// Not to be downloaded (kind filter, size cap, already stored).
    Skipped,
}

impl TaskState {
    pub const ALL: [TaskState; 6] = [
        TaskState::Queued,
        TaskState::Downloading,
        TaskState::Uploading,
        TaskState::Stored,
        TaskState::Failed,
        TaskState::Skipped,
    ];

    /// The name stored in the task store and shown in metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            TaskState::Queued => "queued",
            TaskState::Downloading => "downloading",
            TaskState::Uploading => "uploading",
            TaskState::Stored => "stored",
            TaskState::Failed => "failed",
            TaskState::Skipped => "skipped",
        }
    }

    /// Whether nothing more will happen to the task.
    pub fn is_finished(self) -> bool {
        matches!(
            self,
            TaskState::Stored | TaskState::Failed | TaskState::Skipped
        )
    }
}

impl std::fmt::Display for TaskState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is not a task state.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{0:?} is not a task state; expected queued, downloading, uploading, stored, failed or skipped"
)]
pub struct UnknownState(pub String);

impl std::str::FromStr for TaskState {
    type Err = UnknownState;

    fn from_str(text: &str) -> Result<TaskState, UnknownState> {
        TaskState::ALL
            .into_iter()
            .find(|state| state.as_str() == text)
            .ok_or_else(|| UnknownState(text.to_owned()))
    }
}

/// One media file to download and store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaTask {
    /// The Telegram photo or document id; one task per media.
    pub media_id: i64,
    /// The object storage key (`parser::storage_key(media_id)`).
    pub key: String,
    /// The parser's media kind ("photo", "video", "document", …).
    pub kind: String,
    pub mime_type: Option<String>,
    /// Bytes of the file.
    pub size: u64,
    /// The account the location belongs to.
    pub owner: AccountId,
    /// The chat of the message, as a marked (Bot API) id.
    pub chat_id: i64,
    pub message_id: i32,
    pub location: FileLocation,
    pub state: TaskState,
    /// Failures so far.
    pub attempts: u32,
    pub last_error: Option<String>,
    /// Unix milliseconds.
    pub created_ms: i64,
    pub updated_ms: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_round_trip_through_their_names() {
        for state in TaskState::ALL {
            assert_eq!(state.as_str().parse::<TaskState>(), Ok(state));
        }
        assert!("done".parse::<TaskState>().is_err());
        let finished: Vec<TaskState> = TaskState::ALL
            .into_iter()
            .filter(|s| s.is_finished())
            .collect();
        assert_eq!(
            finished,
            [TaskState::Stored, TaskState::Failed, TaskState::Skipped]
        );
    }

    /// The task store counts states in an array indexed by `state as usize`.
    #[test]
    fn all_lists_the_states_in_declaration_order() {
        for (index, state) in TaskState::ALL.into_iter().enumerate() {
            assert_eq!(state as usize, index);
        }
    }
}
