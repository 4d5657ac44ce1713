//! Old Telethon layouts (versions 1 to 7) open and are upgraded in place to version 8,
//! following Telethon's `_upgrade_database` step by step, including what it drops; a
//! layout we do not know (newer than 8, below 1, or a pre-SQLite JSON session) is
//! refused with a message that says which.

use crate::support::{hex, old_layout_file, telethon, test_key};
use grammers_session::Session;
use grammers_session::types::{ChannelState, PeerId, UpdatesState};
use tgc_model::session::{ImportError, SessionError, SessionFile, import_telethon_file};

/// Telethon's tables, all of which a version-8 file has.
const TELETHON_TABLES: [&str; 5] = [
    "version",
    "sessions",
    "entities",
    "sent_files",
    "update_state",
];

/// A table's columns as SQLite describes them: name, type, not-null, primary-key rank.
type Columns = Vec<(String, String, bool, i64)>;

fn stored_version(path: &std::path::Path) -> i64 {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.query_row("select version from version", [], |row| row.get(0))
        .unwrap()
}

fn row_count(path: &std::path::Path, table: &str) -> i64 {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.query_row(&format!("select count(*) from {table}"), [], |row| {
        row.get(0)
    })
    .unwrap()
}

/// Every Telethon table with its full column description; a missing table has none.
fn telethon_schema(path: &std::path::Path) -> Vec<(&'static str, Columns)> {
    let conn = rusqlite::Connection::open(path).unwrap();
    let mut stmt = conn
        .prepare("select name, type, \"notnull\", pk from pragma_table_info(?1)")
        .unwrap();
    TELETHON_TABLES
        .into_iter()
        .map(|table| {
            let columns = stmt
                .query_map([table], |row| {
                    Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
                })
                .unwrap()
                .collect::<Result<Columns, _>>()
                .unwrap();
            (table, columns)
        })
        .collect()
}

/// The Telethon tables of a file we create: version 8 exactly as Telethon 1.45 writes it.
fn fresh_schema() -> Vec<(&'static str, Columns)> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fresh.session");
    SessionFile::create(
        &path,
        2,
        "149.154.167.51:443".parse().unwrap(),
        &test_key(1),
    )
    .unwrap();
    telethon_schema(&path)
}

/// An old-layout fixture whose `version` row then claims `version`.
fn file_claiming(dir: &tempfile::TempDir, built_as: i64, version: i64) -> std::path::PathBuf {
    let path = dir.path().join("odd.session");
    old_layout_file(&path, built_as, &test_key(1));
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute("update version set version = ?1", [version])
        .unwrap();
    path
}

async fn open_old(version: i64) -> (tempfile::TempDir, std::path::PathBuf, SessionFile) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(format!("v{version}.session"));
    old_layout_file(&path, version, &test_key(7));
    let file = SessionFile::open(&path).expect("old layout opens");

    assert_eq!(stored_version(&path), 8, "upgraded on disk");
    assert_eq!(
        telethon_schema(&path),
        fresh_schema(),
        "version {version}: Telethon's tables as a fresh version-8 file has them"
    );
    assert_eq!(file.home_dc_id().unwrap(), 4);
    assert_eq!(file.auth_key(), Some(test_key(7)));
    let state = file.updates_state().await.unwrap();
    if version >= 4 {
        assert_eq!((state.pts, state.qts, state.seq), (10, 2, 3));
        assert_eq!(
            state.channels,
            vec![ChannelState {
                id: 1234567890,
                pts: 77
            }]
        );
    } else {
        // No `update_state` before version 4: nothing to carry over.
        assert_eq!(state, UpdatesState::default(), "version {version}");
    }
    assert!(
        file.warnings()
            .iter()
            .any(|w| w.contains(&format!("from Telethon layout version {version}"))),
        "warnings: {:?}",
        file.warnings()
    );
    (dir, path, file)
}

#[tokio::test]
async fn version_5_is_upgraded_and_its_entities_are_dropped_as_telethon_does() {
    let (_dir, path, file) = open_old(5).await;
    assert_eq!(file.entities().unwrap(), vec![]);
    assert_eq!(file.lookup_username("bob"), None);
    assert!(
        file.warnings()
            .iter()
            .any(|w| w.contains("entities dropped"))
    );

    // Telethon agrees the upgraded file is a version-8 session with the same key.
    let read = telethon(&["read", path.to_str().unwrap()]);
    assert_eq!(read["version"], 8);
    assert_eq!(read["auth_key"], hex(&test_key(7)));
    assert_eq!(read["entities"], serde_json::json!({}));
}

