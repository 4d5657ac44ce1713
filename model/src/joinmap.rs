//! The join map: which account joined which chat, when and how, persisted in `data.dir`.
//!
//! The live stream publishes the messages of joined chats only, and a chat joined by
//! several accounts is still one subscription; so the gateway needs one record of who is
//! in what, that survives restarts and that both sides keep current: the `join`/`leave`
//! API calls write it ([`JoinHow::Api`]), and join or leave events arriving from Telegram
//! (an operator joining from a phone, a ban, a kick) write it too ([`JoinHow::Telegram`]).
//!
//! Chats are keyed by their marked (Bot API) id, the same `chat.id` the parser writes into
//! every message, so a consumer can match the `subscriptions` answer with the stream. The
//! publisher asks [`JoinMap::is_joined`] for every update, so that is one indexed lookup;
//! the HTTP handlers and the publisher may each open the file (SQLite serialises writers).

use std::path::{Path, PathBuf};
use std::sync::MutexGuard;

use tgc_common::clock::unix_secs;
use tgc_common::sqlite::SqliteFile;

use grammers_session::types::PeerId;
use rusqlite::{Connection, OptionalExtension, params};

use crate::teleclient::AccountId;

/// The file name inside `data.dir`.
pub const FILE_NAME: &str = "joinmap.sqlite";

/// What went wrong with the join map file.
#[derive(Debug, thiserror::Error)]
pub enum JoinMapError {
    #[error("cannot create the directory {path} for the join map: {source}")]
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot create the join map {path}: {source}")]
    Create {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("join map {path}: {source}")]
    Sql {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("join map {path}: chat id {chat} is not a valid marked (Bot API) peer id")]
    BadChat { path: PathBuf, chat: i64 },
}

tgc_common::from_sqlite_error!(JoinMapError);

/// How a membership came to be recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinHow {
    /// Through the gateway's `join` method.
    Api,
    /// Seen in an update from Telegram (joined elsewhere, added by someone, invited).
    Telegram,
}

impl JoinHow {
    /// The name stored in the file and shown by the `subscriptions` method.
    pub fn as_str(self) -> &'static str {
        match self {
            JoinHow::Api => "api",
            JoinHow::Telegram => "telegram",
        }
    }

    fn parse(text: &str) -> JoinHow {
        match text {
            "api" => JoinHow::Api,
            // Anything else was written by a newer version; it still came from Telegram's side.
            _ => JoinHow::Telegram,
        }
    }
}

/// One account's membership of one chat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    pub chat: PeerId,
    pub account: AccountId,
    /// When the join was recorded (unix seconds).
    pub joined_at: i64,
    pub how: JoinHow,
}

impl Subscription {
    /// The chat's marked (Bot API) id, as in the message schema's `chat.id`.
    pub fn chat_id(&self) -> i64 {
        self.chat.bot_api_dialog_id_unchecked()
    }
}

const SCHEMA: &str = "
    pragma journal_mode = wal;
    create table if not exists joins (
        chat_id integer not null,
        account integer not null,
        joined_at integer not null,
        how text not null,
        primary key (chat_id, account)
    );
";

/// The persisted join map.
pub struct JoinMap {
    file: SqliteFile,
}

impl std::fmt::Debug for JoinMap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JoinMap")
            .field("path", &self.file.path())
            .finish_non_exhaustive()
    }
}

impl JoinMap {
    /// Opens (creating if needed) `data_dir/joinmap.sqlite`.
    pub fn open_in(data_dir: &Path) -> Result<JoinMap, JoinMapError> {
        let file = SqliteFile::open_in(data_dir, FILE_NAME, SCHEMA)?;
        Ok(JoinMap { file })
    }

    /// Opens (creating if needed) the join map at `path`.
    pub fn open(path: &Path) -> Result<JoinMap, JoinMapError> {
        let file = SqliteFile::open(path, SCHEMA)?;
        Ok(JoinMap { file })
    }

