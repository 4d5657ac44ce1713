//! The gateway's own SQLite files (the username directory, the join map, the media task
//! table, the outbox), opened one way.
//!
//! Each holds account or message data, so each is created with mode 0600 from its first byte
//! (SQLite gives its `-wal` and `-shm` files the same mode); each waits up to five seconds for
//! a lock another connection holds instead of failing at once; each runs its own schema
//! (pragmas and `create … if not exists`) on open; each is used through one connection
//! behind a mutex (a connection is not `Sync`); and each error names its file. Session files
//! are not among them: they are Telethon's, opened by `model::session`.
//!
//! The files run WAL with `synchronous = normal`: a commit survives a killed process but
//! costs no fsync. What a later write elsewhere depends on (an update state saved after
//! the events it covers, a reply that names a queued media task) is counted with
//! [`SqliteFile::wrote`] and put on disk with [`SqliteFile::sync`] first: one fsync for
//! everything committed so far, and none when nothing was.

use std::fs;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::Connection;

/// How long a statement waits for another connection's lock before it fails.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a file could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum SqliteError {
    #[error("cannot create the directory {path}: {source}")]
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot create {path}: {source}")]
    Create {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    Sql {
        path: PathBuf,
        source: rusqlite::Error,
    },
}

/// Implements `From<SqliteError>` for a store's own error enum, which has `CreateDir`,
/// `Create` and `Sql` variants with the same fields: each store keeps its own error type and
/// messages ("join map {path}: …"), and `?` on an open just works.
#[macro_export]
macro_rules! from_sqlite_error {
    ($error:ident) => {
        impl From<$crate::sqlite::SqliteError> for $error {
            fn from(error: $crate::sqlite::SqliteError) -> Self {
                use $crate::sqlite::SqliteError;
                match error {
                    SqliteError::CreateDir { path, source } => $error::CreateDir { path, source },
                    SqliteError::Create { path, source } => $error::Create { path, source },
                    SqliteError::Sql { path, source } => $error::Sql { path, source },
                }
            }
        }
    };
}

/// One of the gateway's SQLite files, open.
#[derive(Debug)]
pub struct SqliteFile {
    path: PathBuf,
    conn: Mutex<Connection>,
    /// Commits counted by [`SqliteFile::wrote`], which a later sync must put on disk.
    written: AtomicU64,
    /// How many of those the last sync covered. Held through a sync, so that a caller who
    /// comes meanwhile waits for it and then finds its own commits covered.
    synced: Mutex<u64>,
}

impl SqliteFile {
    /// Opens (creating if needed) `dir/name`, creating `dir` if it is missing.
    pub fn open_in(dir: &Path, name: &str, schema: &str) -> Result<SqliteFile, SqliteError> {
        fs::create_dir_all(dir).map_err(|source| SqliteError::CreateDir {
            path: dir.to_owned(),
            source,
        })?;
        SqliteFile::open(&dir.join(name), schema)
    }

