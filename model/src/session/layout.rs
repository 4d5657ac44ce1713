//! The on-disk layout of a session file: Telethon's tables, plus ours.
//!
//! Telethon 1.45's `SQLiteSession` is the specification. It writes layout version 8 and
//! upgrades older files in place on open; we do the same, step for step and in one
//! transaction, so a file looks the same whichever program opened it first. Every layout
//! since Telethon 0.17's first SQLite one (version 1) opens; on the way to 8 it keeps or
//! loses this:
//!
//! | version | home DC + key | entities        | update state       | sent files                 |
//! |---------|---------------|-----------------|--------------------|----------------------------|
//! | 1       | read          | dropped (5 → 6) | none, starts empty | none, created empty        |
//! | 2       | read          | dropped (5 → 6) | none, starts empty | old layout dropped (2 → 3) |
//! | 3       | read          | dropped (5 → 6) | none, starts empty | kept, unused by us         |
//! | 4       | read          | dropped (5 → 6) | read               | kept, unused by us         |
//! | 5       | read          | dropped (5 → 6) | read               | kept, unused by us         |
//! | 6, 7, 8 | read          | read            | read               | kept, unused by us         |
//!
//! `sessions.takeout_id` exists from version 5 (added empty before); we keep it and never
//! use it. Two steps lose data. 5 → 6: Telethon found that files up to version 5 could
//! hold wrong access hashes for users and channels, so it deletes every cached entity;
//! we follow it, for every older file too, since each passes through that step. 2 → 3:
//! the sent-files cache gained a `type` column in its key, and Telethon drops the old
//! table rather than convert entries that expire within a day anyway.
//!
//! A layout newer than 8 is refused, not guessed at: a later Telethon may have moved
//! what we read, and reading it as version 8 could log in with the wrong key or lose
//! the update state silently.
//!
//! Our own data goes in tables prefixed `tgc_`, which Telethon never reads or drops.

use rusqlite::{Connection, OptionalExtension};

/// The layout version Telethon 1.45 writes, and so do we.
pub const CURRENT_VERSION: i64 = 8;

/// The oldest layout version we read: Telethon 0.17's, its first in SQLite.
pub const OLDEST_VERSION: i64 = 1;

/// Telethon's own tables, exactly as `SQLiteSession.__init__` creates them, split where
/// the upgrade creates a table on its own.
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
";

/// Telethon's `sent_files` from version 3 on; the 2 → 3 step creates it too.
const SENT_FILES_TABLE: &str = "
    create table sent_files (
        md5_digest blob,
        file_size integer,
        type integer,
        id integer,
        hash integer,
        primary key(md5_digest, file_size, type)
    );
";

/// Telethon's `update_state`, new in version 4; the 3 → 4 step creates it.
const UPDATE_STATE_TABLE: &str = "
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
    /// Below 1: no Telethon layout.
    Version(i64),
    /// Above [`CURRENT_VERSION`]: a newer Telethon's layout, which we do not know.
    NewerVersion(i64),
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
    tx.execute_batch(SENT_FILES_TABLE)?;
    tx.execute_batch(UPDATE_STATE_TABLE)?;
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
    if version > CURRENT_VERSION {
        return Err(LayoutError::NewerVersion(version));
    }
    if version < OLDEST_VERSION {
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

/// What the upgrade from `version` to [`CURRENT_VERSION`] throws away, for the operator.
pub(crate) fn upgrade_losses(version: i64) -> Vec<&'static str> {
    let mut losses = Vec::new();
    if version <= 5 {
        losses.push(
            "cached entities dropped, as Telethon does, because access hashes saved before layout version 6 may be wrong",
        );
    }
    if version == 2 {
        losses.push(
            "the old-layout sent-files cache dropped, as Telethon does (its entries expire within a day anyway)",
        );
    }
    losses
}

/// Telethon's `_upgrade_database`, step by step from version 1.
fn upgrade(conn: &Connection, mut version: i64) -> rusqlite::Result<()> {
    if version == 1 {
        // Telethon: version 1 "doesn't have the old sent_files so no need to drop".
        version += 1;
    }
    if version == 2 {
        // Telethon: "Old cache from old sent_files lasts then a day anyway, drop".
        // `if exists` because a version-1 file arrives here without the table: Telethon
        // 1.45's plain `drop` fails on it, against the intent of Telethon 0.18, which
        // wrote this step and only created the new table for version 1.
        version += 1;
        conn.execute("drop table if exists sent_files", [])?;
        conn.execute_batch(SENT_FILES_TABLE)?;
    }
    if version == 3 {
        version += 1;
        conn.execute_batch(UPDATE_STATE_TABLE)?;
    }
    if version == 4 {
        version += 1;
        conn.execute("alter table sessions add column takeout_id integer", [])?;
    }
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

/// The tables, and their columns, a file of a given layout version must have; a table
/// the version did not have yet is not listed.
fn expected_columns(version: i64) -> Vec<(&'static str, Vec<&'static str>)> {
    let mut sessions = vec!["dc_id", "server_address", "port", "auth_key"];
    if version >= 5 {
        sessions.push("takeout_id");
    }
    if version >= 8 {
        sessions.push("tmp_auth_key");
    }
    let mut entities = vec!["id", "hash", "username", "phone", "name"];
    if version >= 7 {
        entities.push("date");
    }
    let mut tables = vec![("sessions", sessions), ("entities", entities)];
    // Version 2's `sent_files` is the old layout, without `type` in its key.
    if version >= 2 {
        let mut sent_files = vec!["md5_digest", "file_size", "id", "hash"];
        if version >= 3 {
            sent_files.push("type");
        }
        tables.push(("sent_files", sent_files));
    }
    if version >= 4 {
        tables.push(("update_state", vec!["id", "pts", "qts", "date", "seq"]));
    }
    tables
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
