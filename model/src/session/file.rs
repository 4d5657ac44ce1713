//! [`SessionFile`]: one account's session file, open and ready for grammers.
//!
//! The file is the single source of truth; the handle keeps one SQLite connection
//! behind a mutex (SQLite connections are not `Sync`) and, beside it, an in-memory copy
//! of the home DC id and DC options, because grammers asks for those on every request
//! and must not queue behind a slow write. Everything else is read from the file when
//! asked, so a Telethon process that shares the file sees our writes and we see its.

use std::collections::HashMap;
use std::fs;
use std::net::SocketAddr;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use grammers_session::types::{DcOption, PeerId, PeerInfo, UpdateState, UpdatesState};
use rusqlite::types::Value;
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};

use super::dcs::{
    DcCache, KNOWN_DC_OPTIONS, dc_option_for, load_dc_cache, write_dc_option, write_home_row,
};
use super::error::SessionError;
use super::layout::{self, LayoutError};
use super::peers;
use super::rows::{
    Entity, SelfUser, entity_row, load_peer, normalize_username, phone_value, read_extras,
    read_self_user, read_update_states, store_peer, write_self_user, write_update_state,
};

/// How long a write waits for another process (say, Telethon) holding the file.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// One account's session file.
pub struct SessionFile {
    path: PathBuf,
    conn: Mutex<Connection>,
    dcs: Mutex<DcCache>,
    /// Fingerprints of the peers most recently cached through this handle, by marked id (see
    /// `SessionFile::cache_if_changed`).
    pub(super) settled_peers: Mutex<std::collections::HashMap<i64, u64>>,
    warnings: Vec<String>,
}

impl std::fmt::Debug for SessionFile {
    /// Path and warnings only: the file's contents include the account's key.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionFile")
            .field("path", &self.path)
            .field("warnings", &self.warnings)
            .finish_non_exhaustive()
    }
}

/// The home datacenter as recorded in Telethon's `sessions` table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HomeDc {
    pub dc_id: i32,
    /// `None` when the file names no address (a Telethon file that never connected).
    pub addr: Option<SocketAddr>,
}

/// What an operator wants to see about a session file at a glance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionSummary {
    pub path: PathBuf,
    pub user_id: Option<i64>,
    pub bot: Option<bool>,
    pub name: Option<String>,
    pub username: Option<String>,
    pub phone: Option<String>,
    pub home_dc_id: i32,
    pub home_addr: Option<SocketAddr>,
    pub has_auth_key: bool,
    pub entity_count: usize,
    pub warnings: Vec<String>,
}

impl SessionFile {
    /// Opens an existing Telethon (or tgcollector) session file, upgrading layout
    /// versions 1 to 7 to version 8 in place as Telethon would.
    pub fn open(path: &Path) -> Result<SessionFile, SessionError> {
        let metadata = fs::metadata(path).map_err(|source| SessionError::Unreadable {
            path: path.to_owned(),
            source,
        })?;
        if metadata.is_dir() {
            return Err(SessionError::IsDirectory {
                path: path.to_owned(),
            });
        }
        // SQLite would report an unreadable file only as "unable to open database file";
        // opening it ourselves first gives the operator the real reason.
        fs::File::open(path).map_err(|source| SessionError::Unreadable {
            path: path.to_owned(),
            source,
        })?;

        let mut warnings = Vec::new();
        let mode = metadata.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            let warning = format!(
                "file mode is {mode:04o}, looser than 0600: anyone who can read it can use the account (chmod 600 it)"
            );
            tracing::warn!(path = %path.display(), mode = format!("{mode:04o}"), "session file is readable by others");
            warnings.push(warning);
        }

        let mut conn = connect(path, OpenFlags::SQLITE_OPEN_READ_WRITE)?;
        let version_read = layout::open_and_upgrade(&mut conn).map_err(|error| match error {
            LayoutError::Schema(detail) => SessionError::WrongSchema {
                path: path.to_owned(),
                detail,
            },
            LayoutError::Version(version) => SessionError::UnsupportedVersion {
                path: path.to_owned(),
                version,
            },
            LayoutError::NewerVersion(version) => SessionError::NewerVersion {
                path: path.to_owned(),
                version,
            },
            LayoutError::Sql(source) => match SessionError::from_sql(path, source) {
                // Telethon before 0.17 saved sessions as JSON, still named `.session`:
                // "not an SQLite database" would send the operator the wrong way.
                SessionError::NotSqlite { path } if starts_like_json(&path) => {
                    SessionError::TelethonJson { path }
                }
                other => other,
            },
        })?;
        if version_read < layout::CURRENT_VERSION {
            let mut warning = format!(
                "upgraded from Telethon layout version {version_read} to {}",
                layout::CURRENT_VERSION
            );
            for loss in layout::upgrade_losses(version_read) {
                warning.push_str("; ");
                warning.push_str(loss);
            }
            tracing::info!(path = %path.display(), "{warning}");
            warnings.push(warning);
        }

