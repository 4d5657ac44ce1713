//! Pyrogram's logins, read (never written) so its users can bring their accounts.
//!
//! Pyrogram 2.0.106 keeps a login in one of two shapes, both decoded here as its own
//! `pyrogram/storage` code defines them:
//!
//! - a session string (`export_session_string`): URL-safe base64 without padding of a
//!   Python `struct`. The format is told by the string's length, as Pyrogram does: 351
//!   characters are the old `>B?256sI?` (DC, test mode, key, 32-bit user id, bot), 356
//!   the old `>B?256sQ?`, 362 the current `>BI?256sQ?`, which adds the API id;
//! - a `.session` file: SQLite with one row in `sessions`, the peers it met in `peers`
//!   (keyed by Bot-API marked ids, like Telethon's `entities`) and a layout number in
//!   `version`, 1 to 3 for the Pyrogram read here.
//!
//! Pyrogram opens its own file read-write and vacuums it; we open the user's file
//! read-only, so a failed or repeated import leaves their source exactly as it was.
//! Neither shape holds a server address: Pyrogram derives it from the DC id.
//! Everything read is checked, because these come from another program and often from
//! a clipboard: a wrong length, a test-server login or a key of zeros is refused with
//! what to do about it, never half-imported.

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use grammers_session::types::{PeerId, PeerKind};
use rusqlite::types::Value;
use rusqlite::{Connection, OpenFlags};

use super::peers::peer_id;
use super::rows::Entity;

const AUTH_KEY_LEN: usize = 256;

/// The layout version Pyrogram 2.0.106 writes (`SQLiteStorage.VERSION`); its
/// `FileStorage.update` upgrades 1 and 2 to it, and knows nothing newer.
const NEWEST_FILE_VERSION: i64 = 3;

/// A Pyrogram client running on the same file blocks readers only while it commits:
/// wait that out rather than fail the import.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// A Pyrogram login, from a string or a file. Debug never prints the key.
#[derive(Clone, PartialEq, Eq)]
pub struct PyrogramSession {
    pub dc_id: i32,
    /// Only the current string format and layout version 3 record it; 0 or NULL, which
    /// Pyrogram itself treats as "ask the user", read as `None`.
    pub api_id: Option<i32>,
    /// Always `false` in a parsed session: test-server logins are refused.
    pub test_mode: bool,
    pub auth_key: [u8; 256],
    /// `None` when a file never finished logging in (Pyrogram would then discard the
    /// key and start over).
    pub user_id: Option<i64>,
    pub bot: Option<bool>,
    /// Peers cached in a file's `peers` table (empty for strings). Pyrogram's finer
    /// types (bot, supergroup) have no place in an [`Entity`] and are dropped.
    pub peers: Vec<Entity>,
}

impl fmt::Debug for PyrogramSession {
    /// Never prints the key: it is the account.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PyrogramSession")
            .field("dc_id", &self.dc_id)
            .field("api_id", &self.api_id)
            .field("test_mode", &self.test_mode)
            .field("auth_key", &"<256 bytes>")
            .field("user_id", &self.user_id)
            .field("bot", &self.bot)
            .field("peers", &self.peers.len())
            .finish()
    }
}

/// Why a Pyrogram string or file cannot be imported. Errors about a file name it.
#[derive(Debug, thiserror::Error)]
pub enum PyrogramError {
    #[error(
        "Pyrogram session string is {chars} characters long (not counting `=` padding), \
         expected 351 or 356 (old formats) or 362: was it cut short when copied?"
    )]
    StringLength { chars: usize },

    #[error("Pyrogram session string is not valid URL-safe base64: {0}")]
    BadBase64(#[source] base64::DecodeError),

    #[error(
        "{}: a session of Telegram's test servers (test_mode), refused: the gateway only \
         connects to the production servers; log in again without test_mode",
        origin(.path)
    )]
    TestMode { path: Option<PathBuf> },

    #[error("{}: the auth key is all zeros: the session was never authorized", origin(.path))]
    EmptyAuthKey { path: Option<PathBuf> },

    #[error("{}: DC id {dc_id}, expected a Telegram datacenter id (1 to 255)", origin(.path))]
    BadDcId { path: Option<PathBuf>, dc_id: i64 },

    #[error("{}: {field} {value} is not one Telegram can have", origin(.path))]
    OutOfRange {
        path: Option<PathBuf>,
        field: &'static str,
        value: i128,
    },

    #[error("Pyrogram session file {path}: cannot be read: {source}")]
    Unreadable {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("Pyrogram session file {path}: is a directory, expected an SQLite file")]
    IsDirectory { path: PathBuf },

    #[error("Pyrogram session file {path}: not an SQLite database")]
    NotSqlite { path: PathBuf },

    #[error("Pyrogram session file {path}: not a Pyrogram session: {detail}")]
    NotPyrogram { path: PathBuf, detail: String },

    #[error(
        "Pyrogram session file {path}: layout version {version}, expected 1 to {NEWEST_FILE_VERSION} \
         (those of Pyrogram 2.0.106); a newer one comes from a newer Pyrogram or a fork: \
         try its session string (export_session_string) instead"
    )]
    UnsupportedVersion { path: PathBuf, version: i64 },

    #[error("Pyrogram session file {path}: auth_key is NULL: the account was never logged in")]
    NoAuthKey { path: PathBuf },

    #[error("Pyrogram session file {path}: auth key is {len} bytes, expected 256")]
    BadAuthKey { path: PathBuf, len: usize },

    #[error("Pyrogram session file {path}: SQLite error: {source}")]
    Sqlite {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
}

