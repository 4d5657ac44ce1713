//! Sessions written by Pyrogram itself decode to exactly what Pyrogram reads from them.
//!
//! Pyrogram 2.0.106 (offline, through `tests/py/pyrogram_session.py`) writes the strings
//! and files and reports what it reads back, so these tests prove compatibility with the
//! real thing, not with our reading of its source.

use std::fs;
use std::path::Path;

use crate::support::{hex, pyrogram, telethon, test_key};
use grammers_session::types::{PeerId, PeerKind};
use serde_json::Value;
use tgc_model::session::{PyrogramError, PyrogramSession};

const SELF_ID: &str = "5550001";
/// Beyond 32 bits: only the 64-bit formats can hold it.
const WIDE_SELF_ID: &str = "6000000001";

/// Asserts that `session` holds what Pyrogram reports for its own login.
fn assert_login(session: &PyrogramSession, expected: &Value) {
    assert_eq!(
        i64::from(session.dc_id),
        expected["dc_id"].as_i64().unwrap()
    );
    assert_eq!(
        session.api_id.map(i64::from),
        expected["api_id"].as_i64(),
        "api id"
    );
    assert!(!session.test_mode);
    assert_eq!(
        hex(&session.auth_key),
        expected["auth_key"].as_str().unwrap()
    );
    assert_eq!(session.user_id, expected["user_id"].as_i64(), "user id");
    assert_eq!(session.bot, expected["is_bot"].as_bool(), "bot flag");
}

/// Every file in `dir` with its bytes, to prove a read left nothing behind or changed.
fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = fs::read_dir(dir)
        .unwrap()
        .map(|entry| {
            let entry = entry.unwrap();
            (
                entry.file_name().to_string_lossy().into_owned(),
                fs::read(entry.path()).unwrap(),
            )
        })
        .collect();
    files.sort();
    files
}

#[test]
fn strings_of_all_three_formats_decode_to_what_pyrogram_reads_from_them() {
    let key = hex(&test_key(3));
    for (command, user_id, chars) in [
        ("string", WIDE_SELF_ID, 362),
        ("string-old-64", WIDE_SELF_ID, 356),
        ("string-old", SELF_ID, 351),
    ] {
        for bot in [false, true] {
            let mut args = vec![command, "4", &key, user_id];
            if bot {
                args.push("--bot");
            }
            let expected = pyrogram(&args);
            let string = expected["string"].as_str().unwrap();
            assert_eq!(string.len(), chars, "{command}");

            let session = PyrogramSession::parse_string(string)
                .unwrap_or_else(|e| panic!("{command} (bot: {bot}): {e}"));
            assert_login(&session, &expected);
            assert!(session.peers.is_empty());
            if command == "string" {
                assert!(
                    session.api_id.is_some(),
                    "the current format has the API id"
                );
                assert_eq!(
                    session.encode_string(),
                    string,
                    "we encode as Pyrogram does"
                );
            }
        }
    }
}

#[test]
fn a_file_written_by_pyrogram_decodes_to_its_login_and_cached_peers() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ann.session");
    let key = hex(&test_key(9));
    let expected = pyrogram(&["file", path.to_str().unwrap(), "4", &key, SELF_ID]);
    assert_eq!(expected["version"], 3);

    let session = PyrogramSession::read_file(&path).expect("Pyrogram's own file reads");
    assert_login(&session, &expected);

    let rows = expected["peers"].as_array().unwrap();
    let mut wanted = Vec::new();
    for row in rows {
        let peer_type = row["type"].as_str().unwrap();
        let has_hash = !row["access_hash"].is_null();
        if !has_hash && peer_type != "group" {
            continue; // useless without a hash: must be skipped
        }
        wanted.push(row);
    }
    assert!(
        wanted.len() < rows.len(),
        "the fixture has a hashless user to skip"
    );
    assert_eq!(
        session.peers.len(),
        wanted.len(),
        "peers: {:?}",
        session.peers
    );
    for (entity, row) in session.peers.iter().zip(wanted) {
        let marked = row["marked_id"].as_i64().unwrap();
        assert_eq!(entity.peer, PeerId::from_bot_api_dialog_id(marked).unwrap());
        // The peer Pyrogram itself would address requests to.
        let input = &row["input_peer"];
        let kind = match input["kind"].as_str().unwrap() {
            "user" => PeerKind::User,
            "chat" => PeerKind::Chat,
            "channel" => PeerKind::Channel,
            other => panic!("unexpected input peer {other}"),
        };
        assert_eq!(entity.peer.kind(), kind, "{marked}");
        assert_eq!(entity.peer.bare_id(), input["id"].as_i64(), "{marked}");
        assert_eq!(Some(entity.access_hash), input["hash"].as_i64(), "{marked}");
        assert_eq!(entity.username.as_deref(), row["username"].as_str());
        assert_eq!(entity.phone.as_deref(), row["phone"].as_str());
        assert_eq!(entity.name, None);
        assert_eq!(entity.date, row["date"].as_i64());
    }
    let usernames: Vec<_> = session
        .peers
        .iter()
        .filter_map(|e| e.username.as_deref())
        .collect();
    assert_eq!(usernames, ["tgcnews", "bobthebuilder", "helperbot"]);
}

