//! Bringing existing Telethon accounts into `sessions/`.
//!
//! Four sources: Telethon's `StringSession` and `.session` file, Pyrogram's session string
//! and `.session` file. Either way the result is a new `<name>.session` file in our
//! (Telethon's) layout, mode 0600, that never overwrites an existing account, and that
//! has been opened and checked before the import reports success. A source file is never
//! modified: a Telethon file is copied first and the copy is upgraded; a Pyrogram file is
//! only read. Whether Telegram accepts the account is the caller's check (the pool's
//! `TeleClient::join`), since this layer knows no network.

use std::fs;
use std::io;
use std::net::SocketAddr;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use super::dcs::KNOWN_DC_OPTIONS;
use super::error::{ImportError, SessionError};
use super::file::SessionFile;
use super::pyrogram::PyrogramSession;
use super::string::TelethonString;

/// Checks an account name: `[A-Za-z0-9_.-]+`, and not `.` or `..`.
pub fn validate_account_name(name: &str) -> Result<(), ImportError> {
    let bad = |reason| ImportError::BadName {
        name: name.to_owned(),
        reason,
    };
    if name.is_empty() {
        return Err(bad("it is empty"));
    }
    if name.contains('/') || name.contains('\\') {
        return Err(bad("it contains a path separator"));
    }
    if name == "." || name == ".." {
        return Err(bad("it names a directory"));
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
    {
        return Err(bad("it contains a character outside the allowed set"));
    }
    Ok(())
}

/// Creates `sessions_dir/<name>.session` from a Telethon `StringSession`.
pub fn import_telethon_string(
    s: &str,
    sessions_dir: &Path,
    name: &str,
) -> Result<PathBuf, ImportError> {
    validate_account_name(name)?;
    let string = TelethonString::parse(s)?;
    let path = sessions_dir.join(format!("{name}.session"));
    SessionFile::create(&path, string.dc_id, string.addr, &string.auth_key)?;
    Ok(path)
}

/// Creates `sessions_dir/<name>.session` from a Pyrogram session string.
///
/// Pyrogram records no server address, so the home DC is reached at `home_addr` when
/// given, else at Telegram's own address for that DC.
pub fn import_pyrogram_string(
    s: &str,
    sessions_dir: &Path,
    name: &str,
    home_addr: Option<SocketAddr>,
) -> Result<PathBuf, ImportError> {
    validate_account_name(name)?;
    let session = PyrogramSession::parse_string(s)?;
    write_pyrogram(
        &session,
        &sessions_dir.join(format!("{name}.session")),
        home_addr,
    )
}

/// Creates `sessions_dir/<stem>.session` from a Pyrogram `.session` file, which is only
/// read: its key, its user and its cached peers are written into a new file of ours.
pub fn import_pyrogram_file(
    src: &Path,
    sessions_dir: &Path,
    home_addr: Option<SocketAddr>,
) -> Result<PathBuf, ImportError> {
    let stem = account_name_of(src)?;
    open_source(src)?;
    let session = PyrogramSession::read_file(src)?;
    write_pyrogram(
        &session,
        &sessions_dir.join(format!("{stem}.session")),
        home_addr,
    )
}

fn write_pyrogram(
    session: &PyrogramSession,
    dest: &Path,
    home_addr: Option<SocketAddr>,
) -> Result<PathBuf, ImportError> {
    let addr = match home_addr {
        Some(addr) => addr,
        None => KNOWN_DC_OPTIONS
            .get(&session.dc_id)
            .map(|option| SocketAddr::V4(option.ipv4))
            .ok_or(ImportError::UnknownDc {
                dc_id: session.dc_id,
            })?,
    };
    let file = SessionFile::create(dest, session.dc_id, addr, &session.auth_key)?;
    let filled = (|| {
        if let Some(user_id) = session.user_id {
            file.set_self_user(user_id, session.bot.unwrap_or(false))?;
        }
        for peer in &session.peers {
            file.cache_entity(peer)?;
        }
        Ok(())
    })();
    if let Err(error) = filled {
        drop(file);
        let _ = fs::remove_file(dest);
        return Err(ImportError::Session(error));
    }
    Ok(dest.to_owned())
}

/// The account name a source file gives: its file name without the extension.
fn account_name_of(src: &Path) -> Result<&str, ImportError> {
    let stem = src
        .file_stem()
        .and_then(|stem| stem.to_str())
        .ok_or_else(|| ImportError::NoFileName {
            path: src.to_owned(),
        })?;
    validate_account_name(stem)?;
    Ok(stem)
}

/// Copies a Telethon session file to `sessions_dir/<stem>.session` (mode 0600), then
/// opens the copy to validate and upgrade it; a copy that fails is removed again.
pub fn import_telethon_file(src: &Path, sessions_dir: &Path) -> Result<PathBuf, ImportError> {
    let stem = account_name_of(src)?;
    let dest = sessions_dir.join(format!("{stem}.session"));

    // Fail on a bad source before anything is created in `sessions_dir`.
    let mut source = open_source(src)?;
    let mut target = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&dest)
        .map_err(|source| {
            if source.kind() == io::ErrorKind::AlreadyExists {
                ImportError::Session(SessionError::AlreadyExists { path: dest.clone() })
            } else {
                ImportError::Session(SessionError::Create {
                    path: dest.clone(),
                    source,
                })
            }
        })?;
    let copied = io::copy(&mut source, &mut target).and_then(|_| target.sync_all());
    drop(target);
    if let Err(source) = copied {
        let _ = fs::remove_file(&dest);
        return Err(ImportError::Copy {
            from: src.to_owned(),
            to: dest,
            source,
        });
    }

    let checked = SessionFile::open(&dest)
        .map_err(|error| rename_error(error, src))
        .and_then(|file| match file.auth_key() {
            Some(_) => Ok(()),
            None => Err(ImportError::NotLoggedIn {
                path: src.to_owned(),
            }),
        });
    if let Err(error) = checked {
        let _ = fs::remove_file(&dest);
        return Err(error);
    }
    Ok(dest)
}

fn open_source(src: &Path) -> Result<fs::File, ImportError> {
    let unreadable = |source| {
        ImportError::Session(SessionError::Unreadable {
            path: src.to_owned(),
            source,
        })
    };
    let metadata = fs::metadata(src).map_err(unreadable)?;
    if metadata.is_dir() {
        return Err(ImportError::Session(SessionError::IsDirectory {
            path: src.to_owned(),
        }));
    }
    fs::File::open(src).map_err(unreadable)
}

/// Errors found in the copy are about the source file: name it, not the copy.
fn rename_error(error: SessionError, src: &Path) -> ImportError {
    let path = src.to_owned();
    ImportError::Session(match error {
        SessionError::NotSqlite { .. } => SessionError::NotSqlite { path },
        SessionError::TelethonJson { .. } => SessionError::TelethonJson { path },
        SessionError::WrongSchema { detail, .. } => SessionError::WrongSchema { path, detail },
        SessionError::UnsupportedVersion { version, .. } => {
            SessionError::UnsupportedVersion { path, version }
        }
        SessionError::NewerVersion { version, .. } => SessionError::NewerVersion { path, version },
        SessionError::BadAuthKey { dc_id, len, .. } => {
            SessionError::BadAuthKey { path, dc_id, len }
        }
        SessionError::BadAddress { dc_id, address, .. } => SessionError::BadAddress {
            path,
            dc_id,
            address,
        },
        other => other,
    })
}
