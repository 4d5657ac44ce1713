//! Old Telethon layouts (versions 5, 6, 7) open and are upgraded in place to version 8,
//! following Telethon's `_upgrade_database`, including its version-5 rule.

mod support;

use grammers_session::Session;
use grammers_session::types::{ChannelState, PeerId};
use support::{hex, old_layout_file, telethon, test_key};
use tgc_model::session::{SessionError, SessionFile};

fn columns(path: &std::path::Path, table: &str) -> Vec<String> {
    let conn = rusqlite::Connection::open(path).unwrap();
    let mut stmt = conn
        .prepare("select name from pragma_table_info(?1)")
        .unwrap();
    stmt.query_map([table], |row| row.get(0))
        .unwrap()
        .collect::<Result<Vec<String>, _>>()
        .unwrap()
}

fn stored_version(path: &std::path::Path) -> i64 {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.query_row("select version from version", [], |row| row.get(0))
        .unwrap()
}

async fn open_old(version: i64) -> (tempfile::TempDir, std::path::PathBuf, SessionFile) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(format!("v{version}.session"));
    old_layout_file(&path, version, &test_key(7));
    let file = SessionFile::open(&path).expect("old layout opens");

    assert_eq!(stored_version(&path), 8, "upgraded on disk");
    assert!(columns(&path, "sessions").contains(&"tmp_auth_key".to_string()));
    assert!(columns(&path, "entities").contains(&"date".to_string()));
    assert_eq!(file.home_dc_id().unwrap(), 4);
    assert_eq!(file.auth_key(), Some(test_key(7)));
    let state = file.updates_state().await.unwrap();
    assert_eq!((state.pts, state.qts, state.seq), (10, 2, 3));
    assert_eq!(
        state.channels,
        vec![ChannelState {
            id: 1234567890,
            pts: 77
        }]
    );
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

#[test]
fn versions_outside_5_to_8_are_refused_naming_the_file() {
    for version in [4, 9] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("odd.session");
        old_layout_file(&path, 7, &test_key(1));
        rusqlite::Connection::open(&path)
            .unwrap()
            .execute("update version set version = ?1", [version])
            .unwrap();
        match SessionFile::open(&path) {
            Err(error @ SessionError::UnsupportedVersion { .. }) => {
                let message = error.to_string();
                assert!(message.contains(path.to_str().unwrap()), "{message}");
                assert!(message.contains(&format!("version {version}")), "{message}");
                assert!(message.contains("expected 5 to 8"), "{message}");
            }
            other => panic!(
                "version {version}: expected UnsupportedVersion, got {:?}",
                other.err()
            ),
        }
    }
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