#[tokio::test]
async fn version_6_is_upgraded_and_keeps_its_entities() {
    let (_dir, _path, file) = open_old(6).await;
    let entities = file.entities().unwrap();
    assert_eq!(entities.len(), 2);
    assert_eq!(
        file.lookup_username("@Bob").map(|p| p.id()),
        PeerId::from_bot_api_dialog_id(5550002)
    );
    assert_eq!(
        entities
            .iter()
            .find(|e| e.peer == PeerId::from_bot_api_dialog_id(5550002).unwrap())
            .and_then(|e| e.phone.clone())
            .as_deref(),
        Some("447700900123")
    );
}

#[tokio::test]
async fn version_7_is_upgraded_and_opens_in_telethon() {
    let (_dir, path, file) = open_old(7).await;
    assert_eq!(file.entities().unwrap().len(), 2);
    drop(file);
    let read = telethon(&["read", path.to_str().unwrap()]);
    assert_eq!(read["version"], 8);
    assert_eq!(read["dc_id"], 4);
    assert_eq!(read["usernames"]["tgcnews"]["hash"], -99);
}

#[test]
fn version_8_file_opens_without_upgrade_warning() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new.session");
    SessionFile::create(
        &path,
        2,
        "149.154.167.51:443".parse().unwrap(),
        &test_key(1),
    )
    .unwrap();
    let file = SessionFile::open(&path).unwrap();
    assert!(file.warnings().is_empty(), "{:?}", file.warnings());
}

#[tokio::test]
async fn versions_1_to_4_are_upgraded_on_disk_to_telethons_exact_version_8_tables() {
    for version in 1..=4 {
        // `open_old` compares the tables with a fresh file's and checks DC, key and state.
        let (_dir, _path, file) = open_old(version).await;
        assert_eq!(file.entities().unwrap(), vec![], "version {version}");
        assert!(
            file.warnings()
                .iter()
                .any(|w| w.contains("entities dropped")),
            "version {version}: {:?}",
            file.warnings()
        );
    }
}

#[tokio::test]
async fn version_1_files_of_telethon_0_17_open_and_lose_only_what_telethon_drops() {
    let (_dir, path, file) = open_old(1).await;
    assert_eq!(file.entities().unwrap(), vec![]);
    assert_eq!(file.lookup_username("bob"), None);
    assert_eq!(row_count(&path, "sent_files"), 0, "created empty");
    assert!(
        !file.warnings().iter().any(|w| w.contains("sent-files")),
        "version 1 had no sent files to drop: {:?}",
        file.warnings()
    );
    drop(file);

    // Telethon agrees: a version-8 file with the same DC and key, and nothing else.
    let read = telethon(&["read", path.to_str().unwrap()]);
    assert_eq!(read["version"], 8);
    assert_eq!(read["dc_id"], 4);
    assert_eq!(read["auth_key"], hex(&test_key(7)));
    assert_eq!(read["entities"], serde_json::json!({}));
    assert_eq!(read["update_states"], serde_json::json!({}));
}

#[tokio::test]
async fn version_2_loses_its_old_sent_files_cache_as_telethon_does() {
    let (_dir, path, file) = open_old(2).await;
    assert_eq!(row_count(&path, "sent_files"), 0);
    assert!(
        file.warnings()
            .iter()
            .any(|w| w.contains("from Telethon layout version 2")
                && w.contains("entities dropped")
                && w.contains("sent-files cache dropped")),
        "{:?}",
        file.warnings()
    );
}

#[tokio::test]
async fn version_3_keeps_its_sent_files_and_starts_with_an_empty_update_state() {
    let (_dir, path, file) = open_old(3).await;
    assert_eq!(row_count(&path, "sent_files"), 1);
    assert_eq!(row_count(&path, "update_state"), 0);
    assert_eq!(file.entities().unwrap(), vec![]);
}

#[tokio::test]
async fn version_4_keeps_its_update_state_and_loses_its_entities() {
    // `open_old` checks the state (pts 10, channel at 77) survived.
    let (_dir, path, file) = open_old(4).await;
    assert_eq!(row_count(&path, "update_state"), 2);
    assert_eq!(file.entities().unwrap(), vec![]);
    drop(file);
    let read = telethon(&["read", path.to_str().unwrap()]);
    assert_eq!(read["version"], 8);
    assert_eq!(read["update_states"]["0"]["pts"], 10);
    assert_eq!(read["update_states"]["1234567890"]["pts"], 77);
}