impl PyrogramError {
    /// The file the error is about; `None` for a session string.
    pub fn path(&self) -> Option<&Path> {
        match self {
            PyrogramError::StringLength { .. } | PyrogramError::BadBase64(_) => None,
            PyrogramError::TestMode { path }
            | PyrogramError::EmptyAuthKey { path }
            | PyrogramError::BadDcId { path, .. }
            | PyrogramError::OutOfRange { path, .. } => path.as_deref(),
            PyrogramError::Unreadable { path, .. }
            | PyrogramError::IsDirectory { path }
            | PyrogramError::NotSqlite { path }
            | PyrogramError::NotPyrogram { path, .. }
            | PyrogramError::UnsupportedVersion { path, .. }
            | PyrogramError::NoAuthKey { path }
            | PyrogramError::BadAuthKey { path, .. }
            | PyrogramError::Sqlite { path, .. } => Some(path),
        }
    }

    fn from_sql(path: &Path, source: rusqlite::Error) -> Self {
        if source.sqlite_error_code() == Some(rusqlite::ErrorCode::NotADatabase) {
            PyrogramError::NotSqlite {
                path: path.to_owned(),
            }
        } else {
            PyrogramError::Sqlite {
                path: path.to_owned(),
                source,
            }
        }
    }
}

fn origin(path: &Option<PathBuf>) -> String {
    match path {
        Some(path) => format!("Pyrogram session file {}", path.display()),
        None => "Pyrogram session string".to_owned(),
    }
}

/// The three string layouts, by their unpadded length in characters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum StringFormat {
    /// `>B?256sI?`: before user ids outgrew 32 bits.
    Old32,
    /// `>B?256sQ?`: before the API id was recorded.
    Old64,
    /// `>BI?256sQ?`.
    Current,
}

impl StringFormat {
    fn of_len(chars: usize) -> Option<StringFormat> {
        match chars {
            351 => Some(StringFormat::Old32),
            356 => Some(StringFormat::Old64),
            362 => Some(StringFormat::Current),
            _ => None,
        }
    }
}

/// Big-endian fields off the front of a decoded string. The length is checked before
/// reading, so running dry means a bug here; it still errs instead of panicking.
struct Fields<'a>(&'a [u8]);

impl<'a> Fields<'a> {
    fn take<const N: usize>(&mut self) -> Option<[u8; N]> {
        let (head, rest) = self.0.split_first_chunk::<N>()?;
        self.0 = rest;
        Some(*head)
    }

    fn u8(&mut self) -> Option<u8> {
        self.take::<1>().map(|[byte]| byte)
    }

    fn u32(&mut self) -> Option<u32> {
        self.take().map(u32::from_be_bytes)
    }

    fn u64(&mut self) -> Option<u64> {
        self.take().map(u64::from_be_bytes)
    }
}

/// What both shapes hold, before the checks they share.
struct Login {
    dc_id: i64,
    api_id: Option<i64>,
    test_mode: bool,
    auth_key: [u8; AUTH_KEY_LEN],
    user_id: Option<i128>,
    bot: Option<bool>,
}

