//! Broken, hostile or careless input: every failure is a typed error naming the file,
//! one bad file never stops the others, keys are kept private, and a malformed
//! `StringSession` says exactly what is wrong.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::support::{old_layout_file, test_key};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE;
use tgc_model::session::{
    ImportError, SessionError, SessionFile, TelethonString, import_telethon_file,
    import_telethon_string, load_dir, validate_account_name,
};

fn new_session(path: &Path) -> SessionFile {
    SessionFile::create(path, 2, "149.154.167.51:443".parse().unwrap(), &test_key(1)).unwrap()
}

fn assert_names(error: &impl std::fmt::Display, path: &Path) {
    let message = error.to_string();
    assert!(
        message.contains(path.to_str().unwrap()),
        "error should name {}: {message}",
        path.display()
    );
}

fn not_sqlite(path: &Path) {
    fs::write(path, "this is a text file, not a database\n".repeat(40)).unwrap();
}

fn wrong_schema(path: &Path) {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.execute_batch("create table notes (body text); insert into notes values ('hi');")
        .unwrap();
}

fn short_key(path: &Path) {
    old_layout_file(path, 7, &[7u8; 100]);
}

#[test]
fn a_file_that_is_not_sqlite_is_reported_as_such() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("text.session");
    not_sqlite(&path);
    let error = SessionFile::open(&path).expect_err("refused");
    assert!(matches!(error, SessionError::NotSqlite { .. }), "{error:?}");
    assert_names(&error, &path);
    assert!(error.to_string().contains("not an SQLite database"));
}

#[test]
fn an_sqlite_file_without_telethon_tables_is_a_wrong_schema() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("other.session");
    wrong_schema(&path);
    let error = SessionFile::open(&path).expect_err("refused");
    assert!(
        matches!(error, SessionError::WrongSchema { .. }),
        "{error:?}"
    );
    assert_names(&error, &path);
    assert!(error.to_string().contains("no `version` table"), "{error}");
}

#[test]
fn a_missing_telethon_table_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("partial.session");
    old_layout_file(&path, 7, &test_key(1));
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute("drop table sent_files", [])
        .unwrap();
    let error = SessionFile::open(&path).expect_err("refused");
    assert!(
        error.to_string().contains("no `sent_files` table"),
        "{error}"
    );
    assert_names(&error, &path);
}

#[test]
fn an_auth_key_of_the_wrong_length_is_refused_with_both_lengths() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("short.session");
    short_key(&path);
    let error = SessionFile::open(&path).expect_err("refused");
    assert!(
        matches!(
            error,
            SessionError::BadAuthKey {
                len: 100,
                dc_id: 4,
                ..
            }
        ),
        "{error:?}"
    );
    assert_names(&error, &path);
    assert!(
        error.to_string().contains("100 bytes, expected 256"),
        "{error}"
    );
}

#[test]
fn a_directory_named_like_a_session_is_unreadable_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.session");
    fs::create_dir(&path).unwrap();
    let error = SessionFile::open(&path).expect_err("refused");
    assert!(
        matches!(error, SessionError::IsDirectory { .. }),
        "{error:?}"
    );
    assert_names(&error, &path);
}

#[test]
fn a_missing_file_is_unreadable() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gone.session");
    let error = SessionFile::open(&path).expect_err("refused");
    assert!(
        matches!(error, SessionError::Unreadable { .. }),
        "{error:?}"
    );
    assert_names(&error, &path);
    assert!(!path.exists(), "opening must not create the file");
}

#[test]
fn load_dir_loads_the_good_files_beside_the_bad_ones() {
    let dir = tempfile::tempdir().unwrap();
    let good_a = dir.path().join("a_good.session");
    let good_b = dir.path().join("z_good.session");
    new_session(&good_a);
    old_layout_file(&good_b, 6, &test_key(2));
    not_sqlite(&dir.path().join("b_text.session"));
    wrong_schema(&dir.path().join("c_schema.session"));
    short_key(&dir.path().join("d_key.session"));
    fs::create_dir(dir.path().join("x.session")).unwrap();
    fs::write(dir.path().join("notes.txt"), "not a session, ignored").unwrap();

    let (files, errors) = load_dir(dir.path());
    let loaded: Vec<&Path> = files.iter().map(|f| f.path()).collect();
    assert_eq!(loaded, vec![good_a.as_path(), good_b.as_path()]);
    let failed: Vec<String> = errors
        .iter()
        .map(|e| e.path().file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        failed,
        [
            "b_text.session",
            "c_schema.session",
            "d_key.session",
            "x.session"
        ]
    );
    assert!(matches!(errors[0], SessionError::NotSqlite { .. }));
    assert!(matches!(errors[1], SessionError::WrongSchema { .. }));
    assert!(matches!(errors[2], SessionError::BadAuthKey { .. }));
    assert!(matches!(errors[3], SessionError::IsDirectory { .. }));
}

