//! The username → id directory shared by every account, persisted in `data.dir`.
//!
//! grammers caches peers by id only, and an access hash is per account, so what the
//! accounts can share is the mapping from a username to the peer id it names: with it, a
//! request by username finds the account that already holds the peer, and no account
//! resolves the same name twice. The mapping lives in SQLite so a restart keeps it, and
//! each row carries when it was learnt, because usernames move between peers: past the
//! TTL a row is no longer trusted and the name is resolved again.
//!
//! Calls are short local SQLite statements; like the session files, they run inline
//! rather than on a blocking thread. Names looked up are kept in memory too (up to
//! [`WARM_MAX`], then forgotten all at once and learnt again), so a warm resolve costs a
//! hash lookup rather than a query; SQLite stays the store, and every write goes there first.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use grammers_session::types::PeerId;
use rusqlite::{Connection, OptionalExtension, params};
use tgc_common::clock::unix_secs;
use tgc_common::sqlite::SqliteFile;

/// The persisted username directory failed.
#[derive(Debug, thiserror::Error)]
pub enum DirectoryError {
    #[error("cannot create the directory {path} for the username directory: {source}")]
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot create the username directory {path}: {source}")]
    Create {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("username directory {path}: {source}")]
    Sql {
        path: PathBuf,
        source: rusqlite::Error,
    },
}

tgc_common::from_sqlite_error!(DirectoryError);

/// The file name inside `data.dir`.
pub const FILE_NAME: &str = "usernames.sqlite";

const SCHEMA: &str = "
    create table if not exists usernames (
        username text primary key,
        peer_id integer not null,
        learnt_at integer not null
    );
    create index if not exists usernames_by_peer on usernames (peer_id);
";

/// How many names the memory holds before it starts again from empty.
pub const WARM_MAX: usize = 65_536;

/// The persisted directory.
pub struct Directory {
    file: SqliteFile,
    ttl: Duration,
    /// Names found by lookups: normalized name → (peer, learnt at). Always what SQLite
    /// holds for them: a write drops the name here before the next lookup reads it again.
    warm: Mutex<HashMap<String, (PeerId, i64)>>,
}