impl Login {
    fn check(self, path: Option<&Path>) -> Result<PyrogramSession, PyrogramError> {
        let path = || path.map(Path::to_owned);
        let dc_id = i32::try_from(self.dc_id)
            .ok()
            .filter(|dc_id| (1..=255).contains(dc_id))
            .ok_or_else(|| PyrogramError::BadDcId {
                path: path(),
                dc_id: self.dc_id,
            })?;
        if self.test_mode {
            return Err(PyrogramError::TestMode { path: path() });
        }
        if self.auth_key.iter().all(|&byte| byte == 0) {
            return Err(PyrogramError::EmptyAuthKey { path: path() });
        }
        let out_of_range = |field, value| PyrogramError::OutOfRange {
            path: path(),
            field,
            value,
        };
        // Pyrogram asks for the API id whenever the stored one is falsy.
        let api_id = match self.api_id {
            None | Some(0) => None,
            Some(api_id) => Some(
                i32::try_from(api_id)
                    .ok()
                    .filter(|api_id| *api_id > 0)
                    .ok_or_else(|| out_of_range("API id", api_id.into()))?,
            ),
        };
        // No user has id 0: it is what a string written without a user holds.
        let user_id = match self.user_id {
            None | Some(0) => None,
            Some(user_id) => Some(
                i64::try_from(user_id)
                    .ok()
                    .filter(|user_id| PeerId::user(*user_id).is_some())
                    .ok_or_else(|| out_of_range("user id", user_id))?,
            ),
        };
        Ok(PyrogramSession {
            dc_id,
            api_id,
            test_mode: false,
            auth_key: self.auth_key,
            user_id,
            bot: self.bot,
            peers: Vec::new(),
        })
    }
}

impl PyrogramSession {
    /// Decodes a session string of any of Pyrogram's three formats; surrounding
    /// whitespace and `=` padding (which Pyrogram strips) are ignored.
    pub fn parse_string(s: &str) -> Result<PyrogramSession, PyrogramError> {
        let unpadded = s.trim().trim_end_matches('=');
        let chars = unpadded.chars().count();
        let format = StringFormat::of_len(chars).ok_or(PyrogramError::StringLength { chars })?;
        let bytes = URL_SAFE_NO_PAD
            .decode(unpadded)
            .map_err(PyrogramError::BadBase64)?;
        Self::unpack(format, &bytes)
            .ok_or(PyrogramError::StringLength { chars })?
            .check(None)
    }

    fn unpack(format: StringFormat, bytes: &[u8]) -> Option<Login> {
        let mut fields = Fields(bytes);
        let dc_id = fields.u8()?.into();
        let api_id = match format {
            StringFormat::Current => Some(fields.u32()?.into()),
            StringFormat::Old32 | StringFormat::Old64 => None,
        };
        // Python's `?` reads any non-zero byte as True.
        let test_mode = fields.u8()? != 0;
        let auth_key = fields.take::<AUTH_KEY_LEN>()?;
        let user_id = match format {
            StringFormat::Old32 => fields.u32()?.into(),
            StringFormat::Old64 | StringFormat::Current => fields.u64()?.into(),
        };
        let bot = fields.u8()? != 0;
        fields.0.is_empty().then_some(Login {
            dc_id,
            api_id,
            test_mode,
            auth_key,
            user_id: Some(user_id),
            bot: Some(bot),
        })
    }

    /// Encodes in Pyrogram's current format, as `export_session_string` does.
    ///
    /// What the format cannot say is written as Pyrogram's "unknown": a missing API id
    /// or user id as 0, a missing bot flag as `false`. A `dc_id` outside `0..=255` is
    /// written modulo 256 (callers keep ids in range, as parsing guarantees).
    pub fn encode_string(&self) -> String {
        let mut bytes = Vec::with_capacity(1 + 4 + 1 + AUTH_KEY_LEN + 8 + 1);
        bytes.push(self.dc_id as u8);
        bytes.extend_from_slice(&(self.api_id.unwrap_or(0) as u32).to_be_bytes());
        bytes.push(u8::from(self.test_mode));
        bytes.extend_from_slice(&self.auth_key);
        bytes.extend_from_slice(&(self.user_id.unwrap_or(0) as u64).to_be_bytes());
        bytes.push(u8::from(self.bot.unwrap_or(false)));
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// Reads a Pyrogram `.session` file without changing it (it is opened read-only).
    pub fn read_file(path: &Path) -> Result<PyrogramSession, PyrogramError> {
        let unreadable = |source| PyrogramError::Unreadable {
            path: path.to_owned(),
            source,
        };
        if fs::metadata(path).map_err(unreadable)?.is_dir() {
            return Err(PyrogramError::IsDirectory {
                path: path.to_owned(),
            });
        }
        // SQLite would report an unreadable file only as "unable to open database file";
        // opening it ourselves first gives the real reason.
        fs::File::open(path).map_err(unreadable)?;
        let sql = |source| PyrogramError::from_sql(path, source);
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(sql)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(sql)?;
        let layout = Layout::of(&conn).map_err(sql)?;
        let not_pyrogram = |detail: String| PyrogramError::NotPyrogram {
            path: path.to_owned(),
            detail,
        };
        let version = layout.version().map_err(not_pyrogram)?;
        // Before the columns: a newer layout may lack some, and its number says more.
        if !(1..=NEWEST_FILE_VERSION).contains(&version) {
            return Err(PyrogramError::UnsupportedVersion {
                path: path.to_owned(),
                version,
            });
        }
        layout.check_columns(version).map_err(not_pyrogram)?;
        let mut session = read_session_row(&conn, path, &layout)?.check(Some(path))?;
        // Pyrogram deletes a version-1 file's peers when it upgrades the file; they are
        // not trusted here either.
        if version >= 2 {
            session.peers = read_peers(&conn, path, &layout).map_err(sql)?;
        }
        Ok(session)
    }
}

/// The tables and columns of a file, and its `version` rows, as found.
struct Layout {
    version_rows: Option<Vec<Value>>,
    sessions: Vec<String>,
    peers: Vec<String>,
    has_entities: bool,
}

impl Layout {
    fn of(conn: &Connection) -> rusqlite::Result<Layout> {
        let version = columns(conn, "version")?;
        let version_rows = if version.iter().any(|column| column == "number") {
            let mut stmt = conn.prepare("select number from version")?;
            let rows = stmt
                .query_map([], |row| row.get::<_, Value>(0))?
                .collect::<rusqlite::Result<Vec<Value>>>()?;
            Some(rows)
        } else {
            None
        };
        Ok(Layout {
            version_rows,
            sessions: columns(conn, "sessions")?,
            peers: columns(conn, "peers")?,
            has_entities: !columns(conn, "entities")?.is_empty(),
        })
    }