    pub fn path(&self) -> &Path {
        self.file.path()
    }

    /// Records that `account` is in `chat`. Joining again keeps the first record's time:
    /// the subscription began then. Its way is kept too, except that an API join marks a
    /// record as `api`: the `join` call and the update its own join causes race to the
    /// map, and the update must not make an API join look like one made elsewhere.
    pub fn record_join(
        &self,
        chat: PeerId,
        account: AccountId,
        how: JoinHow,
    ) -> Result<(), JoinMapError> {
        self.conn()
            .execute(
                "insert into joins (chat_id, account, joined_at, how)
                 values (?1, ?2, ?3, ?4)
                 on conflict (chat_id, account) do update set how = 'api'
                 where excluded.how = 'api'",
                params![
                    chat.bot_api_dialog_id_unchecked(),
                    account.0,
                    unix_secs(),
                    how.as_str()
                ],
            )
            .map_err(|e| self.sql(e))?;
        Ok(())
    }

    /// Records that `account` left `chat`; says whether it was recorded as a member.
    pub fn record_leave(&self, chat: PeerId, account: AccountId) -> Result<bool, JoinMapError> {
        let removed = self
            .conn()
            .execute(
                "delete from joins where chat_id = ?1 and account = ?2",
                params![chat.bot_api_dialog_id_unchecked(), account.0],
            )
            .map_err(|e| self.sql(e))?;
        Ok(removed > 0)
    }

    /// Every membership, by chat then account.
    pub fn subscriptions(&self) -> Result<Vec<Subscription>, JoinMapError> {
        let conn = self.conn();
        let mut statement = conn
            .prepare_cached(
                "select chat_id, account, joined_at, how from joins order by chat_id, account",
            )
            .map_err(|e| self.sql(e))?;
        let rows = statement
            .query_map([], |row| {
                Ok((
                    row.get::<_, i64>(0)?,
                    row.get::<_, i64>(1)?,
                    row.get::<_, i64>(2)?,
                    row.get::<_, String>(3)?,
                ))
            })
            .map_err(|e| self.sql(e))?;
        let mut subscriptions = Vec::new();
        for row in rows {
            let (chat, account, joined_at, how) = row.map_err(|e| self.sql(e))?;
            let chat = PeerId::from_bot_api_dialog_id(chat).ok_or(JoinMapError::BadChat {
                path: self.file.path().to_owned(),
                chat,
            })?;
            subscriptions.push(Subscription {
                chat,
                account: AccountId(account),
                joined_at,
                how: JoinHow::parse(&how),
            });
        }
        Ok(subscriptions)
    }

    /// The accounts recorded as members of `chat`.
    pub fn holders(&self, chat: PeerId) -> Result<Vec<AccountId>, JoinMapError> {
        let conn = self.conn();
        let mut statement = conn
            .prepare_cached("select account from joins where chat_id = ?1 order by account")
            .map_err(|e| self.sql(e))?;
        let rows = statement
            .query_map([chat.bot_api_dialog_id_unchecked()], |row| row.get(0))
            .map_err(|e| self.sql(e))?;
        rows.map(|row| row.map(AccountId).map_err(|e| self.sql(e)))
            .collect()
    }

    /// Whether any account is recorded in the chat with this marked id (the publisher's
    /// filter, asked once per update).
    pub fn is_joined(&self, chat_id: i64) -> Result<bool, JoinMapError> {
        let conn = self.conn();
        let mut statement = conn
            .prepare_cached("select 1 from joins where chat_id = ?1 limit 1")
            .map_err(|e| self.sql(e))?;
        statement
            .query_row([chat_id], |_| Ok(()))
            .optional()
            .map(|found| found.is_some())
            .map_err(|e| self.sql(e))
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        self.file.conn()
    }