#[test]
fn load_dir_reports_a_missing_directory() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope");
    let (files, errors) = load_dir(&missing);
    assert!(files.is_empty());
    assert_eq!(errors.len(), 1);
    assert_names(&errors[0], &missing);
}

#[test]
fn new_files_are_created_0600() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("private.session");
    new_session(&path);
    let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "mode {mode:o}");
}

#[test]
fn create_refuses_to_overwrite_an_existing_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("taken.session");
    new_session(&path);
    let before = fs::read(&path).unwrap();
    let error = SessionFile::create(&path, 4, "1.2.3.4:443".parse().unwrap(), &test_key(9))
        .expect_err("refused");
    assert!(
        matches!(error, SessionError::AlreadyExists { .. }),
        "{error:?}"
    );
    assert_names(&error, &path);
    assert_eq!(fs::read(&path).unwrap(), before, "untouched");
}

#[test]
fn a_world_readable_file_is_reported_in_warnings_and_summary() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("loose.session");
    new_session(&path);
    fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
    let file = SessionFile::open(&path).unwrap();
    assert!(
        file.warnings()
            .iter()
            .any(|w| w.contains("0644") && w.contains("0600")),
        "{:?}",
        file.warnings()
    );
    assert!(file.summary().warnings.iter().any(|w| w.contains("0644")));

    fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
    let file = SessionFile::open(&path).unwrap();
    assert!(file.warnings().is_empty(), "{:?}", file.warnings());
}

fn string_of(bytes: &[u8]) -> String {
    format!("1{}", URL_SAFE.encode(bytes))
}

fn valid_bytes() -> Vec<u8> {
    let mut bytes = vec![2u8, 149, 154, 167, 51, 0x01, 0xbb];
    bytes.extend_from_slice(&test_key(5));
    bytes
}

fn parse_error(s: &str) -> ImportError {
    TelethonString::parse(s).expect_err("malformed string refused")
}

#[test]
fn malformed_strings_say_what_is_wrong() {
    let empty = parse_error("   ");
    assert!(matches!(empty, ImportError::EmptyString), "{empty:?}");

    let version = parse_error(&format!("2{}", &string_of(&valid_bytes())[1..]));
    assert!(matches!(version, ImportError::WrongVersion { found: '2' }));
    assert!(
        version.to_string().contains("expected version prefix '1'"),
        "{version}"
    );

    let base64 = parse_error("1AAAA*AAA");
    assert!(matches!(base64, ImportError::BadBase64(_)), "{base64:?}");
    assert!(base64.to_string().contains("base64"), "{base64}");

    let truncated = parse_error(&string_of(&valid_bytes()[..200]));
    assert!(
        matches!(truncated, ImportError::WrongLength { len: 200 }),
        "{truncated:?}"
    );
    assert!(
        truncated
            .to_string()
            .contains("200 bytes, expected 263 (IPv4 address) or 275 (IPv6 address)"),
        "{truncated}"
    );

    let mut dc_zero = valid_bytes();
    dc_zero[0] = 0;
    assert!(matches!(
        parse_error(&string_of(&dc_zero)),
        ImportError::BadDcId
    ));

    let mut port_zero = valid_bytes();
    port_zero[5] = 0;
    port_zero[6] = 0;
    assert!(matches!(
        parse_error(&string_of(&port_zero)),
        ImportError::BadPort
    ));

    let mut no_key = valid_bytes();
    no_key[7..].fill(0);
    let error = parse_error(&string_of(&no_key));
    assert!(matches!(error, ImportError::EmptyAuthKey), "{error:?}");
}