    /// A hint for the most likely mistake: Telethon's files (and ours) have `entities`.
    fn telethon_hint(&self) -> &'static str {
        if self.has_entities {
            " (it has Telethon's `entities` table: import it as a Telethon session)"
        } else {
            ""
        }
    }

    /// The layout version, or what makes this no Pyrogram file.
    fn version(&self) -> Result<i64, String> {
        // Telethon's `version` table names its column `version`, not `number`.
        let rows = self.version_rows.as_ref().ok_or_else(|| {
            format!(
                "no table `version` with a column `number`{}",
                self.telethon_hint()
            )
        })?;
        match rows.as_slice() {
            [Value::Integer(version)] => Ok(*version),
            [] => Err("table `version` is empty".to_owned()),
            [other] => Err(format!(
                "`version.number` holds {other:?}, expected an integer"
            )),
            more => Err(format!(
                "table `version` has {} rows, Pyrogram keeps exactly one",
                more.len()
            )),
        }
    }

    /// Whether every column Pyrogram reads in layout `version` is there.
    fn check_columns(&self, version: i64) -> Result<(), String> {
        let mut sessions = vec!["dc_id", "test_mode", "auth_key", "user_id", "is_bot"];
        if version >= 3 {
            sessions.push("api_id");
        }
        let mut problems = Vec::new();
        missing("sessions", &self.sessions, &sessions, &mut problems);
        // Version-1 peers are never read (see `read_file`).
        if version >= 2 {
            let peers = ["id", "access_hash", "type", "username", "phone_number"];
            missing("peers", &self.peers, &peers, &mut problems);
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "{} (layout version {version}){}",
                problems.join("; "),
                self.telethon_hint()
            ))
        }
    }
}

/// Says what of `wanted` is not among `present`, the columns of `table`.
fn missing(table: &str, present: &[String], wanted: &[&str], problems: &mut Vec<String>) {
    if present.is_empty() {
        problems.push(format!("no table `{table}`"));
        return;
    }
    let absent: Vec<&str> = wanted
        .iter()
        .copied()
        .filter(|column| !present.iter().any(|c| c == column))
        .collect();
    if !absent.is_empty() {
        problems.push(format!(
            "table `{table}` lacks column(s) {}",
            absent.join(", ")
        ));
    }
}

/// The columns of `table`; empty when there is no such table.
fn columns(conn: &Connection, table: &str) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare("select name from pragma_table_info(?1)")?;
    let columns = stmt
        .query_map([table], |row| row.get::<_, String>(0))?
        .collect::<rusqlite::Result<Vec<String>>>()?;
    Ok(columns)
}