    /// Opens (creating if needed, mode 0600) the file at `path` and runs `schema` on it.
    pub fn open(path: &Path, schema: &str) -> Result<SqliteFile, SqliteError> {
        fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(path)
            .map_err(|source| SqliteError::Create {
                path: path.to_owned(),
                source,
            })?;
        let sql = |source| SqliteError::Sql {
            path: path.to_owned(),
            source,
        };
        let conn = Connection::open(path).map_err(sql)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(sql)?;
        conn.execute_batch(schema).map_err(sql)?;
        Ok(SqliteFile {
            path: path.to_owned(),
            conn: Mutex::new(conn),
            written: AtomicU64::new(0),
            synced: Mutex::new(0),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The connection, for one statement or one transaction.
    pub fn conn(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave SQLite half-written (statements and
        // transactions are atomic), so a poisoned lock is safe to keep using.
        self.conn
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Counts a commit just made that something written later depends on, so that the
    /// next [`SqliteFile::sync`] puts it on disk.
    pub fn wrote(&self) {
        self.written.fetch_add(1, Ordering::SeqCst);
    }

    /// Puts on disk every commit counted before this call: a passive checkpoint, which
    /// syncs the WAL first (SQLite's rule for `synchronous = normal`). Free when nothing new
    /// was counted since the last sync. It may fsync: call it from blocking code (see
    /// [`crate::blocking::offload`]).
    pub fn sync(&self) -> Result<(), rusqlite::Error> {
        let wanted = self.written.load(Ordering::SeqCst);
        let mut synced = self
            .synced
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if *synced >= wanted {
            return Ok(());
        }
        // Every commit counted by now was made before the checkpoint starts.
        let covered = self.written.load(Ordering::SeqCst);
        self.conn()
            .query_row("pragma wal_checkpoint(passive)", [], |_| Ok(()))?;
        *synced = covered;
        Ok(())
    }

    /// Whether every counted commit is on disk.
    pub fn is_synced(&self) -> bool {
        *self
            .synced
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            >= self.written.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn a_new_file_and_its_directory_are_created_private_and_the_schema_runs() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let file = SqliteFile::open_in(
            &data,
            "x.sqlite",
            "pragma journal_mode = wal; create table if not exists t (a integer);",
        )
        .unwrap();
        assert_eq!(file.path(), data.join("x.sqlite"));
        file.conn().execute("insert into t values (1)", []).unwrap();
        let mode = fs::metadata(file.path()).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        for side in ["x.sqlite-wal", "x.sqlite-shm"] {
            let mode = fs::metadata(data.join(side)).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{side}");
        }
    }

    /// The rows of `t` in the database file itself, its WAL ignored: what a sync has put
    /// there.
    fn rows_in_main_file(path: &Path) -> i64 {
        use rusqlite::OpenFlags;
        let uri = format!("file:{}?immutable=1", path.display());
        let reader = Connection::open_with_flags(
            uri,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_URI,
        )
        .unwrap();
        reader
            .query_row("select count(*) from t", [], |row| row.get(0))
            .unwrap()
    }

    #[test]
    fn a_sync_puts_what_was_counted_on_disk_and_only_then_runs() {
        let dir = tempfile::tempdir().unwrap();
        let file = SqliteFile::open_in(
            dir.path(),
            "x.sqlite",
            "pragma journal_mode = wal; pragma synchronous = normal; \
             pragma wal_autocheckpoint = 0; create table if not exists t (a integer);",
        )
        .unwrap();
        assert!(file.is_synced());
        // The schema itself: once synced, the table is in the main file.
        file.wrote();
        file.sync().unwrap();
        assert_eq!(rows_in_main_file(file.path()), 0);
        file.conn().execute("insert into t values (1)", []).unwrap();
        assert_eq!(
            rows_in_main_file(file.path()),
            0,
            "a commit stays in the WAL"
        );
        file.wrote();
        assert!(!file.is_synced());
        file.sync().unwrap();
        assert!(file.is_synced());
        assert_eq!(rows_in_main_file(file.path()), 1);

        // With nothing counted since, a sync does not run.
        file.conn().execute("insert into t values (2)", []).unwrap();
        file.sync().unwrap();
        assert_eq!(rows_in_main_file(file.path()), 1);
        file.wrote();
        file.sync().unwrap();
        assert_eq!(rows_in_main_file(file.path()), 2);
    }

    #[test]
    fn errors_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let blocker = dir.path().join("not-a-dir");
        fs::write(&blocker, b"").unwrap();
        let error = SqliteFile::open_in(&blocker, "x.sqlite", "").unwrap_err();
        assert!(matches!(error, SqliteError::CreateDir { .. }), "{error}");
        assert!(error.to_string().contains("not-a-dir"), "{error}");
        let bad = dir.path().join("bad.sqlite");
        fs::write(&bad, b"this is not a database, not at all, no").unwrap();
        let error = SqliteFile::open(&bad, "create table if not exists t (a);").unwrap_err();
        assert!(matches!(error, SqliteError::Sql { .. }), "{error}");
        assert!(error.to_string().contains("bad.sqlite"), "{error}");
    }
}
