//! [`TaskStore`]: the media tasks and their downloaded chunks, persisted in SQLite
//! (`<data.dir>/media.sqlite`).
//!
//! A restart must lose nothing and refetch nothing twice, so every task is a row written
//! before it is queued, every state change is a write, and every chunk is recorded once its
//! bytes are in the staging file: a resumed download asks [`TaskStore::chunks_done`] and
//! fetches only the rest. The file is in WAL mode with `synchronous = NORMAL` (a commit
//! per chunk costs no fsync; a power cut may forget the last chunks, which are then merely
//! fetched again) and readable by its owner only (it holds file references).
//!
//! One connection behind a mutex: every statement is a short indexed write or read. A
//! reply that names a new task must not leave before the task is on disk: the store counts
//! those commits and [`TaskStore::sync`] puts them there, one fsync for all of them (see
//! `tgc_common::sqlite`).
//!
//! Finished tasks keep their rows (a media met again is known as stored without a lookup
//! in storage), so the table only grows; tasks by state are therefore counted beside it,
//! from one scan at open, and `/metrics` reads the counts, never the table.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use rusqlite::{Connection, OptionalExtension, Row, params};
use tgc_common::clock::unix_ms;
use tgc_common::sqlite::SqliteFile;

use super::location::{FileKind, FileLocation};
use super::task::{MediaTask, TaskState};
use crate::teleclient::AccountId;

/// The file name inside `data.dir`.
pub const FILE_NAME: &str = "media.sqlite";

/// What went wrong with the task store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot create the directory {path} for the media task store: {source}")]
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot create the media task store {path}: {source}")]
    Create {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("media task store {path}: {source}")]
    Sql {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("media task store {path}: no task for media {media_id}")]
    NotFound { path: PathBuf, media_id: i64 },
    #[error("media task store {path}: the row of media {media_id} is unreadable: {reason}")]
    BadRow {
        path: PathBuf,
        media_id: i64,
        reason: String,
    },
}

tgc_common::from_sqlite_error!(StoreError);

/// What [`TaskStore::insert`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inserted {
    /// The task is new.
    New,
    /// A task for this media already existed (left as it was), in this state.
    Existing(TaskState),
}

/// The persisted media tasks.
pub struct TaskStore {
    file: SqliteFile,
    /// Tasks in each state, in the order of [`TaskState::ALL`]. Changed only while the
    /// connection is held, with the statement that changes the table.
    by_state: Mutex<[u64; TaskState::ALL.len()]>,
}

impl std::fmt::Debug for TaskStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TaskStore")
            .field("path", &self.file.path())
            .finish_non_exhaustive()
    }
}

const SCHEMA: &str = "
    pragma journal_mode = wal;
    pragma synchronous = normal;
    create table if not exists tasks (
        seq integer primary key autoincrement,
        media_id integer not null unique,
        key text not null,
        kind text not null,
        mime_type text,
        size integer not null,
        owner integer not null,
        chat_id integer not null,
        message_id integer not null,
        file_kind text not null,
        access_hash integer not null,
        file_reference blob not null,
        thumb_size text not null,
        dc_id integer not null,
        state text not null,
        attempts integer not null default 0,
        last_error text,
        created_ms integer not null,
        updated_ms integer not null
    );
    create index if not exists tasks_by_state on tasks (state, seq);
    create table if not exists chunks (
        media_id integer not null,
        idx integer not null,
        primary key (media_id, idx)
    ) without rowid;
";

const COLUMNS: &str = "media_id, key, kind, mime_type, size, owner, chat_id, message_id, \
     file_kind, access_hash, file_reference, thumb_size, dc_id, state, attempts, last_error, \
     created_ms, updated_ms";

impl TaskStore {
    /// Opens (creating if needed) `data_dir/media.sqlite`.
    pub fn open_in(data_dir: &Path) -> Result<TaskStore, StoreError> {
        TaskStore::with_file(SqliteFile::open_in(data_dir, FILE_NAME, SCHEMA)?)
    }

    /// Opens (creating if needed, mode 0600) the task store at `path`.
    pub fn open(path: &Path) -> Result<TaskStore, StoreError> {
        TaskStore::with_file(SqliteFile::open(path, SCHEMA)?)
    }

