//! The datacenters a session knows, and where Telethon and we keep them.
//!
//! Telethon keeps one row in `sessions`: the home DC's address and key. grammers wants
//! every DC it has talked to, each with its own key, so the others go in
//! `tgc_dc_option`. The home row in `sessions` always wins on load, because Telethon may
//! have rewritten it since we last did. grammers asks for these on every request, so
//! they are loaded once into a [`DcCache`] and written through on change.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::path::Path;
use std::sync::LazyLock;

use grammers_session::SessionData;
use grammers_session::types::DcOption;
use rusqlite::{Connection, OptionalExtension, params};

use super::error::SessionError;

/// The DC options grammers knows statically, used where the file stores none.
pub(super) static KNOWN_DC_OPTIONS: LazyLock<HashMap<i32, DcOption>> =
    LazyLock::new(|| SessionData::default().dc_options);

/// The DC grammers starts from when a file names no home DC.
pub(super) static DEFAULT_HOME_DC: LazyLock<i32> = LazyLock::new(|| SessionData::default().home_dc);

/// Length of a Telegram permanent authorization key.
const AUTH_KEY_LEN: usize = 256;

/// The cheap-to-read copy of the DC data grammers asks for on every request.
pub(super) struct DcCache {
    pub home_dc: i32,
    /// Whether Telethon's `sessions` row reaches the home DC over IPv6; kept when the
    /// home DC's key or address is rewritten, so a deliberate IPv6 setup stays so.
    pub home_is_ipv6: bool,
    /// Only DCs the file knows; [`KNOWN_DC_OPTIONS`] fills the rest on lookup.
    pub options: HashMap<i32, DcOption>,
}

/// Builds the DC cache from `tgc_dc_option` and, for the home DC, Telethon's `sessions`
/// row, which wins: Telethon may have written it since we last did.
pub(super) fn load_dc_cache(path: &Path, conn: &Connection) -> Result<DcCache, SessionError> {
    let sql = |source| SessionError::from_sql(path, source);
    let mut options = HashMap::new();
    let mut stmt = conn
        .prepare("select dc_id, ipv4, ipv6, auth_key from tgc_dc_option")
        .map_err(sql)?;
    let rows = stmt
        .query_map([], |row| {
            Ok((
                row.get::<_, i32>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, String>(2)?,
                row.get::<_, Option<Vec<u8>>>(3)?,
            ))
        })
        .map_err(sql)?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(sql)?;
    for (dc_id, ipv4, ipv6, key) in rows {
        let bad_address = |address: &str| SessionError::BadAddress {
            path: path.to_owned(),
            dc_id,
            address: address.to_owned(),
        };
        let option = DcOption {
            id: dc_id,
            ipv4: ipv4.parse().map_err(|_| bad_address(&ipv4))?,
            ipv6: ipv6.parse().map_err(|_| bad_address(&ipv6))?,
            auth_key: auth_key(path, dc_id, key)?,
        };
        options.insert(dc_id, option);
    }

    let home_row = conn
        .query_row(
            "select dc_id, server_address, port, auth_key from sessions limit 1",
            [],
            |row| {
                Ok((
                    row.get::<_, Option<i32>>(0)?,
                    row.get::<_, Option<String>>(1)?,
                    row.get::<_, Option<i64>>(2)?,
                    row.get::<_, Option<Vec<u8>>>(3)?,
                ))
            },
        )
        .optional()
        .map_err(sql)?;
    let mut home_dc = *DEFAULT_HOME_DC;
    let mut home_is_ipv6 = false;
    if let Some((Some(dc_id), address, port, key)) = home_row
        && dc_id != 0
    {
        home_dc = dc_id;
        let key = auth_key(path, dc_id, key)?;
        let addr = match (address, port) {
            (Some(address), Some(port)) => {
                let ip: IpAddr = address.parse().map_err(|_| SessionError::BadAddress {
                    path: path.to_owned(),
                    dc_id,
                    address: address.clone(),
                })?;
                let port = u16::try_from(port).map_err(|_| SessionError::BadAddress {
                    path: path.to_owned(),
                    dc_id,
                    address: format!("{address} port {port}"),
                })?;
                home_is_ipv6 = ip.is_ipv6();
                Some(SocketAddr::new(ip, port))
            }
            _ => None,
        };
        let known = options.get(&dc_id).cloned();
        let option = match addr {
            Some(addr) => dc_option_for(dc_id, addr, key, known),
            None => {
                let mut option = known
                    .or_else(|| KNOWN_DC_OPTIONS.get(&dc_id).cloned())
                    .unwrap_or_else(|| unknown_dc(dc_id));
                option.auth_key = key;
                option
            }
        };
        options.insert(dc_id, option);
    }
    Ok(DcCache {
        home_dc,
        home_is_ipv6,
        options,
    })
}

