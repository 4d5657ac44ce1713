//! Shared helpers for the session tests: the Telethon and Pyrogram cross-check scripts, and
//! fixture files.

use std::path::Path;

/// Runs `tests/py/telethon_session.py` with `args` and parses the JSON it prints.
pub fn telethon(args: &[&str]) -> serde_json::Value {
    testkit::python::script("telethon_session.py", args)
}

/// Runs `tests/py/pyrogram_session.py` with `args` and parses the JSON it prints.
pub fn pyrogram(args: &[&str]) -> serde_json::Value {
    testkit::python::script("pyrogram_session.py", args)
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A recognisable 256-byte auth key.
pub fn test_key(seed: u8) -> [u8; 256] {
    let mut key = [0u8; 256];
    for (i, byte) in key.iter_mut().enumerate() {
        *byte = (i as u8).wrapping_mul(31).wrapping_add(seed) | 1;
    }
    key
}

/// Builds a session file in an old Telethon layout, 1 to 7, with exactly the tables and
/// columns that version had (Telethon's `_upgrade_database` read backwards): version 1
/// has no `sent_files` and no `update_state`; 2 has `sent_files` in its old layout,
/// without `type`; 3 has the new `sent_files` but still no `update_state`; `sessions`
/// gains `takeout_id` in 5; `entities` gains `date` in 7; none has `tmp_auth_key`.
///
/// Rows: home DC 4 with `auth_key`, two entities (Bob, with a phone, and the channel
/// `tgcnews`, hash -99), one sent file where the table exists, and from version 4 an
/// update state of pts 10, qts 2, seq 3 with channel 1234567890 at pts 77.
pub fn old_layout_file(path: &Path, version: i64, auth_key: &[u8]) {
    assert!(
        (1..=7).contains(&version),
        "no old-layout fixture for version {version}"
    );
    let conn = rusqlite::Connection::open(path).expect("fixture database");
    let takeout_id = if version >= 5 {
        ", takeout_id integer"
    } else {
        ""
    };
    let entities_date = if version >= 7 { ", date integer" } else { "" };
    conn.execute_batch(&format!(
        "create table version (version integer primary key);
         create table sessions (dc_id integer primary key, server_address text, port integer,
                                auth_key blob{takeout_id});
         create table entities (id integer primary key, hash integer not null, username text,
                                phone integer, name text{entities_date});"
    ))
    .expect("fixture schema");
    if version == 2 {
        conn.execute_batch(
            "create table sent_files (md5_digest blob, file_size integer, id integer,
                                      hash integer, primary key(md5_digest, file_size));
             insert into sent_files values (x'0123456789abcdef0123456789abcdef', 1024, 31, -31);",
        )
        .expect("fixture old sent_files");
    }
    if version >= 3 {
        conn.execute_batch(
            "create table sent_files (md5_digest blob, file_size integer, type integer, id integer,
                                      hash integer, primary key(md5_digest, file_size, type));
             insert into sent_files values (x'0123456789abcdef0123456789abcdef', 1024, 1, 31, -31);",
        )
        .expect("fixture sent_files");
    }
    if version >= 4 {
        conn.execute_batch(
            "create table update_state (id integer primary key, pts integer, qts integer,
                                        date integer, seq integer);
             insert into update_state values (0, 10, 2, 1700000000, 3),
                                             (1234567890, 77, 0, 1700000000, 0);",
        )
        .expect("fixture update state");
    }
    conn.execute("insert into version values (?1)", [version])
        .expect("fixture version");
    conn.execute(
        "insert into sessions (dc_id, server_address, port, auth_key)
         values (4, '149.154.167.91', 443, ?1)",
        [auth_key],
    )
    .expect("fixture sessions row");
    conn.execute(
        "insert into entities (id, hash, username, phone, name) values
             (5550002, 1234, 'bob', 447700900123, 'Bob'),
             (-1001234567890, -99, 'tgcnews', null, 'Tgc News')",
        [],
    )
    .expect("fixture entities");
}