        let dcs = load_dc_cache(path, &conn)?;
        let file = SessionFile {
            path: path.to_owned(),
            conn: Mutex::new(conn),
            dcs: Mutex::new(dcs),
            settled_peers: Mutex::default(),
            warnings,
        };
        Ok(file)
    }

    /// Creates a new session file with mode 0600, refusing to overwrite an existing one,
    /// and records `dc_id` at `addr` as the home DC with its permanent auth key.
    pub fn create(
        path: &Path,
        dc_id: i32,
        addr: SocketAddr,
        auth_key: &[u8; 256],
    ) -> Result<SessionFile, SessionError> {
        // Created with the right mode from the start: a chmod afterwards would leave a
        // window in which the key is world-readable.
        fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
            .map_err(|source| {
                if source.kind() == std::io::ErrorKind::AlreadyExists {
                    SessionError::AlreadyExists {
                        path: path.to_owned(),
                    }
                } else {
                    SessionError::Create {
                        path: path.to_owned(),
                        source,
                    }
                }
            })?;
        let mut conn = connect(path, OpenFlags::SQLITE_OPEN_READ_WRITE)?;
        layout::create(&mut conn).map_err(|source| SessionError::from_sql(path, source))?;

        let home = dc_option_for(dc_id, addr, Some(*auth_key), None);
        write_home_row(&conn, &home, addr.is_ipv6())
            .map_err(|source| SessionError::from_sql(path, source))?;
        let dcs = DcCache {
            home_dc: dc_id,
            home_is_ipv6: addr.is_ipv6(),
            options: HashMap::from([(dc_id, home)]),
        };
        Ok(SessionFile {
            path: path.to_owned(),
            conn: Mutex::new(conn),
            dcs: Mutex::new(dcs),
            settled_peers: Mutex::default(),
            warnings: Vec::new(),
        })
    }

    /// The file this session lives in.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Problems noticed when the file was opened (loose mode, layout upgrade).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// Records the logged-in user, both our way (`tgc_self`, with the bot flag) and
    /// Telethon's (the fake entity row `id = 0, hash = user id`), so either program
    /// knows whom the file belongs to.
    pub fn set_self_user(&self, user_id: i64, bot: bool) -> Result<(), SessionError> {
        if PeerId::user(user_id).is_none() {
            return Err(self.invalid_peer(format!("self user id {user_id} is not a user id")));
        }
        let conn = self.conn()?;
        write_self_user(&conn, user_id, Some(bot)).map_err(|e| self.sql(e))
    }

    /// The logged-in user, from our table or else from Telethon's fake entity row 0.
    pub fn self_user(&self) -> Result<Option<SelfUser>, SessionError> {
        let conn = self.conn()?;
        read_self_user(&conn).map_err(|e| self.sql(e))
    }

    /// The home DC recorded in `sessions`.
    pub fn home_dc(&self) -> HomeDc {
        let dcs = self.dcs.lock().unwrap_or_else(|p| p.into_inner());
        let dc_id = dcs.home_dc;
        let addr = dcs.options.get(&dc_id).map(|option| {
            if dcs.home_is_ipv6 {
                SocketAddr::V6(option.ipv6)
            } else {
                SocketAddr::V4(option.ipv4)
            }
        });
        HomeDc { dc_id, addr }
    }

    /// The permanent auth key of the home DC, if the account was ever authorized.
    pub fn auth_key(&self) -> Option<[u8; 256]> {
        let dcs = self.dcs.lock().unwrap_or_else(|p| p.into_inner());
        dcs.options
            .get(&dcs.home_dc)
            .and_then(|option| option.auth_key)
    }

    /// Every cached entity with a valid id, Telethon's fake self row excluded.
    pub fn entities(&self) -> Result<Vec<Entity>, SessionError> {
        let conn = self.conn()?;
        let mut stmt = conn
            .prepare("select id, hash, username, phone, name, date from entities order by id")
            .map_err(|e| self.sql(e))?;
        let rows = stmt
            .query_map([], entity_row)
            .map_err(|e| self.sql(e))?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(|e| self.sql(e))?;
        Ok(rows.into_iter().flatten().collect())
    }

    /// Stores an entity with its names, as Telethon's `process_entities` does: the
    /// username lower-cased, the date now, and any other row claiming the same username
    /// loses it (usernames move between peers).
    pub fn cache_entity(&self, entity: &Entity) -> Result<(), SessionError> {
        let marked = entity
            .peer
            .bot_api_dialog_id()
            .ok_or_else(|| self.invalid_peer("the self-user placeholder is not an entity"))?;
        let username = entity
            .username
            .as_deref()
            .map(normalize_username)
            .filter(|u| !u.is_empty());
        let phone: Option<Value> = entity.phone.as_deref().map(phone_value);
        let mut conn = self.conn()?;
        let tx = conn.transaction().map_err(|e| self.sql(e))?;
        if let Some(username) = &username {
            tx.execute(
                "update entities set username = null where username = ?1 and id != ?2",
                params![username, marked],
            )
            .map_err(|e| self.sql(e))?;
        }
        tx.execute(
            "insert or replace into entities (id, hash, username, phone, name, date)
             values (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                marked,
                entity.access_hash,
                username,
                phone,
                entity.name,
                entity.date.unwrap_or_else(tgc_common::clock::unix_secs)
            ],
        )
        .map_err(|e| self.sql(e))?;
        tx.commit().map_err(|e| self.sql(e))
    }

    /// The peer a username belongs to, from `entities.username` (case-insensitive,
    /// with or without `@`); the most recently written row wins, as in Telethon.
    pub fn lookup_username(&self, username: &str) -> Option<PeerInfo> {
        let username = normalize_username(username);
        if username.is_empty() {
            return None;
        }
        let conn = self.conn().ok()?;
        let row: Option<(i64, i64)> = conn
            .query_row(
                "select id, hash from entities where lower(username) = ?1 and id != 0
                 order by coalesce(date, 0) desc limit 1",
                [&username],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .optional()
            .ok()
            .flatten();
        let (marked, hash) = row?;
        let id = peers::peer_id(marked)?;
        let extras = read_extras(&conn, marked)
            .ok()
            .flatten()
            .unwrap_or_default();
        let self_id = read_self_user(&conn).ok().flatten().map(|s| s.user_id);
        peers::peer_info(id, Some(hash), extras, self_id)
    }

    /// The whole update state: row 0 of `update_state` is the account's common state,
    /// the other rows are per-channel pts keyed by bare channel id (as Telethon keys them).
    pub fn update_states(&self) -> Result<UpdatesState, SessionError> {
        let conn = self.conn()?;
        read_update_states(&conn).map_err(|e| self.sql(e))
    }

    /// A snapshot for operators; read errors become warnings rather than failures, so
    /// one odd file never hides the others in a listing.
    pub fn summary(&self) -> SessionSummary {
        let mut warnings = self.warnings.clone();
        let home = self.home_dc();
        let self_user = self.self_user().unwrap_or_else(|error| {
            warnings.push(error.to_string());
            None
        });
        let (entity_count, own_entity) = match self.entities() {
            Ok(entities) => {
                let own = self_user.and_then(|user| {
                    entities
                        .iter()
                        .find(|e| e.peer.bot_api_dialog_id() == Some(user.user_id))
                        .cloned()
                });
                (entities.len(), own)
            }
            Err(error) => {
                warnings.push(error.to_string());
                (0, None)
            }
        };
        let has_auth_key = self.auth_key().is_some();
        if !has_auth_key {
            warnings.push("no auth key: the account is not logged in".into());
        }
        SessionSummary {
            path: self.path.clone(),
            user_id: self_user.map(|u| u.user_id),
            bot: self_user.and_then(|u| u.bot),
            name: own_entity.as_ref().and_then(|e| e.name.clone()),
            username: own_entity.as_ref().and_then(|e| e.username.clone()),
            phone: own_entity.as_ref().and_then(|e| e.phone.clone()),
            home_dc_id: home.dc_id,
            home_addr: home.addr,
            has_auth_key,
            entity_count,
            warnings,
        }
    }

    // ---- used by the grammers adaptor ----

    pub(crate) fn conn(&self) -> Result<MutexGuard<'_, Connection>, SessionError> {
        self.conn.lock().map_err(|_| SessionError::Poisoned {
            path: self.path.clone(),
        })
    }

    pub(crate) fn dcs_home(&self) -> Result<i32, SessionError> {
        Ok(self.dcs()?.home_dc)
    }

    pub(crate) fn dcs_option(&self, dc_id: i32) -> Result<Option<DcOption>, SessionError> {
        Ok(self
            .dcs()?
            .options
            .get(&dc_id)
            .or_else(|| KNOWN_DC_OPTIONS.get(&dc_id))
            .cloned())
    }

    fn dcs(&self) -> Result<MutexGuard<'_, DcCache>, SessionError> {
        self.dcs.lock().map_err(|_| SessionError::Poisoned {
            path: self.path.clone(),
        })
    }

    /// Makes `dc_id` the home DC: the cache first (grammers reads it next), then the
    /// `sessions` row, which Telethon keeps for the home DC only.
    pub(crate) fn store_home_dc(&self, dc_id: i32) -> Result<(), SessionError> {
        let (previous, option) = {
            let mut dcs = self.dcs()?;
            let previous = dcs.options.get(&dcs.home_dc).cloned();
            dcs.home_dc = dc_id;
            dcs.home_is_ipv6 = false;
            let option = dcs
                .options
                .get(&dc_id)
                .or_else(|| KNOWN_DC_OPTIONS.get(&dc_id))
                .cloned();
            (previous, option)
        };
        let conn = self.conn()?;
        // The old home's key would vanish with Telethon's single `sessions` row; keep it.
        if let Some(previous) = previous.filter(|p| p.id != dc_id) {
            write_dc_option(&conn, &previous).map_err(|e| self.sql(e))?;
        }
        match option {
            Some(option) => write_home_row(&conn, &option, false),
            // An unknown DC: record the id alone, as Telethon does before `set_dc`.
            None => conn
                .execute("delete from sessions", [])
                .and_then(|_| {
                    conn.execute(
                        "insert into sessions values (?1, null, null, x'', null, x'')",
                        [dc_id],
                    )
                })
                .map(|_| ()),
        }
        .map_err(|e| self.sql(e))
    }

    /// Records a DC option (and its key) in `tgc_dc_option`; for the home DC, also in
    /// Telethon's `sessions` row, keeping the address family that row already uses.
    pub(crate) fn store_dc_option(&self, option: &DcOption) -> Result<(), SessionError> {
        let (is_home, prefer_v6) = {
            let mut dcs = self.dcs()?;
            dcs.options.insert(option.id, option.clone());
            (dcs.home_dc == option.id, dcs.home_is_ipv6)
        };
        let conn = self.conn()?;
        write_dc_option(&conn, option).map_err(|e| self.sql(e))?;
        if is_home {
            write_home_row(&conn, option, prefer_v6).map_err(|e| self.sql(e))?;
        }
        Ok(())
    }

    pub(crate) fn load_peer(&self, peer: PeerId) -> Result<Option<PeerInfo>, SessionError> {
        let conn = self.conn()?;
        load_peer(&conn, peer).map_err(|e| self.sql(e))
    }

    /// Caches peers in one transaction, merging with what is known (a `None` never
    /// erases a known value, as grammers' `extend_info` asks).
    ///
    /// grammers caches the peers of every update it receives, nearly always the same few
    /// (the channel, its author), so a peer whose merged row equals the stored one is not
    /// written again: the transaction then only reads, and its commit costs no journal
    /// write and no fsync. (WAL would also make writes cheaper, but it puts `-wal`/`-shm`
    /// files beside a session file that operators copy around as one file, Telethon-style.)
    pub(crate) fn store_peers(&self, new_peers: &[PeerInfo]) -> Result<(), SessionError> {
        let mut conn = self.conn()?;
        let tx = conn.transaction().map_err(|e| self.sql(e))?;
        let (changes, first_error) = self.peer_changes(&tx, new_peers)?;
        for (marked, merged) in &changes {
            store_peer(&tx, *marked, merged).map_err(|e| self.sql(e))?;
        }
        tx.commit().map_err(|e| self.sql(e))?;
        match first_error {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }

    /// Whether caching `new_peers` would write anything (or report a bad peer): when not,
    /// the caller can skip [`SessionFile::store_peers`] and the hand-off it needs for its
    /// possible fsync. Reads only.
    pub(crate) fn peers_would_change(&self, new_peers: &[PeerInfo]) -> Result<bool, SessionError> {
        let conn = self.conn()?;
        let (changes, first_error) = self.peer_changes(&conn, new_peers)?;
        Ok(!changes.is_empty() || first_error.is_some())
    }

    /// The rows `new_peers` change, and the first peer that could not be stored.
    fn peer_changes(
        &self,
        conn: &Connection,
        new_peers: &[PeerInfo],
    ) -> Result<PeerChanges, SessionError> {
        let mut changes = Vec::new();
        let mut first_error = None;
        for peer in new_peers {
            let Some(marked) = peers::marked_id(peer) else {
                first_error.get_or_insert_with(|| {
                    self.invalid_peer(format!("peer {peer:?} has an id out of Telegram's range"))
                });
                continue;
            };
            let Some(id) = peers::peer_id(marked) else {
                continue;
            };
            let known = load_peer(conn, id).map_err(|e| self.sql(e))?;
            let merged = match &known {
                Some(known) => {
                    let mut merged = known.clone();
                    if merged.extend_info(peer) {
                        merged
                    } else {
                        peer.clone()
                    }
                }
                None => peer.clone(),
            };
            if known.as_ref() != Some(&merged) {
                changes.push((marked, merged));
            }
        }
        Ok((changes, first_error))
    }

    pub(crate) fn store_update_state(&self, update: UpdateState) -> Result<(), SessionError> {
        self.save_update_states(std::iter::once(update))
    }

    /// Writes several update-state changes in one transaction (one fsync): the live
    /// stream saves the state of exactly the updates it has handled, per message box.
    pub fn save_update_states(
        &self,
        updates: impl IntoIterator<Item = UpdateState>,
    ) -> Result<(), SessionError> {
        let mut conn = self.conn()?;
        let tx = conn.transaction().map_err(|e| self.sql(e))?;
        for update in updates {
            write_update_state(&tx, update).map_err(|e| self.sql(e))?;
        }
        tx.commit().map_err(|e| self.sql(e))
    }

    fn sql(&self, source: rusqlite::Error) -> SessionError {
        SessionError::from_sql(&self.path, source)
    }

    fn invalid_peer(&self, detail: impl Into<String>) -> SessionError {
        SessionError::InvalidPeer {
            path: self.path.clone(),
            detail: detail.into(),
        }
    }
}

