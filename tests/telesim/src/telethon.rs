//! What the old collector hands over for the world's accounts: Telethon's own formats, written
//! here as Telethon 1.45 writes them, so the demo and the binary's users bring telesim's accounts
//! in exactly as a switching user brings theirs (`tgcollector accounts import`), and telesim
//! needs nothing of the gateway. The Telethon cross-check (`tests/py`) proves real Telethon
//! reads both.
//!
//! - a session file: layout version 8 with the home DC, its address and key in `sessions`, and
//!   the self row Telethon writes on a clean disconnect (`entities` id 0, hash = the user id);
//! - a `StringSession`: `'1'` + URL-safe base64 of `dc_id | IPv4 or IPv6 | port BE | key`.

use std::net::{IpAddr, SocketAddr};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use base64::Engine as _;

use crate::api::HOME_DC;
use crate::world::AccountInfo;

/// Telethon 1.45's tables, as `SQLiteSession` creates them (layout version 8).
const TELETHON_LAYOUT: &str = "
    create table version (version integer primary key);
    create table sessions (dc_id integer primary key, server_address text, port integer,
                           auth_key blob, takeout_id integer, tmp_auth_key blob);
    create table entities (id integer primary key, hash integer not null, username text,
                           phone integer, name text, date integer);
    create table sent_files (md5_digest blob, file_size integer, type integer, id integer,
                             hash integer, primary key(md5_digest, file_size, type));
    create table update_state (id integer primary key, pts integer, qts integer, date integer,
                               seq integer);
    insert into version values (8);
";

/// Writes one Telethon session file (mode 0600) per logged-in account into `dir`, named after
/// the account's phone number (`<digits>.session`), reaching telesim at `addr`; an existing
/// file is an error, never overwritten.
pub fn write_session_files(
    accounts: &[AccountInfo],
    addr: SocketAddr,
    dir: &Path,
) -> anyhow::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("creating the sessions directory {}", dir.display()))?;
    let mut written = Vec::new();
    for account in accounts.iter().filter(|a| a.logged_in) {
        let path = dir.join(format!("{}.session", session_name(account)));
        write_file(account, addr, &path)
            .with_context(|| format!("writing session file {}", path.display()))?;
        written.push(path);
    }
    Ok(written)
}

fn write_file(account: &AccountInfo, addr: SocketAddr, path: &Path) -> anyhow::Result<()> {
    // Created private before SQLite writes a byte of the key into it.
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    let conn = rusqlite::Connection::open(path)?;
    conn.execute_batch(TELETHON_LAYOUT)?;
    conn.execute(
        "insert into sessions values (?1, ?2, ?3, ?4, null, x'')",
        rusqlite::params![
            HOME_DC,
            addr.ip().to_string(),
            addr.port(),
            account.auth_key.as_slice()
        ],
    )?;
    conn.execute(
        "insert into entities (id, hash) values (0, ?1)",
        [account.user_id],
    )?;
    Ok(())
}

/// Telethon's `StringSession.save()` for an account reached at `addr`.
pub fn string_session(account: &AccountInfo, addr: SocketAddr) -> String {
    let mut bytes = vec![HOME_DC as u8];
    match addr.ip() {
        IpAddr::V4(ip) => bytes.extend_from_slice(&ip.octets()),
        IpAddr::V6(ip) => bytes.extend_from_slice(&ip.octets()),
    }
    bytes.extend_from_slice(&addr.port().to_be_bytes());
    bytes.extend_from_slice(&account.auth_key);
    format!(
        "1{}",
        base64::engine::general_purpose::URL_SAFE.encode(bytes)
    )
}

/// `[A-Za-z0-9]` of the phone number, or the user id when the phone has none.
pub fn session_name(account: &AccountInfo) -> String {
    let digits: String = account
        .phone
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect();
    if digits.is_empty() {
        account.user_id.to_string()
    } else {
        digits
    }
}