#[test]
fn a_layout_newer_than_8_is_refused_as_written_by_a_newer_telethon() {
    for version in [9, 42] {
        let dir = tempfile::tempdir().unwrap();
        let path = file_claiming(&dir, 7, version);
        match SessionFile::open(&path) {
            Err(error @ SessionError::NewerVersion { .. }) => {
                let message = error.to_string();
                assert!(message.contains(path.to_str().unwrap()), "{message}");
                assert!(message.contains(&format!("version {version}")), "{message}");
                assert!(message.contains("newer Telethon"), "{message}");
                assert!(message.contains("newest known: 8"), "{message}");
                assert!(message.contains("refused rather than misread"), "{message}");
            }
            other => panic!(
                "version {version}: expected NewerVersion, got {:?}",
                other.err()
            ),
        }
        assert_eq!(stored_version(&path), version, "left untouched");
    }
}

#[test]
fn a_layout_version_below_1_is_refused_as_not_a_telethon_layout() {
    for version in [0, -1] {
        let dir = tempfile::tempdir().unwrap();
        let path = file_claiming(&dir, 7, version);
        match SessionFile::open(&path) {
            Err(error @ SessionError::UnsupportedVersion { .. }) => {
                let message = error.to_string();
                assert!(message.contains(path.to_str().unwrap()), "{message}");
                assert!(
                    message.contains(&format!(
                        "layout version {version} is not a Telethon layout"
                    )),
                    "{message}"
                );
            }
            other => panic!(
                "version {version}: expected UnsupportedVersion, got {:?}",
                other.err()
            ),
        }
    }
}

#[test]
fn a_json_session_of_telethon_before_0_17_is_refused_with_how_to_convert_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.session");
    std::fs::write(
        &path,
        r#"{"port": 443, "salt": 0, "layer": 71, "server_address": "149.154.167.91",
            "auth_key_data": "AAAA", "id": 1, "sequence": 0, "time_offset": 0}"#,
    )
    .unwrap();
    let error = SessionFile::open(&path).expect_err("refused");
    assert!(
        matches!(error, SessionError::TelethonJson { .. }),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(message.contains(path.to_str().unwrap()), "{message}");
    assert!(
        message.contains("a JSON session of Telethon before 0.17"),
        "{message}"
    );
    assert!(message.contains("Telethon 1.x"), "{message}");

    // Importing it says the same, about the source rather than the discarded copy.
    let sessions = tempfile::tempdir().unwrap();
    let error = import_telethon_file(&path, sessions.path()).expect_err("refused");
    assert!(
        matches!(
            error,
            ImportError::Session(SessionError::TelethonJson { .. })
        ),
        "{error:?}"
    );
    assert!(
        error.to_string().contains(path.to_str().unwrap()),
        "{error}"
    );
}

#[test]
fn a_file_claiming_version_4_without_update_state_is_a_wrong_schema() {
    let dir = tempfile::tempdir().unwrap();
    let path = file_claiming(&dir, 3, 4);
    let error = SessionFile::open(&path).expect_err("refused");
    assert!(
        matches!(error, SessionError::WrongSchema { .. }),
        "{error:?}"
    );
    assert!(
        error.to_string().contains("no `update_state` table"),
        "{error}"
    );
}

#[test]
fn a_file_claiming_version_5_without_takeout_id_is_a_wrong_schema() {
    let dir = tempfile::tempdir().unwrap();
    let path = file_claiming(&dir, 4, 5);
    let error = SessionFile::open(&path).expect_err("refused");
    assert!(
        error
            .to_string()
            .contains("`sessions` lacks column(s) takeout_id required by layout version 5"),
        "{error}"
    );
}

#[test]
fn an_upgrade_that_fails_at_its_last_step_leaves_the_file_as_it_was() {
    // A version-4 file that already has `tmp_auth_key`: steps 4 → 7 run (dropping the
    // entities on the way), then 7 → 8 cannot add the column again.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v4.session");
    old_layout_file(&path, 4, &test_key(7));
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute("alter table sessions add column tmp_auth_key blob", [])
        .unwrap();
    let before = telethon_schema(&path);

    let error = SessionFile::open(&path).expect_err("refused");
    assert!(matches!(error, SessionError::Sqlite { .. }), "{error:?}");
    assert_eq!(stored_version(&path), 4);
    assert_eq!(telethon_schema(&path), before, "no step kept");
    assert_eq!(
        row_count(&path, "entities"),
        2,
        "the 5 → 6 delete rolled back"
    );
}

#[test]
fn a_file_claiming_version_7_without_entities_date_is_a_wrong_schema() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("liar.session");
    old_layout_file(&path, 6, &test_key(1));
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute("update version set version = 7", [])
        .unwrap();
    let error = SessionFile::open(&path).expect_err("refused");
    assert!(
        matches!(error, SessionError::WrongSchema { .. }),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(message.contains("liar.session"), "{message}");
    assert!(
        message.contains("`entities` lacks column(s) date"),
        "{message}"
    );
}
