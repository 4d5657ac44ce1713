//! The on-disk layout of a session file: Telethon's tables, plus ours.
//!
//! Telethon 1.45's `SQLiteSession` is the specification. It writes layout version 8 and
//! upgrades older files in place on open; we do the same, step for step, so a file looks
//! the same whichever program opened it first. The one step that loses data is 5 → 6:
//! Telethon found that version-5 files could hold wrong access hashes for users and
//! channels, so it deletes every cached entity; we follow it.
//!
//! Our own data goes in tables prefixed `tgc_`, which Telethon never reads or drops.

use rusqlite::{Connection, OptionalExtension};

/// The layout version Telethon 1.45 writes, and so do we.
pub const CURRENT_VERSION: i64 = 8;

/// The oldest layout version we read.
pub const OLDEST_VERSION: i64 = 5;

/// Telethon's own tables, exactly as `SQLiteSession.__init__` creates them.
const TELETHON_TABLES: &str = "
    create table version (version integer primary key);
    create table sessions (
        dc_id integer primary key,
        server_address text,
        port integer,
        auth_key blob,
        takeout_id integer,
        tmp_auth_key blob
    );
    create table entities (
        id integer primary key,
        hash integer not null,
        username text,
        phone integer,
        name text,
        date integer
    );
    create table sent_files (
        md5_digest blob,
        file_size integer,
        type integer,
        id integer,
        hash integer,
        primary key(md5_digest, file_size, type)
    );
    create table update_state (
        id integer primary key,
        pts integer,
        qts integer,
        date integer,
        seq integer
    );
";

/// Our tables. `tgc_dc_option` holds every DC we know with its key (Telethon keeps only
/// the home DC, in `sessions`); `tgc_self` the logged-in user and whether it is a bot
/// (Telethon keeps only its id, as the fake entity row 0); `tgc_peer` what grammers
/// knows of a peer beyond its access hash (bot flag, channel kind), keyed by marked id.
const TGC_TABLES: &str = "
    create table if not exists tgc_dc_option (
        dc_id integer primary key,
        ipv4 text not null,
        ipv6 text not null,
        auth_key blob
    );
    create table if not exists tgc_self (
        slot integer primary key check (slot = 0),
        user_id integer not null,
        bot integer
    );
    create table if not exists tgc_peer (
        id integer primary key,
        bot integer,
        channel_kind integer
    );
";

/// What is wrong with a file's layout, before the file's path is attached.
#[derive(Debug)]
pub(crate) enum LayoutError {
    Schema(String),
    Version(i64),
    Sql(rusqlite::Error),
}

impl From<rusqlite::Error> for LayoutError {
    fn from(error: rusqlite::Error) -> Self {
        LayoutError::Sql(error)
    }
}

/// Creates a fresh version-8 layout (Telethon's tables and ours) in an empty database.
pub(crate) fn create(conn: &mut Connection) -> rusqlite::Result<()> {
    let tx = conn.transaction()?;
    tx.execute_batch(TELETHON_TABLES)?;
    tx.execute_batch(TGC_TABLES)?;
    tx.execute("insert into version values (?1)", [CURRENT_VERSION])?;
    tx.commit()
}

/// Checks an existing file's layout and brings it to version 8 the way Telethon would.
///
/// Returns the version the file had before, so the caller can report an upgrade.
pub(crate) fn open_and_upgrade(conn: &mut Connection) -> Result<i64, LayoutError> {
    if !table_exists(conn, "version")? {
        return Err(LayoutError::Schema("no `version` table".into()));
    }
    let version: i64 = conn
        .query_row("select version from version", [], |row| row.get(0))
        .optional()?
        .ok_or_else(|| LayoutError::Schema("the `version` table is empty".into()))?;
    if !(OLDEST_VERSION..=CURRENT_VERSION).contains(&version) {
        return Err(LayoutError::Version(version));
    }
    check_columns(conn, version)?;

    let tx = conn.transaction()?;
    if version < CURRENT_VERSION {
        upgrade(&tx, version)?;
        tx.execute("delete from version", [])?;
        tx.execute("insert into version values (?1)", [CURRENT_VERSION])?;
    }
    tx.execute_batch(TGC_TABLES)?;
    tx.commit()?;
    Ok(version)
}

/// Telethon's `_upgrade_database`, from version 5 on.
fn upgrade(conn: &Connection, mut version: i64) -> rusqlite::Result<()> {
    if version == 5 {
        // Telethon: "potentially all access hashes for User and Channel are wrong".
        version += 1;
        conn.execute("delete from entities", [])?;
    }
    if version == 6 {
        version += 1;
        conn.execute("alter table entities add column date integer", [])?;
    }
    if version == 7 {
        conn.execute("alter table sessions add column tmp_auth_key blob", [])?;
    }
    Ok(())
}

/// The columns each Telethon table must have at a given layout version.
fn expected_columns(version: i64) -> Vec<(&'static str, Vec<&'static str>)> {
    let mut sessions = vec!["dc_id", "server_address", "port", "auth_key", "takeout_id"];
    if version >= 8 {
        sessions.push("tmp_auth_key");
    }
    let mut entities = vec!["id", "hash", "username", "phone", "name"];
    if version >= 7 {
        entities.push("date");
    }
    vec![
        ("sessions", sessions),
        ("entities", entities),
        (
            "sent_files",
            vec!["md5_digest", "file_size", "type", "id", "hash"],
        ),
        ("update_state", vec!["id", "pts", "qts", "date", "seq"]),
    ]
}

fn check_columns(conn: &Connection, version: i64) -> Result<(), LayoutError> {
    let mut problems = Vec::new();
    for (table, wanted) in expected_columns(version) {
        if !table_exists(conn, table)? {
            problems.push(format!("no `{table}` table"));
            continue;
        }
        let present = table_columns(conn, table)?;
        let missing: Vec<&str> = wanted
            .into_iter()
            .filter(|column| !present.iter().any(|p| p == column))
            .collect();
        if !missing.is_empty() {
            problems.push(format!(
                "table `{table}` lacks column(s) {} required by layout version {version}",
                missing.join(", ")
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(LayoutError::Schema(problems.join("; ")))
    }
}

fn table_exists(conn: &Connection, table: &str) -> rusqlite::Result<bool> {
    conn.query_row(
        "select count(*) from sqlite_master where type = 'table' and name = ?1",
        [table],
        |row| row.get::<_, i64>(0),
    )
    .map(|count| count > 0)
}

fn table_columns(conn: &Connection, table: &str) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare("select name from pragma_table_info(?1)")?;
    let columns = stmt
        .query_map([table], |row| row.get::<_, String>(0))?
        .collect::<rusqlite::Result<Vec<String>>>()?;
    Ok(columns)
}