#[test]
fn reading_a_pyrogram_file_leaves_it_and_its_directory_unchanged_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bot.session");
    let key = hex(&test_key(5));
    pyrogram(&["file", path.to_str().unwrap(), "2", &key, SELF_ID, "--bot"]);
    let before = snapshot(dir.path());

    let session = PyrogramSession::read_file(&path).unwrap();
    assert_eq!(session.bot, Some(true));
    PyrogramSession::read_file(&path).unwrap();

    assert_eq!(snapshot(dir.path()), before);
}

#[test]
fn a_test_server_session_is_refused_as_string_and_as_file() {
    let key = hex(&test_key(1));
    let string = pyrogram(&["string", "2", &key, SELF_ID, "--test-mode"]);
    let error = PyrogramSession::parse_string(string["string"].as_str().unwrap()).unwrap_err();
    assert!(matches!(error, PyrogramError::TestMode { .. }), "{error}");
    assert!(
        error
            .to_string()
            .contains("a session of Telegram's test servers"),
        "{error}"
    );

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("test.session");
    pyrogram(&[
        "file",
        path.to_str().unwrap(),
        "2",
        &key,
        SELF_ID,
        "--test-mode",
    ]);
    let error = PyrogramSession::read_file(&path).unwrap_err();
    assert!(matches!(error, PyrogramError::TestMode { .. }), "{error}");
    assert_eq!(error.path(), Some(path.as_path()));
    assert!(
        error.to_string().contains(path.to_str().unwrap()),
        "{error}"
    );
}

#[test]
fn a_truncated_string_is_refused_with_its_length() {
    let key = hex(&test_key(2));
    let expected = pyrogram(&["string", "2", &key, SELF_ID]);
    let string = expected["string"].as_str().unwrap();
    let error = PyrogramSession::parse_string(&string[..300]).unwrap_err();
    assert!(
        matches!(error, PyrogramError::StringLength { chars: 300 }),
        "{error}"
    );
    assert_eq!(
        error.to_string(),
        "Pyrogram session string is 300 characters long (not counting `=` padding), \
         expected 351 or 356 (old formats) or 362: was it cut short when copied?"
    );
}

#[test]
fn a_telethon_file_given_as_a_pyrogram_file_is_refused_and_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ann.session");
    telethon(&["create", path.to_str().unwrap()]);

    let error = PyrogramSession::read_file(&path).unwrap_err();
    assert!(
        matches!(error, PyrogramError::NotPyrogram { .. }),
        "{error}"
    );
    let message = error.to_string();
    assert!(message.contains(path.to_str().unwrap()), "{message}");
    assert!(
        message.contains("no table `version` with a column `number`"),
        "{message}"
    );
    assert!(
        message.contains("import it as a Telethon session"),
        "{message}"
    );
}

#[test]
fn a_newer_layout_version_and_a_file_that_is_no_database_are_refused_and_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("newer.session");
    pyrogram(&[
        "file",
        path.to_str().unwrap(),
        "2",
        &hex(&test_key(4)),
        SELF_ID,
    ]);
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute("update version set number = 4", [])
        .unwrap();
    let error = PyrogramSession::read_file(&path).unwrap_err();
    assert!(
        matches!(error, PyrogramError::UnsupportedVersion { version: 4, .. }),
        "{error}"
    );
    assert!(error.to_string().contains("expected 1 to 3"), "{error}");

    let junk = dir.path().join("junk.session");
    fs::write(&junk, vec![b'x'; 4096]).unwrap();
    let error = PyrogramSession::read_file(&junk).unwrap_err();
    assert!(matches!(error, PyrogramError::NotSqlite { .. }), "{error}");
    assert_eq!(error.path(), Some(junk.as_path()));

    let missing = dir.path().join("missing.session");
    let error = PyrogramSession::read_file(&missing).unwrap_err();
    assert!(matches!(error, PyrogramError::Unreadable { .. }), "{error}");
    assert!(
        error.to_string().contains(missing.to_str().unwrap()),
        "{error}"
    );
}
