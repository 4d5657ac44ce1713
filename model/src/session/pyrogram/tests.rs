//! The string decoder and the file reader on sessions built by hand.

use super::*;

fn session(user_id: Option<i64>, bot: Option<bool>) -> PyrogramSession {
    let mut auth_key = [0u8; AUTH_KEY_LEN];
    for (i, byte) in auth_key.iter_mut().enumerate() {
        *byte = (i as u8).wrapping_mul(7).wrapping_add(3);
    }
    PyrogramSession {
        dc_id: 4,
        api_id: Some(1_234_567),
        test_mode: false,
        auth_key,
        user_id,
        bot,
        peers: Vec::new(),
    }
}

/// Packs an old-format string as Pyrogram's old `export_session_string` did.
fn old_string(wide_user_id: bool, dc_id: u8, test_mode: bool, user_id: u64) -> String {
    let mut bytes = vec![dc_id, u8::from(test_mode)];
    bytes.extend_from_slice(&session(None, None).auth_key);
    if wide_user_id {
        bytes.extend_from_slice(&user_id.to_be_bytes());
    } else {
        bytes.extend_from_slice(&(user_id as u32).to_be_bytes());
    }
    bytes.push(1);
    URL_SAFE_NO_PAD.encode(bytes)
}

#[test]
fn an_encoded_string_parses_back_to_the_same_session() {
    let original = session(Some(5_550_001), Some(false));
    let string = original.encode_string();
    assert_eq!(string.len(), 362);
    assert_eq!(PyrogramSession::parse_string(&string).unwrap(), original);
}

#[test]
fn a_padded_string_with_surrounding_whitespace_parses_too() {
    let original = session(Some(5_550_001), Some(true));
    let padded = format!("  {}==\n", original.encode_string());
    assert_eq!(PyrogramSession::parse_string(&padded).unwrap(), original);
}

#[test]
fn both_old_formats_parse_without_an_api_id() {
    for (wide, len) in [(false, 351), (true, 356)] {
        let string = old_string(wide, 2, false, 4_000_000_000);
        assert_eq!(string.len(), len);
        let parsed = PyrogramSession::parse_string(&string).unwrap();
        assert_eq!(parsed.dc_id, 2);
        assert_eq!(parsed.api_id, None);
        assert_eq!(parsed.user_id, Some(4_000_000_000));
        assert_eq!(parsed.bot, Some(true));
        assert_eq!(parsed.auth_key, session(None, None).auth_key);
    }
}

#[test]
fn unknown_api_and_user_ids_round_trip_as_pyrogram_zeros() {
    let mut original = session(None, Some(false));
    original.api_id = None;
    let parsed = PyrogramSession::parse_string(&original.encode_string()).unwrap();
    assert_eq!(parsed, original);
}

#[test]
fn every_length_but_the_three_formats_is_refused_with_its_character_count() {
    let full = session(Some(1), Some(false)).encode_string();
    for len in [0, 1, 100, 350, 352, 355, 357, 361] {
        let error = PyrogramSession::parse_string(&full[..len]).unwrap_err();
        assert!(
            matches!(error, PyrogramError::StringLength { chars } if chars == len),
            "{len}: {error}"
        );
        assert!(error.to_string().contains(&format!("is {len} characters")));
    }
    let longer = format!("{full}AAAA");
    assert!(matches!(
        PyrogramSession::parse_string(&longer),
        Err(PyrogramError::StringLength { chars: 366 })
    ));
}

#[test]
fn a_string_outside_url_safe_base64_is_refused_as_such() {
    let string = session(Some(1), Some(false)).encode_string().replacen(
        |c: char| c.is_ascii_alphanumeric(),
        "+",
        1,
    );
    let error = PyrogramSession::parse_string(&string).unwrap_err();
    assert!(matches!(error, PyrogramError::BadBase64(_)), "{error}");
}

#[test]
fn a_test_server_session_is_refused() {
    let mut test = session(Some(1), Some(false));
    test.test_mode = true;
    let error = PyrogramSession::parse_string(&test.encode_string()).unwrap_err();
    assert!(matches!(error, PyrogramError::TestMode { path: None }));
    assert!(error.to_string().contains("Telegram's test servers"));
    let old = old_string(true, 2, true, 5);
    assert!(matches!(
        PyrogramSession::parse_string(&old),
        Err(PyrogramError::TestMode { .. })
    ));
}

#[test]
fn a_zero_key_dc_zero_and_an_impossible_user_id_are_refused() {
    let mut zero_key = session(Some(1), Some(false));
    zero_key.auth_key = [0; AUTH_KEY_LEN];
    assert!(matches!(
        PyrogramSession::parse_string(&zero_key.encode_string()),
        Err(PyrogramError::EmptyAuthKey { path: None })
    ));

    let mut dc_zero = session(Some(1), Some(false));
    dc_zero.dc_id = 0;
    assert!(matches!(
        PyrogramSession::parse_string(&dc_zero.encode_string()),
        Err(PyrogramError::BadDcId { dc_id: 0, .. })
    ));

    let huge_user = old_string(true, 2, false, u64::MAX);
    let error = PyrogramSession::parse_string(&huge_user).unwrap_err();
    assert!(
        matches!(error, PyrogramError::OutOfRange { field: "user id", value, .. } if value == i128::from(u64::MAX)),
        "{error}"
    );
}

