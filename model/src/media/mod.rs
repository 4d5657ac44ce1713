//! Account-bound media: where a file is ([`location`]), how it is cut into requests
//! ([`chunks`]), the persisted download tasks ([`mod@task`], [`task_store`]), refreshing a file
//! reference ([`mod@refetch`]), and fetching a file into a staging file ([`file_download`]).
//!
//! Everything here is about one account and one file; the queues, workers, uploads and
//! takeovers that use it live in the service's `mediaprocessor`.

pub mod chunks;
pub mod file_download;
pub mod location;
pub mod refetch;
pub mod task;
pub mod task_store;

pub use chunks::{Chunk, ChunkSizeError, check_chunk_size, plan};
pub use file_download::{DownloadError, DownloadOptions, GET_FILE, download, open_staging};
pub use location::{FileKind, FileLocation};
pub use refetch::{RefetchError, refetch, refetch_sized};
pub use task::{MediaTask, TaskState, UnknownState};
pub use task_store::{Inserted, StoreError, TaskStore};