/// Peer rows to write (marked id, merged row), and the first peer that could not be stored.
type PeerChanges = (Vec<(i64, PeerInfo)>, Option<SessionError>);

/// Whether the file's first non-blank byte opens a JSON object; unreadable counts as no.
fn starts_like_json(path: &Path) -> bool {
    use std::io::Read as _;
    let mut head = [0u8; 64];
    let Ok(read) = fs::File::open(path).and_then(|mut file| file.read(&mut head)) else {
        return false;
    };
    head[..read]
        .iter()
        .find(|byte| !byte.is_ascii_whitespace())
        .is_some_and(|&byte| byte == b'{')
}

fn connect(path: &Path, flags: OpenFlags) -> Result<Connection, SessionError> {
    let conn = Connection::open_with_flags(path, flags | OpenFlags::SQLITE_OPEN_NO_MUTEX)
        .map_err(|source| SessionError::from_sql(path, source))?;
    conn.busy_timeout(BUSY_TIMEOUT)
        .map_err(|source| SessionError::from_sql(path, source))?;
    Ok(conn)
}

#[cfg(test)]
mod tests {
    use grammers_session::types::{ChannelKind, PeerAuth};

    use super::*;

    /// SQLite's file change counter (header bytes 24..28), bumped by every commit that
    /// wrote to the file.
    fn change_counter(path: &Path) -> u32 {
        let header = fs::read(path).unwrap();
        u32::from_be_bytes(header[24..28].try_into().unwrap())
    }