/// A file in Pyrogram's layout `version` (1 to 3, `sqlite_storage.SCHEMA` without
/// the columns later versions added), with `rows` in `sessions` (`KEY` stands for a
/// valid key) and these peers:
/// a user, a hashless user, a group, a channel, and a "group" with a channel's id.
fn pyrogram_file(version: i64, rows: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("acc.session");
    let conn = Connection::open(&path).unwrap();
    let api_id = if version >= 3 { "api_id integer," } else { "" };
    conn.execute_batch(&format!(
        "create table sessions (dc_id integer primary key, {api_id} test_mode integer,
                                auth_key blob, date integer not null, user_id integer,
                                is_bot integer);
         create table peers (id integer primary key, access_hash integer,
                             type integer not null, username text, phone_number text,
                             last_update_on integer);
         create table version (number integer primary key);
         insert into version values ({version});
         {}
         insert into peers values
             (5550002, 11, 'user', 'Bob', '447700900123', 1700000000),
             (5550004, null, 'user', null, null, 1700000000),
             (-4242, 0, 'group', null, null, 1700000000),
             (-1001234567890, -42, 'channel', 'tgcnews', null, 1700000000),
             (-1001987654321, 7, 'group', null, null, 1700000000);",
        rows.replace("KEY", &format!("x'{}01'", "00".repeat(255)))
    ))
    .unwrap();
    (dir, path)
}

const KEY_ROW: &str = "insert into sessions (dc_id, test_mode, auth_key, date, user_id, is_bot)
                       values (4, 0, KEY, 0, 5550001, 0);";

#[test]
fn a_version_2_file_reads_without_an_api_id_and_skips_unusable_peers() {
    let (_dir, path) = pyrogram_file(2, KEY_ROW);
    let session = PyrogramSession::read_file(&path).unwrap();
    assert_eq!((session.dc_id, session.api_id), (4, None));
    assert_eq!(
        (session.user_id, session.bot),
        (Some(5_550_001), Some(false))
    );
    let peers: Vec<(i64, i64, Option<&str>)> = session
        .peers
        .iter()
        .map(|e| {
            (
                e.peer.bot_api_dialog_id().unwrap(),
                e.access_hash,
                e.username.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        peers,
        [
            (-1_001_234_567_890, -42, Some("tgcnews")),
            (-4242, 0, None),
            (5_550_002, 11, Some("bob")),
        ]
    );
    assert_eq!(session.peers[2].phone.as_deref(), Some("447700900123"));
    assert_eq!(session.peers[2].date, Some(1_700_000_000));
}

#[test]
fn a_version_1_file_keeps_its_login_but_not_its_peers_as_pyrogram_does() {
    let (_dir, path) = pyrogram_file(1, KEY_ROW);
    let session = PyrogramSession::read_file(&path).unwrap();
    assert_eq!(session.user_id, Some(5_550_001));
    assert!(session.peers.is_empty());
}

#[test]
fn a_file_that_never_finished_logging_in_reads_without_a_user() {
    let (_dir, path) = pyrogram_file(
        3,
        "insert into sessions values (2, 1234567, 0, KEY, 0, null, null);",
    );
    let session = PyrogramSession::read_file(&path).unwrap();
    assert_eq!(session.api_id, Some(1_234_567));
    assert_eq!((session.user_id, session.bot), (None, None));
}

#[test]
fn files_without_a_usable_key_or_with_two_logins_are_refused_naming_them() {
    let cases = [
        "insert into sessions values (2, 1, 0, null, 0, null, null);",
        "insert into sessions values (2, 1, 0, x'0102', 0, 1, 0);",
        "insert into sessions values (2, 1, 0, zeroblob(256), 0, 1, 0);",
        "insert into sessions values (2, 1, 0, KEY, 0, 1, 0),
                                     (4, 1, 0, KEY, 0, 1, 0);",
    ];
    for rows in cases {
        let (_dir, path) = pyrogram_file(3, rows);
        let error = PyrogramSession::read_file(&path).unwrap_err();
        assert_eq!(error.path(), Some(path.as_path()), "{error}");
        let expected = match &error {
            PyrogramError::NoAuthKey { .. } => "auth_key is NULL",
            PyrogramError::BadAuthKey { len: 2, .. } => "is 2 bytes, expected 256",
            PyrogramError::EmptyAuthKey { .. } => "all zeros",
            PyrogramError::NotPyrogram { .. } => "has 2 rows, Pyrogram keeps exactly one",
            other => panic!("{rows}: unexpected {other}"),
        };
        assert!(error.to_string().contains(expected), "{error}");
    }
}

#[test]
fn a_file_missing_pyrogram_columns_says_which() {
    let (_dir, path) = pyrogram_file(2, KEY_ROW);
    Connection::open(&path)
        .unwrap()
        .execute_batch("update version set number = 3; drop table peers;")
        .unwrap();
    let error = PyrogramSession::read_file(&path).unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "Pyrogram session file {}: not a Pyrogram session: table `sessions` lacks \
             column(s) api_id; no table `peers` (layout version 3)",
            path.display()
        )
    );
}

#[test]
fn a_newer_layout_is_refused_by_its_version_even_with_other_columns() {
    let (_dir, path) = pyrogram_file(3, KEY_ROW);
    Connection::open(&path)
        .unwrap()
        .execute_batch("update version set number = 7; drop table peers;")
        .unwrap();
    let error = PyrogramSession::read_file(&path).unwrap_err();
    assert!(
        matches!(error, PyrogramError::UnsupportedVersion { version: 7, .. }),
        "{error}"
    );
}

#[test]
fn debug_output_never_contains_the_key() {
    let debug = format!("{:?}", session(Some(1), None));
    assert!(debug.contains("<256 bytes>"));
    assert!(!debug.contains("auth_key: ["));
}