#[test]
fn strings_parse_with_or_without_padding_and_surrounding_whitespace() {
    let padded = string_of(&valid_bytes());
    assert!(padded.ends_with('='));
    let expected = TelethonString::parse(&padded).unwrap();
    assert_eq!(expected.dc_id, 2);
    assert_eq!(expected.addr, "149.154.167.51:443".parse().unwrap());
    assert_eq!(
        TelethonString::parse(padded.trim_end_matches('=')).unwrap(),
        expected
    );
    assert_eq!(
        TelethonString::parse(&format!("  {padded}\n")).unwrap(),
        expected
    );
    let debug = format!("{expected:?}");
    assert!(
        debug.contains("<256 bytes>"),
        "the key is never printed: {debug}"
    );
}

#[test]
fn account_names_are_restricted_to_a_safe_set() {
    for good in ["alice", "acc_01", "team.one-2"] {
        validate_account_name(good).unwrap();
    }
    for (bad, why) in [
        ("", "empty"),
        ("a/b", "path separator"),
        ("..", "names a directory"),
        ("a b", "outside the allowed set"),
        ("ünï", "outside the allowed set"),
    ] {
        let error = validate_account_name(bad).expect_err("refused");
        assert!(error.to_string().contains(why), "{bad:?}: {error}");
    }
    let dir = tempfile::tempdir().unwrap();
    let string = string_of(&valid_bytes());
    let error = import_telethon_string(&string, dir.path(), "../escape")
        .err()
        .unwrap();
    assert!(error.to_string().contains("path separator"), "{error}");
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn importing_a_string_twice_refuses_to_overwrite() {
    let dir = tempfile::tempdir().unwrap();
    let string = string_of(&valid_bytes());
    let path = import_telethon_string(&string, dir.path(), "acc").unwrap();
    let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let error = import_telethon_string(&string, dir.path(), "acc")
        .err()
        .unwrap();
    assert!(
        matches!(
            error,
            ImportError::Session(SessionError::AlreadyExists { .. })
        ),
        "{error:?}"
    );
}

#[test]
fn importing_a_telethon_file_copies_it_0600_and_leaves_the_source_alone() {
    let src_dir = tempfile::tempdir().unwrap();
    let sessions = tempfile::tempdir().unwrap();
    let src = src_dir.path().join("old_acc.session");
    old_layout_file(&src, 7, &test_key(3));
    fs::set_permissions(&src, fs::Permissions::from_mode(0o644)).unwrap();
    let before = fs::read(&src).unwrap();

    let dest = import_telethon_file(&src, sessions.path()).unwrap();
    assert_eq!(dest, sessions.path().join("old_acc.session"));
    assert_eq!(
        fs::metadata(&dest).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert_eq!(
        fs::read(&src).unwrap(),
        before,
        "source unchanged (still version 7)"
    );
    let copy = SessionFile::open(&dest).unwrap();
    assert_eq!(copy.auth_key(), Some(test_key(3)));
    assert!(
        copy.warnings().is_empty(),
        "copy already upgraded: {:?}",
        copy.warnings()
    );

    let again = import_telethon_file(&src, sessions.path()).err().unwrap();
    assert!(
        matches!(
            again,
            ImportError::Session(SessionError::AlreadyExists { .. })
        ),
        "{again:?}"
    );
}

#[test]
fn importing_a_bad_telethon_file_names_the_source_and_leaves_nothing_behind() {
    let src_dir = tempfile::tempdir().unwrap();
    let sessions = tempfile::tempdir().unwrap();

    let text = src_dir.path().join("text.session");
    not_sqlite(&text);
    let error = import_telethon_file(&text, sessions.path()).err().unwrap();
    assert!(
        matches!(error, ImportError::Session(SessionError::NotSqlite { .. })),
        "{error:?}"
    );
    assert_names(&error, &text);

    let key = src_dir.path().join("short.session");
    short_key(&key);
    let error = import_telethon_file(&key, sessions.path()).err().unwrap();
    assert_names(&error, &key);

    let never_logged_in = src_dir.path().join("fresh.session");
    old_layout_file(&never_logged_in, 7, &[]);
    let error = import_telethon_file(&never_logged_in, sessions.path())
        .err()
        .unwrap();
    assert!(
        matches!(error, ImportError::NotLoggedIn { .. }),
        "{error:?}"
    );
    assert_names(&error, &never_logged_in);

    assert_eq!(
        fs::read_dir(sessions.path()).unwrap().count(),
        0,
        "failed imports leave no file"
    );
}
