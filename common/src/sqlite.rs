//! The gateway's own SQLite files (the username directory, the join map, the media task
//! table, the outbox), opened one way.
//!
//! Each holds account or message data, so each is created with mode 0600 from its first byte
//! (SQLite gives its `-wal` and `-shm` files the same mode); each waits up to five seconds for
//! a lock another connection holds instead of failing at once; each runs its own schema
//! (pragmas and `create … if not exists`) on open; each is used through one connection
//! behind a mutex (a connection is not `Sync`); and each error names its file. Session files
//! are not among them: they are Telethon's, opened by `model::session`.

use std::fs;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
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