    fn sql(&self, source: rusqlite::Error) -> JoinMapError {
        JoinMapError::Sql {
            path: self.file.path().to_owned(),
            source,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NEWS: i64 = 100_001;

    fn open() -> (tempfile::TempDir, JoinMap) {
        let dir = tempfile::tempdir().unwrap();
        let map = JoinMap::open_in(&dir.path().join("data")).unwrap();
        (dir, map)
    }

    #[test]
    fn joins_are_recorded_per_account_and_survive_reopening() {
        let (dir, map) = open();
        let news = PeerId::channel_unchecked(NEWS);
        map.record_join(news, AccountId(1), JoinHow::Api).unwrap();
        map.record_join(news, AccountId(2), JoinHow::Telegram)
            .unwrap();
        assert_eq!(map.holders(news).unwrap(), vec![AccountId(1), AccountId(2)]);
        assert!(map.is_joined(news.bot_api_dialog_id_unchecked()).unwrap());
        assert!(!map.is_joined(NEWS).unwrap(), "keyed by the marked id");
        drop(map);

        let map = JoinMap::open_in(&dir.path().join("data")).unwrap();
        let subscriptions = map.subscriptions().unwrap();
        assert_eq!(subscriptions.len(), 2);
        assert_eq!(subscriptions[0].chat, news);
        assert_eq!(subscriptions[0].chat_id(), -1_000_000_000_000 - NEWS);
        assert_eq!(subscriptions[0].how, JoinHow::Api);
        assert_eq!(subscriptions[1].how, JoinHow::Telegram);
        assert!(subscriptions[0].joined_at > 0);
    }

    #[test]
    fn joining_twice_keeps_the_first_record() {
        let (_dir, map) = open();
        let chat = PeerId::chat_unchecked(500);
        map.record_join(chat, AccountId(1), JoinHow::Api).unwrap();
        map.record_join(chat, AccountId(1), JoinHow::Telegram)
            .unwrap();
        let subscriptions = map.subscriptions().unwrap();
        assert_eq!(subscriptions.len(), 1);
        assert_eq!(subscriptions[0].how, JoinHow::Api);
        assert_eq!(subscriptions[0].chat_id(), -500);
    }

    #[test]
    fn an_api_join_recorded_after_its_own_update_is_still_an_api_join() {
        let (_dir, map) = open();
        let chat = PeerId::channel_unchecked(NEWS);
        map.record_join(chat, AccountId(1), JoinHow::Telegram)
            .unwrap();
        let first = map.subscriptions().unwrap()[0].joined_at;
        map.record_join(chat, AccountId(1), JoinHow::Api).unwrap();
        let subscriptions = map.subscriptions().unwrap();
        assert_eq!(subscriptions.len(), 1);
        assert_eq!(subscriptions[0].how, JoinHow::Api);
        assert_eq!(subscriptions[0].joined_at, first, "the first time is kept");
    }

    #[test]
    fn leaving_removes_one_account_and_says_whether_it_was_there() {
        let (_dir, map) = open();
        let news = PeerId::channel_unchecked(NEWS);
        map.record_join(news, AccountId(1), JoinHow::Api).unwrap();
        map.record_join(news, AccountId(2), JoinHow::Api).unwrap();
        assert!(map.record_leave(news, AccountId(1)).unwrap());
        assert!(!map.record_leave(news, AccountId(1)).unwrap());
        assert_eq!(map.holders(news).unwrap(), vec![AccountId(2)]);
        assert!(map.record_leave(news, AccountId(2)).unwrap());
        assert!(!map.is_joined(news.bot_api_dialog_id_unchecked()).unwrap());
        assert!(map.subscriptions().unwrap().is_empty());
    }

    #[test]
    fn an_unopenable_path_is_a_typed_error() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("not-a-dir");
        std::fs::write(&file, "x").unwrap();
        let error = JoinMap::open_in(&file).unwrap_err();
        assert!(matches!(error, JoinMapError::CreateDir { .. }), "{error}");
        assert!(error.to_string().contains("not-a-dir"));
    }
}