pub(super) fn auth_key(
    path: &Path,
    dc_id: i32,
    key: Option<Vec<u8>>,
) -> Result<Option<[u8; 256]>, SessionError> {
    match key {
        None => Ok(None),
        // Telethon writes an empty blob for "no key".
        Some(key) if key.is_empty() => Ok(None),
        Some(key) => <[u8; AUTH_KEY_LEN]>::try_from(key.as_slice())
            .map(Some)
            .map_err(|_| SessionError::BadAuthKey {
                path: path.to_owned(),
                dc_id,
                len: key.len(),
            }),
    }
}

/// A full grammers DC option for a DC reached at `addr`: the other address family
/// comes from what we knew, else grammers' static table, else `addr` itself (an IPv4
/// address embedded in IPv6, as grammers does for unknown DCs).
pub(super) fn dc_option_for(
    dc_id: i32,
    addr: SocketAddr,
    key: Option<[u8; 256]>,
    known: Option<DcOption>,
) -> DcOption {
    let mut option = known
        .or_else(|| KNOWN_DC_OPTIONS.get(&dc_id).cloned())
        .unwrap_or_else(|| match addr {
            SocketAddr::V4(v4) => DcOption {
                id: dc_id,
                ipv4: v4,
                ipv6: SocketAddrV6::new(v4.ip().to_ipv6_mapped(), v4.port(), 0, 0),
                auth_key: None,
            },
            SocketAddr::V6(v6) => DcOption {
                id: dc_id,
                ipv4: SocketAddrV4::new(
                    v6.ip().to_ipv4_mapped().unwrap_or(Ipv4Addr::UNSPECIFIED),
                    v6.port(),
                ),
                ipv6: v6,
                auth_key: None,
            },
        });
    match addr {
        SocketAddr::V4(v4) => option.ipv4 = v4,
        SocketAddr::V6(v6) => option.ipv6 = v6,
    }
    option.auth_key = key;
    option
}

pub(super) fn unknown_dc(dc_id: i32) -> DcOption {
    DcOption {
        id: dc_id,
        ipv4: SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 443),
        ipv6: SocketAddrV6::new(Ipv4Addr::UNSPECIFIED.to_ipv6_mapped(), 443, 0, 0),
        auth_key: None,
    }
}

pub(super) fn write_dc_option(conn: &Connection, option: &DcOption) -> rusqlite::Result<()> {
    conn.execute(
        "insert or replace into tgc_dc_option (dc_id, ipv4, ipv6, auth_key) values (?1, ?2, ?3, ?4)",
        params![
            option.id,
            option.ipv4.to_string(),
            option.ipv6.to_string(),
            option.auth_key.map(|key| key.to_vec())
        ],
    )?;
    Ok(())
}

/// Telethon's `_update_session_table`: one row, the home DC.
pub(super) fn write_home_row(
    conn: &Connection,
    option: &DcOption,
    prefer_v6: bool,
) -> rusqlite::Result<()> {
    let (address, port) = if prefer_v6 {
        (option.ipv6.ip().to_string(), option.ipv6.port())
    } else {
        (option.ipv4.ip().to_string(), option.ipv4.port())
    };
    let key = option.auth_key.map(|k| k.to_vec()).unwrap_or_default();
    let takeout: Option<i64> = conn
        .query_row(
            "select takeout_id from sessions where dc_id = ?1",
            [option.id],
            |row| row.get(0),
        )
        .optional()?
        .flatten();
    conn.execute("delete from sessions", [])?;
    conn.execute(
        "insert into sessions (dc_id, server_address, port, auth_key, takeout_id, tmp_auth_key)
         values (?1, ?2, ?3, ?4, ?5, x'')",
        params![option.id, address, port, key, takeout],
    )?;
    Ok(())
}