impl std::fmt::Debug for Directory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Directory")
            .field("path", &self.file.path())
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl Directory {
    /// Opens (creating if needed) `data_dir/usernames.sqlite`; rows older than `ttl` are
    /// not trusted.
    pub fn open_in(data_dir: &Path, ttl: Duration) -> Result<Directory, DirectoryError> {
        let file = SqliteFile::open_in(data_dir, FILE_NAME, SCHEMA)?;
        Ok(Directory::with_file(file, ttl))
    }

    /// Opens (creating if needed) the directory at `path`.
    pub fn open(path: &Path, ttl: Duration) -> Result<Directory, DirectoryError> {
        let file = SqliteFile::open(path, SCHEMA)?;
        Ok(Directory::with_file(file, ttl))
    }

    fn with_file(file: SqliteFile, ttl: Duration) -> Directory {
        Directory {
            file,
            ttl,
            warm: Mutex::new(HashMap::new()),
        }
    }

    /// The peer `username` named when last learnt, if that was within the TTL.
    pub fn lookup(&self, username: &str) -> Result<Option<PeerId>, DirectoryError> {
        self.lookup_at(username, unix_secs())
    }

    /// [`Directory::lookup`] as if the time were `now` (unix seconds).
    pub fn lookup_at(&self, username: &str, now: i64) -> Result<Option<PeerId>, DirectoryError> {
        let oldest = now.saturating_sub(ttl_secs(self.ttl));
        let username = normalize(username);
        if let Some(&(peer, learnt_at)) = self.warm().get(&username) {
            return Ok((learnt_at > oldest).then_some(peer));
        }
        let row: Option<(i64, i64)> = self
            .conn()
            .query_row(
                "select peer_id, learnt_at from usernames where username = ?1",
                params![username],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .optional()
            .map_err(|e| self.sql(e))?;
        let Some((peer, learnt_at)) =
            row.and_then(|(id, at)| PeerId::from_bot_api_dialog_id(id).map(|peer| (peer, at)))
        else {
            return Ok(None);
        };
        let mut warm = self.warm();
        if warm.len() >= WARM_MAX {
            warm.clear();
        }
        warm.insert(username, (peer, learnt_at));
        Ok((learnt_at > oldest).then_some(peer))
    }

    /// The freshest username known for `peer`, within the TTL (to resolve a chat asked for
    /// by id that no account holds).
    pub fn username_of(&self, peer: PeerId) -> Result<Option<String>, DirectoryError> {
        let oldest = unix_secs().saturating_sub(ttl_secs(self.ttl));
        self.conn()
            .query_row(
                "select username from usernames where peer_id = ?1 and learnt_at > ?2
                 order by learnt_at desc limit 1",
                params![peer.bot_api_dialog_id_unchecked(), oldest],
                |row| row.get(0),
            )
            .optional()
            .map_err(|e| self.sql(e))
    }

    /// Records that `username` names `peer` now.
    pub fn record(&self, username: &str, peer: PeerId) -> Result<(), DirectoryError> {
        self.record_at(username, peer, unix_secs())
    }

    /// Records that `username` named `peer` at `learnt_at` (unix seconds); an older
    /// sighting never replaces a newer one (startup seeding from Telethon's caches must
    /// not undo a fresh resolve).
    pub fn record_at(
        &self,
        username: &str,
        peer: PeerId,
        learnt_at: i64,
    ) -> Result<(), DirectoryError> {
        let username = normalize(username);
        if username.is_empty() {
            return Ok(());
        }
        self.conn()
            .execute(
                "insert into usernames (username, peer_id, learnt_at) values (?1, ?2, ?3)
                 on conflict (username) do update set peer_id = excluded.peer_id,
                     learnt_at = excluded.learnt_at
                 where excluded.learnt_at >= usernames.learnt_at",
                params![username, peer.bot_api_dialog_id_unchecked(), learnt_at],
            )
            .map_err(|e| self.sql(e))?;
        self.warm().remove(&username);
        Ok(())
    }

    /// [`Directory::record_at`] for many sightings in one transaction (one sync instead
    /// of one per row: a start-up seeding 50,000 entities from a Telethon file takes
    /// milliseconds, not minutes).
    pub fn record_many<'a>(
        &self,
        sightings: impl IntoIterator<Item = (&'a str, PeerId, i64)>,
    ) -> Result<usize, DirectoryError> {
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(|e| self.sql(e))?;
        let mut recorded = 0;
        {
            let mut statement = tx
                .prepare_cached(
                    "insert into usernames (username, peer_id, learnt_at) values (?1, ?2, ?3)
                     on conflict (username) do update set peer_id = excluded.peer_id,
                         learnt_at = excluded.learnt_at
                     where excluded.learnt_at >= usernames.learnt_at",
                )
                .map_err(|e| self.sql(e))?;
            for (username, peer, learnt_at) in sightings {
                let username = normalize(username);
                let Some(peer_id) = peer.bot_api_dialog_id() else {
                    continue;
                };
                if username.is_empty() {
                    continue;
                }
                statement
                    .execute(params![username, peer_id, learnt_at])
                    .map_err(|e| self.sql(e))?;
                recorded += 1;
            }
        }
        tx.commit().map_err(|e| self.sql(e))?;
        self.warm().clear();
        Ok(recorded)
    }

    /// Forgets `username` (Telegram said it is not occupied any more).
    pub fn forget(&self, username: &str) -> Result<(), DirectoryError> {
        let username = normalize(username);
        self.conn()
            .execute("delete from usernames where username = ?1", [&username])
            .map_err(|e| self.sql(e))?;
        self.warm().remove(&username);
        Ok(())
    }

    /// How many names are trusted now.
    pub fn len(&self) -> Result<usize, DirectoryError> {
        let oldest = unix_secs().saturating_sub(ttl_secs(self.ttl));
        let count: i64 = self
            .conn()
            .query_row(
                "select count(*) from usernames where learnt_at > ?1",
                [oldest],
                |row| row.get(0),
            )
            .map_err(|e| self.sql(e))?;
        Ok(usize::try_from(count).unwrap_or(0))
    }

    /// Whether no name is trusted now.
    pub fn is_empty(&self) -> Result<bool, DirectoryError> {
        Ok(self.len()? == 0)
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        self.file.conn()
    }

    fn warm(&self) -> MutexGuard<'_, HashMap<String, (PeerId, i64)>> {
        // A map of plain values: a panic elsewhere cannot leave it half-written.
        self.warm
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn sql(&self, source: rusqlite::Error) -> DirectoryError {
        DirectoryError::Sql {
            path: self.file.path().to_owned(),
            source,
        }
    }
}

fn normalize(username: &str) -> String {
    username.trim().trim_start_matches('@').to_ascii_lowercase()
}

fn ttl_secs(ttl: Duration) -> i64 {
    i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: Duration = Duration::from_secs(86_400);

    fn channel(id: i64) -> PeerId {
        PeerId::channel(id).unwrap()
    }

    #[test]
    fn fifty_thousand_sightings_are_recorded_in_one_transaction() {
        let dir = tempfile::tempdir().unwrap();
        let directory = Directory::open_in(dir.path(), DAY).unwrap();
        let now = unix_secs();
        let names: Vec<String> = (0..50_000).map(|i| format!("name_{i}")).collect();
        let started = std::time::Instant::now();
        let recorded = directory
            .record_many(
                names
                    .iter()
                    .enumerate()
                    .map(|(i, name)| (name.as_str(), channel(1_000 + i as i64), now)),
            )
            .unwrap();
        // A figure, printed with --nocapture; not asserted.
        println!("recorded {recorded} sightings in {:?}", started.elapsed());
        assert_eq!(recorded, 50_000);
        assert_eq!(
            directory.lookup("NAME_49999").unwrap(),
            Some(channel(50_999))
        );
        // An older sighting does not replace a newer one, as with record_at.
        directory
            .record_many([("name_0", channel(7), now - 10)])
            .unwrap();
        assert_eq!(directory.lookup("name_0").unwrap(), Some(channel(1_000)));
    }

    #[test]
    fn a_recorded_name_is_found_case_insensitively_until_its_ttl_runs_out() {
        let dir = tempfile::tempdir().unwrap();
        let directory = Directory::open_in(dir.path(), DAY).unwrap();
        directory
            .record_at("@Telesim_News", channel(42), 1_000)
            .unwrap();
        assert_eq!(
            directory.lookup_at("telesim_news", 1_000 + 3_600).unwrap(),
            Some(channel(42))
        );
        assert_eq!(
            directory.lookup_at("TELESIM_NEWS", 1_000 + 86_399).unwrap(),
            Some(channel(42))
        );
        assert_eq!(
            directory.lookup_at("telesim_news", 1_000 + 86_400).unwrap(),
            None
        );
        assert_eq!(directory.lookup_at("nobody", 1_000).unwrap(), None);
    }

    /// A name looked up once is answered from memory: a row deleted behind the
    /// directory's back (no write of its own) does not change the answer, and the TTL still
    /// holds.
    #[test]
    fn a_warm_name_is_answered_from_memory_within_its_ttl() {
        let dir = tempfile::tempdir().unwrap();
        let directory = Directory::open_in(dir.path(), DAY).unwrap();
        directory.record_at("warm_name", channel(5), 1_000).unwrap();
        assert_eq!(
            directory.lookup_at("warm_name", 1_001).unwrap(),
            Some(channel(5))
        );
        Connection::open(dir.path().join(FILE_NAME))
            .unwrap()
            .execute("delete from usernames", [])
            .unwrap();
        assert_eq!(
            directory.lookup_at("@Warm_Name", 1_002).unwrap(),
            Some(channel(5)),
            "from memory"
        );
        assert_eq!(
            directory.lookup_at("warm_name", 1_000 + 86_400).unwrap(),
            None,
            "past the TTL, memory or not"
        );
        // The directory's own writes reach the next lookup.
        directory.record_at("warm_name", channel(6), 2_000).unwrap();
        assert_eq!(
            directory.lookup_at("warm_name", 2_001).unwrap(),
            Some(channel(6))
        );
        directory.forget("warm_name").unwrap();
        assert_eq!(directory.lookup_at("warm_name", 2_002).unwrap(), None);
    }

    #[test]
    fn the_directory_survives_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        {
            let directory = Directory::open_in(dir.path(), DAY).unwrap();
            directory.record("durov", PeerId::user(1).unwrap()).unwrap();
        }
        let reopened = Directory::open_in(dir.path(), DAY).unwrap();
        assert_eq!(reopened.lookup("durov").unwrap(), PeerId::user(1));
        assert_eq!(reopened.len().unwrap(), 1);
    }

    #[test]
    fn a_moved_username_follows_the_newest_sighting_only() {
        let dir = tempfile::tempdir().unwrap();
        let directory = Directory::open_in(dir.path(), DAY).unwrap();
        directory.record_at("name", channel(1), 2_000).unwrap();
        directory.record_at("name", channel(2), 1_000).unwrap();
        assert_eq!(
            directory.lookup_at("name", 2_000).unwrap(),
            Some(channel(1))
        );
        directory.record_at("name", channel(3), 3_000).unwrap();
        assert_eq!(
            directory.lookup_at("name", 3_000).unwrap(),
            Some(channel(3))
        );
        directory.forget("NAME").unwrap();
        assert_eq!(directory.lookup_at("name", 3_000).unwrap(), None);
    }

    #[test]
    fn a_peer_can_be_found_by_id_for_its_username() {
        let dir = tempfile::tempdir().unwrap();
        let directory = Directory::open_in(dir.path(), DAY).unwrap();
        directory.record("news", channel(7)).unwrap();
        assert_eq!(
            directory.username_of(channel(7)).unwrap().as_deref(),
            Some("news")
        );
        assert_eq!(directory.username_of(channel(8)).unwrap(), None);
    }

    #[test]
    fn an_unusable_path_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let blocker = dir.path().join("file");
        std::fs::write(&blocker, b"x").unwrap();
        let error = Directory::open_in(&blocker.join("sub"), DAY).unwrap_err();
        assert!(
            error.to_string().contains("cannot create the directory"),
            "{error}"
        );
    }
}