    /// Counts the tasks by state, once: from here on the counts follow every write.
    fn with_file(file: SqliteFile) -> Result<TaskStore, StoreError> {
        let path = file.path().to_owned();
        let sql = |source| StoreError::Sql {
            path: path.clone(),
            source,
        };
        let rows = {
            let conn = file.conn();
            let mut statement = conn
                .prepare("select state, count(*) from tasks group by state")
                .map_err(sql)?;
            statement
                .query_map([], |row| {
                    Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?))
                })
                .map_err(sql)?
                .collect::<Result<Vec<(String, i64)>, _>>()
                .map_err(sql)?
        };
        let mut by_state = [0; TaskState::ALL.len()];
        for (name, count) in rows {
            let state: TaskState =
                name.parse()
                    .map_err(|error: super::task::UnknownState| StoreError::BadRow {
                        path: path.clone(),
                        media_id: 0,
                        reason: error.to_string(),
                    })?;
            by_state[slot(state)] = u64::try_from(count).unwrap_or(0);
        }
        Ok(TaskStore {
            file,
            by_state: Mutex::new(by_state),
        })
    }

    pub fn path(&self) -> &Path {
        self.file.path()
    }

    /// Records a new task, or leaves an existing task for the same media as it is.
    pub fn insert(&self, task: &MediaTask) -> Result<Inserted, StoreError> {
        let conn = self.conn();
        let location = &task.location;
        let added = conn
            .execute(
                &format!(
                    "insert or ignore into tasks ({COLUMNS}) values \
                     (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)"
                ),
                params![
                    task.media_id,
                    task.key,
                    task.kind,
                    task.mime_type,
                    size_column(task.size),
                    task.owner.0,
                    task.chat_id,
                    task.message_id,
                    location.kind.as_str(),
                    location.access_hash,
                    location.file_reference,
                    location.thumb_size,
                    location.dc_id,
                    task.state.as_str(),
                    task.attempts,
                    task.last_error,
                    task.created_ms,
                    task.updated_ms,
                ],
            )
            .map_err(|source| self.sql(source))?;
        if added == 1 {
            self.by_state()[slot(task.state)] += 1;
            self.file.wrote();
            return Ok(Inserted::New);
        }
        let state: String = conn
            .query_row(
                "select state from tasks where media_id = ?1",
                [task.media_id],
                |row| row.get(0),
            )
            .map_err(|source| self.sql(source))?;
        Ok(Inserted::Existing(self.state_of(task.media_id, &state)?))
    }

    /// The task for `media_id`, if any.
    pub fn get(&self, media_id: i64) -> Result<Option<MediaTask>, StoreError> {
        let conn = self.conn();
        let row = conn
            .query_row(
                &format!("select {COLUMNS} from tasks where media_id = ?1"),
                [media_id],
                RawTask::read,
            )
            .optional()
            .map_err(|source| self.sql(source))?;
        row.map(|raw| self.task(raw)).transpose()
    }

    /// The tasks not finished yet (queued, downloading, uploading), oldest first: what a
    /// restart resumes.
    pub fn unfinished(&self) -> Result<Vec<MediaTask>, StoreError> {
        let conn = self.conn();
        let mut statement = conn
            .prepare(&format!(
                "select {COLUMNS} from tasks \
                 where state in ('queued', 'downloading', 'uploading') order by seq"
            ))
            .map_err(|source| self.sql(source))?;
        let rows = statement
            .query_map([], RawTask::read)
            .map_err(|source| self.sql(source))?
            .collect::<Result<Vec<RawTask>, _>>()
            .map_err(|source| self.sql(source))?;
        rows.into_iter().map(|raw| self.task(raw)).collect()
    }

    /// Moves a task to `state`. With an error, the error is recorded and the attempt
    /// counted; without, the last error stays for the record.
    pub fn set_state(
        &self,
        media_id: i64,
        state: TaskState,
        error: Option<&str>,
    ) -> Result<(), StoreError> {
        let conn = self.conn();
        let before: Option<String> = conn
            .query_row(
                "select state from tasks where media_id = ?1",
                [media_id],
                |row| row.get(0),
            )
            .optional()
            .map_err(|source| self.sql(source))?;
        let Some(before) = before else {
            return self.changed_one(media_id, 0);
        };
        let before = self.state_of(media_id, &before)?;
        conn.execute(
            "update tasks set state = ?2, last_error = coalesce(?3, last_error), \
             attempts = attempts + (?3 is not null), updated_ms = ?4 where media_id = ?1",
            params![media_id, state.as_str(), error, unix_ms()],
        )
        .map_err(|source| self.sql(source))?;
        let mut by_state = self.by_state();
        by_state[slot(before)] = by_state[slot(before)].saturating_sub(1);
        by_state[slot(state)] += 1;
        drop(by_state);
        if state == TaskState::Queued {
            // Queued again (a failed media met again): the reply that says so depends on it.
            self.file.wrote();
        }
        Ok(())
    }

    /// Hands a task to another account, with that account's location for the file.
    pub fn set_owner(
        &self,
        media_id: i64,
        owner: AccountId,
        location: &FileLocation,
    ) -> Result<(), StoreError> {
        self.relocate(media_id, Some(owner), location)
    }

    /// Records a refreshed location (a new file reference, another DC) for the same owner.
    pub fn set_location(&self, media_id: i64, location: &FileLocation) -> Result<(), StoreError> {
        self.relocate(media_id, None, location)
    }

    /// Writes the task's file location, and its owner when one is given.
    fn relocate(
        &self,
        media_id: i64,
        owner: Option<AccountId>,
        location: &FileLocation,
    ) -> Result<(), StoreError> {
        let changed = self
            .conn()
            .execute(
                "update tasks set owner = coalesce(?2, owner), file_kind = ?3, access_hash = ?4, \
                 file_reference = ?5, thumb_size = ?6, dc_id = ?7, updated_ms = ?8 \
                 where media_id = ?1",
                params![
                    media_id,
                    owner.map(|owner| owner.0),
                    location.kind.as_str(),
                    location.access_hash,
                    location.file_reference,
                    location.thumb_size,
                    location.dc_id,
                    unix_ms()
                ],
            )
            .map_err(|source| self.sql(source))?;
        self.changed_one(media_id, changed)
    }

    /// Records that chunk `index` of the media is in its staging file.
    pub fn mark_chunk(&self, media_id: i64, index: u32) -> Result<(), StoreError> {
        self.conn()
            .execute(
                "insert or ignore into chunks (media_id, idx) values (?1, ?2)",
                params![media_id, index],
            )
            .map_err(|source| self.sql(source))?;
        Ok(())
    }

    /// The chunks of the media already in its staging file.
    pub fn chunks_done(&self, media_id: i64) -> Result<BTreeSet<u32>, StoreError> {
        let conn = self.conn();
        let mut statement = conn
            .prepare("select idx from chunks where media_id = ?1")
            .map_err(|source| self.sql(source))?;
        statement
            .query_map([media_id], |row| row.get::<_, u32>(0))
            .map_err(|source| self.sql(source))?
            .collect::<Result<BTreeSet<u32>, _>>()
            .map_err(|source| self.sql(source))
    }

    /// Forgets some chunks of the media (their bytes turned out wrong): they are fetched
    /// again.
    pub fn forget_chunks(&self, media_id: i64, indices: &[u32]) -> Result<(), StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(|source| self.sql(source))?;
        for index in indices {
            tx.execute(
                "delete from chunks where media_id = ?1 and idx = ?2",
                params![media_id, index],
            )
            .map_err(|source| self.sql(source))?;
        }
        tx.commit().map_err(|source| self.sql(source))
    }

    /// Forgets the media's chunks (its staging file is gone, or the task is finished).
    pub fn clear_chunks(&self, media_id: i64) -> Result<(), StoreError> {
        self.conn()
            .execute("delete from chunks where media_id = ?1", [media_id])
            .map_err(|source| self.sql(source))?;
        Ok(())
    }

    /// How many tasks are in each state (every state, zeros included), for metrics.
    pub fn counts(&self) -> Vec<(TaskState, u64)> {
        let by_state = *self.by_state();
        TaskState::ALL
            .into_iter()
            .map(|state| (state, by_state[slot(state)]))
            .collect()
    }

    /// Puts on disk every new or requeued task committed so far (one fsync for all; none
    /// when there is nothing new): a reply or a saved update state that names a task
    /// depends on it. It may block: call it off the async workers.
    pub fn sync(&self) -> Result<(), StoreError> {
        self.file.sync().map_err(|source| self.sql(source))
    }

    /// Whether every new or requeued task committed so far is on disk already.
    pub fn is_synced(&self) -> bool {
        self.file.is_synced()
    }

    fn by_state(&self) -> MutexGuard<'_, [u64; TaskState::ALL.len()]> {
        self.by_state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn changed_one(&self, media_id: i64, changed: usize) -> Result<(), StoreError> {
        if changed == 0 {
            Err(StoreError::NotFound {
                path: self.file.path().to_owned(),
                media_id,
            })
        } else {
            Ok(())
        }
    }

    fn state_of(&self, media_id: i64, text: &str) -> Result<TaskState, StoreError> {
        text.parse()
            .map_err(|error: super::task::UnknownState| StoreError::BadRow {
                path: self.file.path().to_owned(),
                media_id,
                reason: error.to_string(),
            })
    }

    fn task(&self, raw: RawTask) -> Result<MediaTask, StoreError> {
        let bad = |reason: String| StoreError::BadRow {
            path: self.file.path().to_owned(),
            media_id: raw.media_id,
            reason,
        };
        let file_kind: FileKind = raw.file_kind.parse().map_err(bad)?;
        let state = self.state_of(raw.media_id, &raw.state)?;
        let size =
            u64::try_from(raw.size).map_err(|_| bad(format!("negative size {}", raw.size)))?;
        Ok(MediaTask {
            media_id: raw.media_id,
            key: raw.key,
            kind: raw.kind,
            mime_type: raw.mime_type,
            size,
            owner: AccountId(raw.owner),
            chat_id: raw.chat_id,
            message_id: raw.message_id,
            location: FileLocation {
                kind: file_kind,
                id: raw.media_id,
                access_hash: raw.access_hash,
                file_reference: raw.file_reference,
                thumb_size: raw.thumb_size,
                dc_id: raw.dc_id,
            },
            state,
            attempts: raw.attempts,
            last_error: raw.last_error,
            created_ms: raw.created_ms,
            updated_ms: raw.updated_ms,
        })
    }

    fn sql(&self, source: rusqlite::Error) -> StoreError {
        StoreError::Sql {
            path: self.file.path().to_owned(),
            source,
        }
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        self.file.conn()
    }
}