/// The one row of `sessions`, before the checks strings share.
fn read_session_row(
    conn: &Connection,
    path: &Path,
    layout: &Layout,
) -> Result<Login, PyrogramError> {
    let not_pyrogram = |detail: String| PyrogramError::NotPyrogram {
        path: path.to_owned(),
        detail,
    };
    // Layout version 3 added it (checked by `check_columns`); a fork may have added it
    // to version 2 as well.
    let api_id = if layout.sessions.iter().any(|c| c == "api_id") {
        "api_id"
    } else {
        "null"
    };
    let mut stmt = conn
        .prepare(&format!(
            "select dc_id, test_mode, auth_key, user_id, is_bot, {api_id} from sessions"
        ))
        .map_err(|source| PyrogramError::from_sql(path, source))?;
    let rows = stmt
        .query_map([], |row| {
            Ok((
                row.get::<_, i64>(0)?,
                row.get::<_, Option<i64>>(1)?,
                row.get::<_, Value>(2)?,
                row.get::<_, Option<i64>>(3)?,
                row.get::<_, Option<i64>>(4)?,
                row.get::<_, Option<i64>>(5)?,
            ))
        })
        .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
        .map_err(|source| PyrogramError::from_sql(path, source))?;
    let [(dc_id, test_mode, auth_key, user_id, is_bot, api_id)] = <[_; 1]>::try_from(rows)
        .map_err(|rows| {
            not_pyrogram(format!(
                "table `sessions` has {} rows, Pyrogram keeps exactly one",
                rows.len()
            ))
        })?;
    let auth_key = match auth_key {
        Value::Blob(key) => <[u8; AUTH_KEY_LEN]>::try_from(key.as_slice()).map_err(|_| {
            PyrogramError::BadAuthKey {
                path: path.to_owned(),
                len: key.len(),
            }
        })?,
        Value::Null => {
            return Err(PyrogramError::NoAuthKey {
                path: path.to_owned(),
            });
        }
        other => {
            return Err(not_pyrogram(format!(
                "`sessions.auth_key` holds {:?}, expected a BLOB",
                other.data_type()
            )));
        }
    };
    Ok(Login {
        dc_id,
        api_id,
        // NULL only before the first login, which `user_id` shows as well.
        test_mode: test_mode.is_some_and(|mode| mode != 0),
        auth_key,
        user_id: user_id.map(i128::from),
        bot: is_bot.map(|bot| bot != 0),
    })
}

/// The usable rows of `peers`. A row is skipped, not fatal, when its id is impossible,
/// its type does not match its id, or a user or channel lacks the access hash every
/// request about it needs: the login is worth importing without that one cached peer.
fn read_peers(conn: &Connection, path: &Path, layout: &Layout) -> rusqlite::Result<Vec<Entity>> {
    let date = if layout.peers.iter().any(|c| c == "last_update_on") {
        "last_update_on"
    } else {
        "null"
    };
    let mut stmt = conn.prepare(&format!(
        "select id, access_hash, type, username, phone_number, {date} from peers order by id"
    ))?;
    let rows = stmt
        .query_map([], |row| {
            Ok([
                row.get::<_, Value>(0)?,
                row.get::<_, Value>(1)?,
                row.get::<_, Value>(2)?,
                row.get::<_, Value>(3)?,
                row.get::<_, Value>(4)?,
                row.get::<_, Value>(5)?,
            ])
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let total = rows.len();
    let peers: Vec<Entity> = rows.into_iter().filter_map(peer_entity).collect();
    if peers.len() < total {
        tracing::warn!(
            path = %path.display(),
            skipped = total - peers.len(),
            "Pyrogram peers without a usable id, type or access hash are not imported"
        );
    }
    Ok(peers)
}

fn peer_entity([id, access_hash, peer_type, username, phone, date]: [Value; 6]) -> Option<Entity> {
    let text = |value: Value| match value {
        Value::Text(text) => Some(text),
        _ => None,
    };
    let Value::Integer(marked) = id else {
        return None;
    };
    let peer = peer_id(marked)?;
    // Pyrogram writes these strings into a column it declared INTEGER.
    let kind = match text(peer_type)?.as_str() {
        "user" | "bot" => PeerKind::User,
        "group" => PeerKind::Chat,
        "channel" | "supergroup" => PeerKind::Channel,
        _ => return None,
    };
    if peer.kind() != kind {
        return None;
    }
    let access_hash = match (kind, access_hash) {
        (_, Value::Integer(hash)) => hash,
        (PeerKind::Chat, Value::Null) => 0,
        _ => return None,
    };
    Some(Entity {
        peer,
        access_hash,
        username: text(username).map(|name| name.to_lowercase()),
        phone: text(phone),
        name: None,
        date: match date {
            Value::Integer(date) => Some(date),
            _ => None,
        },
    })
}

#[cfg(test)]
mod tests;
