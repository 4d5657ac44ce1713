//! Errors of session files and of account import.
//!
//! Every [`SessionError`] names the file it is about, because an operator with a
//! directory of forty sessions needs to know which one is broken and why, not merely
//! that "a database is malformed". [`ImportError`] says exactly what is wrong with a
//! pasted `StringSession` so it can be fixed without reading Telethon's source.

use std::path::PathBuf;

/// Something wrong with one session file.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("session file {path}: cannot be read: {source}")]
    Unreadable {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("session file {path}: is a directory, expected an SQLite file")]
    IsDirectory { path: PathBuf },

    #[error("session file {path}: not an SQLite database")]
    NotSqlite { path: PathBuf },

    #[error(
        "session file {path}: a JSON session of Telethon before 0.17: open it once with \
         Telethon 1.x to convert it, then import"
    )]
    TelethonJson { path: PathBuf },

    #[error("session file {path}: not a Telethon session: {detail}")]
    WrongSchema { path: PathBuf, detail: String },

    #[error(
        "session file {path}: layout version {version} is not a Telethon layout \
         (Telethon numbers them from {} to {})",
        crate::session::layout::OLDEST_VERSION,
        crate::session::layout::CURRENT_VERSION
    )]
    UnsupportedVersion { path: PathBuf, version: i64 },

    #[error(
        "session file {path}: layout version {version} was written by a newer Telethon \
         than this gateway knows (newest known: {}); refused rather than misread",
        crate::session::layout::CURRENT_VERSION
    )]
    NewerVersion { path: PathBuf, version: i64 },

    #[error("session file {path}: auth key of DC {dc_id} is {len} bytes, expected 256")]
    BadAuthKey {
        path: PathBuf,
        dc_id: i32,
        len: usize,
    },

    #[error("session file {path}: server address {address:?} of DC {dc_id} is not an IP address")]
    BadAddress {
        path: PathBuf,
        dc_id: i32,
        address: String,
    },

    #[error("session file {path}: already exists, refusing to overwrite it")]
    AlreadyExists { path: PathBuf },

    #[error("session file {path}: cannot be created: {source}")]
    Create {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("session file {path}: {detail}")]
    InvalidPeer { path: PathBuf, detail: String },

    #[error("session file {path}: SQLite error: {source}")]
    Sqlite {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },

    #[error("session file {path}: a previous operation panicked while holding the session lock")]
    Poisoned { path: PathBuf },

    #[error("session directory {path}: cannot be listed: {source}")]
    Directory {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl SessionError {
    /// An SQLite failure on `path`; "not a database" gets its own, clearer variant.
    pub(crate) fn from_sql(path: &std::path::Path, source: rusqlite::Error) -> Self {
        if source.sqlite_error_code() == Some(rusqlite::ErrorCode::NotADatabase) {
            SessionError::NotSqlite {
                path: path.to_owned(),
            }
        } else {
            SessionError::Sqlite {
                path: path.to_owned(),
                source,
            }
        }
    }

    /// The file (or directory) the error is about.
    pub fn path(&self) -> &std::path::Path {
        match self {
            SessionError::Unreadable { path, .. }
            | SessionError::IsDirectory { path }
            | SessionError::NotSqlite { path }
            | SessionError::TelethonJson { path }
            | SessionError::WrongSchema { path, .. }
            | SessionError::UnsupportedVersion { path, .. }
            | SessionError::NewerVersion { path, .. }
            | SessionError::BadAuthKey { path, .. }
            | SessionError::BadAddress { path, .. }
            | SessionError::AlreadyExists { path }
            | SessionError::Create { path, .. }
            | SessionError::InvalidPeer { path, .. }
            | SessionError::Sqlite { path, .. }
            | SessionError::Poisoned { path }
            | SessionError::Directory { path, .. } => path,
        }
    }
}

/// Why an account could not be imported.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("StringSession is empty")]
    EmptyString,

    #[error("StringSession starts with {found:?}, expected version prefix '1'")]
    WrongVersion { found: char },

    #[error("StringSession is not valid URL-safe base64 after the '1' prefix: {0}")]
    BadBase64(#[from] base64::DecodeError),

    #[error(
        "StringSession decodes to {len} bytes, expected 263 (IPv4 address) or 275 (IPv6 address)"
    )]
    WrongLength { len: usize },

    #[error("StringSession has DC id 0, expected a Telegram datacenter id (1 to 255)")]
    BadDcId,

    #[error("StringSession has port 0, expected a TCP port (1 to 65535)")]
    BadPort,

    #[error("StringSession has an all-zero auth key: the session was never authorized")]
    EmptyAuthKey,

    #[error(
        "account name {name:?} is invalid: {reason}; expected one or more of A-Z a-z 0-9 _ . -"
    )]
    BadName { name: String, reason: &'static str },

    #[error("source {path} has no usable file name to name the account after")]
    NoFileName { path: PathBuf },

    #[error("session file {path} has no auth key: the account was never logged in")]
    NotLoggedIn { path: PathBuf },

    #[error("cannot copy {from} to {to}: {source}")]
    Copy {
        from: PathBuf,
        to: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error(transparent)]
    Pyrogram(#[from] super::pyrogram::PyrogramError),

    #[error(
        "the session's home DC {dc_id} is not one of Telegram's DCs 1 to 5; give its address with --dc-address HOST:PORT"
    )]
    UnknownDc { dc_id: i32 },

    #[error(transparent)]
    Session(#[from] SessionError),
}