    #[test]
    fn caching_an_unchanged_peer_again_does_not_write_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("acc.session");
        let file =
            SessionFile::create(&path, 2, "149.154.167.51:443".parse().unwrap(), &[7u8; 256])
                .unwrap();
        let channel = PeerInfo::Channel {
            id: 100_001,
            auth: Some(PeerAuth::from_hash(42)),
            kind: Some(ChannelKind::Broadcast),
        };
        file.store_peers(std::slice::from_ref(&channel)).unwrap();
        let written = change_counter(&path);

        file.store_peers(std::slice::from_ref(&channel)).unwrap();
        // Less than known (no kind) merges to the same row: nothing to write either.
        let partial = PeerInfo::Channel {
            id: 100_001,
            auth: None,
            kind: None,
        };
        file.store_peers(&[partial]).unwrap();
        assert_eq!(change_counter(&path), written, "no write for known peers");

        let rehashed = PeerInfo::Channel {
            id: 100_001,
            auth: Some(PeerAuth::from_hash(43)),
            kind: None,
        };
        file.store_peers(&[rehashed]).unwrap();
        assert!(change_counter(&path) > written, "a new hash is written");
        let loaded = file.load_peer(PeerId::channel(100_001).unwrap()).unwrap();
        assert_eq!(
            loaded,
            Some(PeerInfo::Channel {
                id: 100_001,
                auth: Some(PeerAuth::from_hash(43)),
                kind: Some(ChannelKind::Broadcast),
            })
        );
    }
}