/// Where `state` is counted in [`TaskStore::by_state`]: its place in [`TaskState::ALL`].
fn slot(state: TaskState) -> usize {
    state as usize
}

/// SQLite integers are signed; no real file comes near 2^63 bytes.
fn size_column(size: u64) -> i64 {
    i64::try_from(size).unwrap_or(i64::MAX)
}

/// A row as stored, before its names are read.
struct RawTask {
    media_id: i64,
    key: String,
    kind: String,
    mime_type: Option<String>,
    size: i64,
    owner: i64,
    chat_id: i64,
    message_id: i32,
    file_kind: String,
    access_hash: i64,
    file_reference: Vec<u8>,
    thumb_size: String,
    dc_id: i32,
    state: String,
    attempts: u32,
    last_error: Option<String>,
    created_ms: i64,
    updated_ms: i64,
}

impl RawTask {
    fn read(row: &Row<'_>) -> rusqlite::Result<RawTask> {
        Ok(RawTask {
            media_id: row.get(0)?,
            key: row.get(1)?,
            kind: row.get(2)?,
            mime_type: row.get(3)?,
            size: row.get(4)?,
            owner: row.get(5)?,
            chat_id: row.get(6)?,
            message_id: row.get(7)?,
            file_kind: row.get(8)?,
            access_hash: row.get(9)?,
            file_reference: row.get(10)?,
            thumb_size: row.get(11)?,
            dc_id: row.get(12)?,
            state: row.get(13)?,
            attempts: row.get(14)?,
            last_error: row.get(15)?,
            created_ms: row.get(16)?,
            updated_ms: row.get(17)?,
        })
    }
}
